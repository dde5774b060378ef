/* run.c: what `instant-ngp` does without --info: load a scene and/or a snapshot, train for the
 * steps or the time asked, save a snapshot, evaluate on test views, write screenshots. Progress
 * goes to stderr: one updating line on a terminal, plain periodic lines otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "eval.h"
#include "fs.h"
#include "mlp.h"
#include "nerf.h"
#include "ngp/ngp.h"
#include "parallel.h"
#include "snapshot.h"

extern const char ngp_default_config_json[];
extern const size_t ngp_default_config_json_len;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int fail(const char *msg) {
  fprintf(stderr, "instant-ngp: error: %s\n", msg);
  return NGP_EXIT_FAILURE;
}

static void format_duration(double s, char *buf, size_t n) {
  if (s < 60.0)
    snprintf(buf, n, "%.1fs", s);
  else if (s < 3600.0)
    snprintf(buf, n, "%dm%02ds", (int)(s / 60.0), (int)fmod(s, 60.0));
  else
    snprintf(buf, n, "%dh%02dm", (int)(s / 3600.0), (int)fmod(s / 60.0, 60.0));
}

static ngp_status load_config(const ngp_cli *cli, ngp_config *cfg, char *label, size_t n, ngp_error *err) {
  if (!cli->config) {
    snprintf(label, n, "base.json (built in)");
    return ngp_config_parse(ngp_default_config_json, ngp_default_config_json_len, "base.json (built in)", cfg, err);
  }
  char *path = ngp_cli_find_config(cli->config);
  if (!path)
    return ngp_error_set(err, NGP_ERR_IO, "%s: config not found (looked as given, in $NGP_CONFIG_DIR and in the "
                                          "installed configs/nerf folder)", cli->config);
  snprintf(label, n, "%s", path);
  ngp_status st = ngp_config_load(path, cfg, err);
  free(path);
  return st;
}

/* Trains until the step count or the time budget is reached, printing progress. */
static void train(ngp_trainer *t, long n_steps, double seconds, int threads) {
  bool tty = isatty(STDERR_FILENO);
  double t0 = now_seconds(), last_print = t0;
  uint64_t samples = 0;
  ngp_step_stats st = {0};
  float loss_ema = -1.0f;
  for (long i = 0;; i++) {
    double el = now_seconds() - t0;
    if ((n_steps >= 0 && i >= n_steps) || (seconds >= 0.0 && el >= seconds)) break;
    ngp_trainer_step(t, &st);
    samples += st.n_samples_used;
    loss_ema = loss_ema < 0.0f ? st.loss : 0.9f * loss_ema + 0.1f * st.loss;
    double now = now_seconds();
    el = now - t0;
    bool last = (n_steps >= 0 && i + 1 >= n_steps) || (seconds >= 0.0 && el >= seconds);
    if (tty ? (now - last_print > 0.25 || last) : (now - last_print > 10.0 || last)) {
      last_print = now;
      double remaining = -1.0;
      if (n_steps >= 0) remaining = el / (double)(i + 1) * (double)(n_steps - i - 1);
      if (seconds >= 0.0 && (remaining < 0.0 || seconds - el < remaining)) remaining = seconds - el;
      char e[32], r[32] = "?";
      format_duration(el, e, sizeof e);
      if (remaining >= 0.0) format_duration(remaining > 0.0 ? remaining : 0.0, r, sizeof r);
      double psnr = loss_ema > 0.0f ? -10.0 * log10((double)loss_ema) : 0.0;
      fprintf(stderr, "%sstep %ld loss %.5f psnr~%.2f rays %d samples/ray %.1f samples/s %.2fM elapsed %s remaining %s%s",
              tty ? "\r" : "", (long)st.step + 1, (double)loss_ema, psnr, st.n_rays,
              st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0, (double)samples / el / 1e6, e, r,
              tty ? "\033[K" : "\n");
    }
  }
  if (tty) fprintf(stderr, "\n");
  double el = now_seconds() - t0;
  printf("trained %d steps in %.1f s (%.2fM samples/s on %d thread%s, final loss %.5f)\n", ngp_trainer_steps_done(t),
         el, el > 0 ? (double)samples / el / 1e6 : 0.0, threads, threads == 1 ? "" : "s", (double)loss_ema);
}

