/* test_encoding.c: the multiresolution hash encoding and the SH direction encoding (src/nerf/
 * encoding*.c, src/common/ngp_encoding_math.h): level geometry against NGP-SPEC §2's numbers,
 * hand-computed hash/index values, exact reproduction of linear functions, partition of unity,
 * the backward pass against central finite differences, the fast twins against the reference
 * (outputs, gradients, touched sets), and the SH basis (values, tcnn's higher-degree constants,
 * orthonormality by quadrature, no (d+1)/2 warp). */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerf/encoding.h"
#include "common/ngp_encoding_math.h"
#include "common/ngp_half.h"

/* ---- Helpers ------------------------------------------------------------------------------- */

static ngp_grid_config base_grid(void) {
  /* configs/nerf/base.json's encoding block. */
  ngp_grid_config c;
  memset(&c, 0, sizeof c);
  c.otype = NGP_GRID_HASH;
  c.n_levels = 8;
  c.n_features_per_level = 4;
  c.log2_hashmap_size = 19;
  c.base_resolution = 16;
  c.per_level_scale = 0.0f;
  c.interpolation = NGP_INTERP_LINEAR;
  return c;
}

static ngp_hashgrid make_grid(const ngp_grid_config *c, int aabb_scale) {
  ngp_hashgrid g;
  ngp_error err = {0};
  if (ngp_hashgrid_init(&g, c, aabb_scale, &err) != NGP_OK) fail_msg("ngp_hashgrid_init: %s", err.msg);
  return g;
}

static uint64_t rng_state = 12345;
static float frand(void) { /* [0, 1), xorshift64* */
  rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
  return (float)((rng_state * 0x2545F4914F6CDD1Dull) >> 40) * (1.0f / 16777216.0f);
}

static float *alloc_floats(size_t n) {
  float *p = calloc(n ? n : 1, sizeof *p);
  assert_non_null(p);
  return p;
}

/* Random positions in [0,1]^3 with a few exact corners/edges mixed in. */
static float *random_positions(int S) {
  float *x = alloc_floats((size_t)3 * S);
  for (int i = 0; i < 3 * S; i++)
    x[i] = frand();
  static const float edges[] = {0.0f, 1.0f, 0.5f, 0.0f, 1.0f, 1.0f, 0.999999f, 0.0f, 0.25f};
  for (int i = 0; i < 9 && i < 3 * S; i++)
    x[i] = edges[i];
  return x;
}

/* Compares a fast result with a reference one: |a - r| <= atol + rtol*|r|, printing the first
 * few mismatches with their index. Returns the number of mismatches. */
static size_t compare(const char *what, const float *fast, const float *ref, size_t n, float atol, float rtol) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    if (fabsf(fast[i] - ref[i]) <= atol + rtol * fabsf(ref[i])) continue;
    if (bad < 8)
      print_message("%s: mismatch at [%zu]: fast %.9g, ref %.9g\n", what, i, (double)fast[i], (double)ref[i]);
    bad++;
  }
  if (bad)
    print_message("%s: %zu of %zu values out of tolerance (atol %g, rtol %g)\n", what, bad, n, (double)atol,
                  (double)rtol);
  return bad;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* Asserts two touched sets hold the same entries: same bitmap, same list as a set, no duplicate. */
static void assert_same_touched(const ngp_touched *a, const ngp_touched *b) {
  assert_int_equal(a->count, b->count);
  assert_int_equal(memcmp(a->bits, b->bits, (a->n_entries + 63) / 64 * sizeof *a->bits), 0);
  uint32_t *la = malloc((a->count + 1) * sizeof *la), *lb = malloc((b->count + 1) * sizeof *lb);
  assert_non_null(la);
  assert_non_null(lb);
  memcpy(la, a->list, a->count * sizeof *la);
  memcpy(lb, b->list, b->count * sizeof *lb);
  qsort(la, a->count, sizeof *la, cmp_u32);
  qsort(lb, b->count, sizeof *lb, cmp_u32);
  for (size_t i = 0; i < a->count; i++) {
    if (la[i] != lb[i]) fail_msg("touched lists differ at sorted position %zu: %u vs %u", i, la[i], lb[i]);
    if (i && la[i] == la[i - 1]) fail_msg("touched list holds %u twice", la[i]);
    if (!(a->bits[la[i] >> 6] >> (la[i] & 63) & 1)) fail_msg("listed entry %u has no bit", la[i]);
  }
  free(la);
  free(lb);
}

/* ---- Geometry ------------------------------------------------------------------------------- */

static void test_geometry_base(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  ngp_hashgrid g = make_grid(&c, 1);
  assert_true(g.per_level_scale == 2.0f);
  const uint32_t sizes[8] = {4096, 32768, 262144, 1u << 19, 1u << 19, 1u << 19, 1u << 19, 1u << 19};
  uint32_t off = 0;
  for (int l = 0; l < 8; l++) {
    assert_int_equal(g.res[l], 16u << l);
    assert_true(g.scale[l] == (float)(16 << l) - 1.0f);
    assert_int_equal(g.size[l], sizes[l]);
    assert_int_equal(g.hashed[l], l >= 3);
    assert_int_equal(g.offset[l], off);
    off += sizes[l];
  }
  assert_int_equal(g.offset[8], off);
  assert_int_equal(g.n_params, 11681792);
}

