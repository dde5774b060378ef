/* viewer.c: the window and its frame loop (see viewer.h): GLFW window and callbacks, keys and
 * mouse, training views, snapshots and screenshots on request, the overlay, dropped files.
 *
 * A frame: events; the camera (flying keys); the worker's statistics (trylock); rendering for
 * what is left of the frame time after the rest of the previous frame (progressive.h); the
 * upload of what changed (display.h); drawing; swap. The frame never waits on the training
 * thread: weights and statistics are taken with trylocks when they are free. */
#define _POSIX_C_SOURCE 200809L
#include "core/clock.h"
#include "viewer/viewer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <epoxy/gl.h>
// epoxy before GLFW: GLFW then includes no GL header of its own.
#include <GLFW/glfw3.h>

#include "viewer/display.h"
#include "core/fs.h"
#include "engine/camera_path.h"
#include "core/parallel.h"
#include "core/progress.h"
#include "ngp/ngp.h"
#include "viewer/progressive.h"
#include "engine/session.h"
#include "viewer/worker.h"

enum { FLY_W, FLY_A, FLY_S, FLY_D, FLY_UP, FLY_DOWN, FLY_KEYS };
enum { FRAME_RING = 128 };
#define NGP_VIEWER_MAX_DIV 8

struct ngp_viewer {
  GLFWwindow *win;
  ngp_display disp;
  ngp_viewer_opts opts;
  ngp_session_opts so; /* the session asked for; scene and snapshot replaced by drops */
  char *own_scene, *own_snapshot;
  char label[256]; /* scene or snapshot name for the title and the overlay */
  ngp_session session;
  bool have_session;
  ngp_worker worker;
  bool have_worker;
  ngp_progressive prog;
  ngp_render_model model;
  /* Camera and training views. */
  ngp_camera cam, home;
  int n_views, current_view;
  float *view_xform;     /* [n_views][12] */
  float *view_rel_focal; /* [n_views] */
  float *view_principal; /* [n_views][2] */
  int final_div;         /* render scale 1/final_div */
  /* Input. */
  bool orbiting, panning, have_cursor;
  double cursor_x, cursor_y;
  bool fly[FLY_KEYS];
  char **drops;
  int n_drops;
  bool should_close;
  bool overlay;
  bool profile; /* NGP_VIEWER_PROFILE set: print frame timings */
  /* Frames and statistics. */
  double last_frame, overhead_s, last_title;
  double frame_end[FRAME_RING];
  long n_frames;
  bool idle;       /* nothing left to render */
  bool background; /* only refreshing the picture with newer weights */
  double frame_start;
  int fb_w, fb_h, win_w, win_h;
  ngp_worker_stats wstats;
  uint64_t seen_serial;
  char message[300];
  double message_until;
  char backend_desc[512]; /* the session's backend, one line */
  /* The camera path: K adds the view, Shift+K clears, L plays, Ctrl+P saves base_cam.json. */
  ngp_camera_path path;
  bool playing;
  double play_start;
  uint64_t seen_render_error;
  char title[300];
  /* Training's share (viewer.h: share_rest, share_moving). */
  int cores;             /* online processors */
  bool throttled;        /* this frame gave training its share */
  double throttle_until; /* the next frame starts no earlier */
  double last_busy;      /* seconds the last frame worked */
  double render_rate;    /* render seconds per wall second, smoothed */
  int render_threads;    /* as last set on the backend (0: as created) */
};

static char g_glfw_error[256];

static void on_glfw_error(int code, const char *desc) {
  snprintf(g_glfw_error, sizeof g_glfw_error, "%s (GLFW error 0x%x)", desc ? desc : "?", (unsigned)code);
}

/* The overlay's message line, for `seconds`: prefix and text joined. */
static void set_message(ngp_viewer *v, double seconds, const char *prefix, const char *text) {
  /* Joined by hand: a long path is cut, it is only shown. */
  size_t cap = sizeof v->message - 1, a = strlen(prefix), b = strlen(text);
  if (a > cap) a = cap;
  if (b > cap - a) b = cap - a;
  memcpy(v->message, prefix, a);
  memcpy(v->message + a, text, b);
  v->message[a + b] = '\0';
  v->message_until = ngp_seconds() + seconds;
}

/* ---- Session: open, close, training views ---------------------------------------------------- */

static void close_session(ngp_viewer *v) {
  if (v->have_worker) ngp_worker_stop(&v->worker);
  /* The images in the backend's memory and its hold on the pixel buffer go before it does. */
  glfwMakeContextCurrent(v->win);
  ngp_progressive_set_images(&v->prog, NULL, false);
  ngp_display_detach(&v->disp);
  if (v->have_session) ngp_session_close(&v->session);
  v->have_worker = v->have_session = false;
  free(v->view_xform);
  free(v->view_rel_focal);
  free(v->view_principal);
  v->view_xform = v->view_rel_focal = v->view_principal = NULL;
  v->n_views = v->current_view = 0;
  ngp_progressive_reset(&v->prog);
  ngp_display_clear_image(&v->disp);
  memset(&v->model, 0, sizeof v->model);
  memset(&v->wstats, 0, sizeof v->wstats);
  v->label[0] = '\0';
}

static void go_to_view(ngp_viewer *v, int i) {
  if (v->n_views == 0) return;
  i = i < 0 ? 0 : (i >= v->n_views ? v->n_views - 1 : i);
  static const float centre[3] = {0.5f, 0.5f, 0.5f};
  ngp_camera_set_pose(&v->cam, v->view_xform + (size_t)i * 12, v->view_rel_focal[i], v->view_principal + (size_t)i * 2,
                      centre);
  v->current_view = i;
}