static void screenshot_name(const char *dir, const char *file_path, char *out, size_t n) {
  const char *base = ngp_path_basename(file_path);
  bool has_ext = ngp_path_extension(base)[0] != '\0';
  snprintf(out, n, "%s/%s%s", dir, base, has_ext ? "" : ".png");
}

static int screenshots(const ngp_cli *cli, const ngp_nerf *n, const float bg[3], int spp) {
  ngp_scene cams;
  ngp_error err;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.load_images = false;
  so.keep_missing = true;
  so.n_threads = cli->threads;
  if (ngp_scene_load(cli->screenshot_transforms, &so, &cams, &err) != NGP_OK) return fail(err.msg);
  if (ngp_mkdir_p(cli->screenshot_dir, &err) != NGP_OK) {
    ngp_scene_free(&cams);
    return fail(err.msg);
  }
  int rc = NGP_EXIT_OK;
  for (int i = 0; i < cams.n_frames && rc == NGP_EXIT_OK; i++) {
    const ngp_frame *f = &cams.frames[i];
    int w = cli->width ? cli->width : f->image.width, h = cli->height ? cli->height : f->image.height;
    /* A different size keeps the field of view: focal lengths scale with the size. */
    float focal[2] = {f->focal[0] * (float)w / (float)f->image.width, f->focal[1] * (float)h / (float)f->image.height};
    float *rgb = malloc((size_t)w * (size_t)h * 3 * sizeof(float));
    uint8_t *px = malloc((size_t)w * (size_t)h * 4);
    if (!rgb || !px) {
      free(rgb);
      free(px);
      ngp_scene_free(&cams);
      return fail("out of memory for a screenshot");
    }
    ngp_render_opts o = {w, h, {bg[0], bg[1], bg[2]}, 1e-4f, spp, (uint64_t)i};
    double t0 = now_seconds();
    ngp_nerf_render(n, n->inference, f->xform, focal, f->principal, &f->lens, &o, rgb);
    double t_render = now_seconds() - t0;
    for (size_t p = 0; p < (size_t)w * (size_t)h; p++) {
      for (int c = 0; c < 3; c++) px[p * 4 + c] = (uint8_t)lrintf(rgb[p * 3 + c] * 255.0f);
      px[p * 4 + 3] = 255;
    }
    char path[4200];
    screenshot_name(cli->screenshot_dir, f->file_path, path, sizeof path);
    ngp_image img = {w, h, 4, px};
    if (ngp_image_write_png(path, &img, &err) != NGP_OK)
      rc = fail(err.msg);
    else
      printf("screenshot: %s (%dx%d, rendered in %.3f s)\n", path, w, h, t_render);
    free(rgb);
    free(px);
  }
  ngp_scene_free(&cams);
  return rc;
}

