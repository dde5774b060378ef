/* cuda/occupancy.h (internal): the occupancy-grid update on the GPU, in the pieces of occupancy.c's
 * ngp_occupancy_update: sample cells and positions (the same counter-based draws), evaluate the
 * density (the caller: the trainer runs the hash grid and density MLP; a test may upload its own),
 * splat the per-cell maximum, then blend (decayed running max), mean of cascade 0, threshold,
 * bitfield and mip pooling. Grid layout as the CPU's: [cascades][128^3] Morton order. */
#ifndef NGP_CUDA_OCCUPANCY_H
#define NGP_CUDA_OCCUPANCY_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Samples first .. first+count-1 of a set of n_total (set_seed = ngp_grid_set_seed(update seed,
 * nonuniform)), for update number update_index, drawing cells from `density` whose value exceeds
 * thresh (-0.01 uniform, 0.01 non-uniform). Writes idx [count] (whole-grid cell index) and the
 * position: pos [count][3] in ngp units (may be NULL) and/or x [count][3] warped to the box
 * (may be NULL). */
void ngp_occupancy_samples_cuda(const float *density, int n_cascades, uint32_t first, uint32_t count, uint32_t n_total,
                                uint32_t update_index, float thresh, uint64_t set_seed, const float aabb_min[3],
                                const float aabb_max[3], float *pos, float *x, uint32_t *idx, ngp_stream stream);

/* tmp[idx[i]] = max(tmp[idx[i]], exp(raw_density[i]) * MIN_STEP) for i < count (tmp zeroed before
 * the update; NaN never wins). */
void ngp_occupancy_splat_cuda(const uint32_t *idx, const float *raw_density, uint32_t count, float *tmp,
                              ngp_stream stream);

/* density = density < 0 ? density : max(density * decay, tmp) (skipped when tmp is NULL), then the
 * bitfield from the mean of cascade 0: *d_mean = mean of max(density, 0) over cascade 0, occupied
 * = density > min(0.01, mean), each cascade m >= 1 ORed with the 2x max-pool of cascade m-1 in its
 * centre; *d_n_occupied (may be NULL) = set bits of cascade 0. partial: ngp_occupancy_partials()
 * doubles of scratch. */
size_t ngp_occupancy_partials(void);
void ngp_occupancy_finish_cuda(float *density, const float *tmp, int n_cascades, float decay, uint8_t *bitfield,
                               float *d_mean, uint32_t *d_n_occupied, double *partial, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
