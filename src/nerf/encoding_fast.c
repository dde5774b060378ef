/* encoding_fast.c: the fast CPU twins of the hash-grid reference passes (encoding.c), with the
 * same arguments and results.
 *
 * Forward: level-major. The work items are blocks of BLOCK_TILES tiles of one level, all of level 0
 * first, then level 1, ..., so the threads read one level's table at a time (base.json's hashed
 * levels are 8 MB each, 40 MB together, more than the cache; level-major measured 1.3-1.5x faster
 * than tile by tile through all levels on uniformly random points, as in the occupancy update, and
 * 1.0-1.1x on samples along rays). Within a tile a first pass computes every sample's 8 corner
 * entries and weights (ngp_grid_corners) and prefetches the entries, and a second pass gathers
 * them: the tables are read at random, so the win is having many cache misses in flight instead of
 * one dependent chain per sample. The F features of an entry are contiguous (F=4: 16 bytes, one
 * SSE load); accumulation is in the reference's order (corners 0..7, starting from 0), so the
 * outputs are bit-identical to the reference (tests/test_encoding.c checks it). The same pass
 * reads the fp16 copy of the table that renders use (ngp_hashgrid_forward_f16; half the bytes),
 * converting each half to its exact float value (F16C, encoding_f16c.c, where the CPU has it)
 * before the same products and sums.
 *
 * Backward: threads take whole levels (finest first, as those are the costly ones, so the dynamic
 * hand-out balances), and each loops over all samples for its level. A level owns its table
 * entries, so the scatter-add needs no atomics, and per entry the additions happen in sample order
 * as in the reference (bit-identical gradients too). Each addition's result is also checked for
 * being finite, in registers (see scatter): a sum that turns infinite or NaN stays so through every
 * later addition, so "every result finite" is "every touched gradient finite at the end", which
 * the trainer needs before Adam, without a second pass over the touched entries.
 *
 * Touched set: levels own disjoint entry ranges, but level offsets are multiples of 8, not 64, so
 * a 64-bit word of the bitmap can straddle two levels. Only a level's first and last words can; a
 * thread updates those with an atomic OR (and learns from the old value whether the bit is new) and
 * every interior word with plain loads and stores. New entries go to a per-level region of the free
 * tail of touched->list (level l gets size[l] minus its entries already in the set, so the regions
 * fit exactly), and are compacted behind the existing entries after the threads join: no
 * allocation, no lock. The list order differs from the reference; the set is the same. */
#include <math.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

#include "nerf/encoding.h"
#include "nerf/encoding_simd.h"
#include "nerf/mlp.h" /* ngp_simd_level */
#include "common/ngp_encoding_math.h"
#include "common/ngp_half.h"
#include "core/parallel.h"

#ifndef TILE
#define TILE 64 /* samples per corner batch: 4 KB of indices and weights */
#endif
#define BLOCK_TILES 4 /* tiles per forward task */

#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH_R(p) __builtin_prefetch((p), 0, 3)
#define PREFETCH_W(p) __builtin_prefetch((p), 1, 3)
#define ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#define PREFETCH_R(p) ((void)(p))
#define PREFETCH_W(p) ((void)(p))
#define ALWAYS_INLINE inline
#endif

/* ---- Pass 1: corners of a batch of samples on one level ------------------------------------- */

/* idx, w: [n][8] <- the corners of samples x[0..n) on level l; prefetches every corner's entry in
 * the table P, of entries of F values of `vb` bytes (4: fp32, 2: fp16) (rw: 0 read, 1 write).
 * `hashed` and `interp` are compile-time constants at each call below, so the branches inside
 * ngp_grid_corners fold away. Returns the corner count (8, or 1 for Nearest). */
