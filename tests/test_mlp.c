/* test_mlp.c: the MLP (src/nerf/mlp.c) and its activations (src/common/ngp_activation.h).
 *
 * The reference is checked against hand-computed values and against central finite differences;
 * the fast path (the best kernel of the CPU and the portable one, switched with NGP_SIMD=scalar) is
 * checked against the reference on random inputs, NeRF shapes and odd ones; the AVX-512 kernel
 * against the AVX2 one bit for bit. */
#define _POSIX_C_SOURCE 200809L /* setenv */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerf/mlp.h"
#include "common/ngp_activation.h"

static const ngp_activation ALL_ACTS[] = {NGP_ACT_NONE,        NGP_ACT_RELU,     NGP_ACT_LEAKY_RELU,
                                          NGP_ACT_EXPONENTIAL, NGP_ACT_SINE,     NGP_ACT_SIGMOID,
                                          NGP_ACT_SQUAREPLUS,  NGP_ACT_SOFTPLUS, NGP_ACT_TANH};
#define N_ACTS ((int)(sizeof ALL_ACTS / sizeof ALL_ACTS[0]))

static uint64_t g_rng = 1;
static float frand(float lo, float hi) { /* xorshift64*: deterministic test data */
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  uint64_t r = g_rng * 0x2545F4914F6CDD1Dull;
  return lo + (hi - lo) * (float)(r >> 40) * (1.0f / 16777216.0f);
}

static float *alloc_rand(size_t n, float lo, float hi) {
  float *p = malloc(n * sizeof(float) + 1);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++)
    p[i] = frand(lo, hi);
  return p;
}

/* atol + rtol*|ref|, printing the first mismatches with their index (llm.c validate_result). */
static int compare(const char *what, const float *ref, const float *got, size_t n, float atol, float rtol) {
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    float tol = atol + rtol * fabsf(ref[i]);
    if (!(fabsf(ref[i] - got[i]) <= tol)) {
      if (bad < 5)
        printf("  %s[%zu]: ref %.8g got %.8g (tol %.3g)\n", what, i, (double)ref[i], (double)got[i], (double)tol);
      bad++;
    }
  }
  if (bad) printf("  %s: %d of %zu mismatches\n", what, bad, n);
  return bad;
}

/* ---- Structure and init ------------------------------------------------------------------------ */

