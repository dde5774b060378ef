/* engine/session.h: one run of the engine: a model (from a snapshot or a fresh config), the scene
 * it trains on, the backend that holds it, and what is made from it (snapshots, test views,
 * screenshots). The command line (src/app) and the viewer (src/viewer) both drive a session;
 * neither names a backend's own functions.
 *
 * Errors come back as a status and one line in err (the callers print them). What the session
 * loaded, chose and wrote is reported on stdout, one line each ("backend: ...", "scene: ...",
 * "snapshot saved: ..."), as the program's output. */
#ifndef NGP_ENGINE_SESSION_H
#define NGP_ENGINE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend.h"
#include "engine/eval.h"
#include "nerf/nerf.h"
#include "nerf/snapshot.h"

typedef struct ngp_session_opts {
  const char *scene;          /* scene folder or transforms .json; NULL: none (a snapshot renders alone) */
  const char *snapshot;       /* snapshot to start from; NULL: a fresh model from `config` */
  const char *config;         /* config file, or a name in the config folders (ngp_config_find); NULL: base.json */
  const char *backend;        /* "cpu", "cuda", "auto" (NULL) or a registered name (ngp_backend_choose) */
  int threads;                /* <= 0: all cores */
  uint64_t seed;              /* 1337 by default */
  float bg[3];                /* sRGB background for renders and test references (white by default) */
  int spp;                    /* samples per pixel of renders (1) */
  long batch_samples;         /* target samples per training step; <= 0: the default (2^18) */
  float grid_sample_fraction; /* occupancy-update samples against instant-ngp's; < 0: the backend's */
  int error_map;              /* rays drawn where the error is high: 1, 0, -1 the backend's (ngp_train_opts) */
  bool train;                 /* load the scene's images and make a trainer (false: the scene is ignored) */
  int holdout_every;          /* > 1: train on all frames but 0, N, 2N, ... (ngp_scene_options); 0: all */
  bool concurrent_render;     /* renders run on another thread than training (the viewer) */
  /* Renders made from the session (screenshots; test views always measure the shaded image). */
  ngp_render_mode render_mode;  /* shade (default), depth, normals, positions, cost */
  float near_distance;          /* ngp units; < 0 (default): renders start at the scene box, training keeps 0.1 */
  float exposure;               /* stops: linear colour x 2^exposure (shaded screenshots) */
  float sharpen;                /* unsharp-mask amount in [0, 1] (shaded screenshots) */
  bool crop;                    /* a crop box: renders (and meshes) see only what lies inside it */
  float crop_box[6];            /* min x, y, z, max x, y, z in scene (transforms.json) coordinates */
  const int *screenshot_frames; /* frames of the screenshot transforms to render; NULL: all */
  int n_screenshot_frames;
  const char *metrics_json; /* evaluation: per-view and mean PSNR and SSIM written here (NULL: none) */
  int (*stop)(void);        /* NULL, or asked between test views and screenshots: non-zero stops there */
  bool transparent;         /* screenshots: RGBA PNGs, alpha the accumulated opacity (--background transparent) */
} ngp_session_opts;

void ngp_session_opts_default(ngp_session_opts *o);

typedef struct ngp_session {
  ngp_session_opts opts; /* as opened (the strings are the caller's) */
  int threads;
  ngp_nerf nerf;
  bool have_model;
  ngp_scene scene;
  bool have_scene;
  ngp_backend *backend;
  ngp_snapshot_meta meta;
  char config_label[1200];
  /* Steps whose loss or gradients were not finite: skipped, not applied. */
  int skipped_steps;
  /* A step failed on the backend: training is over for this session, and nothing trained in it
   * is saved or evaluated. */
  bool step_failed;
  /* The backend's step whose numbers are the next to count (they may arrive a step late). */
  int stats_next;
} ngp_session;

/* Whether a model of this config can be made here: the grid within its index limits and the
 * parameters (with gradients and optimizer state to train) within the memory this process may
 * use. Errors name the config (label) and the fields to lower. */
ngp_status ngp_session_check_model(const ngp_config *cfg, const char *label, int aabb_scale, bool train,
                                   ngp_error *err);