static ALWAYS_INLINE int corners_batch(const ngp_hashgrid *g, int l, const float *x, int n, const void *P, int F,
                                       int vb, int rw, int hashed, int interp, uint32_t (*idx)[8], float (*w)[8]) {
  const char *Pb = (const char *)P;
  const size_t eb = (size_t)F * (size_t)vb; /* bytes per entry */
  int nc = interp == NGP_ENC_INTERP_NEAREST ? 1 : 8;
  const float scale = g->scale[l];
  const uint32_t res = g->res[l], size = g->size[l];
#if defined(__SSE2__)
  /* Hashed trilinear levels (most of the work): the 8 indices and weights as two 4-wide vectors.
   * Same operations in the same order as ngp_grid_corners, hence identical results (the weight is
   * (wx * wy) * wz, the index (hx ^ hy ^ hz) & (size - 1); a hashed level's size is 2^T). */
  if (hashed && interp != NGP_ENC_INTERP_NEAREST && (size & (size - 1)) == 0) {
    const __m128i mask = _mm_set1_epi32((int)(size - 1));
    for (int i = 0; i < n; i++) {
      uint32_t c[3];
      float t[3];
      for (int d = 0; d < 3; d++) {
        ngp_grid_pos_fract(x[(size_t)3 * i + d], scale, &c[d], &t[d]);
        t[d] = ngp_grid_weight1(t[d], interp);
      }
      __m128 wxy = _mm_mul_ps(_mm_setr_ps(1.0f - t[0], t[0], 1.0f - t[0], t[0]),
                              _mm_setr_ps(1.0f - t[1], 1.0f - t[1], t[1], t[1]));
      _mm_storeu_ps(w[i], _mm_mul_ps(wxy, _mm_set1_ps(1.0f - t[2])));
      _mm_storeu_ps(w[i] + 4, _mm_mul_ps(wxy, _mm_set1_ps(t[2])));
      uint32_t y0 = c[1] * NGP_HASH_PRIME_Y, y1 = (c[1] + 1u) * NGP_HASH_PRIME_Y;
      __m128i hxy = _mm_xor_si128(_mm_setr_epi32((int)c[0], (int)(c[0] + 1u), (int)c[0], (int)(c[0] + 1u)),
                                  _mm_setr_epi32((int)y0, (int)y0, (int)y1, (int)y1));
      __m128i lo = _mm_and_si128(_mm_xor_si128(hxy, _mm_set1_epi32((int)(c[2] * NGP_HASH_PRIME_Z))), mask);
      __m128i hi = _mm_and_si128(_mm_xor_si128(hxy, _mm_set1_epi32((int)((c[2] + 1u) * NGP_HASH_PRIME_Z))), mask);
      _mm_storeu_si128((__m128i *)(void *)idx[i], lo);
      _mm_storeu_si128((__m128i *)(void *)(idx[i] + 4), hi);
      for (int k = 0; k < 8; k++) {
        if (rw)
          PREFETCH_W(Pb + (size_t)idx[i][k] * eb);
        else
          PREFETCH_R(Pb + (size_t)idx[i][k] * eb);
      }
    }
    return 8;
  }
#endif
  for (int i = 0; i < n; i++) {
    ngp_grid_corners(x + (size_t)3 * i, scale, res, size, hashed, interp, idx[i], w[i]);
    for (int k = 0; k < nc; k++) {
      if (rw)
        PREFETCH_W(Pb + (size_t)idx[i][k] * eb);
      else
        PREFETCH_R(Pb + (size_t)idx[i][k] * eb);
    }
  }
  return nc;
}

/* Dispatch to the six (hashed, interpolation) specialisations. */
static ALWAYS_INLINE int corners_dispatch(const ngp_hashgrid *g, int l, const float *x, int n, const void *P, int F,
                                          int vb, int rw, uint32_t (*idx)[8], float (*w)[8]) {
  int h = g->hashed[l];
  switch ((int)g->interpolation) {
  case NGP_ENC_INTERP_NEAREST:
    return h ? corners_batch(g, l, x, n, P, F, vb, rw, 1, NGP_ENC_INTERP_NEAREST, idx, w)
             : corners_batch(g, l, x, n, P, F, vb, rw, 0, NGP_ENC_INTERP_NEAREST, idx, w);
  case NGP_ENC_INTERP_SMOOTHSTEP:
    return h ? corners_batch(g, l, x, n, P, F, vb, rw, 1, NGP_ENC_INTERP_SMOOTHSTEP, idx, w)
             : corners_batch(g, l, x, n, P, F, vb, rw, 0, NGP_ENC_INTERP_SMOOTHSTEP, idx, w);
  default:
    return h ? corners_batch(g, l, x, n, P, F, vb, rw, 1, NGP_ENC_INTERP_LINEAR, idx, w)
             : corners_batch(g, l, x, n, P, F, vb, rw, 0, NGP_ENC_INTERP_LINEAR, idx, w);
  }
}

