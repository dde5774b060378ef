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

#include "app/app.h"
#include "core/clock.h"
#include "app/cli.h"
#include "app/outputs.h"
#include "core/fs.h"
#include "core/progress.h"
#include "engine/trainlog.h"
#include "ngp/ngp.h"

/* A step's numbers into the run's totals (none yet when st->step < 0). */
static void absorb(const ngp_step_stats *st, uint64_t *samples, float *loss_ema) {
  if (st->step < 0) return;
  *samples += st->n_samples_used;
  if (!st->skipped) *loss_ema = *loss_ema < 0.0f ? st->loss : 0.9f * *loss_ema + 0.1f * st->loss;
}

/* The last step's numbers when the backend reported them late (a device: ngp_session_last_stats);
 * false (the message printed, s->step_failed set) when the device failed. */
static bool absorb_last(ngp_session *s, ngp_step_stats *st, uint64_t *samples, float *loss_ema) {
  ngp_step_stats fin;
  ngp_error err;
  if (ngp_session_last_stats(s, &fin, &err) != NGP_OK) {
    ngp_app_fail(err.msg);
    s->step_failed = true;
    return false;
  }
  if (fin.step < 0) return true; /* train_step gave them */
  absorb(&fin, samples, loss_ema);
  *st = fin;
  return true;
}

/* Trains until the step count or the time budget is reached, or an interrupt arrives, printing
 * progress. Steps with a non-finite loss or gradient are skipped by the trainer and counted here.
 * A device backend reports each step's numbers one step late (st.step says which step they are
 * of): the progress lines show the latest known, and the last line and the summary wait for the
 * final step's own.
 * Stops at a failed step (s->step_failed), or when the log (may be NULL) cannot be written. Returns
 * the steps done. */
static long train(ngp_session *s, long n_steps, double seconds, ngp_train_log *log) {
  int threads = s->threads;
  bool tty = isatty(STDERR_FILENO);
  double t0 = ngp_seconds(), last_print = t0;
  uint64_t samples = 0;
  ngp_step_stats st = {0};
  float loss_ema = -1.0f;
  long done = 0;
  bool have_last = true; /* the last step's numbers are in */
  for (long i = 0;; i++) {
    double el = ngp_seconds() - t0;
    if ((n_steps >= 0 && i >= n_steps) || (seconds >= 0.0 && el >= seconds) || ngp_app_interrupted()) break;
    ngp_error err;
    if (ngp_session_step(s, &st, &err) != NGP_OK) {
      ngp_app_fail(err.msg); /* s->step_failed: ngp_cli_finish saves nothing */
      break;
    }
    done++;
    have_last = false;
    absorb(&st, &samples, &loss_ema);
    /* Rays that all miss the box train nothing, silently: say so once, early. */
    if (done == 16 && samples == 0)
      fprintf(stderr,
              "%sinstant-ngp: warning: 0 samples per ray in the first 16 steps: no ray hits the scene box; "
              "check aabb_scale, scale, offset and the camera poses (instant-ngp --info shows them)\n",
              tty ? "\n" : "");
    double now = ngp_seconds();
    el = now - t0;
    bool last = (n_steps >= 0 && i + 1 >= n_steps) || (seconds >= 0.0 && el >= seconds);
    if (last) {
      if (!absorb_last(s, &st, &samples, &loss_ema)) break;
      have_last = true;
    }
    if ((ngp_train_line_due(tty, now - last_print) && st.step >= 0) || last) { /* st.step < 0: no numbers yet */
      last_print = now;
      double remaining = -1.0;
      if (n_steps >= 0) remaining = el / (double)(i + 1) * (double)(n_steps - i - 1);
      if (seconds >= 0.0 && (remaining < 0.0 || seconds - el < remaining)) remaining = seconds - el;
      if (remaining < 0.0 && (n_steps >= 0 || seconds >= 0.0)) remaining = 0.0; /* the time ran out mid-step */
      double psnr = loss_ema > 0.0f ? -10.0 * log10((double)loss_ema) : 0.0;
      ngp_train_log_row row = {(long)st.step + 1,
                               el,
                               (double)loss_ema,
                               psnr,
                               st.n_rays,
                               (double)st.n_samples_used,
                               (double)samples / el,
                               (double)st.learning_rate,
                               s->skipped_steps};
      if (log && ngp_train_log_write(log, &row, &err) != NGP_OK) {
        ngp_app_fail(err.msg);
        s->step_failed = true; /* nothing is saved from a run whose log was lost */
        break;
      }
      ngp_train_line l = {
          (long)st.step + 1,    loss_ema,         st.n_rays, st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0,
          (double)samples / el, s->skipped_steps, el,        remaining};
      ngp_train_line_print(&l, tty);
    }
  }
  if (!have_last && !s->step_failed) (void)absorb_last(s, &st, &samples, &loss_ema); /* interrupted */
  if (tty) fprintf(stderr, "\n");
  ngp_train_summary_print(done, ngp_seconds() - t0, (double)samples, threads, loss_ema, s->skipped_steps);
  return done;
}

static int save(ngp_session *s, const char *path) {
  ngp_error err;
  return ngp_session_save(s, path, &err) == NGP_OK ? NGP_EXIT_OK : ngp_app_fail(err.msg);
}

/* An interrupt during a phase after training: what is complete stays (the snapshot was saved
 * before), the rest is skipped. */
static int interrupted_in(const char *phase, const ngp_cli *cli) {
  int sig = ngp_app_interrupted();
  printf("interrupted by %s during %s; %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM", phase,
         cli->save_snapshot ? "the snapshot was saved before" : "what was complete is kept");
  return NGP_EXIT_INTERRUPTED;
}

