/* driver_probe.c: libcuda, libGL and libEGL found through the dynamic loader at run time, never
 * linked. The CUDA driver API is called through dlsym with its C ABI (CUresult is an int, CUdevice
 * an int); only the handful of entry points below are used, all present since CUDA 3.2. */
#define _GNU_SOURCE
#include "core/driver_probe.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void copy_str(char *dst, size_t n, const char *src) {
  if (!n) return;
  snprintf(dst, n, "%s", src ? src : "");
}

void ngp_lib_probe_run(ngp_lib_probe *p, const char *soname) {
  memset(p, 0, sizeof *p);
  p->soname = soname;
  dlerror();
  void *h = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    copy_str(p->error, sizeof p->error, dlerror());
    return;
  }
  p->found = true;
  struct link_map *lm = NULL;
  if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
    char real[PATH_MAX];
    copy_str(p->path, sizeof p->path, realpath(lm->l_name, real) ? real : lm->l_name);
  }
  const char *base = strrchr(p->path, '/');
  base = base ? base + 1 : p->path;
  const char *so = strstr(base, ".so.");
  if (so) copy_str(p->version, sizeof p->version, so + 4);
  dlclose(h);
}

void ngp_cuda_version_string(int version, char *out, size_t n) {
  if (version <= 0)
    copy_str(out, n, "unknown");
  else
    snprintf(out, n, "%d.%d", version / 1000, (version % 1000) / 10);
}

/* The CUDA driver API's C ABI (cuda.h): CUresult and CUdevice are ints. */
typedef int (*cu_init_fn)(unsigned);
typedef int (*cu_int_fn)(int *);
typedef int (*cu_device_get_fn)(int *, int);
typedef int (*cu_device_name_fn)(char *, int, int);
typedef int (*cu_device_mem_fn)(size_t *, int);
typedef int (*cu_device_attr_fn)(int *, int, int);
typedef int (*cu_error_fn)(int, const char **);
enum { CU_ATTR_CC_MAJOR = 75, CU_ATTR_CC_MINOR = 76 };

static void read_kernel_module(ngp_cuda_probe *p) {
  FILE *f = fopen("/proc/driver/nvidia/version", "r");
  if (!f) return;
  if (fgets(p->kernel_module, sizeof p->kernel_module, f)) {
    size_t len = strlen(p->kernel_module);
    while (len && (p->kernel_module[len - 1] == '\n' || p->kernel_module[len - 1] == ' '))
      p->kernel_module[--len] = '\0';
  }
  fclose(f);
}

void ngp_cuda_probe_run(ngp_cuda_probe *p) {
  memset(p, 0, sizeof *p);
  p->init_result = -1;
  read_kernel_module(p);
  ngp_lib_probe_run(&p->lib, "libcuda.so.1");
  if (!p->lib.found) return;
  void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!h) return;
  /* dlsym returns object pointers; POSIX guarantees they convert to function pointers. */
  cu_init_fn cu_init;
  cu_int_fn cu_driver_version, cu_device_count;
  cu_device_get_fn cu_device_get;
  cu_device_name_fn cu_device_name;
  cu_device_mem_fn cu_device_mem;
  cu_device_attr_fn cu_device_attr;
  cu_error_fn cu_error_name, cu_error_string;
  *(void **)&cu_init = dlsym(h, "cuInit");
  *(void **)&cu_driver_version = dlsym(h, "cuDriverGetVersion");
  *(void **)&cu_device_count = dlsym(h, "cuDeviceGetCount");
  *(void **)&cu_device_get = dlsym(h, "cuDeviceGet");
  *(void **)&cu_device_name = dlsym(h, "cuDeviceGetName");
  *(void **)&cu_device_mem = dlsym(h, "cuDeviceTotalMem_v2");
  *(void **)&cu_device_attr = dlsym(h, "cuDeviceGetAttribute");
  *(void **)&cu_error_name = dlsym(h, "cuGetErrorName");
  *(void **)&cu_error_string = dlsym(h, "cuGetErrorString");
  if (cu_driver_version) cu_driver_version(&p->driver_version);
  if (!cu_init) {
    copy_str(p->init_error, sizeof p->init_error, "libcuda.so.1 has no cuInit: not a CUDA driver library");
    dlclose(h);
    return;
  }
  p->init_result = cu_init(0);
  if (p->init_result != 0) {
    const char *name = NULL, *text = NULL;
    if (cu_error_name) cu_error_name(p->init_result, &name);
    if (cu_error_string) cu_error_string(p->init_result, &text);
    snprintf(p->init_error, sizeof p->init_error, "%s (%d): %s", name ? name : "CUDA error", p->init_result,
             text ? text : "no description");
    dlclose(h);
    return;
  }
  int count = 0;
  if (cu_device_count && cu_device_count(&count) == 0) {
    if (count > NGP_PROBE_MAX_DEVICES) count = NGP_PROBE_MAX_DEVICES;
    for (int i = 0; i < count; i++) {
      ngp_cuda_device_info *d = &p->devices[p->n_devices];
      int dev = 0;
      if (!cu_device_get || cu_device_get(&dev, i) != 0) continue;
      if (!cu_device_name || cu_device_name(d->name, (int)sizeof d->name, dev) != 0)
        copy_str(d->name, sizeof d->name, "?");
      if (cu_device_mem) cu_device_mem(&d->total_mem, dev);
      if (cu_device_attr) {
        cu_device_attr(&d->cc_major, CU_ATTR_CC_MAJOR, dev);
        cu_device_attr(&d->cc_minor, CU_ATTR_CC_MINOR, dev);
      }
      p->n_devices++;
    }
  }
  dlclose(h);
}

