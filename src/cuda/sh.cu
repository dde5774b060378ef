/* sh.cu: spherical-harmonics encoding of the sample directions, one thread per sample, written
 * straight into the colour MLP's fp16 input beside the density network's outputs. */
#include "cuda/cuda_common.cuh"
#include "cuda/sh.h"
#include "common/ngp_encoding_math.h"

__global__ void sh_forward_kernel(int degree, const uint32_t *d_count, uint32_t max, const float *dirs,
                                  const uint32_t *sample_ray, uint32_t div, __half *out16, int ld16, int col0,
                                  int pad_to, float *out32) {
  const uint32_t n = ngp_dev_count(d_count, max), n16 = (n + 15u) & ~15u, s = ngp_thread_index();
  if (s >= n16) return;
  const int nsh = degree * degree;
  if (s >= n) {
    if (out16)
      for (int c = 0; c < pad_to; c++)
        out16[(size_t)s * ld16 + c] = __float2half(0.0f);
    return;
  }
  const uint32_t r = sample_ray ? sample_ray[s / div] : s;
  const float x = dirs[r * 3], y = dirs[r * 3 + 1], z = dirs[r * 3 + 2];
  float v[NGP_SH_MAX_DEGREE * NGP_SH_MAX_DEGREE];
  if (degree <= 4)
    ngp_sh_basis4(degree, x, y, z, v);
  else
    ngp_sh_basis(degree, x, y, z, v);
  if (out16) {
    __half *o = out16 + (size_t)s * ld16;
    for (int k = 0; k < nsh; k++)
      o[col0 + k] = __float2half_rn(v[k]);
    for (int c = col0 + nsh; c < pad_to; c++)
      o[c] = __float2half(1.0f);
  }
  if (out32)
    for (int k = 0; k < nsh; k++)
      out32[(size_t)s * nsh + k] = v[k];
}

extern "C" void ngp_sh_forward_cuda(int degree, const uint32_t *d_count, uint32_t max, const float *dirs,
                                    const uint32_t *sample_ray, uint32_t div, ngp_half *out16, int ld16, int col0,
                                    int pad_to, float *out32, ngp_stream stream) {
  if (max == 0 || degree < 1 || degree > NGP_SH_MAX_DEGREE) return;
  sh_forward_kernel<<<ngp_cuda_blocks(ngp_round_up(max, 16), NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      degree, d_count, max, dirs, sample_ray, div ? div : 1, (__half *)out16, ld16, col0, pad_to, out32);
}
