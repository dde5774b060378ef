/* mlp_avx2.c: the AVX2/FMA GEMM micro-kernels behind the fast MLP path (mlp.c).
 *
 * This file alone is compiled with -mavx2 -mfma (src/CMakeLists.txt); mlp.c calls it only after
 * a run-time check that the CPU has both (__builtin_cpu_supports), so the library still runs on
 * any x86-64. Never build with -march=native.
 *
 * One routine covers the three products of an MLP layer on a tile of samples (see mlp.c):
 *   C[i][j] (+)= sum_p A(i, p) * B[p][j],   A(i, p) = A[i*a_rs + p*a_cs],
 * with B rows contiguous in j (vector loads) and A read one scalar at a time (broadcasts), so
 * either operand order of A (sample-major activations, or their transpose for dW) costs the same.
 * Register blocking: 6 rows x 16 columns = 12 ymm accumulators, 2 loads of B and 6 broadcasts
 * of A per 12 FMAs; the accumulators stay in registers over the whole reduction (P <= a few
 * hundred), so C is touched once per block. */
#include <stddef.h>

#if defined(__x86_64__) || defined(_M_X64)
#if !defined(__AVX2__) || !defined(__FMA__)
#error "mlp_avx2.c must be compiled with -mavx2 -mfma (see src/CMakeLists.txt)"
#endif
#include <immintrin.h>

/* Flags, shared with mlp.c (keep in sync). */
#define GEMM_ACC 1       /* C += product (else C = product) */
#define GEMM_RELU 2      /* C = max(C, 0) after the product (forward, ReLU layer) */
#define GEMM_RELU_MASK 4 /* C = C where Y > 0, else 0 (backward through a ReLU layer with output Y) */

#define MR 6

/* Declared here and in mlp.c (one internal entry point; mlp.h is the public contract). */
void ngp_mlp_gemm_avx2(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);

/* An mr x (wide ? 16 : 8) block of C over the full reduction. Inlined with constant mr and wide, so
 * the unrolled loops keep every accumulator in a register. */
static inline __attribute__((always_inline)) void kernel(const int mr, const int wide, int P, const float *A,
                                                         ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B, ptrdiff_t ldb,
                                                         float *C, ptrdiff_t ldc, int flags, const float *Y,
                                                         ptrdiff_t ldy) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    c0[i] = _mm256_setzero_ps();
    c1[i] = _mm256_setzero_ps();
  }
  for (int p = 0; p < P; p++) {
    const float *b = B + (ptrdiff_t)p * ldb;
    const float *a = A + (ptrdiff_t)p * a_cs;
    __m256 b0 = _mm256_loadu_ps(b);
    __m256 b1 = wide ? _mm256_loadu_ps(b + 8) : b0;
#pragma GCC unroll 6
    for (int i = 0; i < mr; i++) {
      __m256 av = _mm256_broadcast_ss(a + i * a_rs);
      c0[i] = _mm256_fmadd_ps(av, b0, c0[i]);
      if (wide) c1[i] = _mm256_fmadd_ps(av, b1, c1[i]);
    }
  }
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++) {
    float *c = C + (ptrdiff_t)i * ldc;
    __m256 r0 = c0[i], r1 = c1[i];
    if (flags & GEMM_ACC) {
      r0 = _mm256_add_ps(r0, _mm256_loadu_ps(c));
      if (wide) r1 = _mm256_add_ps(r1, _mm256_loadu_ps(c + 8));
    }
    if (flags & GEMM_RELU) {
      r0 = _mm256_max_ps(r0, zero);
      r1 = _mm256_max_ps(r1, zero);
    }
    if (flags & GEMM_RELU_MASK) {
      const float *y = Y + (ptrdiff_t)i * ldy;
      r0 = _mm256_and_ps(r0, _mm256_cmp_ps(_mm256_loadu_ps(y), zero, _CMP_GT_OQ));
      if (wide) r1 = _mm256_and_ps(r1, _mm256_cmp_ps(_mm256_loadu_ps(y + 8), zero, _CMP_GT_OQ));
    }
    _mm256_storeu_ps(c, r0);
    if (wide) _mm256_storeu_ps(c + 8, r1);
  }
}

#define KCASE(mr_, wide_)                                                                                              \
  case mr_: kernel(mr_, wide_, P, a, a_rs, a_cs, b, ldb, c, ldc, flags, y, ldy); break

/* M, P >= 0 any; N a multiple of 8. The loop order keeps a P x 16 panel of B hot in L1 while the
 * row blocks of A stream past it. */
void ngp_mlp_gemm_avx2(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy) {
  for (int j = 0; j < N; j += 16) {
    int wide = N - j >= 16;
    for (int i = 0; i < M; i += MR) {
      int mr = M - i < MR ? M - i : MR;
      const float *a = A + (ptrdiff_t)i * a_rs;
      const float *b = B + j;
      float *c = C + (ptrdiff_t)i * ldc + j;
      const float *y = Y ? Y + (ptrdiff_t)i * ldy + j : NULL;
      if (wide) {
        switch (mr) {
          KCASE(6, 1);
          KCASE(5, 1);
          KCASE(4, 1);
          KCASE(3, 1);
          KCASE(2, 1);
          KCASE(1, 1);
        default: break;
        }
      } else {
        switch (mr) {
          KCASE(6, 0);
          KCASE(5, 0);
          KCASE(4, 0);
          KCASE(3, 0);
          KCASE(2, 0);
          KCASE(1, 0);
        default: break;
        }
      }
    }
  }
}

#else
/* Not x86-64: mlp.c uses its portable path only; keep the translation unit non-empty (ISO C). */
typedef int ngp_mlp_avx2_unused;
#endif
