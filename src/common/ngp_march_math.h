/* ngp_march_math.h: per-ray helpers of the training step, rendering and the occupancy update,
 * written once for the CPU and the CUDA kernels: training-ray randomness and targets, camera rays,
 * marching through the occupancy bitfield one sample at a time, compositing a whole ray forward
 * and backward with strided inputs, and the occupancy update's sample positions.
 *
 * They restate, in NGP_HD form, exactly what the CPU engine does in trainer.c (ray_setup),
 * march.c (ngp_camera_ray, ngp_march_start, ngp_march_segment, ngp_composite_forward/backward)
 * and occupancy.c (gen_piece): the same formulas in the same order, so the CPU engine could call
 * these directly, and test_march_math.c checks that they give bit-identical results to those
 * functions on the CPU. Everything compiles as C11 and as CUDA C++ (no VLAs, no compound
 * literals). Positions in ngp units; vectors float[3]. */
#ifndef NGP_MARCH_MATH_H
#define NGP_MARCH_MATH_H

#include <math.h>
#include <stdint.h>

#include "common/ngp_math.h"
#include "common/ngp_nerf_math.h"

/* ---- Training rays (trainer.c ray_setup) ------------------------------------------------------ */

/* A uniform float in [0,1) from a counter-based hash of (seed, step, ray, draw), so any ray's
 * randomness is reproducible whatever the thread (or GPU block) schedule. Draws: 0, 1 the pixel,
 * 2..4 the background, 5 the marching jitter. */
static inline NGP_HD float ngp_train_rand01(uint64_t seed, uint64_t step, uint64_t ray, uint64_t k) {
  uint64_t h = ngp_mix64(seed ^ ngp_mix64(step * 0x9e3779b97f4a7c15ull ^ ngp_mix64(ray * 0xd1b54a32d192ed03ull + k)));
  return (float)(h >> 40) / 16777216.0f;
}

/* Ray i of n uses image floor(i * n_images / n): contiguous blocks, every image in every batch. */
static inline NGP_HD int ngp_train_ray_image(int i, int n_rays, int n_images) {
  return (int)(((int64_t)i * n_images) / n_rays) % n_images;
}

/* The CUDA trainer's rule: the same blocks, rotated by a per-step offset, so that rays i >= k
 * that a full buffer drops (always a suffix of the ray index) are not always the last images:
 * ray i uses ngp_train_ray_image((i + o) mod n), o = floor(frac(step * phi) * n) (golden-ratio
 * steps: the offsets of any run of steps spread evenly over [0, n)). Step 0 has o = 0, the CPU's
 * order. Every image keeps its floor or ceil of n / n_images rays in every step (a rotation is a
 * bijection). The CPU trainer keeps the unrotated rule: its recorded loss trajectory (test_nerf)
 * is bit for bit, and its marching arena grows instead of dropping a fixed suffix. */
static inline NGP_HD uint32_t ngp_train_ray_rotation(uint32_t step, uint32_t n_rays) {
  return (uint32_t)(((uint64_t)(uint32_t)(step * 2654435769u) * (uint64_t)n_rays) >> 32);
}
static inline NGP_HD int ngp_train_ray_image_rotated(int i, int n_rays, int n_images, uint32_t step) {
  const uint32_t slot = ((uint32_t)i + ngp_train_ray_rotation(step, (uint32_t)n_rays)) % (uint32_t)n_rays;
  return ngp_train_ray_image((int)slot, n_rays, n_images);
}

/* The training target of a pixel (NGP-SPEC §6): rgba (8-bit sRGB, straight alpha) composited over
 * the sRGB background bg in linear light, the result in sRGB. */
static inline NGP_HD void ngp_train_target(const uint8_t *rgba, const float *bg, float *out) {
  float a = (float)rgba[3] / 255.0f;
  for (int c = 0; c < 3; c++) {
    float lin = ngp_srgb_to_linear((float)rgba[c] / 255.0f) * a + (1.0f - a) * ngp_srgb_to_linear(bg[c]);
    out[c] = ngp_linear_to_srgb(lin);
  }
}

/* ---- Camera rays (march.c ngp_camera_ray) -------------------------------------------------------- */