static void test_init_shapes(void **state) {
  (void)state;
  ngp_mlp m;
  ngp_error err;
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(m.n_layers, 2);
  assert_int_equal(m.n_params, 64 * 32 + 16 * 64); /* 3072: NGP-SPEC §3 */
  assert_int_equal(m.weight_offset[1], 64 * 32);
  assert_int_equal(ngp_mlp_acts_per_sample(&m), 64 + 16);
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(m.n_params, 7168);
  assert_int_equal(m.dims[0], 32);
  assert_int_equal(m.dims[2], 64);
  assert_int_equal(m.dims[3], 16);
  assert_int_equal(ngp_mlp_acts_per_sample(&m), 64 + 64 + 16);
  /* Sine layers also keep their pre-activations. */
  assert_int_equal(ngp_mlp_init(&m, 8, 16, 1, 4, NGP_ACT_SINE, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(ngp_mlp_acts_per_sample(&m), 2 * 16 + 4);
  /* 0 hidden layers: one matrix, width ignored. */
  assert_int_equal(ngp_mlp_init(&m, 5, 0, 0, 3, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(m.n_params, 15);

  assert_int_equal(ngp_mlp_init(&m, 0, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "n_input_dims = 0");
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 1, 0, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "n_output_dims = 0");
  assert_int_equal(ngp_mlp_init(&m, 32, 0, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "n_neurons = 0");
  assert_int_equal(ngp_mlp_init(&m, 32, 64, NGP_MLP_MAX_LAYERS, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "n_hidden_layers");
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 1, 16, (ngp_activation)99, NGP_ACT_NONE, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "activation 99");
}

static void test_init_params(void **state) {
  (void)state;
  ngp_mlp m;
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, NULL), NGP_OK);
  float *a = calloc(m.n_params, sizeof(float)), *b = calloc(m.n_params, sizeof(float));
  assert_non_null(a);
  assert_non_null(b);
  ngp_mlp_init_params(&m, a, 42);
  for (int l = 0; l < m.n_layers; l++) {
    float s = sqrtf(6.0f / (float)(m.dims[l] + m.dims[l + 1]));
    float mx = 0.0f;
    double mean = 0.0;
    size_t n = m.weight_offset[l + 1] - m.weight_offset[l];
    for (size_t i = m.weight_offset[l]; i < m.weight_offset[l + 1]; i++) {
      assert_true(fabsf(a[i]) <= s);
      mx = fmaxf(mx, fabsf(a[i]));
      mean += (double)a[i];
    }
    assert_true(mx > 0.95f * s);                           /* the range is used, not a narrower one */
    assert_true(fabs(mean / (double)n) < 0.1 * (double)s); /* centred */
  }
  ngp_mlp_init_params(&m, b, 42);
  assert_memory_equal(a, b, m.n_params * sizeof(float));
  ngp_mlp_init_params(&m, b, 43);
  size_t same = 0;
  for (size_t i = 0; i < m.n_params; i++)
    same += a[i] == b[i];
  assert_true(same < m.n_params / 100);
  free(a);
  free(b);
}

/* ---- Activations ------------------------------------------------------------------------------- */

static void test_activation_values(void **state) {
  (void)state;
  assert_float_equal(ngp_act_forward(NGP_ACT_RELU, -2.0f), 0.0f, 0.0f);
  assert_float_equal(ngp_act_forward(NGP_ACT_LEAKY_RELU, -2.0f), -0.02f, 1e-7f);
  assert_float_equal(ngp_act_forward(NGP_ACT_SIGMOID, 0.0f), 0.5f, 1e-7f);
  /* tcnn's K = 10 sharpening: squareplus(0) = 1/K, softplus(0) = ln2/K */
  assert_float_equal(ngp_act_forward(NGP_ACT_SQUAREPLUS, 0.0f), 0.1f, 1e-7f);
  assert_float_equal(ngp_act_forward(NGP_ACT_SOFTPLUS, 0.0f), 0.069314718f, 1e-7f);
  /* Derivative from the output equals the derivative from the input, for each invertible one. */
  for (int a = 0; a < N_ACTS; a++) {
    ngp_activation act = ALL_ACTS[a];
    if (ngp_act_needs_input(act)) continue;
    for (float x = -1.95f; x < 2.0f; x += 0.1f) {
      float y = ngp_act_forward(act, x);
      float d_out = ngp_act_derivative_out(act, y), d_in = ngp_act_derivative_in(act, x);
      if (fabsf(d_out - d_in) > 1e-4f + 1e-3f * fabsf(d_in))
        fail_msg("%s at x=%g: derivative from output %g, from input %g", ngp_activation_name(act), (double)x,
                 (double)d_out, (double)d_in);
    }
  }
}

/* ---- Reference forward: hand-computed ---------------------------------------------------------- */

static void test_forward_hand(void **state) {
  (void)state;
  ngp_mlp m;
  assert_int_equal(ngp_mlp_init(&m, 2, 2, 1, 1, NGP_ACT_RELU, NGP_ACT_NONE, NULL), NGP_OK);
  /* W0 = [[1,-1],[0.5,2]], W1 = [[3,-2]] */
  const float params[6] = {1.0f, -1.0f, 0.5f, 2.0f, 3.0f, -2.0f};
  const float in[4] = {1.0f, 2.0f, 3.0f, -1.0f};
  /* x=(1,2): z=(-1, 4.5) -> relu (0, 4.5) -> 0*3 - 2*4.5 = -9.
   * x=(3,-1): z=(4, -0.5) -> (4, 0) -> 12. */
  const float want_acts[6] = {0.0f, 4.5f, -9.0f, 4.0f, 0.0f, 12.0f};
  float out[2], acts[6];
  for (int fast = 0; fast < 2; fast++) {
    memset(acts, 0xff, sizeof acts);
    if (fast)
      ngp_mlp_forward(&m, params, 2, in, out, acts, 1);
    else
      ngp_mlp_forward_ref(&m, params, 2, in, out, acts);
    assert_float_equal(out[0], -9.0f, 1e-6f);
    assert_float_equal(out[1], 12.0f, 1e-6f);
    for (int i = 0; i < 6; i++)
      assert_float_equal(acts[i], want_acts[i], 1e-6f);
  }
  /* Backward by hand for sample 0 with dout = 1: dW1 = (0, 4.5); dh = (3, -2) masked by h > 0
   * -> (0, -2); dW0 = [[0,0],[-2,-4]]; din = (0*1 + -2*0.5, 0*-1 + -2*2) = (-1, -4). dparams start
   * at 1 to check accumulation. */
  float dparams[6] = {1, 1, 1, 1, 1, 1}, din[2], dout[1] = {1.0f};
  ngp_mlp_backward_ref(&m, params, 1, in, acts, dout, dparams, din);
  const float want_dp[6] = {1, 1, -1, -3, 1, 5.5f};
  for (int i = 0; i < 6; i++)
    assert_float_equal(dparams[i], want_dp[i], 1e-6f);
  assert_float_equal(din[0], -1.0f, 1e-6f);
  assert_float_equal(din[1], -4.0f, 1e-6f);
}

/* ---- Reference backward against central finite differences ---------------------------------- */

/* L = sum(dout * out) for the reference forward; computed in double from float outputs. */
static double loss_of(const ngp_mlp *m, const float *params, int S, const float *in, const float *dout, float *out) {
  ngp_mlp_forward_ref(m, params, S, in, out, NULL);
  double L = 0.0;
  for (size_t i = 0; i < (size_t)S * m->n_out; i++)
    L += (double)dout[i] * (double)out[i];
  return L;
}

static void fd_check(ngp_activation act, ngp_activation out_act) {
  ngp_mlp m;
  const int S = 3;
  assert_int_equal(ngp_mlp_init(&m, 4, 6, 2, 3, act, out_act, NULL), NGP_OK);
  float *params = malloc(m.n_params * sizeof(float)), *dparams = calloc(m.n_params, sizeof(float));
  assert_non_null(params);
  assert_non_null(dparams);
  ngp_mlp_init_params(&m, params, 7);
  float *in = alloc_rand((size_t)S * 4, -1.0f, 1.0f), *dout = alloc_rand((size_t)S * 3, -1.0f, 1.0f);
  float *acts = malloc((size_t)S * ngp_mlp_acts_per_sample(&m) * sizeof(float));
  float out[9], din[12];
  ngp_mlp_forward_ref(&m, params, S, in, out, acts);
  ngp_mlp_backward_ref(&m, params, S, in, acts, dout, dparams, din);
  /* Float forward, h = 1e-3: rounding noise ~ 1e-7 * |L| / h ~ 1e-4 (measured: at most 2.3e-4
   * absolute over all activations), truncation ~ h^2 f'''/6 is smaller; so 5e-4 + 5e-3 relative.
   * A 1% error in one activation's derivative fails it.
   * ReLU/LeakyReLU are piecewise linear: a step that crosses a kink gives a wrong difference; we
   * allow a stated 5% of such outliers for them, none for the smooth activations. */
  const float h = 1e-3f;
  int n = 0, bad = 0;
  for (size_t i = 0; i < m.n_params + (size_t)S * 4; i++) {
    float *p = i < m.n_params ? &params[i] : &in[i - m.n_params];
    float an = i < m.n_params ? dparams[i] : din[i - m.n_params];
    float keep = *p;
    *p = keep + h;
    double lp = loss_of(&m, params, S, in, dout, out);
    *p = keep - h;
    double lm = loss_of(&m, params, S, in, dout, out);
    *p = keep;
    float fd = (float)((lp - lm) / (2.0 * (double)h));
    n++;
    if (fabsf(fd - an) > 5e-4f + 5e-3f * fabsf(fd)) {
      if (bad < 3)
        printf("  %s/%s: %s[%zu]: analytic %g, finite difference %g\n", ngp_activation_name(act),
               ngp_activation_name(out_act), i < m.n_params ? "dparams" : "din", i < m.n_params ? i : i - m.n_params,
               (double)an, (double)fd);
      bad++;
    }
  }
  int kinked =
      act == NGP_ACT_RELU || act == NGP_ACT_LEAKY_RELU || out_act == NGP_ACT_RELU || out_act == NGP_ACT_LEAKY_RELU;
  int allowed = kinked ? n / 20 : 0;
  if (kinked)
    printf("  %s/%s: %d of %d finite differences crossed a kink\n", ngp_activation_name(act),
           ngp_activation_name(out_act), bad, n);
  if (bad > allowed)
    fail_msg("%s/%s: %d of %d gradients disagree with finite differences (allowed %d)", ngp_activation_name(act),
             ngp_activation_name(out_act), bad, n, allowed);
  free(params);
  free(dparams);
  free(in);
  free(dout);
  free(acts);
}

static void test_backward_fd(void **state) {
  (void)state;
  for (int a = 0; a < N_ACTS; a++) {
    fd_check(ALL_ACTS[a], NGP_ACT_NONE); /* as the hidden activation */
    fd_check(NGP_ACT_TANH, ALL_ACTS[a]); /* as the output activation */
  }
}

/* ---- Fast path against the reference --------------------------------------------------------- */

typedef struct shape {
  int n_in, width, hidden, n_out;
  ngp_activation act, out_act;
} shape;

/* One shape, one S, one thread count: forward (out, acts, and out without acts) and backward
 * (dparams accumulated onto nonzero values, din; and with din = NULL). Returns mismatches. */
static int fast_vs_ref(const shape *sh, int S, int n_threads) {
  ngp_mlp m;
  assert_int_equal(ngp_mlp_init(&m, sh->n_in, sh->width, sh->hidden, sh->n_out, sh->act, sh->out_act, NULL), NGP_OK);
  const size_t A = ngp_mlp_acts_per_sample(&m), P = m.n_params;
  float *params = malloc(P * sizeof(float));
  assert_non_null(params);
  ngp_mlp_init_params(&m, params, (uint64_t)S * 31u + (uint64_t)sh->width);
  float *in = alloc_rand((size_t)S * m.n_in, -1.0f, 1.0f), *dout = alloc_rand((size_t)S * m.n_out, -1.0f, 1.0f);
  float *out_r = malloc((size_t)S * m.n_out * sizeof(float) + 1),
        *out_f = malloc((size_t)S * m.n_out * sizeof(float) + 1);
  float *acts_r = malloc((size_t)S * A * sizeof(float) + 1), *acts_f = malloc((size_t)S * A * sizeof(float) + 1);
  float *dp_r = alloc_rand(P, -0.5f, 0.5f), *dp_f = malloc(P * sizeof(float));
  float *din_r = malloc((size_t)S * m.n_in * sizeof(float) + 1),
        *din_f = malloc((size_t)S * m.n_in * sizeof(float) + 1);
  assert_true(out_r && out_f && acts_r && acts_f && dp_f && din_r && din_f);
  memcpy(dp_f, dp_r, P * sizeof(float));
  ngp_mlp_forward_ref(&m, params, S, in, out_r, acts_r);
  ngp_mlp_forward(&m, params, S, in, out_f, acts_f, n_threads);
  /* Sums of up to 128 products in a different order. Measured: the worst error is a quarter of
   * this tolerance (NeRF and odd shapes, AVX2 and portable). */
  int bad = compare("out", out_r, out_f, (size_t)S * m.n_out, 1e-6f, 1e-5f);
  bad += compare("acts", acts_r, acts_f, (size_t)S * A, 1e-6f, 1e-5f);
  memset(out_f, 0, (size_t)S * m.n_out * sizeof(float));
  ngp_mlp_forward(&m, params, S, in, out_f, NULL, n_threads);
  bad += compare("out (no acts)", out_r, out_f, (size_t)S * m.n_out, 1e-6f, 1e-5f);
  ngp_mlp_backward_ref(&m, params, S, in, acts_r, dout, dp_r, din_r);
  ngp_mlp_backward(&m, params, S, in, acts_f, dout, dp_f, din_f, n_threads);
  /* dW sums over all S samples: scale the absolute tolerance with S. */
  bad += compare("dparams", dp_r, dp_f, P, 1e-6f * (float)S, 1e-5f);
  bad += compare("din", din_r, din_f, (size_t)S * m.n_in, 1e-6f, 1e-5f);
  /* din = NULL: the first layer's input gradient is skipped, dW still accumulated. */
  ngp_mlp_backward(&m, params, S, in, acts_f, dout, dp_f, NULL, n_threads);
  ngp_mlp_backward_ref(&m, params, S, in, acts_r, dout, dp_r, NULL);
  bad += compare("dparams (no din)", dp_r, dp_f, P, 2e-6f * (float)S, 1e-5f);
  if (bad)
    printf("  ^ shape %d-%dx%d-%d %s/%s, S=%d, %d threads, %s\n", sh->n_in, sh->width, sh->hidden, sh->n_out,
           ngp_activation_name(sh->act), ngp_activation_name(sh->out_act), S, n_threads, ngp_simd_level());
  free(params);
  free(in);
  free(dout);
  free(out_r);
  free(out_f);
  free(acts_r);
  free(acts_f);
  free(dp_r);
  free(dp_f);
  free(din_r);
  free(din_f);
  return bad;
}

static int fast_vs_ref_all(void) {
  static const shape shapes[] = {
      {32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE}, /* NeRF density MLP */
      {32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE}, /* NeRF colour MLP */
      {16, 16, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE},       {32, 32, 3, 8, NGP_ACT_RELU, NGP_ACT_SIGMOID},
      {32, 128, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE},      {5, 128, 0, 3, NGP_ACT_RELU, NGP_ACT_NONE},
      {13, 0, 0, 16, NGP_ACT_NONE, NGP_ACT_EXPONENTIAL}, {7, 24, 3, 3, NGP_ACT_TANH, NGP_ACT_SIGMOID},
      {3, 20, 2, 5, NGP_ACT_SINE, NGP_ACT_SINE},         {9, 40, 1, 2, NGP_ACT_LEAKY_RELU, NGP_ACT_SOFTPLUS},
      {8, 16, 2, 4, NGP_ACT_SQUAREPLUS, NGP_ACT_RELU},
  };
  static const int sizes[] = {1, 5, 127, 128, 129, 1000};
  int bad = 0;
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
    for (size_t j = 0; j < sizeof sizes / sizeof sizes[0]; j++)
      for (int t = 1; t <= 3; t++)
        bad += fast_vs_ref(&shapes[i], sizes[j], t) != 0;
  /* Many tiles over threads: a larger NeRF-shaped batch. */
  bad += fast_vs_ref(&shapes[1], 5000, 2) != 0;
  return bad;
}

static void test_fast_vs_ref(void **state) {
  (void)state;
  unsetenv("NGP_SIMD");
  const char *native = ngp_simd_level();
  printf("  fast path with the CPU's best kernel: %s\n", native);
  int bad = fast_vs_ref_all();
  /* The portable kernel, forced through the environment (as users can). */
  setenv("NGP_SIMD", "scalar", 1);
  assert_string_equal(ngp_simd_level(), "scalar");
  printf("  fast path with NGP_SIMD=scalar: %s\n", ngp_simd_level());
  bad += fast_vs_ref_all();
  unsetenv("NGP_SIMD");
  assert_string_equal(ngp_simd_level(), native);
  if (strcmp(native, "scalar") == 0) printf("  (this CPU lacks AVX2+FMA: only the portable kernel was tested)\n");
  if (bad) fail_msg("%d fast-path configurations disagree with the reference", bad);
}

/* ---- AVX-512 kernel against the AVX2 kernel, bit for bit ------------------------------------- */

/* The two SIMD kernels do the same arithmetic per element (one FMA chain over p in order, then
 * the flags), so they must agree bit for bit; then a run's snapshot does not depend on which of
 * them the CPU picks. Called directly (internal entry points of the library, mlp_avx*.c). */
#if defined(__x86_64__) || defined(_M_X64)
#include <stddef.h>
void ngp_mlp_gemm_avx2(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);
void ngp_mlp_gemm_avx512(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                         ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);

/* Random values with exact zeros of both signs mixed in (ReLU's and the mask's edge cases). */
static float *alloc_edgy(size_t n) {
  float *v = alloc_rand(n, -1.0f, 1.0f);
  for (size_t i = 0; i < n; i++) {
    float r = frand(0.0f, 1.0f);
    if (r < 0.05f)
      v[i] = 0.0f;
    else if (r < 0.1f)
      v[i] = -0.0f;
  }
  return v;
}

/* One shape, both layouts of A, every flag combination; returns the number of mismatching runs.
 * C has 3 spare columns per row, filled with a sentinel that neither kernel may touch. */
static int gemm_pair(int M, int N, int P) {
  const int ldb = N + 5, ldc = N + 3, ldy = N + 7;
  float *A = alloc_edgy((size_t)M * P + 1), *B = alloc_edgy((size_t)P * ldb + 1);
  float *Y = alloc_edgy((size_t)M * ldy + 1), *C0 = alloc_edgy((size_t)M * ldc + 1);
  float *C2 = malloc(((size_t)M * ldc + 1) * sizeof(float)), *C5 = malloc(((size_t)M * ldc + 1) * sizeof(float));
  assert_true(C2 && C5);
  for (int i = 0; i < M; i++)
    for (int j = N; j < ldc; j++)
      C0[(size_t)i * ldc + j] = 12345.0f;
  int bad = 0;
  for (int layout = 0; layout < 2; layout++) {
    /* Sample-major A (forward, dX) or its transpose (dW). */
    ptrdiff_t a_rs = layout ? 1 : P, a_cs = layout ? M : 1;
    for (int flags = 0; flags < 8; flags++) {
      if ((flags & 2) && (flags & 4)) continue; /* ReLU and ReLU mask are never combined */
      const float *y = (flags & 4) ? Y : NULL;
      memcpy(C2, C0, ((size_t)M * ldc + 1) * sizeof(float));
      memcpy(C5, C0, ((size_t)M * ldc + 1) * sizeof(float));
      ngp_mlp_gemm_avx2(M, N, P, A, a_rs, a_cs, B, ldb, C2, ldc, flags, y, ldy);
      ngp_mlp_gemm_avx512(M, N, P, A, a_rs, a_cs, B, ldb, C5, ldc, flags, y, ldy);
      int diff = memcmp(C2, C5, ((size_t)M * ldc + 1) * sizeof(float)) != 0;
      for (int i = 0; i < M && !diff; i++)
        for (int j = N; j < ldc; j++)
          diff |= C5[(size_t)i * ldc + j] != 12345.0f;
      if (diff) {
        printf("  AVX-512 != AVX2: M=%d N=%d P=%d layout %d flags %d\n", M, N, P, layout, flags);
        bad++;
      }
    }
  }
  free(A);
  free(B);
  free(Y);
  free(C0);
  free(C2);
  free(C5);
  return bad;
}
#endif

static void test_avx512_vs_avx2(void **state) {
  (void)state;
  unsetenv("NGP_SIMD");
  const char *native = ngp_simd_level();
  if (strcmp(native, "avx512") != 0) {
    printf("  skipped: this CPU lacks AVX-512F (its best level: %s)\n", native);
    skip();
  }
#if defined(__x86_64__) || defined(_M_X64)
  /* The forced levels, and what runs. */
  setenv("NGP_SIMD", "avx2", 1);
  assert_string_equal(ngp_simd_level(), "avx2+fma");
  setenv("NGP_SIMD", "avx512", 1);
  assert_string_equal(ngp_simd_level(), "avx512");
  unsetenv("NGP_SIMD");
  /* Every column tail (N % 32 = 8, 16, 24, 0), every row tail (M % 8 = 0..7; M % 12 too), P from 0. */
  static const int Ns[] = {8, 16, 24, 32, 40, 48, 56, 64, 72, 96, 128};
  static const int Ms[] = {1, 2, 5, 6, 7, 11, 12, 13, 23, 24, 25, 64, 100, 128};
  static const int Ps[] = {0, 1, 3, 16, 32, 64, 129};
  int bad = 0, n = 0;
  for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
    for (size_t b = 0; b < sizeof Ms / sizeof Ms[0]; b++)
      for (size_t c = 0; c < sizeof Ps / sizeof Ps[0]; c++, n++)
        bad += gemm_pair(Ms[b], Ns[a], Ps[c]);
  printf("  %d GEMM shapes x 2 layouts x 6 flag sets: %d mismatches\n", n, bad);
  if (bad) fail_msg("%d AVX-512 GEMM runs differ from AVX2 in some bit", bad);

  /* Whole MLPs (forward and backward, NeRF shapes), forced through the environment. */
  static const shape shapes[] = {{32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE},
                                 {32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE},
                                 {7, 24, 3, 3, NGP_ACT_TANH, NGP_ACT_SIGMOID},
                                 {5, 128, 0, 3, NGP_ACT_RELU, NGP_ACT_NONE}};
  static const char *const levels[] = {"avx2", "avx512"};
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
    const shape *sh = &shapes[k];
    const int S = 1000;
    ngp_mlp m;
    assert_int_equal(ngp_mlp_init(&m, sh->n_in, sh->width, sh->hidden, sh->n_out, sh->act, sh->out_act, NULL), NGP_OK);
    const size_t A = ngp_mlp_acts_per_sample(&m), P = m.n_params;
    float *params = malloc(P * sizeof(float));
    assert_non_null(params);
    ngp_mlp_init_params(&m, params, 77u + k);
    float *in = alloc_rand((size_t)S * m.n_in, -1.0f, 1.0f), *dout = alloc_rand((size_t)S * m.n_out, -1.0f, 1.0f);
    float *res[2][4];
    for (int l = 0; l < 2; l++) {
      setenv("NGP_SIMD", levels[l], 1);
      res[l][0] = malloc((size_t)S * m.n_out * sizeof(float));
      res[l][1] = malloc((size_t)S * A * sizeof(float));
      res[l][2] = calloc(P, sizeof(float));
      res[l][3] = malloc((size_t)S * m.n_in * sizeof(float));
      assert_true(res[l][0] && res[l][1] && res[l][2] && res[l][3]);
      ngp_mlp_forward(&m, params, S, in, res[l][0], res[l][1], 2);
      ngp_mlp_backward(&m, params, S, in, res[l][1], dout, res[l][2], res[l][3], 2);
    }
    unsetenv("NGP_SIMD");
    assert_memory_equal(res[0][0], res[1][0], (size_t)S * m.n_out * sizeof(float));
    assert_memory_equal(res[0][1], res[1][1], (size_t)S * A * sizeof(float));
    assert_memory_equal(res[0][2], res[1][2], P * sizeof(float));
    assert_memory_equal(res[0][3], res[1][3], (size_t)S * m.n_in * sizeof(float));
    for (int l = 0; l < 2; l++)
      for (int q = 0; q < 4; q++)
        free(res[l][q]);
    free(params);
    free(in);
    free(dout);
  }
#endif
}

/* ---- In place against staged, bit for bit -------------------------------------------------------- */

/* The fast path reads unpadded inputs and activation records in place and writes its outputs into
 * them directly; staged (ngp_mlp_set_staged) it copies every one through padded tile buffers. The
 * arithmetic is the same, so outputs, records, weight gradients and input gradients must agree bit
 * for bit, for every kernel: shapes in place throughout (the NeRF MLPs), partly (an input or an
 * output that needs padding, a Sine layer whose pre-activations are kept) and not at all. */
static int staged_vs_in_place(const shape *sh, int S, int with_din) {
  ngp_mlp m;
  assert_int_equal(ngp_mlp_init(&m, sh->n_in, sh->width, sh->hidden, sh->n_out, sh->act, sh->out_act, NULL), NGP_OK);
  const size_t A = ngp_mlp_acts_per_sample(&m), P = m.n_params;
  float *params = malloc(P * sizeof(float));
  assert_non_null(params);
  ngp_mlp_init_params(&m, params, 5u + (uint64_t)S);
  float *in = alloc_rand((size_t)S * m.n_in, -1.0f, 1.0f), *dout = alloc_rand((size_t)S * m.n_out, -1.0f, 1.0f);
  float *res[2][5];
  for (int k = 0; k < 2; k++) {
    ngp_mlp_set_staged(k);
    res[k][0] = malloc((size_t)S * m.n_out * sizeof(float));
    res[k][1] = malloc((size_t)S * A * sizeof(float));
    res[k][2] = calloc(P, sizeof(float));
    res[k][3] = calloc((size_t)S * m.n_in, sizeof(float));
    res[k][4] = malloc((size_t)S * m.n_out * sizeof(float));
    assert_true(res[k][0] && res[k][1] && res[k][2] && res[k][3] && res[k][4]);
    ngp_mlp_forward(&m, params, S, in, res[k][0], res[k][1], 2);
    ngp_mlp_forward(&m, params, S, in, res[k][4], NULL, 2); /* inference: no records */
    ngp_mlp_backward(&m, params, S, in, res[k][1], dout, res[k][2], with_din ? res[k][3] : NULL, 2);
  }
  ngp_mlp_set_staged(0);
  int bad = memcmp(res[0][0], res[1][0], (size_t)S * m.n_out * sizeof(float)) != 0;
  bad |= memcmp(res[0][1], res[1][1], (size_t)S * A * sizeof(float)) != 0;
  bad |= memcmp(res[0][2], res[1][2], P * sizeof(float)) != 0;
  bad |= memcmp(res[0][3], res[1][3], (size_t)S * m.n_in * sizeof(float)) != 0;
  bad |= memcmp(res[0][4], res[1][4], (size_t)S * m.n_out * sizeof(float)) != 0;
  bad |= memcmp(res[0][0], res[0][4], (size_t)S * m.n_out * sizeof(float)) != 0;
  if (bad)
    printf("  in place != staged: %d-%d(x%d)-%d act %d out %d, S=%d, din %d\n", sh->n_in, sh->width, sh->hidden,
           sh->n_out, (int)sh->act, (int)sh->out_act, S, with_din);
  for (int k = 0; k < 2; k++)
    for (int q = 0; q < 5; q++)
      free(res[k][q]);
  free(params);
  free(in);
  free(dout);
  return bad;
}

static void test_in_place_vs_staged(void **state) {
  (void)state;
  static const shape shapes[] = {
      {32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE},   /* the density MLP: in place throughout */
      {32, 64, 2, 3, NGP_ACT_RELU, NGP_ACT_NONE},    /* the colour MLP: its output needs padding */
      {27, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE},   /* the input needs padding */
      {32, 64, 2, 8, NGP_ACT_TANH, NGP_ACT_SIGMOID}, /* activations applied in place */
      {16, 32, 2, 8, NGP_ACT_SINE, NGP_ACT_SINE},    /* Sine keeps pre-activations: staged layers */
      {8, 24, 0, 16, NGP_ACT_RELU, NGP_ACT_EXPONENTIAL},
      {7, 20, 3, 3, NGP_ACT_SOFTPLUS, NGP_ACT_NONE}, /* nothing in place */
  };
  static const char *const levels[] = {"scalar", "avx2", "avx512"};
  static const int sizes[] = {1, 100, 1000};
  int bad = 0, runs = 0;
  for (size_t v = 0; v < sizeof levels / sizeof levels[0]; v++) {
    setenv("NGP_SIMD", levels[v], 1);
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
      for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int d = 0; d < 2; d++, runs++)
          bad += staged_vs_in_place(&shapes[k], sizes[s], d);
  }
  unsetenv("NGP_SIMD");
  printf("  %d runs (kernels up to %s): %d differ\n", runs, ngp_simd_level(), bad);
  if (bad) fail_msg("%d in-place MLP runs differ from the staged ones in some bit", bad);
}

/* ---- The bf16 GEMM against exact sums, within the bf16 bound ----------------------------------- */

#if defined(__x86_64__) || defined(_M_X64)
void ngp_mlp_gemm_bf16(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);

/* One shape, both layouts of A and a strided one, every flag set: each element of C against the
 * sum in double of the fp32 operands. bf16 keeps 8 significant bits (rounding to nearest: <= 2^-8
 * relative), so a product of two rounded operands is off by at most ~2^-7 relative, and the fp32
 * sums add < P * 2^-24: |C - exact| <= (2^-7 + P 2^-23) sum_p |A B| (+ 2^-23 |C0| for the + C). Entries past N in each
 * row must stay untouched. Returns the number of failing runs. */
static int bf16_vs_exact(int M, int N, int P) {
  const int ldb = N + 5, ldc = N + 3, ldy = N + 7, lda = P + 2;
  float *A = alloc_edgy((size_t)M * lda + (size_t)P * M + 1), *B = alloc_edgy((size_t)P * ldb + 1);
  float *Y = alloc_edgy((size_t)M * ldy + 1), *C0 = alloc_edgy((size_t)M * ldc + 1);
  float *C = malloc(((size_t)M * ldc + 1) * sizeof(float));
  assert_non_null(C);
  for (int i = 0; i < M; i++)
    for (int j = N; j < ldc; j++)
      C0[(size_t)i * ldc + j] = 12345.0f;
  int bad = 0;
  for (int layout = 0; layout < 3; layout++) {
    /* sample-major (forward, dX), transposed (dW), and rows with a gap (activation records) */
    ptrdiff_t a_rs = layout == 0 ? P : layout == 1 ? 1 : lda, a_cs = layout == 1 ? M : 1;
    for (int flags = 0; flags < 8; flags++) {
      if ((flags & 2) && (flags & 4)) continue;
      const float *y = (flags & 4) ? Y : NULL;
      memcpy(C, C0, ((size_t)M * ldc + 1) * sizeof(float));
      ngp_mlp_gemm_bf16(M, N, P, A, a_rs, a_cs, B, ldb, C, ldc, flags, y, ldy);
      int diff = 0;
      for (int i = 0; i < M && !diff; i++) {
        for (int j = 0; j < N && !diff; j++) {
          double ex = 0.0, mag = 0.0;
          for (int p = 0; p < P; p++) {
            double t = (double)A[i * a_rs + p * a_cs] * (double)B[(size_t)p * ldb + j];
            ex += t;
            mag += fabs(t);
          }
          double c0 = (double)C0[(size_t)i * ldc + j];
          if (flags & 1) ex += c0;
          if (flags & 2) ex = ex > 0.0 ? ex : 0.0;
          if ((flags & 4) && !(Y[(size_t)i * ldy + j] > 0.0f)) ex = 0.0;
          double tol = (1.0 / 128.0 + P / 8388608.0) * mag + ((flags & 1) ? fabs(c0) / 8388608.0 : 0.0) + 1e-30;
          double got = (double)C[(size_t)i * ldc + j];
          if (!(fabs(got - ex) <= tol)) {
            printf("  bf16 M=%d N=%d P=%d layout %d flags %d: C[%d][%d] = %.9g, exact %.9g, bound %.3g\n", M, N, P,
                   layout, flags, i, j, got, ex, tol);
            diff = 1;
          }
        }
        for (int j = N; j < ldc && !diff; j++)
          diff |= C[(size_t)i * ldc + j] != 12345.0f;
      }
      bad += diff;
    }
  }
  free(A), free(B), free(Y), free(C0), free(C);
  return bad;
}
#endif

static void test_bf16_gemm(void **state) {
  (void)state;
  setenv("NGP_SIMD", "avx512bf16", 1);
  const char *lvl = ngp_simd_level();
  unsetenv("NGP_SIMD");
  if (strcmp(lvl, "avx512bf16") != 0) {
    printf("  skipped: this CPU lacks AVX512_BF16 (NGP_SIMD=avx512bf16 gives %s)\n", lvl);
    skip();
  }
  /* Never chosen by itself. */
  assert_string_not_equal(ngp_simd_level(), "avx512bf16");
#if defined(__x86_64__) || defined(_M_X64)
  static const int Ns[] = {8, 16, 24, 32, 40, 64, 72, 128};
  static const int Ms[] = {1, 5, 8, 13, 64, 128, 129, 300};
  static const int Ps[] = {0, 1, 2, 3, 31, 32, 33, 64, 127, 128, 129, 300};
  int bad = 0, n = 0;
  for (size_t a = 0; a < sizeof Ns / sizeof Ns[0]; a++)
    for (size_t b = 0; b < sizeof Ms / sizeof Ms[0]; b++)
      for (size_t c = 0; c < sizeof Ps / sizeof Ps[0]; c++, n++)
        bad += bf16_vs_exact(Ms[b], Ns[a], Ps[c]);
  printf("  %d GEMM shapes x 3 layouts x 6 flag sets: %d outside the bf16 bound\n", n, bad);
  if (bad) fail_msg("%d bf16 GEMM runs exceed the bf16 error bound", bad);
#endif
}

/* Whole MLPs through the bf16 GEMM (NGP_SIMD=avx512bf16) against the fp32 reference, each pass on
 * the same inputs: the forward's outputs, and the backward's weight and input gradients (given the
 * reference's activations: with the bf16 forward's own, a ReLU whose input is near 0 may switch
 * and move a gradient by a whole term), within 1% of the largest magnitude of each (a product
 * carries up to 2^-7 = 0.8% of error, and most cancel in the sums; measured worst 0.45%). */
static void test_bf16_mlp(void **state) {
  (void)state;
  setenv("NGP_SIMD", "avx512bf16", 1);
  if (strcmp(ngp_simd_level(), "avx512bf16") != 0) {
    unsetenv("NGP_SIMD");
    printf("  skipped: this CPU lacks AVX512_BF16\n");
    skip();
  }
  static const shape shapes[] = {{32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE},
                                 {32, 64, 2, 3, NGP_ACT_RELU, NGP_ACT_NONE}};
  int bad = 0;
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
    const shape *sh = &shapes[k];
    const int S = 2000;
    ngp_mlp m;
    assert_int_equal(ngp_mlp_init(&m, sh->n_in, sh->width, sh->hidden, sh->n_out, sh->act, sh->out_act, NULL), NGP_OK);
    const size_t A = ngp_mlp_acts_per_sample(&m), P = m.n_params;
    float *params = malloc(P * sizeof(float));
    assert_non_null(params);
    ngp_mlp_init_params(&m, params, 11u + k);
    float *in = alloc_rand((size_t)S * m.n_in, -1.0f, 1.0f), *dout = alloc_rand((size_t)S * m.n_out, -1.0f, 1.0f);
    float *out[2], *acts[2], *dp[2], *din[2];
    for (int v = 0; v < 2; v++) {
      out[v] = malloc((size_t)S * m.n_out * sizeof(float));
      acts[v] = malloc((size_t)S * A * sizeof(float));
      dp[v] = calloc(P, sizeof(float));
      din[v] = malloc((size_t)S * m.n_in * sizeof(float));
      assert_true(out[v] && acts[v] && dp[v] && din[v]);
    }
    ngp_mlp_forward_ref(&m, params, S, in, out[0], acts[0]);
    ngp_mlp_backward_ref(&m, params, S, in, acts[0], dout, dp[0], din[0]);
    ngp_mlp_forward(&m, params, S, in, out[1], acts[1], 2);
    ngp_mlp_backward(&m, params, S, in, acts[0], dout, dp[1], din[1], 2); /* the backward pass alone */
    const float *ref[3] = {out[0], dp[0], din[0]}, *got[3] = {out[1], dp[1], din[1]};
    const size_t cnt[3] = {(size_t)S * m.n_out, P, (size_t)S * m.n_in};
    static const char *const what[3] = {"out", "dparams", "din"};
    for (int q = 0; q < 3; q++) {
      float big = 0.0f, worst = 0.0f;
      for (size_t i = 0; i < cnt[q]; i++)
        big = fmaxf(big, fabsf(ref[q][i]));
      for (size_t i = 0; i < cnt[q]; i++)
        worst = fmaxf(worst, fabsf(got[q][i] - ref[q][i]) / big);
      printf("  %d-%d(x%d)-%d %s: worst difference %.3g of the largest magnitude\n", sh->n_in, sh->width, sh->hidden,
             sh->n_out, what[q], (double)worst);
      bad += !(worst <= 0.01f);
    }
    for (int v = 0; v < 2; v++)
      free(out[v]), free(acts[v]), free(dp[v]), free(din[v]);
    free(params), free(in), free(dout);
  }
  unsetenv("NGP_SIMD");
  if (bad) fail_msg("%d bf16 MLP results differ from the fp32 reference by more than 1%% of their scale", bad);
}

