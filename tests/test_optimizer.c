/* test_optimizer.c: Adam with per-parameter counters and sparse hash updates, ExponentialDecay,
 * and the lazy EMA (src/nerf/optimizer.c), against hand-computed values and an eager EMA. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_half.h"
#include "common/ngp_optimizer_math.h"
#include "nerf/mlp.h"
#include "nerf/optimizer.h"

/* instant-ngp's configs/nerf/base.json chain. */
static ngp_optimizer_config base_cfg(void) {
  ngp_optimizer_config c;
  memset(&c, 0, sizeof c);
  c.learning_rate = 1e-2f;
  c.beta1 = 0.9f;
  c.beta2 = 0.99f;
  c.epsilon = 1e-15f;
  c.l2_reg = 1e-6f;
  c.decay_enabled = true;
  c.decay_start = 20000;
  c.decay_interval = 10000;
  c.decay_end = 10000000;
  c.decay_base = 0.33f;
  c.ema_enabled = true;
  c.ema_decay = 0.95f;
  return c;
}

/* A touched set built by hand (encoding.c owns ngp_touched_init; its fields are public). */
typedef struct hand_touched {
  ngp_touched t;
  uint32_t list[64];
  uint64_t bits[1];
} hand_touched;

static void touch(hand_touched *h, const uint32_t *entries, size_t n) {
  h->t.bits = h->bits;
  h->t.list = h->list;
  h->t.count = n;
  h->t.n_entries = 64;
  h->bits[0] = 0;
  for (size_t i = 0; i < n; i++) {
    h->list[i] = entries[i];
    h->bits[0] |= 1ull << entries[i];
  }
}

