/* march.cu: ray marching through the occupancy bitfield (march.c's ngp_march_ray and
 * ngp_march_segment, one thread per ray, the per-sample rule shared through ngp_march_next). The
 * bitfield (at most 8 x 256 KiB) stays in L2; rays diverge in length, as they do in instant-ngp. */
#include <math.h>

#include "cuda/cuda_common.cuh"
#include "cuda/march.h"
#include "common/ngp_march_math.h"

__global__ void march_count_kernel(ngp_cuda_march mp, const uint32_t *d_n_rays, uint32_t max_rays, const float *origin,
                                   const float *dir, const float *jitter, int max_samples, float *t_start,
                                   float *t_exit, uint32_t *count) {
  const uint32_t n = ngp_dev_count(d_n_rays, max_rays), r = ngp_thread_index();
  if (r >= n) return;
  const float o[3] = {origin[r * 3], origin[r * 3 + 1], origin[r * 3 + 2]};
  const float d[3] = {dir[r * 3], dir[r * 3 + 1], dir[r * 3 + 2]};
  float ts = INFINITY, te = -1.0f;
  uint32_t c = 0;
  if (ngp_march_begin(mp.aabb_min, mp.aabb_max, mp.cone_angle, o, d, jitter[r], &ts, &te)) {
    const ngp_step_rule rule = ngp_step_rule_at(mp.cone_angle);
    float tt = ts, p[3], step, tsample;
    while ((int)c < max_samples && ngp_march_next(mp.bitfield, NULL, mp.max_mip, mp.aabb_min, mp.aabb_max, &rule, o, d,
                                                  te, &tt, p, &step, &tsample))
      c++;
  } else {
    ts = INFINITY;
    te = -1.0f;
  }
  t_start[r] = ts;
  t_exit[r] = te;
  count[r] = c;
}

__global__ void march_write_kernel(ngp_cuda_march mp, const uint32_t *d_n_rays, uint32_t max_rays, const float *origin,
                                   const float *dir, const float *t_start, const float *t_exit, uint32_t *count,
                                   const uint32_t *offset, uint32_t cap, uint8_t *dropped, float *x, float *dt,
                                   float *t, uint32_t *sample_ray, uint32_t *d_end) {
  const uint32_t n = ngp_dev_count(d_n_rays, max_rays), r = ngp_thread_index();
  if (r >= n) return;
  const uint32_t c = count[r], off = offset[r];
  if (c == 0) return;
  if ((uint64_t)off + c > cap) { /* over the buffer: the ray sits this step out */
    count[r] = 0;
    if (dropped) dropped[r] = 1;
    return;
  }
  atomicMax(d_end, off + c);
  const float o[3] = {origin[r * 3], origin[r * 3 + 1], origin[r * 3 + 2]};
  const float d[3] = {dir[r * 3], dir[r * 3 + 1], dir[r * 3 + 2]};
  const ngp_step_rule rule = ngp_step_rule_at(mp.cone_angle);
  float tt = t_start[r], te = t_exit[r], p[3], step, tsample;
  uint32_t j = 0;
  for (; j < c; j++) {
    /* The same march as the count pass, so it yields exactly c samples; should it ever yield
     * fewer (a rounding difference between the passes), the count written below says so, and no
     * later kernel reads a stale sample index. */
    if (!ngp_march_next(mp.bitfield, NULL, mp.max_mip, mp.aabb_min, mp.aabb_max, &rule, o, d, te, &tt, p, &step,
                        &tsample))
      break;
    const uint32_t s = off + j;
    float w[3];
    ngp_warp_position(p, mp.aabb_min, mp.aabb_max, w);
    x[s * 3] = w[0];
    x[s * 3 + 1] = w[1];
    x[s * 3 + 2] = w[2];
    dt[s] = step;
    if (t) t[s] = tsample;
    if (sample_ray) sample_ray[s] = r;
  }
  if (j < c) count[r] = j;
}

