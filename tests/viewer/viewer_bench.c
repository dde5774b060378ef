/* viewer_bench.c: ngp-viewer-bench, the viewer measured against a headless run. Needs a display:
 * run it under Xvfb,
 *
 *   tests/viewer/xvfb-run.sh build/bin/ngp-viewer-bench --scene ../shared/data/nerf_synthetic/lego_400 \
 *       --threads 2 --watch 30 --seconds 30
 *
 * Two measurements, each from a fresh model:
 *  - watch (--watch S, 0 to skip): a headless session trains for S seconds; then the window opens
 *    at the first training view's size, on that view, training, the camera at rest, as a user
 *    watches training, for S seconds. Printed: training steps per second in the window against
 *    headless (the ratio), and the PSNR against the view's own image of the window's picture
 *    (read back, overlay off) and of the headless model's full render of the same camera, and
 *    between the two.
 *  - orbit (--seconds S, 0 to skip): the window (--width x --height, overlay on, no vertical
 *    sync) trains, waits for the warm-up (training under way and --warmup seconds gone), then
 *    drags the camera a few pixels every frame for S seconds: the median frame rate with its
 *    spread, the image sizes shown while moving, and the training steps done meanwhile.
 * A measurement, never a pass/fail test. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define GLFW_INCLUDE_NONE /* key and button names only */
#include <GLFW/glfw3.h>

#include "core/clock.h"
#include "engine/eval.h"
#include "engine/session.h"
#include "viewer/viewer.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* CPU seconds of this process so far (all threads): on a shared machine the wall-clock rates
 * follow the other users' load, CPU time much less so. */
static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
         1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* The watch measurement (see the top of the file). */