static int fail(const char *msg) {
  fprintf(stderr, "instant-ngp: error: %s\n", msg);
  return NGP_VIEWER_FAILED;
}

static int open_session(ngp_viewer *v) {
  ngp_error err;
  if (ngp_session_open(&v->session, &v->so, &err) != NGP_OK) return fail(err.msg);
  v->have_session = true;
  ngp_session *s = &v->session;
  const char *name = v->so.scene ? v->so.scene : v->so.snapshot;
  snprintf(v->label, sizeof v->label, "%s", name ? ngp_path_basename(name) : "");
  if (v->label[0] == '\0' && name) snprintf(v->label, sizeof v->label, "%s", name); /* "dir/" */
  ngp_camera_init_default(&v->cam);
  if (s->have_scene && s->scene.n_frames > 0) {
    int n = s->scene.n_frames;
    v->view_xform = malloc((size_t)n * 12 * sizeof(float));
    v->view_rel_focal = malloc((size_t)n * sizeof(float));
    v->view_principal = malloc((size_t)n * 2 * sizeof(float));
    if (!v->view_xform || !v->view_rel_focal || !v->view_principal) {
      close_session(v);
      return fail("out of memory for the training views");
    }
    for (int i = 0; i < n; i++) {
      const ngp_frame *f = &s->scene.frames[i];
      memcpy(v->view_xform + (size_t)i * 12, f->xform, 12 * sizeof(float));
      v->view_rel_focal[i] = f->image.height > 0 ? f->focal[1] / (float)f->image.height : 1.0f;
      memcpy(v->view_principal + (size_t)i * 2, f->principal, 2 * sizeof(float));
    }
    v->n_views = n;
    ngp_camera_world_up(v->view_xform, n, 12, s->scene.has_up ? s->scene.up : NULL, v->cam.up);
    go_to_view(v, 0);
  }
  v->home = v->cam;
  /* The window sees what headless renders see: the near distance and the crop box. */
  v->prog.near_distance = v->so.near_distance > 0.0f ? v->so.near_distance : 0.0f;
  v->prog.crop = ngp_session_crop_ngp(s, v->prog.crop_min, v->prog.crop_max);
  /* Training starts at once on a fresh model; a loaded snapshot waits for T unless the command
   * line asks for steps (instant-ngp's GUI waits for --train). */
  bool train = v->so.snapshot == NULL || v->opts.n_steps > 0 || v->opts.train_seconds > 0.0;
  if (!ngp_worker_start(&v->worker, s, train, v->opts.n_steps, v->opts.train_seconds)) {
    close_session(v);
    return fail("the training thread could not be started");
  }
  v->have_worker = true;
  ngp_backend_describe(s->backend, v->backend_desc, sizeof v->backend_desc);
  /* Frames through a GL pixel buffer the backend writes, where it can reach this GL context
   * (display.h); else through host memory. */
  size_t bytes = (size_t)(v->fb_w > 0 ? v->fb_w : 1) * (size_t)(v->fb_h > 0 ? v->fb_h : 1) * 4;
  ngp_progressive_set_images(&v->prog, s->backend, ngp_display_attach(&v->disp, s->backend, bytes));
  ngp_worker_set_progress_line(&v->worker, v->opts.terminal);
  ngp_worker_acquire(&v->worker, &v->model);
  v->render_threads = 0;
  return NGP_VIEWER_OK;
}

/* Dropped paths: a snapshot (by its magic), and a scene (a folder or a .json). */
static void load_drops(ngp_viewer *v) {
  const char *scene = NULL, *snapshot = NULL;
  for (int i = 0; i < v->n_drops; i++) {
    const char *p = v->drops[i];
    if (ngp_path_is_file(p) && ngp_snapshot_is(p))
      snapshot = p;
    else if (ngp_path_is_dir(p) || strcmp(ngp_path_extension(p), ".json") == 0)
      scene = p;
    else
      set_message(v, 5.0, "not a scene or a snapshot: ", p);
  }
  if (scene || snapshot) {
    close_session(v);
    char *ns = scene ? ngp_strdup(scene) : NULL, *nsn = snapshot ? ngp_strdup(snapshot) : NULL;
    free(v->own_scene);
    free(v->own_snapshot);
    v->own_scene = ns;
    v->own_snapshot = nsn;
    v->so.scene = ns;
    v->so.snapshot = nsn;
    printf("loading %s%s%s\n", ns ? ns : "", ns && nsn ? " with " : "", nsn ? nsn : "");
    if (open_session(v) == NGP_VIEWER_OK)
      set_message(v, 4.0, "loaded ", v->label);
    else
      set_message(v, 8.0, "loading failed (see the terminal): ", scene ? scene : snapshot);
  }
  ngp_free_strings(v->drops, v->n_drops);
  v->drops = NULL;
  v->n_drops = 0;
}

/* ---- Actions ----------------------------------------------------------------------------------- */

static void save_snapshot(ngp_viewer *v) {
  if (!v->have_worker) {
    set_message(v, 4.0, "nothing to save: drop a scene or a snapshot first", "");
    return;
  }
  const char *path = v->opts.save_snapshot ? v->opts.save_snapshot : "snapshot.ngp";
  ngp_worker_request_save(&v->worker, path);
  set_message(v, 4.0, "saving ", path);
}

static void save_mesh(ngp_viewer *v) {
  if (!v->have_worker) {
    set_message(v, 4.0, "no mesh: drop a scene or a snapshot first", "");
    return;
  }
  const char *path = v->opts.save_mesh ? v->opts.save_mesh : "mesh.ply";
  ngp_worker_request_mesh(&v->worker, path, &v->opts.mesh);
  set_message(v, 8.0, "saving a mesh (see the terminal for its progress): ", path);
}

