/* occupancy.cu: the occupancy-grid update (NGP-SPEC §4, occupancy.c): sample generation with the
 * shared counter-based draws (so both backends pick the same cells and positions), the per-cell max
 * by atomicMax on the float's bits (valid for non-negative floats), the decayed running max, the
 * cascade-0 mean as a fixed-order two-pass reduction (deterministic), the bitfield and the mip
 * pooling. */
#include <math.h>

#include "cuda/cuda_common.cuh"
#include "cuda/occupancy.h"
#include "common/ngp_march_math.h"

enum { MEAN_BLOCK = 4096, MEAN_THREADS = 256, N_PARTIALS = NGP_GRID_CELLS / MEAN_BLOCK };

extern "C" size_t ngp_occupancy_partials(void) { return N_PARTIALS; }

__global__ void occ_samples_kernel(const float *density, int n_cascades, uint32_t first, uint32_t count,
                                   uint32_t n_total, uint32_t update_index, float thresh, uint64_t set_seed,
                                   float3 bmin, float3 bmax, float *pos, float *x, uint32_t *idx) {
  const uint32_t b = ngp_thread_index();
  if (b >= count) return;
  const uint32_t i = first + b;
  const int level = ngp_grid_sample_level(set_seed, i, n_cascades);
  const uint32_t cell = ngp_grid_sample_cell(i, update_index, n_total, level, density, thresh);
  float p[3];
  ngp_grid_sample_pos(set_seed, i, cell, level, p);
  idx[b] = cell;
  if (pos)
    for (int c = 0; c < 3; c++)
      pos[(size_t)b * 3 + c] = p[c];
  if (x) {
    const float lo[3] = {bmin.x, bmin.y, bmin.z}, hi[3] = {bmax.x, bmax.y, bmax.z};
    float w[3];
    ngp_warp_position(p, lo, hi, w);
    for (int c = 0; c < 3; c++)
      x[(size_t)b * 3 + c] = w[c];
  }
}

extern "C" void ngp_occupancy_samples_cuda(const float *density, int n_cascades, uint32_t first, uint32_t count,
                                           uint32_t n_total, uint32_t update_index, float thresh, uint64_t set_seed,
                                           const float aabb_min[3], const float aabb_max[3], float *pos, float *x,
                                           uint32_t *idx, ngp_stream stream) {
  if (count == 0) return;
  occ_samples_kernel<<<ngp_cuda_blocks(count, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      density, n_cascades, first, count, n_total, update_index, thresh, set_seed,
      make_float3(aabb_min[0], aabb_min[1], aabb_min[2]), make_float3(aabb_max[0], aabb_max[1], aabb_max[2]), pos, x,
      idx);
}

__global__ void occ_splat_kernel(const uint32_t *idx, const float *raw_density, uint32_t count, float *tmp) {
  const uint32_t i = ngp_thread_index();
  if (i >= count) return;
  const float thick = ngp_grid_thickness(raw_density[i]);
  /* Non-negative floats order like their bit patterns; NaN (and a negative, which exp cannot give)
   * is skipped, as "thick > tmp" skips it on the CPU. */
  if (!(thick > 0.0f)) return;
  atomicMax((int *)(tmp + idx[i]), __float_as_int(thick));
}

