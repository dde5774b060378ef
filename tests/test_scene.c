/* test_scene.c: the transforms.json loader: every field, the frame conversion against values
 * worked out by hand, folder selection, missing images, and bad input of every kind. Scenes are
 * written into scratch folders by the tests themselves. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include "core/fs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDENT_AT(x, y, z) "[[1,0,0," #x "],[0,1,0," #y "],[0,0,1," #z "],[0,0,0,1]]"

/* Writes `json` as dir/name and `n_png` 8x6 RGB images train/r_0..r_{n-1}.png; returns the json path. */
static char *write_scene(const char *dir, const char *name, const char *json, int n_png) {
  char *path = ngp_test_path(dir, name);
  ngp_test_write_text(path, json);
  for (int i = 0; i < n_png; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "train/r_%d.png", i);
    char *img = ngp_test_path(dir, rel);
    ngp_test_write_png(img, 8, 6, 3, i);
    free(img);
  }
  return path;
}

static ngp_status load(const char *path, ngp_scene *s, ngp_error *err) {
  ngp_scene_options o;
  ngp_scene_options_default(&o);
  o.n_threads = 2;
  return ngp_scene_load(path, &o, s, err);
}

/* Loads a scene that must fail; returns the message. */
static const char *load_fail(const char *json, int n_png, ngp_status expect) {
  static ngp_error err;
  char *dir = ngp_test_tmpdir("scene_fail");
  char *path = write_scene(dir, "transforms.json", json, n_png);
  ngp_scene s;
  ngp_test_log_begin();
  ngp_status st = load(path, &s, &err);
  ngp_test_log_end();
  if (st != expect) fail_msg("expected status %d, got %d (%s)", expect, st, st ? err.msg : "ok");
  assert_contains(err.msg, "transforms.json");
  free(path);
  free(dir);
  return err.msg;
}

static void test_basic_angle_and_order(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_basic");
  /* Listed out of order, without extensions (NeRF-synthetic style). */
  char *path = write_scene(
      dir, "transforms.json",
      "{\"camera_angle_x\": 0.8, \"frames\": ["
      "{\"file_path\": \"./train/r_10\", \"transform_matrix\": " IDENT_AT(
          0, 0, 0) "},"
                   "{\"file_path\": \"./train/r_2\", \"transform_matrix\": " IDENT_AT(
                       1, 2, 3) "},"
                                "{\"file_path\": \"./train/r_1\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
      11);
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(path, &s, &err), NGP_OK);
  assert_int_equal(s.n_frames, 3);
  assert_string_equal(s.frames[0].file_path, "./train/r_1");
  assert_string_equal(s.frames[1].file_path, "./train/r_2");
  assert_string_equal(s.frames[2].file_path, "./train/r_10");
  assert_int_equal(s.frames[1].json_index, 1);
  assert_contains(s.frames[1].image_path, "train/r_2.png");
  /* focal = 0.5 * 8 / tan(0.4) on x, and y follows x. */
  float fx = 0.5f * 8.0f / tanf(0.4f);
  assert_float_equal(s.frames[0].focal[0], fx, 1e-3);
  assert_float_equal(s.frames[0].focal[1], fx, 1e-3);
  assert_float_equal(s.frames[0].principal[0], 0.5f, 0);
  assert_float_equal(s.frames[0].principal[1], 0.5f, 0);
  assert_int_equal(s.frames[0].lens.mode, NGP_LENS_PINHOLE);
  /* Frame at NeRF (1, 2, 3): worked by hand in test_core, here through the loader. */
  const float expect[12] = {0, -1, 0, 1.16f, 0, 0, -1, 1.49f, 1, 0, 0, 0.83f};
  for (int i = 0; i < 12; i++)
    assert_float_equal(s.frames[1].xform[i], expect[i], 1e-5);
  assert_float_equal(s.frames[1].xform_nerf[3], 1.0f, 0);
  /* Defaults: scale 0.33, offset 0.5, aabb_scale 1 -> the unit cube, one cascade. */
  assert_float_equal(s.scale, 0.33f, 0);
  assert_float_equal(s.offset[2], 0.5f, 0);
  assert_int_equal(s.aabb_scale, 1);
  assert_int_equal(s.n_cascades, 1);
  assert_float_equal(s.aabb_min[0], 0.0f, 0);
  assert_float_equal(s.aabb_max[0], 1.0f, 0);
  /* Images: decoded to RGBA, pixel values as written, opaque. */
  assert_true(s.images_loaded);
  assert_false(s.has_alpha);
  const ngp_image *im = &s.frames[1].image; /* r_2: value (x + 3y + 2) */
  assert_int_equal(im->width, 8);
  assert_int_equal(im->height, 6);
  assert_int_equal(im->source_channels, 3);
  assert_int_equal(im->rgba[(2 * 8 + 5) * 4 + 0], 5 + 6 + 2);
  assert_int_equal(im->rgba[(2 * 8 + 5) * 4 + 3], 255);
  assert_int_equal(ngp_scene_image_bytes(&s), 3 * 8 * 6 * 4);
  assert_int_equal(s.n_sources, 1);
  assert_int_equal(s.n_skipped, 0);
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

/* The "every Nth image" split: frames 0, N, 2N, ... of those with an image (in the loaded order)
 * held out, the others kept; the two parts are disjoint and together the whole scene. A frame
 * without its image (r_9) does not count. */
