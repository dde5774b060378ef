/* ngp_math.h: the maths that the CPU reference, the fast CPU path and the CUDA kernels share.
 *
 * Every function is `static inline` under NGP_HD, so this header compiles as C11 and as CUDA and
 * the CPU tests check the very formulas the GPU runs. Conventions (NGP-SPEC §1.4):
 *   - A camera is a 3x4 camera-to-world matrix, row-major: m[r*4 + c]. Columns 0..2 are the camera
 *     axes in world space, column 3 the position.
 *   - NeRF convention: the camera looks down -z with +y up (OpenGL). instant-ngp ("ngp") convention:
 *     x right, y down, z forward, world axes permuted so ngp (x,y,z) = NeRF (y,z,x), positions
 *     scaled by `scale` and shifted by `offset` (offset applied in NeRF axis order, before the
 *     permutation). */
#ifndef NGP_MATH_H
#define NGP_MATH_H

#ifdef __CUDACC__
#define NGP_HD __host__ __device__
#else
#define NGP_HD
#endif

#include <math.h>
#include <stdint.h>

/* Rounding the same on both sides: nvcc fuses a*b + c into one fma (one rounding) unless told not
 * to, while the C build (C11, no FMA contraction) rounds the product and the sum apart. Where the
 * shared maths multiplies and then adds, it goes through these, which round each operation on
 * its own on the device (__fmul_rn and __fadd_rn are never contracted) and are the plain
 * operators on the host, so CPU and GPU give the same bits. */
#if defined(__CUDA_ARCH__)
#define ngp_mul_rn(a, b) __fmul_rn((a), (b))
#define ngp_add_rn(a, b) __fadd_rn((a), (b))
#else
#define ngp_mul_rn(a, b) ((a) * (b))
#define ngp_add_rn(a, b) ((a) + (b))
#endif

/* instant-ngp's defaults for mapping NeRF coordinates into its unit cube. */
#define NGP_NERF_SCALE 0.33f
#define NGP_NERF_OFFSET 0.5f
/* Occupancy grid cascades are compiled up to this count, so aabb_scale <= 2^(8-1) = 128. */
#define NGP_MAX_CASCADES 8

/* Focal length in pixels from a full field-of-view angle (radians) and the image size along
 * that axis (the loaded image's size, as instant-ngp does). */
static inline NGP_HD float ngp_fov_to_focal(float fov_radians, float res) {
  return 0.5f * res / tanf(0.5f * fov_radians);
}

static inline NGP_HD float ngp_focal_to_fov(float focal, float res) { return 2.0f * atanf(0.5f * res / focal); }

/* NeRF camera-to-world (3x4, row-major) to ngp's frame: flip camera y and z, scale and offset
 * the translation, cycle the rows so ngp (x,y,z) = NeRF (y,z,x). */
static inline NGP_HD void ngp_nerf_matrix_to_ngp(const float *nerf, float scale, const float *offset, float *ngp) {
  float tmp[12];
  for (int r = 0; r < 3; r++) {
    tmp[r * 4 + 0] = nerf[r * 4 + 0];
    tmp[r * 4 + 1] = -nerf[r * 4 + 1];
    tmp[r * 4 + 2] = -nerf[r * 4 + 2];
    tmp[r * 4 + 3] = nerf[r * 4 + 3] * scale + offset[r];
  }
  for (int r = 0; r < 3; r++)
    for (int c = 0; c < 4; c++)
      ngp[r * 4 + c] = tmp[((r + 1) % 3) * 4 + c];
}

/* The inverse of ngp_nerf_matrix_to_ngp. */
static inline NGP_HD void ngp_ngp_matrix_to_nerf(const float *ngp, float scale, const float *offset, float *nerf) {
  for (int r = 0; r < 3; r++) {
    const float *src = ngp + ((r + 2) % 3) * 4; /* NeRF row r is ngp row r-1 (mod 3) */
    nerf[r * 4 + 0] = src[0];
    nerf[r * 4 + 1] = -src[1];
    nerf[r * 4 + 2] = -src[2];
    nerf[r * 4 + 3] = (src[3] - offset[r]) / scale;
  }
}

/* A NeRF-space direction (no scale, no offset) in ngp axes. */
static inline NGP_HD void ngp_nerf_direction_to_ngp(const float *d, float *out) {
  float x = d[0], y = d[1], z = d[2];
  out[0] = y;
  out[1] = z;
  out[2] = x;
}

static inline NGP_HD float ngp_det3(const float *m, int stride) {
  return m[0] * (m[stride + 1] * m[2 * stride + 2] - m[stride + 2] * m[2 * stride + 1]) -
         m[1] * (m[stride] * m[2 * stride + 2] - m[stride + 2] * m[2 * stride]) +
         m[2] * (m[stride] * m[2 * stride + 1] - m[stride + 1] * m[2 * stride]);
}

/* sRGB transfer curve (IEC 61966-2-1), as instant-ngp uses it for images and training targets. */
static inline NGP_HD float ngp_srgb_to_linear(float s) {
  return s <= 0.04045f ? s / 12.92f : powf((s + 0.055f) / 1.055f, 2.4f);
}

static inline NGP_HD float ngp_linear_to_srgb(float l) {
  return l < 0.0031308f ? 12.92f * l : 1.055f * powf(l, 0.41666667f) - 0.055f;
}

static inline NGP_HD int ngp_is_pow2(int v) { return v > 0 && (v & (v - 1)) == 0; }

/* log2 of a power of two. */
static inline NGP_HD int ngp_ilog2(int v) {
  int l = 0;
  while (v > 1) {
    v >>= 1;
    l++;
  }
  return l;
}

/* splitmix64 (Steele, Lea, Flood 2014): its finaliser mixes any 64-bit value into a well-spread
 * one (used as a counter-based hash), and with a state advanced by the golden ratio it is a tiny
 * seedable generator (used for parameter initialisation). */
static inline NGP_HD uint64_t ngp_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static inline NGP_HD uint64_t ngp_splitmix64(uint64_t *state) { return ngp_mix64(*state += 0x9E3779B97F4A7C15ull); }

/* The 8-bit value of a [0,1] value (clamped, rounded to nearest; NaN gives 0): the one quantisation
 * of saved images, the test views' PSNR and the viewer's frames, on the host and on the device
 * (the rounding through ngp_mul_rn/ngp_add_rn, so both give the same byte). */
static inline NGP_HD uint8_t ngp_unit_to_u8(float v) {
  const float c = !(v > 0.0f) ? 0.0f : (v > 1.0f ? 1.0f : v);
  return (uint8_t)ngp_add_rn(ngp_mul_rn(c, 255.0f), 0.5f);
}

#endif /* NGP_MATH_H */
