/* test_gpu_encoding.c: the hash encoding (forward in fp32 and fp16, backward) and the SH encoding
 * on the GPU against the CPU references of src/nerf/encoding.c, on random inputs.
 *
 * Tolerances (atol + rtol*|ref|):
 *   hash forward fp32: 1e-6 + 1e-5|ref| (same formula; only FMA contraction on the GPU differs);
 *   hash forward fp16: 2e-4 + 1e-3|ref| (one rounding to fp16: relative 2^-11 = 4.9e-4);
 *   hash forward from the fp16 table (the trainer's copy): 1e-6 + 1e-5|ref| against the reference on
 *   the table rounded to fp16 (the lookups are exact conversions, the interpolation fp32);
 *   hash backward: 1e-5 + 1e-4|ref| (atomic adds sum in another order; entries get tens of terms);
 *   SH fp32: 1e-6 + 1e-5|ref|; SH fp16: 1e-3 + 1e-3|ref|. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/hashgrid.h"
#include "cuda/sh.h"
#include "cuda/cuda_util.h"
#include "nerf/encoding.h"
#include "gpu_test.h"

static void grid_case(ngp_interpolation interp, int F, int log2_table) {
  ngp_grid_config c;
  memset(&c, 0, sizeof c);
  c.otype = NGP_GRID_HASH;
  c.n_levels = 8;
  c.n_features_per_level = F;
  c.log2_hashmap_size = log2_table;
  c.base_resolution = 16;
  c.interpolation = interp;
  ngp_hashgrid g;
  ngp_error err;
  if (ngp_hashgrid_init(&g, &c, 1, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_cuda_grid dg;
  assert_int_equal(ngp_cuda_grid_from(&dg, &g, &err), NGP_OK);
  const int S = 5003, LF = g.n_levels * F, ld16 = (LF + 15) / 16 * 16, S16 = (S + 15) / 16 * 16;
  float *params = malloc(g.n_params * sizeof(float)), *x = malloc((size_t)S * 3 * sizeof(float));
  float *ref = calloc((size_t)S * LF, sizeof(float)), *got = calloc((size_t)S * LF, sizeof(float));
  float *half_got = calloc((size_t)S16 * ld16, sizeof(float));
  float *dout = malloc((size_t)S * LF * sizeof(float));
  float *dref = calloc(g.n_params, sizeof(float)), *dgot = calloc(g.n_params, sizeof(float));
  assert_true(params && x && ref && got && half_got && dout && dref && dgot);
  for (size_t i = 0; i < g.n_params; i++)
    params[i] = gpu_rand(-1.0f, 1.0f);
  for (int i = 0; i < 3 * S; i++)
    x[i] = gpu_rand(0.0f, 1.0f);
  static const float edges[] = {0.0f, 1.0f, 0.5f, 0.0f, 1.0f, 1.0f, 0.999999f, 0.0f, 0.25f};
  memcpy(x, edges, sizeof edges);
  for (int i = 0; i < S * LF; i++)
    dout[i] = gpu_rand(-1.0f, 1.0f);
  ngp_hashgrid_forward_ref(&g, params, S, x, ref);
  ngp_hashgrid_backward_ref(&g, S, x, dout, dref, NULL);

  float *d_params = gpu_upload_f(params, g.n_params), *d_x = gpu_upload_f(x, (size_t)S * 3);
  float *d_out32 = gpu_alloc((size_t)S * LF * sizeof(float)), *d_dout = gpu_upload_f(dout, (size_t)S * LF);
  float *d_half32 = gpu_alloc((size_t)S16 * ld16 * sizeof(float));
  ngp_half *d_out16 = gpu_alloc((size_t)S16 * ld16 * sizeof(ngp_half));
  float *d_grads = gpu_alloc(g.n_params * sizeof(float));
  /* Fill the fp16 output with garbage first: padding rows and columns must be overwritten. */
  float *junk = malloc((size_t)S16 * ld16 * sizeof(float));
  for (int i = 0; i < S16 * ld16; i++)
    junk[i] = 7.0f;
  float *d_junk = gpu_upload_f(junk, (size_t)S16 * ld16);
  ngp_cuda_f32_to_f16(d_junk, d_out16, (size_t)S16 * ld16, NULL);
  /* The count on the device, below the launch size, as the trainer passes it. */
  const uint32_t count = (uint32_t)S;
  uint32_t *d_count = gpu_upload_u(&count, 1);
  ngp_hashgrid_forward_cuda(&dg, d_params, NULL, d_count, (uint32_t)S + 100, d_x, d_out16, ld16, d_out32, LF, NULL);
  ngp_cuda_f16_to_f32(d_out16, d_half32, (size_t)S16 * ld16, NULL);
  ngp_hashgrid_backward_cuda(&dg, d_count, (uint32_t)S + 100, d_x, d_dout, LF, d_grads, NULL);
  gpu_download(got, d_out32, (size_t)S * LF * sizeof(float));
  gpu_download(half_got, d_half32, (size_t)S16 * ld16 * sizeof(float));
  gpu_download(dgot, d_grads, g.n_params * sizeof(float));

  char what[64];
  snprintf(what, sizeof what, "hash forward fp32 (interp %d, F %d)", (int)interp, F);
  assert_int_equal(gpu_compare(what, got, ref, (size_t)S * LF, 1e-6, 1e-5), 0);
  /* fp16: the values, then zeros in padding columns and rows. */
  float *h = malloc((size_t)S * LF * sizeof(float));
  for (int s = 0; s < S; s++)
    for (int k = 0; k < LF; k++)
      h[(size_t)s * LF + k] = half_got[(size_t)s * ld16 + k];
  snprintf(what, sizeof what, "hash forward fp16 (interp %d, F %d)", (int)interp, F);
  assert_int_equal(gpu_compare(what, h, ref, (size_t)S * LF, 2e-4, 1e-3), 0);
  for (int s = 0; s < S16; s++)
    for (int k = 0; k < ld16; k++)
      if (s >= S || k >= LF) assert_true(half_got[(size_t)s * ld16 + k] == 0.0f);
  snprintf(what, sizeof what, "hash backward (interp %d, F %d)", (int)interp, F);
  assert_int_equal(gpu_compare(what, dgot, dref, g.n_params, 1e-5, 1e-4), 0);

  /* From the fp16 copy of the table: the fp32 forward of the rounded table, and not the fp32
   * table's result (so the copy is what was read). */
  ngp_half *d_params16 = gpu_alloc(g.n_params * sizeof(ngp_half));
  float *d_rounded = gpu_alloc(g.n_params * sizeof(float)), *rounded = malloc(g.n_params * sizeof(float));
  float *got16 = malloc((size_t)S * LF * sizeof(float));
  assert_true(rounded && got16);
  ngp_cuda_f32_to_f16(d_params, d_params16, g.n_params, NULL);
  ngp_cuda_f16_to_f32(d_params16, d_rounded, g.n_params, NULL);
  gpu_download(rounded, d_rounded, g.n_params * sizeof(float));
  ngp_hashgrid_forward_ref(&g, rounded, S, x, ref);
  ngp_hashgrid_forward_cuda(&dg, d_params, d_params16, d_count, (uint32_t)S + 100, d_x, d_out16, ld16, d_out32, LF,
                            NULL);
  gpu_download(got16, d_out32, (size_t)S * LF * sizeof(float));
  snprintf(what, sizeof what, "hash forward, fp16 table (interp %d, F %d)", (int)interp, F);
  assert_int_equal(gpu_compare(what, got16, ref, (size_t)S * LF, 1e-6, 1e-5), 0);
  size_t differ = 0;
  for (size_t i = 0; i < (size_t)S * LF; i++)
    differ += got16[i] != got[i];
  assert_true(differ > (size_t)S * LF / 2);

  gpu_free(d_params), gpu_free(d_x), gpu_free(d_out32), gpu_free(d_dout), gpu_free(d_half32), gpu_free(d_out16);
  gpu_free(d_grads), gpu_free(d_junk), gpu_free(d_count), gpu_free(d_params16), gpu_free(d_rounded);
  free(rounded), free(got16);
  free(params), free(x), free(ref), free(got), free(half_got), free(dout), free(dref), free(dgot), free(junk), free(h);
}

