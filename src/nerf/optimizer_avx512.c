/* optimizer_avx512.c: Adam over the touched hash entries, 16 parameters per instruction.
 *
 * This file alone is compiled with -mavx512f -ffp-contract=off (src/CMakeLists.txt); optimizer.c
 * calls it only after a run-time check that the CPU (and the OS) has AVX-512F, so the library still
 * runs on any x86-64. Never build with -march=native.
 *
 * Each lane does exactly what optimizer.c's adam_one does for one parameter, in the same order and
 * precision: g = grad * inv_scale, skipped where g == 0; the EMA caught up over the old weight in
 * double, d^n from the same table; k = ++t; m, v and the weight through the formula of
 * ngp_optimizer_math.h, one rounding per operation (no contraction into FMAs: -ffp-contract=off;
 * IEEE division and square root are correctly rounded in both); then the EMA. So the results are
 * bit-identical to the scalar path. A vector covers 16 / F whole entries of one bitmap word; the
 * lanes of entries outside the touched set are masked off (never loaded or stored). The fp16 copy
 * (a->half) is written with vcvtps2ph after ngp_half.h's clamp: the same bits as ngp_f32_to_f16. */
#include "nerf/optimizer_simd.h"
#include "common/ngp_half.h"

#if defined(__x86_64__) || defined(_M_X64)
#if !defined(__AVX512F__)
#error "optimizer_avx512.c must be compiled with -mavx512f (see src/CMakeLists.txt)"
#endif
#include <immintrin.h>

/* Lanes of the entries among the 16 / F of `sub` (bit j: entry j of the group) . */
static inline __mmask16 entry_lanes(unsigned sub, int F) {
  unsigned m = 0, ones = (1u << F) - 1u;
  for (int j = 0; sub; j++, sub >>= 1)
    if (sub & 1u) m |= ones << (j * F);
  return (__mmask16)m;
}

/* The EMA caught up over n steps (n = t_now - 1 - ema_step, lanes where n > 0):
 * A = d^n A + (1 - d^n) w, in double as optimizer.c does it, 8 lanes at a time. */
static inline __m256 catch_up_half(__m256 ema, __m256 w, __m256i n, __mmask8 k, const double *pow_table) {
  const __m512d one = _mm512_set1_pd(1.0);
  __m512d dn = _mm512_mask_i32gather_pd(one, k, n, pow_table, 8);
  __m512d e = _mm512_cvtps_pd(ema), x = _mm512_cvtps_pd(w);
  __m512d r = _mm512_add_pd(_mm512_mul_pd(dn, e), _mm512_mul_pd(_mm512_sub_pd(one, dn), x));
  return _mm512_cvtpd_ps(r);
}

