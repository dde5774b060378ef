/* fake_cuda.c: a stand-in libcuda.so.1 for the doctor's tests, so that each driver situation
 * (working driver, no device, failing initialisation, old driver) can be checked on a machine
 * without NVIDIA hardware. FAKE_CUDA_MODE selects it: ok (default), nodevice, broken, old.
 * Only the driver entry points the doctor calls are defined (CUDA driver API C ABI: int results). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *mode(void) {
  const char *m = getenv("FAKE_CUDA_MODE");
  return m ? m : "ok";
}

int cuDriverGetVersion(int *v) {
  *v = strcmp(mode(), "old") == 0 ? 10020 : 99000; /* 99.0: newer than any runtime we build with */
  return 0;
}

int cuInit(unsigned flags) {
  (void)flags;
  if (strcmp(mode(), "nodevice") == 0) return 100; /* CUDA_ERROR_NO_DEVICE */
  if (strcmp(mode(), "broken") == 0) return 999;   /* CUDA_ERROR_UNKNOWN */
  return 0;
}

int cuGetErrorName(int e, const char **s) {
  *s = e == 100 ? "CUDA_ERROR_NO_DEVICE" : e == 999 ? "CUDA_ERROR_UNKNOWN" : "CUDA_ERROR_OTHER";
  return 0;
}

int cuGetErrorString(int e, const char **s) {
  *s = e == 100 ? "no CUDA-capable device is detected" : "unknown error";
  return 0;
}

int cuDeviceGetCount(int *n) {
  *n = 1;
  return 0;
}

int cuDeviceGet(int *d, int i) {
  *d = i;
  return 0;
}

int cuDeviceGetName(char *name, int len, int d) {
  (void)d;
  strncpy(name, "Fake GPU H100", (size_t)len - 1);
  name[len - 1] = '\0';
  return 0;
}

int cuDeviceTotalMem_v2(size_t *bytes, int d) {
  (void)d;
  *bytes = (size_t)80 << 30;
  return 0;
}

int cuDeviceGetAttribute(int *v, int attr, int d) {
  (void)d;
  *v = attr == 75 ? 9 : 0; /* compute capability 9.0 */
  return 0;
}
