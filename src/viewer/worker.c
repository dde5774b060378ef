/* worker.c: the training thread and the weight handover (see worker.h). */
#define _POSIX_C_SOURCE 200809L
#include "viewer/worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/progress.h"

/* Worker thread: the EMA weights to the renderer. */
static void publish(ngp_worker *w) {
  ngp_error err;
  if (ngp_backend_publish(w->s->backend, &err) != NGP_OK) fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
  w->last_publish = ngp_seconds();
  w->dirty = false;
}

/* Handovers cost a pass over the weights (EMA, copy): at most this often while training, and only
 * when the renderer has started a pass since the last one (render_wants). */
#define PUBLISH_INTERVAL_S 0.2

static void *worker_main(void *arg) {
  ngp_worker *w = arg;
  ngp_session *s = w->s;
  ngp_step_stats st;
  pthread_mutex_lock(&w->ctl_lock);
  for (;;) {
    bool can_train = ngp_session_can_train(s); /* false once a step has failed */
    while (!w->quit && !w->save_requested && !w->mesh_requested && !(w->want_training && can_train)) {
      if (w->dirty) { /* training paused: show its last weights */
        pthread_mutex_unlock(&w->ctl_lock);
        publish(w);
        pthread_mutex_lock(&w->ctl_lock);
        continue;
      }
      w->stats.stepping = false;
      pthread_cond_wait(&w->ctl_cv, &w->ctl_lock);
    }
    if (w->quit) break;
    if (w->save_requested) {
      char path[sizeof w->save_path];
      memcpy(path, w->save_path, sizeof path);
      w->save_requested = false;
      pthread_mutex_unlock(&w->ctl_lock);
      ngp_error err;
      ngp_status rc = ngp_session_save(s, path, &err); /* prints "snapshot saved: ..." */
      if (rc != NGP_OK) fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
      pthread_mutex_lock(&w->ctl_lock);
      snprintf(w->stats.message, sizeof w->stats.message,
               rc == NGP_OK ? "saved %s" : "saving %s failed (see the terminal)", path);
      w->stats.message_serial++;
      continue;
    }
    if (w->mesh_requested) {
      char path[sizeof w->mesh_path];
      memcpy(path, w->mesh_path, sizeof path);
      ngp_mesh_opts mo = w->mesh_opts;
      w->mesh_requested = false;
      pthread_mutex_unlock(&w->ctl_lock);
      /* This thread is the training side: the host model's EMA weights, not the renderer's. */
      mo.training_side = true;
      mo.progress = true;
      ngp_error err;
      ngp_status rc = ngp_session_save_mesh(s, path, &mo, &err); /* prints "mesh saved: ..." */
      if (rc != NGP_OK) fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
      pthread_mutex_lock(&w->ctl_lock);
      snprintf(w->stats.message, sizeof w->stats.message,
               rc == NGP_OK ? "saved %s" : "saving %s failed (see the terminal)", path);
      w->stats.message_serial++;
      continue;
    }
    w->stats.stepping = true;
    pthread_mutex_unlock(&w->ctl_lock);

    double t0 = ngp_seconds();
    ngp_error err;
    bool ok = ngp_session_step(s, &st, &err) == NGP_OK;
    if (!ok) fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
    double dt = ngp_seconds() - t0;
    w->dirty = true;

    pthread_mutex_lock(&w->ctl_lock);
    if (!ok) { /* as headless: no more steps (s->step_failed); on close ngp_cli_finish exits 1 */
      w->want_training = false;
      w->stats.failed = true;
      w->stats.can_train = false;
      snprintf(w->stats.message, sizeof w->stats.message, "training failed at step %d (see the terminal)",
               s->meta.training_step + 1);
      w->stats.message_serial++;
      continue;
    }
    w->train_time += dt;
    ngp_worker_stats *ws = &w->stats;
    ws->step = s->meta.training_step;
    ws->steps_this_run++;
    ws->skipped_steps = s->skipped_steps;
    /* A device backend reports a step's numbers one step late (st.step < 0: none yet); the panel
     * shows the latest known. */
    if (st.step >= 0 && !st.skipped)
      ws->loss_ema = ws->loss_ema < 0.0f ? st.loss : 0.9f * ws->loss_ema + 0.1f * st.loss;
    if (dt > 0.0 && st.step >= 0) {
      double rate = (double)st.n_samples_used / dt;
      ws->samples_per_s = ws->samples_per_s <= 0.0 ? rate : 0.8 * ws->samples_per_s + 0.2 * rate;
    }
    ws->samples_this_run += (double)st.n_samples_used;
    ws->train_seconds = w->train_time;
    if ((w->max_steps >= 0 && ws->steps_this_run >= w->max_steps) ||
        (w->max_seconds >= 0.0 && w->train_time >= w->max_seconds)) {
      w->want_training = false;
      snprintf(ws->message, sizeof ws->message, "training paused after %ld steps (T to go on)", ws->steps_this_run);
      ws->message_serial++;
    }
    bool due = ngp_seconds() - w->last_publish >= PUBLISH_INTERVAL_S && atomic_exchange(&w->render_wants, false);
    bool stopping = !w->want_training;
    if (w->progress_line && (ngp_train_line_due(w->tty, ngp_seconds() - w->last_print) || stopping)) {
      double remaining = -1.0;
      if (w->max_steps >= 0)
        remaining = w->train_time / (double)ws->steps_this_run * (double)(w->max_steps - ws->steps_this_run);
      if (w->max_seconds >= 0.0 && (remaining < 0.0 || w->max_seconds - w->train_time < remaining))
        remaining = w->max_seconds - w->train_time;
      if (remaining < 0.0 && (w->max_steps >= 0 || w->max_seconds >= 0.0)) remaining = 0.0; /* ran out mid-step */
      ngp_train_line l = {ws->step,
                          ws->loss_ema,
                          st.n_rays,
                          st.n_rays ? (double)st.n_samples_used / st.n_rays : 0.0,
                          w->train_time > 0.0 ? ws->samples_this_run / w->train_time : 0.0,
                          ws->skipped_steps,
                          w->train_time,
                          remaining < 0.0 ? -1.0 : remaining};
      ngp_train_line_print(&l, w->tty);
      w->printed = w->tty;
      w->last_print = ngp_seconds();
    }
    pthread_mutex_unlock(&w->ctl_lock);
    if (due) publish(w);
    pthread_mutex_lock(&w->ctl_lock);
  }
  w->stats.stepping = false;
  if (w->printed) fprintf(stderr, "\n"); /* the progress line stays, as a headless run's does */
  w->printed = false;
  pthread_mutex_unlock(&w->ctl_lock);
  return NULL;
}