static void test_geometry_aabb4_and_paper(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  ngp_hashgrid g = make_grid(&c, 4);
  assert_true(fabsf(g.per_level_scale - 2.43803f) < 1e-5f);
  /* The finest level reaches ~2048 cells per ngp unit over a 4-unit box. */
  assert_true(g.res[7] >= 8190 && g.res[7] <= 8194);
  for (int l = 0; l < 8; l++)
    assert_int_equal(g.hashed[l], l >= 2); /* res 16, 40 dense; 96^3 > 2^19 */

  /* Paper config: L=16, F=2; levels 0-4 dense with res 16, 23, 31, 43, 59, hashed above. */
  c.n_levels = 16;
  c.n_features_per_level = 2;
  g = make_grid(&c, 1);
  assert_true(fabsf(g.per_level_scale - 1.38191f) < 1e-5f);
  const uint32_t res[5] = {16, 23, 31, 43, 59};
  const uint32_t dense[5] = {4096, 12168, 29792, 79512, 205384}; /* res^3 rounded up to 8 */
  for (int l = 0; l < 16; l++) {
    assert_int_equal(g.hashed[l], l >= 5);
    if (l < 5) {
      assert_int_equal(g.res[l], res[l]);
      assert_int_equal(g.size[l], dense[l]);
    } else {
      assert_int_equal(g.size[l], 1u << 19);
    }
    assert_int_equal(g.size[l] % 8, 0);
  }
  assert_int_equal(g.n_params, 12196240); /* "about 12.2 M" */
}

static void test_geometry_dense_and_errors(void **state) {
  (void)state;
  /* DenseGrid is never hashed nor capped by the table size. */
  ngp_grid_config c = base_grid();
  c.otype = NGP_GRID_DENSE;
  c.n_levels = 2;
  c.log2_hashmap_size = 10;
  c.per_level_scale = 2.0f;
  ngp_hashgrid g = make_grid(&c, 1);
  assert_false(g.hashed[0] || g.hashed[1]);
  assert_int_equal(g.size[1], 32768);

  ngp_error err;
  ngp_grid_config bad;
  const char *fields[] = {"encoding.n_levels",          "encoding.n_levels", "encoding.n_features_per_level",
                          "encoding.log2_hashmap_size", "encoding: level",   "encoding.base_resolution"};
  for (int i = 0; i < 6; i++) {
    bad = base_grid();
    if (i == 0) bad.n_levels = 0;
    if (i == 1) bad.n_levels = 65;
    if (i == 2) bad.n_features_per_level = 3;
    if (i == 3) bad.log2_hashmap_size = 32;
    if (i == 4) bad.otype = NGP_GRID_DENSE; /* 2048^3 entries at the finest level */
    if (i == 5) bad.base_resolution = 0;
    memset(&err, 0, sizeof err);
    ngp_status st = ngp_hashgrid_init(&g, &bad, 1, &err);
    assert_int_not_equal(st, NGP_OK);
    assert_contains(err.msg, fields[i]);
  }
}

/* ---- Index and weights ---------------------------------------------------------------------- */

static void test_hash_and_index(void **state) {
  (void)state;
  /* Hand-computed: h = x ^ y*2654435761 ^ z*805459861 (mod 2^32). */
  assert_int_equal(ngp_grid_hash(7, 0, 0), 7u);
  assert_int_equal(ngp_grid_hash(0, 1, 0), 2654435761u);
  assert_int_equal(ngp_grid_hash(0, 0, 1), 805459861u);
  assert_int_equal(ngp_grid_hash(1, 1, 1), 2922720805u);
  assert_int_equal(ngp_grid_hash(2, 3, 5), 716036344u);
  assert_int_equal(ngp_grid_index(2, 3, 5, 2048, 1u << 19, 1), 383224u);
  assert_int_equal(ngp_grid_index(100, 200, 300, 2048, 1u << 19, 1), 110768u);
  /* Dense: x fastest, and the upper edge wraps modulo the size. */
  assert_int_equal(ngp_grid_index(1, 2, 3, 16, 4096, 0), 1u + 2u * 16u + 3u * 256u);
  assert_int_equal(ngp_grid_index(16, 15, 15, 16, 4096, 0), 0u);
  assert_int_equal(ngp_grid_index(5, 0, 0, 3, 32, 0), 5u);
  assert_int_equal(ngp_grid_index(1, 1, 4, 3, 32, 0), (1u + 3u + 36u) % 32u); /* non-pow2 modulo */
  /* pos = x*scale + 0.5 */
  uint32_t cell;
  float frac;
  ngp_grid_pos_fract(0.25f, 15.0f, &cell, &frac);
  assert_int_equal(cell, 4u);
  assert_true(frac == 0.25f);
  ngp_grid_pos_fract(0.0f, 15.0f, &cell, &frac);
  assert_int_equal(cell, 0u);
  assert_true(frac == 0.5f);
}

/* ngp_grid_corners (the fast path's) equals the per-corner formulas (the reference's) exactly,
 * and the weights are a partition of unity. */
