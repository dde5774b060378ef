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
  /* The step's guard, all optional (NULL: always applied, rate lr): ngp_adam_prepare_cuda's
   * results. When *d_skip is set the step only consumes the gradients (nothing else changes);
   * otherwise the rate is *d_lr. */
  const uint32_t *d_skip;
  const float *d_lr;
  /* Optional (NULL: none): an fp16 copy of the parameters [half_begin, n_params) (the hash table,
   * which the forward encoding reads as fp16: half the bytes of the fp32 master). Where the step
   * writes a parameter it writes params16[i - half_begin] = half(params[i]) (round to nearest,
   * saturating at +-65504, as ngp_cuda_f32_to_f16) in the same pass; elsewhere the copy keeps what
   * it holds, so it stays equal to the master rounded if it was made so (ngp_cuda_f32_to_f16). */
  ngp_half *params16;
  size_t half_begin;
} ngp_cuda_adam;

/* The non-finite guard before Adam (optimizer.c skips such a step whole: one NaN would spread
 * through the moments into every weight for good). *d_bad |= 1 when any of grads [n] is NaN or
 * infinite (*d_bad zeroed by the caller). Grid-stride: a fixed grid of at most 1024 blocks. */
void ngp_grads_check_cuda(const float *grads, size_t n, uint32_t *d_bad, ngp_stream stream);

/* The schedule of one step on the device (one thread), so the host never waits to know whether a
 * step applies: ngp_schedule_step (common/ngp_optimizer_math.h) on *d_opt_step, *d_lr_factor and
 * *d_lr with the step's *d_loss_sum and *d_bad; *d_skip = 0 when it applies, else *d_skip = 1 and
 * ++*d_n_skipped. */
typedef struct ngp_cuda_adam_schedule {
  float learning_rate, decay_base;
  int decay_enabled, decay_start, decay_interval, decay_end;
} ngp_cuda_adam_schedule;
void ngp_adam_prepare_cuda(const ngp_cuda_adam_schedule *sc, const double *d_loss_sum, const uint32_t *d_bad,
                           uint32_t *d_opt_step, float *d_lr_factor, float *d_lr, uint32_t *d_skip,
                           uint32_t *d_n_skipped, ngp_stream stream);

/* One step over all parameters (optimizer.c ngp_optimizer_step): g = grad * grad_scale / div
 * (+ l2_reg * w for matrix parameters); m, v, the parameter's own step counter t, and
 * w -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon). Gradients are consumed
 * (reset to 0), also in a skipped step (a->d_skip). Then, unless skipped, when ema is not NULL, ema = d * ema + (1 - d)
 * * w for every parameter (the CPU keeps the same recursion lazily). */
void ngp_adam_step_cuda(const ngp_cuda_adam *a, float *params, float *grads, float *m, float *v, uint32_t *t,
                        float *ema, ngp_stream stream);

/* out = ema * debias (debias = 1 / (1 - d^steps)), the EMA weights (optimizer.c ngp_optimizer_ema). */
void ngp_ema_read_cuda(const float *ema, float debias, size_t n, float *out, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
