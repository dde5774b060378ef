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
  if (a.d_skip && *a.d_skip) {
    if (raw != 0.0f) grads[i] = 0.0f; /* consumed, applied nowhere (optimizer.c discard_grads) */
    return;
  }
  const float lr = a.d_lr ? *a.d_lr : a.lr;
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
      w = ngp_adam_update(w, g, &mi, &vi, a.beta1, a.beta2, lr, ngp_adam_bias_correction(a.beta1, a.beta2, k),
                          a.epsilon);
      m[i] = mi;
      v[i] = vi;
      params[i] = w;
      if (a.params16 && i >= a.half_begin) ((__half *)a.params16)[i - a.half_begin] = ngp_half_sat(w);
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

__global__ void grads_check_kernel(const float *grads, size_t n, uint32_t *bad) {
  bool ok = true;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
    ok &= isfinite(grads[i]);
  /* One store per warp that saw a bad value (a plain store: every writer writes 1). */
  if (__any_sync(0xffffffffu, !ok) && (threadIdx.x & 31) == 0) *bad = 1u;
}

extern "C" void ngp_grads_check_cuda(const float *grads, size_t n, uint32_t *d_bad, ngp_stream stream) {
  if (n == 0) return;
  size_t blocks = ngp_cuda_blocks(n, NGP_CUDA_THREADS);
  if (blocks > 1024) blocks = 1024;
  grads_check_kernel<<<(unsigned)blocks, NGP_CUDA_THREADS, 0, stream>>>(grads, n, d_bad);
}

__global__ void adam_prepare_kernel(ngp_cuda_adam_schedule sc, const double *loss_sum, const uint32_t *bad,
                                    uint32_t *opt_step, float *lr_factor, float *lr, uint32_t *skip,
                                    uint32_t *n_skipped) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  if (ngp_schedule_step(sc.learning_rate, sc.decay_base, sc.decay_enabled, sc.decay_start, sc.decay_interval,
                        sc.decay_end, *loss_sum, *bad, opt_step, lr_factor, lr)) {
    *skip = 0u;
  } else {
    *skip = 1u;
    ++*n_skipped;
  }
}

extern "C" void ngp_adam_prepare_cuda(const ngp_cuda_adam_schedule *sc, const double *d_loss_sum, const uint32_t *d_bad,
                                      uint32_t *d_opt_step, float *d_lr_factor, float *d_lr, uint32_t *d_skip,
                                      uint32_t *d_n_skipped, ngp_stream stream) {
  adam_prepare_kernel<<<1, 32, 0, stream>>>(*sc, d_loss_sum, d_bad, d_opt_step, d_lr_factor, d_lr, d_skip, d_n_skipped);
}

__global__ void ema_read_kernel(const float *ema, float debias, size_t n, float *out) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = ema[i] * debias;
}

extern "C" void ngp_ema_read_cuda(const float *ema, float debias, size_t n, float *out, ngp_stream stream) {
  if (n == 0) return;
  ema_read_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(ema, debias, n, out);
}
