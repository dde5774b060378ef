/* test_video.c: camera paths and videos (engine/camera_path.h, engine/video.h, video_writer.h):
 *  - quaternion <-> matrix round trips; instant-ngp's splines: a linear path through two known
 *    poses passes exactly through them, the cubic B-spline gives instant-ngp's weights (5A + B) / 6
 *    at its start and passes through tripled keyframes; loops wrap; timestamps are honoured;
 *  - a transforms file as a path: the video's frames at the keyframe times are rendered, through the
 *    backend interface, with exactly those frames' cameras and focal lengths;
 *  - the camera smoothing's rigid log-lerp, the orbit's distance, elevation and aim;
 *  - a frame renders the same alone as within the whole video (PNG bytes);
 *  - render modes: a depth video's PNG frames are the depth screenshots of the same cameras (16-bit
 *    grey, within the camera path's rounding); H.264 frames' 8-bit mapping of each mode;
 *  - every malformed path file is refused with its file and field named; save/load round trip. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "core/fs.h"
#include "engine/camera_path.h"
#include "engine/video.h"
#include "engine/output.h"
#include "engine/video_writer.h"

/* stb_image's 16-bit decoder, compiled into the library (io/stb_impl.c). */
unsigned short *stbi_load_16_from_memory(const unsigned char *buffer, int len, int *x, int *y, int *channels_in_file,
                                         int desired_channels);
void stbi_image_free(void *retval_from_stbi_load);

static void rot_axis_angle(const float *axis, float angle, float *m12, const float *t) {
  float n = sqrtf(axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]);
  float x = axis[0] / n, y = axis[1] / n, z = axis[2] / n, c = cosf(angle), s = sinf(angle), C = 1.0f - c;
  float r[9] = {c + x * x * C,     x * y * C - z * s, x * z * C + y * s, y * x * C + z * s, c + y * y * C,
                y * z * C - x * s, z * x * C - y * s, z * y * C + x * s, c + z * z * C};
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++)
      m12[i * 4 + j] = r[i * 3 + j];
    m12[i * 4 + 3] = t[i];
  }
}

static void assert_xform_near(const float *a, const float *b, float tol) {
  for (int i = 0; i < 12; i++)
    if (!(fabsf(a[i] - b[i]) <= tol))
      fail_msg("xform[%d]: %.9g vs %.9g (tolerance %g)", i, (double)a[i], (double)b[i], (double)tol);
}

static char *write_path_file(const char *dir, const char *name, const char *text) {
  char *p = ngp_test_path(dir, name);
  ngp_test_write_text(p, text);
  return p;
}

static void test_quat_roundtrip(void **state) {
  (void)state;
  uint64_t seed = 7;
  for (int k = 0; k < 200; k++) {
    float axis[3], t[3], m[12], back[12];
    for (int i = 0; i < 3; i++) {
      axis[i] = (float)(ngp_splitmix64(&seed) % 2001) / 1000.0f - 1.0f;
      t[i] = (float)(ngp_splitmix64(&seed) % 2001) / 500.0f - 2.0f;
    }
    if (axis[0] == 0.0f && axis[1] == 0.0f && axis[2] == 0.0f) axis[2] = 1.0f;
    float angle = (float)(ngp_splitmix64(&seed) % 6283) / 1000.0f; /* 0 .. 2 pi, half turns included */
    rot_axis_angle(axis, angle, m, t);
    ngp_path_key key;
    memset(&key, 0, sizeof key);
    ngp_path_key_from_xform(m, &key);
    ngp_path_key_to_xform(&key, back);
    assert_xform_near(m, back, 2e-6f);
  }
}

/* Two known poses A and B. */
static void two_poses(float *a, float *b) {
  float ax[3] = {0.2f, 1.0f, -0.3f}, ta[3] = {1.0f, 0.5f, -0.25f};
  float bx[3] = {-0.5f, 0.3f, 0.8f}, tb[3] = {-0.75f, 1.5f, 0.5f};
  rot_axis_angle(ax, 0.7f, a, ta);
  rot_axis_angle(bx, 2.1f, b, tb);
}

static void make_path(const float *a, const float *b, int order, int repeat, ngp_camera_path *p) {
  ngp_camera_path_init(p);
  ngp_error err;
  for (int r = 0; r < repeat; r++)
    assert_int_equal(ngp_camera_path_add(p, a, 40.0f, 1.0f, &err), NGP_OK);
  for (int r = 0; r < repeat; r++)
    assert_int_equal(ngp_camera_path_add(p, b, 60.0f, 2.0f, &err), NGP_OK);
  p->spline_order = order;
}

