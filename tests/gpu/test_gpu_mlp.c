/* test_gpu_mlp.c: the fused MLP (forward, backward to the input, weight gradients) on tensor cores
 * against the CPU reference of src/nerf/mlp.c, on random inputs, for the networks instant-ngp uses
 * (density 32-64-16, colour 32-64-64-16), padded odd sizes with a non-trivial output activation, and
 * the largest supported shape (5 layers of 64: more than 48 KiB of shared memory).
 *
 * The inputs and weights given to the CPU are first rounded to fp16 (as the GPU uses them), so the
 * differences left are the fp16 rounding of each layer's activations (relative 2^-11 = 4.9e-4),
 * and of the gradients in the backward pass, and fp32 summation order. Expected: within about 1e-2
 * of the result's scale. Tolerance: |gpu - cpu| <= 1e-2 * max|cpu| + 1e-2 * |cpu| for outputs and
 * input gradients, 2e-2 * max|cpu| + 2e-2 * |cpu| for weight gradients (sums over 3001 samples of
 * fp16-rounded products). The weight gradient is also deterministic: a second call adds exactly the
 * same values. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/mlp.h"
#include "cuda/cuda_util.h"
#include "gpu_test.h"
#include "common/ngp_optimizer_math.h"
#include "nerf/mlp.h"

/* v rounded to fp16 and back, on the device. */
static void round_to_half(float *v, size_t n) {
  float *d = gpu_upload_f(v, n), *back = gpu_alloc(n * sizeof(float));
  ngp_half *h = gpu_alloc(n * sizeof(ngp_half));
  ngp_cuda_f32_to_f16(d, h, n, NULL);
  ngp_cuda_f16_to_f32(h, back, n, NULL);
  gpu_download(v, back, n * sizeof(float));
  gpu_free(d), gpu_free(back), gpu_free(h);
}

/* A padded fp16 matrix [rows16][ld] on the device from a host [rows][cols] fp32 one (zeros elsewhere). */
static ngp_half *upload_padded_half(const float *h, int rows, int cols, int ld) {
  const int rows16 = (rows + 15) / 16 * 16;
  float *p = calloc((size_t)rows16 * ld, sizeof(float));
  assert_non_null(p);
  for (int r = 0; r < rows; r++)
    memcpy(p + (size_t)r * ld, h + (size_t)r * cols, (size_t)cols * sizeof(float));
  float *d = gpu_upload_f(p, (size_t)rows16 * ld);
  ngp_half *out = gpu_alloc((size_t)rows16 * ld * sizeof(ngp_half));
  ngp_cuda_f32_to_f16(d, out, (size_t)rows16 * ld, NULL);
  gpu_sync();
  gpu_free(d);
  free(p);
  return out;
}

