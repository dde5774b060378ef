/* doctor.c: `instant-ngp --doctor` (or `instant-ngp doctor`). Prints what a user needs when the GPU
 * or the display does not work: the system, the NixOS driver folder, which libcuda/libGL/libEGL
 * the process would load, the driver's CUDA version against the runtime this binary was built
 * with, the devices and whether the binary has code for them, the display and the GL renderer a
 * context gets, and the CPU path. Then a verdict and the fix. Each check stands alone: a missing
 * piece is reported, never fatal. Exit 0 when the selected backend (--backend, default auto) works. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app/cli.h"
#include "core/driver_probe.h"
#include "core/fs.h"
#include "nerf/mlp.h"
#include "ngp/common.h"
#include "core/parallel.h"

#ifdef NGP_HAVE_CUDA
#include "cuda/ngp_cuda.h"
#endif
#ifdef NGP_HAVE_VIEWER
#include <epoxy/gl.h>
#include <GLFW/glfw3.h>
#endif

static void heading(const char *title) { printf("\n== %s\n", title); }

/* ---- System ---------------------------------------------------------------------------------- */
static void os_name(char *out, size_t n) {
  snprintf(out, n, "unknown");
  FILE *f = fopen("/etc/os-release", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "PRETTY_NAME=", 12) != 0) continue;
    char *v = line + 12;
    v[strcspn(v, "\n")] = '\0';
    if (*v == '"') {
      v++;
      char *q = strrchr(v, '"');
      if (q) *q = '\0';
    }
    snprintf(out, n, "%s", v);
    break;
  }
  fclose(f);
}

static void check_system(void) {
  heading("system");
  char os[512];
  os_name(os, sizeof os);
  struct utsname u;
  if (uname(&u) == 0)
    printf("os:       %s (%s %s %s)\n", os, u.sysname, u.release, u.machine);
  else
    printf("os:       %s\n", os);
  printf("libc:     glibc %s\n", gnu_get_libc_version());
  char exe[1024];
  ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  exe[len > 0 ? len : 0] = '\0';
  printf("program:  instant-ngp %s (%s)\n", ngp_version(), len > 0 ? exe : "path unknown");
#ifdef NGP_HAVE_CUDA
  char rt[16];
  ngp_cuda_version_string(ngp_cuda_runtime_version(), rt, sizeof rt);
  printf("build:    CUDA backend, runtime %s (static), architectures %s\n", rt, ngp_cuda_architectures());
#else
  printf("build:    CPU only (configured without CUDA)\n");
#endif
#ifdef NGP_HAVE_VIEWER
  printf("viewer:   built (GLFW %s, OpenGL 3.3 core through libepoxy)\n", glfwGetVersionString());
#else
  printf("viewer:   not built\n");
#endif
}

/* ---- Driver folder and libraries --------------------------------------------------------------- */
static bool name_has_prefix(const char *name, const char *const *prefixes) {
  for (int i = 0; prefixes[i]; i++)
    if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return true;
  return false;
}

static void check_driver_dir(void) {
  heading(NGP_NIXOS_DRIVER_DIR);
  DIR *d = opendir(NGP_NIXOS_DRIVER_DIR);
  if (!d) {
    printf("absent (on NixOS, hardware.graphics.enable creates it; elsewhere the driver lives in the "
           "system's library folders)\n");
    return;
  }
  static const char *const interesting[] = {"libcuda.so", "libnvidia-ml.so", "libGL.so", "libEGL.so", "libGLX_", NULL};
  int total = 0, shown = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    total++;
    if (name_has_prefix(e->d_name, interesting) && shown < 24) {
      printf("  %s\n", e->d_name);
      shown++;
    }
  }
  closedir(d);
  printf("%d entries%s\n", total, shown ? "" : " (no libcuda, libGL or libEGL among them)");
}

