/* cuda_common.cuh (internal, CUDA only): what every .cu of the backend needs: the runtime and
 * fp16 headers, error checks that carry the call site and end with a hint, grid sizing, device
 * counts, and small device helpers. C-style CUDA: structs and functions, no classes. */
#ifndef NGP_CUDA_COMMON_CUH
#define NGP_CUDA_COMMON_CUH

#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "cuda/cuda_types.h"
#include "common/ngp_half.h"
#include "ngp/common.h"

/* Threads per block of the element-wise kernels. */
#define NGP_CUDA_THREADS 256

static inline unsigned ngp_cuda_blocks(uint64_t n, unsigned threads) {
  uint64_t b = (n + threads - 1) / threads;
  return (unsigned)(b > 0 ? b : 1);
}

static inline uint32_t ngp_round_up(uint32_t v, uint32_t m) { return (v + m - 1) / m * m; }

/* An error from the runtime as one line with the call site and a hint (device.cu). */
extern "C" ngp_status ngp_cuda_error(ngp_error *err, cudaError_t e, const char *what, const char *file, int line);

/* Returns from the enclosing function (which returns ngp_status) on a runtime error. */
#define NGP_CUDA_TRY(call, err)                                                                                        \
  do {                                                                                                                 \
    cudaError_t e_ = (call);                                                                                           \
    if (e_ != cudaSuccess) return ngp_cuda_error((err), e_, #call, __FILE__, __LINE__);                                \
  } while (0)

/* After launches: reports a launch error (bad configuration, no kernel image) at once; errors
 * inside kernels surface at the next synchronising call. */
#define NGP_CUDA_CHECK_LAUNCH(err) NGP_CUDA_TRY(cudaGetLastError(), err)

/* The item count a kernel works on: min(*d_count, max), or max without a device count. */
static __device__ __forceinline__ uint32_t ngp_dev_count(const uint32_t *d_count, uint32_t max) {
  if (!d_count) return max;
  uint32_t c = *d_count;
  return c < max ? c : max;
}

static __device__ __forceinline__ uint32_t ngp_thread_index(void) { return blockIdx.x * blockDim.x + threadIdx.x; }

/* fp32 to fp16, saturating to the largest finite half instead of overflowing to infinity (an
 * infinite gradient would poison every weight it reaches; a saturated one only clips). NaN stays
 * NaN. The clamp is common/ngp_half.h's, and __float2half_rn rounds to nearest even as
 * ngp_f32_to_f16 does, so the CPU's fp16 tables hold the same bits. */
static __device__ __forceinline__ __half ngp_half_sat(float v) { return __float2half_rn(ngp_half_clamp(v)); }

#endif
