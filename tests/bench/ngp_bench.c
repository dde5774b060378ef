/* ngp_bench.c: the project's benchmark (not a test: it asserts nothing, it measures). It runs an
 * engine session (engine/session.h) as the program does, so every figure is the backend's own
 * code path, on the CPU or a device alike.
 *
 *   ngp-bench throughput --scene S [--config C] [--threads N] [--steps N] [--warmup N] [--batch-size N]
 *       training throughput: median samples/s over steps after a warm-up (samples that went
 *       through encoding, both MLPs, compositing and their backward), samples per ray; each
 *       measured step reads its statistics back (on a device: waits for it).
 *   ngp-bench curve --scene S --val V [--config C] [--threads N] [--minutes 1,2,5,10] [--background R,G,B]
 *       quality against training wall time: PSNR/SSIM on V at each checkpoint (evaluation time is
 *       not counted as training time; steps are timed in batches of 8, the device waited for);
 *       --plot FILE.svg draws PSNR against training time (plot_svg.h), rewritten at each checkpoint.
 *       --holdout N instead of --val: train on all frames of S but 0, N, 2N, ... and evaluate on
 *       those (instant-ngp's and nerfstudio's "every Nth image" split; e.g. the fox, N = 10).
 *       --render-size WxH: at the end, the render time of the first evaluated view at W x H
 *       (median of --repeat), e.g. the fox at 1920x1080 after 5 minutes.
 *   ngp-bench render --scene S [--steps N] [--width W] [--height H] [--repeat N]
 *       render time of a view after N training steps (median of repeats, after a warm-up render;
 *       including the copy of the image to the host); --save-png FILE writes the last one.
 *       --while-training 1: as the viewer does, another thread trains all along (publishing every
 *       8 steps) while the frames render, each with the newest published weights: the frame time
 *       while training.
 * Every mode takes --backend cpu|cuda|auto or a registered name (default cpu) and
 * --grid-fraction F (occupancy-update samples against instant-ngp's; default: the backend's, 0.125
 * on the CPU, 1 on a GPU) and --error-map on|off (default: the backend's, on on the CPU). On cuda --minutes defaults to
 * 0.25,1,5 (15, 60 and 300 s), throughput to 100 steps and render to 2000, e.g. the 1920x1080 fox: `ngp-bench render
 * --backend cuda --scene fox --steps 2000 --width 1920 --height 1080`.
 * `--backend counting` (a test backend that forwards to the CPU one and counts its calls, see
 * tests/counting_backend.c) prints the calls at the end: the CTest bench_through_backend checks
 * that the benchmark goes through the backend.
 * Every mode ends with the peak resident memory and the backend's description. Quote medians
 * and the machine. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/clock.h"
#include "core/fs.h"
#include "plot_svg.h"
#include "counting_backend.h"
#include "ngp/ngp.h"
#include "engine/session.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void peak_rss(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("peak resident memory: %.1f MiB\n", (double)ru.ru_maxrss / 1024.0);
}

static int usage(void) {
  fprintf(stderr, "usage: ngp-bench throughput|curve|render --scene S [--backend cpu|cuda|auto] [options] (see the "
                  "comment at the top of tests/bench/ngp_bench.c)\n");
  return 2;
}

typedef struct {
  const char *mode, *scene, *config, *val, *backend, *save_png, *plot;
  int threads, steps, warmup, width, height, repeat, holdout, render_w, render_h;
  long batch;
  float grid_fraction;
  int error_map;
  char minutes[128];
  bool minutes_given, while_training;
  float bg[3];
} args;

static int parse(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->steps = -1;
  a->warmup = -1;
  a->width = 400;
  a->height = 400;
  a->repeat = 5;
  a->grid_fraction = -1.0f;
  a->error_map = -1;
  a->bg[0] = a->bg[1] = a->bg[2] = 1.0f;
  a->backend = "cpu";
  if (argc < 2) return usage();
  a->mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) return usage();
    i++;
    if (!strcmp(k, "--scene"))
      a->scene = v;
    else if (!strcmp(k, "--config"))
      a->config = v;
    else if (!strcmp(k, "--val"))
      a->val = v;
    else if (!strcmp(k, "--threads"))
      a->threads = atoi(v);
    else if (!strcmp(k, "--steps"))
      a->steps = atoi(v);
    else if (!strcmp(k, "--warmup"))
      a->warmup = atoi(v);
    else if (!strcmp(k, "--width"))
      a->width = atoi(v);
    else if (!strcmp(k, "--height"))
      a->height = atoi(v);
    else if (!strcmp(k, "--repeat"))
      a->repeat = atoi(v);
    else if (!strcmp(k, "--batch-size"))
      a->batch = atol(v);
    else if (!strcmp(k, "--grid-fraction"))
      a->grid_fraction = (float)atof(v);
    else if (!strcmp(k, "--error-map") && (!strcmp(v, "on") || !strcmp(v, "off")))
      a->error_map = !strcmp(v, "on");
    else if (!strcmp(k, "--plot"))
      a->plot = v;
    else if (!strcmp(k, "--minutes"))
      snprintf(a->minutes, sizeof a->minutes, "%s", v), a->minutes_given = true;
    else if (!strcmp(k, "--backend"))
      a->backend = v;
    else if (!strcmp(k, "--save-png"))
      a->save_png = v;
    else if (!strcmp(k, "--holdout"))
      a->holdout = atoi(v);
    else if (!strcmp(k, "--render-size")) {
      if (sscanf(v, "%dx%d", &a->render_w, &a->render_h) != 2 || a->render_w < 1 || a->render_h < 1) return usage();
    } else if (!strcmp(k, "--while-training"))
      a->while_training = atoi(v) != 0;
    else if (!strcmp(k, "--background")) {
      if (sscanf(v, "%f,%f,%f", &a->bg[0], &a->bg[1], &a->bg[2]) != 3) return usage();
    } else
      return usage();
  }
  if (a->repeat < 1 || a->width < 1 || a->height < 1) return usage();
  if (a->plot && (strcmp(a->mode, "curve") != 0 || strcmp(ngp_path_extension(a->plot), ".svg") != 0)) {
    fprintf(stderr, "ngp-bench: --plot %s: a curve's plot, named FILE.svg\n", a->plot);
    return 2;
  }
  return a->scene ? 0 : usage();
}

static int fail(const ngp_error *err) {
  fprintf(stderr, "ngp-bench: %s\n", err->msg);
  return 1;
}

static int throughput(const args *a, ngp_session *s, bool device) {
  ngp_error err;
  int steps = a->steps > 0 ? a->steps : (device ? 100 : 30);
  int warmup = a->warmup >= 0 ? a->warmup : 20;
  if (warmup < 1) warmup = 1; /* a device reports a step's numbers one step late: none after the first */
  double *rate = malloc((size_t)steps * sizeof *rate), *spr = malloc((size_t)steps * sizeof *spr);
  double *rate_nogrid = malloc((size_t)steps * sizeof *rate_nogrid);
  if (!rate || !spr || !rate_nogrid) return fprintf(stderr, "ngp-bench: out of memory\n"), 1;
  double ph[6] = {0};
  ngp_step_stats st = {0};
  for (int i = 0; i < warmup; i++)
    if (ngp_session_step(s, &st, &err) != NGP_OK) return fail(&err);
  for (int i = 0; i < steps; i++) {
    double t0 = ngp_seconds();
    if (ngp_session_step(s, &st, &err) != NGP_OK) return fail(&err);
    double dt = ngp_seconds() - t0;
    rate[i] = (double)st.n_samples_used / dt;
    rate_nogrid[i] = (double)st.n_samples_used / (dt - st.t_grid);
    ph[0] += st.t_march, ph[1] += st.t_forward, ph[2] += st.t_composite;
    ph[3] += st.t_backward, ph[4] += st.t_optimizer, ph[5] += st.t_grid;
    spr[i] = st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0;
  }
  printf("training throughput: median %.3f M samples/s over %d steps (after %d warm-up steps)\n",
         median(rate, steps) / 1e6, steps, warmup);
  printf("training step without the occupancy-grid update: median %.3f M samples/s\n",
         median(rate_nogrid, steps) / 1e6);
  printf("mean ms per step: march %.3f, forward %.3f, composite %.3f, backward %.3f, optimizer %.3f, grid %.3f\n",
         1e3 * ph[0] / steps, 1e3 * ph[1] / steps, 1e3 * ph[2] / steps, 1e3 * ph[3] / steps, 1e3 * ph[4] / steps,
         1e3 * ph[5] / steps);
  printf("samples per ray: median %.1f (used, i.e. before early termination); last step %u marched, %u used, %d rays\n",
         median(spr, steps), st.n_samples, st.n_samples_used, st.n_rays);
  free(rate);
  free(spr);
  free(rate_nogrid);
  return 0;
}

