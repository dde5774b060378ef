/* session.h: what the headless run and the viewer share: a model (from a snapshot or a fresh
 * config), the scene it trains on, the backend's trainer, and saving. Everything prints its own
 * errors ("instant-ngp: error: ...") and returns an exit code (cli.h), so callers stay short. */
#ifndef NGP_APP_SESSION_H
#define NGP_APP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "nerf.h"
#include "snapshot.h"

typedef struct ngp_session {
  int threads;
  uint64_t seed;
  float bg[3];           /* sRGB background for renders and test references */
  int spp;
  ngp_backend_choice backend; /* the backend in use: NGP_BACKEND_CPU or NGP_BACKEND_CUDA */
  ngp_nerf nerf;
  bool have_model;
  ngp_scene scene;
  bool have_scene;
  ngp_trainer *trainer;  /* the CPU trainer; NULL without a scene or on the CUDA backend */
  struct ngp_cuda_trainer *cuda_trainer; /* the CUDA trainer (builds with NGP_HAVE_CUDA) */
  ngp_snapshot_meta meta;
  char config_label[1200];
  /* Steps whose loss or gradients were not finite: skipped, not applied (trainer counts them). */
  int skipped_steps;
  /* A step failed on the backend (printed then): training is over for this session, and
   * ngp_cli_finish saves and evaluates nothing. */
  bool step_failed;
} ngp_session;

/* Loads the snapshot and/or scene the command line names. With `train` false the scene's images
 * are not loaded unless the command line asks for steps. Prints what it loaded and the backend
 * it chose. Returns an exit code; on failure the session holds nothing. */
int ngp_session_open(ngp_session *s, const ngp_cli *cli, bool train);
/* Whether there is a scene and a trainer for it (on either backend), and no step has failed. */
bool ngp_session_can_train(const ngp_session *s);
/* One training step on the session's backend (requires ngp_session_can_train). Returns false
 * after printing the error when the backend failed (CUDA: out of device memory, a lost device),
 * and sets step_failed. */
bool ngp_session_step(ngp_session *s, ngp_step_stats *st);
/* Renders a camera with the session's backend and its inference weights (ngp_nerf_render's
 * arguments). Returns false after printing the error when the backend failed. */
bool ngp_session_render(ngp_session *s, const float *xform, const float focal[2], const float principal[2],
                        const ngp_lens *lens, const ngp_render_opts *o, float *rgb);
/* Brings nerf.inference up to date with the trainer's EMA weights (no-op without a trainer). */
void ngp_session_sync(ngp_session *s);
/* Syncs, creates the parent folder and saves atomically. Returns an exit code. */
int ngp_session_save(ngp_session *s, const char *path);
void ngp_session_close(ngp_session *s);

/* SIGINT and SIGTERM: the first sets a flag that training loops poll (stop after the current
 * step, save, exit 130); a second one removes any half-written temporary file and exits at once
 * with 130, leaving every existing file as it was. */
#define NGP_EXIT_INTERRUPTED 130
void ngp_app_catch_interrupts(void);
/* The signal that asked to stop (SIGINT, SIGTERM), or 0. */
int ngp_app_interrupted(void);

/* Prints "instant-ngp: error: MSG" on stderr and returns NGP_EXIT_FAILURE. */
int ngp_app_fail(const char *msg);

#endif