__global__ void march_segment_kernel(ngp_cuda_march mp, const uint32_t *d_n_live, uint32_t max_live,
                                     const uint32_t *live, const float *origin, const float *dir, float *t_cur,
                                     const float *t_exit, uint32_t *marched, uint8_t *march_done, int m,
                                     int max_samples, float *x, float *pos, float *dt, uint32_t *seg_count) {
  const uint32_t n = ngp_dev_count(d_n_live, max_live), i = ngp_thread_index();
  if (i >= n) return;
  const uint32_t r = live[i];
  const float o[3] = {origin[r * 3], origin[r * 3 + 1], origin[r * 3 + 2]};
  const float d[3] = {dir[r * 3], dir[r * 3 + 1], dir[r * 3 + 2]};
  int want = max_samples - (int)marched[r];
  if (want > m) want = m;
  const ngp_step_rule rule = ngp_step_rule_at(mp.cone_angle);
  float tt = t_cur[r], te = t_exit[r], p[3], step, tsample;
  int len = 0;
  const size_t base = (size_t)i * (size_t)m;
  while (len < want && ngp_march_next(mp.bitfield, NULL, mp.max_mip, mp.aabb_min, mp.aabb_max, &rule, o, d, te, &tt, p,
                                      &step, &tsample)) {
    float w[3];
    ngp_warp_position(p, mp.aabb_min, mp.aabb_max, w);
    for (int c = 0; c < 3; c++)
      x[(base + len) * 3 + c] = w[c];
    if (pos)
      for (int c = 0; c < 3; c++)
        pos[(base + len) * 3 + c] = p[c];
    dt[base + len] = step;
    len++;
  }
  for (int k = len; k < m; k++) {
    for (int c = 0; c < 3; c++)
      x[(base + k) * 3 + c] = 0.5f;
    if (pos)
      for (int c = 0; c < 3; c++)
        pos[(base + k) * 3 + c] = 0.5f * (mp.aabb_min[c] + mp.aabb_max[c]);
    dt[base + k] = 0.0f;
  }
  t_cur[r] = tt;
  marched[r] += (uint32_t)len;
  if (len < want || (int)marched[r] >= max_samples) march_done[r] = 1;
  seg_count[i] = (uint32_t)len;
}

extern "C" void ngp_march_count_cuda(const ngp_cuda_march *mp, const uint32_t *d_n_rays, uint32_t max_rays,
                                     const float *origin, const float *dir, const float *jitter, int max_samples,
                                     float *t_start, float *t_exit, uint32_t *count, ngp_stream stream) {
  march_count_kernel<<<ngp_cuda_blocks(max_rays, 128), 128, 0, stream>>>(*mp, d_n_rays, max_rays, origin, dir, jitter,
                                                                         max_samples, t_start, t_exit, count);
}

extern "C" void ngp_march_write_cuda(const ngp_cuda_march *mp, const uint32_t *d_n_rays, uint32_t max_rays,
                                     const float *origin, const float *dir, const float *t_start, const float *t_exit,
                                     uint32_t *count, const uint32_t *offset, uint32_t cap, uint8_t *dropped, float *x,
                                     float *dt, float *t, uint32_t *sample_ray, uint32_t *d_end, ngp_stream stream) {
  march_write_kernel<<<ngp_cuda_blocks(max_rays, 128), 128, 0, stream>>>(
      *mp, d_n_rays, max_rays, origin, dir, t_start, t_exit, count, offset, cap, dropped, x, dt, t, sample_ray, d_end);
}

extern "C" void ngp_march_segment_cuda(const ngp_cuda_march *mp, const uint32_t *d_n_live, uint32_t max_live,
                                       const uint32_t *live, const float *origin, const float *dir, float *t_cur,
                                       const float *t_exit, uint32_t *marched, uint8_t *march_done, int m,
                                       int max_samples, float *x, float *pos, float *dt, uint32_t *seg_count,
                                       ngp_stream stream) {
  march_segment_kernel<<<ngp_cuda_blocks(max_live, 128), 128, 0, stream>>>(*mp, d_n_live, max_live, live, origin, dir,
                                                                           t_cur, t_exit, marched, march_done, m,
                                                                           max_samples, x, pos, dt, seg_count);
}