static uint64_t g_rng = 99;
static double urand(void) { /* xorshift64*, [0, 1) */
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (double)((g_rng * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static void test_init_errors(void **state) {
  (void)state;
  ngp_optimizer o;
  ngp_error err;
  ngp_optimizer_config c = base_cfg();
  float p[7] = {0};
  assert_int_equal(ngp_optimizer_init(&o, &c, 2, 7, 2, p, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "entries of 2 floats");
  c.decay_interval = 0;
  assert_int_equal(ngp_optimizer_init(&o, &c, 2, 6, 2, p, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "decay_interval = 0");
  c = base_cfg();
  c.ema_decay = 1.0f;
  assert_int_equal(ngp_optimizer_init(&o, &c, 2, 6, 2, p, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "Ema decay");
}

/* Layout for the hand-computed tests: 2 matrix params, then 3 hash entries of 2 floats. */
static void test_adam_hand(void **state) {
  (void)state;
  ngp_optimizer_config c = base_cfg();
  c.l2_reg = 0.1f; /* large, so its presence on matrix params (and absence on entries) shows */
  ngp_optimizer o;
  float w[8] = {1.0f, -2.0f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  const float w0[8] = {1.0f, -2.0f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
  assert_int_equal(ngp_optimizer_init(&o, &c, 2, 8, 2, w, NULL), NGP_OK);
  const float S = 128.0f; /* loss scale */
  /* Gradients of (loss * 128). Entry 0 touched: one nonzero, one zero gradient. Entry 1 NOT in
   * the touched set (its gradients must be neither read nor consumed). Entry 2 touched, all 0. */
  float g[8] = {0.5f * S, 0.0f, -0.25f * S, 0.0f, 1.0f * S, 1.0f * S, 0.0f, 0.0f};
  hand_touched h;
  touch(&h, (const uint32_t[]){0, 2}, 2);
  assert_float_equal(ngp_optimizer_learning_rate(&o), 1e-2f, 0.0f);
  ngp_optimizer_step(&o, w, g, &h.t, S, 1);

  /* Step 1 by hand (bias correction sqrt(1-0.99)/(1-0.9) = 1):
   *   w[0]: g = 0.5 + 0.1*1 = 0.6;      m = 0.06,  v = 0.0036,  w = 1 - 0.01*0.06/0.06 = 0.99
   *   w[1]: g = 0 + 0.1*(-2) = -0.2;    m = -0.02, v = 0.0004,  w = -2 + 0.01 = -1.99
   *   w[2]: g = -0.25 (no L2);          m = -0.025, v = 0.000625, w = 0.3 + 0.01 = 0.31
   *   w[3], w[6], w[7]: zero gradient -> skipped; w[4], w[5]: not touched -> untouched. */
  /* Tolerances: ~1e-6 relative (float rounding of 1-beta etc.). */
  assert_float_equal(o.m[0], 0.06f, 1e-7f);
  assert_float_equal(o.v[0], 0.0036f, 1e-8f);
  assert_float_equal(w[0], 0.99f, 1e-6f);
  assert_float_equal(o.m[1], -0.02f, 2e-8f);
  assert_float_equal(w[1], -1.99f, 1e-6f);
  assert_float_equal(o.m[2], -0.025f, 3e-8f); /* 0.1 * (-0.25): no L2 on hash entries */
  assert_float_equal(o.v[2], 0.000625f, 1e-9f);
  assert_float_equal(w[2], 0.31f, 1e-6f);
  for (int i = 3; i < 8; i++) {
    if (i == 3 || i >= 6) assert_float_equal(w[i], w0[i], 0.0f);
    if (i == 4 || i == 5) assert_float_equal(w[i], w0[i], 0.0f);
    assert_float_equal(o.m[i], 0.0f, 0.0f);
    assert_float_equal(o.v[i], 0.0f, 0.0f);
    assert_int_equal(o.t[i], 0);
  }
  assert_int_equal(o.t[0], 1);
  assert_int_equal(o.t[1], 1);
  assert_int_equal(o.t[2], 1);
  /* Gradients consumed: every one it read is 0; entry 1's (not touched) are left as they were. */
  for (int i = 0; i < 8; i++) {
    if (i == 4 || i == 5)
      assert_float_equal(g[i], S, 0.0f);
    else
      assert_float_equal(g[i], 0.0f, 0.0f);
  }

  /* Step 2: only w[3] gets a gradient among the entries; w[2] keeps its counter at 1. Matrix
   * w[0] gets g = 0.1 + 0.1*0.99 = 0.199, counter 2, bias correction sqrt(1-0.99^2)/(1-0.9^2). */
  float g2[8] = {0.1f * S, 0.0f, 0.0f, 0.5f * S, 0.0f, 0.0f, 0.0f, 0.0f};
  ngp_optimizer_step(&o, w, g2, &h.t, S, 1);
  double gg = 0.1 + 0.1 * 0.99;
  double m2 = 0.9 * 0.06 + 0.1 * gg, v2 = 0.99 * 0.0036 + 0.01 * gg * gg;
  double bc2 = sqrt(1.0 - 0.99 * 0.99) / (1.0 - 0.9 * 0.9);
  double w0_2 = 0.99 - 0.01 * bc2 * m2 / (sqrt(v2) + 1e-15);
  assert_float_equal(o.m[0], (float)m2, 1e-7f);
  assert_float_equal(w[0], (float)w0_2, 2e-6f);
  assert_int_equal(o.t[0], 2);
  assert_int_equal(o.t[2], 1); /* per-parameter counters */
  assert_int_equal(o.t[3], 1);
  assert_float_equal(w[2], 0.31f, 1e-6f);
  /* w[3]'s first update uses ITS counter (1): a plain sign step of lr, not the step-2 correction. */
  assert_float_equal(w[3], 0.4f - 0.01f, 1e-6f);
  ngp_optimizer_free(&o);
}

static void test_decay_schedule(void **state) {
  (void)state;
  ngp_optimizer_config c = base_cfg();
  c.ema_enabled = false;
  ngp_optimizer o;
  float w[3] = {0.0f, 0.5f, 0.5f}, g[3] = {0};
  assert_int_equal(ngp_optimizer_init(&o, &c, 1, 3, 2, w, NULL), NGP_OK);
  /* base.json: 1e-2 for steps 0..19999, then x0.33 at 20000, 30000, 40000. */
  struct {
    int step;
    double lr;
  } want[] = {{0, 1e-2}, {19999, 1e-2}, {20000, 3.3e-3}, {29999, 3.3e-3}, {30000, 1.089e-3}, {40000, 3.5937e-4}};
  size_t k = 0;
  for (int s = 0; s <= 40000; s++) {
    if (k < sizeof want / sizeof want[0] && want[k].step == s) {
      float lr = ngp_optimizer_learning_rate(&o);
      if (fabs((double)lr - want[k].lr) > 1e-6 * want[k].lr)
        fail_msg("step %d: learning rate %.7g, expected %.7g", s, (double)lr, want[k].lr);
      k++;
    }
    if (s == 25000) {
      /* A hash entry first touched now: its own counter is 1, so Adam moves it by exactly the
       * current learning rate (3.3e-3), which shows the decayed rate is the one used. */
      hand_touched h;
      touch(&h, (const uint32_t[]){0}, 1);
      g[1] = 1.0f;
      float before = w[1];
      ngp_optimizer_step(&o, w, g, &h.t, 1.0f, 1);
      assert_float_equal(before - w[1], 3.3e-3f, 1e-7f); /* w's ulp is 6e-8 */
      continue;
    }
    ngp_optimizer_step(&o, w, g, NULL, 1.0f, 1);
  }
  assert_int_equal(k, sizeof want / sizeof want[0]);
  assert_int_equal(o.step, 40001);
  ngp_optimizer_free(&o);
  /* decay_end stops it. */
  c.decay_start = 2;
  c.decay_interval = 2;
  c.decay_end = 4;
  assert_int_equal(ngp_optimizer_init(&o, &c, 1, 3, 2, w, NULL), NGP_OK);
  for (int s = 0; s < 10; s++)
    ngp_optimizer_step(&o, w, g, NULL, 1.0f, 1);
  assert_float_equal(ngp_optimizer_learning_rate(&o), 1e-2f * 0.33f * 0.33f, 1e-9f);
  ngp_optimizer_free(&o);
}

/* The schedule the CUDA trainer keeps on the device (ngp_schedule_step, common/ngp_optimizer_math.h)
 * against the CPU optimizer over steps some of which are skipped for a non-finite loss or
 * gradient: the rate of every step equals the CPU's (which is stepped only for the applied steps),
 * a skipped step moves neither the decay nor the step count, and the finiteness rule is the CPU's
 * (a NaN or infinite loss, or any flagged gradient). */
static void test_device_schedule_with_skips(void **state) {
  (void)state;
  ngp_optimizer_config c = base_cfg();
  c.ema_enabled = false;
  c.decay_start = 5;
  c.decay_interval = 3;
  c.decay_end = 30;
  c.decay_base = 0.5f;
  ngp_optimizer o;
  float w[3] = {0.0f, 0.5f, 0.5f}, g[3] = {0};
  assert_int_equal(ngp_optimizer_init(&o, &c, 1, 3, 2, w, NULL), NGP_OK);
  uint32_t opt_step = 0;
  float factor = 1.0f, lr = 0.0f;
  int skipped = 0;
  for (int s = 0; s < 60; s++) {
    /* skip steps 6..8 (around a decay), 13 and every 7th from 20 on: NaN, +inf, -inf loss or a
     * flagged gradient in turn */
    const int skip = (s >= 6 && s <= 8) || s == 13 || (s >= 20 && s % 7 == 0);
    double loss = 0.25;
    unsigned bad = 0;
    if (skip) {
      const int kind = skipped++ % 4;
      if (kind == 0) loss = NAN;
      if (kind == 1) loss = INFINITY;
      if (kind == 2) loss = -INFINITY;
      if (kind == 3) bad = 1;
    }
    const float cpu_lr = ngp_optimizer_learning_rate(&o);
    const int applies = ngp_schedule_step(c.learning_rate, c.decay_base, c.decay_enabled, c.decay_start,
                                          c.decay_interval, c.decay_end, loss, bad, &opt_step, &factor, &lr);
    assert_int_equal(applies, !skip);
    if (lr != cpu_lr) fail_msg("step %d: device schedule rate %.9g, CPU optimizer %.9g", s, (double)lr, (double)cpu_lr);
    if (applies) ngp_optimizer_step(&o, w, g, NULL, 1.0f, 1);
    assert_int_equal((int)opt_step, o.step);
  }
  assert_int_equal(skipped, 3 + 1 + 6);
  assert_int_equal((int)opt_step, 60 - skipped);
  /* the decays happened at applied steps 5, 8, ..., 29: 9 of them */
  assert_float_equal(factor, powf(0.5f, 9.0f), 0.0f);
  ngp_optimizer_free(&o);
  assert_true(ngp_step_applies(0.0, 0));
  assert_true(ngp_step_applies(1e300, 0));
  assert_false(ngp_step_applies(0.0, 1));
  assert_false(ngp_step_applies(NAN, 0));
}

/* Random sparse steps; the lazy EMA must equal an EMA computed eagerly over every parameter
 * every step (here in double), checked at several points, including mid-run reads. Also: the
 * step is independent of the thread count (distinct entries per thread). */
static void test_lazy_ema(void **state) {
  (void)state;
  ngp_optimizer_config c = base_cfg();
  const size_t NM = 7, NE = 20000, F = 2, N = NM + NE * F; /* > one parallel chunk of entries */
  float *w = malloc(N * sizeof(float)), *w2 = malloc(N * sizeof(float)), *g = calloc(N, sizeof(float));
  float *g2 = calloc(N, sizeof(float)), *out = malloc(N * sizeof(float));
  double *eager = calloc(N, sizeof(double));
  uint32_t *list = malloc(NE * sizeof(uint32_t));
  uint64_t *bits = calloc((NE + 63) / 64, sizeof(uint64_t));
  assert_true(w && w2 && g && g2 && out && eager && list && bits);
  for (size_t i = 0; i < N; i++)
    w[i] = w2[i] = (float)(urand() * 2.0 - 1.0);
  ngp_optimizer o, o2;
  assert_int_equal(ngp_optimizer_init(&o, &c, NM, N, (int)F, w, NULL), NGP_OK);
  assert_int_equal(ngp_optimizer_init(&o2, &c, NM, N, (int)F, w2, NULL), NGP_OK);
  /* Before any step: the weights themselves. */
  ngp_optimizer_ema(&o, w, out);
  assert_memory_equal(out, w, N * sizeof(float));
  const double d = 0.95;
  double dt = 1.0; /* d^t */
  int worst_printed = 0;
  double worst = 0.0;
  for (int t = 1; t <= 120; t++) {
    /* Touch a random ~10% of entries (sometimes a burst of 60%), random gradients, ~30% exactly 0. */
    double frac = (t % 17 == 0) ? 0.6 : 0.1;
    ngp_touched tt = {bits, list, 0, NE, {0}};
    for (size_t e = 0; e < NE; e++)
      if (urand() < frac) list[tt.count++] = (uint32_t)e;
    for (size_t i = 0; i < NM; i++)
      g[i] = g2[i] = (float)(urand() - 0.5);
    for (size_t k = 0; k < tt.count; k++)
      for (size_t j = 0; j < F; j++) {
        size_t i = NM + list[k] * F + j;
        g[i] = g2[i] = urand() < 0.3 ? 0.0f : (float)(urand() - 0.5);
      }
    ngp_optimizer_step(&o, w, g, &tt, 128.0f, 2);
    ngp_optimizer_step(&o2, w2, g2, &tt, 128.0f, 1);
    dt *= d;
    for (size_t i = 0; i < N; i++)
      eager[i] = d * eager[i] + (1.0 - d) * (double)w[i];
    if (t == 1 || t == 2 || t == 33 || t == 80 || t == 120) {
      ngp_optimizer_ema(&o, w, out);
      int bad = 0;
      for (size_t i = 0; i < N; i++) {
        double ref = eager[i] / (1.0 - dt), err = fabs((double)out[i] - ref);
        /* Relative to the value, or to 1e-2 for the few EMAs that average O(1) weights to ~0:
         * there float storage of A (like any float EMA) leaves ~1e-9 absolute. */
        double rel = err / fmax(fabs(ref), 1e-2);
        worst = fmax(worst, rel);
        if (rel > 1e-6) {
          if (worst_printed++ < 5) printf("  step %d: ema[%zu] lazy %.9g eager %.9g\n", t, i, (double)out[i], ref);
          bad++;
        }
      }
      if (bad) fail_msg("step %d: %d lazy EMA values differ from the eager EMA by more than 1e-6 relative", t, bad);
    }
  }
  printf("  lazy vs eager EMA: worst relative difference %.3g\n", worst);
  assert_memory_equal(w, w2, N * sizeof(float)); /* 2 threads == 1 thread */
  /* Without an Ema in the chain the "EMA" is the weights. */
  ngp_optimizer_free(&o2);
  c.ema_enabled = false;
  assert_int_equal(ngp_optimizer_init(&o2, &c, NM, N, (int)F, w2, NULL), NGP_OK);
  ngp_optimizer_step(&o2, w2, g2, NULL, 1.0f, 1);
  ngp_optimizer_ema(&o2, w2, out);
  assert_memory_equal(out, w2, N * sizeof(float));
  ngp_optimizer_free(&o);
  ngp_optimizer_free(&o2);
  free(w);
  free(w2);
  free(g);
  free(g2);
  free(out);
  free(eager);
  free(list);
  free(bits);
}

/* ---- The vectorised sweep against the scalar one, bit for bit ---------------------------------- */

/* Three optimizers fed the same steps: the scalar sweep (NGP_SIMD=scalar), the AVX2 one
 * (NGP_SIMD=avx2) and the CPU's best (AVX-512): every weight, moment, counter, EMA and EMA step,
 * and the consumed gradients, must agree bit for bit after every step. Entry sizes 1, 2, 4, 8 (an
 * AVX-512 vector holds 16, 8, 4 or 2 entries, an AVX2 one 8, 4, 2 or 1), with and without the EMA; random touched sets
 * (so EMAs catch up over gaps of many steps), gradients exactly 0 and -0 among them, tiny and
 * large ones, a learning-rate decay on the way; now and then a step touching so few entries that it
 * takes the list instead of the bitmap.
 * With `half`, each optimizer also keeps an fp16 copy of the entries (ngp_optimizer_keep_f16, made
 * from the rounded weights first), which must equal ngp_f32_to_f16 of every entry weight after every
 * step, on every path; weights beyond fp16's range (saturating at +-65504) and below its normals are
 * among them. */
static int sweep_pair(int F, bool ema, bool half, int steps) {
  ngp_optimizer_config c = base_cfg();
  c.ema_enabled = ema;
  c.decay_start = 5;
  c.decay_interval = 7;
  const size_t NM = 13, NE = 3000, N = NM + NE * (size_t)F;
  float *w[3], *g[3];
  for (int k = 0; k < 3; k++) {
    w[k] = malloc(N * sizeof(float));
    g[k] = calloc(N, sizeof(float));
    assert_true(w[k] && g[k]);
  }
  uint32_t *list = malloc(NE * sizeof(uint32_t));
  uint64_t *bits = calloc((NE + 63) / 64, sizeof(uint64_t));
  assert_true(list && bits);
  for (size_t i = 0; i < N; i++)
    w[0][i] = w[1][i] = w[2][i] = (float)(urand() * 2.0 - 1.0) * (i % 5 == 0    ? 1e-4f
                                                                  : i % 7 == 0  ? 1e-6f
                                                                  : i % 11 == 0 ? 7e4f
                                                                                : 1.0f);
  ngp_optimizer o[3];
  uint16_t *h[3] = {NULL, NULL, NULL};
  for (int k = 0; k < 3; k++) {
    assert_int_equal(ngp_optimizer_init(&o[k], &c, NM, N, F, w[k], NULL), NGP_OK);
    if (!half) continue;
    h[k] = malloc(NE * (size_t)F * sizeof(uint16_t));
    assert_non_null(h[k]);
    for (size_t j = 0; j < NE * (size_t)F; j++)
      h[k][j] = ngp_f32_to_f16(w[k][NM + j]);
    ngp_optimizer_keep_f16(&o[k], h[k]);
  }
  int bad = 0;
  for (int t = 1; t <= steps && !bad; t++) {
    double frac = t % 9 == 0 ? 0.7 : t % 5 == 0 ? 0.002 : 0.05 + 0.1 * urand();
    ngp_touched tt = {bits, list, 0, NE, {0}};
    for (size_t e = 0; e < NE; e++)
      if (urand() < frac) {
        list[tt.count++] = (uint32_t)e;
        bits[e / 64] |= 1ull << (e % 64);
      }
    for (size_t i = 0; i < NM; i++)
      g[0][i] = g[1][i] = g[2][i] = (float)(urand() - 0.5);
    for (size_t q = 0; q < tt.count; q++)
      for (int j = 0; j < F; j++) {
        size_t i = NM + list[q] * (size_t)F + (size_t)j;
        double r = urand();
        float v = r < 0.2    ? 0.0f
                  : r < 0.25 ? -0.0f
                             : (float)(urand() - 0.5) * (r < 0.3    ? 1e-30f
                                                         : r < 0.35 ? 1e6f
                                                                    : 1.0f);
        g[0][i] = g[1][i] = g[2][i] = v;
      }
    for (int k = 0; k < 3; k++) {
      if (k < 2)
        setenv("NGP_SIMD", k == 0 ? "scalar" : "avx2", 1);
      else
        unsetenv("NGP_SIMD");
      ngp_optimizer_step(&o[k], w[k], g[k], &tt, 128.0f, 2);
    }
    for (size_t q = 0; q < tt.count; q++)
      bits[list[q] / 64] = 0;
    for (int k = 1; k < 3; k++) {
      bad |= memcmp(w[0], w[k], N * sizeof(float)) != 0;
      bad |= memcmp(g[0], g[k], N * sizeof(float)) != 0;
      bad |= memcmp(o[0].m, o[k].m, N * sizeof(float)) != 0;
      bad |= memcmp(o[0].v, o[k].v, N * sizeof(float)) != 0;
      bad |= memcmp(o[0].t, o[k].t, N * sizeof(uint32_t)) != 0;
      if (ema) {
        bad |= memcmp(o[0].ema, o[k].ema, N * sizeof(float)) != 0;
        bad |= memcmp(o[0].ema_step, o[k].ema_step, N * sizeof(uint32_t)) != 0;
      }
    }
    for (int k = 0; k < 3 && half; k++)
      for (size_t j = 0; j < NE * (size_t)F; j++)
        if (h[k][j] != ngp_f32_to_f16(w[k][NM + j])) {
          printf("  F=%d ema %d path %d: fp16 copy of weight %zu is 0x%04x, the weight %.9g rounds to 0x%04x\n", F,
                 (int)ema, k, j, h[k][j], (double)w[k][NM + j], ngp_f32_to_f16(w[k][NM + j]));
          bad = 1;
          break;
        }
    if (bad) printf("  F=%d ema %d: the sweeps differ after step %d\n", F, (int)ema, t);
  }
  unsetenv("NGP_SIMD");
  for (int k = 0; k < 3; k++) {
    ngp_optimizer_free(&o[k]);
    free(h[k]);
    free(w[k]);
    free(g[k]);
  }
  free(list);
  free(bits);
  return bad;
}

static void test_sweep_simd_vs_scalar(void **state) {
  (void)state;
  unsetenv("NGP_SIMD");
  if (strcmp(ngp_simd_level(), "avx512") != 0) {
    printf("  skipped: the test compares the AVX2 and AVX-512 sweeps with the scalar one; this CPU's best "
           "level is %s\n",
           ngp_simd_level());
    skip();
  }
  static const int Fs[] = {1, 2, 4, 8};
  int bad = 0;
  for (size_t i = 0; i < sizeof Fs / sizeof Fs[0]; i++)
    for (int e = 0; e < 4; e++)
      bad += sweep_pair(Fs[i], e & 1, e >> 1, 40);
  printf("  4 entry sizes x EMA on/off x fp16 copy or none, 40 steps each, AVX2 and AVX-512 against scalar: %d "
         "differ\n",
         bad);
  if (bad) fail_msg("%d vectorised Adam sweeps differ from the scalar one in some bit", bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_errors),    cmocka_unit_test(test_adam_hand),
      cmocka_unit_test(test_decay_schedule), cmocka_unit_test(test_device_schedule_with_skips),
      cmocka_unit_test(test_lazy_ema),       cmocka_unit_test(test_sweep_simd_vs_scalar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
