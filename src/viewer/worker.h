/* worker.h: the viewer's training thread and the handover of weights to the renderer.
 *
 * While it runs, the worker thread owns the session (engine/session.h: model, scene, backend): it
 * trains (ngp_session_step) when training is on, and saves snapshots when asked. After steps it
 * hands the weights to the renderer with ngp_backend_publish; the render (main) thread takes the
 * newest with ngp_backend_acquire when it starts a pass. The session is opened with
 * concurrent_render, so the backend keeps the renderer's copy apart and never makes the frame
 * loop wait for a step (backend.h).
 *
 * Control (training on or off, save requests, quit) and statistics go through `ctl_lock`, held
 * only for a few assignments by either side. */
#ifndef NGP_VIEWER_WORKER_H
#define NGP_VIEWER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "viewer/progressive.h"
#include "engine/mesh.h"
#include "engine/session.h"

typedef struct ngp_worker_stats {
  bool training;  /* training is on (steps run until it is turned off) */
  bool stepping;  /* the thread is in a step now */
  bool can_train; /* the session has a scene and a trainer, and no step has failed */
  bool failed;    /* a step failed (a device error, printed on stderr): training is over, as headless */
  int step;       /* training step (counting the snapshot's) */
  long steps_this_run;
  float loss_ema;       /* smoothed as the headless progress line does; < 0: no step yet */
  double samples_per_s; /* smoothed over steps */
  int skipped_steps;
  double samples_this_run; /* samples trained on (after early termination) this run */
  double train_seconds;    /* wall seconds spent in steps this run */
  char message[256];       /* the last save's result, "" if none */
  uint64_t message_serial; /* grows with each new message */
} ngp_worker_stats;

typedef struct ngp_worker {
  ngp_session *s;
  pthread_t thread;
  bool started;
  pthread_mutex_t ctl_lock;
  pthread_cond_t ctl_cv;
  /* Under ctl_lock. */
  bool quit, want_training, save_requested, mesh_requested;
  char save_path[4096];
  char mesh_path[4096];
  ngp_mesh_opts mesh_opts;
  long max_steps;     /* stop training after this many steps of this run; < 0: no limit */
  double max_seconds; /* stop after this much training time; < 0: no limit */
  ngp_worker_stats stats;
  bool progress_line; /* print training's progress line on stderr, as a headless run does */
  /* Set by the render thread when it starts a pass (ngp_worker_acquire), taken by the worker:
   * weights are handed over only when the renderer will use them. A handover copies every weight
   * (tens of MB for base.json), so at rest, when a pass takes seconds, this spares training
   * several copies a second. */
  atomic_bool render_wants;
  /* Worker thread only. */
  double last_publish, last_print;
  bool tty, printed; /* stderr is a terminal; a "\r" line is open on it */
  bool dirty;        /* steps since the last publication */
  double train_time; /* seconds spent in steps this run */
} ngp_worker;

/* Takes over a session opened with concurrent_render and starts the thread, training if `train`
 * (and the session can train). Returns false when the thread cannot be started. */
bool ngp_worker_start(ngp_worker *w, ngp_session *s, bool train, long max_steps, double max_seconds);
/* Training's progress line on stderr while the window is open (the headless format, core/progress.h);
 * call before ngp_worker_start's thread takes its first step, or at any time from the render thread. */
void ngp_worker_set_progress_line(ngp_worker *w, bool on);
/* Asks the thread to stop after its current step and joins it, ending its progress line. The
 * session belongs to the caller again. */
void ngp_worker_stop(ngp_worker *w);

void ngp_worker_set_training(ngp_worker *w, bool on);
/* Queues a snapshot save (ngp_session_save, atomic); the result appears in stats.message. */
void ngp_worker_request_save(ngp_worker *w, const char *path);
/* Queues a mesh (ngp_session_save_mesh on the training side's weights, atomic); training pauses
 * while it is made; the result appears in stats.message. */
void ngp_worker_request_mesh(ngp_worker *w, const char *path, const ngp_mesh_opts *o);
/* Copies the statistics; false (and *out untouched) if the lock was busy. */
bool ngp_worker_stats_get(ngp_worker *w, ngp_worker_stats *out);

/* Render thread: the newest published weights, if any (ngp_backend_acquire), into m. The acquire
 * callback of ngp_progressive_step (user = the worker). */
void ngp_worker_acquire(void *user, ngp_render_model *m);
/* Whether a generation newer than the acquired one waits (never blocks; false when unsure). */
bool ngp_worker_newer_pending(ngp_worker *w);

#endif
