/* test_math_cuda.cu: the shared maths header (src/common/ngp_math.h) compiled by nvcc and run on
 * the GPU, checked against the same functions run on the CPU. This is the first of the `gpu`
 * tests: without a usable CUDA device it prints why and exits 77, which CTest reports as skipped
 * (or 1 where a device is required: gpu_require.h). */
#include "gpu_require.h"
#include <cuda_runtime.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/ngp_math.h"

enum { N = 4096 };

__global__ void convert_kernel(const float *nerf, const float *scale, const float *offset, float *ngp, float *srgb_in,
                               float *srgb_out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  ngp_nerf_matrix_to_ngp(nerf + 12 * i, scale[i], offset + 3 * i, ngp + 12 * i);
  srgb_out[i] = ngp_linear_to_srgb(ngp_srgb_to_linear(srgb_in[i]));
}

static float frand(unsigned *s) {
  *s = *s * 1664525u + 1013904223u;
  return (float)(*s >> 8) / 16777216.0f;
}

#define CHECK(call)                                                                                                    \
  do {                                                                                                                 \
    cudaError_t e_ = (call);                                                                                           \
    if (e_ != cudaSuccess) {                                                                                           \
      fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_));                           \
      return 1;                                                                                                        \
    }                                                                                                                  \
  } while (0)

int main(void) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0)
    ngp_gpu_no_device("test_gpu_math", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
  static float nerf[12 * N], scale[N], offset[3 * N], ngp_cpu[12 * N], ngp_gpu[12 * N], s_in[N], s_cpu[N], s_gpu[N];
  unsigned seed = 1;
  for (int i = 0; i < 12 * N; i++)
    nerf[i] = frand(&seed) * 8.0f - 4.0f;
  for (int i = 0; i < N; i++) {
    scale[i] = 0.1f + frand(&seed);
    s_in[i] = frand(&seed);
    for (int k = 0; k < 3; k++)
      offset[3 * i + k] = frand(&seed);
    ngp_nerf_matrix_to_ngp(nerf + 12 * i, scale[i], offset + 3 * i, ngp_cpu + 12 * i);
    s_cpu[i] = ngp_linear_to_srgb(ngp_srgb_to_linear(s_in[i]));
  }
  float *d_nerf, *d_scale, *d_offset, *d_ngp, *d_sin, *d_sout;
  CHECK(cudaMalloc(&d_nerf, sizeof nerf));
  CHECK(cudaMalloc(&d_scale, sizeof scale));
  CHECK(cudaMalloc(&d_offset, sizeof offset));
  CHECK(cudaMalloc(&d_ngp, sizeof ngp_gpu));
  CHECK(cudaMalloc(&d_sin, sizeof s_in));
  CHECK(cudaMalloc(&d_sout, sizeof s_gpu));
  CHECK(cudaMemcpy(d_nerf, nerf, sizeof nerf, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_scale, scale, sizeof scale, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_offset, offset, sizeof offset, cudaMemcpyHostToDevice));
  CHECK(cudaMemcpy(d_sin, s_in, sizeof s_in, cudaMemcpyHostToDevice));
  convert_kernel<<<(N + 255) / 256, 256>>>(d_nerf, d_scale, d_offset, d_ngp, d_sin, d_sout, N);
  CHECK(cudaGetLastError());
  CHECK(cudaMemcpy(ngp_gpu, d_ngp, sizeof ngp_gpu, cudaMemcpyDeviceToHost));
  CHECK(cudaMemcpy(s_gpu, d_sout, sizeof s_gpu, cudaMemcpyDeviceToHost));
  int bad = 0;
  /* The conversion is a permutation, sign flips and one fused multiply-add: tolerance 1e-6 + 1e-6|x|.
   * powf on the device differs from glibc's by a few ulp: 1e-5 there. */
  for (int i = 0; i < 12 * N; i++)
    if (fabsf(ngp_gpu[i] - ngp_cpu[i]) > 1e-6f + 1e-6f * fabsf(ngp_cpu[i]) && bad++ < 5)
      fprintf(stderr, "matrix element %d: gpu %.9g cpu %.9g\n", i, ngp_gpu[i], ngp_cpu[i]);
  for (int i = 0; i < N; i++)
    if (fabsf(s_gpu[i] - s_cpu[i]) > 1e-5f && bad++ < 10)
      fprintf(stderr, "srgb %d: gpu %.9g cpu %.9g\n", i, s_gpu[i], s_cpu[i]);
  cudaFree(d_nerf);
  cudaFree(d_scale);
  cudaFree(d_offset);
  cudaFree(d_ngp);
  cudaFree(d_sin);
  cudaFree(d_sout);
  printf("%d of %d values outside tolerance\n", bad, 13 * N);
  return bad ? 1 : 0;
}