/* The _mixed calls (nerf/mlp.h). One MLP's forward and backward on one batch, with
 * ngp_mlp_forward_mixed / ngp_mlp_backward_mixed (bf16 as given) or the plain calls: outputs,
 * weight gradients and input gradients into r[0..2]. */
typedef struct {
  ngp_mlp m;
  int S;
  float *params, *in, *dout;
} mixed_case;

static void mixed_case_init(mixed_case *c) {
  assert_int_equal(ngp_mlp_init(&c->m, 32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, NULL), NGP_OK);
  c->S = 700;
  c->params = malloc(c->m.n_params * sizeof(float));
  assert_non_null(c->params);
  ngp_mlp_init_params(&c->m, c->params, 5);
  c->in = alloc_rand((size_t)c->S * 32, -1.0f, 1.0f);
  c->dout = alloc_rand((size_t)c->S * 16, -1.0f, 1.0f);
}

static void mixed_case_free(mixed_case *c) { free(c->params), free(c->in), free(c->dout); }

/* mode 0: the plain calls; 1: _mixed with bf16 false; 2: _mixed with bf16 true. r[q] malloc'd. */
static void mixed_run(const mixed_case *c, int mode, float *r[3]) {
  const size_t A = ngp_mlp_acts_per_sample(&c->m);
  float *acts = malloc((size_t)c->S * A * sizeof(float));
  r[0] = malloc((size_t)c->S * 16 * sizeof(float));
  r[1] = calloc(c->m.n_params, sizeof(float));
  r[2] = malloc((size_t)c->S * 32 * sizeof(float));
  assert_true(acts && r[0] && r[1] && r[2]);
  if (mode == 0) {
    ngp_mlp_forward(&c->m, c->params, c->S, c->in, r[0], acts, 2);
    ngp_mlp_backward(&c->m, c->params, c->S, c->in, acts, c->dout, r[1], r[2], 2);
  } else {
    ngp_mlp_forward_mixed(&c->m, c->params, c->S, c->in, r[0], acts, 2, mode == 2);
    ngp_mlp_backward_mixed(&c->m, c->params, c->S, c->in, acts, c->dout, r[1], r[2], 2, mode == 2);
  }
  free(acts);
}

