/* ngp_bench.c: the project's benchmark (not a test: it asserts nothing, it measures).
 *
 *   ngp-bench throughput --scene S [--config C] [--threads N] [--steps N] [--warmup N] [--batch-size N]
 *       training throughput: median samples/s over steps after a warm-up (samples that went
 *       through encoding, both MLPs, compositing and their backward), samples per ray.
 *   ngp-bench curve --scene S --val V [--config C] [--threads N] [--minutes 1,2,5,10] [--background R,G,B]
 *       quality against training wall time: PSNR/SSIM on V at each checkpoint (evaluation time is
 *       not counted as training time).
 *   ngp-bench render --scene S [--steps N] [--width W] [--height H] [--repeat N]
 *       render time of a view after N training steps (median of repeats).
 * Every mode takes --backend cpu|cuda (default cpu). With cuda the same measurements run on the
 * GPU (src/cuda): throughput from the step statistics (each measured step waits for the device),
 * the curve's training time measured in batches of 8 steps with the device waited for, its views
 * rendered on the GPU (--minutes defaults to 0.25,1,5: 15, 60 and 300 s), and the render of a
 * view on the GPU after a warm-up render (the model upload is not timed), e.g. 1920x1080 of the
 * fox: `ngp-bench render --backend cuda --scene fox --steps 2000 --width 1920 --height 1080`.
 * The occupancy update uses instant-ngp's full sample counts on the GPU (--grid-fraction 1)
 * unless --grid-fraction is given.
 * Every mode ends with the peak resident memory (and, with cuda, the device memory in use). Quote
 * medians and the machine. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "clock.h"
#include "eval.h"
#include "mlp.h"
#include "nerf.h"
#include "ngp/ngp.h"
#include "parallel.h"
#ifdef NGP_HAVE_CUDA
#include "ngp_cuda.h"
#endif

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
  fprintf(stderr, "usage: ngp-bench throughput|curve|render --scene S [--backend cpu|cuda] [options] (see the comment "
                  "at the top of tests/bench/ngp_bench.c)\n");
  return 2;
}

typedef struct {
  const char *mode, *scene, *config, *val, *backend;
  int threads, steps, warmup, width, height, repeat;
  long batch;
  float grid_fraction;
  char minutes[128];
  float bg[3];
} args;

static int parse(int argc, char **argv, args *a) {
  memset(a, 0, sizeof *a);
  a->steps = -1;
  a->warmup = 20;
  a->width = 400;
  a->height = 400;
  a->repeat = 5;
  a->grid_fraction = -1.0f;
  a->bg[0] = a->bg[1] = a->bg[2] = 1.0f;
  snprintf(a->minutes, sizeof a->minutes, "1,2,5,10");
  a->backend = "cpu";
  bool minutes_given = false;
  if (argc < 2) return usage();
  a->mode = argv[1];
  for (int i = 2; i < argc; i++) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) return usage();
    i++;
    if (!strcmp(k, "--scene")) a->scene = v;
    else if (!strcmp(k, "--config")) a->config = v;
    else if (!strcmp(k, "--val")) a->val = v;
    else if (!strcmp(k, "--threads")) a->threads = atoi(v);
    else if (!strcmp(k, "--steps")) a->steps = atoi(v);
    else if (!strcmp(k, "--warmup")) a->warmup = atoi(v);
    else if (!strcmp(k, "--width")) a->width = atoi(v);
    else if (!strcmp(k, "--height")) a->height = atoi(v);
    else if (!strcmp(k, "--repeat")) a->repeat = atoi(v);
    else if (!strcmp(k, "--batch-size")) a->batch = atol(v);
    else if (!strcmp(k, "--grid-fraction")) a->grid_fraction = (float)atof(v);
    else if (!strcmp(k, "--minutes")) snprintf(a->minutes, sizeof a->minutes, "%s", v), minutes_given = true;
    else if (!strcmp(k, "--backend")) a->backend = v;
    else if (!strcmp(k, "--background")) {
      if (sscanf(v, "%f,%f,%f", &a->bg[0], &a->bg[1], &a->bg[2]) != 3) return usage();
    } else return usage();
  }
  if (strcmp(a->backend, "cpu") && strcmp(a->backend, "cuda")) return usage();
  if (!strcmp(a->backend, "cuda") && !minutes_given) snprintf(a->minutes, sizeof a->minutes, "0.25,1,5");
  return a->scene ? 0 : usage();
}

#ifdef NGP_HAVE_CUDA
/* The val views rendered on the GPU against their images over bg: PSNR and SSIM as ngp_eval_views. */
static int eval_cuda(const ngp_nerf *n, const ngp_scene *views, const float bg[3], ngp_eval_result *res) {
  memset(res, 0, sizeof *res);
  res->psnr_min = HUGE_VAL;
  res->psnr_max = -HUGE_VAL;
  ngp_error err;
  for (int i = 0; i < views->n_frames; i++) {
    const ngp_frame *f = &views->frames[i];
    size_t np = (size_t)f->image.width * (size_t)f->image.height;
    float *img = malloc(np * 3 * sizeof(float)), *ref = malloc(np * 3 * sizeof(float));
    if (!img || !ref) return fprintf(stderr, "out of memory\n"), 1;
    ngp_render_opts o = {f->image.width, f->image.height, {bg[0], bg[1], bg[2]}, 1e-4f, 1, (uint64_t)i};
    if (ngp_cuda_render(n, n->inference, f->xform, f->focal, f->principal, &f->lens, &o, img, &err) != NGP_OK)
      return fprintf(stderr, "%s\n", err.msg), 1;
    ngp_reference_image(&f->image, bg, ref);
    double p = ngp_psnr(img, ref, np), s = ngp_ssim(img, ref, f->image.width, f->image.height);
    free(img);
    free(ref);
    res->psnr_mean += p;
    res->ssim_mean += s;
    res->psnr_min = p < res->psnr_min ? p : res->psnr_min;
    res->psnr_max = p > res->psnr_max ? p : res->psnr_max;
    res->n_views++;
  }
  if (res->n_views) res->psnr_mean /= res->n_views, res->ssim_mean /= res->n_views;
  return 0;
}