static void test_linear_path_through_two_poses(void **state) {
  (void)state;
  float a[12], b[12], m[12];
  two_poses(a, b);
  char *dir = ngp_test_tmpdir("video_linear");
  /* Written as a file, as a user's base_cam.json, and read back. */
  ngp_camera_path p;
  make_path(a, b, 1, 1, &p);
  char *file = ngp_test_path(dir, "base_cam.json");
  ngp_error err;
  assert_int_equal(ngp_camera_path_save(file, &p, &err), NGP_OK);
  ngp_camera_path_free(&p);
  if (ngp_camera_path_load(file, &p, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(p.n_keys, 2);
  assert_int_equal(p.spline_order, 1);
  ngp_path_key k = ngp_camera_path_eval(&p, 0.0f);
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, a, 2e-6f);
  assert_true(fabsf(k.fov - 40.0f) < 1e-5f);
  k = ngp_camera_path_eval(&p, 1.0f);
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, b, 2e-6f);
  assert_true(fabsf(k.fov - 60.0f) < 1e-5f);
  /* Half way: the positions' midpoint, the fov's mean. */
  k = ngp_camera_path_eval(&p, 0.5f);
  for (int i = 0; i < 3; i++)
    assert_true(fabsf(k.T[i] - 0.5f * (a[i * 4 + 3] + b[i * 4 + 3])) < 1e-6f);
  assert_true(fabsf(k.fov - 50.0f) < 1e-5f);

  /* The video's first and last frames are the two poses, through the plan. */
  ngp_video_opts vo;
  ngp_video_opts_default(&vo);
  vo.camera_path = file;
  vo.n_seconds = 1.0;
  vo.fps = 9.0;
  ngp_video_plan plan;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(plan.n_frames, 9);
  float fov;
  ngp_video_frame_camera(&plan, 0, m, &fov);
  assert_xform_near(m, a, 2e-6f);
  ngp_video_frame_camera(&plan, 8, m, &fov);
  assert_xform_near(m, b, 2e-6f);
  /* A frame in between is neither. */
  ngp_video_frame_camera(&plan, 4, m, &fov);
  assert_true(fabsf(m[3] - a[3]) > 0.1f && fabsf(m[3] - b[3]) > 0.1f);
  ngp_video_plan_free(&plan);
  ngp_camera_path_free(&p);
  free(file);
  free(dir);
}

static void test_cubic_spline_as_instant_ngp(void **state) {
  (void)state;
  float a[12], b[12], m[12];
  two_poses(a, b);
  /* Two keyframes: the B-spline starts at (A + 4A + B) / 6 (the first keyframe clamped), as
   * instant-ngp's cubic spline does; it does not pass through A. */
  ngp_camera_path p;
  make_path(a, b, 3, 1, &p);
  ngp_path_key k = ngp_camera_path_eval(&p, 0.0f);
  for (int i = 0; i < 3; i++)
    assert_true(fabsf(k.T[i] - (5.0f * a[i * 4 + 3] + b[i * 4 + 3]) / 6.0f) < 1e-6f);
  assert_true(fabsf(k.fov - (5.0f * 40.0f + 60.0f) / 6.0f) < 1e-4f);
  k = ngp_camera_path_eval(&p, 1.0f);
  for (int i = 0; i < 3; i++)
    assert_true(fabsf(k.T[i] - (a[i * 4 + 3] + 5.0f * b[i * 4 + 3]) / 6.0f) < 1e-6f);
  ngp_camera_path_free(&p);
  /* Tripled keyframes A A A B B B: the B-spline passes exactly through A and B. */
  make_path(a, b, 3, 3, &p);
  k = ngp_camera_path_eval(&p, 0.0f);
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, a, 2e-6f);
  k = ngp_camera_path_eval(&p, 1.0f);
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, b, 2e-6f);
  ngp_camera_path_free(&p);
  /* Quadratic: starts at (A + A) / 2 ... i.e. at A, ends at (A + B) / 2 with two keyframes (the
   * last segment of an open path is the one before the last keyframe). */
  make_path(a, b, 2, 1, &p);
  k = ngp_camera_path_eval(&p, 0.0f);
  for (int i = 0; i < 3; i++)
    assert_true(fabsf(k.T[i] - a[i * 4 + 3]) < 1e-6f);
  k = ngp_camera_path_eval(&p, 1.0f);
  for (int i = 0; i < 3; i++)
    assert_true(fabsf(k.T[i] - 0.5f * (a[i * 4 + 3] + b[i * 4 + 3])) < 1e-6f);
  ngp_camera_path_free(&p);
}

