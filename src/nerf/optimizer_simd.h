/* optimizer_simd.h (internal): what a vectorised sweep of Adam over the touched hash entries needs
 * (optimizer.c fills it; optimizer_avx512.c runs it). The arithmetic is the scalar path's
 * (optimizer.c adam_one, common/ngp_optimizer_math.h) lane by lane, with the same roundings, so the
 * results are bit-identical (tests/test_optimizer.c checks it). */
#ifndef NGP_NERF_OPTIMIZER_SIMD_H
#define NGP_NERF_OPTIMIZER_SIMD_H

#include <stddef.h>
#include <stdint.h>

typedef struct ngp_adam_sweep {
  float *params, *grads, *m, *v, *ema; /* ema NULL: no EMA in the chain */
  uint32_t *t, *ema_step;
  const float *bias_corr; /* [k] for every k <= t_now */
  const double *ema_pow;  /* [n] = decay^n for every n < t_now */
  const uint64_t *bits;   /* the touched bitmap: entry e is parameters n_matrix + e*F .. + F */
  uint16_t *half;         /* or NULL: weight n_matrix + j changed -> half[j] = ngp_f32_to_f16 of it */
  size_t n_matrix;
  int F; /* entry size; the sweep needs 16 % F == 0 */
  float inv_scale, lr, beta1, beta2, eps, ema_decay;
  uint32_t t_now; /* this step, 1-based */
} ngp_adam_sweep;

/* Adam (with the EMA caught up before and updated after) on every parameter of the touched entries
 * in bitmap words [w0, w1) whose unscaled gradient is non-zero; every gradient of those entries is
 * reset to 0; with half, each changed weight's fp16 copy is rewritten. Needs AVX-512F (the caller
 * checks the CPU). */
void ngp_adam_sweep_avx512(const ngp_adam_sweep *a, size_t w0, size_t w1);
/* The same with AVX2, 8 parameters at a time (needs 8 % F == 0). */
void ngp_adam_sweep_avx2(const ngp_adam_sweep *a, size_t w0, size_t w1);

#endif