static int curve(args *a, ngp_session *s, bool device) {
  /* On a device a step returns before it is done: time batches of 8, waited for. */
  const int batch = device ? 8 : 1;
  if (!a->val && a->holdout < 2) return usage();
  ngp_error err;
  double pt[64], pp[64];
  int np = 0;
  ngp_scene val;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = s->threads;
  if (!a->val) { /* --holdout N: the frames the session did not train on */
    so.holdout_every = a->holdout;
    so.holdout_only = true;
  }
  if (ngp_scene_load(a->val ? a->val : a->scene, &so, &val, &err) != NGP_OK) return fail(&err);
  if (!a->val)
    printf("held out: frames 0, %d, %d, ... of %s (of those with an image): %d views, trained on the other %d\n",
           a->holdout, 2 * a->holdout, a->scene, val.n_frames, s->scene.n_frames);
  double trained = 0.0;
  char *save = NULL, *tok = strtok_r(a->minutes, ",", &save);
  int rc = 0;
  while (tok && rc == 0) {
    double target = atof(tok) * 60.0;
    while (trained < target && rc == 0) {
      double t0 = ngp_seconds();
      for (int k = 0; k < batch && rc == 0; k++)
        if (ngp_session_step(s, NULL, &err) != NGP_OK) rc = fail(&err);
      if (rc == 0 && ngp_backend_synchronize(s->backend, &err) != NGP_OK) rc = fail(&err);
      trained += ngp_seconds() - t0;
    }
    if (rc) break;
    ngp_eval_result res;
    double t0 = ngp_seconds();
    if (ngp_session_refresh(s, &err) != NGP_OK || ngp_eval_views(s->backend, &val, a->bg, 1, &res, &err) != NGP_OK) {
      rc = fail(&err);
      break;
    }
    printf("after %.1f s (%d steps): PSNR %.3f [%.3f %.3f] SSIM %.4f on %d views, bg %g,%g,%g (eval %.1f s)\n", trained,
           s->meta.training_step, res.psnr_mean, res.psnr_min, res.psnr_max, res.ssim_mean, res.n_views,
           (double)a->bg[0], (double)a->bg[1], (double)a->bg[2], ngp_seconds() - t0);
    fflush(stdout);
    if (a->plot && np < 64) {
      pt[np] = trained;
      pp[np++] = res.psnr_mean;
      char title[512];
      snprintf(title, sizeof title, "%s on %s, %s backend", ngp_path_basename(a->val), ngp_path_basename(a->scene),
               ngp_backend_name(s->backend));
      /* Rewritten at each checkpoint: a long run can be watched, and an interrupted one keeps its points. */
      if (ngp_plot_svg(a->plot, title, "training time (s)", "PSNR (dB)", pt, pp, np, &err) != NGP_OK) {
        rc = fail(&err);
        break;
      }
      printf("plot saved: %s (%d point%s)\n", a->plot, np, np == 1 ? "" : "s");
    }
    tok = strtok_r(NULL, ",", &save);
  }
  if (rc == 0 && a->render_w > 0) { /* the render time of the first held-out view, trained as above */
    const ngp_frame *f = &val.frames[0];
    ngp_render_camera cam = {f->xform,
                             {f->focal[0] * (float)a->render_w / (float)f->image.width,
                              f->focal[1] * (float)a->render_h / (float)f->image.height},
                             {f->principal[0], f->principal[1]},
                             &f->lens};
    float *rgb = malloc((size_t)a->render_w * (size_t)a->render_h * 3 * sizeof(float));
    double times[64];
    int n = a->repeat < 1 ? 1 : (a->repeat > 64 ? 64 : a->repeat);
    ngp_render_opts o;
    ngp_session_render_opts(s, a->render_w, a->render_h, 0, &o);
    for (int i = 0; i < n && rc == 0; i++) {
      double t0 = ngp_seconds();
      if (!rgb || ngp_session_render(s, &cam, &o, rgb, &err) != NGP_OK)
        rc = rgb ? fail(&err) : (fprintf(stderr, "ngp-bench: out of memory\n"), 1);
      if (device && rc == 0 && ngp_backend_synchronize(s->backend, &err) != NGP_OK) rc = fail(&err);
      times[i] = ngp_seconds() - t0;
    }
    if (rc == 0)
      printf("render %dx%d of the first held-out view after %.1f s of training: median %.2f ms over %d\n", a->render_w,
             a->render_h, trained, 1e3 * median(times, n), n);
    free(rgb);
  }
  ngp_scene_free(&val);
  return rc;
}

