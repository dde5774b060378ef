/* test_gpu_batch.c: the CUDA training step's batch kernels against the CPU's per-ray rules, on
 * random rays: the training rays (ngp_rays_train_cuda: image per ray, pixel, background, target,
 * jitter, against the shared per-ray maths on the host with the same counters), the sample compaction
 * (ngp_compact_bounds_cuda: rays past the buffer are dropped whole; ngp_compact_samples_cuda: each kept sample to its
 * ray's compacted slot), and the training composite (ngp_composite_train_cuda: loss and backward per ray, rays cut off
 * by early termination without background, dropped rays untouched, the gradient scale, the extra density terms near the
 * camera and against collapse, the statistics and the largest gradient) with the step's fp16 loss scale from it
 * (ngp_loss_scale_cuda, common/ngp_optimizer_math.h).
 *
 * Tolerances: compaction exact (copies); composite values 1e-5 + 1e-4|ref| (the same formulas; the
 * GPU's expf differs from glibc's by a few ulp); the loss sum 1e-5 relative (double sums in another
 * order); counts exact; the loss scale exact given the largest gradient; rays: origins, directions
 * and targets 1e-5 + 1e-5|ref| (the GPU's sqrtf/powf may differ by an ulp; nvcc may contract), the
 * random draws (background, jitter) and the pixel choice exact. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_march_math.h"
#include "common/ngp_nerf_math.h"
#include "common/ngp_optimizer_math.h"
#include "cuda/composite.h"
#include "cuda/cuda_util.h"
#include "cuda/rays.h"
#include "gpu_test.h"

enum { N = 777, MAXK = 40, ENC_LD = 16 };

static void test_compaction(void **state) {
  (void)state;
  uint32_t count[N], offset[N], kept[N], coffset[N];
  uint32_t M = 0, K = 0;
  for (int r = 0; r < N; r++) {
    count[r] = r % 11 == 0 ? 0u : 1u + (uint32_t)(gpu_rand(0.0f, 1.0f) * (MAXK - 1));
    kept[r] = r % 5 == 0 ? count[r] : (uint32_t)(gpu_rand(0.0f, 1.0f) * (float)(count[r] + 1));
    if (kept[r] > count[r]) kept[r] = count[r];
    offset[r] = M, coffset[r] = K;
    M += count[r], K += kept[r];
  }
  const uint32_t cap = K * 3 / 4; /* the last quarter of the kept samples does not fit */
  uint32_t *sample_ray = malloc(M * sizeof *sample_ray);
  float *x = malloc((size_t)M * 3 * sizeof(float)), *dt = malloc(M * sizeof(float)), *t = malloc(M * sizeof(float));
  float *enc = malloc((size_t)M * ENC_LD * sizeof(float));
  assert_true(sample_ray && x && dt && t && enc);
  for (int r = 0; r < N; r++)
    for (uint32_t k = 0; k < count[r]; k++)
      sample_ray[offset[r] + k] = (uint32_t)r;
  for (uint32_t j = 0; j < M; j++) {
    for (int c = 0; c < 3; c++)
      x[j * 3 + c] = gpu_rand(0.0f, 1.0f);
    dt[j] = gpu_rand(1e-3f, 1e-2f), t[j] = gpu_rand(0.0f, 2.0f);
    for (int c = 0; c < ENC_LD; c++)
      enc[(size_t)j * ENC_LD + c] = (float)(int)gpu_rand(-1000.0f, 1000.0f); /* exact in fp16 */
  }
  /* CPU: the rays whose kept samples end past cap are dropped; the rest keep their slots. */
  uint32_t kept_ref[N], end_ref = 0;
  uint8_t dropped_ref[N];
  int n_dropped = 0;
  for (int r = 0; r < N; r++) {
    dropped_ref[r] = kept[r] > 0 && coffset[r] + kept[r] > cap;
    kept_ref[r] = dropped_ref[r] ? 0u : kept[r];
    n_dropped += dropped_ref[r];
    if (kept_ref[r] && coffset[r] + kept[r] > end_ref) end_ref = coffset[r] + kept[r];
  }
  assert_true(n_dropped > 10 && end_ref <= cap);

  uint32_t *d_kept = gpu_upload_u(kept, N), *d_coff = gpu_upload_u(coffset, N), *d_off = gpu_upload_u(offset, N);
  uint32_t *d_sray = gpu_upload_u(sample_ray, M), *d_end = gpu_alloc(sizeof(uint32_t)), *d_nm = gpu_upload_u(&M, 1);
  uint8_t *d_dropped = gpu_alloc(N);
  ngp_compact_bounds_cuda(NULL, N, d_kept, d_coff, cap, d_dropped, d_end, NULL);
  uint32_t kept_got[N], end_got;
  uint8_t dropped_got[N];
  gpu_download(kept_got, d_kept, sizeof kept_got);
  gpu_download(dropped_got, d_dropped, sizeof dropped_got);
  gpu_download(&end_got, d_end, sizeof end_got);
  for (int r = 0; r < N; r++)
    if (kept_got[r] != kept_ref[r] || dropped_got[r] != dropped_ref[r])
      fail_msg("ray %d: kept %u dropped %d on the GPU, %u %d on the CPU", r, kept_got[r], dropped_got[r], kept_ref[r],
               dropped_ref[r]);
  assert_int_equal(end_got, end_ref);

  float *d_x = gpu_upload_f(x, (size_t)M * 3), *d_dt = gpu_upload_f(dt, M), *d_t = gpu_upload_f(t, M);
  float *d_enc32 = gpu_upload_f(enc, (size_t)M * ENC_LD);
  ngp_half *d_enc = gpu_alloc((size_t)M * ENC_LD * sizeof(ngp_half));
  ngp_cuda_f32_to_f16(d_enc32, d_enc, (size_t)M * ENC_LD, NULL);
  float *d_cx = gpu_alloc((size_t)K * 3 * sizeof(float)), *d_cdt = gpu_alloc(K * sizeof(float));
  float *d_ct = gpu_alloc(K * sizeof(float));
  ngp_half *d_cenc = gpu_alloc((size_t)K * ENC_LD * sizeof(ngp_half));
  uint32_t *d_cray = gpu_alloc(K * sizeof(uint32_t));
  /* the marched count from the device (d_nm), a capacity above it */
  ngp_compact_samples_cuda(d_nm, M + 1000, d_sray, d_off, d_kept, d_coff, d_x, d_dt, d_t, d_enc, ENC_LD, d_cx, d_cdt,
                           d_ct, d_cenc, d_cray, NULL);
  float *cx = malloc((size_t)K * 3 * sizeof(float)), *cdt = malloc(K * sizeof(float)), *ct = malloc(K * sizeof(float));
  float *cenc32 = malloc((size_t)K * ENC_LD * sizeof(float));
  uint32_t *cray = malloc(K * sizeof(uint32_t));
  float *d_cenc32 = gpu_alloc((size_t)K * ENC_LD * sizeof(float));
  ngp_cuda_f16_to_f32(d_cenc, d_cenc32, (size_t)K * ENC_LD, NULL);
  gpu_download(cx, d_cx, (size_t)K * 3 * sizeof(float));
  gpu_download(cdt, d_cdt, K * sizeof(float));
  gpu_download(ct, d_ct, K * sizeof(float));
  gpu_download(cenc32, d_cenc32, (size_t)K * ENC_LD * sizeof(float));
  gpu_download(cray, d_cray, K * sizeof(uint32_t));
  size_t checked = 0;
  for (int r = 0; r < N; r++)
    for (uint32_t k = 0; k < kept_ref[r]; k++) {
      const uint32_t j = offset[r] + k, d = coffset[r] + k;
      if (cray[d] != (uint32_t)r || cdt[d] != dt[j] || ct[d] != t[j] ||
          memcmp(cx + (size_t)d * 3, x + (size_t)j * 3, 3 * sizeof(float)) != 0 ||
          memcmp(cenc32 + (size_t)d * ENC_LD, enc + (size_t)j * ENC_LD, ENC_LD * sizeof(float)) != 0)
        fail_msg("ray %d sample %u (marched %u -> slot %u): not copied as it was", r, k, j, d);
      checked++;
    }
  /* The slots of the dropped rays stay as they were (zero). */
  for (int r = 0; r < N; r++)
    if (dropped_ref[r])
      for (uint32_t k = 0; k < kept[r] && coffset[r] + k < K; k++)
        assert_true(cdt[coffset[r] + k] == 0.0f);
  print_message("%u marched, %u kept, cap %u: %d rays dropped, %zu samples compacted\n", M, K, cap, n_dropped, checked);
  gpu_free(d_kept), gpu_free(d_coff), gpu_free(d_off), gpu_free(d_sray), gpu_free(d_end), gpu_free(d_nm);
  gpu_free(d_dropped), gpu_free(d_x), gpu_free(d_dt), gpu_free(d_t), gpu_free(d_enc32), gpu_free(d_enc);
  gpu_free(d_cx), gpu_free(d_cdt), gpu_free(d_ct), gpu_free(d_cenc), gpu_free(d_cray), gpu_free(d_cenc32);
  free(sample_ray), free(x), free(dt), free(t), free(enc), free(cx), free(cdt), free(ct), free(cenc32), free(cray);
}