static void device_memory(void) {
  size_t free_b = 0, total_b = 0;
  ngp_cuda_memory_info(&free_b, &total_b);
  printf("device memory in use: %.1f MiB of %.1f MiB\n", (double)(total_b - free_b) / 1048576.0,
         (double)total_b / 1048576.0);
}

static int run_cuda(args *a, ngp_nerf *nerf, const ngp_scene *scene, const ngp_scene_options *so, ngp_train_opts *to) {
  ngp_error err;
  int dev = -1;
  char why[1024], desc[512];
  if (ngp_cuda_select_device(&dev, why, sizeof why) != NGP_OK) return fprintf(stderr, "ngp-bench: %s\n", why), 1;
  ngp_cuda_device_describe(desc, sizeof desc);
  if (a->grid_fraction < 0.0f) to->grid_sample_fraction = 1.0f;
  ngp_cuda_trainer *tr;
  if (ngp_cuda_trainer_create(&tr, nerf, scene, to, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
  printf("scene %s: %d frames; backend cuda: %s; batch target %u samples, grid fraction %g\n", a->scene,
         scene->n_frames, desc, to->target_samples, (double)to->grid_sample_fraction);
  ngp_step_stats st;
  memset(&st, 0, sizeof st);
  if (!strcmp(a->mode, "throughput")) {
    int steps = a->steps > 0 ? a->steps : 100;
    int warmup = a->warmup > 0 ? a->warmup : 20;
    double *rate = malloc((size_t)steps * sizeof *rate), *rate_nogrid = malloc((size_t)steps * sizeof *rate_nogrid);
    double *spr = malloc((size_t)steps * sizeof *spr), *dev_rate = malloc((size_t)steps * sizeof *dev_rate);
    double ph[6] = {0};
    for (int i = 0; i < warmup; i++)
      if (ngp_cuda_trainer_step(tr, &st, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    for (int i = 0; i < steps; i++) {
      double t0 = ngp_seconds();
      if (ngp_cuda_trainer_step(tr, &st, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
      double dt = ngp_seconds() - t0;
      double dev_t = st.t_march + st.t_forward + st.t_composite + st.t_backward + st.t_optimizer + st.t_grid;
      rate[i] = (double)st.n_samples_used / dt;
      rate_nogrid[i] = (double)st.n_samples_used / (dt - st.t_grid);
      dev_rate[i] = dev_t > 0.0 ? (double)st.n_samples_used / dev_t : 0.0;
      ph[0] += st.t_march, ph[1] += st.t_forward, ph[2] += st.t_composite;
      ph[3] += st.t_backward, ph[4] += st.t_optimizer, ph[5] += st.t_grid;
      spr[i] = st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0;
    }
    printf("training throughput: median %.3f M samples/s over %d steps (after %d warm-up steps; wall time per step, "
           "each step waited for)\n",
           median(rate, steps) / 1e6, steps, warmup);
    printf("training step without the occupancy-grid update: median %.3f M samples/s\n",
           median(rate_nogrid, steps) / 1e6);
    printf("device time only (events): median %.3f M samples/s\n", median(dev_rate, steps) / 1e6);
    printf("mean device ms per step: march+compaction %.3f, forward %.3f, composite %.3f, backward %.3f, optimizer "
           "%.3f, grid %.3f\n",
           1e3 * ph[0] / steps, 1e3 * ph[1] / steps, 1e3 * ph[2] / steps, 1e3 * ph[3] / steps, 1e3 * ph[4] / steps,
           1e3 * ph[5] / steps);
    printf("samples per ray: median %.1f (used); last step %u marched, %u used, %d rays\n", median(spr, steps),
           st.n_samples, st.n_samples_used, st.n_rays);
    free(rate), free(rate_nogrid), free(spr), free(dev_rate);
  } else if (!strcmp(a->mode, "curve")) {
    if (!a->val) return usage();
    ngp_scene val;
    if (ngp_scene_load(a->val, so, &val, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    double trained = 0.0;
    int steps = 0;
    char *save = NULL, *tok = strtok_r(a->minutes, ",", &save);
    while (tok) {
      double target = atof(tok) * 60.0;
      while (trained < target) {
        double t0 = ngp_seconds();
        for (int k = 0; k < 8; k++, steps++)
          if (ngp_cuda_trainer_step(tr, NULL, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
        if (ngp_cuda_sync(&err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
        trained += ngp_seconds() - t0;
      }
      if (ngp_cuda_trainer_sync_inference(tr, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
      ngp_eval_result res;
      double t0 = ngp_seconds();
      if (eval_cuda(nerf, &val, a->bg, &res)) return 1;
      printf("after %.1f s (%d steps): PSNR %.3f [%.3f %.3f] SSIM %.4f on %d views, bg %g,%g,%g (GPU render, eval "
             "%.1f s)\n",
             trained, steps, res.psnr_mean, res.psnr_min, res.psnr_max, res.ssim_mean, res.n_views, (double)a->bg[0],
             (double)a->bg[1], (double)a->bg[2], ngp_seconds() - t0);
      fflush(stdout);
      tok = strtok_r(NULL, ",", &save);
    }
    ngp_scene_free(&val);
  } else if (!strcmp(a->mode, "render")) {
    int steps = a->steps >= 0 ? a->steps : 2000;
    for (int i = 0; i < steps; i++)
      if (ngp_cuda_trainer_step(tr, NULL, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    if (ngp_cuda_trainer_sync_inference(tr, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    const ngp_frame *f = &scene->frames[0];
    float focal[2] = {f->focal[0] * (float)a->width / (float)f->image.width,
                      f->focal[1] * (float)a->height / (float)f->image.height};
    float *rgb = malloc((size_t)a->width * (size_t)a->height * 3 * sizeof(float));
    double *times = malloc((size_t)a->repeat * sizeof *times);
    ngp_render_opts o = {a->width, a->height, {1, 1, 1}, 0.01f, 1, 0};
    /* Warm-up: uploads the model into the render cache and sizes the buffers. */
    if (ngp_cuda_render(nerf, nerf->inference, f->xform, focal, f->principal, &f->lens, &o, rgb, &err) != NGP_OK)
      return fprintf(stderr, "%s\n", err.msg), 1;
    for (int i = 0; i < a->repeat; i++) {
      o.seed = (uint64_t)i + 1;
      double t0 = ngp_seconds();
      if (ngp_cuda_render(nerf, nerf->inference, f->xform, focal, f->principal, &f->lens, &o, rgb, &err) != NGP_OK)
        return fprintf(stderr, "%s\n", err.msg), 1;
      times[i] = ngp_seconds() - t0;
    }
    printf("render %dx%d of frame 0 after %d steps on the GPU: median %.2f ms over %d repeats (including the copy of "
           "the image to the host)\n",
           a->width, a->height, steps, 1e3 * median(times, a->repeat), a->repeat);
    free(rgb);
    free(times);
  } else {
    return usage();
  }
  peak_rss();
  device_memory();
  ngp_cuda_trainer_destroy(tr);
  ngp_cuda_render_release();
  return 0;
}
#endif

int main(int argc, char **argv) {
  args a;
  if (parse(argc, argv, &a)) return 2;
  ngp_error err;
  int threads = a.threads > 0 ? a.threads : ngp_cpu_count();
  ngp_config cfg;
  if (a.config) {
    if (ngp_config_load(a.config, &cfg, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
  } else {
    char path[4096];
    snprintf(path, sizeof path, "%s/configs/nerf/base.json", NGP_SOURCE_DIR);
    if (ngp_config_load(path, &cfg, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
  }
  ngp_scene scene;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = threads;
  if (ngp_scene_load(a.scene, &so, &scene, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
  ngp_nerf nerf;
  if (ngp_nerf_init(&nerf, &cfg, scene.aabb_scale, 1337, threads, &err) != NGP_OK)
    return fprintf(stderr, "%s\n", err.msg), 1;
  ngp_train_opts to;
  ngp_train_opts_default(&to);
  to.n_threads = threads;
  if (a.batch > 0) to.target_samples = (uint32_t)a.batch;
  if (a.grid_fraction >= 0.0f) to.grid_sample_fraction = a.grid_fraction;
  if (!strcmp(a.backend, "cuda")) {
#ifdef NGP_HAVE_CUDA
    int rc = run_cuda(&a, &nerf, &scene, &so, &to);
    ngp_nerf_free(&nerf);
    ngp_scene_free(&scene);
    return rc;
#else
    fprintf(stderr, "ngp-bench: --backend cuda: this build has no CUDA backend (configure with -DNGP_CUDA=ON)\n");
    return 2;
#endif
  }
  ngp_trainer *tr;
  if (ngp_trainer_create(&tr, &nerf, &scene, &to, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
  printf("scene %s: %d frames; %d thread%s, SIMD %s, batch target %u samples\n", a.scene, scene.n_frames, threads,
         threads == 1 ? "" : "s", ngp_simd_level(), to.target_samples);

  if (!strcmp(a.mode, "throughput")) {
    int steps = a.steps > 0 ? a.steps : 30;
    double *rate = malloc((size_t)steps * sizeof *rate), *spr = malloc((size_t)steps * sizeof *spr);
    double *rate_nogrid = malloc((size_t)steps * sizeof *rate_nogrid);
    double ph[6] = {0};
    ngp_step_stats st;
    for (int i = 0; i < a.warmup; i++) ngp_trainer_step(tr, &st);
    for (int i = 0; i < steps; i++) {
      double t0 = ngp_seconds();
      ngp_trainer_step(tr, &st);
      double dt = ngp_seconds() - t0;
      rate[i] = (double)st.n_samples_used / dt;
      rate_nogrid[i] = (double)st.n_samples_used / (dt - st.t_grid);
      ph[0] += st.t_march;
      ph[1] += st.t_forward;
      ph[2] += st.t_composite;
      ph[3] += st.t_backward;
      ph[4] += st.t_optimizer;
      ph[5] += st.t_grid;
      spr[i] = st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0;
    }
    printf("training throughput: median %.3f M samples/s over %d steps (after %d warm-up steps)\n",
           median(rate, steps) / 1e6, steps, a.warmup);
    printf("training step without the occupancy-grid update: median %.3f M samples/s\n", median(rate_nogrid, steps) / 1e6);
    printf("mean seconds per step: march %.3f, forward %.3f, composite %.3f, backward %.3f, optimizer %.3f, grid %.3f\n",
           ph[0] / steps, ph[1] / steps, ph[2] / steps, ph[3] / steps, ph[4] / steps, ph[5] / steps);
    free(rate_nogrid);
    printf("samples per ray: median %.1f (used, i.e. before early termination); last step %u marched, %u used, %d rays\n",
           median(spr, steps), st.n_samples, st.n_samples_used, st.n_rays);
    free(rate);
    free(spr);
  } else if (!strcmp(a.mode, "curve")) {
    if (!a.val) return usage();
    ngp_scene val;
    if (ngp_scene_load(a.val, &so, &val, &err) != NGP_OK) return fprintf(stderr, "%s\n", err.msg), 1;
    double trained = 0.0;
    char *save = NULL, *tok = strtok_r(a.minutes, ",", &save);
    ngp_step_stats st = {0};
    while (tok) {
      double target = atof(tok) * 60.0;
      while (trained < target) {
        double t0 = ngp_seconds();
        ngp_trainer_step(tr, &st);
        trained += ngp_seconds() - t0;
      }
      ngp_trainer_sync_inference(tr);
      ngp_eval_result res;
      double t0 = ngp_seconds();
      ngp_eval_views(&nerf, nerf.inference, &val, a.bg, 1, &res, &err);
      printf("after %.1f min (%d steps): PSNR %.3f [%.3f %.3f] SSIM %.4f on %d views, bg %g,%g,%g (eval %.1f s)\n",
             trained / 60.0, st.step + 1, res.psnr_mean, res.psnr_min, res.psnr_max, res.ssim_mean, res.n_views,
             (double)a.bg[0], (double)a.bg[1], (double)a.bg[2], ngp_seconds() - t0);
      fflush(stdout);
      tok = strtok_r(NULL, ",", &save);
    }
    ngp_scene_free(&val);
  } else if (!strcmp(a.mode, "render")) {
    int steps = a.steps >= 0 ? a.steps : 200;
    ngp_step_stats st;
    for (int i = 0; i < steps; i++) ngp_trainer_step(tr, &st);
    ngp_trainer_sync_inference(tr);
    const ngp_frame *f = &scene.frames[0];
    float focal[2] = {f->focal[0] * (float)a.width / (float)f->image.width,
                      f->focal[1] * (float)a.height / (float)f->image.height};
    float *rgb = malloc((size_t)a.width * (size_t)a.height * 3 * sizeof(float));
    double *times = malloc((size_t)a.repeat * sizeof *times);
    for (int i = 0; i < a.repeat; i++) {
      ngp_render_opts o = {a.width, a.height, {1, 1, 1}, 0.01f, 1, (uint64_t)i};
      double t0 = ngp_seconds();
      ngp_nerf_render(&nerf, nerf.inference, f->xform, focal, f->principal, &f->lens, &o, rgb);
      times[i] = ngp_seconds() - t0;
    }
    printf("render %dx%d of frame 0 after %d steps: median %.3f s over %d repeats\n", a.width, a.height, steps,
           median(times, a.repeat), a.repeat);
    free(rgb);
    free(times);
  } else {
    return usage();
  }
  peak_rss();
  ngp_trainer_destroy(tr);
  ngp_nerf_free(&nerf);
  ngp_scene_free(&scene);
  return 0;
}
