/* mlp_bf16.c: a bf16 GEMM behind the fast MLP path (mlp.c), opt-in with NGP_SIMD=avx512bf16.
 *
 * This file alone is compiled with -mavx512f -mavx512bw -mavx512bf16 (src/CMakeLists.txt); mlp.c
 * calls it only when asked for and after a run-time check that the CPU (and the OS) has
 * AVX512_BF16, so the library still runs on any x86-64. Never build with -march=native.
 *
 * Same contract and flags as the fp32 kernels (mlp_avx2.c, mlp_avx512.c):
 *   C[i][j] (+)= sum_p A(i, p) * B[p][j],   A(i, p) = A[i*a_rs + p*a_cs],   N a multiple of 8,
 * but A and B are rounded to bfloat16 (round to nearest even; 8 significant bits) and multiplied
 * with vdpbf16ps, which adds the products of two consecutive p to each fp32 accumulator: twice the
 * multiply-adds of an fp32 FMA per instruction. The accumulation stays fp32. So each product carries
 * a relative error of at most about 2^-7 (two roundings of 2^-8), and
 *   |C - C_fp32| <= ~2^-7 * sum_p |A(i, p) B[p][j]|   (plus fp32 rounding),
 * the bound tests/test_mlp.c checks. Not bit-identical to anything: a run with it differs from an
 * fp32 run, which is why it is never chosen by itself.
 *
 * Operands are packed per call into bf16 panels (on the stack): A as pairs along p per row (one
 * 32-bit broadcast per row and pair), B as pairs along p interleaved per column (one 512-bit load
 * per 16 columns and pair). The reduction runs in panels of KC values of p; the register blocking
 * is the AVX-512 kernel's: 8 rows x 32 columns. */
#include <stddef.h>

#if defined(__x86_64__) || defined(_M_X64)
#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512BF16__)
#error "mlp_bf16.c must be compiled with -mavx512f -mavx512bw -mavx512bf16 (see src/CMakeLists.txt)"
#endif
#include <immintrin.h>
#include <stdint.h>

/* Flags, shared with mlp.c (keep in sync). */
#define GEMM_ACC 1
#define GEMM_RELU 2
#define GEMM_RELU_MASK 4

#define MR 8
#define NR 32
#define KC 128 /* values of p per panel (even) */
#define MC 128 /* rows of A packed at a time */
#define KQ (KC / 2)

void ngp_mlp_gemm_bf16(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);

/* The first n lanes (none for n <= 0, all for n >= 16). */
static inline __mmask16 first(int n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* 16 consecutive floats from n (0..16) valid ones, the rest zero. */
static inline __m512 load16(const float *p, int n) {
  return n >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(first(n), p);
}

/* Two rows r0, r1 of 16 values each -> 16 pairs (r0[j], r1[j]) in bf16, j = 0..15, as 16 dwords. */
static inline __m512i interleave_pairs(__m512 r0, __m512 r1) {
  /* cvtne2ps: elements 0..15 from the second operand, 16..31 from the first */
  __m512i both = (__m512i)_mm512_cvtne2ps_pbh(r1, r0);
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, both);
}

/* A rows [0, mc) of the panel p in [p0, p0 + kc) as bf16 pairs (A(r, p0+2q), A(r, p0+2q+1)), zero
 * past P, in whole-vector stores: row-major, pair (r, q) at ap[r * KQ + q], or, when A's rows are
 * contiguous along r (dW: A is G transposed), q-major at ap[q * MC + r]. Returns the stride of r;
 * *q_stride gets the stride of q. */
static ptrdiff_t pack_a(int mc, int kc, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, uint32_t *ap,
                        ptrdiff_t *q_stride) {
  const int kq = (kc + 1) / 2;
  if (a_rs == 1 && a_cs != 1) { /* q-major: two rows of G make 16 pairs at a time */
    for (int q = 0; q < kq; q++) {
      const float *a0 = A + (ptrdiff_t)(2 * q) * a_cs, *a1 = a0 + a_cs;
      const int two = 2 * q + 1 < kc;
      for (int r = 0; r < mc; r += 16) {
        int n = mc - r;
        __m512 r0 = load16(a0 + r, n), r1 = two ? load16(a1 + r, n) : _mm512_setzero_ps();
        _mm512_mask_storeu_epi32(ap + (size_t)q * MC + r, first(n), interleave_pairs(r0, r1));
      }
    }
    *q_stride = MC;
    return 1;
  }
  *q_stride = 1;
  if (a_cs == 1) { /* rows contiguous along p: consecutive values are the pairs */
    for (int r = 0; r < mc; r++) {
      const float *a = A + (ptrdiff_t)r * a_rs;
      for (int p = 0; p < kc; p += 32) {
        __m512 lo = load16(a + p, kc - p), hi = load16(a + p + 16, kc - p - 16);
        __m512i v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
        int nq = kq - p / 2 < 16 ? kq - p / 2 : 16;
        _mm512_mask_storeu_epi32(ap + (size_t)r * KQ + p / 2, first(nq), v);
      }
    }
    return KQ;
  }
  for (int r = 0; r < mc; r++) /* any other strides: one pair at a time */
    for (int q = 0; q < kq; q++) {
      const float *a = A + (ptrdiff_t)r * a_rs + (ptrdiff_t)(2 * q) * a_cs;
      __m512 lo = _mm512_set1_ps(a[0]), hi = 2 * q + 1 < kc ? _mm512_set1_ps(a[a_cs]) : _mm512_setzero_ps();
      ap[(size_t)r * KQ + q] = (uint32_t)_mm_cvtsi128_si32(_mm512_castsi512_si128(interleave_pairs(lo, hi)));
    }
  return KQ;
}