static void mlp_case_n(int S, int n_in, int width, int n_hidden, int n_out, ngp_activation act, ngp_activation out_act,
                       float loss_scale, float dout_mag) {
  ngp_mlp m;
  ngp_error err;
  assert_int_equal(ngp_mlp_init(&m, n_in, width, n_hidden, n_out, act, out_act, &err), NGP_OK);
  ngp_cuda_mlp d;
  if (ngp_cuda_mlp_from(&d, &m, "test", &err) != NGP_OK) fail_msg("%s", err.msg);
  const int S16 = (S + 15) / 16 * 16, ld_in = d.pdims[0];
  const size_t A = ngp_mlp_acts_per_sample(&m);
  float *params = malloc(m.n_params * sizeof(float)), *in = malloc((size_t)S * n_in * sizeof(float));
  float *ref = malloc((size_t)S * n_out * sizeof(float)), *acts = malloc((size_t)S * A * sizeof(float));
  float *got = malloc((size_t)S * n_out * sizeof(float)), *dout = malloc((size_t)S * n_out * sizeof(float));
  float *add0 = malloc((size_t)S * sizeof(float)), *dout_cpu = malloc((size_t)S * n_out * sizeof(float));
  float *din_ref = malloc((size_t)S * n_in * sizeof(float)), *din_got = malloc((size_t)S * n_in * sizeof(float));
  float *dw_ref = calloc(m.n_params, sizeof(float)), *dw_got = calloc(m.n_params, sizeof(float));
  assert_true(params && in && ref && acts && got && dout && add0 && dout_cpu && din_ref && din_got && dw_ref && dw_got);
  ngp_mlp_init_params(&m, params, 5);
  for (int i = 0; i < S * n_in; i++)
    in[i] = gpu_rand(-1.0f, 1.0f);
  for (int i = 0; i < S * n_out; i++)
    dout[i] = gpu_rand(-1.0f, 1.0f) * dout_mag;
  for (int i = 0; i < S; i++)
    add0[i] = gpu_rand(-1.0f, 1.0f) * dout_mag;
  round_to_half(params, m.n_params);
  round_to_half(in, (size_t)S * n_in);
  ngp_mlp_forward_ref(&m, params, S, in, ref, acts);
  memcpy(dout_cpu, dout, (size_t)S * n_out * sizeof(float));
  for (int i = 0; i < S; i++)
    dout_cpu[(size_t)i * n_out] += add0[i];
  ngp_mlp_backward_ref(&m, params, S, in, acts, dout_cpu, dw_ref, din_ref);

  float *d_params = gpu_upload_f(params, m.n_params);
  ngp_half *d_w16 = gpu_alloc(ngp_cuda_mlp_half_count(&d) * sizeof(ngp_half));
  ngp_half *d_in = upload_padded_half(in, S, n_in, ld_in);
  ngp_half *d_acts = gpu_alloc((size_t)S16 * ngp_cuda_mlp_acts_per_sample(&d) * sizeof(ngp_half));
  ngp_half *d_dz = gpu_alloc((size_t)S16 * ngp_cuda_mlp_acts_per_sample(&d) * sizeof(ngp_half));
  float *d_out = gpu_alloc((size_t)S * n_out * sizeof(float)), *d_dout = gpu_upload_f(dout, (size_t)S * n_out);
  float *d_add0 = gpu_upload_f(add0, S), *d_din = gpu_alloc((size_t)S * n_in * sizeof(float));
  float *d_dw = gpu_alloc(m.n_params * sizeof(float));
  const uint32_t count = S;
  uint32_t *d_count = gpu_upload_u(&count, 1);
  ngp_mlp_weights_to_half_cuda(&d, d_params, d_w16, NULL);
  ngp_mlp_forward_cuda(&d, d_w16, d_count, S16 + 64, d_in, ld_in, d_acts, (uint32_t)S16, d_out, n_out, n_out, NULL, 0,
                       0, NULL);
  /* The scale as the trainer passes it: a device scalar (the host value 0 must be ignored), the
   * weight gradient divided by it on the device. */
  float *d_scale = gpu_upload_f(&loss_scale, 1);
  ngp_mlp_backward_cuda(&d, d_w16, d_count, S16 + 64, d_dout, n_out, n_out, d_add0, 0.0f, d_scale, d_acts,
                        (uint32_t)S16, d_dz, d_din, n_in, NULL);
  /* The partial sums' scratch filled with NaN first: the reduction must read only what was written. */
  const size_t n_work = ngp_mlp_weight_grad_work(&d, S16 + 64);
  float *d_work = gpu_alloc(n_work * sizeof(float));
  ngp_error e2;
  assert_int_equal(ngp_cuda_memset(d_work, 0xff, n_work * sizeof(float), &e2), NGP_OK);
  ngp_mlp_weight_grad_cuda(&d, d_count, S16 + 64, d_in, ld_in, d_acts, d_dz, (uint32_t)S16, d_dw, 1.0f, d_scale, d_work,
                           NULL);
  gpu_download(got, d_out, (size_t)S * n_out * sizeof(float));
  gpu_download(din_got, d_din, (size_t)S * n_in * sizeof(float));
  gpu_download(dw_got, d_dw, m.n_params * sizeof(float));

  char what[96];
  snprintf(what, sizeof what, "MLP %d-%dx%d-%d forward", n_in, width, n_hidden, n_out);
  double s = gpu_max_abs(ref, (size_t)S * n_out);
  assert_int_equal(gpu_compare(what, got, ref, (size_t)S * n_out, 1e-2 * s, 1e-2), 0);
  snprintf(what, sizeof what, "MLP %d-%dx%d-%d input gradient", n_in, width, n_hidden, n_out);
  s = gpu_max_abs(din_ref, (size_t)S * n_in);
  assert_int_equal(gpu_compare(what, din_got, din_ref, (size_t)S * n_in, 1e-2 * s, 1e-2), 0);
  snprintf(what, sizeof what, "MLP %d-%dx%d-%d weight gradient", n_in, width, n_hidden, n_out);
  s = gpu_max_abs(dw_ref, m.n_params);
  assert_int_equal(gpu_compare(what, dw_got, dw_ref, m.n_params, 2e-2 * s, 2e-2), 0);
  /* Accumulated (+=), and summed in a fixed order: a second call adds exactly the same values. */
  float *dw_twice = malloc(m.n_params * sizeof(float));
  assert_non_null(dw_twice);
  ngp_mlp_weight_grad_cuda(&d, d_count, S16 + 64, d_in, ld_in, d_acts, d_dz, (uint32_t)S16, d_dw, 1.0f, d_scale, d_work,
                           NULL);
  gpu_download(dw_twice, d_dw, m.n_params * sizeof(float));
  for (size_t i = 0; i < m.n_params; i++)
    if (dw_twice[i] != 2.0f * dw_got[i])
      fail_msg("%s: weight %zu is %.9g after two calls, %.9g after one", what, i, (double)dw_twice[i],
               (double)dw_got[i]);
  free(dw_twice);
  gpu_free(d_work);

  /* The inference path (no activations kept) with the fp16 hand-off the trainer gives the colour
   * network (out16: every row up to round_up(S, 16), the padding rows finite): out32 equal to the
   * training forward's, out16 its fp16 rounding. */
  float *d_out_inf = gpu_alloc((size_t)S * n_out * sizeof(float));
  const int ld16 = (n_out + 7) / 8 * 8;
  ngp_half *d_out16 = gpu_alloc((size_t)S16 * ld16 * sizeof(ngp_half));
  float *d_out16f = gpu_alloc((size_t)S16 * ld16 * sizeof(float));
  ngp_mlp_forward_cuda(&d, d_w16, d_count, S16 + 64, d_in, ld_in, NULL, 0, d_out_inf, n_out, n_out, d_out16, ld16,
                       n_out, NULL);
  ngp_cuda_f16_to_f32(d_out16, d_out16f, (size_t)S16 * ld16, NULL);
  float *inf = malloc((size_t)S * n_out * sizeof(float)), *o16 = malloc((size_t)S16 * ld16 * sizeof(float));
  float *o16_rows = malloc((size_t)S * n_out * sizeof(float));
  assert_true(inf && o16 && o16_rows);
  gpu_download(inf, d_out_inf, (size_t)S * n_out * sizeof(float));
  gpu_download(o16, d_out16f, (size_t)S16 * ld16 * sizeof(float));
  snprintf(what, sizeof what, "MLP %d-%dx%d-%d inference", n_in, width, n_hidden, n_out);
  assert_int_equal(gpu_compare(what, inf, got, (size_t)S * n_out, 0.0, 0.0), 0);
  for (int i = 0; i < S; i++)
    for (int k = 0; k < n_out; k++)
      o16_rows[(size_t)i * n_out + k] = o16[(size_t)i * ld16 + k];
  for (int i = S; i < S16; i++)
    for (int k = 0; k < n_out; k++)
      assert_true(isfinite(o16[(size_t)i * ld16 + k]));
  snprintf(what, sizeof what, "MLP %d-%dx%d-%d fp16 hand-off", n_in, width, n_hidden, n_out);
  s = gpu_max_abs(got, (size_t)S * n_out);
  assert_int_equal(gpu_compare(what, o16_rows, got, (size_t)S * n_out, 1e-3 * s, 1e-3), 0);
  gpu_free(d_out_inf), gpu_free(d_out16), gpu_free(d_out16f);
  free(inf), free(o16), free(o16_rows);

  gpu_free(d_params), gpu_free(d_w16), gpu_free(d_in), gpu_free(d_acts), gpu_free(d_dz), gpu_free(d_out);
  gpu_free(d_dout), gpu_free(d_add0), gpu_free(d_din), gpu_free(d_dw), gpu_free(d_count), gpu_free(d_scale);
  free(params), free(in), free(ref), free(acts), free(got), free(dout), free(add0), free(dout_cpu), free(din_ref);
  free(din_got), free(dw_ref), free(dw_got);
}