/* The picture on screen with its alpha (--background transparent): the shown view rendered
 * again at the shown size with the accumulated opacity, by the backend's render side (the
 * generation acquired last, as on screen). The frame waits for it. rgba [h][w][4]. */
static bool render_transparent(ngp_viewer *v, uint8_t *rgba, ngp_error *err) {
  int w = v->prog.shown_w, h = v->prog.shown_h;
  float *rgb = malloc((size_t)w * (size_t)h * 3 * sizeof(float)),
        *alpha = malloc((size_t)w * (size_t)h * sizeof(float));
  ngp_status st =
      rgb && alpha ? NGP_OK : ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for a %dx%d screenshot", w, h);
  if (st == NGP_OK) {
    ngp_render_opts o;
    float focal[2], principal[2];
    ngp_progressive_render_opts(&v->prog, w, h, &o);
    ngp_camera_intrinsics(&v->prog.shown_view.cam, w, h, focal, principal);
    ngp_render_camera cam = {v->prog.shown_view.cam.xform, {focal[0], focal[1]}, {principal[0], principal[1]}, NULL};
    st = ngp_backend_render_alpha(v->session.backend, &cam, &o, rgb, alpha, err);
    if (st == NGP_OK) ngp_rgba8_from_render(rgb, alpha, o.bg, (size_t)w * (size_t)h, rgba);
  }
  free(rgb);
  free(alpha);
  return st == NGP_OK;
}

static void save_screenshot(ngp_viewer *v) {
  if (v->disp.tex_w == 0) {
    set_message(v, 4.0, "no image to save yet", "");
    return;
  }
  const char *dir = v->opts.screenshot_dir ? v->opts.screenshot_dir : ".";
  char path[4200];
  for (int i = 0; i < 10000; i++) {
    snprintf(path, sizeof path, "%s/screenshot_%04d.png", dir, i);
    if (!ngp_path_exists(path)) break;
  }
  ngp_error err;
  if (!ngp_display_read_back(&v->disp)) {
    set_message(v, 4.0, "out of memory for a screenshot", "");
    return;
  }
  ngp_image img = {v->disp.tex_w, v->disp.tex_h, 4, v->disp.rgba};
  uint8_t *own = NULL;
  bool ok = true;
  if (v->opts.transparent && v->have_worker && v->prog.shown_valid) {
    own = malloc((size_t)v->prog.shown_w * (size_t)v->prog.shown_h * 4);
    if (own)
      ok = render_transparent(v, own, &err);
    else
      ok = ngp_error_set(&err, NGP_ERR_NOMEM, "out of memory for a screenshot") == NGP_OK;
    img = (ngp_image){v->prog.shown_w, v->prog.shown_h, 4, own};
  }
  if (!ok || ngp_mkdir_p(dir, &err) != NGP_OK || ngp_image_write_png(path, &img, &err) != NGP_OK) {
    fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
    set_message(v, 6.0, "screenshot failed: ", err.msg);
    free(own);
    return;
  }
  free(own);
  printf("screenshot saved: %s (%dx%d%s)\n", path, img.width, img.height, v->opts.transparent ? ", RGBA" : "");
  set_message(v, 4.0, "saved ", path);
}

/* ---- The camera path (K, Shift+K, L, Ctrl+P) ---------------------------------------------------- */

static float camera_fov_deg(const ngp_camera *c) { return 2.0f * atanf(0.5f / c->rel_focal) * 180.0f / 3.14159265f; }

static void path_add_view(ngp_viewer *v) {
  ngp_error err;
  if (ngp_camera_path_add(&v->path, v->cam.xform, camera_fov_deg(&v->cam), v->cam.distance, &err) != NGP_OK) {
    set_message(v, 4.0, err.msg, "");
    return;
  }
  char n[64];
  snprintf(n, sizeof n, "%d (L plays, Ctrl+P saves)", v->path.n_keys);
  set_message(v, 3.0, "camera path: keyframe ", n);
}

/* Seconds L takes to play the path: one per segment between keyframes. */
static double path_play_seconds(const ngp_viewer *v) {
  int segments = v->path.loop ? v->path.n_keys : v->path.n_keys - 1;
  return segments > 1 ? (double)segments : 1.0;
}

static void path_apply(ngp_viewer *v, double now) {
  double t = (now - v->play_start) / path_play_seconds(v);
  if (t >= 1.0) {
    if (v->path.loop) {
      t -= floor(t);
    } else {
      t = 1.0;
      v->playing = false;
    }
  }
  ngp_path_key k = ngp_camera_path_eval(&v->path, (float)t);
  ngp_path_key_to_xform(&k, v->cam.xform);
  v->cam.rel_focal = 0.5f / tanf(0.5f * k.fov * 3.14159265f / 180.0f);
  v->cam.distance = k.scale > 1e-3f ? k.scale : 1e-3f;
  for (int a = 0; a < 3; a++)
    v->cam.pivot[a] = v->cam.xform[a * 4 + 3] + v->cam.distance * v->cam.xform[a * 4 + 2];
}

