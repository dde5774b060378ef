/* test_synth.c: the synthetic scene generator (ngp/synth.h): exact ray-traced ground truth,
 * determinism (same options -> same bytes, whatever the thread count), the cameras' geometry,
 * alpha at the background and the silhouettes, the files written (json + PNG) and the option
 * checks. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <stb_image.h>

#include "core/fs.h"
#include "common/ngp_math.h"

/* Renders camera c2w at w x h with the options' field of view. Caller frees. */
static uint8_t *render(const ngp_synth_options *o, const float *c2w, int w, int h) {
  uint8_t *px = malloc((size_t)w * (size_t)h * 4);
  assert_non_null(px);
  ngp_synth_render(o, c2w, ngp_fov_to_focal(o->camera_angle_x, (float)w), w, h, px);
  return px;
}

static float *cameras(const ngp_synth_options *o, bool test_split) {
  int n = test_split ? o->n_test : o->n_train;
  float *c = malloc(((size_t)n + 1) * 12 * sizeof(float));
  assert_non_null(c);
  ngp_error err;
  if (ngp_synth_cameras(o, test_split, c, &err) != NGP_OK) fail_msg("%s", err.msg);
  return c;
}

static void test_defaults(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  assert_int_equal(o.width, 200);
  assert_int_equal(o.height, 200);
  assert_int_equal(o.n_train, 100);
  assert_int_equal(o.n_test, 20);
  assert_int_equal(o.seed, 0);
  assert_int_equal(o.spp, 4);
  assert_int_equal(o.n_threads, 0);
  assert_true(o.camera_angle_x == 0.6911112070083618f);
  assert_true(o.camera_distance == 4.0f);
}

/* Every camera: orthonormal rotation with det 1, at camera_distance, its -z axis through the
 * origin, and above the plate (upper hemisphere). */
static void check_camera(const float *m, float dist) {
  for (int a = 0; a < 3; a++)
    for (int b = 0; b < 3; b++) {
      float d = m[a] * m[b] + m[4 + a] * m[4 + b] + m[8 + a] * m[8 + b];
      assert_true(fabsf(d - (a == b ? 1.0f : 0.0f)) < 1e-5f);
    }
  assert_true(fabsf(ngp_det3(m, 4) - 1.0f) < 1e-5f);
  float p[3] = {m[3], m[7], m[11]};
  float len = sqrtf(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]);
  assert_true(fabsf(len - dist) < 1e-4f * dist);
  /* The viewing direction (-z column) is -p / |p|. */
  for (int r = 0; r < 3; r++)
    assert_true(fabsf(-m[r * 4 + 2] + p[r] / len) < 1e-5f);
  assert_true(p[2] > 0.0f);
  /* +y of the camera points up in the world (no camera is upside down). */
  assert_true(m[9] > 0.0f);
}

