/* ngp_nerf_math.h: the NeRF maths that the CPU reference and the CUDA kernels share: Morton codes,
 * the cascaded occupancy grid's cell of a point, the step rule and its "stepping space", ray-box
 * intersection, lens distortion and its Newton inverse, activations, one compositing step and the
 * per-channel losses (NGP-SPEC §1.4, §4, §5, §6).
 *
 * Every function is `static inline` under NGP_HD and written in the common subset of C11 and CUDA
 * C++ (no VLAs, no compound literals, float maths functions only), so the CPU tests check the very
 * formulas the GPU runs. Positions are in ngp units; vectors are float[3]. */
#ifndef NGP_NERF_MATH_H
#define NGP_NERF_MATH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h> /* memcpy for bit casts */

#include "ngp/config.h"      /* ngp_loss_type */
#include "ngp/scene.h"       /* ngp_lens_mode */
#include "common/ngp_math.h" /* NGP_HD, NGP_MAX_CASCADES */

/* ---- Constants (NGP-SPEC §4, §5) ------------------------------------------------------------ */

/* One name per constant, for both backends. */
#define NGP_GRID_SIZE 128 /* cells per axis of one cascade */
#define NGP_GRID_CELLS (NGP_GRID_SIZE * NGP_GRID_SIZE * NGP_GRID_SIZE)
#define NGP_NERF_STEPS 1024                    /* finest steps per unit length */
#define NGP_MAX_SAMPLES_PER_RAY NGP_NERF_STEPS /* samples of one training ray at most */
#define NGP_GRID_DECAY 0.95f                   /* the occupancy grid's decay per update */
#define NGP_DEFAULT_BATCH_SAMPLES (1u << 18)   /* samples per training step after compaction (instant-ngp) */
/* The CPU backend's default instead: on a CPU a step of 2^18 samples takes about half a second,
 * and four times as many steps of a quarter of the samples reach a given quality much sooner (see
 * README, "Measured"). */
#define NGP_CPU_BATCH_SAMPLES (1u << 16)
#define NGP_SQRT3 1.73205080757f
/* The finest step; also the length that turns a density into the grid's optical thickness. */
#define NGP_MIN_STEP (NGP_SQRT3 / (float)NGP_NERF_STEPS)
/* The width of the coarsest cell of the compiled cascades: sqrt(3) with 8 cascades. */
#define NGP_MAX_STEP                                                                                                   \
  (NGP_MIN_STEP * (float)(1 << (NGP_MAX_CASCADES - 1)) * (float)NGP_NERF_STEPS / (float)NGP_GRID_SIZE)
#define NGP_MIN_OPTICAL_THICKNESS 0.01f /* cap of the occupancy threshold */
#define NGP_MIN_TRANSMITTANCE 1e-4f     /* training stops compositing a ray below this T */
#define NGP_NO_CELL 0xFFFFFFFFu

/* ---- Morton (Z-order) codes: x in bit 0, y in bit 1, z in bit 2 (tcnn morton3D) ---------------- */

/* Spreads the low 10 bits of v so that bit k lands at bit 3k. */
static inline NGP_HD uint32_t ngp_morton_expand(uint32_t v) {
  v &= 0x3ffu;
  v = (v * 0x00010001u) & 0xFF0000FFu;
  v = (v * 0x00000101u) & 0x0F00F00Fu;
  v = (v * 0x00000011u) & 0xC30C30C3u;
  v = (v * 0x00000005u) & 0x49249249u;
  return v;
}

/* The inverse of ngp_morton_expand: gathers bits 0, 3, 6, ... into the low 10 bits. */
static inline NGP_HD uint32_t ngp_morton_compact(uint32_t v) {
  v &= 0x49249249u;
  v = (v ^ (v >> 2)) & 0xC30C30C3u;
  v = (v ^ (v >> 4)) & 0x0F00F00Fu;
  v = (v ^ (v >> 8)) & 0xFF0000FFu;
  v = (v ^ (v >> 16)) & 0x000003FFu;
  return v;
}