static void test_corners_and_unity(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  ngp_hashgrid g = make_grid(&c, 1);
  for (int interp = 0; interp < 3; interp++) {
    for (int it = 0; it < 2000; it++) {
      float x[3] = {frand(), frand(), frand()};
      for (int l = 0; l < g.n_levels; l++) {
        uint32_t idx[8], cell[3];
        float w[8], t[3];
        int nc = ngp_grid_corners(x, g.scale[l], g.res[l], g.size[l], g.hashed[l], interp, idx, w);
        for (int d = 0; d < 3; d++) {
          ngp_grid_pos_fract(x[d], g.scale[l], &cell[d], &t[d]);
          t[d] = ngp_grid_weight1(t[d], interp);
        }
        assert_int_equal(nc, interp == NGP_ENC_INTERP_NEAREST ? 1 : 8);
        double sum = 0.0;
        for (int k = 0; k < nc; k++) {
          uint32_t e = ngp_grid_index(cell[0] + (uint32_t)(k & 1), cell[1] + (uint32_t)((k >> 1) & 1),
                                      cell[2] + (uint32_t)(k >> 2), g.res[l], g.size[l], g.hashed[l]);
          assert_int_equal(idx[k], e);
          assert_true(idx[k] < g.size[l]);
          if (nc == 8) assert_true(w[k] == ngp_grid_corner_weight(k, t));
          assert_true(w[k] >= 0.0f);
          sum += (double)w[k];
        }
        if (fabs(sum - 1.0) > 1e-6) fail_msg("weights sum to %.9g at level %d (interp %d)", sum, l, interp);
      }
    }
  }
}

/* A table holding a linear function of the vertex coordinates interpolates it exactly. */
static void test_linear_reproduction(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  c.n_levels = 2;
  c.n_features_per_level = 2;
  c.per_level_scale = 2.0f;
  ngp_hashgrid g = make_grid(&c, 1); /* dense levels: res 16 and 32 */
  float *params = alloc_floats(g.n_params);
  const float a[2][4] = {{0.5f, -1.25f, 2.0f, 3.0f}, {-0.75f, 0.25f, 1.5f, -2.0f}}; /* f = a0 cx + a1 cy + a2 cz + a3 */
  for (int l = 0; l < 2; l++) {
    uint32_t r = g.res[l];
    for (uint32_t z = 0; z < r; z++)
      for (uint32_t y = 0; y < r; y++)
        for (uint32_t x = 0; x < r; x++)
          for (int f = 0; f < 2; f++)
            params[((size_t)g.offset[l] + x + y * r + z * r * r) * 2 + f] =
                a[f][0] * (float)x + a[f][1] * (float)y + a[f][2] * (float)z + a[f][3];
  }
  const int S = 500;
  float *x = alloc_floats(3 * S), *out = alloc_floats((size_t)S * 4);
  for (int i = 0; i < 3 * S; i++)
    x[i] = 0.95f * frand(); /* keep the +1 corners inside: no wrap */
  for (int interp = 0; interp < 2; interp++) {
    g.interpolation = interp == 0 ? NGP_INTERP_LINEAR : NGP_INTERP_NEAREST;
    ngp_hashgrid_forward_ref(&g, params, S, x, out);
    for (int s = 0; s < S; s++)
      for (int l = 0; l < 2; l++)
        for (int f = 0; f < 2; f++) {
          double e = a[f][3];
          for (int d = 0; d < 3; d++) {
            double pos = (double)(x[3 * s + d] * g.scale[l] + 0.5f);
            e += (double)a[f][d] * (interp == 0 ? pos : floor(pos)); /* Nearest: the base vertex */
          }
          float got = out[(size_t)s * 4 + (size_t)l * 2 + (size_t)f];
          if (fabs((double)got - e) > 1e-4 + 1e-5 * fabs(e))
            fail_msg("interp %d, sample %d level %d feature %d: got %.7g, expected %.7g", interp, s, l, f, (double)got,
                     e);
        }
  }
  free(params);
  free(x);
  free(out);
}

/* ---- Backward against finite differences ---------------------------------------------------- */

static double weighted_sum(const ngp_hashgrid *g, const float *params, int S, const float *x, const float *dout,
                           float *out) {
  ngp_hashgrid_forward_ref(g, params, S, x, out);
  double sum = 0.0;
  for (size_t i = 0; i < (size_t)S * g->n_levels * g->n_features; i++)
    sum += (double)out[i] * (double)dout[i];
  return sum;
}

/* d(sum dout * out)/d params by central differences, for every parameter of a small grid with
 * dense and hashed levels. The encoding is linear in the parameters, so the difference quotient is
 * exact up to rounding: tolerance 1e-3 absolute, no outliers allowed. */
static void test_backward_finite_differences(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  c.n_levels = 3;
  c.n_features_per_level = 2;
  c.log2_hashmap_size = 8;
  c.base_resolution = 4;
  c.per_level_scale = 2.0f;
  for (int interp = 0; interp < 3; interp++) {
    c.interpolation = (ngp_interpolation)interp;
    ngp_hashgrid g = make_grid(&c, 1);
    assert_false(g.hashed[0]);
    assert_true(g.hashed[1] && g.hashed[2]);
    const int S = 5, LF = 6;
    float *x = random_positions(S), *params = alloc_floats(g.n_params), *dparams = alloc_floats(g.n_params);
    float *dout = alloc_floats((size_t)S * LF), *out = alloc_floats((size_t)S * LF);
    for (size_t i = 0; i < g.n_params; i++)
      params[i] = 2.0f * frand() - 1.0f;
    for (int i = 0; i < S * LF; i++)
      dout[i] = 2.0f * frand() - 1.0f;
    ngp_touched t;
    assert_int_equal(ngp_touched_init(&t, g.offset[g.n_levels], NULL), NGP_OK);
    ngp_hashgrid_backward_ref(&g, S, x, dout, dparams, &t);
    const float h = 0.01f;
    for (size_t i = 0; i < g.n_params; i++) {
      float p0 = params[i];
      params[i] = p0 + h;
      double up = weighted_sum(&g, params, S, x, dout, out);
      params[i] = p0 - h;
      double down = weighted_sum(&g, params, S, x, dout, out);
      params[i] = p0;
      double fd = (up - down) / (2.0 * (double)h);
      if (fabs(fd - (double)dparams[i]) > 1e-3)
        fail_msg("interp %d, param %zu: backward %.7g, finite difference %.7g", interp, i, (double)dparams[i], fd);
      /* A parameter with a gradient must belong to a touched entry. */
      size_t e = i / 2;
      if (dparams[i] != 0.0f) assert_true(t.bits[e >> 6] >> (e & 63) & 1);
    }
    ngp_touched_free(&t);
    free(x), free(params), free(dparams), free(dout), free(out);
  }
}

