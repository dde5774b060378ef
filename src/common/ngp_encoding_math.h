/* ngp_encoding_math.h: the per-sample maths of the multiresolution hash encoding and of the
 * spherical-harmonics direction encoding (NGP-SPEC §2), shared by the CPU reference, the fast CPU
 * path and (later) the CUDA kernels.
 *
 * Every function is `static inline NGP_HD`, compiles as C11 and as CUDA C++ (no VLAs, no compound
 * literals), and uses float maths with 32-bit unsigned wrap-around for indices, as tcnn does, so the
 * CPU tests check the very formulas the GPU runs. Nothing here allocates or touches the tables. */
#ifndef NGP_ENCODING_MATH_H
#define NGP_ENCODING_MATH_H

#include <stdint.h>

#include "common/ngp_math.h"

/* The per-sample helpers sit in loops whose level parameters (hashed, interpolation) are
 * invariant: force inlining so compilers fold those branches instead of calling out per sample
 * (GCC at -O2 otherwise keeps ngp_grid_corners as a call, costing ~2x). */
#if defined(__CUDACC__)
#define NGP_ENC_INLINE __forceinline__
#elif defined(__GNUC__) || defined(__clang__)
#define NGP_ENC_INLINE inline __attribute__((always_inline))
#else
#define NGP_ENC_INLINE inline
#endif

/* Interpolation modes: the values of ngp_interpolation (ngp/config.h, checked by a static assert
 * in encoding.c); repeated here so this header needs nothing but ngp_math.h under nvcc. */
#define NGP_ENC_INTERP_LINEAR 0
#define NGP_ENC_INTERP_NEAREST 1
#define NGP_ENC_INTERP_SMOOTHSTEP 2

/* The coherent prime hash's primes (NGP-SPEC §2): pi_1 = 1 keeps x-neighbours close in memory. */
#define NGP_HASH_PRIME_X 1u
#define NGP_HASH_PRIME_Y 2654435761u
#define NGP_HASH_PRIME_Z 805459861u

/* ---- Level geometry ------------------------------------------------------------------------- */

/* scale_l = 2^(l * log2 b) * N_min - 1, in float as tcnn evaluates it (the -1: N_min counts
 * vertices, not cells). */
static inline NGP_HD float ngp_grid_scale(int level, float log2_per_level_scale, int base_resolution) {
  return exp2f((float)level * log2_per_level_scale) * (float)base_resolution - 1.0f;
}

/* Vertices per axis of a level: ceil(scale) + 1. */
static inline NGP_HD uint32_t ngp_grid_resolution(float scale) { return (uint32_t)ceilf(scale) + 1u; }

/* ---- Indexing ------------------------------------------------------------------------------- */

/* h = (cx * 1) ^ (cy * 2654435761) ^ (cz * 805459861), with uint32 wrap-around. */
static inline NGP_HD uint32_t ngp_grid_hash(uint32_t cx, uint32_t cy, uint32_t cz) {
  return (cx * NGP_HASH_PRIME_X) ^ (cy * NGP_HASH_PRIME_Y) ^ (cz * NGP_HASH_PRIME_Z);
}

/* i mod size, skipping the division in the common cases: a power-of-two size (every hashed level)
 * is a mask, and a dense index below the size needs nothing. The result equals i % size always. */
static NGP_ENC_INLINE NGP_HD uint32_t ngp_grid_mod(uint32_t i, uint32_t size) {
  if ((size & (size - 1u)) == 0u) return i & (size - 1u);
  return i < size ? i : i % size;
}

/* Table entry of vertex (cx, cy, cz) of a level with `res` vertices per axis and `size` entries:
 * the dense index cx + cy*res + cz*res^2 (x fastest, uint32 arithmetic) or, on a hashed level, the
 * spatial hash; then modulo size. Dense levels may wrap at the upper edge (the +0.5 offset lets a
 * corner reach coordinate res); upstream accepts that. */
static inline NGP_HD uint32_t ngp_grid_index(uint32_t cx, uint32_t cy, uint32_t cz, uint32_t res, uint32_t size,
                                             int hashed) {
  uint32_t i = hashed ? ngp_grid_hash(cx, cy, cz) : cx + cy * res + cz * res * res;
  return ngp_grid_mod(i, size);
}

/* ---- Position within a level ---------------------------------------------------------------- */

/* One dimension: pos = x*scale + 0.5, cell = floor(pos), frac = pos - cell. The cell goes through
 * int as in tcnn, so a (tolerated, unspecified) input slightly below 0 wraps instead of being UB. */