static inline NGP_HD uint32_t ngp_morton3d(uint32_t x, uint32_t y, uint32_t z) {
  return ngp_morton_expand(x) | (ngp_morton_expand(y) << 1) | (ngp_morton_expand(z) << 2);
}

static inline NGP_HD void ngp_morton3d_decode(uint32_t idx, uint32_t *x, uint32_t *y, uint32_t *z) {
  *x = ngp_morton_compact(idx);
  *y = ngp_morton_compact(idx >> 1);
  *z = ngp_morton_compact(idx >> 2);
}

/* ---- Exact, branch-light replacements for libm calls on the marching hot path ------------------
 * Without -ffast-math, fminf/fmaxf/frexpf/ldexpf are out-of-line calls (they must honour NaN and
 * denormal rules the marcher never meets); these give the same results on finite normal inputs. */
static inline NGP_HD float ngp_minf(float a, float b) { return a < b ? a : b; }
static inline NGP_HD float ngp_maxf(float a, float b) { return a > b ? a : b; }

/* 2^k for k in [-126, 127], built from its bits. */
static inline NGP_HD float ngp_exp2i(int k) {
  uint32_t u = (uint32_t)(k + 127) << 23;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* frexpf's exponent: x = m * 2^e with m in [0.5, 1) for finite normal x > 0; 0 for x = 0 (as
 * frexpf); denormals count as 2^-126. */
static inline NGP_HD int ngp_frexp_exponent(float x) {
  if (x == 0.0f) return 0;
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  int biased = (int)((u >> 23) & 0xffu);
  return (biased ? biased : 1) - 126;
}

/* ---- Cascaded grid (NGP-SPEC §4) --------------------------------------------------------------- */

/* Morton index of p's cell in cascade `mip` (which covers the cube of side 2^mip centred at 0.5),
 * or NGP_NO_CELL outside it. The float-to-int conversion truncates toward zero as upstream's
 * does, so a point less than one cell below the lower face still maps to cell 0. */
static inline NGP_HD uint32_t ngp_cascaded_grid_idx(const float *p, int mip) {
  float scale = ngp_exp2i(-mip);
  int i[3];
  for (int k = 0; k < 3; k++) {
    float q = (p[k] - 0.5f) * scale + 0.5f;
    float c = q * (float)NGP_GRID_SIZE;
    /* Range-check in float first: converting a huge or NaN float to int is undefined. */
    if (!(c > -1.0f && c < (float)NGP_GRID_SIZE)) return NGP_NO_CELL;
    i[k] = (int)c;
  }
  return ngp_morton3d((uint32_t)i[0], (uint32_t)i[1], (uint32_t)i[2]);
}

/* World position of the lower corner of cell (x, y, z) of cascade mip, plus `frac` cells. */
static inline NGP_HD float ngp_cell_to_pos(uint32_t c, float frac, int mip) {
  return (((float)c + frac) / (float)NGP_GRID_SIZE - 0.5f) * ngp_exp2i(mip) + 0.5f;
}

/* The smallest cascade containing p: frexp exponent of max|p - 0.5|, plus 1, clamped. (At p =
 * (0.5,0.5,0.5) exactly, frexp(0) gives 0 and so cascade 1, as upstream.) */
static inline NGP_HD int ngp_mip_from_pos(const float *p, int max_cascade) {
  float m = ngp_maxf(ngp_maxf(fabsf(p[0] - 0.5f), fabsf(p[1] - 0.5f)), fabsf(p[2] - 0.5f));
  int mip = ngp_frexp_exponent(m) + 1;
  return mip < 0 ? 0 : (mip > max_cascade ? max_cascade : mip);
}

/* The cascade whose cells are at least about as large as the step dt: a step spanning 2^e
 * half-cells of cascade 0 looks at cascade e, never finer than mip_from_pos. */
