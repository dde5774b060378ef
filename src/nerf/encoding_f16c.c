/* encoding_f16c.c: the fp16 hash table's two x86 kernels, with F16C's conversions (8 halves per
 * instruction): rounding the fp32 table into the fp16 copy, and the forward's gather of F = 2, 4
 * or 8 features per entry from it (encoding_fast.c's ngp_hashgrid_forward_f16). Compiled alone with -mavx2
 * -mf16c -ffp-contract=off (src/CMakeLists.txt) and called only after a run-time CPU check.
 *
 * Both give the portable code's bits: F16C rounds to nearest even as ngp_f32_to_f16 does (after
 * the same clamp to +-65504), and the gather multiplies each corner's features by its weight and
 * adds the products corner by corner from 0, one rounding each, as encoding_fast.c's portable
 * gather (tests/test_encoding.c compares them). */
#include <stddef.h>

#if defined(__x86_64__) || defined(_M_X64)
#if !defined(__F16C__) || !defined(__AVX2__)
#error "encoding_f16c.c must be compiled with -mavx2 -mf16c (see src/CMakeLists.txt)"
#endif
#include <immintrin.h>
#include <string.h>

#include "nerf/encoding_simd.h"
#include "common/ngp_half.h"

void ngp_f16_from_f32_f16c(const float *src, size_t n, uint16_t *dst) {
  const __m256 hi = _mm256_set1_ps(NGP_HALF_MAX), lo = _mm256_set1_ps(-NGP_HALF_MAX);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    /* min(hi, v) and max(lo, .) return their second operand when it is a NaN: NaNs stay NaNs. */
    __m256 v = _mm256_max_ps(lo, _mm256_min_ps(hi, _mm256_loadu_ps(src + i)));
    _mm_storeu_si128((__m128i *)(void *)(dst + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; i++)
    dst[i] = ngp_f32_to_f16(src[i]);
}

/* acc + the two features of each of p's four corners, corner by corner (lanes 0 and 1). */
static inline __m128 add_corners2(__m128 acc, __m256 p) {
  __m128 a = _mm256_castps256_ps128(p), b = _mm256_extractf128_ps(p, 1);
  acc = _mm_add_ps(acc, a);
  acc = _mm_add_ps(acc, _mm_movehl_ps(a, a));
  acc = _mm_add_ps(acc, b);
  return _mm_add_ps(acc, _mm_movehl_ps(b, b));
}

/* F = 2: four corners' halves per conversion; lanes 0 and 1 of the sum are the two features. */
static void gather2(const uint16_t *P, const uint32_t (*idx)[8], const float (*w)[8], int n, float *out,
                    ptrdiff_t out_stride) {
  const __m256i twice = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3); /* corner k's weight, twice */
  for (int i = 0; i < n; i++) {
    uint32_t e[8]; /* corner k's two halves */
    for (int k = 0; k < 8; k++)
      memcpy(&e[k], P + (size_t)idx[i][k] * 2u, sizeof e[k]);
    __m256 f0 = _mm256_cvtph_ps(_mm_setr_epi32((int)e[0], (int)e[1], (int)e[2], (int)e[3]));
    __m256 f1 = _mm256_cvtph_ps(_mm_setr_epi32((int)e[4], (int)e[5], (int)e[6], (int)e[7]));
    __m256 w0 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(w[i])), twice);
    __m256 w1 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(w[i] + 4)), twice);
    __m128 acc = add_corners2(_mm_setzero_ps(), _mm256_mul_ps(w0, f0));
    acc = add_corners2(acc, _mm256_mul_ps(w1, f1));
    _mm_storel_pi((__m64 *)(void *)(out + (ptrdiff_t)i * out_stride), acc);
  }
}

/* F = 4: two corners' halves per conversion; the four lanes of the sum are the features. */
static void gather4(const uint16_t *P, const uint32_t (*idx)[8], const float (*w)[8], int n, float *out,
                    ptrdiff_t out_stride) {
  for (int i = 0; i < n; i++) {
    __m128 acc = _mm_setzero_ps();
    for (int k = 0; k < 8; k += 2) {
      __m128i e = _mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)(P + (size_t)idx[i][k] * 4u)),
                                     _mm_loadl_epi64((const __m128i *)(const void *)(P + (size_t)idx[i][k + 1] * 4u)));
      __m256 f = _mm256_cvtph_ps(e);
      __m128 a = _mm_mul_ps(_mm_set1_ps(w[i][k]), _mm256_castps256_ps128(f));
      __m128 b = _mm_mul_ps(_mm_set1_ps(w[i][k + 1]), _mm256_extractf128_ps(f, 1));
      acc = _mm_add_ps(acc, a);
      acc = _mm_add_ps(acc, b);
    }
    _mm_storeu_ps(out + (ptrdiff_t)i * out_stride, acc);
  }
}

/* F = 8: one corner's halves per conversion. */
static void gather8(const uint16_t *P, const uint32_t (*idx)[8], const float (*w)[8], int n, float *out,
                    ptrdiff_t out_stride) {
  for (int i = 0; i < n; i++) {
    __m256 acc = _mm256_setzero_ps();
    for (int k = 0; k < 8; k++) {
      __m256 f = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(P + (size_t)idx[i][k] * 8u)));
      acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_set1_ps(w[i][k]), f));
    }
    _mm256_storeu_ps(out + (ptrdiff_t)i * out_stride, acc);
  }
}

int ngp_hashgrid_gather_f16c(const uint16_t *P, const uint32_t (*idx)[8], const float (*w)[8], int n, int F, float *out,
                             ptrdiff_t out_stride) {
  switch (F) {
  case 2: gather2(P, idx, w, n, out, out_stride); return 1;
  case 4: gather4(P, idx, w, n, out, out_stride); return 1;
  case 8: gather8(P, idx, w, n, out, out_stride); return 1;
  default: return 0;
  }
}

#else
/* Not x86-64: encoding_fast.c uses its portable code only; keep the translation unit non-empty. */
typedef int ngp_encoding_f16c_unused;
#endif
