/* scan.cu: exclusive prefix sum of uint32 counts in three passes (block scans, a scan of the block
 * sums by one block, then the block offsets added), deterministic and without atomics, so the
 * compaction's sample order is the ray order, as on the CPU. */
#include "cuda/cuda_common.cuh"
#include "cuda/scan.h"

enum { SCAN_THREADS = 256, SCAN_ITEMS = NGP_SCAN_BLOCK / SCAN_THREADS };

extern "C" size_t ngp_scan_tmp_elems(uint32_t max) { return (size_t)(max + NGP_SCAN_BLOCK - 1) / NGP_SCAN_BLOCK + 1; }

/* Exclusive scan of one value per thread across the block; returns the thread's prefix and writes
 * the block total to *total. blockDim.x must be SCAN_THREADS. */
static __device__ uint32_t block_exclusive_scan(uint32_t v, uint32_t *total) {
  __shared__ uint32_t warp_sums[SCAN_THREADS / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  uint32_t x = v;
#pragma unroll
  for (int o = 1; o < 32; o <<= 1) {
    uint32_t y = __shfl_up_sync(0xffffffffu, x, o);
    if (lane >= o) x += y;
  }
  if (lane == 31) warp_sums[warp] = x;
  __syncthreads();
  if (warp == 0) {
    uint32_t s = lane < SCAN_THREADS / 32 ? warp_sums[lane] : 0u;
#pragma unroll
    for (int o = 1; o < 32; o <<= 1) {
      uint32_t y = __shfl_up_sync(0xffffffffu, s, o);
      if (lane >= o) s += y;
    }
    if (lane < SCAN_THREADS / 32) warp_sums[lane] = s; /* inclusive over warps */
  }
  __syncthreads();
  uint32_t warp_prefix = warp > 0 ? warp_sums[warp - 1] : 0u;
  *total = warp_sums[SCAN_THREADS / 32 - 1];
  __syncthreads(); /* warp_sums is reused by the next call */
  return warp_prefix + x - v;
}

/* Pass 1: each block scans NGP_SCAN_BLOCK items in place into out and writes its sum. */
__global__ void scan_blocks_kernel(const uint32_t *in, uint32_t *out, const uint32_t *d_count, uint32_t max,
                                   uint32_t *block_sums) {
  const uint32_t n = ngp_dev_count(d_count, max);
  const uint32_t base = blockIdx.x * NGP_SCAN_BLOCK + threadIdx.x * SCAN_ITEMS;
  if (blockIdx.x * NGP_SCAN_BLOCK >= n) {
    if (threadIdx.x == 0) block_sums[blockIdx.x] = 0;
    return; /* the whole block leaves together */
  }
  uint32_t v[SCAN_ITEMS], sum = 0;
#pragma unroll
  for (int k = 0; k < SCAN_ITEMS; k++) {
    v[k] = base + k < n ? in[base + k] : 0u;
    sum += v[k];
  }
  uint32_t total;
  uint32_t prefix = block_exclusive_scan(sum, &total);
#pragma unroll
  for (int k = 0; k < SCAN_ITEMS; k++) {
    if (base + k < n) out[base + k] = prefix;
    prefix += v[k];
  }
  if (threadIdx.x == 0) block_sums[blockIdx.x] = total;
}

/* Pass 2: one block scans the block sums (in chunks, carrying the running total). */
__global__ void scan_sums_kernel(uint32_t *block_sums, uint32_t n_blocks, uint32_t *d_total) {
  uint32_t carry = 0;
  for (uint32_t c0 = 0; c0 < n_blocks; c0 += SCAN_THREADS) {
    uint32_t i = c0 + threadIdx.x;
    uint32_t v = i < n_blocks ? block_sums[i] : 0u, total;
    uint32_t prefix = block_exclusive_scan(v, &total);
    if (i < n_blocks) block_sums[i] = carry + prefix;
    carry += total;
  }
  if (threadIdx.x == 0 && d_total) *d_total = carry;
}

/* Pass 3: add each block's offset. */
__global__ void scan_add_kernel(uint32_t *out, const uint32_t *d_count, uint32_t max, const uint32_t *block_sums) {
  const uint32_t n = ngp_dev_count(d_count, max);
  const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] += block_sums[i / NGP_SCAN_BLOCK];
}

extern "C" void ngp_scan_exclusive_cuda(const uint32_t *in, uint32_t *out, const uint32_t *d_count, uint32_t max,
                                        uint32_t *d_total, uint32_t *tmp, ngp_stream stream) {
  const uint32_t n_blocks = (max + NGP_SCAN_BLOCK - 1) / NGP_SCAN_BLOCK;
  if (n_blocks == 0) {
    if (d_total) cudaMemsetAsync(d_total, 0, sizeof *d_total, stream);
    return;
  }
  scan_blocks_kernel<<<n_blocks, SCAN_THREADS, 0, stream>>>(in, out, d_count, max, tmp);
  scan_sums_kernel<<<1, SCAN_THREADS, 0, stream>>>(tmp, n_blocks, d_total);
  scan_add_kernel<<<ngp_cuda_blocks(max, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(out, d_count, max, tmp);
}