static void test_hash_linear_f4(void **state) {
  (void)state;
  grid_case(NGP_INTERP_LINEAR, 4, 15); /* base.json's F; float4 atomics on sm_90 */
}
static void test_hash_linear_f2(void **state) {
  (void)state;
  grid_case(NGP_INTERP_LINEAR, 2, 14); /* float2 atomics on sm_90 */
}
static void test_hash_nearest_f1(void **state) {
  (void)state;
  grid_case(NGP_INTERP_NEAREST, 1, 12);
}
static void test_hash_smoothstep_f8(void **state) {
  (void)state;
  grid_case(NGP_INTERP_SMOOTHSTEP, 8, 13);
}

/* div: samples per direction (sample s takes the direction of ray[s / div], as the renderer's
 * segments of one ray do). */
static void sh_case(int degree, uint32_t div) {
  enum { N_RAYS = 777, S = 3001, COL0 = 16 };
  const int n = degree * degree, pad_to = (COL0 + n + 15) / 16 * 16, ld = pad_to, S16 = (S + 15) / 16 * 16;
  float dirs[N_RAYS * 3];
  uint32_t ray[S];
  for (int r = 0; r < N_RAYS; r++) {
    float v[3], l2 = 0.0f;
    for (int k = 0; k < 3; k++)
      v[k] = gpu_rand(-1.0f, 1.0f), l2 += v[k] * v[k];
    for (int k = 0; k < 3; k++)
      dirs[r * 3 + k] = v[k] / sqrtf(l2);
  }
  float *sample_dirs = malloc((size_t)S * 3 * sizeof(float)), *ref = malloc((size_t)S * n * sizeof(float));
  float *got = malloc((size_t)S * n * sizeof(float)), *half_got = malloc((size_t)S16 * ld * sizeof(float));
  assert_true(sample_dirs && ref && got && half_got);
  for (int s = 0; s < S; s++)
    ray[s] = (uint32_t)(gpu_rand(0.0f, 1.0f) * N_RAYS) % N_RAYS;
  for (int s = 0; s < S; s++)
    memcpy(sample_dirs + s * 3, dirs + ray[(uint32_t)s / div] * 3, 3 * sizeof(float));
  ngp_sh_forward(degree, S, sample_dirs, ref);
  float *d_dirs = gpu_upload_f(dirs, N_RAYS * 3), *d_out32 = gpu_alloc((size_t)S * n * sizeof(float));
  uint32_t *d_ray = gpu_upload_u(ray, S);
  ngp_half *d_out16 = gpu_alloc((size_t)S16 * ld * sizeof(ngp_half));
  float *d_h = gpu_alloc((size_t)S16 * ld * sizeof(float));
  ngp_sh_forward_cuda(degree, NULL, S, d_dirs, d_ray, div, d_out16, ld, COL0, pad_to, d_out32, NULL);
  ngp_cuda_f16_to_f32(d_out16, d_h, (size_t)S16 * ld, NULL);
  gpu_download(got, d_out32, (size_t)S * n * sizeof(float));
  gpu_download(half_got, d_h, (size_t)S16 * ld * sizeof(float));
  char what[64];
  snprintf(what, sizeof what, "SH degree %d fp32, %u per direction", degree, div);
  assert_int_equal(gpu_compare(what, got, ref, (size_t)S * n, 1e-6, 1e-5), 0);
  float *h = malloc((size_t)S * n * sizeof(float));
  for (int s = 0; s < S; s++) {
    for (int k = 0; k < n; k++)
      h[(size_t)s * n + k] = half_got[(size_t)s * ld + COL0 + k];
    for (int c = COL0 + n; c < pad_to; c++)
      assert_true(half_got[(size_t)s * ld + c] == 1.0f); /* tcnn's SH padding */
  }
  for (int s = S; s < S16; s++)
    for (int c = 0; c < pad_to; c++)
      assert_true(half_got[(size_t)s * ld + c] == 0.0f);
  snprintf(what, sizeof what, "SH degree %d fp16", degree);
  assert_int_equal(gpu_compare(what, h, ref, (size_t)S * n, 1e-3, 1e-3), 0);
  gpu_free(d_dirs), gpu_free(d_out32), gpu_free(d_ray), gpu_free(d_out16), gpu_free(d_h);
  free(sample_dirs), free(ref), free(got), free(half_got), free(h);
}

static void test_sh_degree4(void **state) {
  (void)state;
  sh_case(4, 1);
  sh_case(4, 3); /* more than one sample per direction */
}
static void test_sh_degree6(void **state) {
  (void)state;
  sh_case(6, 1);
  sh_case(6, 16);
}

int main(void) {
  gpu_require_device("test_gpu_encoding");
  gpu_rand_seed(1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hash_linear_f4),  cmocka_unit_test(test_hash_linear_f2),
      cmocka_unit_test(test_hash_nearest_f1), cmocka_unit_test(test_hash_smoothstep_f8),
      cmocka_unit_test(test_sh_degree4),      cmocka_unit_test(test_sh_degree6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
