/* composite.cu: volume rendering per ray (NGP-SPEC §6): compositing forward/backward, the
 * training step's transmittance compaction and fused composite + loss + backward, and the
 * renderer's segment step. One thread per ray walks the ray's contiguous samples in order, with the
 * CPU's formulas (ngp_march_math.h, ngp_nerf_math.h). */
#include "cuda/cuda_common.cuh"
#include "cuda/composite.h"
#include "common/ngp_march_math.h"
#include "common/ngp_optimizer_math.h"
#include "common/ngp_render_math.h"

__global__ void composite_rays_kernel(const uint32_t *d_n_rays, uint32_t max_rays, const uint32_t *offset,
                                      const uint32_t *count, const float *raw_rgb, int rgb_stride,
                                      const float *raw_density, const float *dt, const float *bg, float *color,
                                      float *T_out, uint32_t *used, const float *dcolor, float *draw_rgb,
                                      int drgb_stride, float *draw_density) {
  const uint32_t n = ngp_dev_count(d_n_rays, max_rays), r = ngp_thread_index();
  if (r >= n) return;
  const uint32_t off = offset[r];
  const int k = (int)count[r];
  const float b[3] = {bg[r * 3], bg[r * 3 + 1], bg[r * 3 + 2]};
  float c[3], T;
  int u = ngp_composite_ray_forward(k, raw_rgb + (size_t)off * rgb_stride, rgb_stride, raw_density + off, dt + off, b,
                                    c, &T);
  if (color)
    for (int q = 0; q < 3; q++)
      color[r * 3 + q] = c[q];
  if (T_out) T_out[r] = T;
  if (used) used[r] = (uint32_t)u;
  if (dcolor) {
    const float g[3] = {dcolor[r * 3], dcolor[r * 3 + 1], dcolor[r * 3 + 2]};
    ngp_composite_ray_backward(k, raw_rgb + (size_t)off * rgb_stride, rgb_stride, raw_density + off, dt + off, b, g,
                               draw_rgb + (size_t)off * drgb_stride, drgb_stride, draw_density + off);
  }
}

extern "C" void ngp_composite_rays_cuda(const uint32_t *d_n_rays, uint32_t max_rays, const uint32_t *offset,
                                        const uint32_t *count, const float *raw_rgb, int rgb_stride,
                                        const float *raw_density, const float *dt, const float *bg, float *color,
                                        float *T, uint32_t *used, const float *dcolor, float *draw_rgb, int drgb_stride,
                                        float *draw_density, ngp_stream stream) {
  if (max_rays == 0) return;
  composite_rays_kernel<<<ngp_cuda_blocks(max_rays, 128), 128, 0, stream>>>(
      d_n_rays, max_rays, offset, count, raw_rgb, rgb_stride, raw_density, dt, bg, color, T, used, dcolor, draw_rgb,
      drgb_stride, draw_density);
}

/* ---- Training compaction ----------------------------------------------------------------------------- */

__global__ void transmittance_compact_kernel(const uint32_t *d_n_rays, uint32_t max_rays, const uint32_t *offset,
                                             const uint32_t *count, const float *raw_density, const float *dt,
                                             uint32_t *kept, uint8_t *ended) {
  const uint32_t n = ngp_dev_count(d_n_rays, max_rays), r = ngp_thread_index();
  if (r >= n) return;
  const uint32_t off = offset[r], len = count[r];
  const float zero_rgb[3] = {0.0f, 0.0f, 0.0f};
  float T = 1.0f, color[3] = {0.0f, 0.0f, 0.0f};
  uint32_t k = 0;
  /* trainer.c scan_round: keep samples while T >= 1e-4 */
  for (; k < len; k++) {
    if (T < NGP_MIN_TRANSMITTANCE) break;
    T = ngp_composite_step(T, zero_rgb, raw_density[off + k], dt[off + k], color, NULL);
  }
  kept[r] = k;
  ended[r] = T < NGP_MIN_TRANSMITTANCE ? 1 : 0;
}

extern "C" void ngp_transmittance_compact_cuda(const uint32_t *d_n_rays, uint32_t max_rays, const uint32_t *offset,
                                               const uint32_t *count, const float *raw_density, const float *dt,
                                               uint32_t *kept, uint8_t *ended, ngp_stream stream) {
  if (max_rays == 0) return;
  transmittance_compact_kernel<<<ngp_cuda_blocks(max_rays, 128), 128, 0, stream>>>(d_n_rays, max_rays, offset, count,
                                                                                   raw_density, dt, kept, ended);
}