/* The ray through image position (u, v) of a camera: origin, normalised direction. */
static inline NGP_HD void ngp_camera_ray_at(const float *xform, const float *focal, const float *principal,
                                            int lens_mode, const float *lens_params, int width, int height, float u,
                                            float v, float *origin, float *dir) {
  ngp_uv_to_dir(xform, focal, principal, lens_mode, lens_params, width, height, u, v, dir);
  float n = sqrtf(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
  for (int k = 0; k < 3; k++) {
    dir[k] /= n;
    origin[k] = xform[k * 4 + 3];
  }
}

/* ---- Marching (march.c ngp_march_start / ngp_march_segment) ------------------------------------ */

/* The jittered start (box entry, or the origin when inside, advanced by `jitter` steps in stepping
 * space) and the box exit; 0 if the ray misses the box. */
static inline NGP_HD int ngp_march_begin(const float *bmin, const float *bmax, float cone_angle, const float *o,
                                         const float *d, float jitter, float *t_start, float *t_exit) {
  float t_enter;
  if (!ngp_ray_aabb(o, d, bmin, bmax, &t_enter, t_exit)) return 0;
  *t_start = ngp_advance_n_steps(ngp_maxf(t_enter, 0.0f), cone_angle, jitter);
  return 1;
}

/* The next sample of a ray from *t_io on: returns 1 with its position p (clamped into the box),
 * step *dt and distance *t_sample, and leaves *t_io = t_sample + dt; returns 0 when the ray has
 * left the box (*t_io > t_exit) or stopped progressing (*t_io = INFINITY). Samples are taken in
 * occupied cells of the cascade matching the step (bitfield [cascades][128^3/8], or NULL: all
 * occupied); an empty cell is skipped to its boundary on the step lattice, or to the boundary of
 * the largest empty block around it (2^3 to 32^3 cells, ngp_grid_empty_block_log2; blocks: the
 * cascades' block summaries [cascades][NGP_GRID_BLOCK_BYTES], or NULL: blocks up to 8^3) in one
 * go: the lattice points crossing its cells one by one would visit all lie in the block, so both
 * find the same next sample but for rounding in the last bits of where the lattice is resumed.
 * With a cone, a block is skipped whole only when the step at its far side still belongs to the
 * same cascade; otherwise only the cell is (crossing cell by cell would look the coarser cascade
 * up on the way). test_march_block_skip compares it with crossing cell by cell. The step rule is
 * ngp_step_rule_at(cone_angle), made once per ray. Calling it k times is ngp_march_segment with
 * max_samples k. */
static inline NGP_HD int ngp_march_next(const uint8_t *bitfield, const uint8_t *blocks, int max_mip, const float *bmin,
                                        const float *bmax, const ngp_step_rule *rule, const float *o, const float *d,
                                        float t_exit, float *t_io, float *p, float *dt, float *t_sample) {
  float tt = *t_io;
  while (tt <= t_exit) {
    for (int c = 0; c < 3; c++)
      p[c] = ngp_minf(ngp_maxf(o[c] + tt * d[c], bmin[c]), bmax[c]);
    float step = ngp_rule_dt(rule, tt);
    int mip = ngp_mip_from_dt(step, p, max_mip);
    int block_log2 = 0; /* the empty cell's block that is empty too, as ngp_grid_empty_block_log2 */
    uint32_t idx = bitfield ? ngp_cascaded_grid_idx(p, mip) : 0u;
    if (idx != NGP_NO_CELL) {
      const uint8_t *bits = bitfield ? bitfield + (size_t)mip * (NGP_GRID_CELLS / 8) : NULL;
      if (!bits || ngp_grid_bit(bits, idx)) {
        *dt = step;
        *t_sample = tt;
        *t_io = tt + step;
        return 1;
      }
      block_log2 = ngp_grid_empty_block_log2(bits, blocks ? blocks + (size_t)mip * NGP_GRID_BLOCK_BYTES : NULL, idx);
    }
    float next = ngp_rule_next_boundary(rule, tt, p, d, (float)NGP_GRID_SIZE * ngp_exp2i(-mip - block_log2));
    /* With a cone the step grows along the block; where it has grown into a coarser cascade by the
     * block's far side, crossing cell by cell would look that cascade up on the way: cross only
     * this cell then. (The step only grows, so an equal cascade there holds all the way.) */
    if (block_log2 > 0 && !rule->linear && ngp_mip_from_dt(ngp_rule_dt(rule, next), p, max_mip) != mip)
      next = ngp_rule_next_boundary(rule, tt, p, d, (float)NGP_GRID_SIZE * ngp_exp2i(-mip));
    if (!(next > tt)) { /* no progress (t beyond float resolution): give up on the ray */
      *t_io = INFINITY;
      return 0;
    }
    tt = next;
  }
  *t_io = tt;
  return 0;
}

/* p in ngp units to the hash grid's input in [0,1]^3 (ngp_nerf_warp_positions). */
static inline NGP_HD void ngp_warp_position(const float *p, const float *bmin, const float *bmax, float *x) {
  for (int i = 0; i < 3; i++)
    x[i] = (p[i] - bmin[i]) / (bmax[i] - bmin[i]);
}

/* ---- Compositing a ray (march.c ngp_composite_forward / ngp_composite_backward) ----------------
 * k samples in order; raw_rgb of sample j at raw_rgb[j * rgb_stride + c] (before the sigmoid),
 * raw_density[j] (before exp), dt[j]. */

/* Writes the colour to out[3] and returns the samples composited before the transmittance fell
 * below 1e-4; *transmittance (may be NULL) gets the final T. The background is added only if the
 * ray was not cut off. */
static inline NGP_HD int ngp_composite_ray_forward(int k, const float *raw_rgb, int rgb_stride,
                                                   const float *raw_density, const float *dt, const float *bg,
                                                   float *out, float *transmittance) {
  out[0] = out[1] = out[2] = 0.0f;
  float T = 1.0f;
  int j = 0;
  for (; j < k; j++) {
    if (T < NGP_MIN_TRANSMITTANCE) break;
    T = ngp_composite_step(T, raw_rgb + (size_t)j * (size_t)rgb_stride, raw_density[j], dt[j], out, NULL);
  }
  if (j == k)
    for (int c = 0; c < 3; c++)
      out[c] += T * bg[c];
  if (transmittance) *transmittance = T;
  return j;
}

/* Given dL/dC (dcolor[3]): d raw_rgb at draw_rgb[j * drgb_stride + c] and d raw_density[j], for
 * every j < k (overwritten; 0 after the cut-off). */
static inline NGP_HD void ngp_composite_ray_backward(int k, const float *raw_rgb, int rgb_stride,
                                                     const float *raw_density, const float *dt, const float *bg,
                                                     const float *dcolor, float *draw_rgb, int drgb_stride,
                                                     float *draw_density) {
  float C[3];
  int n = ngp_composite_ray_forward(k, raw_rgb, rgb_stride, raw_density, dt, bg, C, NULL);
  float acc[3] = {0.0f, 0.0f, 0.0f};
  float T = 1.0f;
  for (int j = 0; j < n; j++) {
    /* forward: T = ngp_composite_step(T, raw_rgb + j * rgb_stride, raw_density[j], dt[j], out, NULL); */
    const float *rgb = raw_rgb + (size_t)j * (size_t)rgb_stride;
    float w;
    float T_next = ngp_composite_step(T, rgb, raw_density[j], dt[j], acc, &w);
    float suffix[3] = {C[0] - acc[0], C[1] - acc[1], C[2] - acc[2]};
    ngp_composite_step_backward(w, T_next, rgb, raw_density[j], dt[j], suffix, dcolor,
                                draw_rgb + (size_t)j * (size_t)drgb_stride, &draw_density[j]);
    T = T_next;
  }
  for (int j = n; j < k; j++) {
    float *g = draw_rgb + (size_t)j * (size_t)drgb_stride;
    g[0] = g[1] = g[2] = 0.0f;
    draw_density[j] = 0.0f;
  }
}

/* ---- Batch size ----------------------------------------------------------------------------------- */

/* The next step's ray count (trainer.c adapt_batch, trainer.cu batch_adapt_kernel): the count
 * whose samples before the cut-off (`used` this step, from n_rays rays) approach `target`, rounded
 * up to a multiple of 256. When the rays asked for more samples (`marched`) than the marching
 * buffer holds (`cap`; 0: no such bound), no more rays than would have fitted: otherwise the
 * count grows every step while only the prefix that fits is trained on. Clamped to
 * [min_rays, max_rays]; n_rays unchanged when nothing was used. */
static inline NGP_HD uint32_t ngp_next_ray_count(uint32_t n_rays, uint32_t target, uint64_t used, uint64_t marched,
                                                 uint64_t cap, uint32_t min_rays, uint32_t max_rays) {
  if (used == 0) return n_rays;
  double rays = ceil((double)n_rays * (double)target / (double)used / 256.0) * 256.0;
  if (cap > 0 && marched > cap) {
    const double fit = floor((double)n_rays * (double)cap / (double)marched / 256.0) * 256.0;
    if (fit < rays) rays = fit;
  }
  if (rays > (double)max_rays) rays = (double)max_rays;
  if (rays < (double)min_rays) rays = (double)min_rays;
  return (uint32_t)rays;
}

/* ---- Occupancy-grid samples (occupancy.c gen_piece) ---------------------------------------------- */

/* The two sample sets of an update draw from seeds derived from the update's seed like this. */
#define NGP_GRID_SET_UNIFORM 0x756e69666f726d00ull
#define NGP_GRID_SET_NONUNIFORM 0x6e6f6e756e696600ull

static inline NGP_HD uint64_t ngp_grid_set_seed(uint64_t update_seed, int nonuniform) {
  return ngp_mix64(update_seed ^ (nonuniform ? NGP_GRID_SET_NONUNIFORM : NGP_GRID_SET_UNIFORM));
}

/* The cascade of sample i of a set (counter 4i of the set's seed). */
static inline NGP_HD int ngp_grid_sample_level(uint64_t set_seed, uint32_t i, int n_cascades) {
  uint32_t n = (uint32_t)n_cascades;
  return (int)((uint32_t)(ngp_hash_uniform(set_seed, (uint64_t)i * 4u) * (float)n) % n);
}

/* The position of sample i, uniform inside cell idx (whole-grid index, level * 128^3 + Morton) of
 * cascade `level` (counters 4i+1..4i+3). */
static inline NGP_HD void ngp_grid_sample_pos(uint64_t set_seed, uint32_t i, uint32_t idx, int level, float *p) {
  uint64_t ctr = (uint64_t)i * 4u;
  uint32_t x, y, z;
  ngp_morton3d_decode(idx % NGP_GRID_CELLS, &x, &y, &z);
  p[0] = ngp_cell_to_pos(x, ngp_hash_uniform(set_seed, ctr + 1), level);
  p[1] = ngp_cell_to_pos(y, ngp_hash_uniform(set_seed, ctr + 2), level);
  p[2] = ngp_cell_to_pos(z, ngp_hash_uniform(set_seed, ctr + 3), level);
}

/* ---- Occupancy-grid rebuild (occupancy.c, cuda/occupancy.cu) --------------------------------------- */

/* A sample's contribution to its cell: the optical thickness of one finest step. */
static inline NGP_HD float ngp_grid_thickness(float raw_density) {
  return ngp_density_activation(raw_density) * NGP_MIN_STEP;
}

/* The decayed running max of a cell with this update's max `fresh` (cells < 0 are never updated:
 * outside every training camera). */
static inline NGP_HD float ngp_grid_blend(float density, float fresh, float decay) {
  return density < 0.0f ? density : fmaxf(density * decay, fresh);
}

/* A cell is occupied when its density exceeds min(0.01, the mean over cascade 0). */
static inline NGP_HD float ngp_grid_threshold(float mean) { return fminf(NGP_MIN_OPTICAL_THICKNESS, mean); }

/* One bitfield byte: bit k set when density[k] (8 consecutive Morton cells) exceeds thresh. */
static inline NGP_HD uint8_t ngp_grid_bits8(const float *density, float thresh) {
  uint32_t bits = 0;
  for (int k = 0; k < 8; k++)
    bits |= (uint32_t)(density[k] > thresh) << k;
  return (uint8_t)bits;
}

/* Mip pooling, byte group i of level m-1 (prev: that level's bitfield): bit k of the returned byte
 * is the 2x2x2 block in byte i*8+k; it goes into byte *dst of level m. Byte i*8+k of level m-1
 * holds a 2x2x2 block of fine cells = the coarse cell with Morton code i*8+k in the 64^3 pooled
 * grid; shifting its coordinates by 32 (16 at byte level) centres it, and as 32 is even the low
 * bit, hence k, is kept. Distinct i give distinct *dst. */
static inline NGP_HD uint8_t ngp_grid_pool_byte(const uint8_t *prev, uint32_t i, uint32_t *dst) {
  uint32_t bits = 0;
  for (int k = 0; k < 8; k++)
    bits |= (uint32_t)(prev[i * 8 + k] != 0) << k;
  uint32_t x, y, z;
  ngp_morton3d_decode(i, &x, &y, &z);
  const uint32_t off = NGP_GRID_SIZE / 8;
  *dst = ngp_morton3d(x + off, y + off, z + off);
  return (uint8_t)bits;
}

/* The occupancy update schedule: steps where step % clamp(step/16, 1, 16) == 0. */
static inline NGP_HD int ngp_grid_update_due(int step) {
  int n = step / 16;
  n = n < 1 ? 1 : (n > 16 ? 16 : n);
  return step % n == 0;
}

#endif /* NGP_MARCH_MATH_H */
