/* run.c: what `instant-ngp` does without --info: load a scene and/or a snapshot, train for the
 * steps or the time asked, save a snapshot, evaluate on test views, write screenshots. Progress
 * goes to stderr: one updating line on a terminal, plain periodic lines otherwise. What follows the
 * training (ngp_cli_finish) is shared with the viewer, which calls it when its window closes. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "cli.h"
#include "eval.h"
#include "fs.h"
#include "nerf.h"
#include "ngp/ngp.h"
#include "session.h"
#include "snapshot.h"

static void format_duration(double s, char *buf, size_t n) {
  if (s < 60.0)
    snprintf(buf, n, "%.1fs", s);
  else if (s < 3600.0)
    snprintf(buf, n, "%dm%02ds", (int)(s / 60.0), (int)fmod(s, 60.0));
  else
    snprintf(buf, n, "%dh%02dm", (int)(s / 3600.0), (int)fmod(s / 60.0, 60.0));
}

/* Trains until the step count or the time budget is reached, or an interrupt arrives, printing
 * progress. Steps with a non-finite loss or gradient are skipped by the trainer and counted here.
 * Stops at a failed step (s->step_failed). Returns the steps done. */
static long train(ngp_session *s, long n_steps, double seconds) {
  int threads = s->threads;
  bool tty = isatty(STDERR_FILENO);
  double t0 = ngp_seconds(), last_print = t0;
  uint64_t samples = 0;
  ngp_step_stats st = {0};
  float loss_ema = -1.0f;
  long done = 0;
  for (long i = 0;; i++) {
    double el = ngp_seconds() - t0;
    if ((n_steps >= 0 && i >= n_steps) || (seconds >= 0.0 && el >= seconds) || ngp_app_interrupted()) break;
    if (!ngp_session_step(s, &st)) break;
    done++;
    samples += st.n_samples_used;
    if (!st.skipped) loss_ema = loss_ema < 0.0f ? st.loss : 0.9f * loss_ema + 0.1f * st.loss;
    double now = ngp_seconds();
    el = now - t0;
    bool last = (n_steps >= 0 && i + 1 >= n_steps) || (seconds >= 0.0 && el >= seconds);
    if (tty ? (now - last_print > 0.25 || last) : (now - last_print > 10.0 || last)) {
      last_print = now;
      double remaining = -1.0;
      if (n_steps >= 0) remaining = el / (double)(i + 1) * (double)(n_steps - i - 1);
      if (seconds >= 0.0 && (remaining < 0.0 || seconds - el < remaining)) remaining = seconds - el;
      char e[32], r[32] = "?", skipped[48] = "";
      format_duration(el, e, sizeof e);
      if (remaining >= 0.0) format_duration(remaining > 0.0 ? remaining : 0.0, r, sizeof r);
      if (s->skipped_steps) snprintf(skipped, sizeof skipped, " skipped %d", s->skipped_steps);
      double psnr = loss_ema > 0.0f ? -10.0 * log10((double)loss_ema) : 0.0;
      fprintf(stderr, "%sstep %ld loss %.5f psnr~%.2f rays %d samples/ray %.1f samples/s %.2fM%s elapsed %s remaining %s%s",
              tty ? "\r" : "", (long)st.step + 1, (double)loss_ema, psnr, st.n_rays,
              st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0, (double)samples / el / 1e6, skipped, e, r,
              tty ? "\033[K" : "\n");
    }
  }
  if (tty) fprintf(stderr, "\n");
  double el = ngp_seconds() - t0;
  printf("trained %ld steps in %.1f s (%.2fM samples/s on %d thread%s, final loss %.5f)\n", done, el,
         el > 0 ? (double)samples / el / 1e6 : 0.0, threads, threads == 1 ? "" : "s", (double)loss_ema);
  if (s->skipped_steps)
    printf("warning: %d of %ld steps skipped: their loss or gradients were not finite (NaN or infinity); the weights "
           "were left as they were\n",
           s->skipped_steps, done);
  return done;
}

static void screenshot_name(const char *dir, const char *file_path, char *out, size_t n) {
  const char *base = ngp_path_basename(file_path);
  bool has_ext = ngp_path_extension(base)[0] != '\0';
  snprintf(out, n, "%s/%s%s", dir, base, has_ext ? "" : ".png");
}