__global__ void compact_bounds_kernel(const uint32_t *d_n_rays, uint32_t max_rays, uint32_t *kept,
                                      const uint32_t *coffset, uint32_t cap, uint8_t *dropped, uint32_t *d_end) {
  const uint32_t n = ngp_dev_count(d_n_rays, max_rays), r = ngp_thread_index();
  if (r >= n) return;
  const uint32_t k = kept[r];
  if (k == 0) return;
  if ((uint64_t)coffset[r] + k > cap) {
    kept[r] = 0;
    dropped[r] = 1;
    return;
  }
  atomicMax(d_end, coffset[r] + k);
}

extern "C" void ngp_compact_bounds_cuda(const uint32_t *d_n_rays, uint32_t max_rays, uint32_t *kept,
                                        const uint32_t *coffset, uint32_t cap, uint8_t *dropped, uint32_t *d_end,
                                        ngp_stream stream) {
  if (max_rays == 0) return;
  compact_bounds_kernel<<<ngp_cuda_blocks(max_rays, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      d_n_rays, max_rays, kept, coffset, cap, dropped, d_end);
}

__global__ void compact_samples_kernel(const uint32_t *d_n_marched, uint32_t max_marched, const uint32_t *sample_ray,
                                       const uint32_t *offset, const uint32_t *kept, const uint32_t *coffset,
                                       const float *x, const float *dt, const float *t, const __half *enc, int enc_ld,
                                       float *c_x, float *c_dt, float *c_t, __half *c_enc, uint32_t *c_ray) {
  const uint32_t n = ngp_dev_count(d_n_marched, max_marched), j = ngp_thread_index();
  if (j >= n) return;
  const uint32_t r = sample_ray[j], local = j - offset[r];
  if (local >= kept[r]) return;
  const uint32_t dst = coffset[r] + local;
  for (int c = 0; c < 3; c++)
    c_x[dst * 3 + c] = x[j * 3 + c];
  c_dt[dst] = dt[j];
  c_t[dst] = t[j];
  c_ray[dst] = r;
  /* The encoding row, 16 bytes at a time (enc_ld is a multiple of 8). */
  const uint4 *src = (const uint4 *)(enc + (size_t)j * enc_ld);
  uint4 *out = (uint4 *)(c_enc + (size_t)dst * enc_ld);
  for (int v = 0; v < enc_ld / 8; v++)
    out[v] = src[v];
}

extern "C" void ngp_compact_samples_cuda(const uint32_t *d_n_marched, uint32_t max_marched, const uint32_t *sample_ray,
                                         const uint32_t *offset, const uint32_t *kept, const uint32_t *coffset,
                                         const float *x, const float *dt, const float *t, const ngp_half *enc,
                                         int enc_ld, float *c_x, float *c_dt, float *c_t, ngp_half *c_enc,
                                         uint32_t *c_ray, ngp_stream stream) {
  if (max_marched == 0) return;
  compact_samples_kernel<<<ngp_cuda_blocks(max_marched, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      d_n_marched, max_marched, sample_ray, offset, kept, coffset, x, dt, t, (const __half *)enc, enc_ld, c_x, c_dt,
      c_t, (__half *)c_enc, c_ray);
}

/* ---- Training: composite, loss, backward ----------------------------------------------------------- */

