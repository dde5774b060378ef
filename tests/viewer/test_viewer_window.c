/* test_viewer_window.c: the viewer in a real window (run under Xvfb with Mesa's software GL by
 * xvfb-run.sh; CTest label `viewer`).
 *  - no display: ngp_viewer_open says why and opens nothing;
 *  - a snapshot: frames until refinement completes, then the framebuffer read back equals the
 *    headless ngp_nerf_render of the same camera at the same size (PSNR >= 40 dB);
 *  - input through the handlers the GLFW callbacks call: orbit keeps the distance to the pivot,
 *    zoom changes it, pan and fly move camera and pivot together, ] and [ take training views
 *    exactly, Shift+R resets, - lowers the render scale, Esc closes;
 *  - an empty window takes a dropped snapshot; Ctrl+S saves one (atomically, by the training
 *    thread), P a screenshot;
 *  - live training: frames keep coming while steps run in the background, new weights reach the
 *    screen, and the finish callback saves on close; on the counting backend (forwarding to the
 *    CPU one), so the test also proves that the viewer's steps, handovers and frames go through
 *    the backend interface.
 * Every test closes its window; under ASan, LeakSanitizer checks that nothing of ours leaks.
 *
 * Environment: NGP_VIEWER_TEST_SNAPSHOT (a trained snapshot), NGP_VIEWER_TEST_SCENE (its scene),
 * NGP_TEST_TMPDIR (scratch). */
#define _GNU_SOURCE /* dl_iterate_phdr, RTLD_NOLOAD, RTLD_NODELETE (glibc) */
#include "core/clock.h"
#include "testutil.h"

#include <dlfcn.h>
#include <link.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GLFW_INCLUDE_NONE /* key and button names only */
#include <GLFW/glfw3.h>

#include "common/ngp_math.h"
#include "counting_backend.h"
#include "pixel_buffer_backend.h"
#include "engine/camera_path.h"
#include "viewer/display.h"
#include "core/fs.h"
#include "nerf/nerf.h"
#include "nerf/snapshot.h"
#include "viewer/viewer.h"

static const char *env_path(const char *name) {
  const char *p = getenv(name);
  if (!p || !*p) fail_msg("%s is not set (run through CTest)", name);
  return p;
}

/* What a test opens: the session and the viewer's options (2 threads). */
typedef struct {
  ngp_session_opts so;
  ngp_viewer_opts vo;
} run_opts;

static void run_opts_init(run_opts *r) {
  ngp_session_opts_default(&r->so);
  r->so.threads = 2;
  ngp_viewer_opts_default(&r->vo);
}

/* GLFW and Mesa load libraries at run time (the DRI driver, X extensions) and unload them when
 * the window closes. Allocations they keep until exit then belong to "<unknown module>" in
 * LeakSanitizer's report, which no suppression can name. Pinning every library loaded so far
 * (RTLD_NOLOAD | RTLD_NODELETE: no new load, never unloaded) keeps their names for lsan.supp; it
 * changes nothing else. */
static int pin_library(struct dl_phdr_info *info, size_t size, void *user) {
  (void)size;
  (void)user;
  if (info->dlpi_name && info->dlpi_name[0]) {
    void *h = dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    if (h) dlclose(h);
  }
  return 0;
}

static ngp_viewer *open_viewer(const run_opts *r, int w, int h) {
  ngp_viewer_opts o = r->vo;
  o.width = w;
  o.height = h;
  o.swap_interval = 0;
  o.idle_wait = false;
  ngp_viewer *v = NULL;
  char why[512] = "";
  int rc = ngp_viewer_open(&v, &r->so, &o, why, sizeof why);
  if (rc != NGP_VIEWER_OK) fail_msg("ngp_viewer_open: %d %s", rc, why);
  dl_iterate_phdr(pin_library, NULL);
  return v;
}

/* Frames until the picture is refined (or fails after `seconds`). */
static void frames_until_refined(ngp_viewer *v, double seconds) {
  double t0 = ngp_seconds();
  int frames = 0;
  while (!ngp_viewer_refined(v)) {
    assert_true(ngp_viewer_frame(v));
    frames++;
    if (ngp_seconds() - t0 > seconds) fail_msg("not refined after %d frames in %.0f s", frames, seconds);
  }
  assert_true(ngp_viewer_frame(v)); /* one more: the refined image is on screen */
}

static void frames_for(ngp_viewer *v, double seconds) {
  double t0 = ngp_seconds();
  while (ngp_seconds() - t0 < seconds)
    assert_true(ngp_viewer_frame(v));
}