static void mlp_case(int n_in, int width, int n_hidden, int n_out, ngp_activation act, ngp_activation out_act,
                     float loss_scale, float dout_mag) {
  mlp_case_n(3001, n_in, width, n_hidden, n_out, act, out_act, loss_scale, dout_mag);
}

static void test_density_network(void **state) {
  (void)state;
  mlp_case(32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE, 1.0f, 1.0f);
}
static void test_colour_network(void **state) {
  (void)state;
  mlp_case(32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, 1.0f, 1.0f);
}
static void test_small_gradients_with_loss_scale(void **state) {
  (void)state;
  /* Gradients of 1e-6 would lose most of their bits in fp16; a loss scale of 1e5 brings them to
   * order 0.1 and the results are scaled back. */
  mlp_case(32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, 1e5f, 1e-6f);
}
static void test_large_gradients_with_the_rule(void **state) {
  (void)state;
  /* Output gradients of 5000 (a step whose largest per-ray gradient is that): the old fixed scale
   * of 16 would have put 8e4 into fp16 (past 65504); the trainer's rule picks 2^-5, and the
   * results still match the fp32 reference. */
  const float mag = 5000.0f, scale = ngp_loss_scale_for(mag);
  assert_true(scale == 1.0f / 32.0f && mag * 16.0f > 65504.0f);
  mlp_case(32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE, scale, mag);
  mlp_case(32, 64, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, scale, mag);
}
static void test_grid_stride(void **state) {
  (void)state;
  /* More samples than the fused kernels' 1024 blocks x 256 take in one pass: the grid-stride
   * chunks (as the trainer's capacities have them). */
  mlp_case_n(1024 * 256 + 3001, 32, 64, 1, 16, NGP_ACT_RELU, NGP_ACT_NONE, 1.0f, 1.0f);
}
static void test_padded_shapes(void **state) {
  (void)state;
  mlp_case(25, 32, 1, 3, NGP_ACT_RELU, NGP_ACT_SIGMOID, 1.0f, 1.0f);
  mlp_case(19, 48, 3, 7, NGP_ACT_TANH, NGP_ACT_NONE, 1.0f, 1.0f);
}
static void test_largest_shape(void **state) {
  (void)state;
  mlp_case(64, 64, 4, 64, NGP_ACT_LEAKY_RELU, NGP_ACT_NONE, 1.0f, 1.0f);
}

