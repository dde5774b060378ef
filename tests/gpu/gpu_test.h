/* gpu_test.h: what the gpu-labelled tests share: the skip rule (no usable device: print why and
 * exit 77, which CTest reports as skipped), device buffers that abort the test on failure,
 * comparisons with atol + rtol*|ref| printing the first mismatches, and a seeded random source.
 * Include after testutil.h (cmocka). The tests are plain C: they reach the kernels through the
 * launchers of src/cuda/cuda_<op>.h and never include the CUDA runtime themselves (so there is one
 * CUDA runtime in the process: libngp's, linked statically). */
#ifndef NGP_GPU_TEST_H
#define NGP_GPU_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "cuda/ngp_cuda.h"

/* Exits 77 with "SKIP: <why>" unless a usable CUDA device is present; prints the device otherwise. */
void gpu_require_device(const char *test_name);

/* Device buffers (failures end the test). */
void *gpu_alloc(size_t bytes);
float *gpu_upload_f(const float *h, size_t n);
uint32_t *gpu_upload_u(const uint32_t *h, size_t n);
void gpu_download(void *h, const void *d, size_t bytes);
void gpu_sync(void);
void gpu_free(void *d);

/* Counts i with |gpu[i] - ref[i]| > atol + rtol*|ref[i]| (a NaN always counts), prints the first
 * 8 with their index and a summary; returns the count. */
size_t gpu_compare(const char *what, const float *gpu, const float *ref, size_t n, double atol, double rtol);
/* Largest |ref[i]|, for tolerances relative to a result's scale. */
double gpu_max_abs(const float *v, size_t n);

/* Uniform in [lo, hi) from a seeded xorshift64*. */
void gpu_rand_seed(uint64_t seed);
float gpu_rand(float lo, float hi);

#endif