static void print_lib(const ngp_lib_probe *p) {
  if (p->found)
    printf("%-14s %s%s%s%s\n", p->soname, p->path, p->version[0] ? " (version " : "", p->version,
           p->version[0] ? ")" : "");
  else
    printf("%-14s not found (%s)\n", p->soname, p->error);
}

/* ---- CUDA -------------------------------------------------------------------------------------- */
/* Whether the binary carries code a device of compute capability major.minor can run: SASS for
 * the same major version and a minor not above it, or PTX of an older or equal architecture, which
 * the driver compiles on first use. archs is CMake's list, ';' or ',' separated ("75,80,90" or
 * "90-real,90-virtual"). */
static void code_for_device(const char *archs, int major, int minor, char *out, size_t n) {
  int cc = major * 10 + minor, best_sass = -1, best_ptx = -1;
  const char *p = archs;
  while (p && *p) {
    int a = atoi(p);
    const char *end = strpbrk(p, ";,");
    size_t len = end ? (size_t)(end - p) : strlen(p);
    bool real = !memmem(p, len, "-virtual", 8), virt = !memmem(p, len, "-real", 5);
    if (a > 0 && real && a / 10 == major && a <= cc && a > best_sass) best_sass = a;
    if (a > 0 && virt && a <= cc && a > best_ptx) best_ptx = a;
    p = end ? end + 1 : NULL;
  }
  if (best_sass > 0)
    snprintf(out, n, "yes (sm_%d code)", best_sass);
  else if (best_ptx > 0)
    snprintf(out, n, "through PTX only (compute_%d, compiled by the driver on first run: slow start)", best_ptx);
  else
    snprintf(out, n, "NO: built for %s; rebuild with CMAKE_CUDA_ARCHITECTURES=%d (Nix: cudaCapabilities)", archs, cc);
}

/* Returns true when the CUDA backend can run; why holds the problem otherwise. */
static bool check_cuda(char *why, size_t n) {
  heading("NVIDIA driver and CUDA");
  ngp_cuda_probe p;
  ngp_cuda_probe_run(&p);
  print_lib(&p.lib);
  printf("kernel module: %s\n",
         p.kernel_module[0] ? p.kernel_module : "not loaded (/proc/driver/nvidia/version absent)");
  char drv[16], rt[16];
  ngp_cuda_version_string(p.driver_version, drv, sizeof drv);
  int runtime = 0;
#ifdef NGP_HAVE_CUDA
  runtime = ngp_cuda_runtime_version();
#endif
  ngp_cuda_version_string(runtime, rt, sizeof rt);
  if (p.lib.found)
    printf("driver supports CUDA %s; this binary's runtime: %s\n", drv, runtime ? rt : "none (CPU-only build)");
  for (int i = 0; i < p.n_devices; i++) {
    const ngp_cuda_device_info *d = &p.devices[i];
    char code[256] = "n/a (CPU-only build)";
#ifdef NGP_HAVE_CUDA
    code_for_device(ngp_cuda_architectures(), d->cc_major, d->cc_minor, code, sizeof code);
#else
    (void)code_for_device;
#endif
    printf("device %d: %s, %.1f GiB, compute capability %d.%d; code in this binary: %s\n", i, d->name,
           (double)d->total_mem / (1024.0 * 1024.0 * 1024.0), d->cc_major, d->cc_minor, code);
  }
  bool problem = ngp_cuda_probe_problem(&p, runtime, why, n);
#ifdef NGP_HAVE_CUDA
  if (!problem) {
    int device = 0;
    if (ngp_cuda_select_device(&device, why, n) != NGP_OK) problem = true;
  }
#else
  if (!problem) {
    snprintf(why, n,
             "a usable GPU is present, but this binary was built without CUDA. Fix: use the CUDA build "
             "(Nix: pkgsCuda.instant-ngp or cudaSupport = true; CMake: -DNGP_CUDA=ON)");
    problem = true;
  }
#endif
  printf("CUDA backend: %s\n", problem ? "not usable" : "usable");
  if (problem) printf("  why: %s\n", why);
  return !problem;
}

