/* test_gpu_composite.c: volume rendering forward and backward, the training compaction's
 * transmittance cut, the losses, and the prefix sum on the GPU against the CPU (march.c's
 * ngp_composite_forward / ngp_composite_backward / ngp_loss_rgb, trainer.c's transmittance scan),
 * on random rays.
 *
 * Tolerances: compositing 1e-5 + 1e-4|ref| (the same formulas; the GPU's expf and FMA contraction
 * differ from glibc's by a few ulp, and errors pass through up to 64 samples); samples used and
 * kept: exact (a flip of the T < 1e-4 test would need a value within an ulp of it); losses
 * 1e-6 + 1e-5|ref|; prefix sums: exact. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/composite.h"
#include "cuda/loss.h"
#include "cuda/scan.h"
#include "gpu_test.h"
#include "nerf/march.h"
#include "common/ngp_nerf_math.h"

enum { N = 1000, MAXK = 64 };

static void test_composite_forward_backward(void **state) {
  (void)state;
  uint32_t count[N], offset[N];
  uint32_t S = 0;
  for (int r = 0; r < N; r++) {
    count[r] = r % 17 == 0 ? 0u : (uint32_t)(gpu_rand(0.0f, 1.0f) * MAXK);
    offset[r] = S;
    S += count[r];
  }
  float *rgb4 = malloc((size_t)S * 4 * sizeof(float)), *rgb3 = malloc((size_t)S * 3 * sizeof(float));
  float *den = malloc(S * sizeof(float)), *dt = malloc(S * sizeof(float));
  float bg[N * 3], dcolor[N * 3], color_ref[N * 3], T_ref[N], color_got[N * 3], T_got[N];
  uint32_t used_ref[N], used_got[N];
  float *drgb_ref = malloc((size_t)S * 3 * sizeof(float)), *dden_ref = malloc(S * sizeof(float));
  float *drgb_got4 = malloc((size_t)S * 4 * sizeof(float)), *drgb_got = malloc((size_t)S * 3 * sizeof(float));
  float *dden_got = malloc(S * sizeof(float));
  assert_true(rgb4 && rgb3 && den && dt && drgb_ref && dden_ref && drgb_got4 && drgb_got && dden_got);
  for (uint32_t s = 0; s < S; s++) {
    for (int c = 0; c < 4; c++)
      rgb4[s * 4 + c] = gpu_rand(-3.0f, 3.0f);
    for (int c = 0; c < 3; c++)
      rgb3[s * 3 + c] = rgb4[s * 4 + c];
    dt[s] = gpu_rand(NGP_MIN_STEP, 0.01f);
  }
  for (int r = 0; r < N; r++) {
    /* Thin, medium and opaque rays, so that some are cut off at T < 1e-4. */
    float hi = r % 3 == 0 ? 1.0f : (r % 3 == 1 ? 5.0f : 9.0f);
    for (uint32_t k = 0; k < count[r]; k++)
      den[offset[r] + k] = gpu_rand(-2.0f, hi);
    for (int c = 0; c < 3; c++)
      bg[r * 3 + c] = gpu_rand(0.0f, 1.0f), dcolor[r * 3 + c] = gpu_rand(-1.0f, 1.0f);
    used_ref[r] = (uint32_t)ngp_composite_forward((int)count[r], rgb3 + offset[r] * 3, den + offset[r], dt + offset[r],
                                                  bg + r * 3, color_ref + r * 3, &T_ref[r]);
    ngp_composite_backward((int)count[r], rgb3 + offset[r] * 3, den + offset[r], dt + offset[r], bg + r * 3,
                           dcolor + r * 3, drgb_ref + offset[r] * 3, dden_ref + offset[r]);
  }
  uint32_t *d_count = gpu_upload_u(count, N), *d_offset = gpu_upload_u(offset, N);
  float *d_rgb = gpu_upload_f(rgb4, (size_t)S * 4), *d_den = gpu_upload_f(den, S), *d_dt = gpu_upload_f(dt, S);
  float *d_bg = gpu_upload_f(bg, N * 3), *d_dcolor = gpu_upload_f(dcolor, N * 3);
  float *d_color = gpu_alloc(N * 3 * sizeof(float)), *d_T = gpu_alloc(N * sizeof(float));
  uint32_t *d_used = gpu_alloc(N * sizeof(uint32_t));
  float *d_drgb = gpu_alloc((size_t)S * 4 * sizeof(float)), *d_dden = gpu_alloc(S * sizeof(float));
  ngp_composite_rays_cuda(NULL, N, d_offset, d_count, d_rgb, 4, d_den, d_dt, d_bg, d_color, d_T, d_used, d_dcolor,
                          d_drgb, 4, d_dden, NULL);
  gpu_download(color_got, d_color, sizeof color_got);
  gpu_download(T_got, d_T, sizeof T_got);
  gpu_download(used_got, d_used, sizeof used_got);
  gpu_download(drgb_got4, d_drgb, (size_t)S * 4 * sizeof(float));
  gpu_download(dden_got, d_dden, S * sizeof(float));
  for (uint32_t s = 0; s < S; s++)
    for (int c = 0; c < 3; c++)
      drgb_got[s * 3 + c] = drgb_got4[s * 4 + c];
  int cut = 0;
  for (int r = 0; r < N; r++) {
    if (used_got[r] != used_ref[r])
      fail_msg("ray %d: %u samples composited on the GPU, %u on the CPU", r, used_got[r], used_ref[r]);
    cut += used_ref[r] < count[r];
  }
  print_message("%d of %d rays cut off at T < 1e-4\n", cut, N);
  assert_true(cut > 10);
  assert_int_equal(gpu_compare("composite colour", color_got, color_ref, N * 3, 1e-5, 1e-4), 0);
  assert_int_equal(gpu_compare("composite transmittance", T_got, T_ref, N, 1e-6, 1e-4), 0);
  assert_int_equal(gpu_compare("composite d raw_rgb", drgb_got, drgb_ref, (size_t)S * 3, 1e-5, 1e-4), 0);
  assert_int_equal(gpu_compare("composite d raw_density", dden_got, dden_ref, S, 1e-5, 1e-4), 0);

  /* The training compaction: the samples before T < 1e-4 (trainer.c scan_round). */
  uint32_t kept_got[N];
  uint8_t ended_got[N];
  uint32_t *d_kept = gpu_alloc(N * sizeof(uint32_t));
  uint8_t *d_ended = gpu_alloc(N);
  ngp_transmittance_compact_cuda(NULL, N, d_offset, d_count, d_den, d_dt, d_kept, d_ended, NULL);
  gpu_download(kept_got, d_kept, sizeof kept_got);
  gpu_download(ended_got, d_ended, sizeof ended_got);
  for (int r = 0; r < N; r++) {
    float T = 1.0f, col[3] = {0, 0, 0};
    const float zero[3] = {0, 0, 0};
    uint32_t k = 0;
    for (; k < count[r]; k++) {
      if (T < NGP_MIN_TRANSMITTANCE) break;
      T = ngp_composite_step(T, zero, den[offset[r] + k], dt[offset[r] + k], col, NULL);
    }
    if (kept_got[r] != k || ended_got[r] != (T < NGP_MIN_TRANSMITTANCE))
      fail_msg("ray %d: kept %u ended %d on the GPU, %u %d on the CPU", r, kept_got[r], ended_got[r], k,
               T < NGP_MIN_TRANSMITTANCE);
  }
  gpu_free(d_count), gpu_free(d_offset), gpu_free(d_rgb), gpu_free(d_den), gpu_free(d_dt), gpu_free(d_bg);
  gpu_free(d_dcolor), gpu_free(d_color), gpu_free(d_T), gpu_free(d_used), gpu_free(d_drgb), gpu_free(d_dden);
  gpu_free(d_kept), gpu_free(d_ended);
  free(rgb4), free(rgb3), free(den), free(dt), free(drgb_ref), free(dden_ref), free(drgb_got4), free(drgb_got);
  free(dden_got);
}