bool ngp_worker_start(ngp_worker *w, ngp_session *s, bool train, long max_steps, double max_seconds) {
  memset(w, 0, sizeof *w);
  w->s = s;
  /* --n-steps 0 or --train-seconds 0: no step at all (the thread checks limits after a step). */
  w->want_training = train && ngp_session_can_train(s) && max_steps != 0 && max_seconds != 0.0;
  w->max_steps = max_steps;
  w->max_seconds = max_seconds;
  w->stats.can_train = ngp_session_can_train(s);
  w->stats.step = s->meta.training_step;
  w->stats.loss_ema = -1.0f;
  w->last_publish = w->last_print = ngp_seconds();
  atomic_init(&w->render_wants, true);
  w->tty = isatty(STDERR_FILENO);
  pthread_mutex_init(&w->ctl_lock, NULL);
  pthread_cond_init(&w->ctl_cv, NULL);
  if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
    pthread_mutex_destroy(&w->ctl_lock);
    pthread_cond_destroy(&w->ctl_cv);
    return false;
  }
  w->started = true;
  return true;
}

void ngp_worker_stop(ngp_worker *w) {
  if (!w->started) return;
  pthread_mutex_lock(&w->ctl_lock);
  w->quit = true;
  pthread_cond_signal(&w->ctl_cv);
  pthread_mutex_unlock(&w->ctl_lock);
  pthread_join(w->thread, NULL);
  pthread_mutex_destroy(&w->ctl_lock);
  pthread_cond_destroy(&w->ctl_cv);
  w->started = false;
}

void ngp_worker_set_progress_line(ngp_worker *w, bool on) {
  pthread_mutex_lock(&w->ctl_lock);
  w->progress_line = on;
  pthread_mutex_unlock(&w->ctl_lock);
}

void ngp_worker_set_training(ngp_worker *w, bool on) {
  pthread_mutex_lock(&w->ctl_lock);
  w->want_training = on && w->stats.can_train;
  if (w->want_training && w->max_steps >= 0 && w->stats.steps_this_run >= w->max_steps) w->max_steps = -1;
  if (w->want_training && w->max_seconds >= 0.0 && w->train_time >= w->max_seconds) w->max_seconds = -1.0;
  pthread_cond_signal(&w->ctl_cv);
  pthread_mutex_unlock(&w->ctl_lock);
}

void ngp_worker_request_save(ngp_worker *w, const char *path) {
  pthread_mutex_lock(&w->ctl_lock);
  snprintf(w->save_path, sizeof w->save_path, "%s", path);
  w->save_requested = true;
  pthread_cond_signal(&w->ctl_cv);
  pthread_mutex_unlock(&w->ctl_lock);
}

void ngp_worker_request_mesh(ngp_worker *w, const char *path, const ngp_mesh_opts *o) {
  pthread_mutex_lock(&w->ctl_lock);
  snprintf(w->mesh_path, sizeof w->mesh_path, "%s", path);
  w->mesh_opts = *o;
  w->mesh_requested = true;
  pthread_cond_signal(&w->ctl_cv);
  pthread_mutex_unlock(&w->ctl_lock);
}

bool ngp_worker_stats_get(ngp_worker *w, ngp_worker_stats *out) {
  if (pthread_mutex_trylock(&w->ctl_lock) != 0) return false;
  *out = w->stats;
  out->training = w->want_training && w->stats.can_train;
  pthread_mutex_unlock(&w->ctl_lock);
  return true;
}

void ngp_worker_acquire(void *user, ngp_render_model *m) {
  ngp_worker *w = user;
  m->backend = w->s->backend;
  m->generation = ngp_backend_acquire(w->s->backend);
  atomic_store(&w->render_wants, true); /* a pass starts: the next handover will be used */
}

bool ngp_worker_newer_pending(ngp_worker *w) { return ngp_backend_newer_pending(w->s->backend); }