/* Loads the snapshot and/or scene, chooses the backend and creates it over the model. Prints what
 * it loaded and the backend it chose, and why. On failure the session holds nothing. */
ngp_status ngp_session_open(ngp_session *s, const ngp_session_opts *o, ngp_error *err);
/* Whether there is a scene to train on and a backend that trains, and no step has failed. */
bool ngp_session_can_train(const ngp_session *s);
/* One training step (requires ngp_session_can_train). st may be NULL (then skipped steps are not
 * counted); else it gets the numbers of a step, on a device backend the previous one's (st->step
 * says which; -1: none yet; engine/backend.h train_step). On failure sets step_failed. */
ngp_status ngp_session_step(ngp_session *s, ngp_step_stats *st, ngp_error *err);
/* Waits for the backend's steps and writes the last one's numbers into st (st->step = -1 when
 * train_step already gave them, or before any step); counts them as ngp_session_step does, once.
 * Call it at the end of training, so that the last step's numbers are exact. */
ngp_status ngp_session_last_stats(ngp_session *s, ngp_step_stats *st, ngp_error *err);
/* The backend's EMA weights and occupancy grid into the host model (nerf.inference, nerf.occ), and
 * the last step's numbers into the snapshot's metadata (ngp_session_last_stats). */
ngp_status ngp_session_sync(ngp_session *s, ngp_error *err);
/* Hands the newest weights to the renderer and makes renders use them (publish + acquire): call
 * it before rendering outputs, with no other thread using the session. */
ngp_status ngp_session_refresh(ngp_session *s, ngp_error *err);
/* Syncs, creates the parent folder and saves atomically; prints "snapshot saved: PATH (step N)". */
ngp_status ngp_session_save(ngp_session *s, const char *path, ngp_error *err);
/* Renders a camera with the backend (the generation acquired last). */
ngp_status ngp_session_render(ngp_session *s, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                              ngp_error *err);
/* PSNR and SSIM of the current weights on the views of a transforms file (images loaded), rendered
 * by the backend at the session's background and spp; prints the two result lines. When opts.stop
 * asks to stop, returns NGP_OK with res->n_views below the count and prints what was done. */
ngp_status ngp_session_evaluate(ngp_session *s, const char *transforms, ngp_eval_result *res, ngp_error *err);
/* Renders every frame of a transforms file (images not needed) into dir as PNG, at the frame's
 * size or w x h when given (> 0; the field of view kept); prints a line per file. Frames whose
 * file names coincide (a/r_0 and b/r_0) get distinct names (r_0.png, r_0_2.png), never one file
 * written twice. When opts.stop asks to stop, ends after the file being written (each file is
 * complete) with NGP_OK, and prints how many were written. */
ngp_status ngp_session_screenshots(ngp_session *s, const char *transforms, const char *dir, int w, int h,
                                   ngp_error *err);
void ngp_session_close(ngp_session *s);
/* The crop box in ngp units (the renderer's and the density queries' coordinates); false when the
 * session has none. */
bool ngp_session_crop_ngp(const ngp_session *s, float min[3], float max[3]);
/* The render options of the session's renders at w x h: background, spp, mode, near distance and
 * crop box as opened; min_transmittance 1e-4 (as run.py's evaluation); seed as given. */
void ngp_session_render_opts(const ngp_session *s, int w, int h, uint64_t seed, ngp_render_opts *o);

/* 8-bit RGBA pixels [n][4] of a render: without alpha (NULL) rgb as it is, alpha 255; with alpha
 * (ngp_backend_render_alpha, rendered over bg) the colour unpremultiplied, (rgb - (1 - a) bg) / a,
 * and a: what a PNG with a transparent background holds. */
void ngp_rgba8_from_render(const float *rgb, const float *alpha, const float bg[3], size_t n, uint8_t *rgba);

/* Finds a config: the path as given, else NAME in the config folders (NGP_CONFIG_DIR, then the
 * installed share/instant-ngp/configs/nerf beside the executable). malloc'd; NULL if not found. */
char *ngp_config_find(const char *name);
/* configs/nerf/base.json, compiled into the library: the default config. */
extern const char ngp_default_config_json[];
extern const size_t ngp_default_config_json_len;

#endif
