/* mlp_avx512.c: the AVX-512 GEMM micro-kernel behind the fast MLP path (mlp.c).
 *
 * This file alone is compiled with -mavx512f -mavx2 -mfma (src/CMakeLists.txt); mlp.c calls it only
 * after a run-time check that the CPU (and the OS) has AVX-512F and AVX2/FMA, so the library still
 * runs on any x86-64. Never build with -march=native.
 *
 * Same contract and flags as the AVX2 kernel (mlp_avx2.c):
 *   C[i][j] (+)= sum_p A(i, p) * B[p][j],   A(i, p) = A[i*a_rs + p*a_cs],   N a multiple of 8,
 * and the same arithmetic per element of C: one fused multiply-add chain from zero over p in
 * increasing order, then the optional + C, ReLU and ReLU mask. So its results are bit-identical to
 * the AVX2 kernel's (tests/test_mlp.c checks it), and a run's snapshot does not depend on which
 * of the two the CPU picks. Only the blocking differs: 8 rows x 32 columns = 16 zmm accumulators,
 * 2 loads of B and 8 broadcasts of A (folded into the FMAs) per 16 FMAs of 16 lanes; the AVX2
 * kernel does 2 loads and 6 broadcasts per 12 FMAs of 8 lanes. 12 rows (24 accumulators) measured
 * 5% slower than AVX2 on Zen 4: the 12 row offsets of A no longer fit in the integer registers.
 * A column tail of 8 or 24 uses masked loads and stores. */
#include <stddef.h>

#if defined(__x86_64__) || defined(_M_X64)
#if !defined(__AVX512F__) || !defined(__FMA__)
#error "mlp_avx512.c must be compiled with -mavx512f -mfma (see src/CMakeLists.txt)"
#endif
#include <immintrin.h>

/* Flags, shared with mlp.c (keep in sync). */
#define GEMM_ACC 1       /* C += product (else C = product) */
#define GEMM_RELU 2      /* C = max(C, 0) after the product (forward, ReLU layer) */
#define GEMM_RELU_MASK 4 /* C = C where Y > 0, else 0 (backward through a ReLU layer with output Y) */

#define MR 8
#define NR 32

/* Full vectors (mask all ones, known at compile time) use plain loads and stores. */
static inline __attribute__((always_inline)) __m512 load(__mmask16 k, const float *p) {
  return k == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(k, p);
}
static inline __attribute__((always_inline)) void store(__mmask16 k, float *p, __m512 v) {
  if (k == 0xFFFF)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, k, v);
}

/* Declared here and in mlp.c (one internal entry point; mlp.h is the public contract). */
void ngp_mlp_gemm_avx512(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                         ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);

/* An mr x (8, 16, 24 or 32) block of C over the full reduction: nv (1 or 2) vectors of 16 columns,
 * the last one holding only 8 columns when tail is set (masked: its lanes 8..15 are loaded as zero
 * and never stored). Inlined with constant mr, nv and tail, so the unrolled loops keep every
 * accumulator in a register and full vectors use plain loads and stores. */
static inline __attribute__((always_inline)) void kernel(const int mr, const int nv, const int tail, int P,
                                                         const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                                                         ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags,
                                                         const float *Y, ptrdiff_t ldy) {
  const __mmask16 k0 = nv == 1 && tail ? 0x00FF : 0xFFFF, k1 = nv == 2 && tail ? 0x00FF : 0xFFFF;
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  for (int p = 0; p < P; p++) {
    const float *b = B + (ptrdiff_t)p * ldb;
    const float *a = A + (ptrdiff_t)p * a_cs;
    __m512 b0 = load(k0, b);
    __m512 b1 = nv == 2 ? load(k1, b + 16) : b0;
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) {
      __m512 av = _mm512_set1_ps(a[i * a_rs]);
      c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
      if (nv == 2) c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
    }
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++) {
    float *c = C + (ptrdiff_t)i * ldc;
    __m512 r0 = c0[i], r1 = c1[i];
    if (flags & GEMM_ACC) {
      r0 = _mm512_add_ps(r0, load(k0, c));
      if (nv == 2) r1 = _mm512_add_ps(r1, load(k1, c + 16));
    }
    /* max(r, 0) returns its second operand when both are zero or r is NaN, like AVX2's. */
    if (flags & GEMM_RELU) {
      r0 = _mm512_max_ps(r0, zero);
      r1 = _mm512_max_ps(r1, zero);
    }
    /* Lanes where Y > 0 fails (NaN included) become +0, as AVX2's AND with the compare mask. */
    if (flags & GEMM_RELU_MASK) {
      const float *y = Y + (ptrdiff_t)i * ldy;
      r0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(load(k0, y), zero, _CMP_GT_OQ), r0);
      if (nv == 2) r1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(load(k1, y + 16), zero, _CMP_GT_OQ), r1);
    }
    store(k0, c, r0);
    if (nv == 2) store(k1, c + 16, r1);
  }
}

#define KCASE(mr_, nv_, tail_)                                                                                         \
  case mr_:                                                                                                            \
    kernel(mr_, nv_, tail_, P, a, a_rs, a_cs, b, ldb, c, ldc, flags, y, ldy);                                          \
    break

#define KSWITCH(nv_, tail_)                                                                                            \
  switch (mr) {                                                                                                        \
    KCASE(8, nv_, tail_);                                                                                              \
    KCASE(7, nv_, tail_);                                                                                              \
    KCASE(6, nv_, tail_);                                                                                              \
    KCASE(5, nv_, tail_);                                                                                              \
    KCASE(4, nv_, tail_);                                                                                              \
    KCASE(3, nv_, tail_);                                                                                              \
    KCASE(2, nv_, tail_);                                                                                              \
    KCASE(1, nv_, tail_);                                                                                              \
  default: break;                                                                                                      \
  }

/* M, P >= 0 any; N a multiple of 8. The loop order keeps a P x 32 panel of B hot in L1 while the
 * row blocks of A stream past it. */
void ngp_mlp_gemm_avx512(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                         ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy) {
  for (int j = 0; j < N; j += NR) {
    int w = N - j < NR ? N - j : NR; /* 8, 16, 24 or 32 */
    for (int i = 0; i < M; i += MR) {
      int mr = M - i < MR ? M - i : MR;
      const float *a = A + (ptrdiff_t)i * a_rs;
      const float *b = B + j;
      float *c = C + (ptrdiff_t)i * ldc + j;
      const float *y = Y ? Y + (ptrdiff_t)i * ldy + j : NULL;
      switch (w) {
      case 32: KSWITCH(2, 0) break;
      case 24: KSWITCH(2, 1) break;
      case 16: KSWITCH(1, 0) break;
      default: KSWITCH(1, 1) break;
      }
    }
  }
}

#else
/* Not x86-64: mlp.c uses its portable path only; keep the translation unit non-empty (ISO C). */
typedef int ngp_mlp_avx512_unused;
#endif
