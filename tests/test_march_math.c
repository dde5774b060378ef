/* test_march_math.c (label unit: needs no GPU): what src/common/ngp_march_math.h adds beyond the
 * per-ray loops both backends now share (the CPU engine calls them itself, and test_march.c and
 * test_nerf.c test them there): the occupancy update draws its samples in the documented order
 * (the GPU kernels draw sample i of a set the same way), and the batch-size rule. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eval.h"
#include "nerf/march.h"
#include "common/ngp_march_math.h"
#include "nerf/occupancy.h"

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
      cmocka_unit_test(test_grid_samples),
      cmocka_unit_test(test_next_ray_count),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