static inline NGP_HD int ngp_mip_from_dt(float dt, const float *p, int max_cascade) {
  int mip = ngp_mip_from_pos(p, max_cascade);
  dt *= 2.0f * (float)NGP_GRID_SIZE;
  if (dt < 1.0f) return mip;
  int e = ngp_frexp_exponent(dt);
  if (mip < e) mip = e;
  return mip > max_cascade ? max_cascade : mip;
}

/* Cell idx's bit in one cascade's bits [128^3/8] (Morton order). */
static inline NGP_HD int ngp_grid_bit(const uint8_t *bits, uint32_t idx) { return (bits[idx >> 3] >> (idx & 7u)) & 1u; }

/* Whether p's cell in cascade mip is set in the bitfield ([cascades][128^3/8], Morton order). */
static inline NGP_HD int ngp_grid_occupied_at(const uint8_t *bitfield, const float *p, int mip) {
  uint32_t idx = ngp_cascaded_grid_idx(p, mip);
  if (idx == NGP_NO_CELL) return 0;
  return ngp_grid_bit(bitfield + (size_t)mip * (NGP_GRID_CELLS / 8), idx);
}

/* A cascade's block summary: one bit per Morton-aligned block of 8^3 cells (the cells idx with
 * the same idx >> 9), set when the block holds an occupied cell, in the blocks' own Morton order:
 * 16^3 / 8 = 512 bytes per cascade, computed from the bitfield (ngp_grid_block_byte) whenever
 * marching starts on a grid, so that emptiness of 16^3 and 32^3 blocks is one byte or one 64-bit
 * word to read. */
#define NGP_GRID_BLOCK_BYTES (NGP_GRID_CELLS / 512 / 8)

/* Whether 8^3 block b of a cascade's bits (its 64 bytes from b * 64 on) holds an occupied cell. */
static inline NGP_HD int ngp_grid_block_occupied(const uint8_t *bits, uint32_t b) {
  const uint8_t *block = bits + (size_t)b * 64u;
  uint64_t w, any = 0;
  for (int k = 0; k < 8; k++) {
    memcpy(&w, block + 8 * k, sizeof w);
    any |= w;
  }
  return any != 0u;
}

/* Byte i of a cascade's block summary from its bits `bits` ([128^3 / 8]): bit j for 8^3 block
 * 8 i + j. */
static inline NGP_HD uint8_t ngp_grid_block_byte(const uint8_t *bits, uint32_t i) {
  uint8_t out = 0;
  for (uint32_t j = 0; j < 8u; j++)
    out |= (uint8_t)(ngp_grid_block_occupied(bits, i * 8u + j) << j);
  return out;
}

/* How far the emptiness around an empty cell idx goes, for skipping it in one step: the log2 of
 * the side of the largest empty Morton-aligned block holding it, 0 (only the cell) to 5 (32^3
 * cells). From the cascade's bits `bits`: 1 when its 2^3 block (the byte holding idx's bit) is
 * empty, 2 for its 4^3 block (8 bytes), 3 for its 8^3 block (64 bytes); from the cascade's block
 * summary `blocks` (NULL: none, then at most 3): 3 for the 8^3 block (one bit), 4 for 16^3 (one
 * byte), 5 for 32^3 (8 bytes). Blocks are aligned to the cascade's lower corner, so their faces
 * are cell faces, and the faces of the next cascade in (32 and 96 cells) are block faces: a block
 * lies wholly inside or outside it (a 64^3 block would not). */
static inline NGP_HD int ngp_grid_empty_block_log2(const uint8_t *bits, const uint8_t *blocks, uint32_t idx) {
  if (bits[idx >> 3]) return 0;
  uint64_t w;
  memcpy(&w, bits + (size_t)(idx >> 6) * 8u, sizeof w);
  if (w) return 1;
  const uint32_t b = idx >> 9; /* the 8^3 block */
  if (!blocks) return ngp_grid_block_occupied(bits, b) ? 2 : 3;
  if (ngp_grid_bit(blocks, b)) return 2;
  if (blocks[b >> 3]) return 3;
  memcpy(&w, blocks + (size_t)(b >> 6) * 8u, sizeof w);
  return w ? 4 : 5;
}