static void test_cameras(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  o.n_train = 300;
  float *a = cameras(&o, false), *t = cameras(&o, true);
  for (int i = 0; i < o.n_train; i++)
    check_camera(a + i * 12, o.camera_distance);
  for (int i = 0; i < o.n_test; i++)
    check_camera(t + i * 12, o.camera_distance);
  /* Spread: every octant of azimuth, low and high elevations among the training views. */
  int octants[8] = {0}, low = 0, high = 0;
  for (int i = 0; i < o.n_train; i++) {
    const float *m = a + i * 12;
    float az = atan2f(m[7], m[3]);
    octants[(int)floorf((az + 3.14159265f) / 0.785398163f) & 7]++;
    float s = m[11] / o.camera_distance;
    low += s < 0.3f;
    high += s > 0.8f;
  }
  for (int k = 0; k < 8; k++)
    assert_true(octants[k] > 20);
  assert_true(low > 20 && high > 20);
  /* The first 10 frames (a prefix) already spread over azimuth: they are shuffled. */
  int oct10[8] = {0}, covered = 0;
  for (int i = 0; i < 10; i++)
    oct10[(int)floorf((atan2f(a[i * 12 + 7], a[i * 12 + 3]) + 3.14159265f) / 0.785398163f) & 7] = 1;
  for (int k = 0; k < 8; k++)
    covered += oct10[k];
  assert_true(covered >= 4);

  /* Same seed: same cameras. Another seed: other training cameras, the same test cameras. */
  float *a2 = cameras(&o, false);
  assert_memory_equal(a, a2, (size_t)o.n_train * 12 * sizeof(float));
  o.seed = 1;
  float *b = cameras(&o, false), *tb = cameras(&o, true);
  assert_memory_not_equal(a, b, (size_t)o.n_train * 12 * sizeof(float));
  assert_memory_equal(t, tb, (size_t)o.n_test * 12 * sizeof(float));
  /* Test views are held out: none coincides with a training view. */
  for (int i = 0; i < o.n_test; i++)
    for (int j = 0; j < o.n_train; j++) {
      float d2 = 0.0f;
      for (int r = 0; r < 3; r++)
        d2 += (t[i * 12 + r * 4 + 3] - a[j * 12 + r * 4 + 3]) * (t[i * 12 + r * 4 + 3] - a[j * 12 + r * 4 + 3]);
      assert_true(d2 > 1e-6f);
    }
  free(a);
  free(a2);
  free(t);
  free(b);
  free(tb);
}

static void test_render_deterministic(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  float *c = cameras(&o, false);
  o.n_threads = 1;
  uint8_t *p1 = render(&o, c, 96, 80);
  o.n_threads = 2;
  uint8_t *p2 = render(&o, c, 96, 80);
  uint8_t *p3 = render(&o, c, 96, 80);
  assert_memory_equal(p1, p2, 96 * 80 * 4);
  assert_memory_equal(p2, p3, 96 * 80 * 4);
  /* Another camera, another picture. */
  uint8_t *p4 = render(&o, c + 12, 96, 80);
  assert_memory_not_equal(p1, p4, 96 * 80 * 4);
  free(p1);
  free(p2);
  free(p3);
  free(p4);
  free(c);
}

static void test_background_and_centre(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  const int w = 64, h = 64;
  /* A camera on +z looking away from the scene (its -z axis is world +z): nothing but background,
   * which is (0, 0, 0, 0). */
  const float away[12] = {1, 0, 0, 0, 0, -1, 0, 0, 0, 0, -1, 4};
  uint8_t *px = render(&o, away, w, h);
  for (int i = 0; i < w * h * 4; i++)
    assert_int_equal(px[i], 0);
  free(px);
  /* Every training view: the four corners are background, the centre 3x3 is fully opaque (the
   * origin lies inside the globe), and the object covers a good part of the frame. */
  float *c = cameras(&o, false);
  for (int v = 0; v < o.n_train; v++) {
    px = render(&o, c + v * 12, w, h);
    const int corners[4] = {0, w - 1, (h - 1) * w, h * w - 1};
    for (int k = 0; k < 4; k++)
      assert_int_equal(px[corners[k] * 4 + 3], 0);
    for (int y = h / 2 - 1; y <= h / 2 + 1; y++)
      for (int x = w / 2 - 1; x <= w / 2 + 1; x++)
        assert_int_equal(px[(y * w + x) * 4 + 3], 255);
    int opaque = 0;
    for (int i = 0; i < w * h; i++)
      opaque += px[i * 4 + 3] > 0;
    if (opaque < w * h / 8) fail_msg("train view %d: only %d of %d pixels show the object", v, opaque, w * h);
    /* Transparent pixels carry no colour. */
    for (int i = 0; i < w * h; i++)
      if (px[i * 4 + 3] == 0) assert_true(px[i * 4] == 0 && px[i * 4 + 1] == 0 && px[i * 4 + 2] == 0);
    free(px);
  }
  free(c);
}

