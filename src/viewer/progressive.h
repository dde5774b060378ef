/* progressive.h: the viewer's render scheduling, without GL: each frame renders for a time budget,
 * at reduced resolution while the camera moves and refining when it rests.
 *
 * Images are rendered at a divisor d of the target size (ceil(W/d) x ceil(H/d)). A new view gets
 * a "moving" pass at the smallest divisor that the measured throughput (pixels per second) can
 * render within one frame's budget; while the view stays, passes refine d -> d/2 -> ... -> the
 * final divisor (the user's render scale), each shown when complete, the previous one meanwhile.
 * Once the final level is shown, newer weights (training goes on) are rendered over it in place,
 * row by row ("refresh"), so the picture follows training without dropping resolution, unless a
 * refresh would take longer than refresh_render_s: then the newest weights come at a coarser level
 * (early in training, when images are slow and change fast). Weights
 * are taken only when a pass starts (through `acquire`), so every pass uses one model.
 *
 * A pass whose view went stale is dropped, except a moving pass already under way while the shown
 * image is stale too: it is finished first, so continuous motion always shows new frames (at most
 * one frame late) even when the throughput estimate was too optimistic. */
#ifndef NGP_VIEWER_PROGRESSIVE_H
#define NGP_VIEWER_PROGRESSIVE_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend.h"
#include "viewer/camera.h"

#define NGP_PROGRESSIVE_MAX_DIV 128

/* The model a pass renders: a backend and the generation of weights it renders (backend.h: the
 * one acquired last), which grows with each handover from training. */
typedef struct ngp_render_model {
  ngp_backend *backend;
  uint64_t generation; /* 0: no model (nothing is rendered) */
} ngp_render_model;

/* Called when a pass starts: updates *m to the newest model available (may leave it as it is);
 * ngp_progressive_acquire_backend does it with ngp_backend_acquire (user: unused). */
typedef void (*ngp_progressive_acquire_fn)(void *user, ngp_render_model *m);
void ngp_progressive_acquire_backend(void *user, ngp_render_model *m);

typedef struct ngp_progressive_view {
  ngp_camera cam;
  int width, height; /* target size in pixels (the framebuffer) */
  int final_div;     /* 1: full resolution; 2: half; ... (render scale) */
} ngp_progressive_view;

/* What a step changed in the shown image. */
typedef enum {
  NGP_SHOWN_SAME = 0,
  NGP_SHOWN_NEW = 1,  /* a new image (maybe another size): upload all of it */
  NGP_SHOWN_ROWS = 2, /* rows [row_begin, row_end) were re-rendered in place */
} ngp_shown_change;

typedef struct ngp_progressive {
  float bg[3];
  /* The session's near distance (ngp units, 0: from the scene box) and crop box (ngp units), as
   * headless renders take them (ngp_session_render_opts). */
  float near_distance;
  bool crop;
  float crop_min[3], crop_max[3];
  /* Refresh passes (newer weights over a finished image) take this fraction of a step's budget:
   * the picture follows training without taking the CPU from it. */
  double refresh_fraction;
  /* Render seconds (at the estimated throughput) that bringing newer weights onto the whole shown
   * image may take; 0: no limit. When a refresh at the shown level would take longer (early in
   * training the rays are long and a full image takes minutes on a CPU), the newest weights are
   * rendered at the coarsest level that fits instead, and the image refines from there whenever
   * the finer level fits: the picture follows training at the resolution the machine affords. */
  double refresh_render_s;
  double pixels_per_s; /* throughput estimate, smoothed over steps */
  int moving_div;      /* divisor of the last moving pass */
  /* The pass being rendered. */
  bool pass_active, pass_refresh, pass_moving;
  ngp_progressive_view pass_view;
  int pass_div, pass_w, pass_h, pass_next;
  uint64_t pass_generation;
  float *pass_rgb;
  size_t pass_cap; /* floats allocated */
  /* Where pass_rgb and shown_rgb live: host memory (images_device false), or the memory of
   * images_backend, which renders into them and writes them to the window (the display's pixel
   * buffer: no host copy). */
  ngp_backend *images_backend;
  bool images_device;
  /* The image shown (sRGB floats [h][w][3]). */
  bool shown_valid;
  ngp_progressive_view shown_view;
  int shown_div, shown_w, shown_h;
  uint64_t shown_generation;
  float *shown_rgb;
  size_t shown_cap;
  /* Statistics for the overlay. */
  double last_render_s; /* render time of the last step */
  long pixels_rendered; /* in all */
  /* The last render failure (the backend's message), and how many there were. */
  char error[1024];
  uint64_t error_serial;
} ngp_progressive;

void ngp_progressive_init(ngp_progressive *p, const float bg[3]);
void ngp_progressive_free(ngp_progressive *p);
/* Forgets every image (a new scene was loaded). */
void ngp_progressive_reset(ngp_progressive *p);
/* Frees the images and allocates the next ones in b's memory when device (after the display
 * attached b: ngp_backend_display_attach), else in host memory (b may be NULL). Call it with
 * (NULL, false) before b is destroyed. */
void ngp_progressive_set_images(ngp_progressive *p, ngp_backend *b, bool device);

/* Render options of a pass of w x h (the headless render of the same camera uses these). */
void ngp_progressive_render_opts(const ngp_progressive *p, int w, int h, ngp_render_opts *o);

/* One frame's rendering: works on passes for the view until `budget_s` seconds have passed (at
 * least one tile per step). m holds the model of the running pass; acquire may replace it when a
 * pass starts. Returns what changed in the shown image; for NGP_SHOWN_ROWS, *row_begin and
 * *row_end (both may be NULL otherwise). */
ngp_shown_change ngp_progressive_step(ngp_progressive *p, const ngp_progressive_view *view, ngp_render_model *m,
                                      ngp_progressive_acquire_fn acquire, void *user, double budget_s, int *row_begin,
                                      int *row_end);

/* True while a refresh pass runs (the caller may slow its frame rate down). */
bool ngp_progressive_refreshing(const ngp_progressive *p);

/* True when the shown image is the final level of this view with model generation `generation`
 * and nothing is left to render. */
bool ngp_progressive_refined(const ngp_progressive *p, const ngp_progressive_view *view, uint64_t generation);

/* Width and height of an image at divisor d of a target w x h. */
void ngp_progressive_level_size(int w, int h, int d, int *lw, int *lh);

#endif
