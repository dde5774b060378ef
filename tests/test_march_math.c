/* test_march_math.c (label unit: needs no GPU): the per-ray helpers of src/common/ngp_march_math.h,
 * which the CUDA kernels run, against the CPU engine's own functions, compiled as C on the CPU.
 * They restate the same formulas in the same order, so the results must be bit-identical: camera
 * rays, marching (start, every sample, the end), compositing forward and backward with strided
 * inputs, the training target, the occupancy update's sample positions and its schedule. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eval.h"
#include "nerf/march.h"
#include "common/ngp_march_math.h"
#include "nerf/occupancy.h"

static uint64_t rng = 99;
static float frand(float lo, float hi) {
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return lo + (hi - lo) * (float)((rng * 0x2545F4914F6CDD1Dull) >> 40) * (1.0f / 16777216.0f);
}

static void test_camera_rays(void **state) {
  (void)state;
  const float xf[12] = {0.8f, 0.6f, 0.0f, 0.3f, -0.6f, 0.8f, 0.0f, 1.7f, 0.0f, 0.0f, 1.0f, -2.0f};
  const float focal[2] = {55.0f, 57.0f}, pp[2] = {0.52f, 0.47f};
  const ngp_lens lenses[3] = {{NGP_LENS_PINHOLE, {0, 0, 0, 0}},
                              {NGP_LENS_OPENCV, {0.0578f, -0.0805f, -0.00098f, 0.00016f}},
                              {NGP_LENS_OPENCV_FISHEYE, {0.01f, -0.02f, 0.003f, 0.0f}}};
  for (int l = 0; l < 3; l++)
    for (int i = 0; i < 500; i++) {
      float u = frand(0.0f, 1.0f), v = frand(0.0f, 1.0f), o1[3], d1[3], o2[3], d2[3];
      ngp_camera_ray(xf, focal, pp, &lenses[l], 64, 48, u, v, o1, d1);
      ngp_camera_ray_at(xf, focal, pp, (int)lenses[l].mode, lenses[l].params, 64, 48, u, v, o2, d2);
      assert_memory_equal(o1, o2, sizeof o1);
      assert_memory_equal(d1, d2, sizeof d1);
    }
}

static void march_case(int aabb_scale) {
  const int NC = ngp_ilog2(aabb_scale) + 1;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, NC, &err), NGP_OK);
  for (size_t i = 0; i < (size_t)NC * NGP_GRID_CELLS; i++)
    g.density[i] = frand(0.0f, 1.0f) < 0.3f ? 1.0f : 0.0f;
  ngp_occupancy_update(&g, 0, 0, 1.0f, 0, NULL, NULL, 1);
  float bmin[3], bmax[3];
  for (int k = 0; k < 3; k++)
    bmin[k] = 0.5f - 0.5f * (float)aabb_scale, bmax[k] = 0.5f + 0.5f * (float)aabb_scale;
  const float cone = ngp_cone_angle(aabb_scale);
  enum { MAXS = NGP_MAX_SAMPLES_PER_RAY };
  static float pos[MAXS * 3], dt[MAXS], t[MAXS];
  long total = 0;
  for (int r = 0; r < 300; r++) {
    float o[3], d[3], l = 0.0f;
    for (int k = 0; k < 3; k++)
      o[k] = frand(bmin[k] - 1.0f, bmax[k] + 1.0f), d[k] = frand(-1.0f, 1.0f), l += d[k] * d[k];
    for (int k = 0; k < 3; k++)
      d[k] /= sqrtf(l);
    if (r % 50 == 0) d[0] = 0.0f;
    const float jitter = frand(0.0f, 1.0f);
    const int n = ngp_march_ray(&g, bmin, bmax, cone, o, d, jitter, MAXS, pos, dt, t);
    float ts, te;
    int hit = ngp_march_begin(bmin, bmax, cone, o, d, jitter, &ts, &te);
    if (!hit) {
      assert_int_equal(n, 0);
      continue;
    }
    float tt = ts, p[3], step, tsample;
    int k = 0;
    while (k < MAXS && ngp_march_next(g.bitfield, NC - 1, bmin, bmax, cone, o, d, te, &tt, p, &step, &tsample)) {
      assert_true(k < n);
      assert_memory_equal(p, pos + k * 3, sizeof p);
      assert_memory_equal(&step, &dt[k], sizeof step);
      assert_memory_equal(&tsample, &t[k], sizeof tsample);
      k++;
    }
    assert_int_equal(k, n);
    total += n;
  }
  print_message("aabb_scale %d: %ld samples, identical\n", aabb_scale, total);
  assert_true(total > 1000);
  ngp_occupancy_free(&g);
}

static void test_marching(void **state) {
  (void)state;
  march_case(1);
  march_case(8);
}

static void test_compositing(void **state) {
  (void)state;
  enum { K = 80 };
  float rgb3[K * 3], rgb4[K * 4], den[K], dt[K], bg[3], dc[3];
  float c1[3], c2[3], T1, T2, g3[K * 3], g4[K * 4], dd1[K], dd2[K];
  for (int trial = 0; trial < 200; trial++) {
    const int k = trial % K;
    for (int j = 0; j < k; j++) {
      for (int c = 0; c < 4; c++)
        rgb4[j * 4 + c] = frand(-3.0f, 3.0f);
      for (int c = 0; c < 3; c++)
        rgb3[j * 3 + c] = rgb4[j * 4 + c];
      den[j] = frand(-2.0f, trial % 2 ? 9.0f : 2.0f);
      dt[j] = frand(0.001f, 0.01f);
    }
    for (int c = 0; c < 3; c++)
      bg[c] = frand(0.0f, 1.0f), dc[c] = frand(-1.0f, 1.0f);
    int u1 = ngp_composite_forward(k, rgb3, den, dt, bg, c1, &T1);
    int u2 = ngp_composite_ray_forward(k, rgb4, 4, den, dt, bg, c2, &T2);
    assert_int_equal(u1, u2);
    assert_memory_equal(c1, c2, sizeof c1);
    assert_memory_equal(&T1, &T2, sizeof T1);
    ngp_composite_backward(k, rgb3, den, dt, bg, dc, g3, dd1);
    ngp_composite_ray_backward(k, rgb4, 4, den, dt, bg, dc, g4, 4, dd2);
    for (int j = 0; j < k; j++) {
      for (int c = 0; c < 3; c++)
        assert_memory_equal(&g3[j * 3 + c], &g4[j * 4 + c], sizeof(float));
      assert_memory_equal(&dd1[j], &dd2[j], sizeof(float));
    }
  }
}

static void test_training_target(void **state) {
  (void)state;
  uint8_t px[4 * 64];
  for (int i = 0; i < 4 * 64; i++)
    px[i] = (uint8_t)(i * 37 + 11);
  ngp_image img = {64, 1, 4, px};
  for (int trial = 0; trial < 20; trial++) {
    float bg[3] = {frand(0.0f, 1.0f), frand(0.0f, 1.0f), frand(0.0f, 1.0f)}, ref[64 * 3], got[3];
    ngp_reference_image(&img, bg, ref);
    for (int i = 0; i < 64; i++) {
      ngp_train_target(px + i * 4, bg, got);
      assert_memory_equal(got, ref + i * 3, sizeof got);
    }
  }
}

typedef struct {
  float *pos;
  size_t n;
} rec;
static void rec_cb(int S, const float *pos, float *raw, void *user) {
  rec *r = user;
  memcpy(r->pos + r->n * 3, pos, (size_t)S * 3 * sizeof(float));
  r->n += (size_t)S;
  for (int i = 0; i < S; i++)
    raw[i] = -1.0f;
}

static void test_grid_samples(void **state) {
  (void)state;
  const int NC = 3;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, NC, &err), NGP_OK);
  for (size_t i = 0; i < (size_t)NC * NGP_GRID_CELLS; i++)
    g.density[i] = i % 7 == 0 ? -1.0f : (i % 5 == 0 ? 0.5f : 0.0f);
  const uint32_t uni = 70000, non = 30000;
  rec r = {malloc((uni + non) * 3 * sizeof(float)), 0};
  assert_non_null(r.pos);
  float *before = malloc((size_t)NC * NGP_GRID_CELLS * sizeof(float));
  memcpy(before, g.density, (size_t)NC * NGP_GRID_CELLS * sizeof(float));
  const uint32_t update_index = g.n_updates;
  ngp_occupancy_update(&g, uni, non, 0.95f, 777, rec_cb, &r, 2);
  assert_int_equal(r.n, uni + non);
  size_t k = 0;
  for (int set = 0; set < 2; set++) {
    const uint32_t total = set ? non : uni;
    const uint64_t ss = ngp_grid_set_seed(777, set);
    for (uint32_t i = 0; i < total; i++, k++) {
      const int level = ngp_grid_sample_level(ss, i, NC);
      const uint32_t cell = ngp_grid_sample_cell(i, update_index, total, level, before, set ? 0.01f : -0.01f);
      float p[3];
      ngp_grid_sample_pos(ss, i, cell, level, p);
      assert_memory_equal(p, r.pos + k * 3, sizeof p);
    }
  }
  for (int s = 0; s < 5000; s++)
    assert_int_equal(ngp_grid_update_due(s), ngp_occupancy_update_due(s));
  free(r.pos);
  free(before);
  ngp_occupancy_free(&g);
}

/* The batch size: the demand formula as the CPU trainer always used it, and the buffer bound that
 * keeps the count from running away when rays march far more samples than they keep. */