int ngp_cli_finish(const ngp_cli *cli, ngp_session *s, long steps) {
  if (s->step_failed) return NGP_EXIT_FAILURE; /* the error is printed; the weights are suspect */
  int rc = NGP_EXIT_OK;
  int sig = ngp_app_interrupted();
  if (sig) {
    printf("interrupted by %s after %ld step%s\n", sig == SIGINT ? "SIGINT" : "SIGTERM", steps, steps == 1 ? "" : "s");
    /* A fresh model interrupted before its first step holds nothing worth writing over a file. */
    if (cli->save_snapshot && (steps > 0 || cli->load_snapshot))
      rc = save(s, cli->save_snapshot);
    else if (cli->save_snapshot)
      printf("nothing trained yet: %s not written\n", cli->save_snapshot);
    else if (steps > 0)
      printf("nothing saved: the %ld step%s trained are lost; run with --save-snapshot FILE to keep a model when "
             "interrupted\n",
             steps, steps == 1 ? "" : "s");
    return rc == NGP_EXIT_OK ? NGP_EXIT_INTERRUPTED : rc;
  }
  /* A fresh model that trained no step (a time budget too short for one) holds nothing worth
   * writing over a file: the same rule as --n-steps 0 without a snapshot. */
  if (steps == 0 && !cli->load_snapshot && cli->save_snapshot)
    return ngp_app_fail("no training step fit in --train-seconds; the untrained model was not saved (nothing was "
                        "written); give more time or --n-steps");
  if (steps > 0 && s->skipped_steps == steps)
    return ngp_app_fail("training failed: every step had a non-finite loss or gradient (check the scene's poses and "
                        "the config's learning rate); no snapshot was written");
  if (cli->save_snapshot) rc = save(s, cli->save_snapshot); /* syncs the EMA weights first */
  if (rc != NGP_EXIT_OK) return rc;
  if (ngp_app_interrupted()) return interrupted_in("the save", cli);
  /* Renders from here on see the final weights, on the session's backend. */
  ngp_error err;
  if (ngp_session_refresh(s, &err) != NGP_OK) return ngp_app_fail(err.msg);
  if (cli->test_transforms) {
    ngp_eval_result res;
    if (ngp_session_evaluate(s, cli->test_transforms, &res, &err) != NGP_OK) return ngp_app_fail(err.msg);
    if (ngp_app_interrupted()) return interrupted_in("the test views", cli);
  }
  if (cli->screenshot_transforms) {
    if (!cli->screenshot_dir) return ngp_app_fail("--screenshot-transforms needs --screenshot-dir");
    if (ngp_session_screenshots(s, cli->screenshot_transforms, cli->screenshot_dir, cli->width, cli->height, &err) !=
        NGP_OK)
      return ngp_app_fail(err.msg);
    if (ngp_app_interrupted()) return interrupted_in("the screenshots", cli);
  }
  if (cli->save_mesh) {
    ngp_mesh_opts mo;
    ngp_app_mesh_opts(cli, &mo);
    ngp_status mst = ngp_session_save_mesh(s, cli->save_mesh, &mo, &err);
    if (ngp_app_interrupted()) return interrupted_in("the mesh", cli);
    if (mst != NGP_OK) return ngp_app_fail(err.msg);
  }
  if (ngp_cli_wants_video(cli)) return ngp_cli_video(cli, s);
  return NGP_EXIT_OK;
}

int ngp_cli_run(const ngp_cli *cli) {
  long n_steps = cli->n_steps;
  double seconds = cli->train_seconds;
  if (n_steps < 0 && seconds < 0.0) n_steps = cli->load_snapshot ? 0 : 35000; /* run.py's defaults */
  /* One rule for --n-steps 0 and --train-seconds 0: a new model that trains no step has nothing
   * to render or save (with a snapshot, both mean "render it as it is"). */
  if (!cli->load_snapshot && (n_steps == 0 || seconds == 0.0)) {
    fprintf(stderr,
            "instant-ngp: error: %s 0: a new model would train no step, so there is nothing to save or "
            "render; give steps (or seconds), or a snapshot to render with --load-snapshot\n"
            "instant-ngp: see 'instant-ngp --help'\n",
            n_steps == 0 ? "--n-steps" : "--train-seconds");
    return NGP_EXIT_USAGE;
  }
  ngp_session s;
  ngp_app_catch_interrupts();
  ngp_session_opts so;
  ngp_app_session_opts(cli, n_steps != 0 || seconds > 0.0, &so);
  ngp_error err;
  if (ngp_session_open(&s, &so, &err) != NGP_OK) return ngp_app_fail(err.msg);
  int out_rc = ngp_cli_check_overwrites(cli, &s);
  if (out_rc != NGP_EXIT_OK) {
    ngp_session_close(&s);
    return out_rc;
  }
  if (ngp_session_can_train(&s)) ngp_cli_say_unsaved(cli);
  ngp_train_log *log = NULL;
  if (cli->log && ngp_session_can_train(&s) && ngp_train_log_open(cli->log, &log, &err) != NGP_OK) {
    ngp_session_close(&s);
    return ngp_app_fail(err.msg);
  }
  long done = ngp_session_can_train(&s) ? train(&s, n_steps, seconds, log) : 0;
  if (log) {
    if (ngp_train_log_close(log, &err) != NGP_OK) {
      ngp_session_close(&s);
      return ngp_app_fail(err.msg);
    }
    printf("log saved: %s\n", cli->log);
  }
  int rc = ngp_cli_finish(cli, &s, done);
  ngp_session_close(&s);
  return rc;
}