static __device__ double warp_sum_double(double v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

static __device__ uint32_t warp_sum_u32(uint32_t v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

__global__ void composite_train_kernel(ngp_cuda_train_composite p) {
  const uint32_t n = ngp_dev_count(p.d_n_rays, p.max_rays), r = ngp_thread_index();
  double loss = 0.0;
  uint32_t rays = 0, samples = 0;
  float gmax = 0.0f; /* the largest gradient written (NaN stays NaN: fmaxf would drop it) */
  if (r < n && !p.dropped[r]) {
    const uint32_t off = p.coffset[r];
    const int k = (int)p.kept[r];
    const float zero[3] = {0.0f, 0.0f, 0.0f};
    const float b[3] = {p.bg[r * 3], p.bg[r * 3 + 1], p.bg[r * 3 + 2]};
    /* A ray cut off by early termination never sees the background (compaction removed the
     * samples that would have shown it was cut off). */
    const float *bgr = p.ended[r] ? zero : b;
    float color[3], T, grad[3];
    const int used =
        ngp_composite_ray_forward(k, p.raw_rgb + (size_t)off * 4, 4, p.raw_density + off, p.dt + off, bgr, color, &T);
    float l = 0.0f;
    for (int c = 0; c < 3; c++)
      l += ngp_loss_channel((ngp_loss_type)p.loss_type, color[c], p.target[r * 3 + c], &grad[c]);
    loss = (double)(l / 3.0f);
    rays = 1;
    samples = (uint32_t)used;
    for (int c = 0; c < 3; c++)
      grad[c] *= p.grad_scale;
    ngp_composite_ray_backward(k, p.raw_rgb + (size_t)off * 4, 4, p.raw_density + off, p.dt + off, bgr, grad,
                               p.draw_rgb + (size_t)off * 4, 4, p.draw_density + off);
    /* Extra terms of NGP-SPEC §6, added unscaled by instant-ngp (1e-4 / 128 in trainer.c's units of
     * 1/n_rays): a penalty on density right in front of the camera, and a push against collapse. */
    const float extra = 1e-4f / 128.0f * p.grad_scale * (float)n;
    const float mean = *p.d_grid_mean;
    for (int q = 0; q < k; q++) {
      const float raw = p.raw_density[off + q];
      float dd = p.draw_density[off + q];
      if (raw > -10.0f && p.t[off + q] < p.near_distance) dd += extra;
      if (raw < 0.0f && mean < 0.01f) dd -= extra;
      p.draw_density[off + q] = dd;
      const float a = fabsf(dd);
      gmax = a > gmax || a != a ? a : gmax;
      for (int c = 0; c < 3; c++) {
        const float ac = fabsf(p.draw_rgb[(size_t)(off + q) * 4 + c]);
        gmax = ac > gmax || ac != ac ? ac : gmax;
      }
    }
  }
  if (p.d_grad_max && gmax != 0.0f) atomicMax(p.d_grad_max, __float_as_uint(gmax)); /* >= 0: bits order as values */
  /* One atomic per warp for the statistics. */
  loss = warp_sum_double(loss);
  rays = warp_sum_u32(rays);
  samples = warp_sum_u32(samples);
  if ((threadIdx.x & 31) == 0 && rays) {
    atomicAdd(p.d_loss_sum, loss);
    atomicAdd(p.d_rays_used, rays);
    atomicAdd(p.d_samples_used, samples);
  }
}

extern "C" void ngp_composite_train_cuda(const ngp_cuda_train_composite *p, ngp_stream stream) {
  if (p->max_rays == 0) return;
  composite_train_kernel<<<ngp_cuda_blocks(p->max_rays, 128), 128, 0, stream>>>(*p);
}

__global__ void loss_scale_kernel(const uint32_t *grad_max, float *scale) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *scale = ngp_loss_scale_for(__uint_as_float(*grad_max));
}

extern "C" void ngp_loss_scale_cuda(const uint32_t *d_grad_max, float *d_scale, ngp_stream stream) {
  loss_scale_kernel<<<1, 32, 0, stream>>>(d_grad_max, d_scale);
}

/* ---- Rendering: one segment per live ray ------------------------------------------------------------ */

__global__ void composite_segment_kernel(const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live, int m,
                                         const uint32_t *seg_count, const float *raw_rgb, const float *raw_density,
                                         const float *dt, const uint8_t *march_done, float *T, float *col,
                                         float min_transmittance, const float *bg, float *out, uint32_t pixel0,
                                         uint32_t *live_next, uint32_t *d_n_next) {
  const uint32_t n = ngp_dev_count(d_n_live, max_live), i = ngp_thread_index();
  if (i >= n) return;
  const uint32_t r = live[i];
  const size_t base = (size_t)i * (size_t)m;
  const float zero[3] = {0.0f, 0.0f, 0.0f};
  float c[3], t_seg = 1.0f;
  /* This segment composited on its own (no background), then attenuated by the light already
   * absorbed in front of it: C += T * C_seg, T *= T_seg (nerf.c render_tile). */
  ngp_composite_ray_forward((int)seg_count[i], raw_rgb + base * 4, 4, raw_density + base, dt + base, zero, c, &t_seg);
  float Tr = T[r];
  float cr[3];
  for (int k = 0; k < 3; k++)
    cr[k] = col[r * 3 + k] + Tr * c[k];
  Tr *= t_seg;
  if (march_done[r] || Tr < min_transmittance) {
    float *o = out + (size_t)(pixel0 + r) * 3;
    for (int k = 0; k < 3; k++) {
      float v = cr[k] + Tr * bg[k];
      o[k] += v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    return;
  }
  T[r] = Tr;
  for (int k = 0; k < 3; k++)
    col[r * 3 + k] = cr[k];
  live_next[atomicAdd(d_n_next, 1u)] = r;
}

extern "C" void ngp_composite_segment_cuda(const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live, int m,
                                           const uint32_t *seg_count, const float *raw_rgb, const float *raw_density,
                                           const float *dt, const uint8_t *march_done, float *T, float *col,
                                           float min_transmittance, const float *bg, float *out, uint32_t pixel0,
                                           uint32_t *live_next, uint32_t *d_n_next, ngp_stream stream) {
  if (max_live == 0) return;
  composite_segment_kernel<<<ngp_cuda_blocks(max_live, 128), 128, 0, stream>>>(
      d_n_live, max_live, live, m, seg_count, raw_rgb, raw_density, dt, march_done, T, col, min_transmittance, bg, out,
      pixel0, live_next, d_n_next);
}

__global__ void composite_segment_aux_kernel(const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live, int m,
                                             const uint32_t *seg_count, const float *raw_rgb, const float *raw_density,
                                             const float *dt, const float *pos, const float *grad, const float *origin,
                                             const uint32_t *marched, const uint8_t *march_done, int mode, float *T,
                                             ngp_render_acc *acc, float min_transmittance, float *out, uint32_t pixel0,
                                             uint32_t *live_next, uint32_t *d_n_next) {
  const uint32_t n = ngp_dev_count(d_n_live, max_live), i = ngp_thread_index();
  if (i >= n) return;
  const uint32_t r = live[i];
  const size_t base = (size_t)i * (size_t)m;
  const float o[3] = {origin[r * 3], origin[r * 3 + 1], origin[r * 3 + 2]};
  float Tr = T[r], col[3] = {0.0f, 0.0f, 0.0f}; /* the colour is not wanted here, only the weights */
  ngp_render_acc a = acc[r];
  /* Sample by sample, every sample of the segment (nerf.c render_rays' loop for these modes). */
  for (uint32_t k = 0; k < seg_count[i]; k++) {
    const size_t j = base + k;
    float w = 0.0f;
    Tr = ngp_composite_step(Tr, raw_rgb + j * 4, raw_density[j], dt[j], col, &w);
    ngp_render_acc_add(&a, mode, w, pos + j * 3, o, grad ? grad + j * 3 : NULL);
  }
  if (march_done[r] || Tr < min_transmittance) {
    float v[3];
    ngp_render_aux_value(&a, (int)marched[r], mode, v);
    float *px = out + (size_t)(pixel0 + r) * 3;
    for (int k = 0; k < 3; k++)
      px[k] += v[k];
    return;
  }
  T[r] = Tr;
  acc[r] = a;
  live_next[atomicAdd(d_n_next, 1u)] = r;
}

extern "C" void ngp_composite_segment_aux_cuda(const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live, int m,
                                               const uint32_t *seg_count, const float *raw_rgb,
                                               const float *raw_density, const float *dt, const float *pos,
                                               const float *grad, const float *origin, const uint32_t *marched,
                                               const uint8_t *march_done, int mode, float *T, ngp_render_acc *acc,
                                               float min_transmittance, float *out, uint32_t pixel0,
                                               uint32_t *live_next, uint32_t *d_n_next, ngp_stream stream) {
  if (max_live == 0) return;
  composite_segment_aux_kernel<<<ngp_cuda_blocks(max_live, 128), 128, 0, stream>>>(
      d_n_live, max_live, live, m, seg_count, raw_rgb, raw_density, dt, pos, grad, origin, marched, march_done, mode, T,
      acc, min_transmittance, out, pixel0, live_next, d_n_next);
}
