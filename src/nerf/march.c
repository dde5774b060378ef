/* march.c: camera rays, ray marching through the occupancy grid and volume rendering forward and
 * backward, CPU reference (NGP-SPEC §1.4, §5, §6). Per-sample formulas (step rule, cell lookup,
 * compositing step, losses) come from ngp_nerf_math.h, which the CUDA kernels share.
 *
 * Shapes: k samples of one ray; raw_rgb [k][3], raw_density [k], dt [k], pos [k][3]. */
#include "nerf/march.h"

#include <math.h>
#include <string.h>

#include "common/ngp_nerf_math.h"

void ngp_camera_ray(const float *xform, const float focal[2], const float principal[2], const ngp_lens *lens, int width,
                    int height, float u, float v, float origin[3], float dir[3]) {
  int mode = lens ? (int)lens->mode : NGP_LENS_PINHOLE;
  static const float no_params[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  ngp_uv_to_dir(xform, focal, principal, mode, lens ? lens->params : no_params, width, height, u, v, dir);
  float n = sqrtf(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
  for (int k = 0; k < 3; k++) {
    dir[k] /= n;
    origin[k] = xform[k * 4 + 3];
  }
}

float ngp_cone_angle(int aabb_scale) { return aabb_scale <= 1 ? 0.0f : 1.0f / 256.0f; }

bool ngp_march_start(const float aabb_min[3], const float aabb_max[3], float cone_angle, const float origin[3],
                     const float dir[3], float jitter, float *t_start, float *t_exit) {
  float t_enter;
  if (!ngp_ray_aabb(origin, dir, aabb_min, aabb_max, &t_enter, t_exit)) return false;
  /* Start at the box entry (or the origin, if inside), jittered by a fraction of one step in
   * stepping space, so the lattice of sample positions is shifted per ray. */
  *t_start = ngp_advance_n_steps(ngp_maxf(t_enter, 0.0f), cone_angle, jitter);
  return true;
}

int ngp_march_segment(const ngp_occupancy *g, const float aabb_min[3], const float aabb_max[3], float cone_angle,
                      const float origin[3], const float dir[3], float *t_io, float t_exit, int max_samples, float *pos,
                      float *dt, float *t) {
  float tt = *t_io;
  int max_mip = g ? g->n_cascades - 1 : 0;
  int k = 0;
  /* The ray is inside the box for t in [t_enter, t_exit]. Upstream tests the position instead,
   * which loses rays whose start at the box face rounds to just outside (jitter 0); here the
   * parameter decides and the position is clamped into the box (a change of at most an ulp). */
  while (k < max_samples && tt <= t_exit) {
    float p[3];
    for (int c = 0; c < 3; c++)
      p[c] = ngp_minf(ngp_maxf(origin[c] + tt * dir[c], aabb_min[c]), aabb_max[c]);
    float step = ngp_calc_dt(tt, cone_angle);
    /* Look the step up in a cascade whose cells are about as large as the step. */
    int mip = ngp_mip_from_dt(step, p, max_mip);
    if (!g || ngp_grid_occupied_at(g->bitfield, p, mip)) {
      memcpy(pos + 3 * k, p, sizeof p);
      dt[k] = step;
      if (t) t[k] = tt;
      k++;
      tt += step;
    } else {
      float next = ngp_advance_to_next_voxel(tt, cone_angle, p, dir, mip);
      if (!(next > tt)) { /* no progress (t beyond float resolution): give up on the ray */
        tt = INFINITY;
        break;
      }
      tt = next;
    }
  }
  *t_io = tt;
  return k;
}

int ngp_march_ray(const ngp_occupancy *g, const float aabb_min[3], const float aabb_max[3], float cone_angle,
                  const float origin[3], const float dir[3], float jitter, int max_samples, float *pos, float *dt,
                  float *t) {
  float t0, t1;
  if (!ngp_march_start(aabb_min, aabb_max, cone_angle, origin, dir, jitter, &t0, &t1)) return 0;
  return ngp_march_segment(g, aabb_min, aabb_max, cone_angle, origin, dir, &t0, t1, max_samples, pos, dt, t);
}

int ngp_composite_forward(int k, const float *raw_rgb, const float *raw_density, const float *dt, const float bg[3],
                          float out[3], float *transmittance) {
  out[0] = out[1] = out[2] = 0.0f;
  float T = 1.0f;
  int j = 0;
  for (; j < k; j++) {
    if (T < NGP_MIN_TRANSMITTANCE) break;
    T = ngp_composite_step(T, raw_rgb + 3 * j, raw_density[j], dt[j], out, NULL);
  }
  /* The background shows through only where the ray was not cut off (as upstream). */
  if (j == k)
    for (int c = 0; c < 3; c++)
      out[c] += T * bg[c];
  if (transmittance) *transmittance = T;
  return j;
}

void ngp_composite_backward(int k, const float *raw_rgb, const float *raw_density, const float *dt, const float bg[3],
                            const float dcolor[3], float *draw_rgb, float *draw_density) {
  /* The total colour C (background included when it was added) gives every suffix. */
  float C[3];
  int n = ngp_composite_forward(k, raw_rgb, raw_density, dt, bg, C, NULL);
  float acc[3] = {0.0f, 0.0f, 0.0f};
  float T = 1.0f;
  for (int j = 0; j < n; j++) {
    /* forward: T = ngp_composite_step(T, raw_rgb + 3 * j, raw_density[j], dt[j], out, NULL); */
    float w;
    float T_next = ngp_composite_step(T, raw_rgb + 3 * j, raw_density[j], dt[j], acc, &w);
    float suffix[3] = {C[0] - acc[0], C[1] - acc[1], C[2] - acc[2]};
    ngp_composite_step_backward(w, T_next, raw_rgb + 3 * j, raw_density[j], dt[j], suffix, dcolor, draw_rgb + 3 * j,
                                &draw_density[j]);
    T = T_next;
  }
  /* Samples after the cut-off did not contribute. */
  for (int j = n; j < k; j++) {
    draw_rgb[3 * j] = draw_rgb[3 * j + 1] = draw_rgb[3 * j + 2] = 0.0f;
    draw_density[j] = 0.0f;
  }
}

float ngp_loss_rgb(ngp_loss_type type, const float pred[3], const float target[3], float grad[3]) {
  float loss = 0.0f;
  for (int c = 0; c < 3; c++)
    loss += ngp_loss_channel(type, pred[c], target[c], &grad[c]);
  return loss;
}