/* Counter-based random numbers for the grid samples, so every backend draws the same ones:
 * splitmix64's finaliser over seed + counter. Returns a float in [0, 1) with 24 random bits. */
static inline NGP_HD float ngp_hash_uniform(uint64_t seed, uint64_t counter) {
  return (float)(ngp_mix64(seed + (counter + 1u) * 0x9E3779B97F4A7C15ull) >> 40) * (1.0f / 16777216.0f);
}

/* The cell that occupancy-grid sample i of n (update number `step`) lands in, at cascade
 * `level` (NGP-SPEC §4): up to 10 pseudo-random candidates, the first whose grid value exceeds
 * thresh (-0.01: any cell a camera sees; 0.01: occupied cells), else the last. uint32 arithmetic
 * wraps as upstream's does. Returns the index into the whole grid (level * 128^3 + Morton).
 * With grid NULL, the first candidate (for prefetching). */
static inline NGP_HD uint32_t ngp_grid_sample_cell(uint32_t i, uint32_t step, uint32_t n, int level, const float *grid,
                                                   float thresh) {
  uint32_t idx = 0;
  for (uint32_t j = 0; j < 10u; j++) {
    idx = ((i + step * n) * 56924617u + j * 19349663u + 96925573u) % (uint32_t)NGP_GRID_CELLS;
    idx += (uint32_t)level * (uint32_t)NGP_GRID_CELLS;
    if (!grid || grid[idx] > thresh) break;
  }
  return idx;
}

/* ---- Step rule (NGP-SPEC §5) ------------------------------------------------------------------- */

/* Stepping space n(t): every step is +1 in n. Linear with MIN_STEP below t = MIN_STEP/ln(1+c),
 * logarithmic (t_{n+1} = t_n (1+c)) up to MAX_STEP/ln(1+c), linear with MAX_STEP beyond.
 * ngp_step_rule holds the rule's constants at a cone angle c, computed once (ngp_step_rule_at):
 * marching converts to and from stepping space several times per cell it crosses, and the
 * logarithms and exponentials of the constants would otherwise be recomputed at each (five of them
 * per conversion). The functions taking a cone angle compute the same constants on the spot, so
 * both forms give the same bits. */
typedef struct ngp_step_rule {
  int linear;            /* c <= 1e-5: every step is MIN_STEP */
  float l, a, b, at, bt; /* ln(1+c); n and t where the logarithmic part begins (a, at) and ends (b, bt) */
} ngp_step_rule;

static inline NGP_HD ngp_step_rule ngp_step_rule_at(float cone_angle) {
  ngp_step_rule r;
  r.linear = cone_angle <= 1e-5f;
  r.l = r.a = r.b = r.at = r.bt = 0.0f;
  if (r.linear) return r;
  r.l = logf(1.0f + cone_angle);
  r.a = (logf(NGP_MIN_STEP) - logf(r.l)) / r.l;
  r.b = (logf(NGP_MAX_STEP) - logf(r.l)) / r.l;
  r.at = expf(r.a * r.l);
  r.bt = expf(r.b * r.l);
  return r;
}

static inline NGP_HD float ngp_rule_to_steps(const ngp_step_rule *r, float t) {
  if (r->linear) return t / NGP_MIN_STEP;
  if (t <= r->at) return (t - r->at) / NGP_MIN_STEP + r->a;
  if (t <= r->bt) return logf(t) / r->l;
  return (t - r->bt) / NGP_MAX_STEP + r->b;
}