/* ---- Display and GL ---------------------------------------------------------------------------- */
static void print_env(const char *name) {
  const char *v = getenv(name);
  printf("%-30s %s\n", name, v ? v : "(unset)");
}

/* EGL through dlopen: a surfaceless context (Mesa's EGL_MESA_platform_surfaceless, or the default
 * display), enough to ask the GL vendor and renderer without a window. EGL types are pointers
 * and 32-bit ints (EGLint), so the ABI below matches egl.h. */
typedef void *(*egl_get_display_fn)(void *);
typedef void *(*egl_get_platform_display_fn)(unsigned, void *, const intptr_t *);
typedef unsigned (*egl_initialize_fn)(void *, int32_t *, int32_t *);
typedef unsigned (*egl_bind_api_fn)(unsigned);
typedef unsigned (*egl_choose_config_fn)(void *, const int32_t *, void **, int32_t, int32_t *);
typedef void *(*egl_create_context_fn)(void *, void *, void *, const int32_t *);
typedef unsigned (*egl_make_current_fn)(void *, void *, void *, void *);
typedef unsigned (*egl_destroy_context_fn)(void *, void *);
typedef unsigned (*egl_terminate_fn)(void *);
typedef void *(*egl_get_proc_fn)(const char *);
typedef const unsigned char *(*gl_get_string_fn)(unsigned);
enum {
  EGL_NONE_ = 0x3038,
  EGL_RENDERABLE_TYPE_ = 0x3040,
  EGL_OPENGL_BIT_ = 0x0008,
  EGL_OPENGL_API_ = 0x30A2,
  EGL_PLATFORM_SURFACELESS_MESA_ = 0x31DD,
  GL_VENDOR_ = 0x1F00,
  GL_RENDERER_ = 0x1F01,
  GL_VERSION_ = 0x1F02
};

static bool egl_renderer(char *out, size_t n) {
  void *h = dlopen("libEGL.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (!h) {
    snprintf(out, n, "libEGL.so.1 not found");
    return false;
  }
  bool ok = false;
  egl_get_proc_fn get_proc;
  egl_get_display_fn get_display;
  egl_initialize_fn initialize;
  egl_bind_api_fn bind_api;
  egl_choose_config_fn choose_config;
  egl_create_context_fn create_context;
  egl_make_current_fn make_current;
  egl_destroy_context_fn destroy_context;
  egl_terminate_fn terminate;
  *(void **)&get_proc = dlsym(h, "eglGetProcAddress");
  *(void **)&get_display = dlsym(h, "eglGetDisplay");
  *(void **)&initialize = dlsym(h, "eglInitialize");
  *(void **)&bind_api = dlsym(h, "eglBindAPI");
  *(void **)&choose_config = dlsym(h, "eglChooseConfig");
  *(void **)&create_context = dlsym(h, "eglCreateContext");
  *(void **)&make_current = dlsym(h, "eglMakeCurrent");
  *(void **)&destroy_context = dlsym(h, "eglDestroyContext");
  *(void **)&terminate = dlsym(h, "eglTerminate");
  if (!get_proc || !get_display || !initialize || !bind_api || !choose_config || !create_context || !make_current ||
      !destroy_context || !terminate) {
    snprintf(out, n, "libEGL.so.1 lacks core EGL entry points");
    dlclose(h);
    return false;
  }
  egl_get_platform_display_fn get_platform_display;
  *(void **)&get_platform_display = get_proc("eglGetPlatformDisplayEXT");
  void *dpy = get_platform_display ? get_platform_display(EGL_PLATFORM_SURFACELESS_MESA_, NULL, NULL) : NULL;
  int32_t major = 0, minor = 0;
  if (!dpy || !initialize(dpy, &major, &minor)) {
    dpy = get_display(NULL);
    if (!dpy || !initialize(dpy, &major, &minor)) {
      snprintf(out, n, "EGL found no display it can initialise");
      dlclose(h);
      return false;
    }
  }
  const int32_t attribs[] = {EGL_RENDERABLE_TYPE_, EGL_OPENGL_BIT_, EGL_NONE_};
  void *cfg = NULL;
  int32_t n_cfg = 0;
  void *ctx = NULL;
  if (bind_api(EGL_OPENGL_API_) && choose_config(dpy, attribs, &cfg, 1, &n_cfg) && n_cfg > 0)
    ctx = create_context(dpy, cfg, NULL, NULL);
  if (!ctx) ctx = create_context(dpy, NULL, NULL, NULL); /* EGL_KHR_no_config_context */
  if (ctx && make_current(dpy, NULL, NULL, ctx)) {
    gl_get_string_fn get_string;
    *(void **)&get_string = get_proc("glGetString");
    const unsigned char *vendor = get_string ? get_string(GL_VENDOR_) : NULL;
    const unsigned char *renderer = get_string ? get_string(GL_RENDERER_) : NULL;
    const unsigned char *version = get_string ? get_string(GL_VERSION_) : NULL;
    if (vendor && renderer) {
      snprintf(out, n, "%s, %s, OpenGL %s (EGL %d.%d, no window)", (const char *)vendor, (const char *)renderer,
               version ? (const char *)version : "?", (int)major, (int)minor);
      ok = true;
    } else {
      snprintf(out, n, "an EGL context was made but glGetString returned nothing");
    }
    make_current(dpy, NULL, NULL, NULL);
  } else {
    snprintf(out, n, "EGL %d.%d initialised but no OpenGL context could be made current without a surface", (int)major,
             (int)minor);
  }
  if (ctx) destroy_context(dpy, ctx);
  terminate(dpy);
  dlclose(h);
  return ok;
}