static void test_antialiasing(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  float *c = cameras(&o, false);
  const int w = 80, h = 80;
  int partial[3] = {0};
  const int spps[3] = {1, 4, 5}; /* a point sample, the 2x2 grid, a Hammersley set */
  for (int s = 0; s < 3; s++) {
    o.spp = spps[s];
    uint8_t *px = render(&o, c, w, h);
    for (int i = 0; i < w * h; i++)
      partial[s] += px[i * 4 + 3] > 0 && px[i * 4 + 3] < 255;
    free(px);
  }
  assert_int_equal(partial[0], 0); /* one sample: alpha is 0 or 255 */
  assert_true(partial[1] > 20);    /* silhouettes get fractional alpha */
  assert_true(partial[2] > 20);
  free(c);
}

static void test_trace_ground_truth(void **state) {
  (void)state;
  float rgb[3];
  /* Straight down onto the globe's top (centre z = 0.05, radius 0.4), up onto the plate's
   * underside (z = -0.45), and up into the empty sky. */
  assert_float_equal(ngp_synth_trace((float[]){0, 0, 10}, (float[]){0, 0, -1}, rgb), 9.55f, 1e-4f);
  assert_true(rgb[0] > 0.0f && rgb[0] <= 1.0f);
  assert_float_equal(ngp_synth_trace((float[]){0, 0, -10}, (float[]){0, 0, 2}, NULL), 9.55f, 1e-4f);
  assert_true(ngp_synth_trace((float[]){0, 0, 10}, (float[]){0, 0, 1}, rgb) < 0.0f);
  assert_true(rgb[0] == 0.0f && rgb[1] == 0.0f && rgb[2] == 0.0f);
  assert_true(ngp_synth_trace((float[]){0, 0, 10}, (float[]){0, 0, 0}, NULL) < 0.0f);
  /* Random rays from a sphere of radius 3 towards random points near the scene: every hit lies
   * within NGP_SYNTH_RADIUS and in front of the origin; many rays do hit. */
  uint32_t s = 12345u;
  int hits = 0;
  for (int i = 0; i < 4000; i++) {
    float r[6];
    for (int k = 0; k < 6; k++) {
      s = s * 1664525u + 1013904223u;
      r[k] = (float)(s >> 8) / 16777216.0f * 2.0f - 1.0f;
    }
    float o[3] = {r[0], r[1], r[2]}, len = sqrtf(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    if (len < 0.1f) continue;
    for (int k = 0; k < 3; k++)
      o[k] *= 3.0f / len;
    float d[3] = {r[3] - o[0], r[4] - o[1], r[5] - o[2]};
    float dl = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    float t = ngp_synth_trace(o, d, rgb);
    if (t < 0.0f) continue;
    hits++;
    float p[3];
    for (int k = 0; k < 3; k++)
      p[k] = o[k] + t * d[k] / dl;
    assert_true(sqrtf(p[0] * p[0] + p[1] * p[1] + p[2] * p[2]) <= NGP_SYNTH_RADIUS);
    assert_true(t >= 3.0f - NGP_SYNTH_RADIUS - 1e-4f);
    for (int k = 0; k < 3; k++)
      assert_true(rgb[k] >= 0.0f && rgb[k] <= 1.0f);
  }
  assert_true(hits > 1000);
}

/* With one sample per pixel at an odd size, the centre pixel's ray is the camera's -z axis: the
 * picture must show exactly what ngp_synth_trace sees there. */
static void test_pixel_matches_trace(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  o.spp = 1;
  float *c = cameras(&o, false);
  for (int v = 0; v < 10; v++) {
    const float *m = c + v * 12;
    uint8_t *px = render(&o, m, 51, 51);
    float rgb[3];
    float t = ngp_synth_trace((float[]){m[3], m[7], m[11]}, (float[]){-m[2], -m[6], -m[10]}, rgb);
    assert_true(t > 0.0f);
    const uint8_t *centre = px + (25 * 51 + 25) * 4;
    assert_int_equal(centre[3], 255);
    for (int k = 0; k < 3; k++) {
      int expect = (int)lroundf(fminf(1.0f, ngp_linear_to_srgb(rgb[k])) * 255.0f);
      assert_true(abs(centre[k] - expect) <= 1);
    }
    free(px);
  }
  free(c);
}

static cJSON *load_json(const char *dir, const char *name) {
  char *path = ngp_test_path(dir, name);
  char *text = NULL;
  ngp_error err;
  if (ngp_read_file(path, 1 << 26, &text, NULL, &err) != NGP_OK) fail_msg("%s", err.msg);
  cJSON *root = cJSON_Parse(text);
  if (!root) fail_msg("%s does not parse", path);
  free(text);
  free(path);
  return root;
}

static void check_split(const char *dir, const char *split, const ngp_synth_options *o, int n, const float *expect) {
  char name[64];
  snprintf(name, sizeof name, "transforms_%s.json", split);
  cJSON *root = load_json(dir, name);
  cJSON *angle = cJSON_GetObjectItemCaseSensitive(root, "camera_angle_x");
  assert_true(cJSON_IsNumber(angle));
  assert_true((float)angle->valuedouble == o->camera_angle_x);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "w")->valueint, o->width);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(root, "h")->valueint, o->height);
  cJSON *frames = cJSON_GetObjectItemCaseSensitive(root, "frames");
  assert_true(cJSON_IsArray(frames));
  assert_int_equal(cJSON_GetArraySize(frames), n);
  int i = 0;
  const cJSON *f;
  cJSON_ArrayForEach(f, frames) {
    char want[64];
    snprintf(want, sizeof want, "./%s/r_%d", split, i);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(f, "file_path")->valuestring, want);
    cJSON *tm = cJSON_GetObjectItemCaseSensitive(f, "transform_matrix");
    assert_int_equal(cJSON_GetArraySize(tm), 4);
    float m[16];
    for (int r = 0; r < 4; r++) {
      cJSON *row = cJSON_GetArrayItem(tm, r);
      assert_int_equal(cJSON_GetArraySize(row), 4);
      for (int k = 0; k < 4; k++)
        m[r * 4 + k] = (float)cJSON_GetArrayItem(row, k)->valuedouble;
    }
    assert_true(m[12] == 0.0f && m[13] == 0.0f && m[14] == 0.0f && m[15] == 1.0f);
    check_camera(m, o->camera_distance);
    /* %.9g round-trips: the json holds exactly the cameras that were rendered. */
    assert_memory_equal(m, expect + i * 12, 12 * sizeof(float));
    /* The image decodes to the right size with 4 channels, and looks like the camera's view. */
    char rel[64];
    snprintf(rel, sizeof rel, "%s/r_%d.png", split, i);
    char *png = ngp_test_path(dir, rel);
    int w = 0, h = 0, ch = 0;
    uint8_t *px = stbi_load(png, &w, &h, &ch, 0);
    if (!px) fail_msg("%s does not decode: %s", png, stbi_failure_reason());
    assert_int_equal(w, o->width);
    assert_int_equal(h, o->height);
    assert_int_equal(ch, 4);
    uint8_t *ref = render(o, m, w, h);
    assert_memory_equal(px, ref, (size_t)w * (size_t)h * 4);
    free(ref);
    stbi_image_free(px);
    free(png);
    i++;
  }
  cJSON_Delete(root);
}

