/* march.c: camera rays, ray marching through the occupancy grid and volume rendering forward and
 * backward, CPU reference (NGP-SPEC §1.4, §5, §6). The per-ray loops (camera ray, marching,
 * compositing and its backward) and the per-sample formulas come from common/ngp_march_math.h and
 * common/ngp_nerf_math.h, which the CUDA kernels share: this file is their C API.
 *
 * Shapes: k samples of one ray; raw_rgb [k][3], raw_density [k], dt [k], pos [k][3]. */
#include "nerf/march.h"

#include <math.h>
#include <string.h>

#include "common/ngp_march_math.h"
#include "common/ngp_nerf_math.h"

void ngp_camera_ray(const float *xform, const float focal[2], const float principal[2], const ngp_lens *lens, int width,
                    int height, float u, float v, float origin[3], float dir[3]) {
  static const float no_params[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  ngp_camera_ray_at(xform, focal, principal, lens ? (int)lens->mode : NGP_LENS_PINHOLE, lens ? lens->params : no_params,
                    width, height, u, v, origin, dir);
}

float ngp_cone_angle(int aabb_scale) { return aabb_scale <= 1 ? 0.0f : 1.0f / 256.0f; }

bool ngp_march_start(const float aabb_min[3], const float aabb_max[3], float cone_angle, const float origin[3],
                     const float dir[3], float jitter, float *t_start, float *t_exit) {
  return ngp_march_begin(aabb_min, aabb_max, cone_angle, origin, dir, jitter, t_start, t_exit) != 0;
}

int ngp_march_segment(const ngp_occupancy *g, const uint8_t *blocks, const float aabb_min[3], const float aabb_max[3],
                      float cone_angle, const float origin[3], const float dir[3], float *t_io, float t_exit,
                      int max_samples, float *pos, float *dt, float *t) {
  const uint8_t *bitfield = g ? g->bitfield : NULL;
  const int max_mip = g ? g->n_cascades - 1 : 0;
  const ngp_step_rule rule = ngp_step_rule_at(cone_angle);
  int k = 0;
  float ts;
  while (k < max_samples && ngp_march_next(bitfield, bitfield ? blocks : NULL, max_mip, aabb_min, aabb_max, &rule,
                                           origin, dir, t_exit, t_io, pos + 3 * k, &dt[k], &ts)) {
    if (t) t[k] = ts;
    k++;
  }
  return k;
}

int ngp_march_ray(const ngp_occupancy *g, const uint8_t *blocks, const float aabb_min[3], const float aabb_max[3],
                  float cone_angle, const float origin[3], const float dir[3], float jitter, int max_samples,
                  float *pos, float *dt, float *t) {
  float t0, t1;
  if (!ngp_march_start(aabb_min, aabb_max, cone_angle, origin, dir, jitter, &t0, &t1)) return 0;
  return ngp_march_segment(g, blocks, aabb_min, aabb_max, cone_angle, origin, dir, &t0, t1, max_samples, pos, dt, t);
}

int ngp_composite_forward(int k, const float *raw_rgb, const float *raw_density, const float *dt, const float bg[3],
                          float out[3], float *transmittance) {
  return ngp_composite_ray_forward(k, raw_rgb, 3, raw_density, dt, bg, out, transmittance);
}

void ngp_composite_backward(int k, const float *raw_rgb, const float *raw_density, const float *dt, const float bg[3],
                            const float dcolor[3], float *draw_rgb, float *draw_density) {
  ngp_composite_ray_backward(k, raw_rgb, 3, raw_density, dt, bg, dcolor, draw_rgb, 3, draw_density);
}

float ngp_loss_rgb(ngp_loss_type type, const float pred[3], const float target[3], float grad[3]) {
  float loss = 0.0f;
  for (int c = 0; c < 3; c++)
    loss += ngp_loss_channel(type, pred[c], target[c], &grad[c]);
  return loss;
}