static NGP_ENC_INLINE NGP_HD void ngp_grid_pos_fract(float x, float scale, uint32_t *cell, float *frac) {
  /* Rounded twice on both sides (ngp_math.h): an fma here moves frac by up to 2.4e-4 where pos
   * crosses a power of two. */
  float pos = ngp_add_rn(ngp_mul_rn(x, scale), 0.5f);
  float fl = floorf(pos);
  *cell = (uint32_t)(int)fl;
  *frac = pos - fl;
}

/* The interpolation weight of the "+1" corner along one axis: frac itself (Linear), or the
 * smoothstep frac^2 (3 - 2 frac) (Smoothstep). Nearest does not use weights. */
static NGP_ENC_INLINE NGP_HD float ngp_grid_weight1(float frac, int interpolation) {
  return interpolation == NGP_ENC_INTERP_SMOOTHSTEP ? frac * frac * ngp_add_rn(3.0f, ngp_mul_rn(-2.0f, frac)) : frac;
}

/* Weight of corner k (bit d of k set: cell_d + 1 on axis d) given the per-axis "+1" weights
 * t[3]: the product over axes of t_d or 1 - t_d, multiplied in axis order x, y, z. The weights of
 * the 8 corners sum to 1 (up to rounding). */
static inline NGP_HD float ngp_grid_corner_weight(int k, const float *t) {
  float w = 1.0f;
  for (int d = 0; d < 3; d++)
    w *= ((k >> d) & 1) ? t[d] : 1.0f - t[d];
  return w;
}

/* Everything one sample needs on one level: the table entries and weights of its corners.
 * x: [3] in [0,1]^3. idx, w: [8]. Returns the corner count: 8, or 1 for Nearest (the base corner,
 * i.e. the vertex nearest to x thanks to the +0.5 offset, with weight 1). Corner k as in
 * ngp_grid_corner_weight. Written with per-axis pairs so the 8 indices cost 6 multiplies; equal to
 * ngp_grid_index / ngp_grid_corner_weight corner by corner (the tests check this). */
static NGP_ENC_INLINE NGP_HD int ngp_grid_corners(const float *x, float scale, uint32_t res, uint32_t size, int hashed,
                                                  int interpolation, uint32_t *idx, float *w) {
  uint32_t c[3];
  float t[3];
  for (int d = 0; d < 3; d++) {
    ngp_grid_pos_fract(x[d], scale, &c[d], &t[d]);
    t[d] = ngp_grid_weight1(t[d], interpolation);
  }
  uint32_t ax[2], ay[2], az[2];
  if (hashed) {
    ax[0] = c[0] * NGP_HASH_PRIME_X, ax[1] = (c[0] + 1u) * NGP_HASH_PRIME_X;
    ay[0] = c[1] * NGP_HASH_PRIME_Y, ay[1] = (c[1] + 1u) * NGP_HASH_PRIME_Y;
    az[0] = c[2] * NGP_HASH_PRIME_Z, az[1] = (c[2] + 1u) * NGP_HASH_PRIME_Z;
  } else {
    uint32_t res2 = res * res;
    ax[0] = c[0], ax[1] = c[0] + 1u;
    ay[0] = c[1] * res, ay[1] = (c[1] + 1u) * res;
    az[0] = c[2] * res2, az[1] = (c[2] + 1u) * res2;
  }
  if (interpolation == NGP_ENC_INTERP_NEAREST) {
    idx[0] = ngp_grid_mod(hashed ? (ax[0] ^ ay[0] ^ az[0]) : ax[0] + ay[0] + az[0], size);
    w[0] = 1.0f;
    return 1;
  }
  float wx[2] = {1.0f - t[0], t[0]}, wy[2] = {1.0f - t[1], t[1]}, wz[2] = {1.0f - t[2], t[2]};
  for (int k = 0; k < 8; k++) {
    int bx = k & 1, by = (k >> 1) & 1, bz = k >> 2;
    uint32_t i = hashed ? (ax[bx] ^ ay[by] ^ az[bz]) : ax[bx] + ay[by] + az[bz];
    idx[k] = ngp_grid_mod(i, size);
    /* (1 * wx) * wy * wz: the same rounding as ngp_grid_corner_weight. */
    w[k] = wx[bx] * wy[by] * wz[bz];
  }
  return 8;
}

/* ---- Spherical harmonics -------------------------------------------------------------------- */