static int bench_watch(const ngp_session_opts *so_in, double seconds) {
  ngp_session_opts so = *so_in;
  ngp_session hs;
  ngp_error err;
  if (ngp_session_open(&hs, &so, &err) != NGP_OK) {
    fprintf(stderr, "ngp-viewer-bench: %s\n", err.msg);
    return 1;
  }
  /* Headless, as app/run.c trains. */
  ngp_step_stats step;
  long h_steps = 0;
  double h_samples = 0.0, t0 = ngp_seconds(), h_time = 0.0, c0 = cpu_seconds();
  while ((h_time = ngp_seconds() - t0) < seconds) {
    if (ngp_session_step(&hs, &step, &err) != NGP_OK) {
      fprintf(stderr, "ngp-viewer-bench: %s\n", err.msg);
      ngp_session_close(&hs);
      return 1;
    }
    h_steps++;
    h_samples += (double)step.n_samples_used; /* 0 while a device has reported no step yet */
  }
  /* a device reports a step's numbers one step late: the last one's, waited for */
  if (ngp_session_last_stats(&hs, &step, &err) != NGP_OK) {
    fprintf(stderr, "ngp-viewer-bench: %s\n", err.msg);
    ngp_session_close(&hs);
    return 1;
  }
  if (step.step >= 0) h_samples += (double)step.n_samples_used;
  h_time = ngp_seconds() - t0;
  double h_cpu = cpu_seconds() - c0;
  if (ngp_session_refresh(&hs, &err) != NGP_OK) {
    fprintf(stderr, "ngp-viewer-bench: %s\n", err.msg);
    ngp_session_close(&hs);
    return 1;
  }
  const ngp_frame *f = &hs.scene.frames[0];
  int W = f->image.width, H = f->image.height;
  /* The window: the first training view's size, on that view, at rest, training at once. */
  ngp_viewer_opts o;
  ngp_viewer_opts_default(&o);
  o.width = W;
  o.height = H;
  o.swap_interval = 0;
  o.overlay = false;
  ngp_viewer *v;
  char why[512];
  int rc = ngp_viewer_open(&v, &so, &o, why, sizeof why);
  if (rc != NGP_VIEWER_OK) {
    fprintf(stderr, "ngp-viewer-bench: %s\n", rc == NGP_VIEWER_UNAVAILABLE ? why : "the session did not open");
    ngp_session_close(&hs);
    return 1;
  }
  int fw, fh;
  ngp_viewer_framebuffer_size(v, &fw, &fh);
  ngp_viewer_stats st;
  long frames = 0;
  double w0 = ngp_seconds(), w_time = 0.0, wc0 = cpu_seconds();
  while ((w_time = ngp_seconds() - w0) < seconds && ngp_viewer_frame(v))
    frames++;
  w_time = ngp_seconds() - w0;
  double w_cpu = cpu_seconds() - wc0;
  ngp_viewer_get_stats(v, &st);
  size_t n = (size_t)fw * (size_t)fh;
  uint8_t *px = malloc(n * 3);
  float *win = malloc(n * 3 * sizeof(float)), *head = malloc(n * 3 * sizeof(float)),
        *ref = malloc((size_t)W * H * 3 * sizeof(float));
  int status = 1;
  if (!px || !win || !head || !ref || !ngp_viewer_read_pixels(v, px)) {
    fprintf(stderr, "ngp-viewer-bench: out of memory\n");
    goto done;
  }
  for (size_t i = 0; i < n * 3; i++)
    win[i] = (float)px[i] / 255.0f;
  /* The headless model's full render of the window's camera, as the viewer sets it up. */
  ngp_render_opts ro;
  float focal[2], principal[2];
  ngp_viewer_render_setup(v, fw, fh, &ro, focal, principal);
  ngp_render_camera cam = {ngp_viewer_camera(v)->xform, {focal[0], focal[1]}, {principal[0], principal[1]}, NULL};
  if (ngp_session_render(&hs, &cam, &ro, head, &err) != NGP_OK) {
    fprintf(stderr, "ngp-viewer-bench: %s\n", err.msg);
    goto done;
  }
  ngp_reference_image(&f->image, so.bg, ref);
  double h_rate = (double)h_steps / h_time, w_rate = (double)st.steps_this_run / w_time;
  printf("watch: %dx%d window on training view 0, camera at rest, %d threads, %.0f s each\n", fw, fh, hs.threads,
         seconds);
  printf("training headless: %ld steps in %.1f s, %.3f steps/s (%.2fM samples/s), %.1f CPU s: %.3f steps per CPU s\n",
         h_steps, h_time, h_rate, h_samples / h_time / 1e6, h_cpu, (double)h_steps / h_cpu);
  printf("training in the window: %ld steps in %.1f s, %.3f steps/s: %.1f%% of headless (%ld frames, %.1f fps)\n",
         st.steps_this_run, w_time, w_rate, 100.0 * w_rate / h_rate, frames, (double)frames / w_time);
  printf("  per CPU second of the process: %.3f steps (%.1f CPU s): %.1f%% of headless\n",
         (double)st.steps_this_run / w_cpu, w_cpu,
         100.0 * ((double)st.steps_this_run / w_cpu) / ((double)h_steps / h_cpu));
  printf("picture shown: %dx%d of %dx%d\n", st.render_w, st.render_h, fw, fh);
  if (fw == W && fh == H) {
    double pw = ngp_psnr(win, ref, n), ph = ngp_psnr(head, ref, n);
    printf("PSNR against the view's image: window %.2f dB, headless render %.2f dB: window - headless %+.2f dB\n", pw,
           ph, pw - ph);
  } else {
    printf("the window is %dx%d, not the view's %dx%d: no PSNR against its image\n", fw, fh, W, H);
  }
  printf("PSNR of the window against the headless render: %.2f dB\n", ngp_psnr(win, head, n));
  status = 0;
done:
  free(px);
  free(win);
  free(head);
  free(ref);
  ngp_viewer_close(v, NULL, NULL);
  ngp_session_close(&hs);
  return status;
}

static void usage(void) {
  fprintf(
      stderr,
      "usage: ngp-viewer-bench --scene PATH [--snapshot FILE] [--config FILE] [--threads N] [--backend B] [--width W]\n"
      "                        [--height H] [--seconds S] [--warmup S] [--orbit-px P] [--no-train] [--watch S]\n"
      "                        [--batch-size N]\n");
}

int main(int argc, char **argv) {
  const char *scene = NULL, *snapshot = NULL, *config = NULL, *threads = "2", *backend = "cpu";
  int width = 800, height = 800;
  double seconds = 30.0, warmup = 10.0, orbit_px = 4.0, watch = 0.0;
  long batch = 0;
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
    else if (!strcmp(a, "--watch"))
      watch = atof(val);
    else if (!strcmp(a, "--batch-size"))
      batch = atol(val);
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
  so.batch_samples = batch;
  if (watch > 0.0) {
    if (!scene || snapshot || !train) {
      fprintf(stderr, "ngp-viewer-bench: --watch trains a fresh model: give --scene, no --snapshot nor --no-train\n");
      return 2;
    }
    if (bench_watch(&so, watch) != 0) return 1;
  }
  if (seconds <= 0.0) return 0;
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
