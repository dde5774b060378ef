/* viewer_bench.c: ngp-viewer-bench, the viewer's frame rate while the camera orbits without pause
 * and training runs in the background (the figure: at least 20 frames per second in an
 * 800x800 window with the CPU backend on two cores). Needs a display: run it under Xvfb,
 *
 *   tests/viewer/xvfb-run.sh build/bin/ngp-viewer-bench --scene ../shared/data/nerf_synthetic/lego_400 \
 *       --threads 2 --seconds 30
 *
 * It opens the window (overlay on, no vertical sync), starts training, waits for the warm-up
 * (training under way and --warmup seconds gone), then drags the camera a few pixels every frame
 * for --seconds and prints the median frame rate with its spread, the image sizes shown while
 * moving, and the training steps done meanwhile. A measurement, never a pass/fail test. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GLFW_INCLUDE_NONE /* key and button names only */
#include <GLFW/glfw3.h>

#include "core/clock.h"
#include "viewer/viewer.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void usage(void) {
  fprintf(
      stderr,
      "usage: ngp-viewer-bench --scene PATH [--snapshot FILE] [--config FILE] [--threads N] [--backend B] [--width W]\n"
      "                        [--height H] [--seconds S] [--warmup S] [--orbit-px P] [--no-train]\n");
}

int main(int argc, char **argv) {
  const char *scene = NULL, *snapshot = NULL, *config = NULL, *threads = "2", *backend = "cpu";
  int width = 800, height = 800;
  double seconds = 30.0, warmup = 10.0, orbit_px = 4.0;
  bool train = true;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--no-train")) {
      train = false;
      continue;
    }
    if (!val) {
      usage();
      return 2;
    }
    i++;
    if (!strcmp(a, "--scene"))
      scene = val;
    else if (!strcmp(a, "--snapshot"))
      snapshot = val;
    else if (!strcmp(a, "--config"))
      config = val;
    else if (!strcmp(a, "--threads"))
      threads = val;
    else if (!strcmp(a, "--backend"))
      backend = val;
    else if (!strcmp(a, "--width"))
      width = atoi(val);
    else if (!strcmp(a, "--height"))
      height = atoi(val);
    else if (!strcmp(a, "--seconds"))
      seconds = atof(val);
    else if (!strcmp(a, "--warmup"))
      warmup = atof(val);
    else if (!strcmp(a, "--orbit-px"))
      orbit_px = atof(val);
    else {
      usage();
      return 2;
    }
  }
  if (!scene && !snapshot) {
    usage();
    return 2;
  }
  ngp_session_opts so;
  ngp_session_opts_default(&so);
  so.scene = scene;
  so.snapshot = snapshot;
  so.config = config;
  so.threads = atoi(threads);
  so.backend = backend;
  ngp_viewer_opts o;
  ngp_viewer_opts_default(&o);
  o.width = width;
  o.height = height;
  o.swap_interval = 0;
  o.idle_wait = false;
  ngp_viewer *v;
  char why[512];
  int rc = ngp_viewer_open(&v, &so, &o, why, sizeof why);
  if (rc != NGP_VIEWER_OK) {
    fprintf(stderr, "ngp-viewer-bench: %s\n", rc == NGP_VIEWER_UNAVAILABLE ? why : "the session did not open");
    return 1;
  }
  ngp_viewer_set_training(v, train);
  ngp_viewer_stats st;
  double x = 100.0;
  ngp_viewer_on_cursor(v, x, 300.0);
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_LEFT, GLFW_PRESS, 0);
  /* Warm-up: orbiting already, so the throughput estimate settles. */
  double t0 = ngp_seconds();
  for (;;) {
    x += orbit_px;
    ngp_viewer_on_cursor(v, x, 300.0);
    if (!ngp_viewer_frame(v)) break;
    ngp_viewer_get_stats(v, &st);
    if (ngp_seconds() - t0 >= warmup && (!train || st.steps_this_run >= 1)) break;
    if (ngp_seconds() - t0 > warmup + 600.0) {
      fprintf(stderr, "ngp-viewer-bench: no training step within 10 minutes\n");
      break;
    }
  }
  long steps0 = st.steps_this_run;
  size_t cap = 1 << 16, n = 0;
  double *dt = malloc(cap * sizeof *dt);
  long px_sum = 0;
  int min_w = 1 << 30, max_w = 0;
  double start = ngp_seconds(), last = start;
  while (last - start < seconds && n < cap) {
    x += orbit_px;
    ngp_viewer_on_cursor(v, x, 300.0);
    if (!ngp_viewer_frame(v)) break;
    double t = ngp_seconds();
    dt[n++] = t - last;
    last = t;
    ngp_viewer_get_stats(v, &st);
    px_sum += st.render_w;
    if (st.render_w < min_w) min_w = st.render_w;
    if (st.render_w > max_w) max_w = st.render_w;
  }
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_LEFT, GLFW_RELEASE, 0);
  double total = last - start;
  qsort(dt, n, sizeof *dt, cmp_double);
  if (n == 0) {
    fprintf(stderr, "ngp-viewer-bench: no frames measured\n");
    return 1;
  }
  double med = dt[n / 2], p10 = dt[n / 10], p90 = dt[(n * 9) / 10], worst = dt[n - 1];
  printf("viewer: %dx%d window, orbiting %.0f px per frame, training %s, %s threads\n", width, height, orbit_px,
         train ? "on" : "off", threads);
  printf("frames: %zu in %.1f s (mean %.1f fps)\n", n, total, (double)n / total);
  printf("median frame time %.1f ms: %.1f fps (10%%: %.1f fps, 90%%: %.1f fps, slowest frame %.0f ms)\n", med * 1e3,
         1.0 / med, 1.0 / p90, 1.0 / p10, worst * 1e3);
  printf("image while moving: %d to %d pixels wide (mean %.0f) of %d\n", min_w, max_w, (double)px_sum / (double)n,
         width);
  printf("training meanwhile: %ld steps (step %d, %.2fM samples/s, loss %.5f)\n", st.steps_this_run - steps0, st.step,
         st.samples_per_s / 1e6, (double)st.loss_ema);
  free(dt);
  return ngp_viewer_close(v, NULL, NULL) == NGP_VIEWER_OK ? 0 : 1;
}