/* B columns [j0, j0 + nc) (nc <= 32) of the panel into bp[q][c] = (B[p0+2q][c], B[p0+2q+1][c]),
 * 32 columns per q, zero past N and P. */
static void pack_b(int nc, int kc, const float *B, ptrdiff_t ldb, uint32_t *bp) {
  const int kq = (kc + 1) / 2;
  const __m512 zero = _mm512_setzero_ps();
  for (int q = 0; q < kq; q++) {
    const float *b0 = B + (ptrdiff_t)(2 * q) * ldb, *b1 = b0 + ldb;
    const int two = 2 * q + 1 < kc;
    for (int c = 0; c < NR; c += 16) {
      int n = nc - c;
      __m512 r0 = n > 0 ? load16(b0 + c, n) : zero, r1 = n > 0 && two ? load16(b1 + c, n) : zero;
      _mm512_storeu_si512(bp + (size_t)q * NR + c, interleave_pairs(r0, r1));
    }
  }
}

/* An mr x 32 block over one panel of kq pairs; panel 0 starts from zero (then + C if GEMM_ACC),
 * later panels add to C; the last panel applies ReLU or the mask. */
static inline __attribute__((always_inline)) void kernel(const int mr, int kq, const uint32_t *ap, ptrdiff_t ars,
                                                         ptrdiff_t aqs, const uint32_t *bp, float *C, ptrdiff_t ldc,
                                                         int nc, int add_c, int last, int flags, const float *Y,
                                                         ptrdiff_t ldy) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  for (int q = 0; q < kq; q++) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + (size_t)q * NR),
             b1 = (__m512bh)_mm512_loadu_si512(bp + (size_t)q * NR + 16);
#pragma GCC unroll 8
    for (int i = 0; i < mr; i++) {
      __m512bh av = (__m512bh)_mm512_set1_epi32((int)ap[i * ars + q * aqs]);
      c0[i] = _mm512_dpbf16_ps(c0[i], av, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], av, b1);
    }
  }
  const __mmask16 k0 = first(nc), k1 = first(nc - 16 > 0 ? nc - 16 : 0);
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++) {
    float *c = C + (ptrdiff_t)i * ldc;
    __m512 r0 = c0[i], r1 = c1[i];
    if (add_c) {
      r0 = _mm512_add_ps(r0, _mm512_maskz_loadu_ps(k0, c));
      r1 = _mm512_add_ps(r1, _mm512_maskz_loadu_ps(k1, c + 16));
    }
    if (last && (flags & GEMM_RELU)) {
      r0 = _mm512_max_ps(r0, zero);
      r1 = _mm512_max_ps(r1, zero);
    }
    if (last && (flags & GEMM_RELU_MASK)) {
      const float *y = Y + (ptrdiff_t)i * ldy;
      r0 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(k0, y), zero, _CMP_GT_OQ), r0);
      r1 = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(_mm512_maskz_loadu_ps(k1, y + 16), zero, _CMP_GT_OQ), r1);
    }
    _mm512_mask_storeu_ps(c, k0, r0);
    if (k1) _mm512_mask_storeu_ps(c + 16, k1, r1);
  }
}

void ngp_mlp_gemm_bf16(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy) {
  uint32_t ap[MC * KQ] __attribute__((aligned(64)));
  uint32_t bp[KQ * NR] __attribute__((aligned(64)));
  if (P <= 0) { /* an empty sum: C = 0 (+ C), then the flags, as the fp32 kernels do */
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        float r = 0.0f;
        if (flags & GEMM_ACC) r += C[(ptrdiff_t)i * ldc + j];
        if (flags & GEMM_RELU) r = r > 0.0f ? r : 0.0f;
        if (flags & GEMM_RELU_MASK) r = Y[(ptrdiff_t)i * ldy + j] > 0.0f ? r : 0.0f;
        C[(ptrdiff_t)i * ldc + j] = r;
      }
    return;
  }
  for (int i0 = 0; i0 < M; i0 += MC) {
    const int mc = M - i0 < MC ? M - i0 : MC;
    for (int p0 = 0; p0 < P; p0 += KC) {
      const int kc = P - p0 < KC ? P - p0 : KC, kq = (kc + 1) / 2;
      const int add_c = p0 > 0 || (flags & GEMM_ACC), last = p0 + KC >= P;
      ptrdiff_t aqs;
      const ptrdiff_t ars = pack_a(mc, kc, A + (ptrdiff_t)i0 * a_rs + (ptrdiff_t)p0 * a_cs, a_rs, a_cs, ap, &aqs);
      for (int j = 0; j < N; j += NR) {
        const int nc = N - j < NR ? N - j : NR;
        pack_b(nc, kc, B + (ptrdiff_t)p0 * ldb + j, ldb, bp);
        for (int i = 0; i < mc; i += MR) {
          const int mr = mc - i < MR ? mc - i : MR;
          float *c = C + (ptrdiff_t)(i0 + i) * ldc + j;
          const float *y = Y ? Y + (ptrdiff_t)(i0 + i) * ldy + j : NULL;
          const uint32_t *a = ap + i * ars;
          switch (mr) {
          case 8: kernel(8, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          case 7: kernel(7, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          case 6: kernel(6, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          case 5: kernel(5, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          case 4: kernel(4, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          case 3: kernel(3, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          case 2: kernel(2, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          default: kernel(1, kq, a, ars, aqs, bp, c, ldc, nc, add_c, last, flags, y, ldy); break;
          }
        }
      }
    }
  }
}

#else
/* Not x86-64: mlp.c uses its portable path only; keep the translation unit non-empty (ISO C). */
typedef int ngp_mlp_bf16_unused;
#endif