/* The viewer's training side for render --while-training: steps and publishes until told to stop. */
typedef struct {
  ngp_session *s;
  atomic_int stop;
  int steps, failed;
  ngp_error err;
} trainer_thread;

static void *train_loop(void *user) {
  trainer_thread *tt = user;
  while (!atomic_load(&tt->stop)) {
    if (ngp_session_step(tt->s, NULL, &tt->err) != NGP_OK ||
        (++tt->steps % 8 == 0 && ngp_backend_publish(tt->s->backend, &tt->err) != NGP_OK)) {
      tt->failed = 1;
      break;
    }
  }
  return NULL;
}

static int render(const args *a, ngp_session *s, bool device) {
  ngp_error err;
  int steps = a->steps >= 0 ? a->steps : (device ? 2000 : 200);
  for (int i = 0; i < steps; i++)
    if (ngp_session_step(s, NULL, &err) != NGP_OK) return fail(&err);
  if (ngp_session_refresh(s, &err) != NGP_OK) return fail(&err);
  const ngp_frame *f = &s->scene.frames[0];
  ngp_render_camera cam = {
      f->xform,
      {f->focal[0] * (float)a->width / (float)f->image.width, f->focal[1] * (float)a->height / (float)f->image.height},
      {f->principal[0], f->principal[1]},
      &f->lens};
  float *rgb = malloc((size_t)a->width * (size_t)a->height * 3 * sizeof(float));
  double *times = malloc((size_t)a->repeat * sizeof *times);
  if (!rgb || !times) return fprintf(stderr, "ngp-bench: out of memory\n"), 1;
  ngp_render_opts o = {
      .width = a->width, .height = a->height, .bg = {1, 1, 1}, .min_transmittance = 0.01f, .spp = 1, .seed = 0};
  /* Warm-up: the renderer's buffers are sized (and on a device the kernels loaded). */
  if (ngp_session_render(s, &cam, &o, rgb, &err) != NGP_OK) return fail(&err);
  trainer_thread tt = {.s = s};
  atomic_init(&tt.stop, 0);
  pthread_t th;
  if (a->while_training && pthread_create(&th, NULL, train_loop, &tt) != 0)
    return fprintf(stderr, "ngp-bench: cannot start the training thread\n"), 1;
  int rc = 0;
  for (int i = 0; i < a->repeat && rc == 0; i++) {
    o.seed = (uint64_t)i + 1;
    double t0 = ngp_seconds();
    if (a->while_training) (void)ngp_backend_acquire(s->backend); /* the viewer's frame: newest weights */
    if (ngp_session_render(s, &cam, &o, rgb, &err) != NGP_OK) rc = fail(&err);
    times[i] = ngp_seconds() - t0;
  }
  if (a->while_training) {
    atomic_store(&tt.stop, 1);
    pthread_join(th, NULL);
    if (tt.failed) rc = fail(&tt.err);
  }
  if (rc) return rc;
  if (a->while_training)
    printf("render %dx%d while training: median %.2f ms per frame over %d frames, %d steps trained meanwhile\n",
           a->width, a->height, 1e3 * median(times, a->repeat), a->repeat, tt.steps);
  else
    printf("render %dx%d of frame 0 after %d steps: median %.2f ms over %d repeats (including the copy to the host)\n",
           a->width, a->height, steps, 1e3 * median(times, a->repeat), a->repeat);
  if (a->save_png) { /* the last render, to look at */
    size_t np = (size_t)a->width * (size_t)a->height;
    uint8_t *px = malloc(np * 4);
    if (!px) return fprintf(stderr, "ngp-bench: out of memory\n"), 1;
    for (size_t p = 0; p < np; p++) {
      for (int c = 0; c < 3; c++)
        px[p * 4 + c] = (uint8_t)lrintf(fminf(fmaxf(rgb[p * 3 + c], 0.0f), 1.0f) * 255.0f);
      px[p * 4 + 3] = 255;
    }
    ngp_image img = {a->width, a->height, 4, px};
    ngp_status st = ngp_image_write_png(a->save_png, &img, &err);
    free(px);
    if (st != NGP_OK) return fail(&err);
    printf("render saved: %s\n", a->save_png);
  }
  free(rgb);
  free(times);
  return 0;
}