static inline __m256 lo8(__m512 x) { return _mm512_castps512_ps256(x); }
static inline __m256 hi8(__m512 x) { return _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)); }
static inline __m512 join8(__m256 lo, __m256 hi) {
  return _mm512_castpd_ps(_mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
}

static void sweep_vector(const ngp_adam_sweep *a, size_t i, __mmask16 lanes) {
  const __m512 zero = _mm512_setzero_ps();
  __m512 gr = _mm512_maskz_loadu_ps(lanes, a->grads + i);
  __m512 g = _mm512_mul_ps(gr, _mm512_set1_ps(a->inv_scale));
  _mm512_mask_storeu_ps(a->grads + i, lanes, zero); /* consumed, zero or not */
  /* !(g == 0): NaN lanes go on, as in the scalar path */
  const __mmask16 k = _mm512_mask_cmp_ps_mask(lanes, g, zero, _CMP_NEQ_UQ);
  if (!k) return;
  __m512 w = _mm512_maskz_loadu_ps(k, a->params + i);
  const __m512i tn = _mm512_set1_epi32((int)a->t_now);
  if (a->ema) {
    __m512 ema = _mm512_maskz_loadu_ps(k, a->ema + i);
    __m512i es = _mm512_maskz_loadu_epi32(k, a->ema_step + i);
    __m512i n = _mm512_sub_epi32(_mm512_sub_epi32(tn, _mm512_set1_epi32(1)), es);
    __mmask16 kc = _mm512_mask_cmpneq_epi32_mask(k, n, _mm512_setzero_si512());
    if (kc) {
      __m256 e0 = catch_up_half(lo8(ema), lo8(w), _mm512_castsi512_si256(n), (__mmask8)(kc & 0xFF), a->ema_pow);
      __m256 e1 = catch_up_half(hi8(ema), hi8(w), _mm512_extracti64x4_epi64(n, 1), (__mmask8)(kc >> 8), a->ema_pow);
      ema = _mm512_mask_mov_ps(ema, kc, join8(e0, e1));
    }
    _mm512_mask_storeu_ps(a->ema + i, k, ema);
  }
  /* k = ++t; bc = bias_corr[k] */
  __m512i t = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, a->t + i), _mm512_set1_epi32(1));
  _mm512_mask_storeu_epi32(a->t + i, k, t);
  __m512 bc = _mm512_mask_i32gather_ps(zero, k, t, a->bias_corr, 4);
  /* ngp_adam_update: m = b1 m + (1 - b1) g, v = b2 v + ((1 - b2) g) g, w -= ((lr bc) m) / (sqrt(v) + eps) */
  __m512 m = _mm512_maskz_loadu_ps(k, a->m + i), v = _mm512_maskz_loadu_ps(k, a->v + i);
  m = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(a->beta1), m), _mm512_mul_ps(_mm512_set1_ps(1.0f - a->beta1), g));
  v = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(a->beta2), v),
                    _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(1.0f - a->beta2), g), g));
  _mm512_mask_storeu_ps(a->m + i, k, m);
  _mm512_mask_storeu_ps(a->v + i, k, v);
  __m512 step = _mm512_div_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(a->lr), bc), m),
                              _mm512_add_ps(_mm512_sqrt_ps(v), _mm512_set1_ps(a->eps)));
  w = _mm512_sub_ps(w, step);
  _mm512_mask_storeu_ps(a->params + i, k, w);
  if (a->half) {
    /* ngp_f32_to_f16: clamp to +-65504 (min and max return their second operand, w, when it is a
     * NaN), then vcvtps2ph rounding to nearest even; the 16 halves widened to 32 bits so that a
     * masked narrowing store (AVX-512F) writes only the lanes of k. */
    __m512 c = _mm512_max_ps(_mm512_set1_ps(-NGP_HALF_MAX), _mm512_min_ps(_mm512_set1_ps(NGP_HALF_MAX), w));
    __m256i h = _mm512_cvtps_ph(c, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm512_mask_cvtepi32_storeu_epi16(a->half + (i - a->n_matrix), k, _mm512_cvtepu16_epi32(h));
  }
  if (a->ema) {
    /* ngp_ema_update: d ema + (1 - d) w */
    __m512 ema = _mm512_maskz_loadu_ps(k, a->ema + i);
    ema = _mm512_add_ps(_mm512_mul_ps(_mm512_set1_ps(a->ema_decay), ema),
                        _mm512_mul_ps(_mm512_set1_ps(1.0f - a->ema_decay), w));
    _mm512_mask_storeu_ps(a->ema + i, k, ema);
    _mm512_mask_storeu_epi32(a->ema_step + i, k, tn);
  }
}

void ngp_adam_sweep_avx512(const ngp_adam_sweep *a, size_t w0, size_t w1) {
  const int F = a->F, per = 16 / F; /* entries per vector */
  const unsigned group = per >= 32 ? 0xFFFFFFFFu : (1u << per) - 1u;
  for (size_t wd = w0; wd < w1; wd++) {
    uint64_t bits = a->bits[wd];
    while (bits) {
      /* the group of `per` entries holding the lowest touched one */
      int b = __builtin_ctzll(bits) / per * per;
      unsigned sub = (unsigned)(bits >> b) & group;
      bits &= b + per >= 64 ? 0 : ~(uint64_t)0 << (b + per);
      size_t e = wd * 64 + (size_t)b;
      sweep_vector(a, a->n_matrix + e * (size_t)F, entry_lanes(sub, F));
    }
  }
}

#else
/* Not x86-64: optimizer.c never calls the sweep; keep the translation unit non-empty (ISO C). */
typedef int ngp_optimizer_avx512_unused;
#endif
