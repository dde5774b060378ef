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

#endif