static void path_save(ngp_viewer *v) {
  if (v->path.n_keys == 0) {
    set_message(v, 4.0, "no camera path to save: K adds the current view as a keyframe", "");
    return;
  }
  const char *dir = v->opts.screenshot_dir ? v->opts.screenshot_dir : ".";
  char path[4200];
  snprintf(path, sizeof path, "%s/base_cam.json", dir);
  ngp_error err;
  if (ngp_mkdir_p(dir, &err) != NGP_OK || ngp_camera_path_save(path, &v->path, &err) != NGP_OK) {
    fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
    set_message(v, 6.0, "camera path not saved: ", err.msg);
    return;
  }
  printf("camera path saved: %s (%d keyframes)\n", path, v->path.n_keys);
  set_message(v, 4.0, "saved ", path);
}

static bool is_fly_key(int key, int *slot) {
  switch (key) {
  case GLFW_KEY_W: *slot = FLY_W; return true;
  case GLFW_KEY_A: *slot = FLY_A; return true;
  case GLFW_KEY_S: *slot = FLY_S; return true;
  case GLFW_KEY_D: *slot = FLY_D; return true;
  case GLFW_KEY_SPACE: *slot = FLY_UP; return true;
  case GLFW_KEY_C: *slot = FLY_DOWN; return true;
  default: return false;
  }
}

void ngp_viewer_on_key(ngp_viewer *v, int key, int action, int mods) {
  bool ctrl = (mods & GLFW_MOD_CONTROL) != 0, shift = (mods & GLFW_MOD_SHIFT) != 0;
  int slot;
  if (is_fly_key(key, &slot)) {
    if (action == GLFW_RELEASE)
      v->fly[slot] = false;
    else if (!ctrl)
      v->fly[slot] = true;
  }
  if (action == GLFW_RELEASE) return;
  bool press = action == GLFW_PRESS;
  switch (key) {
  case GLFW_KEY_ESCAPE: v->should_close = true; break;
  case GLFW_KEY_Q:
    if (ctrl) v->should_close = true;
    break;
  case GLFW_KEY_T:
    if (press && v->have_worker) {
      bool on = !v->wstats.training;
      ngp_worker_set_training(&v->worker, on);
      v->wstats.training = on && v->wstats.can_train;
      if (!v->wstats.can_train)
        set_message(v, 4.0,
                    v->wstats.failed ? "no training: a step failed (see the terminal)"
                                     : "no training: this session has no scene to train on",
                    "");
    }
    break;
  case GLFW_KEY_LEFT_BRACKET: go_to_view(v, shift ? 0 : v->current_view - 1); break;
  case GLFW_KEY_RIGHT_BRACKET: go_to_view(v, shift ? v->n_views - 1 : v->current_view + 1); break;
  case GLFW_KEY_R:
    if (shift) {
      v->cam = v->home;
      v->current_view = 0;
    }
    break;
  case GLFW_KEY_S:
    if (ctrl && press) save_snapshot(v);
    break;
  case GLFW_KEY_P:
    if (press && ctrl)
      path_save(v);
    else if (press)
      save_screenshot(v);
    break;
  case GLFW_KEY_K:
    if (press && shift) {
      ngp_camera_path_clear(&v->path);
      v->playing = false;
      set_message(v, 3.0, "camera path cleared", "");
    } else if (press) {
      path_add_view(v);
    }
    break;
  case GLFW_KEY_L:
    if (press && v->path.n_keys == 0) {
      set_message(v, 4.0, "no camera path to play: K adds the current view as a keyframe", "");
    } else if (press) {
      v->playing = !v->playing;
      v->play_start = ngp_seconds();
    }
    break;
  case GLFW_KEY_M:
    if (press) save_mesh(v);
    break;
  case GLFW_KEY_EQUAL:
  case GLFW_KEY_KP_ADD:
    if (v->final_div > 1) v->final_div--;
    break;
  case GLFW_KEY_MINUS:
  case GLFW_KEY_KP_SUBTRACT:
    if (v->final_div < NGP_VIEWER_MAX_DIV) v->final_div++;
    break;
  case GLFW_KEY_TAB:
    if (press) v->overlay = !v->overlay;
    break;
  default: break;
  }
}

void ngp_viewer_on_mouse_button(ngp_viewer *v, int button, int action, int mods) {
  (void)mods;
  bool down = action == GLFW_PRESS;
  if (button == GLFW_MOUSE_BUTTON_LEFT) v->orbiting = down;
  if (button == GLFW_MOUSE_BUTTON_RIGHT || button == GLFW_MOUSE_BUTTON_MIDDLE) v->panning = down;
}

void ngp_viewer_on_cursor(ngp_viewer *v, double x, double y) {
  if (v->have_cursor) {
    float dx = (float)(x - v->cursor_x), dy = (float)(y - v->cursor_y);
    if (v->orbiting)
      ngp_camera_orbit(&v->cam, dx, dy);
    else if (v->panning)
      ngp_camera_pan(&v->cam, dx, dy, v->win_h);
  }
  v->cursor_x = x;
  v->cursor_y = y;
  v->have_cursor = true;
}

void ngp_viewer_on_scroll(ngp_viewer *v, double dx, double dy) {
  (void)dx;
  ngp_camera_zoom(&v->cam, (float)dy);
}

void ngp_viewer_on_drop(ngp_viewer *v, int count, const char **paths) {
  for (int i = 0; i < count; i++) {
    char **grown = realloc(v->drops, (size_t)(v->n_drops + 1) * sizeof *grown);
    char *p = ngp_strdup(paths[i]);
    if (!grown || !p) {
      free(p);
      if (grown) v->drops = grown;
      return;
    }
    v->drops = grown;
    v->drops[v->n_drops++] = p;
  }
}