/* ---- Touched set ---------------------------------------------------------------------------- */

static void test_touched_exact(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  c.n_levels = 1;
  c.n_features_per_level = 1;
  ngp_hashgrid g = make_grid(&c, 1); /* one dense level, res 16, scale 15 */
  ngp_touched t;
  assert_int_equal(ngp_touched_init(&t, g.offset[1], NULL), NGP_OK);
  float *dp = alloc_floats(g.n_params);
  const float x[3] = {0.25f, 0.25f, 0.25f}; /* pos 4.25 on every axis: cells 4 and 5 */
  const float dout[1] = {1.0f};
  for (int rep = 0; rep < 2; rep++) { /* the second pass adds nothing new */
    ngp_hashgrid_backward_ref(&g, 1, x, dout, dp, &t);
    assert_int_equal(t.count, 8);
  }
  for (int k = 0; k < 8; k++) {
    uint32_t e = (4u + (uint32_t)(k & 1)) + (4u + (uint32_t)((k >> 1) & 1)) * 16u + (4u + (uint32_t)(k >> 2)) * 256u;
    assert_true(t.bits[e >> 6] >> (e & 63) & 1);
    const float t3[3] = {0.25f, 0.25f, 0.25f};
    float w = ngp_grid_corner_weight(k, t3);
    assert_true(fabsf(dp[e] - 2.0f * w) < 1e-7f);
  }
  ngp_touched_clear(&t);
  assert_int_equal(t.count, 0);
  for (size_t i = 0; i < (t.n_entries + 63) / 64; i++)
    assert_true(t.bits[i] == 0);
  ngp_touched_free(&t);
  free(dp);
}

/* ---- Fast vs reference ---------------------------------------------------------------------- */

static void check_fast_vs_ref(const ngp_grid_config *c, int aabb, int S, int n_threads) {
  ngp_hashgrid g = make_grid(c, aabb);
  const size_t LF = (size_t)g.n_levels * g.n_features, E = g.offset[g.n_levels];
  float *x = random_positions(S), *params = alloc_floats(g.n_params);
  float *out_ref = alloc_floats(S * LF), *out_fast = alloc_floats(S * LF), *dout = alloc_floats(S * LF);
  float *dp_ref = alloc_floats(g.n_params), *dp_fast = alloc_floats(g.n_params);
  ngp_hashgrid_init_params(&g, params, 7);
  for (size_t i = 0; i < g.n_params; i++)
    params[i] *= 1e4f; /* O(1) values */
  for (size_t i = 0; i < S * LF; i++)
    dout[i] = 2.0f * frand() - 1.0f;
  char what[128];
  snprintf(what, sizeof what, "L%d F%d otype %d interp %d aabb %d S %d threads %d", g.n_levels, g.n_features,
           (int)c->otype, (int)c->interpolation, aabb, S, n_threads);

  ngp_hashgrid_forward_ref(&g, params, S, x, out_ref);
  ngp_hashgrid_forward(&g, params, S, x, out_fast, n_threads);
  assert_int_equal(compare(what, out_fast, out_ref, S * LF, 1e-7f, 1e-6f), 0);
  /* The same sums in the same order (encoding_fast.c, level-major): bit for bit. */
  if (memcmp(out_fast, out_ref, S * LF * sizeof(float)) != 0) fail_msg("%s: forward not bit-identical", what);

  /* Backward in two calls, so the second adds to a non-empty set and to non-zero gradients. */
  ngp_touched t_ref, t_fast;
  assert_int_equal(ngp_touched_init(&t_ref, E, NULL), NGP_OK);
  assert_int_equal(ngp_touched_init(&t_fast, E, NULL), NGP_OK);
  int S1 = S / 3;
  assert_true(ngp_hashgrid_backward_ref(&g, S1, x, dout, dp_ref, &t_ref));
  assert_true(ngp_hashgrid_backward_ref(&g, S - S1, x + 3 * (size_t)S1, dout + S1 * LF, dp_ref, &t_ref));
  assert_true(ngp_hashgrid_backward(&g, S1, x, dout, dp_fast, &t_fast, n_threads));
  assert_true(ngp_hashgrid_backward(&g, S - S1, x + 3 * (size_t)S1, dout + S1 * LF, dp_fast, &t_fast, n_threads));
  /* Same per-entry summation order by construction; the tolerance allows any order anyway. */
  assert_int_equal(compare(what, dp_fast, dp_ref, g.n_params, 1e-6f, 1e-5f), 0);
  if (memcmp(dp_fast, dp_ref, g.n_params * sizeof(float)) != 0) fail_msg("%s: backward not bit-identical", what);
  assert_same_touched(&t_fast, &t_ref);
  /* And without a touched set. */
  memset(dp_fast, 0, g.n_params * sizeof *dp_fast);
  ngp_hashgrid_backward(&g, S, x, dout, dp_fast, NULL, n_threads);
  assert_int_equal(compare(what, dp_fast, dp_ref, g.n_params, 1e-6f, 1e-5f), 0);

  ngp_touched_free(&t_ref);
  ngp_touched_free(&t_fast);
  free(x), free(params), free(out_ref), free(out_fast), free(dout), free(dp_ref), free(dp_fast);
}