static inline NGP_HD float ngp_rule_from_steps(const ngp_step_rule *r, float n) {
  if (r->linear) return n * NGP_MIN_STEP;
  if (n <= r->a) return (n - r->a) * NGP_MIN_STEP + r->at;
  if (n <= r->b) return expf(n * r->l);
  return (n - r->b) * NGP_MAX_STEP + r->bt;
}

/* The step at distance t. With no cone the step is MIN_STEP exactly (upstream's round trip
 * through stepping space gives the same up to rounding). */
static inline NGP_HD float ngp_rule_dt(const ngp_step_rule *r, float t) {
  if (r->linear) return NGP_MIN_STEP;
  return ngp_rule_from_steps(r, ngp_rule_to_steps(r, t) + 1.0f) - t;
}

static inline NGP_HD float ngp_to_stepping_space(float t, float cone_angle) {
  ngp_step_rule r = ngp_step_rule_at(cone_angle);
  return ngp_rule_to_steps(&r, t);
}

static inline NGP_HD float ngp_from_stepping_space(float n, float cone_angle) {
  ngp_step_rule r = ngp_step_rule_at(cone_angle);
  return ngp_rule_from_steps(&r, n);
}

static inline NGP_HD float ngp_advance_n_steps(float t, float cone_angle, float n) {
  ngp_step_rule r = ngp_step_rule_at(cone_angle);
  return ngp_rule_from_steps(&r, ngp_rule_to_steps(&r, t) + n);
}

static inline NGP_HD float ngp_calc_dt(float t, float cone_angle) {
  ngp_step_rule r = ngp_step_rule_at(cone_angle);
  return ngp_rule_dt(&r, t);
}

/* Distance along dir (unit) from pos to the next cell boundary of a grid with `res` cells per
 * unit, aligned at 0.5 (a DDA step). Axes with dir == 0 never reach a boundary. */
static inline NGP_HD float ngp_distance_to_next_voxel(const float *pos, const float *dir, float res) {
  float t = 3.0e38f;
  for (int k = 0; k < 3; k++) {
    if (dir[k] == 0.0f) continue;
    float p = res * (pos[k] - 0.5f);
    float s = dir[k] > 0.0f ? 1.0f : -1.0f;
    float tk = (floorf(p + 0.5f + 0.5f * s) - p) / dir[k];
    t = ngp_minf(t, tk);
  }
  return ngp_maxf(t / res, 0.0f);
}

/* The next t past the boundary of pos's cell in a grid of `res` cells per unit aligned at 0.5 (a
 * cascade's cells, or blocks of them), rounded up to the step lattice in stepping space (at least
 * one step), so skipping keeps the ray's jitter phase. */
static inline NGP_HD float ngp_rule_next_boundary(const ngp_step_rule *r, float t, const float *pos, const float *dir,
                                                  float res) {
  float t_target = t + ngp_distance_to_next_voxel(pos, dir, res);
  float n = ngp_rule_to_steps(r, t);
  float n_target = ngp_rule_to_steps(r, t_target);
  return ngp_rule_from_steps(r, n + ceilf(ngp_maxf(n_target - n, 0.5f)));
}

/* The same past the boundary of pos's cell in cascade mip. */
static inline NGP_HD float ngp_advance_to_next_voxel(float t, float cone_angle, const float *pos, const float *dir,
                                                     int mip) {
  ngp_step_rule r = ngp_step_rule_at(cone_angle);
  return ngp_rule_next_boundary(&r, t, pos, dir, (float)NGP_GRID_SIZE * ngp_exp2i(-mip));
}

/* ---- Ray-box intersection ----------------------------------------------------------------------- */

/* Slab test of the ray o + t d against [bmin, bmax]: writes the entry and exit t (entry may be
 * negative when o is inside) and returns 1 if the ray meets the box at some t >= 0. Axes with
 * d == 0 are handled without dividing (no 0 * inf NaNs): inside the slab they do not constrain t,
 * outside they miss. */