static void test_losses(void **state) {
  (void)state;
  enum { M = 4096 };
  static float pred[M * 3], target[M * 3], loss_ref[M], grad_ref[M * 3], loss_got[M], grad_got[M * 3];
  for (int i = 0; i < M * 3; i++) {
    target[i] = gpu_rand(0.0f, 1.0f);
    /* Errors on both sides of Huber's 0.1 */
    pred[i] = target[i] + (i % 2 ? gpu_rand(-0.1f, 0.1f) : gpu_rand(-1.0f, 1.0f));
  }
  float *d_pred = gpu_upload_f(pred, M * 3), *d_target = gpu_upload_f(target, M * 3);
  float *d_loss = gpu_alloc(M * sizeof(float)), *d_grad = gpu_alloc(M * 3 * sizeof(float));
  const ngp_loss_type types[] = {NGP_LOSS_L2,    NGP_LOSS_L1,    NGP_LOSS_RELATIVE_L2, NGP_LOSS_MAPE,
                                 NGP_LOSS_SMAPE, NGP_LOSS_HUBER, NGP_LOSS_LOG_L1};
  for (size_t t = 0; t < sizeof types / sizeof *types; t++) {
    for (int i = 0; i < M; i++)
      loss_ref[i] = ngp_loss_rgb(types[t], pred + i * 3, target + i * 3, grad_ref + i * 3);
    ngp_loss_rgb_cuda((int)types[t], M, d_pred, d_target, d_loss, d_grad, NULL);
    gpu_download(loss_got, d_loss, sizeof loss_got);
    gpu_download(grad_got, d_grad, sizeof grad_got);
    char what[64];
    snprintf(what, sizeof what, "loss %s", ngp_loss_name(types[t]));
    assert_int_equal(gpu_compare(what, loss_got, loss_ref, M, 1e-6, 1e-5), 0);
    snprintf(what, sizeof what, "loss %s gradient", ngp_loss_name(types[t]));
    assert_int_equal(gpu_compare(what, grad_got, grad_ref, M * 3, 1e-6, 1e-5), 0);
  }
  gpu_free(d_pred), gpu_free(d_target), gpu_free(d_loss), gpu_free(d_grad);
}

