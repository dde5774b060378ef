/* viewer.h: the instant-ngp window: live training and a free camera (GLFW, OpenGL 3.3 core via
 * libepoxy). src/app/gui.c runs it for the command line; tests and the fps benchmark drive it
 * frame by frame and send it input through the same handlers the GLFW callbacks call.
 *
 *   ngp_viewer *v;
 *   char why[256];
 *   int rc = ngp_viewer_open(&v, &session_opts, &opts, why, sizeof why);  // NGP_VIEWER_UNAVAILABLE
 *   while (ngp_viewer_frame(v)) {}
 *   rc = ngp_viewer_close(v, finish, user);  // e.g. save, test views, screenshots; or NULL
 *
 * Threads: the calling thread owns the window, GL and the camera, and renders (budgeted,
 * progressive: progressive.h); a worker thread owns the session and trains (worker.h). Both go
 * through the session's backend (engine/backend.h): with --backend cuda the frames are rendered
 * on the device. The viewer depends on the engine only, never on the command line (src/app). */
#ifndef NGP_VIEWER_VIEWER_H
#define NGP_VIEWER_VIEWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "viewer/camera.h"
#include "engine/mesh.h"
#include "engine/session.h"

/* Exit codes of open and close: the program's own (0, 1, 130), and "no window here". */
enum { NGP_VIEWER_OK = 0, NGP_VIEWER_FAILED = 1, NGP_VIEWER_INTERRUPTED = 130, NGP_VIEWER_UNAVAILABLE = -1 };

typedef struct ngp_viewer ngp_viewer;

typedef struct ngp_viewer_opts {
  int width, height;          /* window size in screen units (default: --width/--height, else 1280x720) */
  int swap_interval;          /* 1: wait for vertical sync (default); 0: as fast as possible */
  double frame_time_s;        /* frame time to aim for; rendering gets what input, upload and drawing
                                 leave of it (default 1/30 s) */
  bool overlay;               /* the text overlay (Tab toggles it) */
  bool idle_wait;             /* sleep in glfwWaitEventsTimeout when nothing changes (default true) */
  const char *save_snapshot;  /* where Ctrl+S saves (default snapshot.ngp) */
  const char *screenshot_dir; /* where P saves (default .) */
  const char *save_mesh;      /* where M saves a mesh (default mesh.ply) */
  ngp_mesh_opts mesh;         /* M's grid and threshold (--marching-cubes-*) */
  bool transparent;           /* P saves RGBA, alpha the accumulated opacity (--background transparent) */
  long n_steps;               /* stop training after this many steps (< 0: no limit, the default) */
  double train_seconds;       /* ... or after this much training time (< 0: no limit) */
  int (*interrupted)(void);   /* polled each frame: non-zero closes the window, exit 130 (NULL: never) */
  bool terminal;              /* training's progress line on stderr while open, and on close the summary
                                 a headless run prints ("trained N steps in ..."); default false */
  /* Training's share of the machine. When training runs on every core (no core left for the
   * window), the frame loop is busy (rendering, drawing) for at most this fraction of the wall
   * time, sleeping the rest (input still handled): `share_rest` while the camera rests (default
   * 0.08), `share_moving` while it moves (default 1: while the user moves the camera, frames come
   * first, as fast as before). While limited, renders use `render_threads_training` host threads
   * (default 1). >= 1: no limit. With a core to spare, neither applies. */
  double share_rest, share_moving;
  int render_threads_training;
  /* Wall seconds in which newer weights should reach the whole picture while training (default
   * 2): early, when a full image is slow, the picture follows training at a lower resolution
   * (progressive.h, refresh_render_s). 0: always at full resolution. */
  double refresh_s;
} ngp_viewer_opts;

void ngp_viewer_opts_default(ngp_viewer_opts *o);

/* Opens the window, then the session `so` names (no scene nor snapshot: an empty window that takes
 * a dropped scene or snapshot; so->concurrent_render is set by the viewer). Returns NGP_VIEWER_OK
 * with *out set; NGP_VIEWER_UNAVAILABLE with `why` filled when no window could be opened (no
 * display, GLFW or GL failed; nothing printed); or NGP_VIEWER_FAILED after printing the session's
 * error. */
int ngp_viewer_open(ngp_viewer **out, const ngp_session_opts *so, const ngp_viewer_opts *opts, char *why,
                    size_t why_size);