static void test_fast_vs_ref(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  check_fast_vs_ref(&c, 1, 3001, 2);
  check_fast_vs_ref(&c, 4, 1000, 1);
  check_fast_vs_ref(&c, 1, 37, 3);
  for (int F = 1; F <= 8; F *= 2) {
    ngp_grid_config v = base_grid();
    v.n_features_per_level = F;
    v.n_levels = 5;
    v.log2_hashmap_size = 14; /* small tables: many collisions, touched words shared by levels */
    for (int interp = 0; interp < 3; interp++) {
      v.interpolation = (ngp_interpolation)interp;
      check_fast_vs_ref(&v, 2, 777, 2);
    }
  }
  ngp_grid_config d = base_grid();
  d.otype = NGP_GRID_DENSE;
  d.n_levels = 4;
  d.base_resolution = 3; /* res 3, 6, 11, 22: sizes not multiples of 64, dense wrap-around */
  d.per_level_scale = 1.9f;
  check_fast_vs_ref(&d, 1, 999, 2);
}

/* The fp16 table (ngp_hashgrid_table_f16) holds ngp_f32_to_f16 of every parameter, and the
 * forward from it gives the reference forward's bits on the parameters rounded through fp16; with
 * F16C and without (NGP_SIMD=scalar), which must agree bit for bit. Parameters span the halves'
 * range: subnormal ones (the initial +-1e-4 has many), O(1) ones, and a few beyond 65504, which
 * saturate. */
static void check_f16_vs_ref(const ngp_grid_config *c, int aabb, int S, int n_threads) {
  ngp_hashgrid g = make_grid(c, aabb);
  const size_t LF = (size_t)g.n_levels * g.n_features;
  float *x = random_positions(S), *params = alloc_floats(g.n_params), *rounded = alloc_floats(g.n_params);
  float *out_ref = alloc_floats(S * LF), *out16 = alloc_floats(S * LF), *out16_scalar = alloc_floats(S * LF);
  uint16_t *table = calloc(g.n_params, sizeof *table), *table_scalar = calloc(g.n_params, sizeof *table);
  assert_non_null(table);
  assert_non_null(table_scalar);
  ngp_hashgrid_init_params(&g, params, 11);
  for (size_t i = 0; i < g.n_params; i++) {
    if (i % 3 == 1) params[i] *= 1e4f;    /* O(1) */
    if (i % 1001 == 5) params[i] *= 1e9f; /* up to 1e5: some saturate */
  }
  char what[128];
  snprintf(what, sizeof what, "fp16 L%d F%d otype %d interp %d aabb %d S %d threads %d", g.n_levels, g.n_features,
           (int)c->otype, (int)c->interpolation, aabb, S, n_threads);
  ngp_hashgrid_table_f16(&g, params, table, n_threads);
  size_t saturated = 0;
  for (size_t i = 0; i < g.n_params; i++) {
    assert_int_equal(table[i], ngp_f32_to_f16(params[i]));
    rounded[i] = ngp_f16_to_f32(table[i]);
    saturated += fabsf(params[i]) > NGP_HALF_MAX;
  }
  assert_true(saturated > 0);
  ngp_hashgrid_forward_ref(&g, rounded, S, x, out_ref);
  ngp_hashgrid_forward_f16(&g, table, S, x, out16, n_threads);
  if (memcmp(out16, out_ref, S * LF * sizeof(float)) != 0) {
    compare(what, out16, out_ref, S * LF, 0.0f, 0.0f);
    fail_msg("%s: forward from the fp16 table not bit-identical to the reference on the rounded table", what);
  }
  /* The portable conversions and gather (NGP_SIMD=scalar) give the same bits. */
  setenv("NGP_SIMD", "scalar", 1);
  ngp_hashgrid_table_f16(&g, params, table_scalar, n_threads);
  ngp_hashgrid_forward_f16(&g, table_scalar, S, x, out16_scalar, n_threads);
  unsetenv("NGP_SIMD");
  assert_int_equal(memcmp(table_scalar, table, g.n_params * sizeof *table), 0);
  assert_int_equal(memcmp(out16_scalar, out16, S * LF * sizeof(float)), 0);
  /* And the rounding is visible: the fp32 forward of the unrounded table differs. */
  ngp_hashgrid_forward_ref(&g, params, S, x, out16_scalar);
  assert_true(memcmp(out16_scalar, out16, S * LF * sizeof(float)) != 0);
  free(x), free(params), free(rounded), free(out_ref), free(out16), free(out16_scalar), free(table), free(table_scalar);
}