/* GLFW callbacks: the window's user pointer is the viewer. */
static void cb_key(GLFWwindow *w, int key, int scancode, int action, int mods) {
  (void)scancode;
  ngp_viewer_on_key(glfwGetWindowUserPointer(w), key, action, mods);
}
static void cb_button(GLFWwindow *w, int button, int action, int mods) {
  ngp_viewer_on_mouse_button(glfwGetWindowUserPointer(w), button, action, mods);
}
static void cb_cursor(GLFWwindow *w, double x, double y) { ngp_viewer_on_cursor(glfwGetWindowUserPointer(w), x, y); }
static void cb_scroll(GLFWwindow *w, double dx, double dy) {
  ngp_viewer_on_scroll(glfwGetWindowUserPointer(w), dx, dy);
}
static void cb_drop(GLFWwindow *w, int count, const char **paths) {
  ngp_viewer_on_drop(glfwGetWindowUserPointer(w), count, paths);
}

/* ---- Open, frame, close ------------------------------------------------------------------------ */

void ngp_viewer_opts_default(ngp_viewer_opts *o) {
  memset(o, 0, sizeof *o);
  o->width = 1280;
  o->height = 720;
  o->n_steps = -1;
  o->train_seconds = -1.0;
  o->swap_interval = 1;
  o->frame_time_s = 1.0 / 30.0;
  o->overlay = true;
  o->idle_wait = true;
  ngp_mesh_opts_default(&o->mesh);
  o->share_rest = 0.08;
  o->share_moving = 1.0;
  o->render_threads_training = 1;
  o->refresh_s = 2.0;
}

int ngp_viewer_open(ngp_viewer **out, const ngp_session_opts *so, const ngp_viewer_opts *opts, char *why,
                    size_t why_size) {
  *out = NULL;
  const char *x11 = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
  if ((!x11 || !*x11) && (!wl || !*wl)) {
    snprintf(why, why_size, "no display: DISPLAY and WAYLAND_DISPLAY are not set");
    return NGP_VIEWER_UNAVAILABLE;
  }
  g_glfw_error[0] = '\0';
  glfwSetErrorCallback(on_glfw_error);
  if (!glfwInit()) {
    snprintf(why, why_size, "GLFW could not start: %s", g_glfw_error[0] ? g_glfw_error : "unknown error");
    return NGP_VIEWER_UNAVAILABLE;
  }
  ngp_viewer_opts o;
  if (opts)
    o = *opts;
  else
    ngp_viewer_opts_default(&o);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 3);
  glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 3);
  glfwWindowHint(GLFW_OPENGL_PROFILE, GLFW_OPENGL_CORE_PROFILE);
  glfwWindowHint(GLFW_OPENGL_FORWARD_COMPAT, GLFW_TRUE);
  GLFWwindow *win = glfwCreateWindow(o.width, o.height, "instant-ngp", NULL, NULL);
  if (!win) {
    snprintf(why, why_size, "no OpenGL 3.3 core window: %s", g_glfw_error[0] ? g_glfw_error : "unknown error");
    glfwTerminate();
    return NGP_VIEWER_UNAVAILABLE;
  }
  glfwMakeContextCurrent(win);
  glfwSwapInterval(o.swap_interval);
  ngp_viewer *v = calloc(1, sizeof *v);
  char err[600];
  if (!v || !ngp_display_init(&v->disp, err, sizeof err)) {
    snprintf(why, why_size, "%s", v ? err : "out of memory");
    free(v);
    glfwDestroyWindow(win);
    glfwTerminate();
    return NGP_VIEWER_UNAVAILABLE;
  }
  v->win = win;
  snprintf(v->title, sizeof v->title, "instant-ngp");
  v->opts = o;
  v->so = *so;
  v->so.concurrent_render = true; /* the worker trains while this thread renders */
  v->overlay = o.overlay;
  v->profile = getenv("NGP_VIEWER_PROFILE") != NULL;
  v->final_div = 1;
  v->cores = ngp_cpu_count();
  ngp_camera_init_default(&v->cam);
  v->home = v->cam;
  ngp_camera_path_init(&v->path);
  ngp_progressive_init(&v->prog, so->bg);
  glfwSetWindowUserPointer(win, v);
  glfwSetKeyCallback(win, cb_key);
  glfwSetMouseButtonCallback(win, cb_button);
  glfwSetCursorPosCallback(win, cb_cursor);
  glfwSetScrollCallback(win, cb_scroll);
  glfwSetDropCallback(win, cb_drop);
  glfwGetFramebufferSize(win, &v->fb_w, &v->fb_h);
  glfwGetWindowSize(win, &v->win_w, &v->win_h);
  printf("viewer: %dx%d window, OpenGL %s (%s)\n", v->fb_w, v->fb_h, (const char *)glGetString(GL_VERSION),
         (const char *)glGetString(GL_RENDERER));
  if (so->scene || so->snapshot) {
    int rc = open_session(v);
    if (rc != NGP_VIEWER_OK) {
      ngp_viewer_close(v, NULL, NULL);
      return rc;
    }
  } else {
    set_message(v, 1e9, "drop a scene folder, a transforms .json or a snapshot here", "");
  }
  v->last_frame = ngp_seconds();
  *out = v;
  return NGP_VIEWER_OK;
}

/* Frames per second over the frames that ended within the last second. */
static double frames_per_second(const ngp_viewer *v) {
  long n = v->n_frames < FRAME_RING ? v->n_frames : FRAME_RING;
  if (n < 2) return 0.0;
  double last = v->frame_end[(v->n_frames - 1) % FRAME_RING], first = last;
  long k = 1;
  for (; k < n; k++) {
    double t = v->frame_end[(v->n_frames - 1 - k) % FRAME_RING];
    if (last - t > 1.0) break;
    first = t;
  }
  return last > first ? (double)(k - 1) / (last - first) : 0.0;
}

