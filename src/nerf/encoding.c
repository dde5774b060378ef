/* encoding.c: the multiresolution hash grid's geometry (levels, table sizes, offsets), its
 * parameter initialisation, the plain reference forward/backward passes that define the encoding,
 * the touched-entry set, and the spherical-harmonics direction encoding (NGP-SPEC §2).
 *
 * The per-sample maths (indices, weights, SH basis) lives in common/ngp_encoding_math.h; the
 * threaded, prefetching twins of the grid passes are in encoding_fast.c and are tested against
 * the reference here. */
#include "nerf/encoding.h"
#include "common/ngp_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_encoding_math.h"
#include "core/parallel.h"

_Static_assert(NGP_INTERP_LINEAR == NGP_ENC_INTERP_LINEAR && NGP_INTERP_NEAREST == NGP_ENC_INTERP_NEAREST &&
                   NGP_INTERP_SMOOTHSTEP == NGP_ENC_INTERP_SMOOTHSTEP,
               "ngp_encoding_math.h's interpolation codes must match ngp_interpolation");

/* ---- Touched set ---------------------------------------------------------------------------- */

ngp_status ngp_touched_init(ngp_touched *t, size_t n_entries, ngp_error *err) {
  memset(t, 0, sizeof *t);
  if (n_entries > UINT32_MAX)
    return ngp_error_set(err, NGP_ERR_INVALID, "touched set: %zu entries do not fit 32-bit indices", n_entries);
  size_t words = (n_entries + 63) / 64;
  t->bits = calloc(words ? words : 1, sizeof *t->bits);
  t->list = malloc((n_entries ? n_entries : 1) * sizeof *t->list);
  if (!t->bits || !t->list) {
    ngp_touched_free(t);
    return ngp_error_set(err, NGP_ERR_NOMEM, "touched set: out of memory for %zu entries", n_entries);
  }
  t->n_entries = n_entries;
  return NGP_OK;
}

void ngp_touched_clear(ngp_touched *t) {
  /* Zeroing the whole word is fine: every bit set in it belongs to some listed entry. */
  for (size_t i = 0; i < t->count; i++)
    t->bits[t->list[i] >> 6] = 0;
  t->count = 0;
  memset(t->level_count, 0, sizeof t->level_count);
}

void ngp_touched_free(ngp_touched *t) {
  free(t->bits);
  free(t->list);
  memset(t, 0, sizeof *t);
}

/* Adds entry e if it is not in the set yet (single-threaded use). */
static inline void touched_mark(ngp_touched *t, uint32_t e) {
  uint64_t bit = (uint64_t)1 << (e & 63);
  uint64_t *w = &t->bits[e >> 6];
  if (!(*w & bit)) {
    *w |= bit;
    t->list[t->count++] = e;
  }
}

/* ---- Geometry ------------------------------------------------------------------------------- */

