/* testutil.c: see testutil.h. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "core/fs.h"

static void rm_rf(const char *path) {
  /* Test scratch folders only ever hold what the tests wrote; `rm -rf` is the simplest reset. */
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
  if (system(cmd) != 0) fail_msg("cannot remove %s", path);
}

char *ngp_test_tmpdir(const char *name) {
  const char *root = getenv("NGP_TEST_TMPDIR");
  if (!root || !root[0]) root = "/tmp/ngp-tests";
  char *dir = ngp_path_join(root, name);
  assert_non_null(dir);
  rm_rf(dir);
  ngp_error err;
  if (ngp_mkdir_p(dir, &err) != NGP_OK) fail_msg("%s", err.msg);
  return dir;
}

char *ngp_test_path(const char *dir, const char *rel) {
  char *p = ngp_path_join(dir, rel);
  assert_non_null(p);
  return p;
}

void ngp_test_write_bytes(const char *path, const void *data, size_t len) {
  char *dir = ngp_path_dirname(path);
  ngp_error err;
  if (ngp_mkdir_p(dir, &err) != NGP_OK) fail_msg("%s", err.msg);
  free(dir);
  FILE *f = fopen(path, "wb");
  if (!f) fail_msg("cannot write %s", path);
  if (len && fwrite(data, 1, len, f) != len) fail_msg("short write %s", path);
  fclose(f);
}

void ngp_test_write_text(const char *path, const char *text) { ngp_test_write_bytes(path, text, strlen(text)); }

void ngp_test_write_png(const char *path, int w, int h, int channels, int seed) {
  unsigned char *px = malloc((size_t)w * (size_t)h * (size_t)channels);
  assert_non_null(px);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < channels; c++)
        px[((size_t)y * w + x) * channels + c] = (unsigned char)((x + 3 * y + seed) & 255);
  char *dir = ngp_path_dirname(path);
  ngp_error err;
  if (ngp_mkdir_p(dir, &err) != NGP_OK) fail_msg("%s", err.msg);
  free(dir);
  if (!stbi_write_png(path, w, h, channels, px, w * channels)) fail_msg("cannot write %s", path);
  free(px);
}

const char *ngp_test_source_dir(void) {
  const char *s = getenv("NGP_SOURCE_DIR");
  return (s && s[0]) ? s : ".";
}

static char *g_log = NULL;
static size_t g_log_len = 0;
static int g_log_count = 0;

static void capture(ngp_log_level level, const char *msg, void *user) {
  (void)level;
  (void)user;
  size_t n = strlen(msg);
  char *grown = realloc(g_log, g_log_len + n + 2);
  assert_non_null(grown);
  g_log = grown;
  memcpy(g_log + g_log_len, msg, n);
  g_log_len += n;
  g_log[g_log_len++] = '\n';
  g_log[g_log_len] = '\0';
  g_log_count++;
}

void ngp_test_log_begin(void) {
  free(g_log);
  g_log = NULL;
  g_log_len = 0;
  g_log_count = 0;
  ngp_log_set_callback(capture, NULL);
}

void ngp_test_log_end(void) { ngp_log_set_callback(NULL, NULL); }
int ngp_test_log_count(void) { return g_log_count; }
const char *ngp_test_log_text(void) { return g_log ? g_log : ""; }

void ngp_test_assert_contains(const char *haystack, const char *needle, const char *file, int line) {
  if (!haystack || !strstr(haystack, needle)) {
    print_error("expected to find \"%s\" in \"%s\"\n", needle, haystack ? haystack : "(null)");
    _fail(file, line);
  }
}

const char *const ngp_test_small_config =
    "{\"loss\": {\"otype\": \"Huber\"},"
    " \"optimizer\": {\"otype\": \"Ema\", \"decay\": 0.95, \"nested\": {\"otype\": \"Adam\", \"learning_rate\": 1e-2,"
    "   \"beta1\": 0.9, \"beta2\": 0.99, \"epsilon\": 1e-15, \"l2_reg\": 1e-6}},"
    " \"encoding\": {\"otype\": \"HashGrid\", \"n_levels\": 8, \"n_features_per_level\": 2, \"log2_hashmap_size\": 15,"
    "   \"base_resolution\": 16},"
    " \"network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 32, \"n_hidden_layers\": 1},"
    " \"dir_encoding\": {\"otype\": \"SphericalHarmonics\", \"degree\": 4},"
    " \"rgb_network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 32, \"n_hidden_layers\": 1}}";

void ngp_test_small_nerf(ngp_nerf *n, int aabb_scale, int n_threads) {
  ngp_config cfg;
  ngp_error err;
  assert_int_equal(ngp_config_parse(ngp_test_small_config, strlen(ngp_test_small_config), "small", &cfg, &err), NGP_OK);
  if (ngp_nerf_init(n, &cfg, aabb_scale, 42, n_threads, &err) != NGP_OK) fail_msg("%s", err.msg);
}

char *ngp_test_synth_scene(const char *name, int size, int n_train, int n_test, int seed, ngp_scene *train,
                           ngp_scene *test) {
  char *dir = ngp_test_tmpdir(name);
  ngp_synth_options so;
  ngp_synth_options_default(&so);
  so.width = so.height = size;
  so.n_train = n_train;
  so.n_test = n_test;
  if (seed >= 0) so.seed = (uint32_t)seed;
  ngp_error err;
  if (ngp_synth_write_scene(dir, &so, &err) != NGP_OK) fail_msg("%s", err.msg);
  char *train_json = ngp_test_path(dir, "transforms_train.json"),
       *test_json = ngp_test_path(dir, "transforms_test.json");
  if (ngp_scene_load(train_json, NULL, train, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (test && ngp_scene_load(test_json, NULL, test, &err) != NGP_OK) fail_msg("%s", err.msg);
  free(train_json);
  free(test_json);
  return dir;
}

ngp_status ngp_test_eval_views(ngp_nerf *n, const ngp_scene *views, const float bg[3], int spp, ngp_eval_result *res,
                               ngp_error *err) {
  ngp_backend_opts o;
  ngp_backend_opts_default(&o);
  o.n_threads = n->n_threads;
  ngp_backend *b;
  ngp_status st = ngp_backend_create(&ngp_backend_cpu_type, n, NULL, &o, &b, err);
  if (st != NGP_OK) return st;
  st = ngp_eval_views(b, views, bg, spp, res, err);
  ngp_backend_destroy(b);
  return st;
}