/* One run of the training composite against the CPU's rules (trainer.c composite_rays and the
 * kernel's documented scaling). */
static void composite_case(ngp_loss_type loss, float grad_scale, float grid_mean) {
  uint32_t kept[N], coffset[N];
  uint8_t ended[N], dropped[N];
  uint32_t S = 0;
  for (int r = 0; r < N; r++) {
    kept[r] = r % 13 == 0 ? 0u : 1u + (uint32_t)(gpu_rand(0.0f, 1.0f) * (MAXK - 1));
    coffset[r] = S;
    S += kept[r];
    ended[r] = r % 3 == 0;
    dropped[r] = r % 7 == 0;
  }
  const float near = 0.2f;
  float *rgb = malloc((size_t)S * 4 * sizeof(float)), *den = malloc(S * sizeof(float));
  float *dt = malloc(S * sizeof(float)), *t = malloc(S * sizeof(float));
  float *drgb_ref = malloc((size_t)S * 4 * sizeof(float)), *dden_ref = malloc(S * sizeof(float));
  float *drgb_got = malloc((size_t)S * 4 * sizeof(float)), *dden_got = malloc(S * sizeof(float));
  float bg[N * 3], target[N * 3];
  assert_true(rgb && den && dt && t && drgb_ref && dden_ref && drgb_got && dden_got);
  const float sentinel = 7.0f; /* what the kernel must leave in the rows of dropped rays */
  for (uint32_t s = 0; s < S; s++) {
    for (int c = 0; c < 4; c++)
      rgb[s * 4 + c] = gpu_rand(-3.0f, 3.0f), drgb_ref[s * 4 + c] = sentinel;
    den[s] = gpu_rand(-12.0f, 6.0f);
    dt[s] = gpu_rand(NGP_MIN_STEP, 0.02f);
    t[s] = gpu_rand(0.0f, 1.0f);
    dden_ref[s] = sentinel;
  }
  for (int i = 0; i < N * 3; i++)
    bg[i] = gpu_rand(0.0f, 1.0f), target[i] = gpu_rand(0.0f, 1.0f);
  /* CPU */
  double loss_ref = 0.0;
  uint32_t rays_ref = 0, samples_ref = 0;
  float gmax_ref = 0.0f;
  const float extra = 1e-4f / 128.0f * grad_scale * (float)N;
  const float zero[3] = {0, 0, 0};
  for (int r = 0; r < N; r++) {
    if (dropped[r]) continue;
    const uint32_t o = coffset[r];
    const int k = (int)kept[r];
    const float *b = ended[r] ? zero : bg + r * 3;
    float col[3], T, g[3], l = 0.0f;
    samples_ref += (uint32_t)ngp_composite_ray_forward(k, rgb + (size_t)o * 4, 4, den + o, dt + o, b, col, &T);
    for (int c = 0; c < 3; c++)
      l += ngp_loss_channel(loss, col[c], target[r * 3 + c], &g[c]);
    loss_ref += (double)(l / 3.0f);
    rays_ref++;
    for (int c = 0; c < 3; c++)
      g[c] *= grad_scale;
    ngp_composite_ray_backward(k, rgb + (size_t)o * 4, 4, den + o, dt + o, b, g, drgb_ref + (size_t)o * 4, 4,
                               dden_ref + o);
    for (int q = 0; q < k; q++) {
      float dd = dden_ref[o + q];
      if (den[o + q] > -10.0f && t[o + q] < near) dd += extra;
      if (den[o + q] < 0.0f && grid_mean < 0.01f) dd -= extra;
      dden_ref[o + q] = dd;
      gmax_ref = fmaxf(gmax_ref, fabsf(dd));
      for (int c = 0; c < 3; c++)
        gmax_ref = fmaxf(gmax_ref, fabsf(drgb_ref[(size_t)(o + q) * 4 + c]));
    }
  }
  /* GPU: n from the device, a capacity above it; the gradient buffers start as the sentinel
   * (column 3 of draw_rgb is never written). */
  const uint32_t n = N;
  ngp_cuda_train_composite p;
  memset(&p, 0, sizeof p);
  p.d_n_rays = gpu_upload_u(&n, 1);
  p.max_rays = N + 300;
  p.coffset = gpu_upload_u(coffset, N);
  p.kept = gpu_upload_u(kept, N);
  uint8_t *d_ended = gpu_alloc(N + 300), *d_dropped = gpu_alloc(N + 300);
  ngp_error err;
  assert_int_equal(ngp_cuda_upload(d_ended, ended, N, &err), NGP_OK);
  assert_int_equal(ngp_cuda_upload(d_dropped, dropped, N, &err), NGP_OK);
  p.ended = d_ended, p.dropped = d_dropped;
  p.raw_rgb = gpu_upload_f(rgb, (size_t)S * 4);
  p.raw_density = gpu_upload_f(den, S);
  p.dt = gpu_upload_f(dt, S);
  p.t = gpu_upload_f(t, S);
  p.bg = gpu_upload_f(bg, N * 3);
  p.target = gpu_upload_f(target, N * 3);
  p.loss_type = (int)loss;
  p.grad_scale = grad_scale;
  p.near_distance = near;
  p.d_grid_mean = gpu_upload_f(&grid_mean, 1);
  float *fill = malloc((size_t)S * 4 * sizeof(float));
  assert_non_null(fill);
  for (size_t i = 0; i < (size_t)S * 4; i++)
    fill[i] = sentinel;
  p.draw_rgb = gpu_upload_f(fill, (size_t)S * 4);
  p.draw_density = gpu_upload_f(fill, S);
  p.d_loss_sum = gpu_alloc(sizeof(double));
  p.d_rays_used = gpu_alloc(sizeof(uint32_t));
  p.d_samples_used = gpu_alloc(sizeof(uint32_t));
  p.d_grad_max = gpu_alloc(sizeof(uint32_t));
  float *d_scale = gpu_alloc(sizeof(float));
  ngp_composite_train_cuda(&p, NULL);
  ngp_loss_scale_cuda(p.d_grad_max, d_scale, NULL);
  double loss_got;
  uint32_t rays_got, samples_got, gmax_bits;
  float scale_got, gmax_got;
  gpu_download(&loss_got, p.d_loss_sum, sizeof loss_got);
  gpu_download(&rays_got, p.d_rays_used, sizeof rays_got);
  gpu_download(&samples_got, p.d_samples_used, sizeof samples_got);
  gpu_download(&gmax_bits, p.d_grad_max, sizeof gmax_bits);
  gpu_download(&scale_got, d_scale, sizeof scale_got);
  gpu_download(drgb_got, p.draw_rgb, (size_t)S * 4 * sizeof(float));
  gpu_download(dden_got, p.draw_density, S * sizeof(float));
  memcpy(&gmax_got, &gmax_bits, sizeof gmax_got);
  print_message("loss %d, scale %g, grid mean %g: %u rays, %u samples, loss sum %.6f (CPU %.6f), largest gradient "
                "%.4g (CPU %.4g), loss scale %g\n",
                (int)loss, (double)grad_scale, (double)grid_mean, rays_got, samples_got, loss_got, loss_ref,
                (double)gmax_got, (double)gmax_ref, (double)scale_got);
  assert_int_equal(rays_got, rays_ref);
  assert_int_equal(samples_got, samples_ref);
  assert_true(fabs(loss_got - loss_ref) <= 1e-5 * fabs(loss_ref));
  assert_true(fabsf(gmax_got - gmax_ref) <= 1e-5f + 1e-4f * gmax_ref);
  assert_true(scale_got == ngp_loss_scale_for(gmax_got));
  /* every column, the sentinel included: dropped rays' rows and column 3 untouched */
  assert_int_equal(gpu_compare("train composite d raw_rgb", drgb_got, drgb_ref, (size_t)S * 4, 1e-5, 1e-4), 0);
  assert_int_equal(gpu_compare("train composite d raw_density", dden_got, dden_ref, S, 1e-5, 1e-4), 0);

  gpu_free((void *)p.d_n_rays), gpu_free((void *)p.coffset), gpu_free((void *)p.kept), gpu_free(d_ended);
  gpu_free(d_dropped), gpu_free((void *)p.raw_rgb), gpu_free((void *)p.raw_density), gpu_free((void *)p.dt);
  gpu_free((void *)p.t), gpu_free((void *)p.bg), gpu_free((void *)p.target), gpu_free((void *)p.d_grid_mean);
  gpu_free(p.draw_rgb), gpu_free(p.draw_density), gpu_free(p.d_loss_sum), gpu_free(p.d_rays_used);
  gpu_free(p.d_samples_used), gpu_free(p.d_grad_max), gpu_free(d_scale);
  free(rgb), free(den), free(dt), free(t), free(drgb_ref), free(dden_ref), free(drgb_got), free(dden_got), free(fill);
}

