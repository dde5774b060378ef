/* optimizer_avx2.c: Adam over the touched hash entries, 8 parameters per instruction, for CPUs with
 * AVX2 but not AVX-512 (optimizer_avx512.c is the 16-lane twin; read it first).
 *
 * This file alone is compiled with -mavx2 -ffp-contract=off (src/CMakeLists.txt); optimizer.c calls
 * it only after a run-time check that the CPU has AVX2. Each lane does exactly what optimizer.c's
 * adam_one does for one parameter, with the same roundings (no FMA), so the results are
 * bit-identical to the scalar path (tests/test_optimizer.c). A vector covers 8 / F whole entries of
 * one bitmap word; lanes of entries outside the touched set are masked off. */
#include "nerf/optimizer_simd.h"
#include "common/ngp_half.h"

#if defined(__x86_64__) || defined(_M_X64)
#if !defined(__AVX2__)
#error "optimizer_avx2.c must be compiled with -mavx2 (see src/CMakeLists.txt)"
#endif
#include <immintrin.h>

/* All-ones lanes of the entries among the 8 / F of `sub` (bit j: entry j of the group). */
static inline __m256i entry_lanes(unsigned sub, int F) {
  unsigned m = 0, ones = (1u << F) - 1u;
  for (int j = 0; sub; j++, sub >>= 1)
    if (sub & 1u) m |= ones << (j * F);
  const __m256i sel = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  return _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32((int)m), sel), sel);
}

/* The EMA caught up over n steps (lanes of k, 4 at a time): A = d^n A + (1 - d^n) w, in double. */
static inline __m128 catch_up_half(__m128 ema, __m128 w, __m128i n, __m128i k, const double *pow_table) {
  const __m256d one = _mm256_set1_pd(1.0);
  __m256d kd = _mm256_castsi256_pd(_mm256_cvtepi32_epi64(k));
  __m256d dn = _mm256_mask_i32gather_pd(one, pow_table, n, kd, 8);
  __m256d e = _mm256_cvtps_pd(ema), x = _mm256_cvtps_pd(w);
  __m256d r = _mm256_add_pd(_mm256_mul_pd(dn, e), _mm256_mul_pd(_mm256_sub_pd(one, dn), x));
  return _mm256_cvtpd_ps(r);
}

static void sweep_vector(const ngp_adam_sweep *a, size_t i, __m256i lanes) {
  const __m256 zero = _mm256_setzero_ps();
  __m256 gr = _mm256_maskload_ps(a->grads + i, lanes);
  __m256 g = _mm256_mul_ps(gr, _mm256_set1_ps(a->inv_scale));
  _mm256_maskstore_ps(a->grads + i, lanes, zero); /* consumed, zero or not */
  /* !(g == 0): NaN lanes go on, as in the scalar path */
  const __m256i k = _mm256_and_si256(lanes, _mm256_castps_si256(_mm256_cmp_ps(g, zero, _CMP_NEQ_UQ)));
  if (_mm256_testz_si256(k, k)) return;
  const __m256 kf = _mm256_castsi256_ps(k);
  __m256 w = _mm256_maskload_ps(a->params + i, k);
  const __m256i tn = _mm256_set1_epi32((int)a->t_now);
  if (a->ema) {
    __m256 ema = _mm256_maskload_ps(a->ema + i, k);
    __m256i es = _mm256_maskload_epi32((const int *)(a->ema_step + i), k);
    __m256i n = _mm256_sub_epi32(_mm256_sub_epi32(tn, _mm256_set1_epi32(1)), es);
    __m256i kc = _mm256_andnot_si256(_mm256_cmpeq_epi32(n, _mm256_setzero_si256()), k);
    if (!_mm256_testz_si256(kc, kc)) {
      __m128 e0 = catch_up_half(_mm256_castps256_ps128(ema), _mm256_castps256_ps128(w), _mm256_castsi256_si128(n),
                                _mm256_castsi256_si128(kc), a->ema_pow);
      __m128 e1 = catch_up_half(_mm256_extractf128_ps(ema, 1), _mm256_extractf128_ps(w, 1),
                                _mm256_extracti128_si256(n, 1), _mm256_extracti128_si256(kc, 1), a->ema_pow);
      ema = _mm256_blendv_ps(ema, _mm256_set_m128(e1, e0), _mm256_castsi256_ps(kc));
    }
    _mm256_maskstore_ps(a->ema + i, k, ema);
  }
  /* k = ++t; bc = bias_corr[k] */
  __m256i t = _mm256_add_epi32(_mm256_maskload_epi32((const int *)(a->t + i), k), _mm256_set1_epi32(1));
  _mm256_maskstore_epi32((int *)(a->t + i), k, t);
  __m256 bc = _mm256_mask_i32gather_ps(zero, a->bias_corr, t, kf, 4);
  /* ngp_adam_update: m = b1 m + (1 - b1) g, v = b2 v + ((1 - b2) g) g, w -= ((lr bc) m) / (sqrt(v) + eps) */
  __m256 m = _mm256_maskload_ps(a->m + i, k), v = _mm256_maskload_ps(a->v + i, k);
  m = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(a->beta1), m), _mm256_mul_ps(_mm256_set1_ps(1.0f - a->beta1), g));
  v = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(a->beta2), v),
                    _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(1.0f - a->beta2), g), g));
  _mm256_maskstore_ps(a->m + i, k, m);
  _mm256_maskstore_ps(a->v + i, k, v);
  __m256 step = _mm256_div_ps(_mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(a->lr), bc), m),
                              _mm256_add_ps(_mm256_sqrt_ps(v), _mm256_set1_ps(a->eps)));
  w = _mm256_sub_ps(w, step);
  _mm256_maskstore_ps(a->params + i, k, w);
  if (a->half) { /* this file has no F16C: the portable rounding, lane by lane */
    const unsigned km = (unsigned)_mm256_movemask_ps(kf);
    for (int j = 0; j < 8; j++)
      if (km >> j & 1u) a->half[i + (size_t)j - a->n_matrix] = ngp_f32_to_f16(a->params[i + (size_t)j]);
  }
  if (a->ema) {
    /* ngp_ema_update: d ema + (1 - d) w */
    __m256 ema = _mm256_maskload_ps(a->ema + i, k);
    ema = _mm256_add_ps(_mm256_mul_ps(_mm256_set1_ps(a->ema_decay), ema),
                        _mm256_mul_ps(_mm256_set1_ps(1.0f - a->ema_decay), w));
    _mm256_maskstore_ps(a->ema + i, k, ema);
    _mm256_maskstore_epi32((int *)(a->ema_step + i), k, tn);
  }
}

void ngp_adam_sweep_avx2(const ngp_adam_sweep *a, size_t w0, size_t w1) {
  const int F = a->F, per = 8 / F; /* entries per vector */
  const unsigned group = (1u << per) - 1u;
  for (size_t wd = w0; wd < w1; wd++) {
    uint64_t bits = a->bits[wd];
    while (bits) {
      int b = __builtin_ctzll(bits) / per * per; /* the group holding the lowest touched entry */
      unsigned sub = (unsigned)(bits >> b) & group;
      bits &= b + per >= 64 ? 0 : ~(uint64_t)0 << (b + per);
      size_t e = wd * 64 + (size_t)b;
      sweep_vector(a, a->n_matrix + e * (size_t)F, entry_lanes(sub, F));
    }
  }
}

#else
/* Not x86-64: optimizer.c never calls the sweep; keep the translation unit non-empty (ISO C). */
typedef int ngp_optimizer_avx2_unused;
#endif