static void test_forward_f16(void **state) {
  (void)state;
  ngp_grid_config c = base_grid(); /* 8 levels of 4 features */
  check_f16_vs_ref(&c, 1, 3001, 2);
  for (int F = 1; F <= 8; F *= 2) {
    ngp_grid_config v = base_grid();
    v.n_features_per_level = F;
    v.n_levels = 5;
    v.log2_hashmap_size = 14;
    for (int interp = 0; interp < 3; interp++) {
      v.interpolation = (ngp_interpolation)interp;
      check_f16_vs_ref(&v, 2, 777, 2);
    }
  }
  ngp_grid_config b = base_grid(); /* the paper's NeRF table: 16 levels of 2 features, 2^19 entries */
  b.n_levels = 16;
  b.n_features_per_level = 2;
  check_f16_vs_ref(&b, 1, 2000, 2);
  check_f16_vs_ref(&b, 4, 131, 1);
  ngp_grid_config d = base_grid();
  d.otype = NGP_GRID_DENSE;
  d.n_levels = 4;
  d.base_resolution = 3;
  d.per_level_scale = 1.9f;
  d.n_features_per_level = 2;
  check_f16_vs_ref(&d, 1, 999, 2);
}

static void test_init_params(void **state) {
  (void)state;
  ngp_grid_config c = base_grid();
  c.n_levels = 2;
  ngp_hashgrid g = make_grid(&c, 1);
  float *a = alloc_floats(g.n_params), *b = alloc_floats(g.n_params);
  ngp_hashgrid_init_params(&g, a, 42);
  ngp_hashgrid_init_params(&g, b, 42);
  assert_int_equal(memcmp(a, b, g.n_params * sizeof *a), 0);
  double mean = 0.0, lo = 1.0, hi = -1.0;
  for (size_t i = 0; i < g.n_params; i++) {
    assert_true(a[i] >= -1e-4f && a[i] <= 1e-4f);
    mean += (double)a[i];
    lo = fmin(lo, (double)a[i]), hi = fmax(hi, (double)a[i]);
  }
  mean /= (double)g.n_params;
  assert_true(fabs(mean) < 2e-6);             /* 147456 samples: sigma of the mean ~1.5e-7 */
  assert_true(lo < -0.99e-4 && hi > 0.99e-4); /* spans the interval */
  ngp_hashgrid_init_params(&g, b, 43);
  assert_int_not_equal(memcmp(a, b, g.n_params * sizeof *a), 0);
  free(a);
  free(b);
}

/* ---- Spherical harmonics -------------------------------------------------------------------- */

static void expect_sh(const float *got, const float *want, int n, float tol, const char *what) {
  for (int i = 0; i < n; i++)
    if (!(fabsf(got[i] - want[i]) <= tol))
      fail_msg("%s: SH[%d] = %.9g, expected %.9g", what, i, (double)got[i], (double)want[i]);
}

static void test_sh_values(void **state) {
  (void)state;
  /* Expected values written out from the NGP-SPEC §2 polynomials at each direction. */
  const float C0 = 0.28209479f, C1 = 0.48860251f;
  float out[16];
  const float px[3] = {1, 0, 0}, py[3] = {0, 1, 0}, pz[3] = {0, 0, 1};
  const float ex[16] = {C0, 0, 0, -C1, 0, 0, -0.31539157f, 0, 0.54627422f, 0, 0, 0, 0, 0.45704580f, 0, -0.59004359f};
  const float ey[16] = {C0, -C1, 0, 0, 0, 0, -0.31539157f, 0, -0.54627422f, 0.59004359f, 0, 0.45704580f, 0, 0, 0, 0};
  const float ez[16] = {C0, 0, C1, 0, 0, 0, 0.94617470f - 0.31539157f, 0, 0, 0, 0, 0, 0.37317633f * 2.0f, 0, 0, 0};
  ngp_sh_forward(4, 1, px, out);
  expect_sh(out, ex, 16, 1e-6f, "+x");
  ngp_sh_forward(4, 1, py, out);
  expect_sh(out, ey, 16, 1e-6f, "+y");
  ngp_sh_forward(4, 1, pz, out);
  expect_sh(out, ez, 16, 1e-6f, "+z");
  /* No (d+1)/2 warp: +z gives Y_1,0 = +C1 z = C1, and -z its negative. */
  assert_true(out[1] == 0.0f && out[3] == 0.0f);
  const float mz[3] = {0, 0, -1};
  ngp_sh_forward(4, 1, mz, out);
  assert_true(fabsf(out[2] + C1) < 1e-7f);
  /* Diagonal (1,1,1)/sqrt3: xy = yz = xz = z^2 = 1/3, xyz = 3^-1.5. */
  const float k = 0.57735027f, dg[3] = {k, k, k};
  const float ed[16] = {C0,
                        -C1 * k,
                        C1 * k,
                        -C1 * k,
                        1.09254843f / 3.0f,
                        -1.09254843f / 3.0f,
                        0.94617470f / 3.0f - 0.31539157f,
                        -1.09254843f / 3.0f,
                        0.0f,
                        0.59004359f * k * (-2.0f / 3.0f),
                        2.89061144f * k / 3.0f,
                        0.45704580f * k * (-2.0f / 3.0f),
                        0.37317633f * k * (5.0f / 3.0f - 3.0f),
                        0.45704580f * k * (-2.0f / 3.0f),
                        0.0f,
                        0.59004359f * k * (2.0f / 3.0f)};
  ngp_sh_forward(4, 1, dg, out);
  expect_sh(out, ed, 16, 1e-6f, "diagonal");
  /* Lower degrees are prefixes: degree 2 writes 4 values, nothing more. */
  float few[5] = {9, 9, 9, 9, 9};
  ngp_sh_forward(2, 1, dg, few);
  expect_sh(few, ed, 4, 1e-6f, "degree 2");
  assert_true(few[4] == 9.0f);
}