/* ---- Forward -------------------------------------------------------------------------------- */

/* One of params (fp32) and table (fp16, ngp_hashgrid_forward_f16) is set. */
typedef struct {
  const ngp_hashgrid *g;
  const float *params;
  const uint16_t *table;
  int S;
  const float *x;
  float *out;
  int f16c; /* with table: the F16C gather */
} fwd_ctx;

/* o[0..F) = sum_k w[k] * P[idx[k]*F .. +F), corners in order from 0 (the reference's rounding).
 * F is a compile-time constant at each call site, so the loops unroll/vectorise. */
static ALWAYS_INLINE void gather(const float *P, const uint32_t *idx, const float *w, int nc, int F, float *o) {
#if defined(__SSE2__)
  if (F == 4 || F == 8) {
    __m128 a0 = _mm_setzero_ps(), a1 = _mm_setzero_ps();
    for (int k = 0; k < nc; k++) {
      const float *p = P + (size_t)idx[k] * F;
      __m128 wk = _mm_set1_ps(w[k]);
      a0 = _mm_add_ps(a0, _mm_mul_ps(wk, _mm_loadu_ps(p)));
      if (F == 8) a1 = _mm_add_ps(a1, _mm_mul_ps(wk, _mm_loadu_ps(p + 4)));
    }
    _mm_storeu_ps(o, a0);
    if (F == 8) _mm_storeu_ps(o + 4, a1);
    return;
  }
#endif
  float acc[8] = {0};
  for (int k = 0; k < nc; k++) {
    const float *p = P + (size_t)idx[k] * F;
    for (int f = 0; f < F; f++)
      acc[f] += w[k] * p[f];
  }
  for (int f = 0; f < F; f++)
    o[f] = acc[f];
}

/* Where the CPU has F16C and AVX2 and NGP_SIMD allows vector code (the MLPs' switch). */
static int use_f16c(void) {
#if defined(__x86_64__) || defined(_M_X64)
  static int cached = -1; /* a benign race: every thread computes the same value */
  int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
    /* F16C: CPUID leaf 1, ECX bit 29 (clang's __builtin_cpu_supports knows no "f16c"); AVX2's
     * check includes the OS saving the ymm registers, which F16C's conversions need too. */
    unsigned int a, b, c, d;
    __builtin_cpu_init();
    v = __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1u) && __builtin_cpu_supports("avx2");
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return v && strncmp(ngp_simd_level(), "avx", 3) == 0;
#else
  return 0;
#endif
}

/* gather() with fp16 entries: the same products and sums in the same order, on the halves'
 * exact float values. */
static ALWAYS_INLINE void gather16(const uint16_t *P, const uint32_t *idx, const float *w, int nc, int F, float *o) {
  float acc[8] = {0};
  for (int k = 0; k < nc; k++) {
    const uint16_t *p = P + (size_t)idx[k] * F;
    for (int f = 0; f < F; f++)
      acc[f] += w[k] * ngp_f16_to_f32(p[f]);
  }
  for (int f = 0; f < F; f++)
    o[f] = acc[f];
}