static void build_overlay(ngp_viewer *v, double now) {
  char text[1600];
  size_t n = 0;
#define ADD(...) n += (size_t)snprintf(text + n, n < sizeof text ? sizeof text - n : 0, __VA_ARGS__)
  ADD("instant-ngp %s  %s\n", ngp_version(), v->label);
  if (v->have_session) {
    const ngp_worker_stats *w = &v->wstats;
    ADD("backend %s (%s), %s\n", ngp_backend_name(v->session.backend), v->backend_desc,
        w->failed       ? "training failed (see the terminal)"
        : !w->can_train ? "no training (snapshot only)"
                        : (w->training ? "training" : "paused (T)"));
    if (w->loss_ema >= 0.0f)
      ADD("step %d  loss %.5f  psnr~%.2f  %.2fM samples/s\n", w->step, (double)w->loss_ema,
          w->loss_ema > 0.0f ? -10.0 * log10((double)w->loss_ema) : 0.0, w->samples_per_s / 1e6);
    else
      ADD("step %d\n", w->step);
    ADD("frames: rendered by %s, shown through %s\n", ngp_backend_name(v->session.backend), ngp_display_path(&v->disp));
    ngp_progressive_view pv = {v->cam, v->fb_w, v->fb_h, v->final_div};
    bool refined = ngp_progressive_refined(&v->prog, &pv, v->model.generation);
    ADD("%.1f fps  image %dx%d of %dx%d (scale 1/%d)%s\n", frames_per_second(v), v->prog.shown_w, v->prog.shown_h,
        v->fb_w, v->fb_h, v->final_div, refined ? "" : "  refining");
  }
  if (v->message[0] && now < v->message_until) ADD("%s\n", v->message);
  ADD("drag: L orbit, R/M pan; wheel zoom; WASD Space C fly\n"
      "T train  [ ] views  Shift+R reset  Ctrl+S save  P shot\n"
      "+ - scale  Tab overlay  Esc quit");
#undef ADD
  float scale = v->fb_h >= 1400 ? 3.0f : 2.0f;
  ngp_display_text(&v->disp, text, scale);
}

static void update_title(ngp_viewer *v) {
  char t[300];
  if (v->have_session)
    snprintf(t, sizeof t, "instant-ngp - %s - step %d%s", v->label, v->wstats.step,
             v->wstats.training ? " (training)" : "");
  else
    snprintf(t, sizeof t, "instant-ngp");
  if (strcmp(t, v->title) != 0) {
    memcpy(v->title, t, sizeof t);
    glfwSetWindowTitle(v->win, t);
  }
}

static bool fly_keys_down(const ngp_viewer *v) {
  for (int k = 0; k < FLY_KEYS; k++)
    if (v->fly[k]) return true;
  return false;
}