int main(int argc, char **argv) {
  args a;
  if (parse(argc, argv, &a)) return 2;
  ngp_error err;
  if (ngp_backend_register(&ngp_counting_backend_type, &err) != NGP_OK) return fail(&err);
  ngp_session_opts so;
  ngp_session_opts_default(&so);
  so.scene = a.scene;
  so.config = a.config;
  so.backend = a.backend;
  so.threads = a.threads;
  so.batch_samples = a.batch;
  so.grid_sample_fraction = a.grid_fraction;
  so.error_map = a.error_map;
  so.concurrent_render = a.while_training;
  so.holdout_every = a.holdout;
  memcpy(so.bg, a.bg, sizeof so.bg);
  ngp_session s;
  if (ngp_session_open(&s, &so, &err) != NGP_OK) return fail(&err);
  const bool device =
      strcmp(ngp_backend_name(s.backend), "cpu") != 0 && strcmp(ngp_backend_name(s.backend), "counting") != 0;
  if (!a.minutes_given) snprintf(a.minutes, sizeof a.minutes, "%s", device ? "0.25,1,5" : "1,2,5,10");
  int rc;
  if (!strcmp(a.mode, "throughput"))
    rc = throughput(&a, &s, device);
  else if (!strcmp(a.mode, "curve"))
    rc = curve(&a, &s, device);
  else if (!strcmp(a.mode, "render"))
    rc = render(&a, &s, device);
  else
    rc = usage();
  if (rc == 0) {
    peak_rss();
    char desc[512];
    ngp_backend_describe(s.backend, desc, sizeof desc);
    printf("backend %s: %s\n", ngp_backend_name(s.backend), desc);
    if (!strcmp(ngp_backend_name(s.backend), "counting")) ngp_counting_backend_print(s.backend);
  }
  ngp_session_close(&s);
  return rc;
}