static void test_write_scene(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("synth_scene");
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  o.width = 48;
  o.height = 36;
  o.n_train = 7;
  o.n_test = 3;
  o.seed = 42;
  ngp_error err;
  char *sub = ngp_test_path(dir, "deeper/scene"); /* parents are created */
  if (ngp_synth_write_scene(sub, &o, &err) != NGP_OK) fail_msg("%s", err.msg);
  float *tr = cameras(&o, false), *te = cameras(&o, true);
  check_split(sub, "train", &o, o.n_train, tr);
  check_split(sub, "test", &o, o.n_test, te);
  /* Nothing else was left behind (no temporary files). */
  char **names = NULL;
  int count = 0;
  char *train_dir = ngp_test_path(sub, "train");
  assert_int_equal(ngp_list_dir(train_dir, "", &names, &count, &err), NGP_OK);
  assert_int_equal(count, o.n_train);
  ngp_free_strings(names, count);
  free(train_dir);
  /* No test views: transforms_test.json lists none. */
  o.n_test = 0;
  if (ngp_synth_write_scene(sub, &o, &err) != NGP_OK) fail_msg("%s", err.msg);
  cJSON *root = load_json(sub, "transforms_test.json");
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "frames")), 0);
  cJSON_Delete(root);
  free(tr);
  free(te);
  free(sub);
  free(dir);
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