/* The recurrence (degrees 5..8) against the explicit degree-4 polynomials and against tcnn's
 * explicit higher-degree polynomials at a generic direction. */
static void test_sh_high_degrees(void **state) {
  (void)state;
  for (int it = 0; it < 200; it++) {
    float v[3] = {2.0f * frand() - 1.0f, 2.0f * frand() - 1.0f, 2.0f * frand() - 1.0f};
    float n = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    if (n < 0.1f) continue;
    for (int d = 0; d < 3; d++)
      v[d] /= n;
    float e4[16], r[81];
    ngp_sh_basis4(4, v[0], v[1], v[2], e4);
    ngp_sh_basis(8, v[0], v[1], v[2], r);
    expect_sh(r, e4, 16, 2e-6f, "recurrence vs explicit");
    float x = v[0], y = v[1], z = v[2], x2 = x * x, y2 = y * y, z2 = z * z, x4 = x2 * x2, y4 = y2 * y2, z4 = z2 * z2;
    float x6 = x4 * x2, y6 = y4 * y2, z6 = z4 * z2;
    const int at[7] = {25, 26, 30, 42, 48, 49, 52};
    const float want[7] = {
        0.65638205684017015f * y * (10.0f * x2 * y2 - 5.0f * x4 - y4),
        8.3026492595241645f * x * y * z * (x2 - y2),
        0.1169503224534236f * z * (-70.0f * z2 + 63.0f * z4 + 15.0f),
        6.6747662381009842f * z2 - 20.024298714302954f * z4 + 14.684485723822165f * z6 - 0.31784601133814211f,
        10.247761577878714f * x2 * y4 - 10.247761577878714f * x4 * y2 + 0.6831841051919143f * x6 -
            0.6831841051919143f * y6,
        0.70716273252459627f * y * (-21.0f * x2 * y4 + 35.0f * x4 * y2 - 7.0f * x6 + y6),
        4.1513246297620823f * x * y * z * (x2 - y2) * (13.0f * z2 - 3.0f),
    };
    for (int i = 0; i < 7; i++)
      if (fabsf(r[at[i]] - want[i]) > 1e-5f)
        fail_msg("SH[%d] at (%g %g %g): recurrence %.8g, tcnn polynomial %.8g", at[i], (double)x, (double)y, (double)z,
                 (double)r[at[i]], (double)want[i]);
    float out5[25];
    ngp_sh_forward(5, 1, v, out5);
    expect_sh(out5, r, 25, 0.0f, "ngp_sh_forward(5)");
  }
}

/* Gauss-Legendre nodes and weights on [-1, 1] (Newton on P_n, in double). */
static void gauss_legendre(int n, double *z, double *w) {
  for (int i = 0; i < n; i++) {
    double t = cos(3.14159265358979323846 * (i + 0.75) / (n + 0.5)), dp = 0.0;
    for (int it = 0; it < 100; it++) {
      double p0 = 1.0, p1 = t;
      for (int k = 2; k <= n; k++) {
        double p2 = ((2 * k - 1) * t * p1 - (k - 1) * p0) / k;
        p0 = p1, p1 = p2;
      }
      dp = n * (t * p1 - p0) / (t * t - 1.0);
      double dt = p1 / dp;
      t -= dt;
      if (fabs(dt) < 1e-15) break;
    }
    z[i] = t;
    w[i] = 2.0 / ((1.0 - t * t) * dp * dp);
  }
}

/* Integral over the sphere of Y_i Y_j = delta_ij, by a product rule exact for these degrees
 * (16 Gauss-Legendre nodes in z, 32 uniform angles in phi); tolerance 1e-5 (float evaluation). */
static void test_sh_orthonormal(void **state) {
  (void)state;
  enum { NZ = 16, NP = 32, DEG = 8, NB = DEG * DEG };
  double z[NZ], wz[NZ];
  gauss_legendre(NZ, z, wz);
  static double gram[NB][NB];
  memset(gram, 0, sizeof gram);
  for (int i = 0; i < NZ; i++)
    for (int j = 0; j < NP; j++) {
      double phi = 2.0 * 3.14159265358979323846 * j / NP, s = sqrt(1.0 - z[i] * z[i]);
      float d[3] = {(float)(s * cos(phi)), (float)(s * sin(phi)), (float)z[i]}, y[NB];
      ngp_sh_forward(DEG, 1, d, y);
      double w = wz[i] * 2.0 * 3.14159265358979323846 / NP;
      for (int a = 0; a < NB; a++)
        for (int b = 0; b < NB; b++)
          gram[a][b] += w * (double)y[a] * (double)y[b];
    }
  for (int a = 0; a < NB; a++)
    for (int b = 0; b < NB; b++)
      if (fabs(gram[a][b] - (a == b)) > 1e-5) fail_msg("<Y_%d, Y_%d> = %.9g", a, b, gram[a][b]);
}