static inline NGP_HD int ngp_ray_aabb(const float *o, const float *d, const float *bmin, const float *bmax,
                                      float *t_enter, float *t_exit) {
  float t0 = -3.0e38f, t1 = 3.0e38f;
  for (int k = 0; k < 3; k++) {
    if (d[k] == 0.0f) {
      if (o[k] < bmin[k] || o[k] > bmax[k]) {
        t0 = 3.0e38f;
        t1 = -3.0e38f;
      }
      continue;
    }
    float inv = 1.0f / d[k];
    float ta = (bmin[k] - o[k]) * inv, tb = (bmax[k] - o[k]) * inv;
    t0 = ngp_maxf(t0, ngp_minf(ta, tb));
    t1 = ngp_minf(t1, ngp_maxf(ta, tb));
  }
  *t_enter = t0;
  *t_exit = t1;
  return t1 >= t0 && t1 >= 0.0f;
}

static inline NGP_HD int ngp_aabb_contains(const float *bmin, const float *bmax, const float *p) {
  return p[0] >= bmin[0] && p[0] <= bmax[0] && p[1] >= bmin[1] && p[1] <= bmax[1] && p[2] >= bmin[2] && p[2] <= bmax[2];
}

/* ---- Lens distortion (NGP-SPEC §1.3, §1.4) ----------------------------------------------------- */

/* OpenCV: (u, v) normalised undistorted image coordinates -> the offset to the distorted ones.
 * params = k1, k2, p1, p2. */
static inline NGP_HD void ngp_opencv_distortion_delta(const float *params, float u, float v, float *du, float *dv) {
  float k1 = params[0], k2 = params[1], p1 = params[2], p2 = params[3];
  float u2 = u * u, uv = u * v, v2 = v * v, r2 = u2 + v2;
  float radial = k1 * r2 + k2 * r2 * r2;
  *du = u * radial + 2.0f * p1 * uv + p2 * (r2 + 2.0f * u2);
  *dv = v * radial + 2.0f * p2 * uv + p1 * (r2 + 2.0f * v2);
}

/* OpenCV fisheye (equidistant with a theta polynomial): params = k1..k4. */
static inline NGP_HD void ngp_fisheye_distortion_delta(const float *params, float u, float v, float *du, float *dv) {
  float r = sqrtf(u * u + v * v);
  if (r > 1.1920929e-7f) {
    float th = atanf(r), th2 = th * th;
    float thd = th * (1.0f + th2 * (params[0] + th2 * (params[1] + th2 * (params[2] + th2 * params[3]))));
    *du = u * thd / r - u;
    *dv = v * thd / r - v;
  } else {
    *du = 0.0f;
    *dv = 0.0f;
  }
}

static inline NGP_HD void ngp_lens_distortion_delta(int mode, const float *params, float u, float v, float *du,
                                                    float *dv) {
  if (mode == NGP_LENS_OPENCV) {
    ngp_opencv_distortion_delta(params, u, v, du, dv);
  } else if (mode == NGP_LENS_OPENCV_FISHEYE) {
    ngp_fisheye_distortion_delta(params, u, v, du, dv);
  } else {
    *du = 0.0f;
    *dv = 0.0f;
  }
}

/* Undistorted -> distorted, in place. */
static inline NGP_HD void ngp_lens_distort(int mode, const float *params, float *u, float *v) {
  float du, dv;
  ngp_lens_distortion_delta(mode, params, *u, *v, &du, &dv);
  *u += du;
  *v += dv;
}

/* Distorted -> undistorted, in place: solves x + delta(x) = x0 by Newton iteration (at most 100
 * iterations, stop when the squared step < 1e-10, as upstream). The Jacobian is by central
 * differences like upstream's, but with a step of 1e-3 |x| (at least 1e-4): upstream's 1e-6 is
 * at float epsilon and makes the Jacobian noisy; either converges to the same root. */