#ifdef NGP_HAVE_VIEWER
/* The context the viewer itself would get: GLFW, OpenGL 3.3 core, an invisible window. */
static bool glfw_renderer(char *out, size_t n) {
  if (!glfwInit()) {
    const char *desc = NULL;
    glfwGetError(&desc);
    snprintf(out, n, "GLFW could not start: %s", desc ? desc : "unknown error");
    return false;
  }
  glfwWindowHint(GLFW_VISIBLE, GLFW_FALSE);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  GLFWwindow *w = glfwCreateWindow(64, 64, "instant-ngp doctor", NULL, NULL);
  bool ok = false;
  if (!w) {
    const char *desc = NULL;
    glfwGetError(&desc);
    snprintf(out, n, "no OpenGL 3.3 core window: %s", desc ? desc : "unknown error");
  } else {
    glfwMakeContextCurrent(w);
    snprintf(out, n, "%s, %s, OpenGL %s (GLFW window)", (const char *)glGetString(GL_VENDOR),
             (const char *)glGetString(GL_RENDERER), (const char *)glGetString(GL_VERSION));
    ok = true;
    glfwDestroyWindow(w);
  }
  glfwTerminate();
  return ok;
}
#endif

/* Runs a GL probe in a child process: a broken driver that crashes takes only the child down, and
 * whatever the driver keeps allocated dies with it (_exit skips the leak checker's report, which
 * would otherwise blame the driver's unloaded modules on us). */
typedef bool (*gl_probe_fn)(char *out, size_t n);
static bool run_isolated(gl_probe_fn fn, char *out, size_t n) {
  int fds[2];
  if (pipe(fds) != 0) return fn(out, n);
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return fn(out, n);
  }
  if (pid == 0) {
    close(fds[0]);
    char buf[1024];
    buf[0] = fn(buf + 1, sizeof buf - 1) ? '1' : '0';
    size_t len = 1 + strlen(buf + 1), off = 0;
    while (off < len) {
      ssize_t w = write(fds[1], buf + off, len - off);
      if (w <= 0) break;
      off += (size_t)w;
    }
    _exit(0);
  }
  close(fds[1]);
  char buf[1024];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(fds[0], buf + got, sizeof buf - 1 - got);
    if (r > 0)
      got += (size_t)r;
    else if (r == 0 || errno != EINTR)
      break;
    if (got == sizeof buf - 1) break;
  }
  buf[got] = '\0';
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == 0) {
    if (WIFSIGNALED(status))
      snprintf(out, n, "the GL driver crashed while probing it (signal %d)", WTERMSIG(status));
    else
      snprintf(out, n, "the GL probe gave no answer");
    return false;
  }
  size_t len = strlen(buf + 1);
  if (len >= n) len = n - 1;
  memcpy(out, buf + 1, len);
  out[len] = '\0';
  return buf[0] == '1';
}