static bool mixed_same(float *a[3], float *b[3], const mixed_case *c) {
  const size_t n[3] = {(size_t)c->S * 16, c->m.n_params, (size_t)c->S * 32};
  bool same = true;
  for (int q = 0; q < 3; q++)
    same = same && memcmp(a[q], b[q], n[q] * sizeof(float)) == 0;
  return same;
}

static void mixed_free(float *r[3]) { free(r[0]), free(r[1]), free(r[2]); }

/* With bf16 false the _mixed calls are the plain ones, bit for bit, at every SIMD level. */
static void test_mixed_fp32(void **state) {
  (void)state;
  mixed_case c;
  mixed_case_init(&c);
  static const char *const levels[] = {"scalar", "avx2", "avx512", NULL};
  for (int k = 0; k < 4; k++) {
    if (levels[k])
      setenv("NGP_SIMD", levels[k], 1);
    else
      unsetenv("NGP_SIMD");
    float *a[3], *b[3];
    mixed_run(&c, 0, a);
    mixed_run(&c, 1, b);
    assert_true(mixed_same(a, b, &c));
    mixed_free(a), mixed_free(b);
  }
  unsetenv("NGP_SIMD");
  mixed_case_free(&c);
}

/* With bf16 true, where the CPU has AVX512_BF16: the bf16 products by default (the same bits as
 * the plain calls under NGP_SIMD=avx512bf16, and not those of fp32), and fp32 again when NGP_SIMD
 * names an fp32 level (avx512 here). */
