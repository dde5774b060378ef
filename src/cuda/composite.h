/* cuda/composite.h (internal): volume rendering on the GPU, one thread per ray: compositing
 * forward and backward (march.h's ngp_composite_forward / ngp_composite_backward, through the
 * shared ngp_composite_ray_* of ngp_march_math.h), the training step's transmittance compaction,
 * the fused composite + loss + backward of a training batch, and the renderer's segment step. */
#ifndef NGP_CUDA_COMPOSITE_H
#define NGP_CUDA_COMPOSITE_H

#include "cuda/cuda_types.h"
#include "common/ngp_render_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Per ray r < n (n = min(*d_n_rays, max_rays)), its count[r] samples at offset[r]: raw_rgb
 * [S][rgb_stride] (first 3 used), raw_density [S], dt [S]; bg [N][3]. Forward: color [N][3] (may be
 * NULL), T [N] final transmittance (may be NULL), used [N] samples composited before the cut-off
 * (may be NULL). With dcolor [N][3] (dL/dC per ray) also the backward: draw_rgb [S][drgb_stride]
 * (first 3 columns written) and draw_density [S], overwritten for the ray's samples. */
void ngp_composite_rays_cuda(const uint32_t *d_n_rays, uint32_t max_rays, const uint32_t *offset, const uint32_t *count,
                             const float *raw_rgb, int rgb_stride, const float *raw_density, const float *dt,
                             const float *bg, float *color, float *T, uint32_t *used, const float *dcolor,
                             float *draw_rgb, int drgb_stride, float *draw_density, ngp_stream stream);

/* Training compaction, per ray: follows the transmittance through the ray's count[r] marched
 * samples at offset[r] (raw_density, dt) with the training cut-off (T < 1e-4) and writes kept[r] =
 * the samples before it and ended[r] = 1 when the ray was cut off (it then sees no background). */
void ngp_transmittance_compact_cuda(const uint32_t *d_n_rays, uint32_t max_rays, const uint32_t *offset,
                                    const uint32_t *count, const float *raw_density, const float *dt, uint32_t *kept,
                                    uint8_t *ended, ngp_stream stream);

/* Per ray: a ray whose kept samples at coffset[r] would end past cap is dropped (dropped[r] = 1,
 * kept[r] = 0); *d_end (zeroed by the caller) becomes the end of the kept samples. */
void ngp_compact_bounds_cuda(const uint32_t *d_n_rays, uint32_t max_rays, uint32_t *kept, const uint32_t *coffset,
                             uint32_t cap, uint8_t *dropped, uint32_t *d_end, ngp_stream stream);

/* Per marched sample j < *d_n_marched: sample j of ray r = sample_ray[j] (local index j - offset[r])
 * is copied to coffset[r] + local when local < kept[r]: x [3], dt, t, and its fp16 encoding row
 * (enc_cols columns of ld enc_ld), and c_ray[dst] = r. */
void ngp_compact_samples_cuda(const uint32_t *d_n_marched, uint32_t max_marched, const uint32_t *sample_ray,
                              const uint32_t *offset, const uint32_t *kept, const uint32_t *coffset, const float *x,
                              const float *dt, const float *t, const ngp_half *enc, int enc_ld, float *c_x, float *c_dt,
                              float *c_t, ngp_half *c_enc, uint32_t *c_ray, ngp_stream stream);

/* The training batch's composite, loss and their backward, per ray r < n_rays (trainer.c's
 * composite_rays). The loss gradient is multiplied by grad_scale instead of trainer.c's 1/n_rays
 * (the trainer passes 1: each ray's own gradient in fp32; Adam divides by the rays, and the fp16
 * loss scale is applied later from d_grad_max); the extra density terms (near-camera penalty,
 * anti-collapse push) are scaled to match: extra * grad_scale * n_rays. */
typedef struct ngp_cuda_train_composite {
  const uint32_t *d_n_rays;
  uint32_t max_rays;
  const uint32_t *coffset, *kept;    /* per ray: compacted samples */
  const uint8_t *ended, *dropped;    /* per ray */
  const float *raw_rgb;              /* [S][4] (first 3 used) */
  const float *raw_density, *dt, *t; /* [S] */
  const float *bg, *target;          /* [N][3] */
  int loss_type;                     /* ngp_loss_type */
  float grad_scale;                  /* the trainer passes 1: ngp_loss_scale_cuda scales later */
  float near_distance;
  const float *d_grid_mean;               /* the occupancy grid's cascade-0 mean (device scalar) */
  float *draw_rgb;                        /* [S][4] (first 3 written) */
  float *draw_density;                    /* [S] */
  double *d_loss_sum;                     /* += per-ray loss (mean over channels) of the rays kept */
  uint32_t *d_rays_used, *d_samples_used; /* += rays kept, samples composited */
  uint32_t *d_grad_max;                   /* (may be NULL) max over the bits of |draw_rgb|, |draw_density| written
                                             (a float >= 0; zeroed by the caller) */
} ngp_cuda_train_composite;

void ngp_composite_train_cuda(const ngp_cuda_train_composite *p, ngp_stream stream);

/* *d_scale = ngp_loss_scale_for(the float whose bits are *d_grad_max) (common/ngp_optimizer_math.h):
 * the step's fp16 loss scale, for ngp_mlp_backward_cuda and ngp_mlp_weight_grad_cuda. */
void ngp_loss_scale_cuda(const uint32_t *d_grad_max, float *d_scale, ngp_stream stream);

/* Rendering, per live slot i < *d_n_live (ray r = live[i]): composites the slot's segment of
 * seg_count[i] samples at [i*m, ...) on its own (raw_rgb [.][4], raw_density, dt), then col[r] +=
 * T[r] * C_seg and T[r] *= T_seg (the CPU renderer's rule). A ray is finished when march_done[r] or
 * T[r] < min_transmittance: its pixel (pixel0 + r) gets out[3] += clamp(col + T bg, 0, 1);
 * otherwise it is appended to live_next (*d_n_next, counted with atomics). */
void ngp_composite_segment_cuda(const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live, int m,
                                const uint32_t *seg_count, const float *raw_rgb, const float *raw_density,
                                const float *dt, const uint8_t *march_done, float *T, float *col,
                                float min_transmittance, const float *bg, float *out, uint32_t pixel0,
                                uint32_t *live_next, uint32_t *d_n_next, ngp_stream stream);

/* Rendering in a mode other than shade (NGP_RENDER_DEPTH .. NGP_RENDER_COST, mode), per live slot
 * as ngp_composite_segment_cuda: sample by sample (the CPU renderer's order), T[r] =
 * ngp_composite_step(...) and the ray's sums acc[r] += the sample's weight with its position pos
 * [.][3] (ngp units) from origin[r], or its raw-density gradient grad [.][3] (normals; NULL
 * otherwise) (common/ngp_render_math.h). A finished ray's pixel gets out[3] +=
 * ngp_render_aux_value(acc[r], marched[r], mode); the others go to live_next. */
void ngp_composite_segment_aux_cuda(const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live, int m,
                                    const uint32_t *seg_count, const float *raw_rgb, const float *raw_density,
                                    const float *dt, const float *pos, const float *grad, const float *origin,
                                    const uint32_t *marched, const uint8_t *march_done, int mode, float *T,
                                    ngp_render_acc *acc, float min_transmittance, float *out, uint32_t pixel0,
                                    uint32_t *live_next, uint32_t *d_n_next, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