/* Returns true when a window could be opened (the viewer would work). */
static bool check_display(char *why, size_t n) {
  heading("display and OpenGL");
  print_env("DISPLAY");
  print_env("WAYLAND_DISPLAY");
  print_env("XDG_SESSION_TYPE");
  print_env("LIBGL_ALWAYS_SOFTWARE");
  print_env("__EGL_VENDOR_LIBRARY_FILENAMES");
  print_env("__GLX_VENDOR_LIBRARY_NAME");
  ngp_lib_probe gl, egl;
  ngp_lib_probe_run(&gl, "libGL.so.1");
  ngp_lib_probe_run(&egl, "libEGL.so.1");
  print_lib(&gl);
  print_lib(&egl);
  char r[512];
  bool headless_gl = run_isolated(egl_renderer, r, sizeof r);
  printf("GL without a window: %s\n", r);
  bool has_display =
      (getenv("DISPLAY") && *getenv("DISPLAY")) || (getenv("WAYLAND_DISPLAY") && *getenv("WAYLAND_DISPLAY"));
#ifdef NGP_HAVE_VIEWER
  if (!has_display) {
    snprintf(why, n, "no display (DISPLAY and WAYLAND_DISPLAY are unset): the viewer cannot open; runs are headless");
    printf("GL in a window: not tried (%s)\n", why);
    return false;
  }
  (void)headless_gl;
  bool ok = run_isolated(glfw_renderer, r, sizeof r);
  printf("GL in a window: %s\n", r);
  if (!ok)
    snprintf(why, n,
             "%s. Fix: on NixOS enable hardware.graphics; elsewhere run through NixGL or nix-gl-host so the "
             "system's GL driver is found",
             r);
  return ok;
#else
  (void)headless_gl;
  (void)has_display;
  snprintf(why, n, "this build has no viewer (configure with -DNGP_BUILD_VIEWER=ON)");
  return false;
#endif
}

/* ---- CPU --------------------------------------------------------------------------------------- */
/* The fast MLP path (SIMD chosen at run time) against the plain reference on a small random
 * batch: the CPU backend's kernels do work on this CPU. */
