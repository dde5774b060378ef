/* ngp_half.h: IEEE binary16 ("half", fp16) to and from float, as both backends store fp16 copies
 * of the hash table for their forward passes: round to nearest, ties to even, after clamping to
 * +-65504 (NGP_HALF_MAX), so a large value saturates instead of becoming infinite (the CUDA
 * backend's ngp_half_sat, cuda_common.cuh, clamps the same way before __float2half_rn). A NaN
 * stays a NaN (0x7e00 with its sign). Bit manipulation only, so it compiles as C11 and as CUDA and
 * gives the same bits on every CPU; tests/test_half.c checks every half and the rounding of floats
 * around every one. */
#ifndef NGP_HALF_H
#define NGP_HALF_H

#include <stdint.h>
#include <string.h>

#include "common/ngp_math.h" /* NGP_HD */

#define NGP_HALF_MAX 65504.0f

static inline NGP_HD float ngp_half_clamp(float v) {
  return v > NGP_HALF_MAX ? NGP_HALF_MAX : (v < -NGP_HALF_MAX ? -NGP_HALF_MAX : v);
}

/* The half nearest ngp_half_clamp(v) (ties to even). */
static inline NGP_HD uint16_t ngp_f32_to_f16(float v) {
  v = ngp_half_clamp(v);
  uint32_t u;
  memcpy(&u, &v, sizeof u);
  const uint32_t sign = (u >> 16) & 0x8000u, a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u); /* NaN */
  if (a >= 0x38800000u) {                                 /* >= 2^-14: a normal half */
    /* Drop 13 mantissa bits rounding to nearest even (a carry may bump the exponent, which is
     * right), and rebias the exponent from 127 to 15. a <= 65504 after the clamp: no overflow. */
    uint32_t r = a + 0x0fffu + ((a >> 13) & 1u);
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
  }
  /* Below 2^-14: a subnormal half m * 2^-24, m = round(|v| 2^24) (1024 is the smallest normal,
   * whose bits are the same). |v| = (mantissa | 2^23) 2^(e - 150), so m is that shifted right by
   * 126 - e bits; below 2^-25 every value rounds to 0. */
  const uint32_t e = a >> 23;
  if (e < 102u) return (uint16_t)sign;
  const uint32_t s = 126u - e, m = (a & 0x7fffffu) | 0x800000u;
  const uint32_t r = (m + ((1u << (s - 1u)) - 1u) + ((m >> s) & 1u)) >> s;
  return (uint16_t)(sign | r);
}

/* The float equal to half h (exact: every half is a float). */
static inline NGP_HD float ngp_f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t u;
  float f;
  if (e == 0x1fu) {
    u = sign | 0x7f800000u | (m << 13); /* infinity, NaN */
  } else if (e) {
    u = sign | ((e + 112u) << 23) | (m << 13);
  } else { /* zero, subnormal: m 2^-24, exact in float */
    f = (float)m * 5.9604644775390625e-8f;
    memcpy(&u, &f, sizeof u);
    u |= sign;
  }
  memcpy(&f, &u, sizeof f);
  return f;
}

#endif