extern "C" void ngp_occupancy_splat_cuda(const uint32_t *idx, const float *raw_density, uint32_t count, float *tmp,
                                         ngp_stream stream) {
  if (count == 0) return;
  occ_splat_kernel<<<ngp_cuda_blocks(count, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(idx, raw_density, count,
                                                                                              tmp);
}

/* grid = grid < 0 ? grid : max(grid * decay, tmp) */
__global__ void occ_blend_kernel(float *density, const float *tmp, uint32_t n, float decay) {
  const uint32_t i = ngp_thread_index();
  if (i >= n) return;
  density[i] = ngp_grid_blend(density[i], tmp[i], decay);
}

/* Partial sums of max(density, 0) over cascade 0, MEAN_BLOCK cells per block, in double. */
__global__ void occ_mean_partial_kernel(const float *density, double *partial) {
  __shared__ double s[MEAN_THREADS];
  const uint32_t base = blockIdx.x * MEAN_BLOCK;
  double acc = 0.0;
  for (uint32_t k = threadIdx.x; k < MEAN_BLOCK; k += MEAN_THREADS)
    acc += (double)fmaxf(density[base + k], 0.0f);
  s[threadIdx.x] = acc;
  __syncthreads();
  for (int w = MEAN_THREADS / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = s[0];
}

__global__ void occ_mean_final_kernel(const double *partial, float *d_mean, uint32_t *d_n_occupied) {
  __shared__ double s[MEAN_THREADS];
  double acc = 0.0;
  for (int k = threadIdx.x; k < N_PARTIALS; k += MEAN_THREADS)
    acc += partial[k];
  s[threadIdx.x] = acc;
  __syncthreads();
  for (int w = MEAN_THREADS / 2; w > 0; w >>= 1) {
    if ((int)threadIdx.x < w) s[threadIdx.x] += s[threadIdx.x + w];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    *d_mean = (float)(s[0] / (double)NGP_GRID_CELLS);
    if (d_n_occupied) *d_n_occupied = 0;
  }
}

/* One byte (8 cells) per thread: bit k = density > min(0.01, mean). */
__global__ void occ_bitfield_kernel(const float *density, uint32_t n_bytes, const float *d_mean, uint8_t *bitfield,
                                    uint32_t *d_n_occupied) {
  const uint32_t i = ngp_thread_index();
  if (i >= n_bytes) return;
  const uint32_t bits = ngp_grid_bits8(density + (size_t)i * 8, ngp_grid_threshold(*d_mean));
  bitfield[i] = (uint8_t)bits;
  if (d_n_occupied && i < NGP_GRID_CELLS / 8 && bits) atomicAdd(d_n_occupied, (uint32_t)__popc(bits));
}

/* Level m |= 2x max-pool of level m-1 in its central half (occupancy.c pool_chunk): byte i*8+k of
 * level m-1 is a 2x2x2 block, i.e. coarse cell i*8+k; it lands in bit k of byte
 * morton(decode(i) + 16) of level m. */
__global__ void occ_pool_kernel(uint8_t *bitfield, int level) {
  const uint32_t i = ngp_thread_index();
  if (i >= NGP_GRID_CELLS / 64) return;
  const uint8_t *prev = bitfield + (size_t)(level - 1) * (NGP_GRID_CELLS / 8);
  uint8_t *next = bitfield + (size_t)level * (NGP_GRID_CELLS / 8);
  uint32_t dst;
  const uint8_t bits = ngp_grid_pool_byte(prev, i, &dst);
  next[dst] |= bits; /* distinct bytes for distinct i */
}

extern "C" void ngp_occupancy_finish_cuda(float *density, const float *tmp, int n_cascades, float decay,
                                          uint8_t *bitfield, float *d_mean, uint32_t *d_n_occupied, double *partial,
                                          ngp_stream stream) {
  const uint32_t cells = (uint32_t)n_cascades * NGP_GRID_CELLS;
  if (tmp)
    occ_blend_kernel<<<ngp_cuda_blocks(cells, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(density, tmp, cells,
                                                                                                decay);
  occ_mean_partial_kernel<<<N_PARTIALS, MEAN_THREADS, 0, stream>>>(density, partial);
  occ_mean_final_kernel<<<1, MEAN_THREADS, 0, stream>>>(partial, d_mean, d_n_occupied);
  occ_bitfield_kernel<<<ngp_cuda_blocks(cells / 8, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      density, cells / 8, d_mean, bitfield, d_n_occupied);
  for (int m = 1; m < n_cascades; m++)
    occ_pool_kernel<<<ngp_cuda_blocks(NGP_GRID_CELLS / 64, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(bitfield,
                                                                                                             m);
}