int ngp_cli_run(const ngp_cli *cli) {
  ngp_error err;
  if (cli->backend == NGP_BACKEND_CUDA)
    return fail("--backend cuda: this build has no CUDA backend yet; use --backend cpu or auto");
  int threads = cli->threads > 0 ? cli->threads : ngp_cpu_count();
  printf("backend: cpu (%s), %d thread%s, SIMD %s%s\n",
         cli->backend == NGP_BACKEND_AUTO ? "auto: this build has no CUDA backend" : "as asked", threads,
         threads == 1 ? "" : "s", ngp_simd_level(), "");
  uint64_t seed = cli->has_seed ? cli->seed : 1337;
  float bg[3] = {1.0f, 1.0f, 1.0f};
  if (cli->has_background) memcpy(bg, cli->background, sizeof bg);
  int spp = cli->spp > 0 ? cli->spp : 1;

  ngp_nerf nerf;
  ngp_snapshot_meta meta = {0, 0.33f, {0.5f, 0.5f, 0.5f}, 0.0f};
  bool have_model = false;
  if (cli->load_snapshot) {
    if (ngp_snapshot_load(cli->load_snapshot, &nerf, &meta, threads, &err) != NGP_OK) return fail(err.msg);
    printf("snapshot: %s (step %d)\n", cli->load_snapshot, meta.training_step);
    have_model = true;
  }
  ngp_scene scene;
  bool have_scene = false;
  int rc = NGP_EXIT_OK;
  long n_steps = cli->n_steps;
  double seconds = cli->train_seconds;
  if (n_steps < 0 && seconds < 0.0) n_steps = cli->load_snapshot ? 0 : 35000; /* run.py's defaults */
  if (cli->scene && (n_steps != 0 || seconds > 0.0)) {
    ngp_scene_options so;
    ngp_scene_options_default(&so);
    so.n_threads = threads;
    double t0 = now_seconds();
    if (ngp_scene_load(cli->scene, &so, &scene, &err) != NGP_OK) {
      rc = fail(err.msg);
      goto done;
    }
    have_scene = true;
    printf("scene: %s: %d frames (%d skipped), %dx%d, aabb_scale %d, loaded in %.1f s\n", cli->scene, scene.n_frames,
           scene.n_skipped, scene.frames[0].image.width, scene.frames[0].image.height, scene.aabb_scale,
           now_seconds() - t0);
    for (int i = 0; i < scene.n_sources; i++) printf("  loaded:     %s\n", scene.sources[i]);
    for (int i = 0; i < scene.n_ignored; i++) printf("  not loaded: %s\n", scene.ignored[i]);
    if (!have_model) {
      ngp_config cfg;
      char label[1200];
      if (load_config(cli, &cfg, label, sizeof label, &err) != NGP_OK) {
        rc = fail(err.msg);
        goto done;
      }
      if (ngp_nerf_init(&nerf, &cfg, scene.aabb_scale, seed, threads, &err) != NGP_OK) {
        rc = fail(err.msg);
        goto done;
      }
      have_model = true;
      printf("config: %s (%zu parameters)\n", label, nerf.n_params);
    } else if (nerf.aabb_scale != scene.aabb_scale) {
      rc = fail("the snapshot was trained with another aabb_scale than this scene's");
      goto done;
    }
    meta.scale = scene.scale;
    memcpy(meta.offset, scene.offset, sizeof meta.offset);
    ngp_train_opts to;
    ngp_train_opts_default(&to);
    to.seed = seed;
    to.n_threads = threads;
    if (cli->batch_samples > 0) to.target_samples = (uint32_t)cli->batch_samples;
    ngp_trainer *tr = NULL;
    if (ngp_trainer_create(&tr, &nerf, &scene, &to, &err) != NGP_OK) {
      rc = fail(err.msg);
      goto done;
    }
    train(tr, n_steps, seconds, threads);
    meta.training_step += ngp_trainer_steps_done(tr);
    ngp_trainer_sync_inference(tr);
    ngp_trainer_destroy(tr);
  } else if (!have_model) {
    rc = fail("nothing to do: give a scene to train on, or a snapshot to render");
    goto done;
  }
  if (cli->save_snapshot) {
    char *parent = ngp_path_dirname(cli->save_snapshot);
    ngp_status pst = parent ? ngp_mkdir_p(parent, &err) : ngp_error_set(&err, NGP_ERR_NOMEM, "out of memory");
    free(parent);
    if (pst != NGP_OK) {
      rc = fail(err.msg);
      goto done;
    }
    if (ngp_snapshot_save(cli->save_snapshot, &nerf, nerf.inference, &meta, &err) != NGP_OK) {
      rc = fail(err.msg);
      goto done;
    }
    printf("snapshot saved: %s\n", cli->save_snapshot);
  }
  if (cli->test_transforms) {
    ngp_scene views;
    ngp_scene_options so;
    ngp_scene_options_default(&so);
    so.n_threads = threads;
    if (ngp_scene_load(cli->test_transforms, &so, &views, &err) != NGP_OK) {
      rc = fail(err.msg);
      goto done;
    }
    ngp_eval_result res;
    double t0 = now_seconds();
    ngp_status st = ngp_eval_views(&nerf, nerf.inference, &views, bg, spp, &res, &err);
    ngp_scene_free(&views);
    if (st != NGP_OK) {
      rc = fail(err.msg);
      goto done;
    }
    printf("test views: %d from %s, background %g,%g,%g, %d spp, %.1f s\n", res.n_views, cli->test_transforms,
           (double)bg[0], (double)bg[1], (double)bg[2], spp, now_seconds() - t0);
    printf("PSNR=%.3f [%.3f %.3f] SSIM=%.4f\n", res.psnr_mean, res.psnr_min, res.psnr_max, res.ssim_mean);
  }
  if (cli->screenshot_transforms) {
    if (!cli->screenshot_dir) {
      rc = fail("--screenshot-transforms needs --screenshot-dir");
      goto done;
    }
    rc = screenshots(cli, &nerf, bg, spp);
  }
done:
  if (have_scene) ngp_scene_free(&scene);
  if (have_model) ngp_nerf_free(&nerf);
  return rc;
}
