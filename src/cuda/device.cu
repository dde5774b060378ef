/* device.cu: finding a usable device and saying why there is none, the build's runtime version
 * and architectures, runtime errors as one line with a hint, and the device-memory helpers of
 * ngp_cuda.h / cuda_util.h.
 *
 * The runtime is linked statically; it loads libcuda.so.1 with dlopen at the first runtime call.
 * Without a driver that call fails (usually with cudaErrorInsufficientDriver, which on its own
 * cannot tell "no driver" from "old driver"), so the reason comes from the driver probe that
 * `instant-ngp --doctor` uses too (core/driver_probe.h: where the loader searched for libcuda,
 * the driver's version, cuInit's result): the same words in both places. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_common.cuh"
#include "cuda/cuda_util.h"
#include "cuda/ngp_cuda.h"

extern "C" {
#include "core/driver_probe.h"
}

#ifndef NGP_CUDA_ARCHS
#define NGP_CUDA_ARCHS "unknown"
#endif

extern "C" int ngp_cuda_runtime_version(void) { return CUDART_VERSION; }

extern "C" int ngp_cuda_driver_version(void) {
  int v = 0;
  if (cudaDriverGetVersion(&v) != cudaSuccess) v = 0;
  return v;
}

extern "C" const char *ngp_cuda_architectures(void) { return NGP_CUDA_ARCHS; }

extern "C" bool ngp_cuda_arch_supported(int major, int minor) {
  const int cc = major * 10 + minor;
  const char *s = NGP_CUDA_ARCHS;
  while (*s) {
    char item[32];
    size_t k = 0;
    while (*s && *s != ',' && k + 1 < sizeof item)
      item[k++] = *s++;
    item[k] = '\0';
    if (*s == ',') s++;
    if (!strcmp(item, "all") || !strcmp(item, "all-major") || !strcmp(item, "native")) return true;
    int arch = atoi(item);
    bool real = !strstr(item, "-virtual"), virt = !strstr(item, "-real");
    /* Machine code runs on its own architecture (and, within a major version, on later minors,
     * but we do not rely on that); PTX is compiled by the driver for the same or a newer one. */
    if ((real && arch == cc) || (virt && arch <= cc)) return true;
  }
  return false;
}

/* ---- Messages ------------------------------------------------------------------------------------ */

static void version_str(int v, char *out, size_t n) { snprintf(out, n, "%d.%d", v / 1000, (v % 1000) / 10); }

extern "C" ngp_status ngp_cuda_error(ngp_error *err, cudaError_t e, const char *what, const char *file, int line) {
  const char *base = strrchr(file, '/');
  base = base ? base + 1 : file;
  const char *hint;
  switch (e) {
  case cudaErrorMemoryAllocation: hint = "use a smaller --batch-size or a smaller config (log2_hashmap_size)"; break;
  case cudaErrorNoKernelImageForDevice:
  case cudaErrorInvalidDeviceFunction:
    hint = "this build has no code for the device; rebuild with CMAKE_CUDA_ARCHITECTURES including its compute "
           "capability, or use --backend cpu";
    break;
  case cudaErrorIllegalAddress:
  case cudaErrorLaunchFailure:
  case cudaErrorMisalignedAddress:
  case cudaErrorIllegalInstruction:
  case cudaErrorAssert:
    hint = "a kernel failed: this is a bug; rerun under compute-sanitizer and report it, or use --backend cpu";
    break;
  case cudaErrorLaunchTimeout:
    hint = "the display watchdog stopped a kernel; use a GPU without a display or a smaller --batch-size";
    break;
  default: hint = "check the GPU with nvidia-smi, or use --backend cpu"; break;
  }
  return ngp_error_set(err, e == cudaErrorMemoryAllocation ? NGP_ERR_NOMEM : NGP_ERR_UNSUPPORTED,
                       "CUDA error at %s:%d in %s: %s (%s); %s", base, line, what, cudaGetErrorString(e),
                       cudaGetErrorName(e), hint);
}

/* ---- Device selection ------------------------------------------------------------------------------ */

__global__ void ngp_probe_kernel(int *p) {
  if (p) *p = 1;
}