static void test_mixed_bf16(void **state) {
  (void)state;
  unsetenv("NGP_SIMD");
  if (!ngp_mlp_bf16_available()) {
    printf("  skipped: this CPU lacks AVX512_BF16 (or NGP_SIMD is set), so the _mixed calls run fp32\n");
    skip();
  }
  mixed_case c;
  mixed_case_init(&c);
  float *mixed[3], *fp32[3], *forced[3];
  mixed_run(&c, 2, mixed);
  mixed_run(&c, 0, fp32);
  setenv("NGP_SIMD", "avx512bf16", 1);
  mixed_run(&c, 0, forced);
  assert_true(mixed_same(mixed, forced, &c));
  assert_false(mixed_same(mixed, fp32, &c));
  mixed_free(mixed), mixed_free(forced);
  setenv("NGP_SIMD", "avx512", 1);
  assert_false(ngp_mlp_bf16_available());
  mixed_run(&c, 2, mixed);
  mixed_run(&c, 0, forced);
  assert_true(mixed_same(mixed, forced, &c));
  assert_true(mixed_same(mixed, fp32, &c));
  mixed_free(mixed), mixed_free(forced), mixed_free(fp32);
  unsetenv("NGP_SIMD");
  mixed_case_free(&c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_shapes),       cmocka_unit_test(test_init_params),
      cmocka_unit_test(test_activation_values), cmocka_unit_test(test_forward_hand),
      cmocka_unit_test(test_backward_fd),       cmocka_unit_test(test_fast_vs_ref),
      cmocka_unit_test(test_avx512_vs_avx2),    cmocka_unit_test(test_in_place_vs_staged),
      cmocka_unit_test(test_bf16_gemm),         cmocka_unit_test(test_bf16_mlp),
      cmocka_unit_test(test_mixed_fp32),        cmocka_unit_test(test_mixed_bf16),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