/* One level of samples [s0, s0 + n), n <= TILE, from the fp32 or the fp16 table. */
static ALWAYS_INLINE void fwd_level_tile(const fwd_ctx *c, int l, int s0, int n, int F) {
  const ngp_hashgrid *g = c->g;
  const int LF = g->n_levels * F;
  uint32_t idx[TILE][8];
  float w[TILE][8];
  float *o = c->out + (size_t)s0 * LF + (size_t)l * F;
  if (c->table) {
    const uint16_t *P = c->table + (size_t)g->offset[l] * F;
    int nc = corners_dispatch(g, l, c->x + (size_t)3 * s0, n, P, F, 2, 0, idx, w);
#if defined(__x86_64__) || defined(_M_X64)
    if (nc == 8 && c->f16c && ngp_hashgrid_gather_f16c(P, (const uint32_t(*)[8])idx, (const float(*)[8])w, n, F, o, LF))
      return;
#endif
    for (int i = 0; i < n; i++)
      gather16(P, idx[i], w[i], nc, F, o + (size_t)i * LF);
    return;
  }
  const float *P = c->params + (size_t)g->offset[l] * F;
  int nc = corners_dispatch(g, l, c->x + (size_t)3 * s0, n, P, F, 4, 0, idx, w);
  for (int i = 0; i < n; i++)
    gather(P, idx[i], w[i], nc, F, o + (size_t)i * LF);
}

/* Task `task` of n_blocks * L, level-major: level task / n_blocks, block task % n_blocks of
 * BLOCK_TILES tiles. The threads hand out tasks in order, so they work on the same level at the
 * same time. */
static void fwd_task(int task, int thread_index, void *user) {
  (void)thread_index;
  const fwd_ctx *c = user;
  const int n_tiles = (c->S + TILE - 1) / TILE, n_blocks = (n_tiles + BLOCK_TILES - 1) / BLOCK_TILES;
  const int l = task / n_blocks, b = task % n_blocks;
  for (int tile = b * BLOCK_TILES; tile < (b + 1) * BLOCK_TILES && tile < n_tiles; tile++) {
    int s0 = tile * TILE, n = c->S - s0 < TILE ? c->S - s0 : TILE;
    switch (c->g->n_features) {
    case 1: fwd_level_tile(c, l, s0, n, 1); break;
    case 2: fwd_level_tile(c, l, s0, n, 2); break;
    case 4: fwd_level_tile(c, l, s0, n, 4); break;
    default: fwd_level_tile(c, l, s0, n, 8); break;
    }
  }
}

static void forward(const fwd_ctx *c, int n_threads) {
  if (c->S <= 0) return;
  int n_tiles = (c->S + TILE - 1) / TILE, n_blocks = (n_tiles + BLOCK_TILES - 1) / BLOCK_TILES;
  ngp_parallel_for(n_blocks * c->g->n_levels, n_threads, fwd_task, (void *)c);
}

void ngp_hashgrid_forward(const ngp_hashgrid *g, const float *params, int S, const float *x, float *out,
                          int n_threads) {
  /* params: [offset[L]][F]; x: [S][3]; out: [S][L*F], overwritten. */
  fwd_ctx c = {g, params, NULL, S, x, out, 0};
  forward(&c, n_threads);
}

void ngp_hashgrid_forward_f16(const ngp_hashgrid *g, const uint16_t *table, int S, const float *x, float *out,
                              int n_threads) {
  fwd_ctx c = {g, NULL, table, S, x, out, use_f16c()};
  forward(&c, n_threads);
}

/* ---- The fp16 table ---------------------------------------------------------------------------- */

typedef struct {
  const float *src;
  size_t n;
  uint16_t *dst;
  int f16c;
} to_f16_ctx;

enum { TO_F16_CHUNK = 1 << 16 };

static void to_f16_task(int task, int thread_index, void *user) {
  (void)thread_index;
  const to_f16_ctx *c = user;
  size_t i0 = (size_t)task * TO_F16_CHUNK, n = c->n - i0 < TO_F16_CHUNK ? c->n - i0 : TO_F16_CHUNK;
#if defined(__x86_64__) || defined(_M_X64)
  if (c->f16c) {
    ngp_f16_from_f32_f16c(c->src + i0, n, c->dst + i0);
    return;
  }
#endif
  for (size_t i = 0; i < n; i++)
    c->dst[i0 + i] = ngp_f32_to_f16(c->src[i0 + i]);
}

