/* gpu_test.c: see gpu_test.h. */
#include "testutil.h"

#include "gpu_require.h"
#include "gpu_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

void gpu_require_device(const char *test_name) {
  int dev = -1;
  char why[1024];
  if (ngp_cuda_select_device(&dev, why, sizeof why) != NGP_OK) ngp_gpu_no_device(test_name, why);
  char desc[512];
  ngp_cuda_device_describe(desc, sizeof desc);
  printf("%s on %s (code for sm %s)\n", test_name, desc, ngp_cuda_architectures());
}

void *gpu_alloc(size_t bytes) {
  void *p = NULL;
  ngp_error err;
  if (ngp_cuda_alloc(&p, bytes, "a test buffer", &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_cuda_memset(p, 0, bytes, &err) != NGP_OK) fail_msg("%s", err.msg);
  return p;
}

float *gpu_upload_f(const float *h, size_t n) {
  float *d = gpu_alloc(n * sizeof(float));
  ngp_error err;
  if (ngp_cuda_upload(d, h, n * sizeof(float), &err) != NGP_OK) fail_msg("%s", err.msg);
  return d;
}

uint32_t *gpu_upload_u(const uint32_t *h, size_t n) {
  uint32_t *d = gpu_alloc(n * sizeof(uint32_t));
  ngp_error err;
  if (ngp_cuda_upload(d, h, n * sizeof(uint32_t), &err) != NGP_OK) fail_msg("%s", err.msg);
  return d;
}

void gpu_download(void *h, const void *d, size_t bytes) {
  ngp_error err;
  if (ngp_cuda_sync(&err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_cuda_download(h, d, bytes, &err) != NGP_OK) fail_msg("%s", err.msg);
}

void gpu_sync(void) {
  ngp_error err;
  if (ngp_cuda_sync(&err) != NGP_OK) fail_msg("%s", err.msg);
}

void gpu_free(void *d) { ngp_cuda_free(d); }

size_t gpu_compare(const char *what, const float *gpu, const float *ref, size_t n, double atol, double rtol) {
  size_t bad = 0;
  double worst = 0.0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)gpu[i] - (double)ref[i]), tol = atol + rtol * fabs((double)ref[i]);
    if (e <= tol) continue; /* NaN fails this test and is counted */
    if (bad < 8) print_message("%s: mismatch at [%zu]: gpu %.9g, cpu %.9g\n", what, i, (double)gpu[i], (double)ref[i]);
    if (e > worst || isnan(e)) worst = e;
    bad++;
  }
  if (bad)
    print_message("%s: %zu of %zu values out of tolerance (atol %g, rtol %g; worst error %g)\n", what, bad, n, atol,
                  rtol, worst);
  return bad;
}

double gpu_max_abs(const float *v, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; i++)
    m = fmax(m, fabs((double)v[i]));
  return m;
}

static uint64_t g_state = 88172645463325252ull;
void gpu_rand_seed(uint64_t seed) { g_state = seed ? seed : 88172645463325252ull; }
float gpu_rand(float lo, float hi) {
  g_state ^= g_state >> 12, g_state ^= g_state << 25, g_state ^= g_state >> 27;
  float u = (float)((g_state * 0x2545F4914F6CDD1Dull) >> 40) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}