static void test_holdout_split(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_holdout");
  char json[4096] =
      "{\"camera_angle_x\": 0.8, \"frames\": [{\"file_path\": \"./train/r_9\", \"transform_matrix\": " IDENT_AT(0, 0,
                                                                                                                0) "},";
  for (int i = 6; i >= 0; i--) /* listed backwards: the split follows the loaded (sorted) order */
    snprintf(json + strlen(json), sizeof json - strlen(json),
             "{\"file_path\": \"./train/r_%d\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}%s", i, i ? "," : "]}");
  char *path = write_scene(dir, "transforms.json", json, 7);
  ngp_scene_options o;
  ngp_scene_options_default(&o);
  o.holdout_every = 3;
  o.quiet_skipped = true;
  ngp_scene train, held;
  ngp_error err;
  assert_int_equal(ngp_scene_load(path, &o, &train, &err), NGP_OK);
  assert_int_equal(train.n_skipped, 1);
  o.holdout_only = true;
  assert_int_equal(ngp_scene_load(path, &o, &held, &err), NGP_OK);
  const char *want_train[] = {"./train/r_1", "./train/r_2", "./train/r_4", "./train/r_5"};
  const char *want_held[] = {"./train/r_0", "./train/r_3", "./train/r_6"};
  assert_int_equal(train.n_frames, 4);
  assert_int_equal(held.n_frames, 3);
  for (int i = 0; i < 4; i++)
    assert_string_equal(train.frames[i].file_path, want_train[i]);
  for (int i = 0; i < 3; i++)
    assert_string_equal(held.frames[i].file_path, want_held[i]);
  /* Images come with the kept frames: r_4's pixel values (x + 3y + 4). */
  assert_int_equal(train.frames[2].image.rgba[(2 * 8 + 5) * 4], 5 + 6 + 4);
  ngp_scene_free(&train);
  ngp_scene_free(&held);
  /* 0 and 1 keep every frame. */
  o.holdout_only = false;
  for (int every = 0; every <= 1; every++) {
    o.holdout_every = every;
    assert_int_equal(ngp_scene_load(path, &o, &train, &err), NGP_OK);
    assert_int_equal(train.n_frames, 7);
    ngp_scene_free(&train);
  }
  /* Nothing left to train on: said, not an empty scene. */
  char *one = write_scene(dir, "one.json",
                          "{\"camera_angle_x\": 0.8, \"frames\": [{\"file_path\": \"./train/r_0\", "
                          "\"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                          1);
  o.holdout_every = 2;
  assert_int_equal(ngp_scene_load(one, &o, &train, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "no frame to train on: 1 with an image, and frames 0, 2, ... of them are held out");
  free(one);
  free(path);
  free(dir);
}

static void test_pixels_intrinsics_and_lens(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_intr");
  char *path = write_scene(dir, "t.json",
                           "{\"fl_x\": 100, \"fl_y\": 90, \"cx\": 3, \"cy\": 2, \"w\": 8, \"h\": 6,"
                           " \"camera_angle_x\": 1.0,"
                           " \"k1\": 0.1, \"k2\": -0.2, \"k3\": 0.7, \"p1\": 0.01, \"p2\": 0.02,"
                           " \"frames\": ["
                           "{\"file_path\": \"train/r_0.png\", \"transform_matrix\": " IDENT_AT(
                               0, 0, 0) "},"
                                        "{\"file_path\": \"train/r_1.png\", \"fl_x\": 50, \"cx\": 4, \"k1\": 0.3,"
                                        " \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                           2);
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(path, &s, &err), NGP_OK);
  /* fl_x outranks camera_angle_x in the same object. */
  assert_float_equal(s.frames[0].focal[0], 100.0f, 0);
  assert_float_equal(s.frames[0].focal[1], 90.0f, 0);
  assert_float_equal(s.frames[0].principal[0], 3.0f / 8.0f, 1e-7);
  assert_float_equal(s.frames[0].principal[1], 2.0f / 6.0f, 1e-7);
  /* p1, p2 overwrite k3's slot: params are k1, k2, p1, p2. */
  assert_int_equal(s.frames[0].lens.mode, NGP_LENS_OPENCV);
  assert_float_equal(s.frames[0].lens.params[0], 0.1f, 0);
  assert_float_equal(s.frames[0].lens.params[1], -0.2f, 0);
  assert_float_equal(s.frames[0].lens.params[2], 0.01f, 0);
  assert_float_equal(s.frames[0].lens.params[3], 0.02f, 0);
  /* Per-frame keys override the file's, the rest is inherited. */
  assert_float_equal(s.frames[1].focal[0], 50.0f, 0);
  assert_float_equal(s.frames[1].focal[1], 90.0f, 0);
  assert_float_equal(s.frames[1].principal[0], 0.5f, 1e-7);
  assert_float_equal(s.frames[1].lens.params[0], 0.3f, 0);
  assert_float_equal(s.frames[1].lens.params[1], -0.2f, 0);
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

static void test_focal_priority_and_y_only(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_fov");
  /* x_fov (degrees) outranks fl_x; only a y angle given -> x follows y. */
  char *path = write_scene(dir, "t.json",
                           "{\"x_fov\": 90, \"fl_x\": 1, \"camera_angle_y\": 1.2, \"frames\": ["
                           "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                           1);
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(path, &s, &err), NGP_OK);
  assert_float_equal(s.frames[0].focal[0], 4.0f, 1e-4); /* 0.5 * 8 / tan(45 deg) */
  assert_float_equal(s.frames[0].focal[1], 0.5f * 6.0f / tanf(0.6f), 1e-4);
  ngp_scene_free(&s);
  free(path);
  path = write_scene(dir, "t2.json",
                     "{\"camera_angle_y\": 1.2, \"is_fisheye\": true, \"k1\": 0.5, \"k4\": 0.25, \"frames\": ["
                     "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     1);
  assert_int_equal(load(path, &s, &err), NGP_OK);
  assert_float_equal(s.frames[0].focal[0], s.frames[0].focal[1], 0);
  assert_int_equal(s.frames[0].lens.mode, NGP_LENS_OPENCV_FISHEYE);
  assert_float_equal(s.frames[0].lens.params[3], 0.25f, 0);
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

static void test_dataset_keys(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_keys");
  char *path = write_scene(
      dir, "t.json",
      "{\"camera_angle_x\": 1, \"aabb_scale\": 4, \"scale\": 2, \"offset\": [0.1, 0.2, 0.3],"
      " \"up\": [0, 0, 1], \"n_frames\": 2, \"frames\": ["
      "{\"file_path\": \"train\\\\r_2\", \"transform_matrix\": " IDENT_AT(
          1, 1, 1) "},"
                   "{\"file_path\": \"train/r_1\", \"transform_matrix\": " IDENT_AT(
                       1, 1, 1) "},"
                                "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(1, 1, 1) "}]}",
      3);
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(path, &s, &err), NGP_OK);
  /* n_frames truncates after sorting: r_0 and r_1 stay. */
  assert_int_equal(s.n_frames, 2);
  assert_string_equal(s.frames[0].file_path, "train/r_0");
  assert_int_equal(s.aabb_scale, 4);
  assert_int_equal(s.n_cascades, 3);
  assert_float_equal(s.aabb_min[1], -1.5f, 0);
  assert_float_equal(s.aabb_max[2], 2.5f, 0);
  /* position (1,1,1)*2 + (0.1,0.2,0.3) = (2.1, 2.2, 2.3), permuted to (2.2, 2.3, 2.1). */
  assert_float_equal(s.frames[0].xform[3], 2.2f, 1e-6);
  assert_float_equal(s.frames[0].xform[7], 2.3f, 1e-6);
  assert_float_equal(s.frames[0].xform[11], 2.1f, 1e-6);
  assert_true(s.has_up);
  assert_float_equal(s.up[1], 1.0f, 0); /* NeRF z-up is ngp y */
  ngp_scene_free(&s);
  free(path);
  /* A scalar offset, and backslashes in file_path. */
  path = write_scene(dir, "t2.json",
                     "{\"camera_angle_x\": 1, \"offset\": 1, \"frames\": ["
                     "{\"file_path\": \"train\\\\r_2\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     3);
  assert_int_equal(load(path, &s, &err), NGP_OK);
  assert_string_equal(s.frames[0].file_path, "train/r_2");
  assert_float_equal(s.frames[0].xform[3], 1.0f, 0);
  ngp_scene_free(&s);
  free(path);
  /* An explicit aabb sets scale = 1/largest side and maps its centre to 0.5. */
  path = write_scene(dir, "t3.json",
                     "{\"camera_angle_x\": 1, \"aabb\": [[-1, -2, -1], [1, 2, 3]], \"frames\": ["
                     "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 1) "}]}",
                     1);
  assert_int_equal(load(path, &s, &err), NGP_OK);
  assert_float_equal(s.scale, 0.25f, 0);
  /* centre (0, 0, 1): offsets (0.5, 0.5, 0.25); NeRF z = 1 maps to 0.5 -> ngp y. */
  assert_float_equal(s.offset[2], 0.25f, 1e-7);
  assert_float_equal(s.frames[0].xform[7], 0.5f, 1e-6);
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

