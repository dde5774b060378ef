/* worker.h: the viewer's training thread and the handover of weights to the renderer.
 *
 * While it runs, the worker thread owns the session (ngp_session: model, scene, trainer): it
 * trains (ngp_session_step) when training is on, and saves snapshots when asked. After steps it
 * publishes the EMA weights and the occupancy bitfield into a mailbox buffer under `buf_lock`;
 * the render (main) thread swaps that buffer with its own front buffer when it starts a pass,
 * with a trylock, so the frame loop never waits for a step or a copy. Two buffers besides the
 * session's own arrays: `pending` (the mailbox) and `front` (the renderer's); a swap exchanges
 * pointers only. `view` is a copy of the session's ngp_nerf whose weight and bitfield pointers
 * name the front buffer: the layout fields it shares never change after the session is opened.
 *
 * Control (training on or off, save requests, quit) and statistics go through `ctl_lock`, held
 * only for a few assignments by either side. */
#ifndef NGP_VIEWER_WORKER_H
#define NGP_VIEWER_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "progressive.h"
#include "session.h"

typedef struct ngp_model_buffer {
  float *weights;    /* [n_params] */
  uint8_t *bitfield; /* [n_cascades * 128^3 / 8] */
  uint64_t generation;
  int step; /* training step of these weights */
} ngp_model_buffer;

typedef struct ngp_worker_stats {
  bool training;  /* training is on (steps run until it is turned off) */
  bool stepping;  /* the thread is in a step now */
  bool can_train; /* the session has a scene and a trainer, and no step has failed */
  bool failed;    /* a step failed (a CUDA error, printed on stderr): training is over, as headless */
  int step;       /* training step (counting the snapshot's) */
  long steps_this_run;
  float loss_ema;       /* smoothed as the headless progress line does; < 0: no step yet */
  double samples_per_s; /* smoothed over steps */
  int skipped_steps;
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
  bool quit, want_training, save_requested;
  char save_path[4096];
  long max_steps;     /* stop training after this many steps of this run; < 0: no limit */
  double max_seconds; /* stop after this much training time; < 0: no limit */
  ngp_worker_stats stats;
  /* The mailbox, under buf_lock. */
  pthread_mutex_t buf_lock;
  ngp_model_buffer pending;
  uint64_t published; /* generations handed over so far (worker side) */
  /* Render thread only. */
  ngp_model_buffer front;
  ngp_nerf view;
  /* Worker thread only. */
  double last_publish;
  bool dirty;        /* steps since the last publication */
  double train_time; /* seconds spent in steps this run */
} ngp_worker;

/* Takes over an opened session: allocates the buffers, publishes its current weights into the
 * front buffer (generation 1) and starts the thread, training if `train` (and there is a
 * trainer). Returns false (and leaves nothing allocated) when memory runs out. */
bool ngp_worker_start(ngp_worker *w, ngp_session *s, bool train, long max_steps, double max_seconds);
/* Asks the thread to stop after its current step and joins it; frees the buffers. The session
 * belongs to the caller again. */
void ngp_worker_stop(ngp_worker *w);

void ngp_worker_set_training(ngp_worker *w, bool on);
/* Queues a snapshot save (ngp_session_save, atomic); the result appears in stats.message. */
void ngp_worker_request_save(ngp_worker *w, const char *path);
/* Copies the statistics; false (and *out untouched) if the lock was busy. */
bool ngp_worker_stats_get(ngp_worker *w, ngp_worker_stats *out);

/* Render thread: swaps in the newest published weights, if any and the lock is free, and points
 * m at the front buffer. The acquire callback of ngp_progressive_step (user = the worker). */
void ngp_worker_acquire(void *user, ngp_render_model *m);
/* Whether a generation newer than the front buffer's waits in the mailbox (trylock; false when
 * busy). */
bool ngp_worker_newer_pending(ngp_worker *w);

#endif
