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
#include "common/ngp_optimizer_math.h"
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

/* The CUDA trainer's ray-to-image rule: a rotation of the CPU's blocks (every image keeps its share
 * of every step's rays; step 0 is the CPU's order), and a dropped suffix of the rays (a full
 * marching buffer) is spread over all images across steps instead of always hitting the last ones.
 * The scene where this matters: marched/kept > 8, where only a prefix of the rays fits. */
static void test_ray_images_rotated(void **state) {
  (void)state;
  enum { N_IMG = 7, N_RAYS = 4096, STEPS = 64 };
  const int kept_prefix = N_RAYS * 3 / 5; /* rays >= this are dropped every step */
  int dropped_unrotated[N_IMG] = {0}, dropped_rotated[N_IMG] = {0}, last_image_rays = 0;
  for (int i = 0; i < N_RAYS; i++)
    last_image_rays += ngp_train_ray_image(i, N_RAYS, N_IMG) == N_IMG - 1;
  for (uint32_t step = 0; step < STEPS; step++) {
    int per_image[N_IMG] = {0};
    for (int i = 0; i < N_RAYS; i++) {
      const int img = ngp_train_ray_image_rotated(i, N_RAYS, N_IMG, step);
      assert_true(img >= 0 && img < N_IMG);
      if (step == 0) assert_int_equal(img, ngp_train_ray_image(i, N_RAYS, N_IMG));
      per_image[img]++;
      if (i >= kept_prefix) {
        dropped_rotated[img]++;
        dropped_unrotated[ngp_train_ray_image(i, N_RAYS, N_IMG)]++;
      }
    }
    for (int k = 0; k < N_IMG; k++) /* floor or ceil of n / N_IMG */
      assert_true(per_image[k] == N_RAYS / N_IMG || per_image[k] == N_RAYS / N_IMG + 1);
    assert_true(ngp_train_ray_rotation(step, N_RAYS) < N_RAYS);
  }
  /* Unrotated: the first images never lose a ray, the last lose theirs every step. Rotated: every
   * image loses about its share (2/5 of its rays) over the run, within 25%. */
  assert_int_equal(dropped_unrotated[0], 0);
  assert_int_equal(dropped_unrotated[N_IMG - 1], STEPS * last_image_rays);
  const double share = (double)STEPS * (N_RAYS - kept_prefix) / N_IMG;
  for (int k = 0; k < N_IMG; k++)
    if (fabs(dropped_rotated[k] - share) > 0.25 * share)
      fail_msg("image %d: %d rays dropped over %d steps, expected about %.0f", k, dropped_rotated[k], STEPS, share);
  /* The largest counts do not overflow the 32-bit arithmetic. */
  assert_true(ngp_train_ray_rotation(0xffffffffu, 1u << 20) < (1u << 20));
}

/* The fp16 loss scale (ngp_loss_scale_for): per-ray gradients of rays through raw densities 12 to
 * 15, composited and differentiated with the shared per-ray maths both backends run (the CUDA
 * trainer's composite kernel calls these very functions), at the step sizes of a unit cube
 * (sqrt(3)/1024) up to large cone-marched steps; then the scaled gradient of every sample must fit
 * fp16 with the stated headroom. And the rule itself: a power of two, the largest with
 * max * scale <= 256, at most 128, for magnitudes from 1e-30 to FLT_MAX. */