static void test_threads_give_identical_files(void **state) {
  (void)state;
  char *root = ngp_test_tmpdir("synth_threads");
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  o.width = o.height = 40;
  o.n_train = 6;
  o.n_test = 2;
  o.seed = 7;
  char *d1 = ngp_test_path(root, "t1"), *d2 = ngp_test_path(root, "t2"), *d3 = ngp_test_path(root, "seed8");
  ngp_error err;
  o.n_threads = 1;
  if (ngp_synth_write_scene(d1, &o, &err) != NGP_OK) fail_msg("%s", err.msg);
  o.n_threads = 2;
  if (ngp_synth_write_scene(d2, &o, &err) != NGP_OK) fail_msg("%s", err.msg);
  o.seed = 8;
  if (ngp_synth_write_scene(d3, &o, &err) != NGP_OK) fail_msg("%s", err.msg);
  const char *files[] = {"transforms_train.json", "transforms_test.json", "train/r_0.png",
                         "train/r_5.png",         "test/r_0.png",         "test/r_1.png"};
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    char *a = ngp_test_path(d1, files[i]), *b = ngp_test_path(d2, files[i]), *c = ngp_test_path(d3, files[i]);
    if (!same_file(a, b)) fail_msg("%s differs between 1 and 2 threads", files[i]);
    /* Another seed moves the training cameras only. */
    if (strstr(files[i], "train") && same_file(a, c)) fail_msg("%s is the same for seeds 7 and 8", files[i]);
    if (strstr(files[i], "test") && !same_file(a, c)) fail_msg("%s depends on the seed", files[i]);
    free(a);
    free(b);
    free(c);
  }
  free(d1);
  free(d2);
  free(d3);
  free(root);
}