static void col(const float *m, int c, float out[3]) {
  for (int r = 0; r < 3; r++)
    out[r] = m[r * 4 + c];
}

static float dist3(const float a[3], const float b[3]) {
  float s = 0.0f;
  for (int k = 0; k < 3; k++)
    s += (a[k] - b[k]) * (a[k] - b[k]);
  return sqrtf(s);
}

static double psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
  double se = 0.0;
  for (size_t i = 0; i < n; i++) {
    double d = ((double)a[i] - (double)b[i]) / 255.0;
    se += d * d;
  }
  return se == 0.0 ? (double)INFINITY : -10.0 * log10(se / (double)n);
}

/* The viewer's camera rendered headless at its framebuffer size from the snapshot loaded on its
 * own, with the viewer's render options (with the crop box only when `crop`), quantised as the
 * window shows it: ref [h][w][3]. */
static void headless_u8(ngp_viewer *v, const char *snap, bool crop, uint8_t *ref) {
  int w, h;
  ngp_viewer_framebuffer_size(v, &w, &h);
  size_t n3 = (size_t)w * h * 3;
  float *rgb = malloc(n3 * sizeof(float));
  assert_non_null(rgb);
  ngp_nerf n;
  ngp_snapshot_meta meta;
  ngp_error err;
  if (ngp_snapshot_load(snap, &n, &meta, 2, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_render_opts o;
  float focal[2], principal[2];
  ngp_viewer_render_setup(v, w, h, &o, focal, principal);
  o.crop = o.crop && crop;
  assert_int_equal(ngp_nerf_render(&n, n.inference, ngp_viewer_camera(v)->xform, focal, principal, NULL, &o, rgb, NULL),
                   NGP_OK);
  for (size_t i = 0; i < n3; i++)
    ref[i] = ngp_unit_to_u8(rgb[i]);
  ngp_nerf_free(&n);
  free(rgb);
}

/* Reads the window into shown [h][w][3] and holds it to the headless render of the same camera:
 * PSNR >= 40 dB, with enough of the model in view that the comparison means something. */
static void check_window_matches_headless(ngp_viewer *v, const char *snap, const char *what, uint8_t *shown) {
  int w, h;
  ngp_viewer_framebuffer_size(v, &w, &h);
  uint8_t *ref = malloc((size_t)w * h * 3);
  assert_non_null(ref);
  assert_true(ngp_viewer_read_pixels(v, shown));
  headless_u8(v, snap, true, ref);
  size_t not_bg = 0;
  for (size_t i = 0; i < (size_t)w * h; i++)
    not_bg += ref[i * 3] < 250 || ref[i * 3 + 1] < 250 || ref[i * 3 + 2] < 250;
  double psnr = psnr_u8(shown, ref, (size_t)w * h * 3);
  printf("%s: window vs headless render: PSNR %.2f dB, %zu of %d pixels not background\n", what, psnr, not_bg, w * h);
  assert_true(not_bg > (size_t)(w * h) / 50);
  assert_true(psnr >= 40.0);
  free(ref);
}

static void test_no_display(void **state) {
  (void)state;
  char *saved = getenv("DISPLAY") ? ngp_strdup(getenv("DISPLAY")) : NULL;
  char *saved_wl = getenv("WAYLAND_DISPLAY") ? ngp_strdup(getenv("WAYLAND_DISPLAY")) : NULL;
  unsetenv("DISPLAY");
  unsetenv("WAYLAND_DISPLAY");
  run_opts r;
  run_opts_init(&r);
  ngp_viewer *v = (ngp_viewer *)&r;
  char why[256] = "";
  assert_int_equal(ngp_viewer_open(&v, &r.so, NULL, why, sizeof why), NGP_VIEWER_UNAVAILABLE);
  assert_null(v);
  assert_contains(why, "DISPLAY and WAYLAND_DISPLAY are not set");
  if (saved) setenv("DISPLAY", saved, 1);
  if (saved_wl) setenv("WAYLAND_DISPLAY", saved_wl, 1);
  free(saved);
  free(saved_wl);
}

static void test_snapshot_matches_headless(void **state) {
  (void)state;
  const char *snap = env_path("NGP_VIEWER_TEST_SNAPSHOT");
  run_opts r;
  run_opts_init(&r);
  r.so.snapshot = snap;
  ngp_viewer *v = open_viewer(&r, 96, 72); /* not square: the aspect must come out right */
  ngp_viewer_set_overlay(v, false);
  frames_until_refined(v, 300.0);
  int w, h;
  ngp_viewer_framebuffer_size(v, &w, &h);
  assert_int_equal(w, 96);
  assert_int_equal(h, 72);
  uint8_t *shown = malloc((size_t)w * h * 3);
  assert_non_null(shown);
  check_window_matches_headless(v, snap, "snapshot", shown);
  free(shown);
  assert_int_equal(ngp_viewer_close(v, NULL, NULL), NGP_VIEWER_OK);
}

static void test_camera_input(void **state) {
  (void)state;
  const char *snap = env_path("NGP_VIEWER_TEST_SNAPSHOT"), *scene = env_path("NGP_VIEWER_TEST_SCENE");
  run_opts r;
  run_opts_init(&r);
  r.so.scene = scene;
  r.so.snapshot = snap;
  ngp_viewer *v = open_viewer(&r, 80, 60);
  assert_true(ngp_viewer_n_training_views(v) >= 3);
  const ngp_camera *cam = ngp_viewer_camera(v);
  /* It starts at the first training view, exactly. */
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, 0), 12 * sizeof(float));
  frames_for(v, 0.6);
  /* The title names the program first, then the scene and the step. */
  assert_true(strncmp(ngp_viewer_title(v), "instant-ngp - scene - step 20", 29) == 0);

  /* Orbit (left drag): the camera moves about the pivot at the same distance. */
  float p0[3], p1[3], pivot[3];
  memcpy(pivot, cam->pivot, sizeof pivot);
  float d0 = cam->distance;
  col(cam->xform, 3, p0);
  ngp_viewer_on_cursor(v, 40.0, 30.0);
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_LEFT, GLFW_PRESS, 0);
  ngp_viewer_on_cursor(v, 55.0, 30.0);
  assert_true(ngp_viewer_frame(v));
  ngp_viewer_on_cursor(v, 70.0, 42.0);
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_LEFT, GLFW_RELEASE, 0);
  assert_true(ngp_viewer_frame(v));
  col(cam->xform, 3, p1);
  assert_true(dist3(p0, p1) > 0.05f * d0);
  assert_float_equal(cam->distance, d0, 0.0);
  assert_float_equal(dist3(p1, pivot), d0, 1e-4 * d0);
  for (int k = 0; k < 3; k++)
    assert_float_equal(cam->pivot[k], pivot[k], 0.0);
  /* Moving the cursor without a button does nothing. */
  ngp_camera before = *cam;
  ngp_viewer_on_cursor(v, 10.0, 10.0);
  assert_memory_equal(&before, cam, sizeof before);

  /* Zoom (wheel): closer by 1.1 per step, same pivot. */
  ngp_viewer_on_scroll(v, 0.0, 3.0);
  assert_true(ngp_viewer_frame(v));
  assert_float_equal(cam->distance, d0 / powf(1.1f, 3.0f), 1e-5 * d0);
  col(cam->xform, 3, p1);
  assert_float_equal(dist3(p1, pivot), cam->distance, 1e-4 * d0);
  ngp_viewer_on_scroll(v, 0.0, -1.0);
  assert_float_equal(cam->distance, d0 / powf(1.1f, 2.0f), 1e-5 * d0);

  /* Pan (right drag): pivot and camera move together; the distance stays. */
  float d1 = cam->distance;
  memcpy(pivot, cam->pivot, sizeof pivot);
  col(cam->xform, 3, p0);
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_RIGHT, GLFW_PRESS, 0);
  ngp_viewer_on_cursor(v, 30.0, 25.0);
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_RIGHT, GLFW_RELEASE, 0);
  col(cam->xform, 3, p1);
  assert_true(dist3(pivot, cam->pivot) > 0.0f);
  assert_float_equal(dist3(p0, p1), dist3(pivot, cam->pivot), 1e-5);
  assert_float_equal(cam->distance, d1, 0.0);

  /* Fly (W held): forward along the view, pivot along. */
  float f[3];
  col(cam->xform, 2, f);
  col(cam->xform, 3, p0);
  ngp_viewer_on_key(v, GLFW_KEY_W, GLFW_PRESS, 0);
  frames_for(v, 0.2);
  ngp_viewer_on_key(v, GLFW_KEY_W, GLFW_RELEASE, 0);
  col(cam->xform, 3, p1);
  float moved = 0.0f;
  for (int k = 0; k < 3; k++)
    moved += (p1[k] - p0[k]) * f[k];
  assert_true(moved > 0.0f);
  assert_float_equal(dist3(p0, p1), moved, 1e-4);
  col(cam->xform, 3, p0);
  assert_true(ngp_viewer_frame(v)); /* released: no more motion */
  col(cam->xform, 3, p1);
  assert_memory_equal(p0, p1, sizeof p0);

  /* ] and [: training views, exactly; Shift for the last and the first. */
  ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, 0);
  assert_true(ngp_viewer_frame(v));
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, 1), 12 * sizeof(float));
  ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, 0);
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, 2), 12 * sizeof(float));
  ngp_viewer_on_key(v, GLFW_KEY_LEFT_BRACKET, GLFW_PRESS, 0);
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, 1), 12 * sizeof(float));
  int last = ngp_viewer_n_training_views(v) - 1;
  ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, GLFW_MOD_SHIFT);
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, last), 12 * sizeof(float));
  ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, 0); /* stays at the last */
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, last), 12 * sizeof(float));
  ngp_viewer_on_key(v, GLFW_KEY_LEFT_BRACKET, GLFW_PRESS, GLFW_MOD_SHIFT);
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, 0), 12 * sizeof(float));

  /* Shift+R resets after moving around; plain R does not. */
  ngp_viewer_on_scroll(v, 0.0, 1.0);
  ngp_viewer_on_key(v, GLFW_KEY_R, GLFW_PRESS, 0);
  assert_false(!memcmp(cam->xform, ngp_viewer_training_view(v, 0), 12 * sizeof(float)));
  ngp_viewer_on_key(v, GLFW_KEY_R, GLFW_PRESS, GLFW_MOD_SHIFT);
  assert_memory_equal(cam->xform, ngp_viewer_training_view(v, 0), 12 * sizeof(float));

  /* - halves the render scale: the refined image is half the window. */
  ngp_viewer_on_key(v, GLFW_KEY_MINUS, GLFW_PRESS, 0);
  frames_until_refined(v, 120.0);
  ngp_viewer_stats st;
  ngp_viewer_get_stats(v, &st);
  assert_int_equal(st.render_w, 40);
  assert_int_equal(st.render_h, 30);
  ngp_viewer_on_key(v, GLFW_KEY_EQUAL, GLFW_PRESS, GLFW_MOD_SHIFT); /* + */
  frames_until_refined(v, 120.0);
  ngp_viewer_get_stats(v, &st);
  assert_int_equal(st.render_w, 80);

  /* Esc: the next frame reports the window closing. */
  ngp_viewer_on_key(v, GLFW_KEY_ESCAPE, GLFW_PRESS, 0);
  assert_false(ngp_viewer_frame(v));
  assert_int_equal(ngp_viewer_close(v, NULL, NULL), NGP_VIEWER_OK);
}