void ngp_hashgrid_table_f16(const ngp_hashgrid *g, const float *params, uint16_t *table, int n_threads) {
  to_f16_ctx c = {params, g->n_params, table, use_f16c()};
  ngp_parallel_for((int)((g->n_params + TO_F16_CHUNK - 1) / TO_F16_CHUNK), n_threads, to_f16_task, &c);
}

/* ---- Backward ------------------------------------------------------------------------------- */

typedef struct {
  const ngp_hashgrid *g;
  int S;
  const float *x;
  const float *dout;
  float *dparams;
  ngp_touched *touched;
  size_t region[NGP_MAX_LEVELS]; /* where level l writes its new entries in touched->list */
  size_t n_new[NGP_MAX_LEVELS];  /* how many it wrote */
  int nonfinite[NGP_MAX_LEVELS]; /* whether a sum of level l came out non-finite */
} bwd_ctx;

/* dp[0..F) += wk * d[0..F), and a note of whether a sum came out non-finite: *nf gets sum * 0
 * OR-ed in, which stays +-0 while every sum is finite and becomes a NaN pattern (all-ones exponent,
 * non-zero mantissa, kept by OR) at the first infinite or NaN one. */
#if defined(__SSE2__)
typedef __m128 nf_acc;
#define NF_INIT() _mm_setzero_ps()
#define NF_ANY(a) (_mm_movemask_ps(_mm_cmpunord_ps((a), (a))) != 0)
#else
typedef int nf_acc;
#define NF_INIT() 0
#define NF_ANY(a) ((a) != 0)
#endif
static ALWAYS_INLINE void scatter(float *dp, float wk, const float *d, int F, nf_acc *nf) {
#if defined(__SSE2__)
  const __m128 zero = _mm_setzero_ps();
  if (F == 4 || F == 8) {
    __m128 wv = _mm_set1_ps(wk);
    __m128 s = _mm_add_ps(_mm_loadu_ps(dp), _mm_mul_ps(wv, _mm_loadu_ps(d)));
    _mm_storeu_ps(dp, s);
    *nf = _mm_or_ps(*nf, _mm_mul_ps(s, zero));
    if (F == 8) {
      s = _mm_add_ps(_mm_loadu_ps(dp + 4), _mm_mul_ps(wv, _mm_loadu_ps(d + 4)));
      _mm_storeu_ps(dp + 4, s);
      *nf = _mm_or_ps(*nf, _mm_mul_ps(s, zero));
    }
    return;
  }
  for (int f = 0; f < F; f++) {
    dp[f] += wk * d[f];
    *nf = _mm_or_ps(*nf, _mm_mul_ss(_mm_set_ss(dp[f]), zero));
  }
#else
  for (int f = 0; f < F; f++) {
    dp[f] += wk * d[f];
    *nf |= !isfinite(dp[f]);
  }
#endif
}

