/* ngp_render_math.h: the per-ray rules of a render beyond the shaded colour, written once for the
 * CPU renderer (nerf.c render_rays) and the CUDA one (render.cu): where a ray starts with a near
 * distance, which samples the crop box hides, the opacity-weighted sums the depth, normals and
 * positions modes keep, the value each mode gives a pixel (NGP_RENDER_* in nerf/nerf.h), and the
 * normals' density gradient by central differences. Everything is `static inline` under NGP_HD
 * and compiles as C11 and as CUDA C++; positions in ngp units, vectors float[3]. The CPU renderer
 * calls these very functions, so its images are what they were before they moved here, and the
 * GPU test (tests/gpu/test_gpu_modes.c) holds the CUDA renderer's to them. */
#ifndef NGP_RENDER_MATH_H
#define NGP_RENDER_MATH_H

#include <math.h>

#include "common/ngp_math.h"
#include "common/ngp_nerf_math.h"

/* The render modes' values as nerf/nerf.h's ngp_render_mode numbers them (this header does not
 * include the engine's headers; nerf.h's enum is checked against these in nerf.c). */
#define NGP_RMODE_SHADE 0
#define NGP_RMODE_DEPTH 1
#define NGP_RMODE_NORMALS 2
#define NGP_RMODE_POSITIONS 3
#define NGP_RMODE_COST 4
/* Below this accumulated opacity a ray hit nothing: its depth, normal and position are 0. */
#define NGP_RENDER_MIN_OPACITY 0.01f

/* A ray's sums for the modes other than shade: sum w, sum w |p - o| and sum w x, where x is the
 * sample's position (positions) or the negated density gradient (normals). */
typedef struct ngp_render_acc {
  float wsum, depth, aux[3];
} ngp_render_acc;

static inline NGP_HD void ngp_render_acc_init(ngp_render_acc *a) {
  a->wsum = a->depth = a->aux[0] = a->aux[1] = a->aux[2] = 0.0f;
}

/* The jittered start t (ngp_march_begin) moved to the near distance when that lies past it
 * (near <= 0: no near distance). */
static inline NGP_HD float ngp_render_start(float t, float near_distance) {
  return near_distance > 0.0f && t < near_distance ? near_distance : t;
}

/* A sample's raw density as the render composites it: with a crop box (crop != 0), -inf outside
 * [cmin, cmax] (exp(-inf) = 0, so alpha 0: nothing there). */
static inline NGP_HD float ngp_render_crop_density(int crop, const float *cmin, const float *cmax, const float *p,
                                                   float raw_density) {
  return crop && !ngp_aabb_contains(cmin, cmax, p) ? -INFINITY : raw_density;
}

/* Adds one sample of weight w (ngp_composite_step's) at position p on the ray from origin o; grad
 * (normals only, may be NULL otherwise): the raw density's gradient at p. */
static inline NGP_HD void ngp_render_acc_add(ngp_render_acc *a, int mode, float w, const float *p, const float *o,
                                             const float *grad) {
  const float d[3] = {p[0] - o[0], p[1] - o[1], p[2] - o[2]};
  a->wsum += w;
  a->depth += w * sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  for (int c = 0; c < 3; c++)
    a->aux[c] += w * (mode == NGP_RMODE_NORMALS ? -grad[c] : p[c]);
}

/* The value a ray gives its pixel in a mode other than shade: cost the samples marched (all three
 * channels); else 0 below NGP_RENDER_MIN_OPACITY, and the weighted mean depth (all three), the
 * unit normal, or the weighted mean position. */
static inline NGP_HD void ngp_render_aux_value(const ngp_render_acc *a, int marched, int mode, float *out) {
  out[0] = out[1] = out[2] = 0.0f;
  if (mode == NGP_RMODE_COST) {
    out[0] = out[1] = out[2] = (float)marched;
    return;
  }
  if (a->wsum < NGP_RENDER_MIN_OPACITY) return;
  if (mode == NGP_RMODE_DEPTH) {
    out[0] = out[1] = out[2] = a->depth / a->wsum;
  } else if (mode == NGP_RMODE_POSITIONS) {
    for (int k = 0; k < 3; k++)
      out[k] = a->aux[k] / a->wsum;
  } else if (mode == NGP_RMODE_NORMALS) {
    const float len = sqrtf(a->aux[0] * a->aux[0] + a->aux[1] * a->aux[1] + a->aux[2] * a->aux[2]);
    if (len > 0.0f)
      for (int k = 0; k < 3; k++)
        out[k] = a->aux[k] / len;
  }
}

/* ---- Normals: the density gradient by central differences ---------------------------------------
 * d raw / d x_a = (raw(p + h e_a) - raw(p - h e_a)) / 2h, six density evaluations per sample, h
 * about two cells of a 2048-per-side grid over the scene box (fine enough for the hash grid's
 * finest levels, coarse enough that fp16 networks give a gradient rather than noise). The density
 * is exp(raw), so -grad(raw) points the way -grad(density) does. */

static inline NGP_HD float ngp_render_grad_step(const float *aabb_min, const float *aabb_max) {
  return (aabb_max[0] - aabb_min[0]) / 1024.0f;
}

/* p shifted by sign * h (sign -1 or +1) along axis a, into q. */
static inline NGP_HD void ngp_render_grad_probe(const float *p, int a, int sign, float h, float *q) {
  q[0] = p[0];
  q[1] = p[1];
  q[2] = p[2];
  q[a] += (float)sign * h;
}

/* One component of the gradient from the raw densities at p - h e_a and p + h e_a (summed from 0
 * in this order: the CPU renderer's images are bit for bit what they were). */
static inline NGP_HD float ngp_render_grad_component(float raw_minus, float raw_plus, float h) {
  return (0.0f - raw_minus / (2.0f * h)) + raw_plus / (2.0f * h);
}

#endif
