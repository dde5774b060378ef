/* test_gpu_march.c: ray marching on the GPU against march.c's ngp_march_ray, given the same
 * occupancy grid and rays: the count pass, the prefix sum and the write pass of training (and a
 * ray dropped when the buffer is full), and the renderer's resumable segments.
 *
 * The GPU contracts a + t*d into one FMA and its logf/expf differ from glibc's by an ulp or two, so
 * a sample landing within an ulp of a cell boundary may be decided differently and the rest of
 * that ray shifts: at most 1% of the rays may differ in their sample count. Rays with the same
 * count must have the same samples: positions (warped to [0,1]^3) within 1e-5, steps and distances
 * within 1e-5 + 1e-4 relative (distances drift by an ulp per step with a cone angle). The
 * renderer's segments must reproduce the training passes' samples (1e-6). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/march.h"
#include "cuda/scan.h"
#include "gpu_test.h"
#include "nerf/march.h"
#include "common/ngp_march_math.h"
#include "nerf/occupancy.h"

enum { N = 3000, MAXS = NGP_MAX_SAMPLES_PER_RAY };

static void march_case(int aabb_scale) {
  const int NC = ngp_ilog2(aabb_scale) + 1;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, NC, &err), NGP_OK);
  /* Occupied: a ball and a slab per cascade, plus sparse random cells. */
  for (int m = 0; m < NC; m++)
    for (uint32_t i = 0; i < NGP_GRID_CELLS; i++) {
      uint32_t x, y, z;
      ngp_morton3d_decode(i, &x, &y, &z);
      float dx = (float)x - 64.0f, dy = (float)y - 64.0f, dz = (float)z - 64.0f;
      bool on = dx * dx + dy * dy + dz * dz < 30.0f * 30.0f || (y > 90 && y < 96) || gpu_rand(0.0f, 1.0f) < 0.01f;
      g.density[(size_t)m * NGP_GRID_CELLS + i] = on ? 1.0f : 0.0f;
    }
  ngp_occupancy_update(&g, 0, 0, 1.0f, 0, NULL, NULL, 1);
  float bmin[3], bmax[3];
  for (int k = 0; k < 3; k++)
    bmin[k] = 0.5f - 0.5f * (float)aabb_scale, bmax[k] = 0.5f + 0.5f * (float)aabb_scale;
  const float cone = ngp_cone_angle(aabb_scale);
  static float o[N * 3], d[N * 3], jit[N];
  for (int r = 0; r < N; r++) {
    float th = gpu_rand(0.0f, 6.2831853f), ph = gpu_rand(-1.2f, 1.2f), R = 0.9f * (float)aabb_scale + 0.3f;
    if (r % 5 == 0) R = 0.2f; /* some rays start inside the box */
    o[r * 3] = 0.5f + R * cosf(ph) * cosf(th), o[r * 3 + 1] = 0.5f + R * sinf(ph),
          o[r * 3 + 2] = 0.5f + R * cosf(ph) * sinf(th);
    float tgt[3], l = 0.0f;
    for (int k = 0; k < 3; k++)
      tgt[k] = gpu_rand(bmin[k] - 0.3f, bmax[k] + 0.3f), d[r * 3 + k] = tgt[k] - o[r * 3 + k];
    if (r % 97 == 0) d[r * 3 + 1] = 0.0f; /* axis-parallel components */
    if (r % 89 == 0) {                    /* along an axis, from a point inside the box */
      for (int k = 0; k < 3; k++)
        o[r * 3 + k] = gpu_rand(bmin[k], bmax[k]), d[r * 3 + k] = 0.0f;
      d[r * 3 + 1] = r % 2 ? 1.0f : -1.0f;
    }
    for (int k = 0; k < 3; k++)
      l += d[r * 3 + k] * d[r * 3 + k];
    for (int k = 0; k < 3; k++)
      d[r * 3 + k] /= sqrtf(l);
    jit[r] = gpu_rand(0.0f, 1.0f);
  }
  /* CPU */
  static uint32_t cnt_ref[N];
  float *pos_ref = malloc((size_t)N * MAXS * 3 * sizeof(float)), *dt_ref = malloc((size_t)N * MAXS * sizeof(float));
  float *t_ref = malloc((size_t)N * MAXS * sizeof(float));
  assert_true(pos_ref && dt_ref && t_ref);
  size_t total_ref = 0;
  for (int r = 0; r < N; r++) {
    cnt_ref[r] = (uint32_t)ngp_march_ray(
        &g, NULL, bmin, bmax, cone, o + r * 3, d + r * 3, jit[r], MAXS, /* no summaries, as on the device */
        pos_ref + (size_t)r * MAXS * 3, dt_ref + (size_t)r * MAXS, t_ref + (size_t)r * MAXS);
    total_ref += cnt_ref[r];
  }
  /* GPU: count, prefix sum, write */
  ngp_cuda_march mp;
  memcpy(mp.aabb_min, bmin, sizeof bmin);
  memcpy(mp.aabb_max, bmax, sizeof bmax);
  mp.cone_angle = cone;
  mp.max_mip = NC - 1;
  uint8_t *d_bits = gpu_alloc((size_t)NC * NGP_GRID_CELLS / 8);
  assert_int_equal(ngp_cuda_upload(d_bits, g.bitfield, (size_t)NC * NGP_GRID_CELLS / 8, &err), NGP_OK);
  mp.bitfield = d_bits;
  float *d_o = gpu_upload_f(o, N * 3), *d_d = gpu_upload_f(d, N * 3), *d_j = gpu_upload_f(jit, N);
  float *d_ts = gpu_alloc(N * sizeof(float)), *d_te = gpu_alloc(N * sizeof(float));
  uint32_t *d_cnt = gpu_alloc(N * sizeof(uint32_t)), *d_off = gpu_alloc(N * sizeof(uint32_t));
  uint32_t *d_tmp = gpu_alloc(ngp_scan_tmp_elems(N) * sizeof(uint32_t)), *d_total = gpu_alloc(4), *d_end = gpu_alloc(4);
  const uint32_t cap = (uint32_t)total_ref + 100000;
  float *d_x = gpu_alloc((size_t)cap * 3 * sizeof(float)), *d_dt = gpu_alloc(cap * sizeof(float));
  float *d_t = gpu_alloc(cap * sizeof(float));
  uint32_t *d_ray = gpu_alloc(cap * sizeof(uint32_t));
  uint8_t *d_drop = gpu_alloc(N);
  const uint32_t n_rays = N;
  uint32_t *d_n = gpu_upload_u(&n_rays, 1);
  ngp_march_count_cuda(&mp, d_n, N, d_o, d_d, d_j, MAXS, d_ts, d_te, d_cnt, NULL);
  ngp_scan_exclusive_cuda(d_cnt, d_off, d_n, N, d_total, d_tmp, NULL);
  ngp_march_write_cuda(&mp, d_n, N, d_o, d_d, d_ts, d_te, d_cnt, d_off, cap, d_drop, d_x, d_dt, d_t, d_ray, d_end,
                       NULL);
  static uint32_t cnt[N], off[N];
  uint32_t total = 0, end = 0;
  gpu_download(cnt, d_cnt, sizeof cnt);
  gpu_download(off, d_off, sizeof off);
  gpu_download(&total, d_total, 4);
  gpu_download(&end, d_end, 4);
  float *x = malloc((size_t)total * 3 * sizeof(float)), *dt = malloc(total * sizeof(float)),
        *t = malloc(total * sizeof(float));
  uint32_t *ray = malloc(total * sizeof(uint32_t));
  assert_true(x && dt && t && ray);
  gpu_download(x, d_x, (size_t)total * 3 * sizeof(float));
  gpu_download(dt, d_dt, total * sizeof(float));
  gpu_download(t, d_t, total * sizeof(float));
  gpu_download(ray, d_ray, total * sizeof(uint32_t));
  assert_int_equal(end, total); /* nothing dropped */
  int differ = 0, n_axis = 0, differ_axis = 0, axis_with_samples = 0;
  size_t bad = 0, compared = 0;
  for (int r = 0; r < N; r++) {
    /* The rays with zero direction components take their own branch (an infinite slab distance):
     * counted apart, so that the 1% allowance cannot hide them (they are about 2% of the rays). */
    const bool axis = r % 97 == 0 || r % 89 == 0;
    n_axis += axis;
    axis_with_samples += axis && cnt_ref[r] > 0;
    differ_axis += axis && cnt[r] != cnt_ref[r];
    if (cnt[r] != cnt_ref[r]) {
      if (differ++ < 5) print_message("ray %d: %u samples on the GPU, %u on the CPU\n", r, cnt[r], cnt_ref[r]);
      continue;
    }
    for (uint32_t k = 0; k < cnt[r]; k++) {
      const uint32_t s = off[r] + k;
      float w[3];
      ngp_warp_position(pos_ref + ((size_t)r * MAXS + k) * 3, bmin, bmax, w);
      float ddt = fabsf(dt[s] - dt_ref[(size_t)r * MAXS + k]), dtt = fabsf(t[s] - t_ref[(size_t)r * MAXS + k]);
      bool ok = ray[s] == (uint32_t)r && ddt <= 1e-5f + 1e-4f * dt_ref[(size_t)r * MAXS + k] &&
                dtt <= 1e-5f + 1e-4f * fabsf(t_ref[(size_t)r * MAXS + k]);
      for (int c = 0; c < 3; c++)
        ok = ok && fabsf(x[(size_t)s * 3 + c] - w[c]) <= 1e-5f;
      if (!ok && bad++ < 5)
        print_message("ray %d sample %u: gpu x (%g %g %g) dt %g t %g, cpu (%g %g %g) dt %g t %g\n", r, k,
                      (double)x[s * 3], (double)x[s * 3 + 1], (double)x[s * 3 + 2], (double)dt[s], (double)t[s],
                      (double)w[0], (double)w[1], (double)w[2], (double)dt_ref[(size_t)r * MAXS + k],
                      (double)t_ref[(size_t)r * MAXS + k]);
      compared++;
    }
  }
  print_message("aabb_scale %d: %zu samples on the CPU, %u on the GPU; %d of %d rays differ in count, %zu of %zu "
                "samples compared differ\n",
                aabb_scale, total_ref, total, differ, N, bad, compared);
  print_message("axis-parallel rays: %d (%d with samples), %d differ in count\n", n_axis, axis_with_samples,
                differ_axis);
  assert_true(axis_with_samples >= n_axis / 4);
  assert_true(differ_axis <= n_axis / 50);
  assert_true(differ <= N / 100);
  assert_int_equal(bad, 0);
  assert_true(total_ref > (size_t)N * 20); /* the case is not trivial */

  /* A buffer too small: the rays that do not fit are dropped whole, the others are unchanged. */
  const uint32_t small = total / 2;
  ngp_cuda_memset(d_drop, 0, N, &err);
  ngp_cuda_memset(d_end, 0, 4, &err);
  ngp_march_count_cuda(&mp, d_n, N, d_o, d_d, d_j, MAXS, d_ts, d_te, d_cnt, NULL);
  ngp_march_write_cuda(&mp, d_n, N, d_o, d_d, d_ts, d_te, d_cnt, d_off, small, d_drop, d_x, d_dt, d_t, d_ray, d_end,
                       NULL);
  static uint32_t cnt2[N];
  static uint8_t drop[N];
  gpu_download(cnt2, d_cnt, sizeof cnt2);
  gpu_download(drop, d_drop, sizeof drop);
  gpu_download(&end, d_end, 4);
  assert_true(end <= small);
  for (int r = 0; r < N; r++) {
    bool fits = off[r] + cnt[r] <= small;
    assert_int_equal(cnt2[r], fits ? cnt[r] : 0);
    assert_int_equal(drop[r], (!fits && cnt[r] > 0) ? 1 : 0);
  }

  /* Rendering: segments of 7 samples, resumed, give the same samples as one march. */
  enum { M = 7 };
  static uint32_t live[N], marched[N], seg[N];
  static uint8_t done[N];
  for (int r = 0; r < N; r++)
    live[r] = (uint32_t)r;
  uint32_t *d_live = gpu_upload_u(live, N), *d_marched = gpu_alloc(N * 4), *d_seg = gpu_alloc(N * 4);
  uint8_t *d_done = gpu_alloc(N);
  float *d_sx = gpu_alloc((size_t)N * M * 3 * sizeof(float)), *d_sdt = gpu_alloc((size_t)N * M * sizeof(float));
  float *sx = malloc((size_t)N * M * 3 * sizeof(float)), *sdt = malloc((size_t)N * M * sizeof(float));
  static uint32_t got_n[N];
  size_t seg_bad = 0;
  int seg_differ = 0;
  for (int round = 0; round < MAXS / M + 2; round++) {
    ngp_march_segment_cuda(&mp, NULL, N, d_live, d_o, d_d, d_ts, d_te, d_marched, d_done, M, MAXS, d_sx, NULL, d_sdt,
                           d_seg, NULL);
    gpu_download(seg, d_seg, sizeof seg);
    gpu_download(sx, d_sx, (size_t)N * M * 3 * sizeof(float));
    gpu_download(sdt, d_sdt, (size_t)N * M * sizeof(float));
    for (int r = 0; r < N; r++) {
      for (uint32_t k = 0; k < seg[r]; k++) {
        const uint32_t j = got_n[r] + k;
        if (j >= cnt[r]) continue; /* counted below */
        for (int c = 0; c < 3; c++)
          if (fabsf(sx[((size_t)r * M + k) * 3 + c] - x[((size_t)off[r] + j) * 3 + c]) > 1e-6f) seg_bad++;
        if (fabsf(sdt[(size_t)r * M + k] - dt[off[r] + j]) > 1e-6f * dt[off[r] + j]) seg_bad++;
      }
      got_n[r] += seg[r];
    }
  }
  gpu_download(marched, d_marched, sizeof marched);
  gpu_download(done, d_done, sizeof done);
  for (int r = 0; r < N; r++) {
    seg_differ += got_n[r] != cnt[r];
    assert_true(done[r]);
    assert_int_equal(marched[r], got_n[r]);
  }
  /* The segments use the same device code as the training passes: the same samples (up to the
   * compiler contracting differently in the two kernels, which could move an ulp). */
  print_message("segments: %d rays differ in count, %zu values differ\n", seg_differ, seg_bad);
  assert_true(seg_differ <= N / 200);
  assert_true(seg_bad <= (size_t)total / 1000);

  gpu_free(d_bits), gpu_free(d_o), gpu_free(d_d), gpu_free(d_j), gpu_free(d_ts), gpu_free(d_te), gpu_free(d_cnt);
  gpu_free(d_off), gpu_free(d_tmp), gpu_free(d_total), gpu_free(d_end), gpu_free(d_x), gpu_free(d_dt), gpu_free(d_t);
  gpu_free(d_ray), gpu_free(d_drop), gpu_free(d_n), gpu_free(d_live), gpu_free(d_marched), gpu_free(d_seg);
  gpu_free(d_done), gpu_free(d_sx), gpu_free(d_sdt);
  free(pos_ref), free(dt_ref), free(t_ref), free(x), free(dt), free(t), free(ray), free(sx), free(sdt);
  ngp_occupancy_free(&g);
}

static void test_march_no_cone(void **state) {
  (void)state;
  march_case(1);
}
static void test_march_cone_cascades(void **state) {
  (void)state;
  march_case(4);
}

int main(void) {
  gpu_require_device("test_gpu_march");
  gpu_rand_seed(6);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_march_no_cone), cmocka_unit_test(test_march_cone_cascades)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