static void test_next_ray_count(void **state) {
  (void)state;
  const uint32_t target = 1u << 18, max_rays = 1u << 20;
  /* No overflow: ceil(n * target / used / 256) * 256, clamped. */
  assert_int_equal(ngp_next_ray_count(4096, target, 1u << 17, 1u << 19, 8u * target, 256, max_rays), 8192);
  assert_int_equal(ngp_next_ray_count(4096, target, 3000000, 0, 0, 256, max_rays), 512);
  assert_int_equal(ngp_next_ray_count(4096, target, 1, 0, 0, 256, max_rays), max_rays);
  assert_int_equal(ngp_next_ray_count(4096, target, 0, 0, 0, 256, max_rays), 4096);
  /* Rays marching 100 samples and keeping 10 (marched/kept = 10 > 8): only the prefix of
   * cap / 100 rays fits the buffer; their kept samples are the demand. Without the bound the
   * count grows every step to the maximum while the same prefix trains; with it, it settles at
   * what fits. */
  const uint64_t cap = 8ull * target, per_ray_marched = 100, per_ray_kept = 10;
  uint32_t bounded = 4096, unbounded = 4096;
  for (int step = 0; step < 50; step++) {
    uint64_t fit_b = cap / per_ray_marched < bounded ? cap / per_ray_marched : bounded;
    uint64_t fit_u = cap / per_ray_marched < unbounded ? cap / per_ray_marched : unbounded;
    bounded = ngp_next_ray_count(bounded, target, fit_b * per_ray_kept, (uint64_t)bounded * per_ray_marched, cap, 256,
                                 max_rays);
    unbounded = ngp_next_ray_count(unbounded, target, fit_u * per_ray_kept, (uint64_t)unbounded * per_ray_marched, 0,
                                   256, max_rays);
  }
  assert_int_equal(unbounded, max_rays); /* the runaway the bound prevents */
  assert_true((uint64_t)bounded * per_ray_marched <= cap);
  assert_true((uint64_t)bounded * per_ray_marched > cap / 2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_camera_rays),  cmocka_unit_test(test_marching),
      cmocka_unit_test(test_compositing),  cmocka_unit_test(test_training_target),
      cmocka_unit_test(test_grid_samples), cmocka_unit_test(test_next_ray_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