/* Why device `dev` cannot be used (false), or true after making it current. */
static bool try_device(int dev, char *why, size_t n) {
  cudaDeviceProp p;
  cudaError_t e = cudaGetDeviceProperties(&p, dev);
  if (e != cudaSuccess) {
    snprintf(why, n, "CUDA device %d: cannot read its properties (%s); check nvidia-smi, or use --backend cpu", dev,
             cudaGetErrorString(e));
    return false;
  }
  if (p.major < 7) {
    snprintf(why, n,
             "CUDA device %d (%s) has compute capability %d.%d; the CUDA backend needs 7.0 or newer (tensor cores); "
             "use --backend cpu",
             dev, p.name, p.major, p.minor);
    return false;
  }
  e = cudaSetDevice(dev);
  if (e == cudaSuccess) e = cudaFree(0); /* creates the context: fails for a busy or prohibited device */
  if (e != cudaSuccess) {
    snprintf(why, n,
             "CUDA device %d (%s) cannot be used: %s (%s); another process may hold it in exclusive mode (see "
             "nvidia-smi -q -d COMPUTE), or use --backend cpu",
             dev, p.name, cudaGetErrorString(e), cudaGetErrorName(e));
    (void)cudaGetLastError();
    return false;
  }
  cudaFuncAttributes fa;
  e = cudaFuncGetAttributes(&fa, ngp_probe_kernel);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    snprintf(why, n,
             "CUDA device %d (%s) has compute capability %d.%d but this build carries code only for %s (%s); rebuild "
             "with -DCMAKE_CUDA_ARCHITECTURES=%d%d (or a list including it), or use --backend cpu",
             dev, p.name, p.major, p.minor, NGP_CUDA_ARCHS, cudaGetErrorName(e), p.major, p.minor);
    return false;
  }
  return true;
}

extern "C" ngp_status ngp_cuda_select_device(int *device, char *why, size_t n) {
  char tmp[16];
  if (!why || n == 0) why = tmp, n = sizeof tmp;
  why[0] = '\0';
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  char rt[16], drv[16];
  version_str(CUDART_VERSION, rt, sizeof rt);
  if (e != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    ngp_cuda_probe probe;
    ngp_cuda_probe_run(&probe);
    char found[2048];
    if (ngp_cuda_probe_problem(&probe, CUDART_VERSION, found, sizeof found)) {
      snprintf(why, n, "%s; or use --backend cpu", found);
      return NGP_ERR_UNSUPPORTED;
    }
    /* The probe saw a working driver and a device, yet the runtime refused: say what it said. */
    int dv = ngp_cuda_driver_version();
    version_str(dv, drv, sizeof drv);
    const char *lib = probe.lib.found ? probe.lib.path : "libcuda.so.1";
    if (e == cudaErrorInsufficientDriver) {
      snprintf(why, n,
               "the NVIDIA driver (%s) supports CUDA %s but this build's runtime is CUDA %s; update the driver to one "
               "for CUDA %s or newer, or use --backend cpu",
               lib, dv ? drv : "(unknown)", rt, rt);
    } else if (e == cudaErrorNoDevice || count == 0) {
      const char *vis = getenv("CUDA_VISIBLE_DEVICES");
      snprintf(why, n,
               "no CUDA device: the NVIDIA driver (%s, CUDA %s) lists no GPU to the runtime "
               "(CUDA_VISIBLE_DEVICES=%s); check nvidia-smi, or use --backend cpu",
               lib, drv, vis ? vis : "(unset)");
    } else if (e == cudaErrorStubLibrary) {
      snprintf(why, n,
               "no NVIDIA driver: %s is the CUDA toolkit's stub library, not a driver; remove its folder from "
               "LD_LIBRARY_PATH and install the NVIDIA driver, or use --backend cpu",
               lib);
    } else {
      snprintf(why, n,
               "CUDA initialisation failed: %s (%s), driver %s (CUDA %s); check nvidia-smi and dmesg, or use "
               "--backend cpu",
               cudaGetErrorString(e), cudaGetErrorName(e), lib, drv);
    }
    return NGP_ERR_UNSUPPORTED;
  }
  int want = device ? *device : -1;
  if (want >= count) {
    snprintf(why, n, "CUDA device %d requested but only %d present (0..%d); pick another, or use --backend cpu", want,
             count, count - 1);
    return NGP_ERR_UNSUPPORTED;
  }
  char first_why[1024] = "";
  for (int d = want >= 0 ? want : 0; d < (want >= 0 ? want + 1 : count); d++) {
    if (try_device(d, why, n)) {
      if (device) *device = d;
      return NGP_OK;
    }
    if (!first_why[0]) snprintf(first_why, sizeof first_why, "%s", why);
  }
  /* None usable: report the first device's reason (usually the only one). */
  snprintf(why, n, "%s", first_why);
  return NGP_ERR_UNSUPPORTED;
}