/* The backward's finiteness result, fast and reference alike: true while every sum is finite;
 * false for a NaN or an infinity in dout (any level, any feature), for sums that overflow from
 * finite terms, and for a touched gradient that was non-finite before the call; a non-finite
 * gradient of an entry the call does not touch is not looked at. With and without a touched set. */
static void check_finite_flag(const ngp_hashgrid *g, int S, const float *x, const float *dout, const float *dp0,
                              bool want, const char *what) {
  const size_t E = g->offset[g->n_levels];
  float *dp = alloc_floats(g->n_params);
  for (int way = 0; way < 3; way++) { /* reference, fast with a set, fast without one */
    memcpy(dp, dp0, g->n_params * sizeof *dp);
    ngp_touched t;
    assert_int_equal(ngp_touched_init(&t, E, NULL), NGP_OK);
    bool got = way == 0   ? ngp_hashgrid_backward_ref(g, S, x, dout, dp, &t)
               : way == 1 ? ngp_hashgrid_backward(g, S, x, dout, dp, &t, 2)
                          : ngp_hashgrid_backward(g, S, x, dout, dp, NULL, 2);
    if (got != want) fail_msg("F=%d %s (way %d): finite %d, expected %d", g->n_features, what, way, got, want);
    ngp_touched_free(&t);
  }
  free(dp);
}

static void test_backward_finite_flag(void **state) {
  (void)state;
  const int S = 500;
  for (int F = 1; F <= 8; F *= 2) {
    ngp_grid_config c = base_grid();
    c.n_features_per_level = F;
    c.n_levels = 6;
    c.log2_hashmap_size = 12;
    ngp_hashgrid g = make_grid(&c, 1);
    const size_t LF = (size_t)g.n_levels * F;
    float *x = random_positions(S), *dout = alloc_floats(S * LF), *dp0 = alloc_floats(g.n_params);
    for (size_t i = 0; i < S * LF; i++)
      dout[i] = 2.0f * frand() - 1.0f;
    check_finite_flag(&g, S, x, dout, dp0, true, "finite");
    const float poison[3] = {NAN, INFINITY, -INFINITY};
    for (int p = 0; p < 3; p++) { /* first level, last level, a middle one; feature p % F */
      int s = p == 0 ? 0 : p == 1 ? S - 1 : S / 2, l = p == 0 ? 0 : p == 1 ? g.n_levels - 1 : g.n_levels / 2;
      size_t i = (size_t)s * LF + (size_t)l * F + (size_t)(p % F);
      float keep = dout[i];
      dout[i] = poison[p];
      check_finite_flag(&g, S, x, dout, dp0, false, "poisoned dout");
      dout[i] = keep;
    }
    /* Overflow from finite terms: 64 samples at one point share their corners, each adding about
     * w * 3e38 to the same gradients. */
    float *xs = alloc_floats(64 * 3), *big = alloc_floats(64 * LF);
    for (int s = 0; s < 64; s++) {
      xs[s * 3 + 0] = 0.31f, xs[s * 3 + 1] = 0.52f, xs[s * 3 + 2] = 0.77f;
      for (size_t k = 0; k < LF; k++)
        big[(size_t)s * LF + k] = 3e38f;
    }
    check_finite_flag(&g, 64, xs, big, dp0, false, "overflowing sums");
    check_finite_flag(&g, 1, xs, big, dp0, true, "one large term");
    /* A non-finite gradient before the call: found in an entry the call touches (the last one the
     * reference listed), not in one it does not touch. */
    ngp_touched t;
    assert_int_equal(ngp_touched_init(&t, g.offset[g.n_levels], NULL), NGP_OK);
    float *scratch = alloc_floats(g.n_params);
    ngp_hashgrid_backward_ref(&g, S, x, dout, scratch, &t);
    uint32_t hit = t.list[t.count - 1], miss = UINT32_MAX;
    for (uint32_t e = 0; e < g.offset[g.n_levels] && miss == UINT32_MAX; e++)
      if (!(t.bits[e >> 6] & ((uint64_t)1 << (e & 63)))) miss = e;
    assert_true(miss != UINT32_MAX);
    dp0[(size_t)miss * F] = NAN;
    check_finite_flag(&g, S, x, dout, dp0, true, "NaN in an untouched entry");
    dp0[(size_t)hit * F + (size_t)(F - 1)] = INFINITY;
    check_finite_flag(&g, S, x, dout, dp0, false, "infinity in a touched entry");
    ngp_touched_free(&t);
    free(scratch), free(xs), free(big), free(x), free(dout), free(dp0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_geometry_base),
      cmocka_unit_test(test_geometry_aabb4_and_paper),
      cmocka_unit_test(test_geometry_dense_and_errors),
      cmocka_unit_test(test_hash_and_index),
      cmocka_unit_test(test_corners_and_unity),
      cmocka_unit_test(test_linear_reproduction),
      cmocka_unit_test(test_backward_finite_differences),
      cmocka_unit_test(test_touched_exact),
      cmocka_unit_test(test_backward_finite_flag),
      cmocka_unit_test(test_fast_vs_ref),
      cmocka_unit_test(test_forward_f16),
      cmocka_unit_test(test_init_params),
      cmocka_unit_test(test_sh_values),
      cmocka_unit_test(test_sh_high_degrees),
      cmocka_unit_test(test_sh_orthonormal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