static void expect_invalid(const ngp_synth_options *o, const char *needle) {
  char *dir = ngp_test_tmpdir("synth_invalid");
  char *sub = ngp_test_path(dir, "never");
  ngp_error err;
  assert_int_equal(ngp_synth_write_scene(sub, o, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, needle);
  assert_false(ngp_path_exists(sub)); /* checked before anything is written */
  free(sub);
  free(dir);
}

static void test_validation(void **state) {
  (void)state;
  ngp_synth_options d, o;
  ngp_synth_options_default(&d);
#define BAD(field, value)                                                                                              \
  do {                                                                                                                 \
    o = d;                                                                                                             \
    o.field = value;                                                                                                   \
    expect_invalid(&o, #field);                                                                                        \
  } while (0)
  BAD(width, 0);
  BAD(width, 16385);
  BAD(height, -3);
  BAD(n_train, 0);
  BAD(n_train, 100001);
  BAD(n_test, -1);
  BAD(spp, 0);
  BAD(spp, 65);
  BAD(camera_angle_x, 0.0f);
  BAD(camera_angle_x, NAN);
  BAD(camera_angle_x, 3.5f);
  BAD(camera_distance, -1.0f);
  BAD(camera_distance, INFINITY);
  BAD(camera_distance, 1.0f); /* inside the scene */
  d.textured = true;          /* textured: the cameras must be inside the backdrop */
  BAD(backdrop_radius, 3.9f);
  BAD(backdrop_radius, NAN);
  BAD(camera_distance, 12.5f);
  d.textured = false;
#undef BAD
  ngp_error err;
  o = d; /* the plain scene has no backdrop to be in */
  o.backdrop_radius = 3.0f;
  assert_int_equal(ngp_synth_cameras(&o, false, (float[12 * 100]){0}, &err), NGP_OK);
  assert_int_equal(ngp_synth_write_scene(NULL, &d, &err), NGP_ERR_INVALID);
  assert_int_equal(ngp_synth_write_scene("", &d, &err), NGP_ERR_INVALID);
  assert_int_equal(ngp_synth_write_scene("/tmp", NULL, &err), NGP_ERR_INVALID);
  float c2w[12];
  o = d;
  o.spp = 0;
  assert_int_equal(ngp_synth_cameras(&o, false, c2w, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "spp");

  /* The output path is a file: an i/o error naming it. */
  char *dir = ngp_test_tmpdir("synth_io");
  char *file = ngp_test_path(dir, "a_file");
  ngp_test_write_text(file, "x");
  o = d;
  o.width = o.height = 8;
  o.n_train = 1;
  o.n_test = 0;
  assert_int_equal(ngp_synth_write_scene(file, &o, &err), NGP_ERR_IO);
  assert_contains(err.msg, "a_file");
  free(file);

  /* An image cannot be written (a folder is in the way) on a worker thread: the error names the
   * lowest failing view, and no json is written since the scene is incomplete. */
  char *scene = ngp_test_path(dir, "scene");
  char *block1 = ngp_test_path(scene, "train/r_3.png/x"), *block2 = ngp_test_path(scene, "test/r_1.png/y");
  assert_int_equal(ngp_mkdir_p(block1, &err), NGP_OK);
  assert_int_equal(ngp_mkdir_p(block2, &err), NGP_OK);
  o.n_train = 6;
  o.n_test = 2;
  o.n_threads = 2;
  assert_int_equal(ngp_synth_write_scene(scene, &o, &err), NGP_ERR_IO);
  assert_contains(err.msg, "train/r_3.png");
  char *json = ngp_test_path(scene, "transforms_train.json");
  assert_false(ngp_path_exists(json));
  free(json);
  free(block1);
  free(block2);
  free(scene);
  free(dir);
}

/* The textured variant: every pixel opaque (the backdrop catches what misses the solids), the
 * solids' pixels differ from the plain scene's (noise on the albedo) but keep their silhouette,
 * and it is off by default, so the plain scene is unchanged. */
static void test_textured(void **state) {
  (void)state;
  ngp_synth_options o;
  ngp_synth_options_default(&o);
  assert_false(o.textured);
  o.n_train = 1;
  o.n_threads = 2;
  float *c2w = cameras(&o, false);
  enum { S = 48 };
  uint8_t *plain = render(&o, c2w, S, S);
  o.textured = true;
  uint8_t *tex = render(&o, c2w, S, S);
  uint8_t *tex2 = render(&o, c2w, S, S);
  assert_memory_equal(tex, tex2, S * S * 4);
  int n_bg = 0, n_diff = 0, n_solid = 0, n_colours_bg = 0;
  uint8_t first_bg[3] = {0, 0, 0};
  for (int i = 0; i < S * S; i++) {
    assert_int_equal(tex[i * 4 + 3], 255);
    if (plain[i * 4 + 3] == 0) {
      if (n_bg++ == 0) memcpy(first_bg, tex + i * 4, 3);
      n_colours_bg += memcmp(first_bg, tex + i * 4, 3) != 0;
    } else if (plain[i * 4 + 3] == 255) {
      n_solid++;
      n_diff += memcmp(plain + i * 4, tex + i * 4, 3) != 0;
    }
  }
  assert_true(n_bg > S * S / 10 && n_solid > S * S / 10);
  assert_true(n_colours_bg > n_bg / 2); /* a textured backdrop, not a flat colour */
  assert_true(n_diff > n_solid / 4);
  free(plain);
  free(tex);
  free(tex2);
  free(c2w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_textured),
      cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_cameras),
      cmocka_unit_test(test_render_deterministic),
      cmocka_unit_test(test_background_and_centre),
      cmocka_unit_test(test_antialiasing),
      cmocka_unit_test(test_trace_ground_truth),
      cmocka_unit_test(test_pixel_matches_trace),
      cmocka_unit_test(test_write_scene),
      cmocka_unit_test(test_threads_give_identical_files),
      cmocka_unit_test(test_validation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
