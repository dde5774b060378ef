/* optimizer.h (internal): Adam with instant-ngp's sparse behaviour, exponential learning-rate
 * decay, and the EMA of the weights used for rendering and snapshots (NGP-SPEC §7).
 *
 * Parameter vector: [0, n_matrix) are MLP weights ("matrix" parameters: L2 regularisation, always
 * updated); [n_matrix, n_params) are hash-table entries of entry_size floats each, entry e at
 * n_matrix + e*entry_size. Only entries listed in the touched set are visited, and within them
 * parameters whose gradient is exactly zero are skipped entirely (moments, step counter and
 * weight untouched), so a step costs what the batch touched, not the whole table. */
#ifndef NGP_NERF_OPTIMIZER_H
#define NGP_NERF_OPTIMIZER_H

#include "nerf/encoding.h"
#include "ngp/config.h"

typedef struct ngp_optimizer {
  ngp_optimizer_config cfg;
  size_t n_params, n_matrix;
  int entry_size;
  int step;           /* optimizer steps taken */
  float lr_factor;    /* product of the decays applied so far */
  float *m, *v;       /* Adam moments */
  uint32_t *t;        /* per-parameter step counters (bias correction uses each parameter's own t) */
  float *ema;         /* the EMA weights (debiased on read), kept lazily for untouched entries */
  uint32_t *ema_step; /* per parameter: the step up to which its EMA is current */
  /* NULL, or an fp16 copy of the hash entries' weights, [n_params - n_matrix] (the trainer's: its
   * forward passes read it, as the CUDA trainer's read its own): wherever a step changes weight
   * n_matrix + j it also writes half[j] = ngp_f32_to_f16 of the new weight (common/ngp_half.h),
   * so a copy made equal to the rounded weights stays so. Set with ngp_optimizer_keep_f16. */
  uint16_t *half;
  /* whatever else the implementation needs */
  void *impl;
} ngp_optimizer;

/* params: the initial weights (the EMA starts from them). */
ngp_status ngp_optimizer_init(ngp_optimizer *o, const ngp_optimizer_config *cfg, size_t n_matrix, size_t n_params,
                              int entry_size, const float *params, ngp_error *err);
void ngp_optimizer_free(ngp_optimizer *o);

/* From the next step on, keep half (see the struct; NULL: none) current with the weights. The
 * caller makes it equal to the rounded weights first (ngp_hashgrid_table_f16). */
void ngp_optimizer_keep_f16(ngp_optimizer *o, uint16_t *half);

/* One step. grads hold d(loss * loss_scale)/d(params) (instant-ngp's fp16 loss scale; divided
 * back out here). Updates the learning-rate decay, Adam, then the EMA. Consumes the gradients:
 * every gradient it reads (all matrix ones, the touched entries') is reset to zero, so the next
 * backward pass can accumulate from zero without clearing the whole vector. */
void ngp_optimizer_step(ngp_optimizer *o, float *params, float *grads, const ngp_touched *touched, float loss_scale,
                        int n_threads);

/* Brings every EMA value up to date and writes the debiased EMA weights into out[n_params]
 * (before the first step: the parameters themselves). */
void ngp_optimizer_ema(ngp_optimizer *o, const float *params, float *out);

/* The learning rate the next step will use. */
float ngp_optimizer_learning_rate(const ngp_optimizer *o);

#endif
