/* cuda/adam.h (internal): the optimizer chain of optimizer.c on the GPU: Adam with instant-ngp's
 * sparse rule, the learning rate (with ExponentialDecay applied by the caller) and the EMA of the
 * weights. Every parameter is visited every step (a GPU streams the 12M-entry table faster than
 * it could gather a touched list): non-matrix parameters with an exactly zero gradient keep their
 * moments, step counter and weight, as on the CPU. */
#ifndef NGP_CUDA_ADAM_H
#define NGP_CUDA_ADAM_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ngp_cuda_adam {
  size_t n_params, n_matrix; /* [0, n_matrix): MLP weights (L2, always updated) */
  float lr;                  /* learning_rate * decay factor for this step */
  float beta1, beta2, epsilon, l2_reg;
  float grad_scale;           /* gradients are multiplied by this ... */
  const uint32_t *d_grad_div; /* ... and divided by this device count (NULL: 1), e.g. the step's rays */
  float ema_decay;            /* used when ema is not NULL */
} ngp_cuda_adam;

/* One step over all parameters (optimizer.c ngp_optimizer_step): g = grad * grad_scale / div
 * (+ l2_reg * w for matrix parameters); m, v, the parameter's own step counter t, and
 * w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon). Gradients are consumed
 * (reset to 0). Then, when ema is not NULL, ema = d * ema + (1 - d) * w for every parameter (the
 * CPU keeps the same recursion lazily). */
void ngp_adam_step_cuda(const ngp_cuda_adam *a, float *params, float *grads, float *m, float *v, uint32_t *t,
                        float *ema, ngp_stream stream);

/* out = ema * debias (debias = 1 / (1 - d^steps)), the EMA weights (optimizer.c ngp_optimizer_ema). */
void ngp_ema_read_cuda(const float *ema, float debias, size_t n, float *out, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