/* The camera path keys: K adds the view, Ctrl+P saves instant-ngp's base_cam.json (its keyframes
 * are the views added, in order), Shift+K clears (then nothing is saved over the file), L plays the
 * path to its end. */
static void test_camera_path_keys(void **state) {
  (void)state;
  run_opts r;
  run_opts_init(&r);
  r.so.scene = env_path("NGP_VIEWER_TEST_SCENE");
  r.so.snapshot = env_path("NGP_VIEWER_TEST_SNAPSHOT");
  char *dir = ngp_test_tmpdir("viewer_camera_path");
  r.vo.screenshot_dir = dir;
  ngp_viewer *v = open_viewer(&r, 64, 48);
  const ngp_camera *cam = ngp_viewer_camera(v);
  float fov = 2.0f * atanf(0.5f / cam->rel_focal) * 180.0f / 3.14159265f;
  char *file = ngp_test_path(dir, "base_cam.json");
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, GLFW_MOD_CONTROL); /* no path yet: nothing written */
  assert_false(ngp_path_exists(file));
  for (int i = 0; i < 3; i++) {
    ngp_viewer_on_key(v, GLFW_KEY_K, GLFW_PRESS, 0);
    ngp_viewer_on_key(v, GLFW_KEY_K, GLFW_RELEASE, 0);
    ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, 0);
    assert_true(ngp_viewer_frame(v));
  }
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, GLFW_MOD_CONTROL);
  assert_true(ngp_path_exists(file));
  ngp_camera_path p;
  ngp_error err;
  if (ngp_camera_path_load(file, &p, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(p.n_keys, 3);
  assert_int_equal(p.spline_order, 3);
  for (int i = 0; i < 3; i++) {
    float m[12];
    ngp_path_key_to_xform(&p.keys[i], m);
    const float *view = ngp_viewer_training_view(v, i);
    for (int k = 0; k < 12; k++)
      assert_float_equal(m[k], view[k], 2e-6);
    assert_float_equal(p.keys[i].fov, fov, 1e-4);
  }
  ngp_camera_path_free(&p);
  /* Shift+K clears: Ctrl+P then leaves the saved file as it was. */
  ngp_viewer_on_key(v, GLFW_KEY_K, GLFW_PRESS, GLFW_MOD_SHIFT);
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, GLFW_MOD_CONTROL);
  if (ngp_camera_path_load(file, &p, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(p.n_keys, 3);
  ngp_camera_path_free(&p);
  /* Two keyframes (views 0 and 2), played: one second later the camera is at the path's end. */
  ngp_viewer_on_key(v, GLFW_KEY_LEFT_BRACKET, GLFW_PRESS, GLFW_MOD_SHIFT);
  ngp_viewer_on_key(v, GLFW_KEY_K, GLFW_PRESS, 0);
  ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, 0);
  ngp_viewer_on_key(v, GLFW_KEY_RIGHT_BRACKET, GLFW_PRESS, 0);
  ngp_viewer_on_key(v, GLFW_KEY_K, GLFW_PRESS, 0);
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, GLFW_MOD_CONTROL);
  if (ngp_camera_path_load(file, &p, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(p.n_keys, 2);
  ngp_viewer_on_key(v, GLFW_KEY_L, GLFW_PRESS, 0);
  assert_true(ngp_viewer_frame(v));
  float start[12];
  memcpy(start, cam->xform, sizeof start);
  frames_for(v, 1.3);
  ngp_path_key end = ngp_camera_path_eval(&p, 1.0f);
  float m[12];
  ngp_path_key_to_xform(&end, m);
  for (int k = 0; k < 12; k++)
    assert_float_equal(cam->xform[k], m[k], 1e-5);
  /* The cubic B-spline's end is not the last view (instant-ngp's spline), nor the start. */
  assert_true(dist3((float[3]){start[3], start[7], start[11]}, (float[3]){m[3], m[7], m[11]}) > 1e-3f);
  ngp_camera_path_free(&p);
  assert_int_equal(ngp_viewer_close(v, NULL, NULL), NGP_VIEWER_OK);
  free(file);
  free(dir);
}

static void wait_for_file(ngp_viewer *v, const char *path, double seconds) {
  double t0 = ngp_seconds();
  while (!ngp_path_exists(path)) {
    assert_true(ngp_viewer_frame(v));
    if (ngp_seconds() - t0 > seconds) fail_msg("%s did not appear within %.0f s", path, seconds);
  }
}

static void test_drop_save_screenshot(void **state) {
  (void)state;
  const char *snap = env_path("NGP_VIEWER_TEST_SNAPSHOT");
  char *dir = ngp_test_tmpdir("viewer_drop");
  char *saved = ngp_test_path(dir, "saved.ngp"), *shots = ngp_test_path(dir, "shots");
  char *shot = ngp_test_path(shots, "screenshot_0000.png"), *mesh = ngp_test_path(dir, "meshes/m.ply");
  run_opts r;
  run_opts_init(&r);
  r.vo.save_snapshot = saved;
  r.vo.save_mesh = mesh;
  r.vo.mesh.res = 24;
  r.vo.screenshot_dir = shots;
  r.vo.transparent = true;                 /* P saves RGBA with the accumulated opacity */
  ngp_viewer *v = open_viewer(&r, 64, 48); /* an empty window: drop something on it */
  assert_false(ngp_viewer_has_model(v));
  frames_for(v, 0.1);
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, 0); /* nothing to save yet: no file, no crash */
  ngp_viewer_on_key(v, GLFW_KEY_S, GLFW_PRESS, GLFW_MOD_CONTROL);
  const char *drop[] = {"/nonexistent/thing.txt"};
  ngp_viewer_on_drop(v, 1, drop); /* neither a scene nor a snapshot: a message, nothing loaded */
  assert_true(ngp_viewer_frame(v));
  assert_false(ngp_viewer_has_model(v));
  drop[0] = snap;
  ngp_viewer_on_drop(v, 1, drop);
  assert_true(ngp_viewer_frame(v));
  assert_true(ngp_viewer_has_model(v));
  frames_until_refined(v, 120.0);
  /* Ctrl+S: saved by the training thread, atomically; the file loads. */
  ngp_viewer_on_key(v, GLFW_KEY_S, GLFW_PRESS, GLFW_MOD_CONTROL);
  ngp_viewer_on_key(v, GLFW_KEY_S, GLFW_RELEASE, GLFW_MOD_CONTROL);
  wait_for_file(v, saved, 60.0);
  frames_for(v, 0.2);
  ngp_nerf n;
  ngp_snapshot_meta meta;
  ngp_error err;
  if (ngp_snapshot_load(saved, &n, &meta, 1, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_nerf_free(&n);
  /* M: a mesh made by the training thread, written atomically: a binary PLY. */
  ngp_viewer_on_key(v, GLFW_KEY_M, GLFW_PRESS, 0);
  ngp_viewer_on_key(v, GLFW_KEY_M, GLFW_RELEASE, 0);
  wait_for_file(v, mesh, 60.0);
  char *ply;
  size_t ply_len;
  if (ngp_read_file(mesh, (size_t)1 << 28, &ply, &ply_len, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_true(strncmp(ply, "ply\nformat binary_little_endian 1.0\n", 36) == 0);
  assert_non_null(strstr(ply, "end_header\n"));
  free(ply);
  /* Ctrl+S must not have flown the camera backwards. */
  ngp_camera c0 = *ngp_viewer_camera(v);
  assert_true(ngp_viewer_frame(v));
  assert_memory_equal(&c0, ngp_viewer_camera(v), sizeof c0);
  /* P: a PNG of the image on screen, with alpha (--background transparent): the snapshot's
   * opacity and unpremultiplied colour for this camera, as a headless render gives them. */
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, 0);
  assert_true(ngp_path_exists(shot));
  ngp_image img;
  if (ngp_image_load(shot, &img, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(img.width, 64);
  assert_int_equal(img.height, 48);
  assert_int_equal(img.source_channels, 4);
  if (ngp_snapshot_load(snap, &n, &meta, 2, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_render_opts o;
  float focal[2], principal[2];
  ngp_viewer_render_setup(v, 64, 48, &o, focal, principal);
  float *rgb = malloc(64 * 48 * 3 * sizeof(float)), *alpha = malloc(64 * 48 * sizeof(float));
  uint8_t *want = malloc(64 * 48 * 4);
  assert_true(rgb && alpha && want);
  assert_int_equal(
      ngp_nerf_render_alpha(&n, n.inference, ngp_viewer_camera(v)->xform, focal, principal, NULL, &o, rgb, alpha, &err),
      NGP_OK);
  ngp_rgba8_from_render(rgb, alpha, o.bg, 64 * 48, want);
  int min_a = 255, max_a = 0;
  for (int i = 0; i < 64 * 48 * 4; i++) {
    if (abs((int)img.rgba[i] - (int)want[i]) > 1)
      fail_msg("byte %d (pixel %d): %d, headless %d", i, i / 4, img.rgba[i], want[i]);
    if (i % 4 == 3) {
      min_a = img.rgba[i] < min_a ? img.rgba[i] : min_a;
      max_a = img.rgba[i] > max_a ? img.rgba[i] : max_a;
    }
  }
  printf("transparent screenshot: alpha from %d to %d\n", min_a, max_a);
  assert_true(min_a < max_a); /* not the old constant 255 */
  free(rgb);
  free(alpha);
  free(want);
  ngp_nerf_free(&n);
  ngp_image_free(&img);
  assert_int_equal(ngp_viewer_close(v, NULL, NULL), NGP_VIEWER_OK);
  free(shot);
  free(shots);
  free(saved);
  free(mesh);
  free(dir);
}

typedef struct {
  const char *out;
  int called;
  long steps, publishes, pixel_renders;
} live_finish_ctx;

/* The finish callback: the counting backend's calls so far, then a save, as the program's does. */
static int live_finish(void *user, const ngp_session_opts *so, ngp_session *s, long steps) {
  live_finish_ctx *c = user;
  (void)so;
  (void)steps;
  c->called++;
  c->steps = ngp_counting_backend_calls(s->backend, "train_step");
  c->publishes = ngp_counting_backend_calls(s->backend, "publish");
  c->pixel_renders = ngp_counting_backend_calls(s->backend, "render_pixels");
  ngp_error err;
  if (ngp_session_save(s, c->out, &err) != NGP_OK) fail_msg("%s", err.msg);
  return 0;
}

static void test_live_training(void **state) {
  (void)state;
  const char *scene = env_path("NGP_VIEWER_TEST_SCENE");
  char *dir = ngp_test_tmpdir("viewer_train");
  char *out = ngp_test_path(dir, "trained.ngp");
  run_opts r;
  run_opts_init(&r);
  r.so.scene = scene;
  r.so.batch_samples = 4096;
  r.so.backend = "counting";
  ngp_viewer *v = open_viewer(&r, 64, 64);
  ngp_viewer_stats st;
  double t0 = ngp_seconds();
  long frames = 0;
  /* Orbit all along: every frame sees a new camera while the steps run. */
  ngp_viewer_on_cursor(v, 0.0, 32.0);
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_LEFT, GLFW_PRESS, 0);
  for (;;) {
    ngp_viewer_on_cursor(v, (double)(frames % 64), 32.0);
    assert_true(ngp_viewer_frame(v));
    frames++;
    ngp_viewer_get_stats(v, &st);
    if (st.steps_this_run >= 4 && st.model_generation >= 2) break;
    if (ngp_seconds() - t0 > 300.0)
      fail_msg("after 300 s: %ld steps, model generation %llu", st.steps_this_run,
               (unsigned long long)st.model_generation);
  }
  ngp_viewer_on_mouse_button(v, GLFW_MOUSE_BUTTON_LEFT, GLFW_RELEASE, 0);
  printf("live training: %ld steps, %ld frames in %.1f s\n", st.steps_this_run, frames, ngp_seconds() - t0);
  assert_true(st.training);
  /* The frame loop does not wait for steps: more frames than steps went by. */
  assert_true(frames > st.steps_this_run);
  /* T pauses at once; the training thread finishes its step, then no more steps come. */
  ngp_viewer_on_key(v, GLFW_KEY_T, GLFW_PRESS, 0);
  ngp_viewer_on_key(v, GLFW_KEY_T, GLFW_RELEASE, 0);
  assert_true(ngp_viewer_frame(v));
  ngp_viewer_get_stats(v, &st);
  assert_false(st.training);
  t0 = ngp_seconds();
  while (st.stepping) {
    assert_true(ngp_viewer_frame(v));
    ngp_viewer_get_stats(v, &st);
    if (ngp_seconds() - t0 > 300.0) fail_msg("the training thread is still stepping 300 s after T");
  }
  long paused_at = st.steps_this_run;
  frames_for(v, 0.5);
  ngp_viewer_get_stats(v, &st);
  assert_int_equal(st.steps_this_run, paused_at);
  assert_string_equal(st.backend, "counting");
  live_finish_ctx fc = {out, 0, 0, 0, 0};
  assert_int_equal(ngp_viewer_close(v, live_finish, &fc), NGP_VIEWER_OK); /* saves `out` */
  assert_int_equal(fc.called, 1);
  /* Everything went through the backend: steps, handovers to the renderer and the frames. */
  assert_true(fc.steps >= 4);
  assert_true(fc.publishes >= 1);
  assert_true(fc.pixel_renders >= 1);
  ngp_nerf n;
  ngp_snapshot_meta meta;
  ngp_error err;
  if (ngp_snapshot_load(out, &n, &meta, 1, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_true(meta.training_step >= 4);
  ngp_nerf_free(&n);
  free(out);
  free(dir);
}

/* --crop-box reaches the window: the picture is the headless render with the same crop box, and
 * the crop box changes it. */
static void test_crop_box(void **state) {
  (void)state;
  const char *snap = env_path("NGP_VIEWER_TEST_SNAPSHOT");
  run_opts r;
  run_opts_init(&r);
  r.so.snapshot = snap;
  r.so.crop = true;
  const float box[6] = {-10.0f, -10.0f, -10.0f, 0.0f, 10.0f, 10.0f}; /* x <= 0 only (scene coordinates) */
  memcpy(r.so.crop_box, box, sizeof box);
  ngp_viewer *v = open_viewer(&r, 80, 60);
  ngp_viewer_set_overlay(v, false);
  frames_until_refined(v, 300.0);
  int w, h;
  ngp_viewer_framebuffer_size(v, &w, &h);
  size_t n3 = (size_t)w * h * 3;
  uint8_t *shown = malloc(n3), *full = malloc(n3), *ref = malloc(n3);
  assert_true(shown && full && ref);
  ngp_render_opts o;
  float focal[2], principal[2];
  ngp_viewer_render_setup(v, w, h, &o, focal, principal);
  assert_true(o.crop); /* the window's options carry the crop box */
  check_window_matches_headless(v, snap, "crop box", shown);
  headless_u8(v, snap, true, ref);
  headless_u8(v, snap, false, full);
  size_t changed = 0;
  for (size_t i = 0; i < n3; i++)
    changed += abs((int)full[i] - (int)ref[i]) > 8;
  printf("crop box: the crop changes %zu of %zu values\n", changed, n3);
  assert_true(changed > n3 / 50);
  free(shown);
  free(full);
  free(ref);
  assert_int_equal(ngp_viewer_close(v, NULL, NULL), NGP_VIEWER_OK);
}

typedef struct {
  int called;
  ngp_pixel_buffer_counts counts;
} pixel_buffer_finish_ctx;

static int pixel_buffer_finish(void *user, const ngp_session_opts *so, ngp_session *s, long steps) {
  pixel_buffer_finish_ctx *c = user;
  (void)so;
  (void)steps;
  c->called++;
  c->counts = ngp_pixel_buffer_backend_counts(s->backend);
  return 0;
}

/* The pixel-buffer path (display.h), on the "pixelbuffer" test backend: frames rendered into the
 * backend's images and written by it into the window's GL pixel buffer reach the screen as the
 * headless render of the same camera, the overlay says which path, and P saves the picture on
 * screen (read back from the texture). The CUDA backend takes the same path on a GPU that runs
 * the window. */
static void test_pixel_buffer_path(void **state) {
  (void)state;
  const char *snap = env_path("NGP_VIEWER_TEST_SNAPSHOT");
  char *dir = ngp_test_tmpdir("viewer_pixel_buffer");
  char *shot = ngp_test_path(dir, "screenshot_0000.png");
  run_opts r;
  run_opts_init(&r);
  r.so.snapshot = snap;
  r.so.backend = "pixelbuffer";
  r.vo.screenshot_dir = dir;
  ngp_viewer *v = open_viewer(&r, 96, 72);
  ngp_viewer_set_overlay(v, false);
  ngp_viewer_stats st;
  ngp_viewer_get_stats(v, &st);
  printf("frames shown through: %s\n", st.display);
  assert_string_equal(st.display, "a GL pixel buffer written by the pixelbuffer backend (no host copy)");
  frames_until_refined(v, 300.0);
  int w, h;
  ngp_viewer_framebuffer_size(v, &w, &h);
  uint8_t *shown = malloc((size_t)w * h * 3);
  assert_non_null(shown);
  check_window_matches_headless(v, snap, "pixel buffer", shown);
  ngp_error err;
  /* P: the PNG holds the picture on screen (the texture read back). */
  ngp_viewer_on_key(v, GLFW_KEY_P, GLFW_PRESS, 0);
  ngp_image img;
  if (ngp_image_load(shot, &img, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(img.width, w);
  assert_int_equal(img.height, h);
  for (size_t i = 0; i < (size_t)w * h; i++)
    for (int c = 0; c < 3; c++)
      if (img.rgba[i * 4 + (size_t)c] != shown[i * 3 + (size_t)c])
        fail_msg("screenshot pixel %zu channel %d: %d, on screen %d", i, c, img.rgba[i * 4 + (size_t)c],
                 shown[i * 3 + (size_t)c]);
  ngp_image_free(&img);
  pixel_buffer_finish_ctx fc = {0, {0}};
  assert_int_equal(ngp_viewer_close(v, pixel_buffer_finish, &fc), NGP_VIEWER_OK);
  assert_int_equal(fc.called, 1);
  printf("pixelbuffer backend: %ld attach, %ld writes (%ld rows), %ld renders into its images, %ld elsewhere\n",
         fc.counts.attaches, fc.counts.writes, fc.counts.rows_written, fc.counts.renders_into_own,
         fc.counts.renders_elsewhere);
  /* Every frame went through the backend's images and its writes into the buffer, none through
   * host arrays of the viewer. */
  assert_true(fc.counts.attaches >= 1);
  assert_true(fc.counts.writes >= 1);
  assert_true(fc.counts.rows_written >= h);
  assert_true(fc.counts.renders_into_own >= 1);
  assert_int_equal(fc.counts.renders_elsewhere, 0);
  free(shown);
  free(shot);
  free(dir);
}

int main(void) {
  ngp_error err;
  if (ngp_backend_register(&ngp_counting_backend_type, &err) != NGP_OK ||
      ngp_backend_register(&ngp_pixel_buffer_backend_type, &err) != NGP_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_display),        cmocka_unit_test(test_snapshot_matches_headless),
      cmocka_unit_test(test_camera_input),      cmocka_unit_test(test_drop_save_screenshot),
      cmocka_unit_test(test_live_training),     cmocka_unit_test(test_camera_path_keys),
      cmocka_unit_test(test_pixel_buffer_path), cmocka_unit_test(test_crop_box),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
