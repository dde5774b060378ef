/* test_gpu_optimizer.c: Adam with instant-ngp's sparse rule, the learning-rate decay and the EMA on
 * the GPU against optimizer.c, over 12 steps of random gradients where most hash-entry gradients
 * are exactly zero (those parameters must not move, nor their moments or step counters).
 *
 * Also the fp16 copy of the hash entries that the step keeps (the table the trainer's forward
 * reads): after the steps it equals the final fp32 weights rounded to fp16, bit for bit.
 *
 * Tolerances: weights, moments and EMA 1e-6 + 1e-4|ref| (the bias correction is powf in float on
 * the GPU, pow in double on the CPU; Adam's update divides by sqrt(v), which magnifies relative
 * differences in v); per-parameter step counters and the fp16 copy: exact. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/adam.h"
#include "cuda/cuda_util.h"
#include "gpu_test.h"
#include "nerf/optimizer.h"

static void test_adam_ema(void **state) {
  (void)state;
  enum { N_MATRIX = 1000, N_ENTRIES = 5000, F = 4, N = N_MATRIX + N_ENTRIES * F, STEPS = 12 };
  const float SCALE = 8.0f, DIV = 37.0f; /* the GPU sees grad * SCALE * DIV and undoes it */
  ngp_optimizer_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.learning_rate = 1e-2f;
  cfg.beta1 = 0.9f;
  cfg.beta2 = 0.99f;
  cfg.epsilon = 1e-15f;
  cfg.l2_reg = 1e-6f;
  cfg.decay_enabled = true;
  cfg.decay_start = 3;
  cfg.decay_interval = 2;
  cfg.decay_end = 1000;
  cfg.decay_base = 0.5f;
  cfg.ema_enabled = true;
  cfg.ema_decay = 0.95f;
  static float params[N], cpu_params[N], grads[N], gpu_grads[N], got[N], ema_ref[N], ema_got[N];
  static uint32_t t_got[N];
  for (int i = 0; i < N; i++)
    params[i] = cpu_params[i] = gpu_rand(-1.0f, 1.0f);
  ngp_optimizer opt;
  ngp_error err;
  assert_int_equal(ngp_optimizer_init(&opt, &cfg, N_MATRIX, N, F, params, &err), NGP_OK);
  float *d_params = gpu_upload_f(params, N), *d_grads = gpu_alloc(N * sizeof(float));
  float *d_m = gpu_alloc(N * sizeof(float)), *d_v = gpu_alloc(N * sizeof(float)), *d_ema = gpu_alloc(N * sizeof(float));
  uint32_t *d_t = gpu_alloc(N * sizeof(uint32_t));
  const uint32_t div = (uint32_t)DIV;
  uint32_t *d_div = gpu_upload_u(&div, 1);
  /* the entries' fp16 copy, made once as the trainer makes it */
  const size_t NH = (size_t)N - N_MATRIX;
  ngp_half *d_half = gpu_alloc(NH * sizeof(ngp_half)), *d_half_ref = gpu_alloc(NH * sizeof(ngp_half));
  ngp_cuda_f32_to_f16(d_params + N_MATRIX, d_half, NH, NULL);
  static ngp_half half_initial[N], half_got[N], half_ref[N];
  gpu_download(half_initial, d_half, NH * sizeof(ngp_half));
  for (int step = 0; step < STEPS; step++) {
    for (int i = 0; i < N; i++) {
      /* Matrix gradients always; a third of the entries' parameters, and never those of the last
       * 1000 entries. */
      bool on = i < N_MATRIX || (i < N - 1000 * F && gpu_rand(0.0f, 1.0f) < 0.33f);
      grads[i] = on ? gpu_rand(-1e-3f, 1e-3f) : 0.0f;
      gpu_grads[i] = grads[i] * SCALE * DIV;
    }
    ngp_cuda_adam a;
    memset(&a, 0, sizeof a);
    a.n_params = N;
    a.n_matrix = N_MATRIX;
    a.lr = ngp_optimizer_learning_rate(&opt); /* the decayed rate this step uses */
    a.beta1 = cfg.beta1;
    a.beta2 = cfg.beta2;
    a.epsilon = cfg.epsilon;
    a.l2_reg = cfg.l2_reg;
    a.grad_scale = 1.0f / SCALE;
    a.d_grad_div = d_div;
    a.ema_decay = cfg.ema_decay;
    a.params16 = d_half;
    a.half_begin = N_MATRIX;
    ngp_error e2;
    assert_int_equal(ngp_cuda_upload(d_grads, gpu_grads, sizeof gpu_grads, &e2), NGP_OK);
    ngp_adam_step_cuda(&a, d_params, d_grads, d_m, d_v, d_t, d_ema, NULL);
    ngp_optimizer_step(&opt, cpu_params, grads, NULL, 1.0f, 1);
  }
  gpu_download(got, d_params, sizeof got);
  assert_int_equal(gpu_compare("Adam weights", got, cpu_params, N, 1e-6, 1e-4), 0);
  /* the fp16 copy: the final weights rounded, bit for bit; and it moved where the weights did */
  ngp_cuda_f32_to_f16(d_params + N_MATRIX, d_half_ref, NH, NULL);
  gpu_download(half_got, d_half, NH * sizeof(ngp_half));
  gpu_download(half_ref, d_half_ref, NH * sizeof(ngp_half));
  size_t moved = 0;
  for (size_t i = 0; i < NH; i++) {
    if (half_got[i] != half_ref[i])
      fail_msg("hash parameter %zu: fp16 copy 0x%04x, the weight %.8g rounds to 0x%04x", i, half_got[i],
               (double)got[N_MATRIX + i], half_ref[i]);
    moved += half_got[i] != half_initial[i];
  }
  assert_true(moved > NH / 10);
  gpu_free(d_half), gpu_free(d_half_ref);
  gpu_download(got, d_m, sizeof got);
  assert_int_equal(gpu_compare("Adam first moments", got, opt.m, N, 1e-9, 1e-4), 0);
  gpu_download(got, d_v, sizeof got);
  assert_int_equal(gpu_compare("Adam second moments", got, opt.v, N, 1e-12, 1e-4), 0);
  gpu_download(t_got, d_t, sizeof t_got);
  for (int i = 0; i < N; i++)
    if (t_got[i] != opt.t[i])
      fail_msg("parameter %d: step counter %u on the GPU, %u on the CPU", i, t_got[i], opt.t[i]);
  for (int i = N - 1000 * F; i < N; i++)
    assert_true(got[i] == 0.0f && t_got[i] == 0); /* never touched */
  /* Gradients are consumed. */
  gpu_download(got, d_grads, sizeof got);
  for (int i = 0; i < N; i++)
    assert_true(got[i] == 0.0f);
  /* EMA read-out, debiased by 1 / (1 - d^steps). */
  ngp_optimizer_ema(&opt, cpu_params, ema_ref);
  float *d_out = gpu_alloc(N * sizeof(float));
  ngp_ema_read_cuda(d_ema, (float)(1.0 / (1.0 - pow(0.95, STEPS))), N, d_out, NULL);
  gpu_download(ema_got, d_out, sizeof ema_got);
  assert_int_equal(gpu_compare("EMA weights", ema_got, ema_ref, N, 1e-6, 1e-4), 0);
  gpu_free(d_params), gpu_free(d_grads), gpu_free(d_m), gpu_free(d_v), gpu_free(d_ema), gpu_free(d_t), gpu_free(d_div);
  gpu_free(d_out);
  ngp_optimizer_free(&opt);
}

int main(void) {
  gpu_require_device("test_gpu_optimizer");
  gpu_rand_seed(4);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_adam_ema)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