static inline NGP_HD void ngp_lens_undistort(int mode, const float *params, float *u, float *v) {
  if (mode != NGP_LENS_OPENCV && mode != NGP_LENS_OPENCV_FISHEYE) return;
  float x0 = *u, y0 = *v, x = x0, y = y0;
  for (int it = 0; it < 100; it++) {
    float hx = fmaxf(1e-4f, fabsf(1e-3f * x)), hy = fmaxf(1e-4f, fabsf(1e-3f * y));
    float dx, dy, ax, ay, bx, by, cx, cy, ex, ey;
    ngp_lens_distortion_delta(mode, params, x, y, &dx, &dy);
    ngp_lens_distortion_delta(mode, params, x - hx, y, &ax, &ay);
    ngp_lens_distortion_delta(mode, params, x + hx, y, &bx, &by);
    ngp_lens_distortion_delta(mode, params, x, y - hy, &cx, &cy);
    ngp_lens_distortion_delta(mode, params, x, y + hy, &ex, &ey);
    float j00 = 1.0f + (bx - ax) / (2.0f * hx), j01 = (ex - cx) / (2.0f * hy);
    float j10 = (by - ay) / (2.0f * hx), j11 = 1.0f + (ey - cy) / (2.0f * hy);
    float det = j00 * j11 - j01 * j10;
    if (det == 0.0f) break;
    float rx = x + dx - x0, ry = y + dy - y0; /* residual */
    float sx = (j11 * rx - j01 * ry) / det, sy = (-j10 * rx + j00 * ry) / det;
    x -= sx;
    y -= sy;
    if (sx * sx + sy * sy < 1e-10f) break;
  }
  *u = x;
  *v = y;
}

/* ---- Camera projection (NGP-SPEC §1.4) ---------------------------------------------------------
 * xform: camera-to-world 3x4 row-major (columns: camera x right, y down, z forward, position). */

/* Unnormalised world direction of the ray through image position (u, v) (uv_to_ray). */
static inline NGP_HD void ngp_uv_to_dir(const float *xform, const float *focal, const float *principal, int lens_mode,
                                        const float *lens_params, int width, int height, float u, float v, float *dir) {
  float x = (u - principal[0]) * (float)width / focal[0];
  float y = (v - principal[1]) * (float)height / focal[1];
  ngp_lens_undistort(lens_mode, lens_params, &x, &y);
  for (int r = 0; r < 3; r++)
    dir[r] = xform[r * 4 + 0] * x + xform[r * 4 + 1] * y + xform[r * 4 + 2];
}

/* Image position of world point p (pos_to_uv); returns the camera-space depth z (<= 0: behind). */
static inline NGP_HD float ngp_pos_to_uv(const float *xform, const float *focal, const float *principal, int lens_mode,
                                         const float *lens_params, int width, int height, const float *p, float *u,
                                         float *v) {
  float d[3] = {p[0] - xform[3], p[1] - xform[7], p[2] - xform[11]};
  float c[3];
  for (int k = 0; k < 3; k++)
    c[k] = xform[k] * d[0] + xform[4 + k] * d[1] + xform[8 + k] * d[2]; /* R^T d */
  float x = c[0] / c[2], y = c[1] / c[2];
  ngp_lens_distort(lens_mode, lens_params, &x, &y);
  *u = x * focal[0] / (float)width + principal[0];
  *v = y * focal[1] / (float)height + principal[1];
  return c[2];
}

/* ---- Activations (NGP-SPEC §1.6, §6) ------------------------------------------------------------ */

static inline NGP_HD float ngp_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

static inline NGP_HD float ngp_sigmoid_derivative(float x) {
  float s = ngp_sigmoid(x);
  return s * (1.0f - s);
}

/* Density sigma = exp(raw). The backward pass uses exp(clamp(raw, -15, 15)) as upstream does:
 * a truncated derivative that keeps gradients finite; it equals the true one for |raw| < 15. */
static inline NGP_HD float ngp_density_activation(float raw) { return expf(raw); }

static inline NGP_HD float ngp_density_activation_derivative(float raw) {
  return expf(fminf(fmaxf(raw, -15.0f), 15.0f));
}