bool ngp_viewer_frame(ngp_viewer *v) {
  /* Training's share: no frame before the previous one's share of the wall time is over; input
   * is still handled meanwhile (and may ask to close). */
  for (double t = ngp_seconds(); t < v->throttle_until && !v->should_close; t = ngp_seconds()) {
    glfwWaitEventsTimeout(v->throttle_until - t);
    if (glfwWindowShouldClose(v->win)) break;
    if (v->orbiting || v->panning || fly_keys_down(v)) { /* input began: the moving share from now */
      double end = v->frame_end[(v->n_frames - 1) % FRAME_RING];
      double until = end + v->last_busy * (1.0 / v->opts.share_moving - 1.0);
      if (until < v->throttle_until) v->throttle_until = until;
    }
  }
  double t0 = ngp_seconds();
  /* Idle (nothing to render): sleep until an event, or 50 ms to look for new weights. While the
   * picture only follows training (refresh), frames come at the target rate, not faster; input
   * wakes the loop at once either way. */
  double wait = v->idle ? 0.05 : (v->background ? v->opts.frame_time_s - (t0 - v->frame_start) : 0.0);
  v->frame_start = t0;
  if (v->opts.idle_wait && wait > 0.0)
    glfwWaitEventsTimeout(wait);
  else
    glfwPollEvents();
  if (glfwWindowShouldClose(v->win) || v->should_close || (v->opts.interrupted && v->opts.interrupted())) return false;
  double t_busy = ngp_seconds(); /* from here on the frame works */
  if (v->n_drops) load_drops(v);
  double now = ngp_seconds(), dt = now - v->last_frame;
  v->last_frame = now;
  if (dt > 0.25) dt = 0.25; /* after a stall, do not jump */
  float fwd = (float)v->fly[FLY_W] - (float)v->fly[FLY_S], right = (float)v->fly[FLY_D] - (float)v->fly[FLY_A],
        up = (float)v->fly[FLY_UP] - (float)v->fly[FLY_DOWN];
  bool flying = fwd != 0.0f || right != 0.0f || up != 0.0f;
  if (flying) ngp_camera_fly(&v->cam, fwd, right, up, 0.5f * v->cam.distance, (float)dt);
  if (v->playing) path_apply(v, now);
  glfwGetFramebufferSize(v->win, &v->fb_w, &v->fb_h);
  glfwGetWindowSize(v->win, &v->win_w, &v->win_h);
  if (v->have_worker) {
    ngp_worker_stats_get(&v->worker, &v->wstats);
    if (v->wstats.message_serial != v->seen_serial) {
      v->seen_serial = v->wstats.message_serial;
      set_message(v, 5.0, v->wstats.message, "");
    }
  }
  /* Training on every core: renders take fewer threads, the frame loop a share of the time, and
   * newer weights reach the picture at the resolution that share affords (viewer.h). */
  bool moving = flying || v->orbiting || v->panning;
  v->throttled = v->have_worker && v->wstats.training && v->cores <= v->session.threads;
  double share = !v->throttled ? 1.0 : (moving ? v->opts.share_moving : v->opts.share_rest);
  if (share >= 1.0) v->throttled = false;
  int want_threads = v->throttled ? v->opts.render_threads_training : 0;
  if (v->have_worker && want_threads != v->render_threads) {
    ngp_backend_set_render_threads(v->session.backend, want_threads);
    v->render_threads = want_threads;
  }
  v->prog.refresh_fraction = v->throttled ? 1.0 : 0.4; /* the share already bounds refreshes */
  v->prog.refresh_render_s =
      v->have_worker && v->wstats.training && v->opts.refresh_s > 0.0 ? v->opts.refresh_s * v->render_rate : 0.0;
  /* Rendering gets the frame time that the rest of the frame (measured) leaves. */
  double budget = v->opts.frame_time_s - v->overhead_s;
  if (budget < 0.25 * v->opts.frame_time_s) budget = 0.25 * v->opts.frame_time_s;
  double r0 = ngp_seconds(), render_s = 0.0;
  bool refined = true;
  if (v->have_worker && v->fb_w > 0 && v->fb_h > 0) {
    ngp_progressive_view pv = {v->cam, v->fb_w, v->fb_h, v->final_div};
    int rb = 0, re = 0;
    ngp_shown_change ch =
        ngp_progressive_step(&v->prog, &pv, &v->model, ngp_worker_acquire, &v->worker, budget, &rb, &re);
    render_s = ngp_seconds() - r0;
    if (ch == NGP_SHOWN_NEW) {
      rb = 0;
      re = v->prog.shown_h;
    }
    if (ch != NGP_SHOWN_SAME && !v->prog.images_device) {
      ngp_display_upload(&v->disp, v->prog.shown_rgb, v->prog.shown_w, v->prog.shown_h, rb, re);
    } else if (ch != NGP_SHOWN_SAME) {
      ngp_error err;
      if (!ngp_display_upload_image(&v->disp, v->prog.shown_rgb, v->prog.shown_w, v->prog.shown_h, rb, re, &err))
        set_message(v, 6.0, "showing the frame failed: ", err.msg);
    }
    refined = ngp_progressive_refined(&v->prog, &pv, v->model.generation) && !ngp_worker_newer_pending(&v->worker);
    v->background = ngp_progressive_refreshing(&v->prog);
    if (v->prog.error_serial != v->seen_render_error) { /* a failed render: said once, shown a while */
      if (v->seen_render_error == 0) fprintf(stderr, "instant-ngp: error: %s\n", v->prog.error);
      v->seen_render_error = v->prog.error_serial;
      set_message(v, 6.0, "render failed: ", v->prog.error);
    }
  }
  if (v->overlay) build_overlay(v, ngp_seconds());
  if (ngp_seconds() - v->last_title > 0.5) {
    update_title(v);
    v->last_title = ngp_seconds();
  }
  double td0 = ngp_seconds();
  ngp_display_draw(&v->disp, v->fb_w, v->fb_h, v->overlay);
  double td1 = ngp_seconds();
  glfwSwapBuffers(v->win);
  double t1 = ngp_seconds();
  if (v->profile) /* NGP_VIEWER_PROFILE=1: where each frame's time goes, one line per frame */
    fprintf(stderr,
            "frame: events %.1f ms, render %.1f ms (budget %.1f), upload+overlay %.1f ms, draw %.1f ms, "
            "swap %.1f ms\n",
            (r0 - t0) * 1e3, render_s * 1e3, budget * 1e3, (td0 - r0 - render_s) * 1e3, (td1 - td0) * 1e3,
            (t1 - td1) * 1e3);
  /* Everything but rendering, smoothed: what the next frame's budget must leave room for. When
   * idle, the wait for events is not overhead. */
  double overhead = (t1 - t0) - render_s;
  if (!v->idle) v->overhead_s = v->n_frames == 0 ? overhead : 0.8 * v->overhead_s + 0.2 * overhead;
  double period = v->n_frames > 0 ? t1 - v->frame_end[(v->n_frames - 1) % FRAME_RING] : 0.0;
  if (period > 0.0) {
    double rate = render_s / period > 1.0 ? 1.0 : render_s / period;
    v->render_rate = v->render_rate <= 0.0 ? rate : 0.8 * v->render_rate + 0.2 * rate;
  }
  double busy = t1 - t_busy, pause = v->throttled ? busy * (1.0 / share - 1.0) : 0.0;
  v->last_busy = busy;
  v->throttle_until = t1 + (pause < 1.0 ? pause : 1.0);
  v->frame_end[v->n_frames % FRAME_RING] = t1;
  v->n_frames++;
  v->idle = refined && !flying && !v->playing && !v->orbiting && !v->panning && v->n_drops == 0;
  return true;
}