/* An object in this library, for dladdr to name the file that will call dlopen. */
static const char probe_anchor = 0;

void ngp_loader_search_description(char *out, size_t n) {
  size_t used = 0;
  out[0] = '\0';
#define APPEND(...)                                                                                                    \
  do {                                                                                                                 \
    if (used < n) {                                                                                                    \
      int w_ = snprintf(out + used, n - used, __VA_ARGS__);                                                            \
      if (w_ > 0) used += (size_t)w_ < n - used ? (size_t)w_ : n - used - 1;                                           \
    }                                                                                                                  \
  } while (0)
  const char *ld = getenv("LD_LIBRARY_PATH");
  APPEND("LD_LIBRARY_PATH=%s", ld && *ld ? ld : "(unset)");
  /* The loader's own list for this library (its RUNPATH, then the system folders), as dlinfo
   * reports it for the object that will call dlopen. */
  Dl_info info;
  void *self = NULL;
  if (dladdr(&probe_anchor, &info) && info.dli_fname) self = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  if (!self) self = dlopen(NULL, RTLD_LAZY);
  Dl_serinfo size_info;
  if (self && dlinfo(self, RTLD_DI_SERINFOSIZE, &size_info) == 0 && size_info.dls_size > 0) {
    Dl_serinfo *si = malloc(size_info.dls_size);
    if (si) {
      *si = size_info;
      if (dlinfo(self, RTLD_DI_SERINFO, si) == 0) {
        APPEND("; search path:");
        for (unsigned i = 0; i < si->dls_cnt; i++)
          APPEND(" %s", si->dls_serpath[i].dls_name);
      }
      free(si);
    }
  }
  APPEND("; then /etc/ld.so.cache");
  if (self) dlclose(self);
#undef APPEND
}

bool ngp_cuda_probe_problem(const ngp_cuda_probe *p, int runtime_version, char *why, size_t n) {
  char search[1536], rt[16], drv[16];
  ngp_loader_search_description(search, sizeof search);
  ngp_cuda_version_string(runtime_version, rt, sizeof rt);
  ngp_cuda_version_string(p->driver_version, drv, sizeof drv);
  if (!p->lib.found) {
    snprintf(why, n,
             "no NVIDIA driver: libcuda.so.1 was not found (%s). Fix: on NixOS enable hardware.graphics (or "
             "programs.instant-ngp.enable) so %s holds the driver; elsewhere install the NVIDIA driver, or run "
             "through nix-gl-host / NixGL, or add the driver's folder to LD_LIBRARY_PATH",
             search, NGP_NIXOS_DRIVER_DIR);
    return true;
  }
  if (runtime_version > 0 && p->driver_version > 0 && p->driver_version < runtime_version) {
    snprintf(why, n,
             "the NVIDIA driver (%s, CUDA %s) is older than the CUDA runtime this program was built with (%s). "
             "Fix: update the driver, or use a build made with an older CUDA toolkit",
             p->lib.path, drv, rt);
    return true;
  }
  /* CUDA_ERROR_NO_DEVICE (100) from cuInit is the no-device case below. */
  if (p->init_result != 0 && p->init_result != 100) {
    snprintf(why, n,
             "the NVIDIA driver %s (CUDA %s) did not initialise: %s%s%s. Fix: check that the kernel module "
             "is loaded and matches the library (nvidia-smi)",
             p->lib.path, drv, p->init_error[0] ? p->init_error : "unknown error",
             p->kernel_module[0] ? "; kernel module: " : "", p->kernel_module);
    return true;
  }
  if (p->n_devices == 0) {
    snprintf(why, n,
             "the NVIDIA driver %s (CUDA %s) sees no CUDA device. Fix: check nvidia-smi and "
             "CUDA_VISIBLE_DEVICES",
             p->lib.path, drv);
    return true;
  }
  if (n) why[0] = '\0';
  return false;
}