static void test_prefix_sum(void **state) {
  (void)state;
  enum { MAXN = 300000 };
  uint32_t *in = malloc(MAXN * sizeof(uint32_t)), *got = malloc(MAXN * sizeof(uint32_t));
  assert_true(in && got);
  for (int i = 0; i < MAXN; i++)
    in[i] = (uint32_t)(gpu_rand(0.0f, 1.0f) * 1025.0f);
  uint32_t *d_in = gpu_upload_u(in, MAXN), *d_out = gpu_alloc(MAXN * sizeof(uint32_t));
  uint32_t *d_tmp = gpu_alloc(ngp_scan_tmp_elems(MAXN) * sizeof(uint32_t)), *d_total = gpu_alloc(sizeof(uint32_t));
  const uint32_t ns[] = {1, 1023, 1024, 1025, 262144, 299999};
  for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
    uint32_t *d_n = gpu_upload_u(&ns[k], 1), total = 0;
    ngp_scan_exclusive_cuda(d_in, d_out, d_n, MAXN, d_total, d_tmp, NULL);
    gpu_download(got, d_out, ns[k] * sizeof(uint32_t));
    gpu_download(&total, d_total, sizeof total);
    uint32_t acc = 0;
    for (uint32_t i = 0; i < ns[k]; i++) {
      if (got[i] != acc) fail_msg("n %u: prefix[%u] = %u, expected %u", ns[k], i, got[i], acc);
      acc += in[i];
    }
    assert_int_equal(total, acc);
    gpu_free(d_n);
  }
  /* In place. */
  ngp_scan_exclusive_cuda(d_in, d_in, NULL, MAXN, d_total, d_tmp, NULL);
  gpu_download(got, d_in, MAXN * sizeof(uint32_t));
  uint32_t acc = 0;
  for (int i = 0; i < MAXN; i++) {
    assert_int_equal(got[i], acc);
    acc += in[i];
  }
  gpu_free(d_in), gpu_free(d_out), gpu_free(d_tmp), gpu_free(d_total);
  free(in), free(got);
}

int main(void) {
  gpu_require_device("test_gpu_composite");
  gpu_rand_seed(3);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_composite_forward_backward),
      cmocka_unit_test(test_losses),
      cmocka_unit_test(test_prefix_sum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