static bool check_cpu(const ngp_cli *cli, char *why, size_t n) {
  heading("CPU");
  int threads = cli->threads > 0 ? cli->threads : ngp_cpu_count();
  printf("threads: %d of %d online cores%s\n", threads, ngp_cpu_count(), cli->threads > 0 ? " (--threads)" : "");
  const char *simd_env = getenv("NGP_SIMD");
  if (simd_env)
    printf("SIMD:    %s (NGP_SIMD=%s in the environment)\n", ngp_simd_level(), simd_env);
  else
    printf("SIMD:    %s (chosen at run time; NGP_SIMD=scalar|avx2|avx512 forces a level, avx512bf16 puts renders' MLP "
           "products in bf16 too)\n",
           ngp_simd_level());
  printf("training's MLP products: %s\n",
         ngp_mlp_bf16_available() ? "bf16 with fp32 sums (AVX512_BF16; NGP_SIMD=avx512 keeps them fp32)" : "fp32");
  ngp_mlp m;
  ngp_error err;
  enum { S = 96, IN = 32, OUT = 16 };
  if (ngp_mlp_init(&m, IN, 64, 1, OUT, NGP_ACT_RELU, NGP_ACT_NONE, &err) != NGP_OK) {
    snprintf(why, n, "%s", err.msg);
    return false;
  }
  float *w = malloc(m.n_params * sizeof *w), *in = malloc(S * IN * sizeof *in);
  float *a = malloc(S * OUT * sizeof *a), *b = malloc(S * OUT * sizeof *b);
  bool ok = false;
  if (w && in && a && b) {
    ngp_mlp_init_params(&m, w, 7);
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < S * IN; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      in[i] = (float)(s >> 40) / 16777216.0f * 2.0f - 1.0f;
    }
    ngp_mlp_forward_ref(&m, w, S, in, a, NULL);
    ngp_mlp_forward(&m, w, S, in, b, NULL, threads);
    /* bf16 products (NGP_SIMD=avx512bf16) are held to 1% of the outputs' scale (tests/test_mlp.c) */
    const bool bf16 = strcmp(ngp_simd_level(), "avx512bf16") == 0;
    float worst = 0.0f, big = 0.0f;
    for (int i = 0; i < S * OUT; i++)
      big = a[i] > big ? a[i] : -a[i] > big ? -a[i] : big;
    for (int i = 0; i < S * OUT; i++) {
      float d = (a[i] - b[i]) / (bf16 ? big : 1e-3f + (a[i] < 0 ? -a[i] : a[i]));
      if (d < 0) d = -d;
      if (!(d <= worst)) worst = d; /* also catches NaN */
    }
    ok = worst < (bf16 ? 1e-2f : 1e-3f);
    printf("self-check: fast MLP against the reference, worst relative difference %.2g: %s\n", (double)worst,
           ok ? "ok" : "FAILED");
    if (!ok)
      snprintf(why, n, "the %s MLP kernels disagree with the reference on this CPU; try NGP_SIMD=scalar",
               ngp_simd_level());
  } else {
    snprintf(why, n, "out of memory for the self-check");
  }
  free(w);
  free(in);
  free(a);
  free(b);
  return ok;
}

int ngp_cli_doctor(const ngp_cli *cli) {
  printf("instant-ngp doctor: what the CPU, CUDA and display paths need, and what this machine has\n");
  check_system();
  check_driver_dir();
  heading("libraries the loader would use");
  char search[1536];
  ngp_loader_search_description(search, sizeof search);
  printf("search: %s\n", search);
  char cuda_why[2048] = "", disp_why[1024] = "", cpu_why[1100] = "";
  bool cuda_ok = check_cuda(cuda_why, sizeof cuda_why);
  bool display_ok = check_display(disp_why, sizeof disp_why);
  bool cpu_ok = check_cpu(cli, cpu_why, sizeof cpu_why);

  heading("verdict");
  printf("CPU backend:  %s\n", cpu_ok ? "works" : cpu_why);
  printf("CUDA backend: %s\n", cuda_ok ? "works" : cuda_why);
  printf("viewer:       %s\n", display_ok ? "a window can be opened" : disp_why);
  bool ok;
  switch (cli->backend) {
  case NGP_BACKEND_CUDA:
    ok = cuda_ok;
    printf("selected --backend cuda: %s\n", ok ? "works" : "does NOT work (see the CUDA line above for the fix)");
    break;
  case NGP_BACKEND_CPU:
    ok = cpu_ok;
    printf("selected --backend cpu: %s\n", ok ? "works" : "does NOT work");
    break;
  default:
    ok = cuda_ok || cpu_ok;
    printf("selected --backend auto: %s\n", cuda_ok  ? "runs on CUDA"
                                            : cpu_ok ? "runs on the CPU (CUDA is not usable, see above)"
                                                     : "does NOT work");
    break;
  }
  if (cli->gui == 1 && !display_ok) {
    printf("--gui: the viewer cannot open: %s\n", disp_why);
    ok = false;
  }
  return ok ? NGP_EXIT_OK : NGP_EXIT_FAILURE;
}