/* Scatter of one level over all samples. */
static ALWAYS_INLINE void bwd_level(bwd_ctx *c, int l, int F) {
  const ngp_hashgrid *g = c->g;
  const int LF = g->n_levels * F;
  const uint32_t off = g->offset[l];
  float *DP = c->dparams + (size_t)off * F;
  ngp_touched *t = c->touched;
  uint64_t *bits = t ? t->bits : NULL;
  uint32_t *list = t ? t->list + c->region[l] : NULL;
  size_t n_new = 0;
  /* The only bitmap words this level may share with its neighbours. */
  const uint32_t w_first = off >> 6, w_last = (g->offset[l + 1] - 1) >> 6;
  uint32_t idx[TILE][8];
  float w[TILE][8];
  nf_acc nf = NF_INIT();
  for (int s0 = 0; s0 < c->S; s0 += TILE) {
    int n = c->S - s0 < TILE ? c->S - s0 : TILE;
    int nc = corners_dispatch(g, l, c->x + (size_t)3 * s0, n, DP, F, 4, 1, idx, w);
    for (int i = 0; i < n; i++) {
      const float *d = c->dout + (size_t)(s0 + i) * LF + (size_t)l * F;
      for (int k = 0; k < nc; k++) {
        float *dp = DP + (size_t)idx[i][k] * F;
        float wk = w[i][k];
        /* forward: o[f] += w[k] * p[f]  =>  dp[f] += w[k] * do[f] */
        scatter(dp, wk, d, F, &nf);
        if (!bits) continue;
        uint32_t e = off + idx[i][k], wi = e >> 6;
        uint64_t bit = (uint64_t)1 << (e & 63);
        if (wi != w_first && wi != w_last) {
          if (!(bits[wi] & bit)) {
            bits[wi] |= bit;
            list[n_new++] = e;
          }
        } else if (!(__atomic_load_n(&bits[wi], __ATOMIC_RELAXED) & bit) &&
                   !(__atomic_fetch_or(&bits[wi], bit, __ATOMIC_RELAXED) & bit)) {
          list[n_new++] = e;
        }
      }
    }
  }
  c->n_new[l] = n_new;
  c->nonfinite[l] = NF_ANY(nf);
}

static void bwd_task(int item, int thread_index, void *user) {
  (void)thread_index;
  bwd_ctx *c = user;
  int l = c->g->n_levels - 1 - item; /* finest (costliest) levels first */
  switch (c->g->n_features) {
  case 1: bwd_level(c, l, 1); break;
  case 2: bwd_level(c, l, 2); break;
  case 4: bwd_level(c, l, 4); break;
  default: bwd_level(c, l, 8); break;
  }
}

/* The level holding entry e (offsets ascend; binary search). */
static int level_of(const ngp_hashgrid *g, uint32_t e) {
  int lo = 0, hi = g->n_levels - 1;
  while (lo < hi) {
    int mid = (lo + hi + 1) / 2;
    if (g->offset[mid] <= e)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

bool ngp_hashgrid_backward(const ngp_hashgrid *g, int S, const float *x, const float *dout, float *dparams,
                           ngp_touched *touched, int n_threads) {
  /* x: [S][3]; dout: [S][L*F]; dparams: [offset[L]][F], accumulated (+=); touched (may be NULL,
   * n_entries >= offset[L]) gains every entry a corner reads, as in the reference. */
  if (S <= 0) return true;
  const int L = g->n_levels;
  bwd_ctx c;
  memset(&c, 0, sizeof c);
  c.g = g, c.S = S, c.x = x, c.dout = dout, c.dparams = dparams, c.touched = touched;
  size_t have[NGP_MAX_LEVELS] = {0};
  if (touched) {
    /* Level l may add at most size[l] minus what it already has in the set. */
    size_t sum = 0;
    for (int l = 0; l < L; l++)
      sum += touched->level_count[l];
    if (sum == touched->count) {
      memcpy(have, touched->level_count, (size_t)L * sizeof *have);
    } else { /* entries added by someone else (e.g. the reference backward): count them */
      for (size_t i = 0; i < touched->count; i++)
        have[level_of(g, touched->list[i])]++;
    }
    size_t at = touched->count;
    for (int l = 0; l < L; l++) {
      c.region[l] = at;
      at += g->size[l] - have[l];
    }
  }
  ngp_parallel_for(L, n_threads, bwd_task, &c);
  if (touched) {
    size_t at = touched->count;
    for (int l = 0; l < L; l++) {
      if (c.n_new[l] && at != c.region[l])
        memmove(touched->list + at, touched->list + c.region[l], c.n_new[l] * sizeof *touched->list);
      at += c.n_new[l];
      have[l] += c.n_new[l];
    }
    touched->count = at;
    memcpy(touched->level_count, have, (size_t)L * sizeof *have);
  }
  for (int l = 0; l < L; l++)
    if (c.nonfinite[l]) return false;
  return true;
}