/* Number of SH outputs for a degree (tcnn's "degree" counts bands): degree^2. */
static inline NGP_HD int ngp_sh_n_outputs(int degree) { return degree * degree; }

/* Real SH basis of degree 1..4 (1, 4, 9 or 16 values) of a unit direction (x, y, z), in tcnn's order
 * and with its signs (Condon-Shortley phase included), constants as in NGP-SPEC §2. Band l occupies
 * out[l^2 .. l^2 + 2l], m = -l..l. */
static inline NGP_HD void ngp_sh_basis4(int degree, float x, float y, float z, float *out) {
  out[0] = 0.28209479177387814f;
  if (degree <= 1) return;
  out[1] = -0.48860251190291992f * y;
  out[2] = 0.48860251190291992f * z;
  out[3] = -0.48860251190291992f * x;
  if (degree <= 2) return;
  float xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
  out[4] = 1.0925484305920792f * xy;
  out[5] = -1.0925484305920792f * yz;
  out[6] = 0.94617469575756008f * zz - 0.31539156525252005f;
  out[7] = -1.0925484305920792f * xz;
  out[8] = 0.54627421529603959f * (xx - yy);
  if (degree <= 3) return;
  out[9] = 0.59004358992664352f * y * (-3.0f * xx + yy);
  out[10] = 2.8906114426405538f * xy * z;
  out[11] = 0.45704579946446572f * y * (1.0f - 5.0f * zz);
  out[12] = 0.3731763325901154f * z * (5.0f * zz - 3.0f);
  out[13] = 0.45704579946446572f * x * (1.0f - 5.0f * zz);
  out[14] = 1.4453057213202769f * z * (xx - yy);
  out[15] = 0.59004358992664352f * x * (-xx + 3.0f * yy);
}

#define NGP_SH_MAX_DEGREE 8

/* Real SH basis of any degree 1..NGP_SH_MAX_DEGREE by the associated-Legendre recurrence, in the
 * same order and signs as ngp_sh_basis4 (and tcnn's explicit polynomials up to degree 8):
 *   Y_l0 = K_l0 Q_l0(z),  Y_l,+m = sqrt2 K_lm Q_lm(z) Re((x+iy)^m),  Y_l,-m = sqrt2 K_lm Q_lm(z) Im((x+iy)^m)
 * where Q_lm = P_lm / sin^m(theta) (Condon-Shortley phase included) is a polynomial in z and
 * K_lm = sqrt((2l+1)/(4 pi) (l-m)!/(l+m)!). Exact for unit directions; a recurrence instead of 81
 * hand-written polynomials keeps the constants derived, not transcribed. */
static inline NGP_HD void ngp_sh_basis(int degree, float x, float y, float z, float *out) {
  if (degree > NGP_SH_MAX_DEGREE) degree = NGP_SH_MAX_DEGREE;
  float cm = 1.0f, sm = 0.0f; /* Re, Im of (x + iy)^m */
  float qmm = 1.0f;           /* Q_mm = (-1)^m (2m-1)!! */
  for (int m = 0; m < degree; m++) {
    if (m > 0) {
      float c = cm * x - sm * y;
      sm = cm * y + sm * x;
      cm = c;
      qmm *= -(float)(2 * m - 1);
    }
    float q2 = 0.0f, q1 = qmm; /* Q_{l-2,m}, Q_{l-1,m} */
    /* (l-m)!/(l+m)! for l = m: 1/(2m)!, updated as l grows. */
    float ratio = 1.0f;
    for (int k = 1; k <= 2 * m; k++)
      ratio /= (float)k;
    for (int l = m; l < degree; l++) {
      float q;
      if (l == m) {
        q = qmm;
      } else {
        /* (l-m) Q_lm = (2l-1) z Q_{l-1,m} - (l+m-1) Q_{l-2,m} */
        q = ((float)(2 * l - 1) * z * q1 - (float)(l + m - 1) * q2) / (float)(l - m);
        q2 = q1;
        q1 = q;
        ratio *= (float)(l - m) / (float)(l + m);
      }
      float k = sqrtf((float)(2 * l + 1) * 0.079577471545947668f * ratio); /* 1/(4 pi) */
      int base = l * l + l;
      if (m == 0) {
        out[base] = k * q;
      } else {
        float kq = 1.41421356237309505f * k * q;
        out[base + m] = kq * cm;
        out[base - m] = kq * sm;
      }
    }
  }
}

#endif /* NGP_ENCODING_MATH_H */