/* The cases above run the hidden layers' fragment path (activations on the accumulator fragments)
 * when the device's fp32 and fp16 accumulator fragments line up, else the fp32 scratch path: both
 * compute the same values, so the cases prove whichever ran. This says which, and fails if it is
 * the slower one on a device where the fast one was expected (compute capability 7.0 and above,
 * where the fragments are those of the mma instructions). */
static void test_fragment_path(void **state) {
  (void)state;
  const int path = ngp_mlp_fragment_path_cuda();
  print_message("fused MLP hidden layers: %s\n", path == 1   ? "activations on the accumulator fragments"
                                                 : path == 0 ? "the fp32 scratch path (fragment layouts differ)"
                                                             : "the check failed to run");
  assert_int_equal(path, 1);
}

static void test_unsupported_shapes(void **state) {
  (void)state;
  ngp_mlp m;
  ngp_cuda_mlp d;
  ngp_error err;
  assert_int_equal(ngp_mlp_init(&m, 32, 128, 2, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(ngp_cuda_mlp_from(&d, &m, "rgb_network", &err), NGP_ERR_UNSUPPORTED);
  assert_contains(err.msg, "rgb_network");
  assert_contains(err.msg, "--backend cpu");
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 5, 16, NGP_ACT_RELU, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(ngp_cuda_mlp_from(&d, &m, "network", &err), NGP_ERR_UNSUPPORTED);
  assert_int_equal(ngp_mlp_init(&m, 32, 64, 1, 16, NGP_ACT_SINE, NGP_ACT_NONE, &err), NGP_OK);
  assert_int_equal(ngp_cuda_mlp_from(&d, &m, "network", &err), NGP_ERR_UNSUPPORTED);
}

int main(void) {
  gpu_require_device("test_gpu_mlp");
  gpu_rand_seed(2);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_density_network),
      cmocka_unit_test(test_colour_network),
      cmocka_unit_test(test_small_gradients_with_loss_scale),
      cmocka_unit_test(test_large_gradients_with_the_rule),
      cmocka_unit_test(test_grid_stride),
      cmocka_unit_test(test_padded_shapes),
      cmocka_unit_test(test_largest_shape),
      cmocka_unit_test(test_fragment_path),
      cmocka_unit_test(test_unsupported_shapes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