static void test_loss_scale_fp16(void **state) {
  (void)state;
  const float dts[] = {1.7320508f / 1024.0f, 1e-2f, 0.1f, 1.0f};
  float worst = 0.0f;
  uint64_t rng = 5;
  for (int raw_hi = 12; raw_hi <= 15; raw_hi++)
    for (size_t d = 0; d < sizeof dts / sizeof dts[0]; d++)
      for (int rep = 0; rep < 50; rep++) {
        enum { K = 8 };
        float raw_rgb[K * 4], raw_density[K], dt[K], drgb[K * 4], dden[K];
        for (int q = 0; q < K; q++) {
          /* a few thin samples, then dense ones at raw_hi - 1 .. raw_hi */
          raw_density[q] = q < 3 ? -4.0f + (float)q : (float)raw_hi - (float)(q & 1);
          dt[q] = dts[d] * (0.5f + (float)q / K);
          for (int c = 0; c < 4; c++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            raw_rgb[q * 4 + c] = (float)((double)(rng >> 11) / 9007199254740992.0) * 8.0f - 4.0f;
          }
        }
        const float bg[3] = {1.0f, 1.0f, 1.0f}, target[3] = {0.0f, 0.5f, 1.0f};
        float color[3], T, g[3];
        const int used = ngp_composite_ray_forward(K, raw_rgb, 4, raw_density, dt, bg, color, &T);
        assert_true(used >= 1);
        for (int c = 0; c < 3; c++)
          (void)ngp_loss_channel(NGP_LOSS_L2, color[c], target[c], &g[c]);
        ngp_composite_ray_backward(K, raw_rgb, 4, raw_density, dt, bg, g, drgb, 4, dden);
        for (int q = 0; q < K; q++) {
          assert_true(isfinite(dden[q]));
          worst = fmaxf(worst, fabsf(dden[q]));
          for (int c = 0; c < 3; c++)
            worst = fmaxf(worst, fabsf(drgb[q * 4 + c]));
        }
      }
  const float scale = ngp_loss_scale_for(worst);
  print_message("raw densities 12..15: largest per-ray gradient %.4g, loss scale %g, scaled %.4g (fp16 max 65504)\n",
                (double)worst, (double)scale, (double)(worst * scale));
  assert_true(worst > 0.0f);
  assert_true(worst * scale <= NGP_FP16_GRAD_BOUND);
  assert_true(worst * scale * (65504.0f / NGP_FP16_GRAD_BOUND) <= 65504.0f);
  /* A step whose output gradients are 1000x larger (the extra density terms of 2^18 rays, a
   * steep loss) still fits: the scale follows the step. */
  assert_true(worst * 1000.0f * ngp_loss_scale_for(worst * 1000.0f) <= NGP_FP16_GRAD_BOUND);

  /* The rule. */
  assert_true(ngp_loss_scale_for(0.0f) == NGP_LOSS_SCALE_MAX);
  assert_true(ngp_loss_scale_for(NAN) == NGP_LOSS_SCALE_MAX);
  assert_true(ngp_loss_scale_for(INFINITY) == NGP_LOSS_SCALE_MAX);
  assert_true(ngp_loss_scale_for(2.0f) == 128.0f);
  assert_true(ngp_loss_scale_for(2.0001f) == 64.0f);
  assert_true(ngp_loss_scale_for(256.0f) == 1.0f);
  assert_true(ngp_loss_scale_for(257.0f) == 0.5f);
  assert_true(ngp_loss_scale_for(5e4f) == 1.0f / 256.0f);
  for (int i = 0; i < 2000; i++) {
    const float m = powf(10.0f, -30.0f + 68.5f * (float)i / 2000.0f);
    const float sc = ngp_loss_scale_for(m);
    int e;
    assert_true(frexpf(sc, &e) == 0.5f); /* a power of two */
    assert_true(sc <= NGP_LOSS_SCALE_MAX && isnormal(sc));
    if (!(m * sc <= NGP_FP16_GRAD_BOUND))
      fail_msg("max %g: scale %g gives %g", (double)m, (double)sc, (double)(m * sc));
    /* the largest such power: twice it would pass the bound, unless capped */
    if (sc < NGP_LOSS_SCALE_MAX && !(m * sc * 2.0f > NGP_FP16_GRAD_BOUND))
      fail_msg("max %g: scale %g is not the largest", (double)m, (double)sc);
  }
  assert_true(ngp_loss_scale_for(3.4e38f) * 3.4e38f <= NGP_FP16_GRAD_BOUND);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grid_samples),
      cmocka_unit_test(test_next_ray_count),
      cmocka_unit_test(test_ray_images_rotated),
      cmocka_unit_test(test_loss_scale_fp16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
