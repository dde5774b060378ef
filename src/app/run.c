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
#include "core/fs.h"
#include "core/progress.h"
#include "ngp/ngp.h"

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
    ngp_error err;
    if (ngp_session_step(s, &st, &err) != NGP_OK) {
      ngp_app_fail(err.msg); /* s->step_failed: ngp_cli_finish saves nothing */
      break;
    }
    done++;
    samples += st.n_samples_used;
    if (!st.skipped) loss_ema = loss_ema < 0.0f ? st.loss : 0.9f * loss_ema + 0.1f * st.loss;
    double now = ngp_seconds();
    el = now - t0;
    bool last = (n_steps >= 0 && i + 1 >= n_steps) || (seconds >= 0.0 && el >= seconds);
    if (ngp_train_line_due(tty, now - last_print) || last) {
      last_print = now;
      double remaining = -1.0;
      if (n_steps >= 0) remaining = el / (double)(i + 1) * (double)(n_steps - i - 1);
      if (seconds >= 0.0 && (remaining < 0.0 || seconds - el < remaining)) remaining = seconds - el;
      if (remaining < 0.0 && (n_steps >= 0 || seconds >= 0.0)) remaining = 0.0; /* the time ran out mid-step */
      ngp_train_line l = {
          (long)st.step + 1,    loss_ema,         st.n_rays, st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0,
          (double)samples / el, s->skipped_steps, el,        remaining};
      ngp_train_line_print(&l, tty);
    }
  }
  if (tty) fprintf(stderr, "\n");
  ngp_train_summary_print(done, ngp_seconds() - t0, (double)samples, threads, loss_ema, s->skipped_steps);
  return done;
}

static int save(ngp_session *s, const char *path) {
  ngp_error err;
  return ngp_session_save(s, path, &err) == NGP_OK ? NGP_EXIT_OK : ngp_app_fail(err.msg);
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
    return rc == NGP_EXIT_OK ? NGP_EXIT_INTERRUPTED : rc;
  }
  if (steps > 0 && s->skipped_steps == steps)
    return ngp_app_fail("training failed: every step had a non-finite loss or gradient (check the scene's poses and "
                        "the config's learning rate); no snapshot was written");
  if (cli->save_snapshot) rc = save(s, cli->save_snapshot); /* syncs the EMA weights first */
  if (rc != NGP_EXIT_OK) return rc;
  /* Renders from here on see the final weights, on the session's backend. */
  ngp_error err;
  if (ngp_session_refresh(s, &err) != NGP_OK) return ngp_app_fail(err.msg);
  if (cli->test_transforms) {
    ngp_eval_result res;
    if (ngp_session_evaluate(s, cli->test_transforms, &res, &err) != NGP_OK) return ngp_app_fail(err.msg);
  }
  if (cli->screenshot_transforms) {
    if (!cli->screenshot_dir) return ngp_app_fail("--screenshot-transforms needs --screenshot-dir");
    if (ngp_session_screenshots(s, cli->screenshot_transforms, cli->screenshot_dir, cli->width, cli->height, &err) !=
        NGP_OK)
      return ngp_app_fail(err.msg);
  }
  return NGP_EXIT_OK;
}

int ngp_cli_run(const ngp_cli *cli) {
  long n_steps = cli->n_steps;
  double seconds = cli->train_seconds;
  if (n_steps < 0 && seconds < 0.0) n_steps = cli->load_snapshot ? 0 : 35000; /* run.py's defaults */
  ngp_session s;
  ngp_app_catch_interrupts();
  ngp_session_opts so;
  ngp_app_session_opts(cli, n_steps != 0 || seconds > 0.0, &so);
  ngp_error err;
  if (ngp_session_open(&s, &so, &err) != NGP_OK) return ngp_app_fail(err.msg);
  long done = ngp_session_can_train(&s) ? train(&s, n_steps, seconds) : 0;
  int rc = ngp_cli_finish(cli, &s, done);
  ngp_session_close(&s);
  return rc;
}