/* One frame: input, camera, at most one frame time of rendering, upload, drawing, swap. Returns
 * false once the window should close (Esc, Ctrl+Q, the close button, an interrupt). */
bool ngp_viewer_frame(ngp_viewer *v);
/* What to do with the session once its training thread has stopped: `so` holds the scene and
 * snapshot last loaded (drops included), `steps` the steps trained since then. Returns an exit
 * code. The application saves --save-snapshot, evaluates --test-transforms and writes
 * screenshots, as headless runs and run.py after its GUI loop do. */
typedef int (*ngp_viewer_finish_fn)(void *user, const ngp_session_opts *so, ngp_session *s, long steps);
/* Stops training (joins the training thread), hides the window, calls `finish` on the session if
 * there is one and `finish` is not NULL, then closes the window and frees everything. Returns
 * finish's exit code; else 0, or 130 after an interrupt. */
int ngp_viewer_close(ngp_viewer *v, ngp_viewer_finish_fn finish, void *user);

/* Input, as GLFW reports it (GLFW_KEY_*, GLFW_PRESS/RELEASE/REPEAT, GLFW_MOD_*, window
 * coordinates). The GLFW callbacks call these; so do tests. */
void ngp_viewer_on_key(ngp_viewer *v, int key, int action, int mods);
void ngp_viewer_on_mouse_button(ngp_viewer *v, int button, int action, int mods);
void ngp_viewer_on_cursor(ngp_viewer *v, double x, double y);
void ngp_viewer_on_scroll(ngp_viewer *v, double dx, double dy);
/* Scene folders, transforms .json files and snapshots: loaded at the start of the next frame,
 * replacing the session (a scene and a snapshot dropped together load together). */
void ngp_viewer_on_drop(ngp_viewer *v, int count, const char **paths);

/* ---- For tests and benchmarks ------------------------------------------------------------------ */
const ngp_camera *ngp_viewer_camera(const ngp_viewer *v);
/* The window title as last set ("instant-ngp", then "instant-ngp - SCENE - step N ..."). */
const char *ngp_viewer_title(const ngp_viewer *v);
/* Training views of the session's scene (0 without one): camera-to-world poses in ngp units. */
int ngp_viewer_n_training_views(const ngp_viewer *v);
const float *ngp_viewer_training_view(const ngp_viewer *v, int i);
/* Whether a model is loaded, and whether the image on screen is the full-resolution render of
 * the current camera with the newest weights (nothing left to render). */
bool ngp_viewer_has_model(const ngp_viewer *v);
bool ngp_viewer_refined(ngp_viewer *v);
void ngp_viewer_set_training(ngp_viewer *v, bool on);
void ngp_viewer_set_overlay(ngp_viewer *v, bool on);
void ngp_viewer_framebuffer_size(const ngp_viewer *v, int *w, int *h);
/* Draws the current frame again without swapping and reads it back: rgb [h][w][3], top row
 * first, w x h the framebuffer size (rgb must hold that many pixels). False when memory ran out. */
bool ngp_viewer_read_pixels(ngp_viewer *v, uint8_t *rgb);
/* The render options and intrinsics the viewer uses for a w x h image of its camera, so a
 * headless render can reproduce the picture. */
void ngp_viewer_render_setup(const ngp_viewer *v, int w, int h, ngp_render_opts *o, float focal[2], float principal[2]);

typedef struct ngp_viewer_stats {
  double fps;             /* frames per second over the last second of frames */
  int render_w, render_h; /* size of the image on screen */
  int step;               /* training step */
  long steps_this_run;
  double samples_per_s;
  float loss_ema;
  bool training;             /* training is on (T) */
  bool stepping;             /* the training thread is in a step (it finishes one after T) */
  uint64_t model_generation; /* weights handed over to the renderer so far (1: the initial ones) */
  double samples_this_run;   /* samples trained on since the session opened */
  double train_seconds;      /* wall seconds the training thread spent in steps */
  bool throttled;            /* the frame loop gives training its share (share_rest / share_moving) */
  int shown_div;             /* the shown image's divisor of the window size (1: full resolution) */
  const char *backend;       /* the session's backend ("cpu", "cuda", ...); NULL without a session */
  const char *display;       /* how frames reach the window (display.h: ngp_display_path) */
} ngp_viewer_stats;
void ngp_viewer_get_stats(ngp_viewer *v, ngp_viewer_stats *st);

/* The key and mouse bindings, one per line, indented by two spaces (for --help). */
void ngp_viewer_print_controls(void);

#endif
