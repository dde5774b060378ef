/* ngp_optimizer_math.h: one parameter's Adam update and EMA step (NGP-SPEC §7), shared by the CPU
 * optimizer (nerf/optimizer.c) and the CUDA kernel (cuda/adam.cu), rounded the same on both: every
 * multiply-add goes through ngp_mul_rn/ngp_add_rn, so nvcc cannot fuse it into one rounding. */
#ifndef NGP_OPTIMIZER_MATH_H
#define NGP_OPTIMIZER_MATH_H

#include "common/ngp_math.h"

/* Adam's bias correction for a parameter's k-th update: sqrt(1 - beta2^k) / (1 - beta1^k), in
 * double, rounded to float once (0 for k = 0). */
static inline NGP_HD float ngp_adam_bias_correction(float beta1, float beta2, uint32_t k) {
  if (k == 0) return 0.0f;
  const double f1 = 1.0 - pow((double)beta1, (double)k), f2 = 1.0 - pow((double)beta2, (double)k);
  return (float)(sqrt(f2) / f1);
}

/* The moments and the weight of one parameter with gradient g (already unscaled, L2 term added):
 *   m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2,  w -= lr * bc * m / (sqrt(v) + eps),
 * bc the bias correction of this update. *m and *v are updated; returns the new weight. */
static inline NGP_HD float ngp_adam_update(float w, float g, float *m, float *v, float beta1, float beta2, float lr,
                                           float bc, float eps) {
  const float mi = ngp_add_rn(ngp_mul_rn(beta1, *m), ngp_mul_rn(1.0f - beta1, g));
  const float vi = ngp_add_rn(ngp_mul_rn(beta2, *v), ngp_mul_rn(ngp_mul_rn(1.0f - beta2, g), g));
  *m = mi;
  *v = vi;
  return w - lr * bc * mi / (sqrtf(vi) + eps);
}

/* The EMA of a weight after this step's update: d ema + (1 - d) w. */
static inline NGP_HD float ngp_ema_update(float ema, float w, float d) {
  return ngp_add_rn(ngp_mul_rn(d, ema), ngp_mul_rn(1.0f - d, w));
}

/* ExponentialDecay's rule: whether the learning-rate factor is multiplied by decay_base before the
 * optimizer step counted by `step` (0-based, steps applied so far) runs. Skipped steps are not
 * counted: they leave the schedule where it was. */
static inline NGP_HD int ngp_lr_decays_at(int enabled, int start, int interval, int end, int step) {
  return enabled && interval > 0 && step >= start && (step - start) % interval == 0 && step <= end;
}

/* Whether a training step is applied: its loss (summed over the batch) and every gradient it wrote
 * are finite. `grads_bad` is the OR of !isfinite over the gradients (a flag a reduction sets). A
 * step that is not applied changes nothing: no Adam moment, weight, EMA or schedule step. */
static inline NGP_HD int ngp_step_applies(double loss_sum, unsigned grads_bad) {
  return grads_bad == 0 && isfinite(loss_sum);
}

/* The loss scale of a step's fp16 gradients (the CUDA trainer's fused MLP backward; fp16 holds
 * 6e-8 .. 65504). The per-ray gradients arrive in fp32, largest magnitude max_abs (dL/d raw
 * density carries exp(raw density): ~1e5 at a raw density of 12, ~3e6 at 15, times dt and the
 * colour difference). They are multiplied by the scale before the rounding to fp16, and divided by
 * it again after. The scale is a power of two (exact both ways) with
 *   max_abs * scale <= NGP_FP16_GRAD_BOUND,
 * so the largest output gradient leaves a factor 65504 / 256 = 256 of headroom for the growth
 * through the layers' backward (a 64-wide layer with weights ~0.3 grows it ~2-20x); and at most
 * NGP_LOSS_SCALE_MAX (instant-ngp's loss scale), which lifts the small gradients above fp16's
 * flush to zero. max_abs 0 or not finite: NGP_LOSS_SCALE_MAX (a non-finite step is skipped
 * anyway). For every finite max_abs the scale is a normal float (>= 256 / FLT_MAX > 2^-126). */
#define NGP_LOSS_SCALE_MAX 128.0f
#define NGP_FP16_GRAD_BOUND 256.0f
static inline NGP_HD float ngp_loss_scale_for(float max_abs) {
  if (!(max_abs > 0.0f) || !isfinite(max_abs)) return NGP_LOSS_SCALE_MAX;
  const float q = NGP_FP16_GRAD_BOUND / max_abs; /* > 0; may round up by half an ulp: checked below */
  if (!(q < NGP_LOSS_SCALE_MAX)) return NGP_LOSS_SCALE_MAX;
  int e;
  (void)frexpf(q, &e); /* q = m 2^e, m in [0.5, 1): 2^(e-1) <= q */
  float s = ldexpf(1.0f, e - 1);
  if (max_abs * s > NGP_FP16_GRAD_BOUND) s *= 0.5f; /* q rounded up across a power of two */
  return s;
}

/* One step's schedule, as the CUDA trainer keeps it on the device (optimizer.c ngp_optimizer_step
 * and trainer.c optimize on the CPU): *lr = learning_rate * the factor after this step's decay (the
 * rate the step uses, or would have used); when the step applies (ngp_step_applies) that factor is
 * kept and *opt_step counted; when not, both stay. Returns whether it applies. */
static inline NGP_HD int ngp_schedule_step(float learning_rate, float decay_base, int decay_enabled, int decay_start,
                                           int decay_interval, int decay_end, double loss_sum, unsigned grads_bad,
                                           uint32_t *opt_step, float *lr_factor, float *lr) {
  float f = *lr_factor;
  if (ngp_lr_decays_at(decay_enabled, decay_start, decay_interval, decay_end, (int)*opt_step)) f *= decay_base;
  *lr = learning_rate * f;
  if (!ngp_step_applies(loss_sum, grads_bad)) return 0;
  *lr_factor = f;
  ++*opt_step;
  return 1;
}

#endif