static int screenshots(const ngp_cli *cli, ngp_session *s) {
  const float *bg = s->bg;
  int spp = s->spp;
  ngp_scene cams;
  ngp_error err;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.load_images = false;
  so.keep_missing = true;
  so.n_threads = cli->threads;
  if (ngp_scene_load(cli->screenshot_transforms, &so, &cams, &err) != NGP_OK) return ngp_app_fail(err.msg);
  if (ngp_mkdir_p(cli->screenshot_dir, &err) != NGP_OK) {
    ngp_scene_free(&cams);
    return ngp_app_fail(err.msg);
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
      return ngp_app_fail("out of memory for a screenshot");
    }
    ngp_render_opts o = {w, h, {bg[0], bg[1], bg[2]}, 1e-4f, spp, (uint64_t)i};
    double t0 = ngp_seconds();
    bool rendered = ngp_session_render(s, f->xform, focal, f->principal, &f->lens, &o, rgb);
    double t_render = ngp_seconds() - t0;
    if (!rendered) {
      free(rgb);
      free(px);
      ngp_scene_free(&cams);
      return NGP_EXIT_FAILURE;
    }
    for (size_t p = 0; p < (size_t)w * (size_t)h; p++) {
      for (int c = 0; c < 3; c++) px[p * 4 + c] = (uint8_t)lrintf(rgb[p * 3 + c] * 255.0f);
      px[p * 4 + 3] = 255;
    }
    char path[4200];
    screenshot_name(cli->screenshot_dir, f->file_path, path, sizeof path);
    ngp_image img = {w, h, 4, px};
    if (ngp_image_write_png(path, &img, &err) != NGP_OK)
      rc = ngp_app_fail(err.msg);
    else
      printf("screenshot: %s (%dx%d, rendered in %.3f s)\n", path, w, h, t_render);
    free(rgb);
    free(px);
  }
  ngp_scene_free(&cams);
  return rc;
}

/* --test-transforms: PSNR and SSIM of the session's inference weights on the test views. */
static int test_views(const ngp_cli *cli, ngp_session *s) {
  ngp_error err;
  ngp_scene views;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = s->threads;
  if (ngp_scene_load(cli->test_transforms, &so, &views, &err) != NGP_OK) return ngp_app_fail(err.msg);
  ngp_eval_result res;
  double t0 = ngp_seconds();
  ngp_status st = ngp_eval_views(&s->nerf, s->nerf.inference, &views, s->bg, s->spp, &res, &err);
  ngp_scene_free(&views);
  if (st != NGP_OK) return ngp_app_fail(err.msg);
  printf("test views: %d from %s, background %g,%g,%g, %d spp, %.1f s\n", res.n_views, cli->test_transforms,
         (double)s->bg[0], (double)s->bg[1], (double)s->bg[2], s->spp, ngp_seconds() - t0);
  printf("PSNR=%.3f [%.3f %.3f] SSIM=%.4f\n", res.psnr_mean, res.psnr_min, res.psnr_max, res.ssim_mean);
  return NGP_EXIT_OK;
}

int ngp_cli_finish(const ngp_cli *cli, ngp_session *s, long steps) {
  if (s->step_failed) return NGP_EXIT_FAILURE; /* the error is printed; the weights are suspect */
  int rc = NGP_EXIT_OK;
  int sig = ngp_app_interrupted();
  if (sig) {
    printf("interrupted by %s after %ld step%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM", steps, steps == 1 ? "" : "s");
    /* A fresh model interrupted before its first step holds nothing worth writing over a file. */
    if (cli->save_snapshot && (steps > 0 || cli->load_snapshot))
      rc = ngp_session_save(s, cli->save_snapshot);
    else if (cli->save_snapshot)
      printf("nothing trained yet: %s not written\n", cli->save_snapshot);
    return rc == NGP_EXIT_OK ? NGP_EXIT_INTERRUPTED : rc;
  }
  if (steps > 0 && s->skipped_steps == steps)
    return ngp_app_fail("training failed: every step had a non-finite loss or gradient (check the scene's poses and "
                        "the config's learning rate); no snapshot was written");
  if (cli->save_snapshot)
    rc = ngp_session_save(s, cli->save_snapshot); /* syncs the EMA weights first */
  else
    ngp_session_sync(s);
  if (rc == NGP_EXIT_OK && cli->test_transforms) rc = test_views(cli, s);
  if (rc == NGP_EXIT_OK && cli->screenshot_transforms) {
    if (!cli->screenshot_dir) return ngp_app_fail("--screenshot-transforms needs --screenshot-dir");
    rc = screenshots(cli, s);
  }
  return rc;
}

int ngp_cli_run(const ngp_cli *cli) {
  long n_steps = cli->n_steps;
  double seconds = cli->train_seconds;
  if (n_steps < 0 && seconds < 0.0) n_steps = cli->load_snapshot ? 0 : 35000; /* run.py's defaults */
  ngp_session s;
  ngp_app_catch_interrupts();
  int rc = ngp_session_open(&s, cli, n_steps != 0 || seconds > 0.0);
  if (rc != NGP_EXIT_OK) return rc;
  long done = ngp_session_can_train(&s) ? train(&s, n_steps, seconds) : 0;
  rc = ngp_cli_finish(cli, &s, done);
  ngp_session_close(&s);
  return rc;
}
