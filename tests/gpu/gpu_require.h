/* gpu_require.h: whether a missing device fails a GPU test instead of skipping it. On a machine
 * that should have a GPU a skip proves nothing, so "no usable device" (no driver, a driver older
 * than the runtime this binary links, no device, no code for it) is a failure there:
 *   NGP_REQUIRE_GPU=1  required;   NGP_REQUIRE_GPU=0  never required;
 *   unset              required when /dev/nvidiactl exists (an NVIDIA driver is loaded).
 * Plain C and CUDA C++ alike (the CUDA-only test includes it too). */
#ifndef NGP_TESTS_GPU_REQUIRE_H
#define NGP_TESTS_GPU_REQUIRE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Returns 1 when required, writing the reason into why[n]. */
static inline int ngp_gpu_required(char *why, size_t n) {
  const char *e = getenv("NGP_REQUIRE_GPU");
  if (e && e[0]) {
    snprintf(why, n, "NGP_REQUIRE_GPU=%s", e);
    return strcmp(e, "0") != 0;
  }
  if (access("/dev/nvidiactl", F_OK) == 0) {
    snprintf(why, n, "/dev/nvidiactl exists (set NGP_REQUIRE_GPU=0 to allow a skip)");
    return 1;
  }
  return 0;
}

/* Without a usable device: exits 1 with the reason when one is required, else 77 (skipped). */
static inline void ngp_gpu_no_device(const char *test_name, const char *reason) {
  char why[256];
  if (ngp_gpu_required(why, sizeof why)) {
    printf("FAIL: %s needs a CUDA device and one is required here (%s): %s\n", test_name, why, reason);
    fflush(stdout);
    exit(1);
  }
  printf("SKIP: %s needs a CUDA device: %s\n", test_name, reason);
  fflush(stdout);
  exit(77);
}

#endif