/* ---- Compositing (NGP-SPEC §6) ------------------------------------------------------------------ */

/* One front-to-back step: alpha = 1 - exp(-sigma dt), w = T alpha, color += w c. Returns the new
 * transmittance T (1 - alpha); *weight gets w (may be NULL). */
static inline NGP_HD float ngp_composite_step(float T, const float *raw_rgb, float raw_density, float dt, float *color,
                                              float *weight) {
  float alpha = 1.0f - expf(-ngp_density_activation(raw_density) * dt);
  float w = T * alpha;
  for (int c = 0; c < 3; c++)
    color[c] += w * ngp_sigmoid(raw_rgb[c]);
  if (weight) *weight = w;
  return T * (1.0f - alpha);
}

/* Gradients of one sample given g = dL/dC, its weight w, the transmittance after it T_next and
 * suffix = C_total - sum_{j<=i} w_j c_j (background included when it was added):
 *   dL/d raw_rgb = w g * sigmoid'(raw_rgb)
 *   dL/d raw_density = exp(clamp(raw,-15,15)) dt (g . (T_next c - suffix))
 * Why: d(w_i c_i)/d sigma_i = T_i exp(-sigma_i dt) dt c_i = dt T_next c_i, and every later term
 * (the suffix) carries the factor exp(-sigma_i dt), whose derivative is -dt times itself. */
static inline NGP_HD void ngp_composite_step_backward(float w, float T_next, const float *raw_rgb, float raw_density,
                                                      float dt, const float *suffix, const float *g, float *draw_rgb,
                                                      float *draw_density) {
  float acc = 0.0f;
  for (int c = 0; c < 3; c++) {
    float col = ngp_sigmoid(raw_rgb[c]);
    draw_rgb[c] = w * g[c] * ngp_sigmoid_derivative(raw_rgb[c]);
    acc += g[c] * (T_next * col - suffix[c]);
  }
  *draw_density = ngp_density_activation_derivative(raw_density) * dt * acc;
}

/* ---- Losses, per channel (NGP-SPEC §6; upstream nerf_device.cuh) ---------------------------------
 * e = pred - target. Returns the loss and writes dL/dpred. As upstream (and tcnn), RelativeL2,
 * Mape and Smape treat their denominator as a constant in the gradient. */
static inline NGP_HD float ngp_loss_channel(ngp_loss_type type, float pred, float target, float *grad) {
  float e = pred - target, ae = fabsf(e);
  float sgn = copysignf(1.0f, e);
  switch (type) {
  case NGP_LOSS_L1: *grad = sgn; return ae;
  case NGP_LOSS_RELATIVE_L2: {
    float denom = pred * pred + 1e-2f;
    *grad = 2.0f * e / denom;
    return e * e / denom;
  }
  case NGP_LOSS_MAPE: {
    float denom = fabsf(pred) + 1e-2f;
    *grad = sgn / denom;
    return ae / denom;
  }
  case NGP_LOSS_SMAPE: {
    float denom = 0.5f * (fabsf(pred) + fabsf(target)) + 1e-2f;
    *grad = sgn / denom;
    return ae / denom;
  }
  case NGP_LOSS_HUBER: {
    /* Huber with delta = 0.1, divided by 5: exactly L2 (e^2, 2e) for |e| <= 0.1. */
    const float delta = 0.1f;
    if (ae > delta) {
      *grad = sgn / 5.0f;
      return (ae - 0.5f * delta) / 5.0f;
    }
    *grad = e / delta / 5.0f;
    return 0.5f / delta * e * e / 5.0f;
  }
  case NGP_LOSS_LOG_L1: {
    float divisor = ae + 1.0f;
    *grad = sgn / divisor;
    return logf(divisor);
  }
  case NGP_LOSS_L2:
  default: *grad = 2.0f * e; return e * e;
  }
}

#endif /* NGP_NERF_MATH_H */