int ngp_viewer_close(ngp_viewer *v, ngp_viewer_finish_fn finish, void *user) {
  if (!v) return NGP_VIEWER_OK;
  int rc = v->opts.interrupted && v->opts.interrupted() ? NGP_VIEWER_INTERRUPTED : NGP_VIEWER_OK;
  long steps = 0;
  if (v->have_worker) {
    ngp_worker_stop(&v->worker); /* joined: the session is this thread's again */
    const ngp_worker_stats *ws = &v->worker.stats;
    steps = ws->steps_this_run;
    v->have_worker = false;
    /* The summary a headless run prints after training. */
    if (v->opts.terminal && (ws->can_train || ws->failed || steps > 0))
      ngp_train_summary_print(steps, ws->train_seconds, ws->samples_this_run, v->session.threads, ws->loss_ema,
                              ws->skipped_steps);
  }
  if (v->have_session && finish) {
    /* Test views and screenshots can take a while: the window goes at once, as asked. */
    glfwHideWindow(v->win);
    rc = finish(user, &v->so, &v->session, steps);
  }
  close_session(v);
  glfwMakeContextCurrent(v->win);
  ngp_display_free(&v->disp);
  ngp_progressive_free(&v->prog);
  glfwDestroyWindow(v->win);
  glfwTerminate();
  ngp_free_strings(v->drops, v->n_drops);
  ngp_camera_path_free(&v->path);
  free(v->own_scene);
  free(v->own_snapshot);
  free(v);
  return rc;
}

/* ---- For tests and benchmarks ------------------------------------------------------------------ */

const ngp_camera *ngp_viewer_camera(const ngp_viewer *v) { return &v->cam; }
const char *ngp_viewer_title(const ngp_viewer *v) { return v->title; }
int ngp_viewer_n_training_views(const ngp_viewer *v) { return v->n_views; }
const float *ngp_viewer_training_view(const ngp_viewer *v, int i) { return v->view_xform + (size_t)i * 12; }
bool ngp_viewer_has_model(const ngp_viewer *v) { return v->have_worker; }

bool ngp_viewer_refined(ngp_viewer *v) {
  if (!v->have_worker) return false;
  ngp_progressive_view pv = {v->cam, v->fb_w, v->fb_h, v->final_div};
  return ngp_progressive_refined(&v->prog, &pv, v->model.generation) && !ngp_worker_newer_pending(&v->worker);
}

void ngp_viewer_set_training(ngp_viewer *v, bool on) {
  if (v->have_worker) ngp_worker_set_training(&v->worker, on);
}

void ngp_viewer_set_overlay(ngp_viewer *v, bool on) { v->overlay = on; }

void ngp_viewer_framebuffer_size(const ngp_viewer *v, int *w, int *h) {
  *w = v->fb_w;
  *h = v->fb_h;
}

bool ngp_viewer_read_pixels(ngp_viewer *v, uint8_t *rgb) {
  int w = v->fb_w, h = v->fb_h;
  glfwMakeContextCurrent(v->win);
  ngp_display_draw(&v->disp, w, h, v->overlay);
  glFinish();
  uint8_t *tmp = malloc((size_t)w * (size_t)h * 3);
  if (!tmp) return false;
  glPixelStorei(GL_PACK_ALIGNMENT, 1);
  glReadBuffer(GL_BACK);
  glReadPixels(0, 0, w, h, GL_RGB, GL_UNSIGNED_BYTE, tmp);
  for (int y = 0; y < h; y++) /* GL's first row is the bottom one */
    memcpy(rgb + (size_t)y * (size_t)w * 3, tmp + (size_t)(h - 1 - y) * (size_t)w * 3, (size_t)w * 3);
  free(tmp);
  return true;
}

void ngp_viewer_render_setup(const ngp_viewer *v, int w, int h, ngp_render_opts *o, float focal[2],
                             float principal[2]) {
  ngp_progressive_render_opts(&v->prog, w, h, o);
  ngp_camera_intrinsics(&v->cam, w, h, focal, principal);
}

void ngp_viewer_get_stats(ngp_viewer *v, ngp_viewer_stats *st) {
  memset(st, 0, sizeof *st);
  st->fps = frames_per_second(v);
  st->render_w = v->prog.shown_w;
  st->render_h = v->prog.shown_h;
  st->step = v->wstats.step;
  st->steps_this_run = v->wstats.steps_this_run;
  st->samples_per_s = v->wstats.samples_per_s;
  st->loss_ema = v->wstats.loss_ema;
  st->training = v->wstats.training;
  st->stepping = v->wstats.stepping;
  st->model_generation = v->model.generation;
  st->samples_this_run = v->wstats.samples_this_run;
  st->train_seconds = v->wstats.train_seconds;
  st->throttled = v->throttled;
  st->shown_div = v->prog.shown_div;
  st->backend = v->have_session ? ngp_backend_name(v->session.backend) : NULL;
  st->display = ngp_display_path(&v->disp);
}

void ngp_viewer_print_controls(void) {
  puts("  left drag            orbit about the pivot\n"
       "  right or middle drag pan\n"
       "  wheel                zoom (towards or away from the pivot)\n"
       "  W A S D, Space, C    fly forward, left, back, right, up, down\n"
       "  T                    toggle training\n"
       "  [ ]                  previous / next training view (Shift: first / last)\n"
       "  Shift+R              reset the camera (the first training view)\n"
       "  Ctrl+S               save a snapshot (--save-snapshot, else snapshot.ngp)\n"
       "  P                    save a screenshot PNG (in --screenshot-dir, else here)\n"
       "  K, Shift+K           add the current view to the camera path / clear the path\n"
       "  L                    play the camera path (again: stop)\n"
       "  Ctrl+P               save the camera path as base_cam.json (in --screenshot-dir, else here)\n"
       "  M                    save a mesh (--save-mesh, else mesh.ply; --marching-cubes-*)\n"
       "  + -                  render scale up / down (full resolution, 1/2, ... 1/8)\n"
       "  Tab                  toggle the overlay\n"
       "  Esc, Ctrl+Q          quit\n"
       "  drop a scene folder, transforms .json or snapshot on the window to load it");
}