static void test_train_composite(void **state) {
  (void)state;
  composite_case(NGP_LOSS_HUBER, 1.0f, 0.5f); /* the trainer's call: no anti-collapse push */
  composite_case(NGP_LOSS_L2, 16.0f, 0.001f); /* a scale, and the push of an empty grid */
  composite_case(NGP_LOSS_L1, 0.25f, 0.005f);
}

/* Training rays: three cameras of different sizes (one with a lens), random background, at two
 * steps (the rotation of rays over images is 0 at step 0, and not at step 5). */
static void test_training_rays(void **state) {
  (void)state;
  enum { F = 3, R = 3000 };
  const int wh[F][2] = {{40, 30}, {17, 23}, {64, 64}};
  ngp_cuda_frame fr[F];
  memset(fr, 0, sizeof fr);
  size_t bytes = 0;
  for (int i = 0; i < F; i++) {
    for (int k = 0; k < 12; k++)
      fr[i].xform[k] = (k % 5 == 0 ? 1.0f : 0.0f) + gpu_rand(-0.1f, 0.1f);
    fr[i].xform[3] = 0.5f + 0.1f * (float)i, fr[i].xform[7] = 0.5f, fr[i].xform[11] = -1.0f;
    fr[i].focal[0] = 30.0f + 5.0f * (float)i, fr[i].focal[1] = 31.0f;
    fr[i].principal[0] = 0.5f, fr[i].principal[1] = 0.45f;
    fr[i].lens_mode = i == 1 ? (int)NGP_LENS_OPENCV : (int)NGP_LENS_PINHOLE;
    if (i == 1) fr[i].lens_params[0] = 0.05f, fr[i].lens_params[1] = -0.01f;
    fr[i].width = wh[i][0], fr[i].height = wh[i][1];
    fr[i].pixel_offset = bytes;
    bytes += (size_t)wh[i][0] * (size_t)wh[i][1] * 4;
  }
  uint8_t *pixels = malloc(bytes);
  assert_non_null(pixels);
  for (size_t b = 0; b < bytes; b++)
    pixels[b] = (uint8_t)(gpu_rand(0.0f, 256.0f));
  ngp_cuda_frame *d_fr = gpu_alloc(sizeof fr);
  uint8_t *d_px = gpu_alloc(bytes);
  ngp_error err;
  assert_int_equal(ngp_cuda_upload(d_fr, fr, sizeof fr, &err), NGP_OK);
  assert_int_equal(ngp_cuda_upload(d_px, pixels, bytes, &err), NGP_OK);
  const uint32_t n = R - 100;
  uint32_t *d_n = gpu_upload_u(&n, 1), *d_nout = gpu_alloc(sizeof(uint32_t));
  float *d_o = gpu_alloc(R * 3 * sizeof(float)), *d_d = gpu_alloc(R * 3 * sizeof(float));
  float *d_bg = gpu_alloc(R * 3 * sizeof(float)), *d_tg = gpu_alloc(R * 3 * sizeof(float));
  float *d_j = gpu_alloc(R * sizeof(float));
  float *o = malloc(R * 3 * sizeof(float)), *d = malloc(R * 3 * sizeof(float)), *bg = malloc(R * 3 * sizeof(float));
  float *tg = malloc(R * 3 * sizeof(float)), *j = malloc(R * sizeof(float));
  float *o_ref = malloc(R * 3 * sizeof(float)), *d_ref = malloc(R * 3 * sizeof(float));
  float *bg_ref = malloc(R * 3 * sizeof(float)), *tg_ref = malloc(R * 3 * sizeof(float)),
        *j_ref = malloc(R * sizeof(float));
  assert_true(o && d && bg && tg && j && o_ref && d_ref && bg_ref && tg_ref && j_ref);
  const uint64_t seed = 1234;
  for (uint32_t step = 0; step <= 5; step += 5) {
    ngp_rays_train_cuda(d_fr, F, d_px, d_n, R, seed, step, 1, d_o, d_d, d_bg, d_tg, d_j, d_nout, NULL);
    uint32_t nout;
    gpu_download(&nout, d_nout, sizeof nout);
    assert_int_equal(nout, n);
    gpu_download(o, d_o, n * 3 * sizeof(float));
    gpu_download(d, d_d, n * 3 * sizeof(float));
    gpu_download(bg, d_bg, n * 3 * sizeof(float));
    gpu_download(tg, d_tg, n * 3 * sizeof(float));
    gpu_download(j, d_j, n * sizeof(float));
    int moved = 0;
    for (uint32_t i = 0; i < n; i++) {
      /* trainer.c ray_setup with the CUDA trainer's image rule */
      const int img = ngp_train_ray_image_rotated((int)i, (int)n, F, step);
      moved += img != ngp_train_ray_image((int)i, (int)n, F);
      const ngp_cuda_frame *f = &fr[img];
      int px = (int)(ngp_train_rand01(seed, step, i, 0) * (float)f->width);
      int py = (int)(ngp_train_rand01(seed, step, i, 1) * (float)f->height);
      if (px >= f->width) px = f->width - 1;
      if (py >= f->height) py = f->height - 1;
      const float u = ((float)px + 0.5f) / (float)f->width, v = ((float)py + 0.5f) / (float)f->height;
      ngp_camera_ray_at(f->xform, f->focal, f->principal, f->lens_mode, f->lens_params, f->width, f->height, u, v,
                        o_ref + i * 3, d_ref + i * 3);
      for (int c = 0; c < 3; c++)
        bg_ref[i * 3 + c] = ngp_train_rand01(seed, step, i, 2 + (uint64_t)c);
      ngp_train_target(pixels + f->pixel_offset + ((size_t)py * (size_t)f->width + (size_t)px) * 4, bg_ref + i * 3,
                       tg_ref + i * 3);
      j_ref[i] = ngp_train_rand01(seed, step, i, 5);
    }
    print_message("step %u: %u rays, %d on another image than the unrotated rule\n", step, n, moved);
    assert_true(step == 0 ? moved == 0 : moved > 100);
    assert_int_equal(gpu_compare("ray background", bg, bg_ref, n * 3, 0.0, 0.0), 0);
    assert_int_equal(gpu_compare("ray jitter", j, j_ref, n, 0.0, 0.0), 0);
    assert_int_equal(gpu_compare("ray origin", o, o_ref, n * 3, 1e-5, 1e-5), 0);
    assert_int_equal(gpu_compare("ray direction", d, d_ref, n * 3, 1e-5, 1e-5), 0);
    /* the target is a pixel's: a wrong pixel is off by far more than this */
    assert_int_equal(gpu_compare("ray target", tg, tg_ref, n * 3, 1e-5, 1e-5), 0);
  }
  gpu_free(d_fr), gpu_free(d_px), gpu_free(d_n), gpu_free(d_nout), gpu_free(d_o), gpu_free(d_d), gpu_free(d_bg);
  gpu_free(d_tg), gpu_free(d_j);
  free(pixels), free(o), free(d), free(bg), free(tg), free(j), free(o_ref), free(d_ref), free(bg_ref), free(tg_ref);
  free(j_ref);
}

int main(void) {
  gpu_require_device("test_gpu_batch");
  gpu_rand_seed(11);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_training_rays), cmocka_unit_test(test_compaction),
                                     cmocka_unit_test(test_train_composite)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
