/* encoding.h (internal): the multiresolution hash encoding and the spherical-harmonics direction
 * encoding (NGP-SPEC §2).
 *
 * Shape letters, fixed for the whole engine: N rays, S samples, L levels, F features per level,
 * W MLP width. Arrays are sample-major: x is [S][3], features are [S][L*F] with level l's F
 * features at [l*F, l*F+F).
 *
 * Parameters: level l's table holds size[l] entries of F floats at params + F*offset[l].
 * Gradients have the same layout. Backward passes ACCUMULATE (+=) into dparams and record every
 * table entry they touch in an ngp_touched set, so the optimizer can update only those (a step
 * costs what the batch touched, not the whole table). */
#ifndef NGP_NERF_ENCODING_H
#define NGP_NERF_ENCODING_H

#include "ngp/config.h"

#define NGP_MAX_LEVELS 64

typedef struct ngp_hashgrid {
  int n_levels;   /* L */
  int n_features; /* F */
  int log2_table; /* T = 2^log2_table entries per level at most */
  int base_resolution;
  float per_level_scale; /* b, resolved for the scene's aabb_scale */
  ngp_interpolation interpolation;
  float scale[NGP_MAX_LEVELS];         /* pos = x * scale[l] + 0.5 */
  uint32_t res[NGP_MAX_LEVELS];        /* vertices per axis */
  uint32_t size[NGP_MAX_LEVELS];       /* entries in the level's table */
  uint32_t offset[NGP_MAX_LEVELS + 1]; /* first entry of each level; offset[L] = total entries */
  bool hashed[NGP_MAX_LEVELS];         /* spatial hash (else dense index, modulo size) */
  size_t n_params;                     /* F * offset[L] */
} ngp_hashgrid;

/* A set of touched table entries (entry indices, not parameter indices): a bitmap for dedup
 * and a list for iteration. Thread-safe marking is the caller's business (one set per thread, or
 * per level range). */
typedef struct ngp_touched {
  uint64_t *bits; /* (n_entries + 63) / 64 words */
  uint32_t *list; /* up to n_entries indices */
  size_t count;
  size_t n_entries;
  /* Entries per hash-grid level in the list, kept by the fast backward so it need not rescan the
   * list on every call; trusted only while they add up to count (else recomputed). */
  size_t level_count[NGP_MAX_LEVELS];
} ngp_touched;

ngp_status ngp_touched_init(ngp_touched *t, size_t n_entries, ngp_error *err);
void ngp_touched_clear(ngp_touched *t); /* O(count): clears only the bits that are set */
void ngp_touched_free(ngp_touched *t);

/* Level geometry from the config and the scene's aabb_scale (NGP-SPEC §2). */
ngp_status ngp_hashgrid_init(ngp_hashgrid *g, const ngp_grid_config *cfg, int aabb_scale, ngp_error *err);
/* Uniform in [-1e-4, 1e-4], from a seed. */
void ngp_hashgrid_init_params(const ngp_hashgrid *g, float *params, uint64_t seed);

/* x: [S][3] in [0,1]^3. out: [S][L*F], overwritten. */
void ngp_hashgrid_forward_ref(const ngp_hashgrid *g, const float *params, int S, const float *x, float *out);
/* dout: [S][L*F]. dparams += d(loss)/d(params); touched entries are added to *touched. Returns
 * whether every sum it wrote is finite: an infinite or NaN sum stays non-finite through any later
 * addition, so over calls that start from finite gradients, "every call returned true" is "every
 * gradient of the touched entries is finite" (what a trainer checks before the optimizer). */
bool ngp_hashgrid_backward_ref(const ngp_hashgrid *g, int S, const float *x, const float *dout, float *dparams,
                               ngp_touched *touched);
/* The fast twins: same arguments and results (up to float summation order), using n_threads
 * threads (<= 0: all cores). The backward splits work by level so no two threads write the same
 * entry. */
void ngp_hashgrid_forward(const ngp_hashgrid *g, const float *params, int S, const float *x, float *out, int n_threads);
bool ngp_hashgrid_backward(const ngp_hashgrid *g, int S, const float *x, const float *dout, float *dparams,
                           ngp_touched *touched, int n_threads);

/* The hash table rounded to fp16 for the forward passes of renders: table [n_params] gets
 * ngp_f32_to_f16 (common/ngp_half.h: nearest, ties to even, clamped to +-65504) of each of params
 * [n_params], on n_threads threads. Half the bytes of the fp32 table, as the CUDA renderer's copy. */
void ngp_hashgrid_table_f16(const ngp_hashgrid *g, const float *params, uint16_t *table, int n_threads);
/* ngp_hashgrid_forward reading that fp16 table: the same outputs, bit for bit, as
 * ngp_hashgrid_forward on the parameters rounded to fp16 and back (every half is a float). */
void ngp_hashgrid_forward_f16(const ngp_hashgrid *g, const uint16_t *table, int S, const float *x, float *out,
                              int n_threads);

/* Spherical harmonics of unit directions d: [S][3] (ngp axes) to out: [S][degree^2]. */
void ngp_sh_forward(int degree, int S, const float *d, float *out);

#endif