static void test_renormalise_rotation(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_det");
  char *path = write_scene(dir, "t.json",
                           "{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\","
                           " \"transform_matrix\": [[2,0,0,0],[0,2,0,0],[0,0,2,0]]}]}",
                           1);
  ngp_scene s;
  ngp_error err;
  ngp_test_log_begin();
  assert_int_equal(load(path, &s, &err), NGP_OK);
  ngp_test_log_end();
  assert_int_equal(s.n_renormalised, 1);
  assert_float_equal(s.frames[0].xform_nerf[0], 1.0f, 1e-6);
  assert_contains(ngp_test_log_text(), "renormalised");
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

static void test_missing_images_skipped(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_missing");
  char *path = write_scene(
      dir, "transforms.json",
      "{\"camera_angle_x\": 1, \"frames\": ["
      "{\"file_path\": \"train/r_0.png\", \"transform_matrix\": " IDENT_AT(
          0, 0, 0) "},"
                   "{\"file_path\": \"train/gone.png\", \"transform_matrix\": " IDENT_AT(
                       0, 0, 0) "},"
                                "{\"file_path\": \"train/r_1.png\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
      2);
  ngp_scene s;
  ngp_error err;
  ngp_test_log_begin();
  assert_int_equal(load(dir, &s, &err), NGP_OK);
  ngp_test_log_end();
  assert_int_equal(s.n_frames, 2);
  assert_int_equal(s.n_skipped, 1);
  assert_contains(s.skipped[0], "frames[1] (train/gone.png)");
  assert_int_equal(ngp_test_log_count(), 1);
  assert_contains(ngp_test_log_text(), "train/gone.png");
  assert_contains(ngp_test_log_text(), "1 of 3 frames skipped, their image file is missing");
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

/* Many missing images: one warning with the count, the first few names and how many more. */
static void test_many_missing_images_one_warning(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_many_missing");
  char json[8192];
  size_t len = (size_t)snprintf(json, sizeof json, "{\"camera_angle_x\": 1, \"frames\": [");
  len += (size_t)snprintf(json + len, sizeof json - len,
                          "{\"file_path\": \"train/r_0.png\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}");
  for (int i = 0; i < 30; i++)
    len += (size_t)snprintf(json + len, sizeof json - len,
                            ",{\"file_path\": \"train/gone_%d.png\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}", i);
  snprintf(json + len, sizeof json - len, "]}");
  char *path = write_scene(dir, "transforms.json", json, 1);
  ngp_scene s;
  ngp_error err;
  ngp_test_log_begin();
  assert_int_equal(load(dir, &s, &err), NGP_OK);
  ngp_test_log_end();
  assert_int_equal(s.n_skipped, 30);
  assert_int_equal(ngp_test_log_count(), 1);
  assert_contains(ngp_test_log_text(), "30 of 31 frames skipped");
  assert_contains(ngp_test_log_text(), "gone_0.png");
  assert_contains(ngp_test_log_text(), "and 26 more");
  assert_null(strstr(ngp_test_log_text(), "gone_29.png"));
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

static void test_no_usable_frame(void **state) {
  (void)state;
  const char *msg = load_fail("{\"camera_angle_x\": 1, \"frames\": ["
                              "{\"file_path\": \"nope/a.png\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                              0, NGP_ERR_INVALID);
  assert_contains(msg, "no usable frame");
  msg = load_fail("{\"camera_angle_x\": 1, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(msg, "no usable frame");
}

static void test_folder_selection(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_folder");
  const char *one =
      "{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0,
                                                                                                            0) "}]}";
  const char *two =
      "{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(
          0, 0, 0) "},"
                   "{\"file_path\": \"train/r_1\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}";
  free(write_scene(dir, "transforms_test.json", two, 2));
  free(write_scene(dir, "transforms_val.json", two, 0));
  free(write_scene(dir, "transforms_train.json", one, 0));
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(dir, &s, &err), NGP_OK);
  assert_int_equal(s.n_sources, 1);
  assert_contains(s.sources[0], "transforms_train.json");
  assert_int_equal(s.n_ignored, 2);
  assert_int_equal(s.n_frames, 1);
  ngp_scene_free(&s);
  free(dir);

  /* transforms.json wins over other names. */
  dir = ngp_test_tmpdir("scene_folder2");
  free(write_scene(dir, "transforms.json", one, 2));
  free(write_scene(dir, "extra.json", two, 0));
  assert_int_equal(load(dir, &s, &err), NGP_OK);
  assert_contains(s.sources[0], "/transforms.json");
  assert_int_equal(s.n_frames, 1);
  ngp_scene_free(&s);
  free(dir);

  /* No conventional name: every json with a frames array, in natural order; others ignored. */
  dir = ngp_test_tmpdir("scene_folder3");
  free(write_scene(dir, "b10.json", one, 2));
  free(write_scene(dir, "b2.json", two, 0));
  free(write_scene(dir, "notes.json", "{\"comment\": 1}", 0));
  assert_int_equal(load(dir, &s, &err), NGP_OK);
  assert_int_equal(s.n_sources, 2);
  assert_contains(s.sources[0], "b2.json");
  assert_contains(s.sources[1], "b10.json");
  assert_int_equal(s.n_ignored, 1);
  assert_int_equal(s.n_frames, 3);
  assert_int_equal(s.frames[2].source, 1);
  ngp_scene_free(&s);
  free(dir);

  /* An empty folder, and one whose only json has no frames. */
  dir = ngp_test_tmpdir("scene_folder_empty");
  assert_int_equal(load(dir, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "no transforms file");
  assert_contains(err.msg, "scene_folder_empty");
  free(write_scene(dir, "x.json", "[1, 2]", 0));
  assert_int_equal(load(dir, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "no transforms file");
  free(dir);

  assert_int_equal(load("/nonexistent/scene", &s, &err), NGP_ERR_IO);
  assert_contains(err.msg, "/nonexistent/scene: no such file or directory");
}

static void test_image_formats(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_formats");
  for (int c = 1; c <= 4; c++) {
    char rel[32];
    snprintf(rel, sizeof rel, "img/c%d.png", c);
    char *p = ngp_test_path(dir, rel);
    ngp_test_write_png(p, 5, 4, c, 100);
    free(p);
  }
  char *path =
      write_scene(dir, "t.json",
                  "{\"camera_angle_x\": 1, \"frames\": ["
                  "{\"file_path\": \"img/c1\", \"transform_matrix\": " IDENT_AT(
                      0, 0, 0) "},"
                               "{\"file_path\": \"img/c2\", \"transform_matrix\": " IDENT_AT(
                                   0, 0, 0) "},"
                                            "{\"file_path\": \"img/c3\", \"transform_matrix\": " IDENT_AT(
                                                0, 0, 0) "},"
                                                         "{\"file_path\": \"img/c4\", \"transform_matrix\": " IDENT_AT(
                                                             0, 0, 0) "}]}",
                  0);
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(path, &s, &err), NGP_OK);
  for (int i = 0; i < 4; i++) {
    const ngp_image *im = &s.frames[i].image;
    assert_int_equal(im->source_channels, i + 1);
    int v = (1 + 3 * 2 + 100) & 255; /* pixel (1, 2) */
    const uint8_t *px = im->rgba + (2 * 5 + 1) * 4;
    assert_int_equal(px[0], v);
    assert_int_equal(px[2], v); /* grey replicated to RGB */
    assert_int_equal(px[3], (i == 1 || i == 3) ? v : 255);
  }
  assert_true(s.has_alpha);
  ngp_scene_free(&s);
  /* Header-only loading gives sizes without pixels. */
  ngp_scene_options o;
  ngp_scene_options_default(&o);
  o.load_images = false;
  assert_int_equal(ngp_scene_load(path, &o, &s, &err), NGP_OK);
  assert_null(s.frames[0].image.rgba);
  assert_int_equal(s.frames[0].image.width, 5);
  assert_false(s.images_loaded);
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

static void test_bad_images(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_badimg");
  const char *json = "{\"camera_angle_x\": 1, \"frames\": ["
                     "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}";
  char *path = write_scene(dir, "t.json", json, 1);
  char *img = ngp_test_path(dir, "train/r_0.png");
  /* Truncated PNG: the first 60 bytes of a valid one. */
  char *bytes = NULL;
  size_t len = 0;
  FILE *f = fopen(img, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  len = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  bytes = malloc(len);
  assert_int_equal(fread(bytes, 1, len, f), len);
  fclose(f);
  ngp_test_write_bytes(img, bytes, 60);
  ngp_scene s;
  ngp_error err;
  assert_int_not_equal(load(path, &s, &err), NGP_OK);
  assert_contains(err.msg, "t.json: frames[0]:");
  assert_contains(err.msg, "train/r_0.png");
  free(bytes);
  /* A text file named .png. */
  ngp_test_write_text(img, "this is not an image\n");
  assert_int_equal(load(path, &s, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "r_0.png: not a readable image");
  /* A valid 1x1 GIF: a format stb_impl.c leaves out (GIF, PSD, PIC, HDR), named as such. */
  static const unsigned char gif[] = {'G',  'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0, 0,   0, 0, 0xff, 0xff,
                                      0xff, ',', 0,   0,   0,   0,   1, 0, 1, 0, 0,    2, 2, 'D', 1, 0, ';'};
  ngp_test_write_bytes(img, gif, sizeof gif);
  assert_int_equal(load(path, &s, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "r_0.png: not a readable image");
  assert_contains(err.msg, "expected PNG, JPEG, BMP, TGA or PNM");
  /* An empty file. */
  ngp_test_write_bytes(img, "", 0);
  assert_int_not_equal(load(path, &s, &err), NGP_OK);
  assert_contains(err.msg, "r_0.png");
  /* An unreadable file (only meaningful when not running as root, who reads everything). */
  ngp_test_write_png(img, 4, 4, 3, 0);
  chmod(img, 0);
  if (access(img, R_OK) != 0) {
    assert_int_equal(load(path, &s, &err), NGP_ERR_IO);
    assert_contains(err.msg, "Permission denied");
  }
  chmod(img, 0644);
  /* A PNG header claiming an absurd size is refused before decoding. */
  static const unsigned char huge[] = {0x89, 'P',  'N', 'G', '\r', '\n', 0x1a, '\n', 0,    0,    0,
                                       13,   'I',  'H', 'D', 'R',  0x00, 0x10, 0x00, 0x00, 0x00, 0x10,
                                       0x00, 0x00, 8,   6,   0,    0,    0,    0,    0,    0,    0};
  ngp_test_write_bytes(img, huge, sizeof huge);
  assert_int_not_equal(load(path, &s, &err), NGP_OK);
  assert_contains(err.msg, "r_0.png");
  free(img);
  free(path);
  free(dir);
}

static void test_bad_json(void **state) {
  (void)state;
  const char *m;
  m = load_fail("{\"frames\": [", 0, NGP_ERR_PARSE);
  assert_contains(m, "transforms.json:1:");
  m = load_fail("[]", 0, NGP_ERR_INVALID);
  assert_contains(m, "expected a JSON object");
  m = load_fail("{\"camera_angle_x\": 1}", 0, NGP_ERR_INVALID);
  assert_contains(m, "frames: missing");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": {}}", 0, NGP_ERR_INVALID);
  assert_contains(m, "frames: expected an array, found an object");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [3]}", 0, NGP_ERR_INVALID);
  assert_contains(m, "frames[0]: expected an object, found a number");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}", 1,
                NGP_ERR_INVALID);
  assert_contains(m, "frames[0].file_path: missing");
  m = load_fail(
      "{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": 5, \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}", 1,
      NGP_ERR_INVALID);
  assert_contains(m, "frames[0].file_path: expected a string, found a number");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\"}]}", 1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix: missing");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": "
                "[[1,0,0],[0,1,0],[0,0,1]]}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix[0]: expected a row of 4 numbers, found 3 elements");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": "
                "[[1,0,0,0],[0,\"a\",0,0],[0,0,1,0]]}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix[1][1]: expected a number, found a string");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": "
                "[[1,0,0,1e999],[0,1,0,0],[0,0,1,0]]}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "transform_matrix[0][3]: the number is not finite");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": "
                "[[1,0,0,0],[1,0,0,0],[0,0,1,0]]}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix: the rotation is singular");
  m = load_fail("{\"camera_angle_x\": \"wide\", \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "camera_angle_x: expected a number, found a string");
  m = load_fail("{\"camera_angle_x\": -1, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "camera_angle_x: angle -1 is not in (0, pi)");
  m = load_fail("{\"fl_x\": 0, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "fl_x: focal length 0 must be positive");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"fl_y\": [1], "
                "\"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].fl_y: expected a number, found an array");
  m = load_fail("{\"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}", 1,
                NGP_ERR_INVALID);
  assert_contains(m, "frames[0]: no focal length");
  m = load_fail("{\"camera_angle_x\": 1, \"aabb_scale\": 3, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "aabb_scale: 3 is not a power of two");
  m = load_fail("{\"camera_angle_x\": 1, \"aabb_scale\": 256, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "aabb_scale: 256 is out of range");
  m = load_fail("{\"camera_angle_x\": 1, \"aabb_scale\": 0, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "aabb_scale: 0 is out of range");
  m = load_fail("{\"camera_angle_x\": 1, \"aabb_scale\": 2.5, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "aabb_scale: expected an integer");
  m = load_fail("{\"camera_angle_x\": 1, \"scale\": -1, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "scale: -1 must be positive");
  m = load_fail("{\"camera_angle_x\": 1, \"offset\": \"x\", \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "offset: expected a number or an array of 3 numbers, found a string");
  m = load_fail("{\"camera_angle_x\": 1, \"offset\": [1, 2], \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "offset: expected an array of 3 numbers, found 2 elements");
  m = load_fail("{\"camera_angle_x\": 1, \"w\": 0, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "w: 0 is out of range");
  m = load_fail("{\"camera_angle_x\": 1, \"w\": 1e12, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "w: 1000000000000 is out of range");
  m = load_fail("{\"camera_angle_x\": 1, \"n_frames\": -1, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "n_frames: -1 is out of range");
  m = load_fail("{\"camera_angle_x\": 1, \"aabb\": [[0,0,0],[1,0,1]], \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "aabb: max[1] = 0 is not above min[1] = 0");
  m = load_fail("{\"camera_angle_x\": 1, \"k1\": true, \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "k1: expected a number, found a boolean");
}

static void test_different_sizes_per_frame(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_sizes");
  char *big = ngp_test_path(dir, "train/big.png");
  ngp_test_write_png(big, 16, 12, 3, 0);
  char *path = write_scene(dir, "t.json",
                           "{\"camera_angle_x\": 1, \"frames\": ["
                           "{\"file_path\": \"train/big\", \"transform_matrix\": " IDENT_AT(
                               0, 0, 0) "},"
                                        "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                           1);
  ngp_scene s;
  ngp_error err;
  assert_int_equal(load(path, &s, &err), NGP_OK);
  /* A focal from an angle scales with each image's own width. */
  assert_float_equal(s.frames[0].focal[0], 2.0f * s.frames[1].focal[0], 1e-4);
  ngp_scene_free(&s);
  free(path);
  free(big);
  free(dir);
}

/* Image sizes against the json (scene.c check_image_sizes). Frames may differ in size, as in
 * instant-ngp; a declared w/h that the image contradicts, or a focal length or principal point in
 * pixels inherited by images of another size, is an error naming the image(s) and the sizes. */
static void test_image_sizes_against_json(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("scene_size_checks");
  char *big = ngp_test_path(dir, "train/big.png");
  ngp_test_write_png(big, 16, 12, 3, 0);
  free(big);
  ngp_scene s;
  ngp_error err;
  /* Declared w/h that the image (8x6) contradicts. */
  char *path = write_scene(dir, "t1.json",
                           "{\"fl_x\": 10, \"w\": 16, \"h\": 12, \"frames\": ["
                           "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                           1);
  assert_int_equal(load(path, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "t1.json: frames[0]: image '");
  assert_contains(err.msg, "train/r_0.png' is 8x6 pixels, but w, h say 16x12");
  /* The same with headers only (--info's quick path). */
  ngp_scene_options o;
  ngp_scene_options_default(&o);
  o.load_images = false;
  assert_int_equal(ngp_scene_load(path, &o, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "is 8x6 pixels, but w, h say 16x12");
  free(path);
  /* Only w declared: h is not compared. */
  path = write_scene(dir, "t1b.json",
                     "{\"fl_x\": 10, \"w\": 7, \"frames\": ["
                     "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     1);
  assert_int_equal(load(path, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "is 8x6 pixels, but w, h say 7xany");
  free(path);
  /* A frame's own w/h and pixel intrinsics override the file's: both frames are consistent. */
  path =
      write_scene(dir, "t2.json",
                  "{\"fl_x\": 20, \"cx\": 8, \"cy\": 6, \"w\": 16, \"h\": 12, \"frames\": ["
                  "{\"file_path\": \"train/big\", \"transform_matrix\": " IDENT_AT(
                      0, 0, 0) "},"
                               "{\"file_path\": \"train/r_0\", \"fl_x\": 10, \"cx\": 4, \"cy\": 3, \"w\": 8, \"h\": 6,"
                               " \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                  1);
  assert_int_equal(load(path, &s, &err), NGP_OK);
  assert_float_equal(s.frames[0].focal[0], 20.0f, 0);
  assert_float_equal(s.frames[1].focal[0], 10.0f, 0);
  assert_float_equal(s.frames[1].principal[0], 0.5f, 0);
  ngp_scene_free(&s);
  free(path);
  /* A focal length in pixels from the top level, inherited by images of two sizes. */
  path = write_scene(dir, "t3.json",
                     "{\"fl_x\": 10, \"frames\": ["
                     "{\"file_path\": \"train/big\", \"transform_matrix\": " IDENT_AT(
                         0, 0, 0) "},"
                                  "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     1);
  assert_int_equal(load(path, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "t3.json: frames[1]: image '");
  assert_contains(err.msg, "train/r_0.png' is 8x6 pixels, but frames[0]'s '");
  assert_contains(err.msg, "train/big.png' is 16x12, and it takes fl_x (pixels) from the top level");
  free(path);
  /* A principal point in pixels without w/h, inherited likewise; the focal is an angle. */
  path = write_scene(dir, "t4.json",
                     "{\"camera_angle_x\": 1, \"cy\": 3, \"frames\": ["
                     "{\"file_path\": \"train/big\", \"transform_matrix\": " IDENT_AT(
                         0, 0, 0) "},"
                                  "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     1);
  assert_int_equal(load(path, &s, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "takes cy (pixels) from the top level");
  free(path);
  /* One frame with its own fl_x, the other inheriting: only one image uses the shared value. */
  path = write_scene(dir, "t5.json",
                     "{\"fl_x\": 10, \"frames\": ["
                     "{\"file_path\": \"train/big\", \"fl_x\": 20, \"transform_matrix\": " IDENT_AT(
                         0, 0, 0) "},"
                                  "{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     1);
  assert_int_equal(load(path, &s, &err), NGP_OK);
  ngp_scene_free(&s);
  free(path);
  /* A camera kept without its image takes its size from w/h; nothing to compare. */
  path = write_scene(dir, "t6.json",
                     "{\"fl_x\": 10, \"w\": 640, \"h\": 480, \"frames\": ["
                     "{\"file_path\": \"train/none\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
                     0);
  o.keep_missing = true;
  assert_int_equal(ngp_scene_load(path, &o, &s, &err), NGP_OK);
  assert_int_equal(s.frames[0].image.width, 640);
  ngp_scene_free(&s);
  free(path);
  free(dir);
}

/* Values that are finite in the json but overflow once converted are refused, never passed on. */
static void test_overflow_after_conversion(void **state) {
  (void)state;
  const char *m;
  m = load_fail(
      "{\"x_fov\": 1e-40, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": " IDENT_AT(0, 0, 0) "}]}",
      1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0]: the horizontal focal length comes out as inf pixels");
  m = load_fail("{\"camera_angle_x\": 1, \"aabb\": [[-3e38, 0, 0], [3e38, 1, 1]], \"frames\": []}", 0, NGP_ERR_INVALID);
  assert_contains(m, "aabb: a box of largest side inf cannot be mapped to the unit cube");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": "
                "[[1e20,0,0,0],[0,1e20,0,0],[0,0,1e20,0]]}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix: the rotation's determinant overflows");
  m = load_fail("{\"camera_angle_x\": 1, \"frames\": [{\"file_path\": \"train/r_0\", \"transform_matrix\": "
                "[[0,0,0,1],[0,0,0,2],[0,0,0,3]]}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix: the rotation is singular (determinant 0)");
  m = load_fail("{\"camera_angle_x\": 1, \"scale\": 3e38, \"frames\": [{\"file_path\": \"train/r_0\", "
                "\"transform_matrix\": " IDENT_AT(0, 10, 0) "}]}",
                1, NGP_ERR_INVALID);
  assert_contains(m, "frames[0].transform_matrix: the camera position overflows once scaled (scale 3e+38");
}

static char *variants_dir(void) { return ngp_test_path(ngp_test_source_dir(), "tests/data/bad/png_variants"); }

/* The committed PNG/JPEG variants (tests/data/bad/gen_images.py gives every value checked here):
 * valid inputs, all converted to 8-bit RGBA. v(x, y) = 10x + 60y on a 4x3 image. */
static void test_png_variants(void **state) {
  (void)state;
  char *dir = variants_dir();
  ngp_scene s;
  ngp_error err;
  if (load(dir, &s, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(s.n_frames, 10);
  assert_true(s.has_alpha);
  int checked = 0;
  for (int i = 0; i < s.n_frames; i++) {
    const ngp_frame *f = &s.frames[i];
    const ngp_image *im = &f->image;
    const char *name = ngp_path_basename(f->file_path);
    if (strcmp(name, "grey.jpg") == 0 || strcmp(name, "progressive.jpg") == 0) {
      assert_int_equal(im->width, 16);
      assert_int_equal(im->source_channels, 1);
      /* Four flat 8x8 blocks; a DC-only JPEG decodes exactly, allow 1 for the IDCT's rounding. The
       * progressive file defines each Huffman table just before the scan that needs it. */
      const int corner[4][3] = {{0, 0, 40}, {15, 0, 90}, {0, 15, 160}, {15, 15, 220}};
      for (int k = 0; k < 4; k++) {
        const uint8_t *px = im->rgba + ((size_t)corner[k][1] * 16 + (size_t)corner[k][0]) * 4;
        assert_in_range(px[0], corner[k][2] - 1, corner[k][2] + 1);
        assert_int_equal(px[1], px[0]);
        assert_int_equal(px[3], 255);
      }
      checked++;
      continue;
    }
    assert_int_equal(im->width, 4);
    assert_int_equal(im->height, 3);
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 4; x++) {
        const uint8_t *px = im->rgba + (size_t)(y * 4 + x) * 4;
        int v = 10 * x + 60 * y;
        uint8_t want[4];
        if (strcmp(name, "grey1.png") == 0) {
          uint8_t g = (x + y) % 2 ? 255 : 0;
          want[0] = want[1] = want[2] = g, want[3] = 255;
        } else if (strcmp(name, "grey8.png") == 0 || strcmp(name, "grey16.png") == 0) {
          want[0] = want[1] = want[2] = (uint8_t)v, want[3] = 255; /* 16-bit: the high byte */
        } else if (strcmp(name, "grey_alpha.png") == 0) {
          want[0] = want[1] = want[2] = (uint8_t)v, want[3] = (uint8_t)(255 - v);
        } else if (strcmp(name, "rgb16.png") == 0) {
          want[0] = (uint8_t)v, want[1] = (uint8_t)(255 - v), want[2] = 0x12, want[3] = 255;
        } else if (strcmp(name, "rgba.png") == 0) {
          want[0] = (uint8_t)v, want[1] = (uint8_t)(2 * v % 256), want[2] = (uint8_t)(255 - v), want[3] = 128;
        } else { /* palette.png, palette_trns.png: red, green, blue, white by (x + y) % 4 */
          static const uint8_t pal[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
          int k = (x + y) % 4;
          want[0] = pal[k][0], want[1] = pal[k][1], want[2] = pal[k][2];
          want[3] = (strcmp(name, "palette_trns.png") == 0 && k == 3) ? 0 : 255;
        }
        if (memcmp(px, want, 4) != 0)
          fail_msg("%s (%d, %d): got %d %d %d %d, want %d %d %d %d", name, x, y, px[0], px[1], px[2], px[3], want[0],
                   want[1], want[2], want[3]);
      }
    /* Channels in the file: what --info reports (grey, grey+alpha, RGB, RGBA). */
    int channels = strncmp(name, "grey_alpha", 10) == 0                                 ? 2
                   : strncmp(name, "grey", 4) == 0                                      ? 1
                   : strcmp(name, "rgb16.png") == 0 || strcmp(name, "palette.png") == 0 ? 3
                                                                                        : 4;
    assert_int_equal(im->source_channels, channels);
    checked++;
  }
  assert_int_equal(checked, 10);
  ngp_scene_free(&s);
  free(dir);
}

/* A PNG whose first IDAT chunk is empty (legal) decodes to the same pixels as without it:
 * image.c drops the empty chunk that stb_image 2.27 mishandles (found by fuzz_image). */
static void test_png_empty_first_idat(void **state) {
  (void)state;
  char *dir = variants_dir();
  char *src = ngp_test_path(dir, "grey8.png");
  char *data = NULL;
  size_t len = 0;
  ngp_error err;
  assert_int_equal(ngp_read_file(src, 1 << 20, &data, &len, &err), NGP_OK);
  /* Signature (8) and IHDR (25), then a zero-length IDAT with its CRC (crc32("IDAT")). */
  static const unsigned char empty_idat[12] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xAF, 0x06, 0x1E};
  assert_memory_equal(data + 37, "IDAT", 4);
  char *patched = malloc(len + 12);
  assert_non_null(patched);
  memcpy(patched, data, 33);
  memcpy(patched + 33, empty_idat, 12);
  memcpy(patched + 45, data + 33, len - 33);
  char *tmp = ngp_test_tmpdir("scene_empty_idat");
  char *path = ngp_test_path(tmp, "grey8_empty_idat.png");
  ngp_test_write_bytes(path, patched, len + 12);
  ngp_image a, b;
  assert_int_equal(ngp_image_load(src, &a, &err), NGP_OK);
  if (ngp_image_load(path, &b, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(b.width, 4);
  assert_memory_equal(a.rgba, b.rgba, 4 * 3 * 4);
  ngp_image_free(&a);
  ngp_image_free(&b);
  /* The same with the file ending inside the empty IDAT's CRC (a fuzz_image crash input): the
   * header still reads, the decoder reports the truncation. */
  char *cut = ngp_test_path(ngp_test_source_dir(), "tests/fuzz/regressions/image/png_empty_idat_crc_cut_off.png");
  int w = 0, h = 0, c = 0;
  assert_int_equal(ngp_image_info(cut, &w, &h, &c, &err), NGP_OK);
  assert_int_equal(w, 8196);
  assert_int_equal(h, 3);
  assert_int_not_equal(ngp_image_load(cut, &b, &err), NGP_OK);
  assert_contains(err.msg, "png_empty_idat_crc_cut_off.png: cannot decode the image");
  assert_null(b.rgba);
  free(cut);
  free(path);
  free(tmp);
  free(patched);
  free(data);
  free(src);
  free(dir);
}

/* Inputs that crashed stb_image 2.27 under the fuzzer (tests/fuzz/regressions/image/) are refused
 * with a message, by the header check and by the decoder alike. */
static void test_fuzz_image_regressions(void **state) {
  (void)state;
  /* header_reads: the header is fine and only the decoder refuses the file, e.g. a JPEG whose scan
   * runs into a marker mid-block, where stb's bit reader shifts zeros by 32 or more (see
   * src/CMakeLists.txt). */
  static const struct {
    const char *file, *msg;
    bool header_reads;
  } cases[] = {
      {"jpeg_dht_over_256_codes.jpg", "corrupt JPEG: a Huffman table lists", false},
      {"jpeg_dht_counts_past_eof.jpg", "corrupt JPEG: a Huffman table lists", false},
      {"pnm_width_overflow.ppm", "corrupt PNM header: the width has more than 9 digits", false},
      {"pnm_16bit_convert.ppm", "16-bit PNM (maximum value", false},
      {"jpeg_scan_without_huffman_tables.jpg", "decodes with DC Huffman table 0, which no DHT segment", false},
      {"jpeg_progressive_ac_table_after_scan.jpg", "decodes with AC Huffman table 0, which no DHT segment", false},
      {"jpeg_bit_reader_past_marker.jpg", "cannot decode the image", true},
  };
  char *dir = ngp_test_path(ngp_test_source_dir(), "tests/fuzz/regressions/image");
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *path = ngp_test_path(dir, cases[i].file);
    ngp_image img;
    ngp_error err;
    int w = 0, h = 0, c = 0;
    if (cases[i].header_reads) {
      assert_int_equal(ngp_image_info(path, &w, &h, &c, &err), NGP_OK);
    } else {
      assert_int_not_equal(ngp_image_info(path, &w, &h, &c, &err), NGP_OK);
      assert_contains(err.msg, cases[i].msg);
    }
    assert_int_not_equal(ngp_image_load(path, &img, &err), NGP_OK);
    assert_contains(err.msg, cases[i].msg);
    assert_contains(err.msg, cases[i].file);
    assert_null(img.rgba);
    free(path);
  }
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_basic_angle_and_order),
      cmocka_unit_test(test_holdout_split),
      cmocka_unit_test(test_pixels_intrinsics_and_lens),
      cmocka_unit_test(test_focal_priority_and_y_only),
      cmocka_unit_test(test_dataset_keys),
      cmocka_unit_test(test_renormalise_rotation),
      cmocka_unit_test(test_missing_images_skipped),
      cmocka_unit_test(test_many_missing_images_one_warning),
      cmocka_unit_test(test_no_usable_frame),
      cmocka_unit_test(test_folder_selection),
      cmocka_unit_test(test_image_formats),
      cmocka_unit_test(test_bad_images),
      cmocka_unit_test(test_bad_json),
      cmocka_unit_test(test_different_sizes_per_frame),
      cmocka_unit_test(test_image_sizes_against_json),
      cmocka_unit_test(test_overflow_after_conversion),
      cmocka_unit_test(test_png_variants),
      cmocka_unit_test(test_png_empty_first_idat),
      cmocka_unit_test(test_fuzz_image_regressions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