ngp_status ngp_hashgrid_init(ngp_hashgrid *g, const ngp_grid_config *cfg, int aabb_scale, ngp_error *err) {
  memset(g, 0, sizeof *g);
  if (cfg->otype != NGP_GRID_HASH && cfg->otype != NGP_GRID_DENSE)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "encoding.otype: grid type %d is not supported; use HashGrid or DenseGrid", (int)cfg->otype);
  if (cfg->n_levels < 1 || cfg->n_levels > NGP_MAX_LEVELS)
    return ngp_error_set(err, NGP_ERR_INVALID, "encoding.n_levels: %d is out of range 1..%d", cfg->n_levels,
                         NGP_MAX_LEVELS);
  int F = cfg->n_features_per_level;
  if (F != 1 && F != 2 && F != 4 && F != 8)
    return ngp_error_set(err, NGP_ERR_INVALID, "encoding.n_features_per_level: %d is not supported; use 1, 2, 4 or 8",
                         F);
  if (cfg->log2_hashmap_size < 1 || cfg->log2_hashmap_size > 31)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "encoding.log2_hashmap_size: %d is out of range 1..31 (table sizes are 32-bit)",
                         cfg->log2_hashmap_size);
  if (cfg->base_resolution < 1)
    return ngp_error_set(err, NGP_ERR_INVALID, "encoding.base_resolution: %d must be at least 1", cfg->base_resolution);
  if ((int)cfg->interpolation < 0 || cfg->interpolation > NGP_INTERP_SMOOTHSTEP)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "encoding.interpolation: unknown mode %d; use Linear, Nearest or Smoothstep",
                         (int)cfg->interpolation);

  /* The default scale formula lives with the config; reuse it rather than restate it. */
  ngp_config tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.encoding = *cfg;
  float b = ngp_config_per_level_scale(&tmp, aabb_scale);
  if (!(b > 0.0f) || !isfinite(b))
    return ngp_error_set(err, NGP_ERR_INVALID, "encoding.per_level_scale: %g must be a positive number", (double)b);

  g->n_levels = cfg->n_levels;
  g->n_features = F;
  g->log2_table = cfg->log2_hashmap_size;
  g->base_resolution = cfg->base_resolution;
  g->per_level_scale = b;
  g->interpolation = cfg->interpolation;
  float log2_b = log2f(b);
  uint64_t max_table = (uint64_t)1 << cfg->log2_hashmap_size;
  uint64_t offset = 0;
  for (int l = 0; l < g->n_levels; l++) {
    float scale = ngp_grid_scale(l, log2_b, g->base_resolution);
    /* res^3 must not overflow uint64 (res < 2^21) before we can compare it with anything. */
    if (!(scale >= 0.0f) || !(scale < 2097150.0f))
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "encoding.per_level_scale: level %d's scale %g is out of range; lower per_level_scale, "
                           "n_levels or base_resolution",
                           l, (double)scale);
    uint32_t res = ngp_grid_resolution(scale);
    uint64_t dense = (uint64_t)res * res * res;
    uint64_t size = (dense + 7) / 8 * 8; /* multiples of 8 entries keep accesses aligned */
    if (cfg->otype == NGP_GRID_HASH && size > max_table) size = max_table;
    /* DenseGrid is never hashed and not capped (as tcnn): it must fit 32-bit indices instead. */
    if (size > UINT32_MAX || offset + size > UINT32_MAX)
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "encoding: level %d needs %llu entries (%llu in all), over the 32-bit limit; %s", l,
                           (unsigned long long)size, (unsigned long long)(offset + size),
                           cfg->otype == NGP_GRID_HASH ? "lower encoding.log2_hashmap_size or encoding.n_levels"
                                                       : "use HashGrid, fewer n_levels or a smaller per_level_scale");
    g->scale[l] = scale;
    g->res[l] = res;
    g->size[l] = (uint32_t)size;
    g->hashed[l] = cfg->otype == NGP_GRID_HASH && size < dense;
    g->offset[l] = (uint32_t)offset;
    offset += size;
  }
  g->offset[g->n_levels] = (uint32_t)offset;
  g->n_params = (size_t)F * (size_t)offset;
  return NGP_OK;
}

void ngp_hashgrid_init_params(const ngp_hashgrid *g, float *params, uint64_t seed) {
  /* params: [n_params]. Uniform in [-1e-4, 1e-4] from the top 24 bits (exact in float). */
  uint64_t s = seed;
  for (size_t i = 0; i < g->n_params; i++) {
    float u = (float)(ngp_splitmix64(&s) >> 40) * (1.0f / 16777216.0f); /* [0, 1) */
    params[i] = (2.0f * u - 1.0f) * 1e-4f;
  }
}

/* ---- Reference passes ----------------------------------------------------------------------- */

/* Corner k of one sample on level l, spelled out per corner (the fast path computes all 8 at once
 * with ngp_grid_corners; the tests check both agree). Returns the corner count (8, or 1 for
 * Nearest). */