static void test_loop_and_timestamps(void **state) {
  (void)state;
  float a[12], b[12], c[12], m[12];
  two_poses(a, b);
  float ax[3] = {0, 0, 1}, tc[3] = {3.0f, 0.0f, 0.0f};
  rot_axis_angle(ax, 0.3f, c, tc);
  ngp_camera_path p;
  ngp_camera_path_init(&p);
  ngp_error err;
  assert_int_equal(ngp_camera_path_add(&p, a, 50.0f, 1.0f, &err), NGP_OK);
  assert_int_equal(ngp_camera_path_add(&p, b, 50.0f, 1.0f, &err), NGP_OK);
  assert_int_equal(ngp_camera_path_add(&p, c, 50.0f, 1.0f, &err), NGP_OK);
  p.spline_order = 1;
  p.loop = true;
  /* A loop: frame time i / n, and the end of the play time is back at the first keyframe. */
  assert_true(fabsf(ngp_camera_path_frame_time(&p, 3, 4) - 0.75f) < 1e-7f);
  ngp_path_key k = ngp_camera_path_eval(&p, 1.0f);
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, a, 2e-6f);
  k = ngp_camera_path_eval(&p, 2.0f / 3.0f); /* equidistant: keyframe 2 at 2/3 */
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, c, 1e-5f);
  /* Timestamps: keyframe i's timestamp ends the segment from it. Segment 0 (A->B) over [0, 0.1],
   * segment 1 (B->C) over [0.1, 1]: at play time 0.1 / 1 the camera is at B. */
  p.loop = false;
  p.keys[0].timestamp = 0.1f;
  p.keys[1].timestamp = 1.0f;
  p.keys[2].timestamp = 2.0f;
  k = ngp_camera_path_eval(&p, 0.1f);
  ngp_path_key_to_xform(&k, m);
  assert_xform_near(m, b, 1e-5f);
  ngp_camera_path_free(&p);
}

/* ---- A recording backend: forwards to the CPU and keeps each render's camera -------------------- */

enum { MAX_REC = 64 };
static float g_rec_xform[MAX_REC][12], g_rec_focal[MAX_REC][2];
static int g_rec_n;

typedef struct recording {
  ngp_backend base;
  ngp_backend *inner;
} recording;

static ngp_backend *rec_inner(ngp_backend *b) { return ((recording *)b->context)->inner; }
static void r_describe(ngp_backend *b, char *out, size_t n) { ngp_backend_describe(rec_inner(b), out, n); }
static void r_destroy(ngp_backend *b) {
  ngp_backend_destroy(rec_inner(b));
  free(b->context);
}
static ngp_status r_train(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  return ngp_backend_train_step(rec_inner(b), st, err);
}
static ngp_status r_publish(ngp_backend *b, ngp_error *err) { return ngp_backend_publish(rec_inner(b), err); }
static uint64_t r_acquire(ngp_backend *b) { return ngp_backend_acquire(rec_inner(b)); }
static bool r_newer(ngp_backend *b) { return ngp_backend_newer_pending(rec_inner(b)); }
static ngp_status r_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                           ngp_error *err) {
  if (g_rec_n < MAX_REC) {
    memcpy(g_rec_xform[g_rec_n], cam->xform, sizeof g_rec_xform[0]);
    memcpy(g_rec_focal[g_rec_n], cam->focal, sizeof g_rec_focal[0]);
  }
  g_rec_n++;
  return ngp_backend_render(rec_inner(b), cam, o, rgb, err);
}
static const ngp_backend_i rec_iface = {.describe = r_describe,
                                        .destroy = r_destroy,
                                        .train_step = r_train,
                                        .publish = r_publish,
                                        .acquire = r_acquire,
                                        .newer_pending = r_newer,
                                        .render = r_render};
static ngp_status r_create(ngp_nerf *n, const ngp_scene *scene, const ngp_backend_opts *o, ngp_backend **out,
                           ngp_error *err) {
  recording *r = calloc(1, sizeof *r);
  if (!r) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  ngp_status st = ngp_backend_create(&ngp_backend_cpu_type, n, scene, o, &r->inner, err);
  if (st != NGP_OK) {
    free(r);
    return st;
  }
  r->base.iface = &rec_iface;
  r->base.model = n;
  r->base.scene = scene;
  r->base.context = r;
  *out = &r->base;
  return NGP_OK;
}
static bool r_available(char *why, size_t n) {
  snprintf(why, n, "a test backend");
  return true;
}
static const ngp_backend_type rec_type = {"recording", r_available, r_create};

