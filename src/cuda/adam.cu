/* adam.cu: Adam with the sparse rule for hash entries, and the EMA (optimizer.c), one thread per
 * parameter; the per-parameter update is common/ngp_optimizer_math.h's, the CPU's own. The learning-rate schedule
 * (ExponentialDecay) is host arithmetic on the step count. */
#include <math.h>

#include "common/ngp_optimizer_math.h"
#include "cuda/adam.h"
#include "cuda/cuda_common.cuh"

__global__ void adam_kernel(ngp_cuda_adam a, float *params, float *grads, float *m, float *v, uint32_t *t, float *ema) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= a.n_params) return;
  const float raw = grads[i];
  float w = params[i];
  const bool matrix = i < a.n_matrix;
  if (matrix || raw != 0.0f) {
    const float div = a.d_grad_div ? (float)*a.d_grad_div : 1.0f;
    float g = raw * (a.grad_scale / div);
    if (matrix) g += a.l2_reg * w;
    if (raw != 0.0f) grads[i] = 0.0f; /* consumed */
    if (matrix || g != 0.0f) {        /* tcnn skip_zero_grad for non-matrix params */
      const uint32_t k = ++t[i];
      float mi = m[i], vi = v[i];
      w = ngp_adam_update(w, g, &mi, &vi, a.beta1, a.beta2, a.lr, ngp_adam_bias_correction(a.beta1, a.beta2, k),
                          a.epsilon);
      m[i] = mi;
      v[i] = vi;
      params[i] = w;
    }
  }
  if (ema) ema[i] = ngp_ema_update(ema[i], w, a.ema_decay);
}

extern "C" void ngp_adam_step_cuda(const ngp_cuda_adam *a, float *params, float *grads, float *m, float *v, uint32_t *t,
                                   float *ema, ngp_stream stream) {
  if (a->n_params == 0) return;
  adam_kernel<<<ngp_cuda_blocks(a->n_params, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(*a, params, grads, m, v,
                                                                                               t, ema);
}

__global__ void ema_read_kernel(const float *ema, float debias, size_t n, float *out) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = ema[i] * debias;
}

extern "C" void ngp_ema_read_cuda(const float *ema, float debias, size_t n, float *out, ngp_stream stream) {
  if (n == 0) return;
  ema_read_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(ema, debias, n, out);
}