extern "C" void ngp_cuda_device_describe(char *out, size_t n) {
  int dev = 0;
  cudaDeviceProp p;
  if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&p, dev) != cudaSuccess) {
    (void)cudaGetLastError();
    snprintf(out, n, "no CUDA device");
    return;
  }
  char rt[16], drv[16];
  version_str(CUDART_VERSION, rt, sizeof rt);
  version_str(ngp_cuda_driver_version(), drv, sizeof drv);
  snprintf(out, n, "CUDA device %d: %s, compute capability %d.%d, %.1f GiB, %d SMs; driver CUDA %s, runtime %s", dev,
           p.name, p.major, p.minor, (double)p.totalGlobalMem / 1073741824.0, p.multiProcessorCount, drv, rt);
}

extern "C" void ngp_cuda_memory_info(size_t *free_bytes, size_t *total_bytes) {
  *free_bytes = *total_bytes = 0;
  if (cudaMemGetInfo(free_bytes, total_bytes) != cudaSuccess) {
    (void)cudaGetLastError();
    *free_bytes = *total_bytes = 0;
  }
}

/* ---- Memory ------------------------------------------------------------------------------------------ */

extern "C" ngp_status ngp_cuda_alloc(void **ptr, size_t bytes, const char *what, ngp_error *err) {
  *ptr = NULL;
  cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 1);
  if (e == cudaSuccess) return NGP_OK;
  *ptr = NULL;
  (void)cudaGetLastError();
  if (e == cudaErrorMemoryAllocation) {
    size_t free_b = 0, total_b = 0;
    (void)cudaMemGetInfo(&free_b, &total_b);
    (void)cudaGetLastError();
    int dev = 0;
    cudaDeviceProp p;
    const char *name = "the GPU";
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&p, dev) == cudaSuccess) name = p.name;
    return ngp_error_set(err, NGP_ERR_NOMEM,
                         "CUDA out of memory allocating %s (%.1f MiB): %.1f MiB free of %.1f MiB on %s; use a smaller "
                         "--batch-size or a smaller config (log2_hashmap_size), or free the GPU (nvidia-smi)",
                         what, (double)bytes / 1048576.0, (double)free_b / 1048576.0, (double)total_b / 1048576.0,
                         name);
  }
  return ngp_cuda_error(err, e, what, __FILE__, __LINE__);
}

extern "C" void ngp_cuda_free(void *ptr) {
  if (ptr) (void)cudaFree(ptr);
}

extern "C" ngp_status ngp_cuda_upload(void *dst, const void *src, size_t bytes, ngp_error *err) {
  NGP_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice), err);
  return NGP_OK;
}

extern "C" ngp_status ngp_cuda_download(void *dst, const void *src, size_t bytes, ngp_error *err) {
  NGP_CUDA_TRY(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost), err);
  return NGP_OK;
}

extern "C" ngp_status ngp_cuda_memset(void *dst, int value, size_t bytes, ngp_error *err) {
  NGP_CUDA_TRY(cudaMemset(dst, value, bytes), err);
  return NGP_OK;
}

extern "C" ngp_status ngp_cuda_sync(ngp_error *err) {
  NGP_CUDA_TRY(cudaDeviceSynchronize(), err);
  NGP_CUDA_TRY(cudaGetLastError(), err);
  return NGP_OK;
}

/* ---- fp16 conversions ------------------------------------------------------------------------------- */

__global__ void f32_to_f16_kernel(const float *src, __half *dst, size_t n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = ngp_half_sat(src[i]);
}

__global__ void f16_to_f32_kernel(const __half *src, float *dst, size_t n) {
  size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) dst[i] = __half2float(src[i]);
}

extern "C" void ngp_cuda_f32_to_f16(const float *src, ngp_half *dst, size_t n, ngp_stream stream) {
  if (n == 0) return;
  f32_to_f16_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(src, (__half *)dst, n);
}

extern "C" void ngp_cuda_f16_to_f32(const ngp_half *src, float *dst, size_t n, ngp_stream stream) {
  if (n == 0) return;
  f16_to_f32_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>((const __half *)src, dst, n);
}