static void open_session(const char *dir, ngp_session *s) {
  char *cfg = ngp_test_path(dir, "small.json");
  ngp_test_write_text(cfg, ngp_test_small_config);
  char *train = ngp_test_path(dir, "transforms_train.json");
  ngp_session_opts so;
  ngp_session_opts_default(&so);
  so.scene = train;
  so.config = cfg;
  so.backend = "recording";
  so.threads = 2;
  ngp_error err;
  if (ngp_session_open(s, &so, &err) != NGP_OK) fail_msg("%s", err.msg);
  for (int i = 0; i < 3; i++)
    if (ngp_session_step(s, NULL, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_session_refresh(s, &err) != NGP_OK) fail_msg("%s", err.msg);
  free(cfg);
  free(train);
}

static bool same_file(const char *a, const char *b) {
  char *x = NULL, *y = NULL;
  size_t nx = 0, ny = 0;
  ngp_error err;
  if (ngp_read_file(a, 1 << 26, &x, &nx, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_read_file(b, 1 << 26, &y, &ny, &err) != NGP_OK) fail_msg("%s", err.msg);
  bool same = nx == ny && memcmp(x, y, nx) == 0;
  free(x);
  free(y);
  return same;
}

/* The transforms-as-path video, rendered through the backend interface: frame m * k has test frame
 * k's camera (in the file's order) and focal length; a frame alone equals the same frame within the
 * whole video. */
static void test_transforms_video(void **state) {
  (void)state;
  ngp_scene train, test;
  char *dir = ngp_test_synth_scene("video_transforms", 16, 4, 3, 3, &train, &test);
  ngp_session s;
  open_session(dir, &s);
  char *test_json = ngp_test_path(dir, "transforms_test.json");
  char *frames = ngp_test_path(dir, "frames/"), *alone = ngp_test_path(dir, "alone/");
  ngp_video_opts vo;
  ngp_video_opts_default(&vo);
  vo.camera_path = test_json;
  vo.n_seconds = 1.0;
  vo.fps = 7.0; /* 7 frames, 3 keyframes: m = 3 frames per segment */
  vo.spp = 2;
  vo.width = vo.height = 16;
  vo.output = frames;
  ngp_video_plan plan;
  ngp_error err;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(plan.n_frames, 7);
  g_rec_n = 0;
  if (ngp_session_video(&s, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(g_rec_n, 7); /* every frame went through the backend */
  for (int k = 0; k < 3; k++) {
    const ngp_frame *f = NULL;
    for (int i = 0; i < test.n_frames; i++)
      if (test.frames[i].json_index == k) f = &test.frames[i];
    assert_non_null(f);
    assert_xform_near(g_rec_xform[3 * k], f->xform, 1e-5f);
    assert_true(fabsf(g_rec_focal[3 * k][1] - f->focal[1]) < 1e-3f * f->focal[1]);
    assert_true(fabsf(g_rec_focal[3 * k][0] - f->focal[1]) < 1e-3f * f->focal[1]);
  }
  /* Between keyframes the camera is elsewhere. */
  assert_true(fabsf(g_rec_xform[1][3] - g_rec_xform[0][3]) > 1e-3f ||
              fabsf(g_rec_xform[1][7] - g_rec_xform[0][7]) > 1e-3f);
  ngp_video_plan_free(&plan);
  /* Frame 4 alone, into another folder: the same PNG bytes; and it differs from frame 3. */
  vo.first = vo.last = 4;
  vo.output = alone;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_session_video(&s, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_video_plan_free(&plan);
  char *f4 = ngp_test_path(frames, "0004.png"), *a4 = ngp_test_path(alone, "0004.png"),
       *f3 = ngp_test_path(frames, "0003.png"), *a3 = ngp_test_path(alone, "0003.png");
  assert_true(same_file(f4, a4));
  assert_false(same_file(f3, f4));
  assert_false(ngp_path_exists(a3)); /* only the range */
  /* With smoothing too: the smoothed camera of frame 4 does not depend on where rendering starts. */
  vo.smoothing = true;
  vo.first = vo.last = -1;
  vo.output = frames;
  g_rec_n = 0;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK || ngp_session_video(&s, &plan, &err) != NGP_OK)
    fail_msg("%s", err.msg);
  ngp_video_plan_free(&plan);
  float smoothed4[12];
  memcpy(smoothed4, g_rec_xform[4], sizeof smoothed4);
  vo.first = vo.last = 4;
  vo.output = alone;
  g_rec_n = 0;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK || ngp_session_video(&s, &plan, &err) != NGP_OK)
    fail_msg("%s", err.msg);
  ngp_video_plan_free(&plan);
  assert_int_equal(g_rec_n, 1);
  assert_xform_near(g_rec_xform[0], smoothed4, 0.0f);
  assert_true(same_file(f4, a4));
  /* Smoothing lags: frame 4's camera is not the path's. */
  vo.smoothing = false;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  float raw4[12], fov;
  ngp_video_frame_camera(&plan, 4, raw4, &fov);
  ngp_video_plan_free(&plan);
  assert_true(fabsf(raw4[3] - smoothed4[3]) + fabsf(raw4[7] - smoothed4[7]) + fabsf(raw4[11] - smoothed4[11]) > 1e-4f);

  free(f4);
  free(a4);
  free(f3);
  free(a3);
  free(frames);
  free(alone);
  free(test_json);
  ngp_session_close(&s);
  ngp_scene_free(&train);
  ngp_scene_free(&test);
  free(dir);
}

/* A 16-bit grey PNG's samples (w x h checked). */
static unsigned short *read_png16(const char *path, int w, int h) {
  char *b = NULL;
  size_t n = 0;
  ngp_error err;
  if (ngp_read_file(path, 1 << 26, &b, &n, &err) != NGP_OK) fail_msg("%s", err.msg);
  int x, y, c;
  unsigned short *d = stbi_load_16_from_memory((const unsigned char *)b, (int)n, &x, &y, &c, 1);
  free(b);
  if (!d) fail_msg("%s: not a PNG stb_image reads", path);
  assert_int_equal(x, w);
  assert_int_equal(y, h);
  assert_int_equal(c, 1); /* grey */
  return d;
}

/* --render-mode applies to videos: depth frames into a folder are 16-bit PNGs equal to the depth
 * screenshots of the same cameras (the transforms-as-path video at one frame per keyframe, the same
 * seed per frame); the cameras come through the path's quaternions, so a few pixels may differ by
 * the rounding of a depth of a sample near a cell boundary: >= 98% equal, the mean difference at
 * most 0.5 mm (0.0005 scene units; measured: 99.5% equal, 0.02 mm). */
static void test_depth_video_is_depth_screenshots(void **state) {
  (void)state;
  ngp_scene train, test;
  char *dir = ngp_test_synth_scene("video_depth", 16, 4, 3, 3, &train, &test);
  ngp_session s;
  open_session(dir, &s);
  s.opts.render_mode = NGP_RENDER_DEPTH;
  s.opts.spp = 1;
  char *test_json = ngp_test_path(dir, "transforms_test.json");
  char *frames = ngp_test_path(dir, "depth_frames/"), *shots = ngp_test_path(dir, "depth_shots");
  enum { W = 24, H = 24 }; /* the cameras' aspect (a screenshot of another aspect stretches) */
  ngp_video_opts vo;
  ngp_video_opts_default(&vo);
  vo.camera_path = test_json;
  vo.n_seconds = 1.0;
  vo.fps = 3.0; /* 3 frames, 3 keyframes: frame k is keyframe k */
  vo.spp = 1;
  vo.width = W;
  vo.height = H;
  vo.output = frames;
  ngp_video_plan plan;
  ngp_error err;
  if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_session_video(&s, &plan, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_video_plan_free(&plan);
  if (ngp_session_screenshots(&s, test_json, shots, W, H, &err) != NGP_OK) fail_msg("%s", err.msg);
  int hit_pixels = 0;
  for (int k = 0; k < 3; k++) {
    char name[64];
    snprintf(name, sizeof name, "%04d.png", k);
    char *fp = ngp_test_path(frames, name);
    snprintf(name, sizeof name, "r_%d.png", k);
    char *sp = ngp_test_path(shots, name);
    unsigned short *a = read_png16(fp, W, H), *b = read_png16(sp, W, H);
    int equal = 0;
    double diff = 0.0;
    for (int p = 0; p < W * H; p++) {
      equal += a[p] == b[p];
      diff += fabs((double)a[p] - (double)b[p]);
      hit_pixels += a[p] != 0;
    }
    print_message("depth frame %d: %d of %d pixels equal to the screenshot's, mean difference %.3f mm\n", k, equal,
                  W * H, diff / (W * H));
    assert_true(equal >= W * H * 98 / 100);
    assert_true(diff / (W * H) <= 0.5);
    stbi_image_free(a);
    stbi_image_free(b);
    free(fp);
    free(sp);
  }
  assert_true(hit_pixels > 3 * W * H / 20); /* the views show the objects: the comparison means something */
  /* H.264 frames take the modes in 8 bits: depth proportional on the video's scale, cost one level
   * per sample, normals and positions as their 8-bit screenshots. */
  const ngp_output_frame fr = {0.5f, {0.5f, 0.5f, 0.5f}, {0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};
  const float v[4 * 3] = {0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f, 2.0f, 2.0f, 2.0f, 3.0f, 3.0f, 3.0f};
  uint8_t px[4 * 3];
  ngp_output_rgb8(NGP_RENDER_DEPTH, 4, v, &fr, 2.0f, px);
  const uint8_t depth8[4] = {0, 128, 255, 255};
  for (int i = 0; i < 4; i++)
    for (int c = 0; c < 3; c++)
      assert_int_equal(px[i * 3 + c], depth8[i]);
  const float cost[2 * 3] = {17.0f, 17.0f, 17.0f, 900.0f, 900.0f, 900.0f};
  ngp_output_rgb8(NGP_RENDER_COST, 2, cost, &fr, 0.0f, px);
  assert_int_equal(px[0], 17);
  assert_int_equal(px[3], 255);
  const float normal[2 * 3] = {1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}; /* ngp +x is the scene's +y */
  ngp_output_rgb8(NGP_RENDER_NORMALS, 2, normal, &fr, 0.0f, px);
  assert_int_equal(px[0], 128);
  assert_int_equal(px[1], 255);
  assert_int_equal(px[2], 128);
  assert_int_equal(px[3] + px[4] + px[5], 0); /* nothing hit */
  free(frames);
  free(shots);
  free(test_json);
  ngp_session_close(&s);
  ngp_scene_free(&train);
  ngp_scene_free(&test);
  free(dir);
}

static void test_log_lerp(void **state) {
  (void)state;
  float a[12], b[12], s[12];
  two_poses(a, b);
  memcpy(s, a, sizeof s);
  ngp_camera_log_lerp(s, b, 0.0f);
  assert_xform_near(s, a, 1e-6f);
  ngp_camera_log_lerp(s, b, 1.0f);
  assert_xform_near(s, b, 1e-5f);
  /* A pure translation: half way is the midpoint. */
  float ax[3] = {0, 1, 0}, t0[3] = {0, 0, 0}, t1[3] = {2, -4, 6}, m[12], half[12];
  rot_axis_angle(ax, 0.4f, a, t0);
  rot_axis_angle(ax, 0.4f, b, t1);
  memcpy(s, a, sizeof s);
  ngp_camera_log_lerp(s, b, 0.5f);
  rot_axis_angle(ax, 0.4f, half, (float[3]){1, -2, 3});
  assert_xform_near(s, half, 1e-5f);
  /* A pure rotation about the world origin by 1 rad: half way is 0.5 rad about it. */
  float p[3] = {1, 0, 0}, rp[3] = {cosf(1.0f), 0, -sinf(1.0f)}, hp[3] = {cosf(0.5f), 0, -sinf(0.5f)};
  rot_axis_angle(ax, 0.0f, a, p);
  rot_axis_angle(ax, 1.0f, b, rp);
  rot_axis_angle(ax, 0.5f, m, hp);
  memcpy(s, a, sizeof s);
  ngp_camera_log_lerp(s, b, 0.5f);
  assert_xform_near(s, m, 1e-5f);
  /* instant-ngp's decay: 1 - 0.02^(1/fps). */
  assert_true(fabsf(ngp_camera_smoothing_alpha(60.0) - (float)(1.0 - pow(0.02, 1.0 / 60.0))) < 1e-7f);
}

static void test_orbit(void **state) {
  (void)state;
  ngp_scene train;
  char *dir = ngp_test_synth_scene("video_orbit", 8, 6, 0, 5, &train, NULL);
  ngp_orbit o;
  ngp_error err;
  if (ngp_orbit_from_scene(&train, &o, &err) != NGP_OK) fail_msg("%s", err.msg);
  /* ngp-synth's cameras sit 4 NeRF units from the origin: 4 * 0.33 in ngp units from the centre. */
  assert_true(fabsf(o.distance - 4.0f * 0.33f) < 1e-3f);
  double elev = 0.0;
  for (int i = 0; i < train.n_frames; i++) {
    const float *x = train.frames[i].xform;
    float v[3] = {x[3] - 0.5f, x[7] - 0.5f, x[11] - 0.5f};
    float d = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    elev += asin((double)((v[0] * o.up[0] + v[1] * o.up[1] + v[2] * o.up[2]) / d));
  }
  assert_true(fabs((double)o.elevation - elev / train.n_frames) < 1e-4);
  float m[12], m1[12];
  for (int k = 0; k < 8; k++) {
    ngp_orbit_xform(&o, k / 8.0, m);
    float v[3] = {m[3] - 0.5f, m[7] - 0.5f, m[11] - 0.5f};
    float d = sqrtf(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    assert_true(fabsf(d - o.distance) < 1e-4f);
    /* It looks at the centre: forward = -v / d. */
    for (int a = 0; a < 3; a++)
      assert_true(fabsf(m[a * 4 + 2] + v[a] / d) < 1e-5f);
    /* Elevation kept. */
    float s = (v[0] * o.up[0] + v[1] * o.up[1] + v[2] * o.up[2]) / d;
    assert_true(fabsf(asinf(s) - o.elevation) < 1e-4f);
    /* A proper rotation: det +1. */
    assert_true(fabsf(ngp_det3(m, 4) - 1.0f) < 1e-5f);
  }
  ngp_orbit_xform(&o, 0.0, m);
  ngp_orbit_xform(&o, 1.0, m1);
  assert_xform_near(m, m1, 1e-5f);
  ngp_orbit_xform(&o, 0.5, m1);
  assert_true(fabsf(m[3] - m1[3]) + fabsf(m[11] - m1[11]) > 0.5f); /* the other side */
  ngp_scene_free(&train);
  free(dir);
}

static void test_bad_path_files(void **state) {
  (void)state;
  static const struct {
    const char *json, *expect;
  } cases[] = {
      {"[1, 2]", "bad.json: expected a JSON object at the top level (a camera path), found an array"},
      {"{\"loop\": false}", "bad.json: path: missing; a camera path lists its keyframes"},
      {"{\"path\": []}", "bad.json: path: no keyframes"},
      {"{\"path\": {}}", "bad.json: path: expected an array"},
      {"{\"path\": [3]}", "bad.json: path[0]: expected a keyframe object, found a number"},
      {"{\"path\": [{\"R\": \"q\", \"T\": [0,0,0], \"fov\": 50}]}",
       "bad.json: path[0].R: expected an array of 4 numbers"},
      {"{\"path\": [{\"R\": [0,0,1], \"T\": [0,0,0], \"fov\": 50}]}",
       "bad.json: path[0].R: expected an array of 4 numbers"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50}, {\"R\": [0,0,0,0], \"T\": [0,0,0], \"fov\": 50}]}",
       "bad.json: path[1].R: the quaternion is zero"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"fov\": 50}]}", "bad.json: path[0].T: missing"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0]}]}", "bad.json: path[0].fov: missing"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 0}]}",
       "bad.json: path[0].fov: 0 is not a vertical field of view"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 200}]}", "bad.json: path[0].fov: 200 is not"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,\"x\",0], \"fov\": 50}]}", "bad.json: path[0].T"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50, \"scale\": \"big\"}]}",
       "bad.json: path[0].scale: expected a number, found a string"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50, \"dof\": []}]}",
       "bad.json: path[0].dof: expected a number"},
      {"{\"spline_order\": 5, \"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50}]}",
       "bad.json: spline_order: 5 is out of range [0, 3]"},
      {"{\"loop\": \"yes\", \"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50}]}",
       "bad.json: loop: expected true or false, found a string"},
      {"{\"duration_seconds\": -1, \"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50}]}",
       "bad.json: duration_seconds: -1 is not a duration"},
      {"{\"path\": [{\"R\": [0,0,0,1], \"T\": [0,0,0], \"fov\": 50},]}", "bad.json:1:"},
  };
  char *dir = ngp_test_tmpdir("video_bad");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *file = write_path_file(dir, "bad.json", cases[i].json);
    ngp_camera_path p;
    ngp_error err;
    ngp_status st = ngp_camera_path_load(file, &p, &err);
    if (st == NGP_OK) fail_msg("case %zu (%s) was accepted", i, cases[i].json);
    assert_contains(err.msg, cases[i].expect);
    assert_null(p.keys);
    free(file);
  }
  /* A valid file from instant-ngp's GUI (dof spelling, no timestamps) loads. */
  char *file = write_path_file(
      dir, "ok.json",
      "{\"path\": [{\"R\": [0,0,0,2], \"T\": [1,2,3], \"fov\": 50, \"scale\": 1, \"slice\": 0, \"dof\": 0.1},"
      " {\"R\": [0,0,0,1], \"T\": [1,2,4], \"fov\": 50, \"scale\": 1, \"slice\": 0, \"dof\": 0}], \"time\": 0.5}");
  ngp_camera_path p;
  ngp_error err;
  if (ngp_camera_path_load(file, &p, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(p.n_keys, 2);
  assert_int_equal(p.spline_order, 3);
  assert_true(fabsf(p.keys[0].aperture_size - 0.1f) < 1e-7f);
  assert_true(fabsf(p.keys[1].timestamp - 1.0f) < 1e-7f); /* made equidistant */
  ngp_camera_path_free(&p);
  free(file);
  free(dir);
}

static void test_save_load_roundtrip(void **state) {
  (void)state;
  float a[12], b[12];
  two_poses(a, b);
  ngp_camera_path p, q;
  make_path(a, b, 3, 2, &p);
  p.loop = true;
  p.keys[1].slice = 0.25f;
  p.keys[2].aperture_size = 0.01f;
  char *dir = ngp_test_tmpdir("video_roundtrip");
  char *file = ngp_test_path(dir, "base_cam.json");
  ngp_error err;
  assert_int_equal(ngp_camera_path_save(file, &p, &err), NGP_OK);
  if (ngp_camera_path_load(file, &q, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(q.n_keys, p.n_keys);
  assert_true(q.loop);
  assert_int_equal(q.spline_order, 3);
  assert_memory_equal(q.keys, p.keys, (size_t)p.n_keys * sizeof *p.keys); /* bit for bit */
  ngp_camera_path_free(&p);
  ngp_camera_path_free(&q);
  free(file);
  free(dir);
}

static void test_writer_outputs(void **state) {
  (void)state;
  ngp_error err;
  assert_int_equal(ngp_video_check_pattern("f_%04d.png", &err), NGP_OK);
  assert_int_equal(ngp_video_check_pattern("100%%_%d.png", &err), NGP_OK);
  assert_int_equal(ngp_video_check_pattern("f_%s.png", &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "must read like %04d");
  assert_int_equal(ngp_video_check_pattern("%d_%d.png", &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "more than one");
  assert_true(ngp_video_output_is_file("v.mp4"));
  assert_false(ngp_video_output_is_file("frames/"));
  assert_false(ngp_video_output_is_file("f_%03d.png"));
  char *dir = ngp_test_tmpdir("video_writer");
  char *pattern = ngp_test_path(dir, "f_%03d.png");
  uint8_t rgb[4 * 2 * 3];
  for (size_t i = 0; i < sizeof rgb; i++)
    rgb[i] = (uint8_t)(i * 10);
  ngp_video_writer *vw;
  assert_int_equal(ngp_video_writer_open(&vw, pattern, 4, 2, 30.0, &err), NGP_OK);
  assert_int_equal(ngp_video_writer_frame(vw, 7, rgb, &err), NGP_OK);
  assert_int_equal(ngp_video_writer_close(vw, &err), NGP_OK);
  char *f7 = ngp_test_path(dir, "f_007.png");
  ngp_image img;
  if (ngp_image_load(f7, &img, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(img.width, 4);
  assert_int_equal(img.height, 2);
  for (int p = 0; p < 8; p++)
    for (int c = 0; c < 3; c++)
      assert_int_equal(img.rgba[p * 4 + c], rgb[p * 3 + c]);
  ngp_image_free(&img);
  /* H.264 needs an even size. */
  char *mp4 = ngp_test_path(dir, "odd.mp4");
  if (ngp_video_have_ffmpeg()) {
    assert_int_equal(ngp_video_writer_open(&vw, mp4, 5, 4, 30.0, &err), NGP_ERR_INVALID);
    assert_contains(err.msg, "odd.mp4: H.264 (yuv420p) needs an even width and height, not 5x4");
  }
  free(mp4);
  free(f7);
  free(pattern);
  free(dir);
}

int main(void) {
  ngp_error err;
  if (ngp_backend_register(&rec_type, &err) != NGP_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_quat_roundtrip),
      cmocka_unit_test(test_linear_path_through_two_poses),
      cmocka_unit_test(test_cubic_spline_as_instant_ngp),
      cmocka_unit_test(test_loop_and_timestamps),
      cmocka_unit_test(test_transforms_video),
      cmocka_unit_test(test_depth_video_is_depth_screenshots),
      cmocka_unit_test(test_log_lerp),
      cmocka_unit_test(test_orbit),
      cmocka_unit_test(test_bad_path_files),
      cmocka_unit_test(test_save_load_roundtrip),
      cmocka_unit_test(test_writer_outputs),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