static int ref_corners(const ngp_hashgrid *g, int l, const float *x, uint32_t *idx, float *w) {
  uint32_t c[3];
  float t[3];
  for (int d = 0; d < 3; d++) {
    ngp_grid_pos_fract(x[d], g->scale[l], &c[d], &t[d]);
    t[d] = ngp_grid_weight1(t[d], (int)g->interpolation);
  }
  if (g->interpolation == NGP_INTERP_NEAREST) {
    idx[0] = ngp_grid_index(c[0], c[1], c[2], g->res[l], g->size[l], g->hashed[l]);
    w[0] = 1.0f;
    return 1;
  }
  for (int k = 0; k < 8; k++) {
    idx[k] = ngp_grid_index(c[0] + (uint32_t)(k & 1), c[1] + (uint32_t)((k >> 1) & 1), c[2] + (uint32_t)(k >> 2),
                            g->res[l], g->size[l], g->hashed[l]);
    w[k] = ngp_grid_corner_weight(k, t);
  }
  return 8;
}

void ngp_hashgrid_forward_ref(const ngp_hashgrid *g, const float *params, int S, const float *x, float *out) {
  /* params: [offset[L]][F]; x: [S][3]; out: [S][L*F], overwritten. */
  const int L = g->n_levels, F = g->n_features;
  for (int s = 0; s < S; s++) {
    for (int l = 0; l < L; l++) {
      uint32_t idx[8];
      float w[8];
      int nc = ref_corners(g, l, x + (size_t)3 * s, idx, w);
      float *o = out + (size_t)s * L * F + (size_t)l * F;
      for (int f = 0; f < F; f++)
        o[f] = 0.0f;
      for (int k = 0; k < nc; k++) {
        const float *p = params + ((size_t)g->offset[l] + idx[k]) * F;
        for (int f = 0; f < F; f++)
          o[f] += w[k] * p[f];
      }
    }
  }
}

bool ngp_hashgrid_backward_ref(const ngp_hashgrid *g, int S, const float *x, const float *dout, float *dparams,
                               ngp_touched *touched) {
  /* x: [S][3]; dout: [S][L*F]; dparams: [offset[L]][F], accumulated (+=). Every entry a corner
   * reads is recorded in *touched (when not NULL), even where its weight or dout is 0: the set is
   * "what the batch read", and Adam skips exact-zero gradients by itself. */
  const int L = g->n_levels, F = g->n_features;
  bool finite = true;
  for (int s = 0; s < S; s++) {
    for (int l = 0; l < L; l++) {
      uint32_t idx[8];
      float w[8];
      int nc = ref_corners(g, l, x + (size_t)3 * s, idx, w);
      const float *d = dout + (size_t)s * L * F + (size_t)l * F;
      for (int k = 0; k < nc; k++) {
        uint32_t e = g->offset[l] + idx[k];
        float *dp = dparams + (size_t)e * F;
        /* forward: o[f] += w[k] * p[f]  =>  dp[f] += w[k] * do[f] */
        for (int f = 0; f < F; f++) {
          dp[f] += w[k] * d[f];
          finite = finite && isfinite(dp[f]);
        }
        if (touched) touched_mark(touched, e);
      }
    }
  }
  return finite;
}

/* ---- Spherical harmonics -------------------------------------------------------------------- */

void ngp_sh_forward(int degree, int S, const float *d, float *out) {
  /* d: [S][3] unit directions in ngp axes, used as they are: no (d+1)/2 warp here (tcnn's encoder
   * undoes the warp that instant-ngp applies before it, so the two cancel); out: [S][degree^2],
   * overwritten. Degrees 1..4 use the spec's explicit polynomials, 5..8 the Legendre recurrence;
   * outside 1..8 the call is a no-op (the config parser rejects such degrees). */
  if (degree < 1 || degree > NGP_SH_MAX_DEGREE) return;
  const int n = ngp_sh_n_outputs(degree);
  for (int s = 0; s < S; s++) {
    const float *v = d + (size_t)3 * s;
    if (degree <= 4)
      ngp_sh_basis4(degree, v[0], v[1], v[2], out + (size_t)s * n);
    else
      ngp_sh_basis(degree, v[0], v[1], v[2], out + (size_t)s * n);
  }
}
