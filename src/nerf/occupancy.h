/* occupancy.h (internal): the cascaded occupancy grid that lets ray marching skip empty space
 * (NGP-SPEC §4). Positions are in ngp units; cascade k covers the cube of side 2^k centred at
 * (0.5, 0.5, 0.5); each cascade has 128^3 cells in Morton order. */
#ifndef NGP_NERF_OCCUPANCY_H
#define NGP_NERF_OCCUPANCY_H

#include "common/ngp_nerf_math.h" /* NGP_GRID_SIZE, NGP_GRID_CELLS */
#include "ngp/scene.h"

typedef struct ngp_occupancy {
  int n_cascades;
  float *density;    /* [n_cascades][128^3] optical thickness sigma*MIN_STEP; < 0: no camera sees it */
  uint8_t *bitfield; /* [n_cascades][128^3 / 8], bit = occupied, Morton order, mip-pooled upwards */
  float mean;        /* mean of max(density, 0) over cascade 0 */
  uint32_t n_updates;
  size_t n_occupied; /* set bits in cascade 0, for progress lines and tests */
  /* Scratch of ngp_occupancy_update (added at the end; allocated once by init, so updates do not
   * allocate): per-cell max of this update's samples, and one batch of positions for the callback. */
  float *tmp;          /* [n_cascades][128^3] */
  float *batch_pos;    /* [NGP_OCCUPANCY_BATCH][3] */
  float *batch_raw;    /* [NGP_OCCUPANCY_BATCH] */
  uint32_t *batch_idx; /* [NGP_OCCUPANCY_BATCH] grid index of each sample */
} ngp_occupancy;

/* Positions handed to the density callback per call. */
#define NGP_OCCUPANCY_BATCH 65536

ngp_status ngp_occupancy_init(ngp_occupancy *g, int n_cascades, ngp_error *err);
void ngp_occupancy_free(ngp_occupancy *g);

/* Cells that no training camera sees become -1 (never sampled); all others 0. Then the bitfield
 * is rebuilt (initially every seen cell counts as occupied, so training can start). */
void ngp_occupancy_mark_untrained(ngp_occupancy *g, const ngp_scene *scene, int n_threads);

/* Whether a training step updates the grid: step % clamp(step/16, 1, 16) == 0. */
bool ngp_occupancy_update_due(int step);

/* Evaluates the raw density (before exp) at S positions in ngp units. */
typedef void (*ngp_density_fn)(int S, const float *pos, float *raw_density, void *user);

/* One update: n_uniform samples over non-masked cells and n_nonuniform over occupied cells (per
 * cascade, drawn as NGP-SPEC §4 says), density evaluated through fn, decayed running max with
 * `decay`, then mean, threshold min(0.01, mean) and the bitfield with its mip pooling.
 * instant-ngp uses 128^3 uniform per cascade before step 256, then 128^3/4 of each; a CPU caller
 * may pass fewer. */
void ngp_occupancy_update(ngp_occupancy *g, uint32_t n_uniform, uint32_t n_nonuniform, float decay, uint64_t seed,
                          ngp_density_fn fn, void *user, int n_threads);

/* The block summaries of g's bitfield as it is now, into blocks [n_cascades][NGP_GRID_BLOCK_BYTES]
 * (ngp_grid_block_byte): what marching reads to skip empty 16^3 and 32^3 blocks. Reads the whole
 * bitfield (256 KB per cascade), so it is made once per render or training step, never per ray. */
void ngp_occupancy_blocks(const ngp_occupancy *g, uint8_t *blocks);

/* Whether position p (ngp units) is in an occupied cell of cascade `cascade`. */
bool ngp_occupancy_occupied(const ngp_occupancy *g, const float *p, int cascade);

#endif
