/* driver_probe.h (internal): finds the NVIDIA driver and the GL/EGL libraries the way the process
 * would load them (dlopen through the dynamic loader: LD_LIBRARY_PATH, the binary's runpath, the
 * loader cache, the default folders), without any link-time dependency on them. Used by
 * `instant-ngp --doctor` and by the CUDA backend to say exactly what was looked for and where.
 * Every probe stands alone: a missing library is a finding, never a crash. */
#ifndef NGP_CORE_DRIVER_PROBE_H
#define NGP_CORE_DRIVER_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "ngp/common.h"

/* Where NixOS puts the graphics driver (hardware.graphics); nixpkgs' autoAddDriverRunpath adds
 * it to the runpath of CUDA programs. */
#define NGP_NIXOS_DRIVER_DIR "/run/opengl-driver/lib"

/* A shared library as the dynamic loader resolves it. */
typedef struct ngp_lib_probe {
  const char *soname; /* what was asked for, e.g. "libcuda.so.1" */
  bool found;
  char path[4096];  /* the file the loader mapped, symlinks resolved */
  char version[64]; /* from the file name after ".so." (e.g. "550.54.14"); "" if none */
  char error[512];  /* dlerror() when not found */
} ngp_lib_probe;

/* Loads `soname` with dlopen (RTLD_LAZY|RTLD_LOCAL), records where it came from, unloads it. */
void ngp_lib_probe_run(ngp_lib_probe *p, const char *soname);

#define NGP_PROBE_MAX_DEVICES 16

typedef struct ngp_cuda_device_info {
  char name[256];
  size_t total_mem;
  int cc_major, cc_minor;
} ngp_cuda_device_info;

/* The CUDA driver API as seen through libcuda.so.1. */
typedef struct ngp_cuda_probe {
  ngp_lib_probe lib;
  int driver_version;   /* cuDriverGetVersion: 1000*major + 10*minor; 0 if unknown */
  int init_result;      /* cuInit's CUresult; -1 when libcuda was not found */
  char init_error[256]; /* cuGetErrorName/String of a failing cuInit */
  int n_devices;
  ngp_cuda_device_info devices[NGP_PROBE_MAX_DEVICES];
  char kernel_module[256]; /* first line of /proc/driver/nvidia/version; "" if absent */
} ngp_cuda_probe;

void ngp_cuda_probe_run(ngp_cuda_probe *p);

/* One line: why CUDA cannot be used (no driver, driver older than `runtime_version`, no device),
 * what was looked for and where, and the fix. Returns false (and leaves why empty) when a device
 * is usable. runtime_version: the CUDA runtime the binary was built with (0: unknown). */
bool ngp_cuda_probe_problem(const ngp_cuda_probe *p, int runtime_version, char *why, size_t n);

/* Where the dynamic loader looks for libraries in this process, for messages: LD_LIBRARY_PATH,
 * this executable's RUNPATH/RPATH, the loader cache and default folders. */
void ngp_loader_search_description(char *out, size_t n);

/* "12.4" from 12040. */
void ngp_cuda_version_string(int version, char *out, size_t n);

#endif
