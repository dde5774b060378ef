/* test_config.c: the network/training config parser (src/config/): instant-ngp's defaults, the
 * shipped configs/nerf JSON files, "parent" merging (RFC 7386), every otype alias, every error kind
 * with the file and field it must name, unknown-key warnings, the to_json round trip and the
 * per-level scale formula. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

/* ---- Helpers ------------------------------------------------------------------------------- */

/* The source root: NGP_SOURCE_DIR under ctest; when the binary is run by hand from elsewhere,
 * the folder above this file. */
static const char *src_root(void) {
  static char root[4096];
  if (root[0]) return root;
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/configs/nerf/base.json", ngp_test_source_dir());
  if (ngp_path_exists(probe)) {
    snprintf(root, sizeof root, "%s", ngp_test_source_dir());
  } else {
    char *dir = ngp_path_dirname(__FILE__);
    assert_non_null(dir);
    snprintf(root, sizeof root, "%s/..", dir);
    free(dir);
  }
  return root;
}

static char *shipped(const char *name) {
  char path[4300];
  snprintf(path, sizeof path, "%s/configs/nerf/%s", src_root(), name);
  return ngp_strdup(path);
}

static void write_in(const char *dir, const char *rel, const char *text) {
  char *p = ngp_test_path(dir, rel);
  ngp_test_write_text(p, text);
  free(p);
}

static void expect_float(float actual, float expected, const char *what) {
  if (actual != expected) fail_msg("%s: got %.9g, expected %.9g", what, (double)actual, (double)expected);
}

static void expect_near(float actual, float expected, float tol, const char *what) {
  if (!(fabsf(actual - expected) <= tol))
    fail_msg("%s: got %.9g, expected %.9g +- %g", what, (double)actual, (double)expected, (double)tol);
}

static void assert_mlp_equal(const ngp_mlp_config *a, const ngp_mlp_config *b) {
  assert_int_equal(a->otype, b->otype);
  assert_int_equal(a->n_neurons, b->n_neurons);
  assert_int_equal(a->n_hidden_layers, b->n_hidden_layers);
  assert_int_equal(a->activation, b->activation);
  assert_int_equal(a->output_activation, b->output_activation);
}

/* Field by field (not memcmp: padding bytes are not part of the value). */
static void assert_config_equal(const ngp_config *a, const ngp_config *b) {
  assert_int_equal(a->loss, b->loss);
  const ngp_optimizer_config *p = &a->optimizer, *q = &b->optimizer;
  expect_float(p->learning_rate, q->learning_rate, "learning_rate");
  expect_float(p->beta1, q->beta1, "beta1");
  expect_float(p->beta2, q->beta2, "beta2");
  expect_float(p->epsilon, q->epsilon, "epsilon");
  expect_float(p->l2_reg, q->l2_reg, "l2_reg");
  assert_int_equal(p->decay_enabled, q->decay_enabled);
  assert_int_equal(p->decay_start, q->decay_start);
  assert_int_equal(p->decay_interval, q->decay_interval);
  assert_int_equal(p->decay_end, q->decay_end);
  expect_float(p->decay_base, q->decay_base, "decay_base");
  assert_int_equal(p->ema_enabled, q->ema_enabled);
  expect_float(p->ema_decay, q->ema_decay, "ema_decay");
  const ngp_grid_config *g = &a->encoding, *h = &b->encoding;
  assert_int_equal(g->otype, h->otype);
  assert_int_equal(g->n_levels, h->n_levels);
  assert_int_equal(g->n_features_per_level, h->n_features_per_level);
  assert_int_equal(g->log2_hashmap_size, h->log2_hashmap_size);
  assert_int_equal(g->base_resolution, h->base_resolution);
  expect_float(g->per_level_scale, h->per_level_scale, "per_level_scale");
  assert_int_equal(g->interpolation, h->interpolation);
  assert_mlp_equal(&a->network, &b->network);
  assert_int_equal(a->n_density_outputs, b->n_density_outputs);
  assert_int_equal(a->sh_degree, b->sh_degree);
  assert_mlp_equal(&a->rgb_network, &b->rgb_network);
}

/* instant-ngp's current configs/nerf/base.json, per NGP-SPEC §11. */
static ngp_config expected_base(void) {
  ngp_config c;
  ngp_config_default(&c);
  c.loss = NGP_LOSS_HUBER;
  c.optimizer.ema_enabled = true;
  c.optimizer.ema_decay = 0.95f;
  c.optimizer.decay_enabled = true;
  c.optimizer.decay_start = 20000;
  c.optimizer.decay_interval = 10000;
  c.optimizer.decay_end = 10000000;
  c.optimizer.decay_base = 0.33f;
  c.optimizer.learning_rate = 1e-2f;
  c.optimizer.beta1 = 0.9f;
  c.optimizer.beta2 = 0.99f;
  c.optimizer.epsilon = 1e-15f;
  c.optimizer.l2_reg = 1e-6f;
  c.encoding.otype = NGP_GRID_HASH;
  c.encoding.n_levels = 8;
  c.encoding.n_features_per_level = 4;
  c.encoding.log2_hashmap_size = 19;
  c.encoding.base_resolution = 16;
  c.encoding.per_level_scale = 0.0f;
  c.encoding.interpolation = NGP_INTERP_LINEAR;
  ngp_mlp_config density = {NGP_NET_FULLY_FUSED_MLP, 64, 1, NGP_ACT_RELU, NGP_ACT_NONE};
  ngp_mlp_config rgb = {NGP_NET_FULLY_FUSED_MLP, 64, 2, NGP_ACT_RELU, NGP_ACT_NONE};
  c.network = density;
  c.rgb_network = rgb;
  c.n_density_outputs = 16;
  c.sh_degree = 4;
  return c;
}

static ngp_config parse_ok(const char *json) {
  ngp_config cfg;
  ngp_error err = {0};
  ngp_status st = ngp_config_parse(json, strlen(json), "t.json", &cfg, &err);
  if (st != NGP_OK) fail_msg("parse failed for %s: %s", json, err.msg);
  return cfg;
}

static ngp_config load_ok(const char *path) {
  ngp_config cfg;
  ngp_error err = {0};
  if (ngp_config_load(path, &cfg, &err) != NGP_OK) fail_msg("load %s failed: %s", path, err.msg);
  return cfg;
}

/* Parses `json` as "bad.json", expecting `status` and a message holding both needles. */
static void expect_error(const char *json, ngp_status status, const char *needle1, const char *needle2) {
  ngp_config cfg;
  ngp_config_default(&cfg);
  cfg.sh_degree = 77; /* sentinel: a failed parse must leave *cfg alone */
  ngp_error err = {0};
  ngp_status st = ngp_config_parse(json, strlen(json), "bad.json", &cfg, &err);
  if (st != status) fail_msg("%s: got status %d (%s), expected %d", json, (int)st, err.msg, (int)status);
  assert_int_equal(cfg.sh_degree, 77);
  assert_contains(err.msg, needle1);
  if (needle2) assert_contains(err.msg, needle2);
}

/* ---- Defaults ---------------------------------------------------------------------------------- */

static void test_defaults_empty(void **state) {
  (void)state;
  ngp_config def;
  ngp_config_default(&def);
  assert_string_equal(def.source, "");
  ngp_config cfg = parse_ok("{}");
  assert_config_equal(&cfg, &def);
  assert_string_equal(cfg.source, "t.json");
  /* The values themselves, with the upstream file each comes from (see docs/CONFIG.md). */
  assert_int_equal(cfg.loss, NGP_LOSS_L2);                /* testbed.cu reset_network */
  expect_float(cfg.optimizer.learning_rate, 1e-3f, "lr"); /* tcnn adam.h */
  expect_float(cfg.optimizer.beta1, 0.9f, "beta1");
  expect_float(cfg.optimizer.beta2, 0.999f, "beta2");
  expect_float(cfg.optimizer.epsilon, 1e-8f, "epsilon");
  expect_float(cfg.optimizer.l2_reg, 1e-8f, "l2_reg");
  assert_false(cfg.optimizer.decay_enabled);
  assert_false(cfg.optimizer.ema_enabled);
  assert_int_equal(cfg.optimizer.decay_start, 10000); /* tcnn exponential_decay.h */
  assert_int_equal(cfg.optimizer.decay_interval, 10000);
  assert_int_equal(cfg.optimizer.decay_end, 10000000);
  expect_float(cfg.optimizer.decay_base, 0.1f, "decay_base");
  expect_float(cfg.optimizer.ema_decay, 0.99f, "ema_decay"); /* tcnn ema.h */
  assert_int_equal(cfg.encoding.otype, NGP_GRID_HASH);       /* tcnn grid.h */
  assert_int_equal(cfg.encoding.n_levels, 16);
  assert_int_equal(cfg.encoding.n_features_per_level, 2);
  assert_int_equal(cfg.encoding.log2_hashmap_size, 19);
  assert_int_equal(cfg.encoding.base_resolution, 32); /* reset_network: 2^(15/3) */
  expect_float(cfg.encoding.per_level_scale, 0.0f, "per_level_scale");
  assert_int_equal(cfg.encoding.interpolation, NGP_INTERP_LINEAR);
  ngp_mlp_config mlp = {NGP_NET_CUTLASS_MLP, 128, 5, NGP_ACT_RELU, NGP_ACT_NONE}; /* tcnn network.cu */
  assert_mlp_equal(&cfg.network, &mlp);
  assert_mlp_equal(&cfg.rgb_network, &mlp);
  assert_int_equal(cfg.n_density_outputs, 16); /* nerf_network.h */
  assert_int_equal(cfg.sh_degree, 4);          /* tcnn encoding.cu */

  /* Empty blocks and nulls mean the same as absent keys. */
  ngp_config blocks = parse_ok("{\"loss\": {}, \"optimizer\": {}, \"encoding\": {}, \"network\": {}, \"dir_encoding\": "
                               "{}, \"rgb_network\": null, \"distortion_map\": {}, \"envmap\": null}");
  assert_config_equal(&blocks, &def);
}

static void test_base_resolution_auto(void **state) {
  (void)state;
  /* instant-ngp: no base_resolution -> 2^(floor(T / 3)), T = the block's log2_hashmap_size or 15. */
  assert_int_equal(parse_ok("{\"encoding\": {\"log2_hashmap_size\": 21}}").encoding.base_resolution, 128);
  assert_int_equal(parse_ok("{\"encoding\": {\"log2_hashmap_size\": 19}}").encoding.base_resolution, 64);
  assert_int_equal(parse_ok("{\"encoding\": {\"n_levels\": 4}}").encoding.base_resolution, 32);
  assert_int_equal(
      parse_ok("{\"encoding\": {\"log2_hashmap_size\": 21, \"base_resolution\": 7}}").encoding.base_resolution, 7);
  ngp_config c = parse_ok("{\"encoding\": {\"n_features\": 32, \"n_features_per_level\": 4}}");
  assert_int_equal(c.encoding.n_levels, 8);
}

/* ---- Shipped configs ------------------------------------------------------------------------ */

static void test_shipped_configs(void **state) {
  (void)state;
  ngp_test_log_begin();
  ngp_config want = expected_base();

  char *p = shipped("base.json");
  ngp_config cfg = load_ok(p);
  assert_config_equal(&cfg, &want);
  assert_string_equal(cfg.source, p);
  free(p);

  p = shipped("small.json");
  cfg = load_ok(p);
  ngp_config small = expected_base();
  small.encoding.log2_hashmap_size = 15;
  small.optimizer.decay_start = 10000;
  small.optimizer.decay_interval = 5000;
  assert_config_equal(&cfg, &small);
  free(p);

  p = shipped("big.json");
  cfg = load_ok(p);
  ngp_config big = expected_base();
  big.encoding.log2_hashmap_size = 21;
  assert_config_equal(&cfg, &big);
  free(p);

  p = shipped("base_14.json");
  cfg = load_ok(p);
  ngp_config b14 = expected_base();
  b14.encoding.log2_hashmap_size = 14;
  assert_config_equal(&cfg, &b14);
  free(p);

  p = shipped("paper.json");
  cfg = load_ok(p);
  ngp_config paper = expected_base(); /* SmoothL1 is Huber's old name */
  paper.encoding.n_levels = 16;
  paper.encoding.n_features_per_level = 2;
  assert_config_equal(&cfg, &paper);
  free(p);

  ngp_test_log_end();
  if (ngp_test_log_count() != 0) fail_msg("shipped configs logged: %s", ngp_test_log_text());
}

/* ---- parent merging ------------------------------------------------------------------------- */

static const char *PARENT_JSON =
    "{\"loss\": {\"otype\": \"Huber\"},\n"
    " \"optimizer\": {\"otype\": \"Ema\", \"decay\": 0.9, \"nested\": {\"otype\": \"ExponentialDecay\",\n"
    "   \"decay_start\": 100, \"nested\": {\"otype\": \"Adam\", \"learning_rate\": 0.02, \"beta2\": 0.95}}},\n"
    " \"encoding\": {\"otype\": \"HashGrid\", \"n_levels\": 12, \"base_resolution\": 8, \"log2_hashmap_size\": 17},\n"
    " \"network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 32, \"n_hidden_layers\": 2},\n"
    " \"envmap\": {\"loss\": {\"otype\": \"RelativeL2\"}}}\n";

static void test_parent_override(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("config_override");
  write_in(dir, "parent.json", PARENT_JSON);
  write_in(dir, "child.json",
           "// comments are allowed, as upstream\n"
           "{\"parent\": \"parent.json\", \"loss\": {\"otype\": \"L1\"},\n"
           " \"optimizer\": {\"nested\": {\"nested\": {\"learning_rate\": 0.005}}},\n"
           " \"encoding\": {\"n_levels\": 4}}\n");
  char *child = ngp_test_path(dir, "child.json");
  ngp_config c = load_ok(child);
  assert_string_equal(c.source, child);
  assert_int_equal(c.loss, NGP_LOSS_L1);                             /* override */
  expect_float(c.optimizer.learning_rate, 0.005f, "lr");             /* nested override */
  expect_float(c.optimizer.beta2, 0.95f, "beta2");                   /* kept beside it */
  assert_true(c.optimizer.ema_enabled && c.optimizer.decay_enabled); /* chain kept */
  expect_float(c.optimizer.ema_decay, 0.9f, "ema_decay");
  assert_int_equal(c.optimizer.decay_start, 100);
  assert_int_equal(c.encoding.n_levels, 4);
  assert_int_equal(c.encoding.base_resolution, 8);
  assert_int_equal(c.encoding.log2_hashmap_size, 17);
  assert_int_equal(c.network.otype, NGP_NET_FULLY_FUSED_MLP);
  assert_int_equal(c.network.n_neurons, 32);
  free(child);
  free(dir);
}

static void test_parent_null_deletes(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("config_null");
  write_in(dir, "parent.json", PARENT_JSON);
  /* loss: null removes the block (L2 again); a null inside a block removes that key only; the
   * Ema wrapper's nested chain is cut by "nested": null (Adam defaults); a null inside a block
   * the parent lacks is dropped, so "bogus" is not reported as an unknown key. */
  write_in(dir, "child.json",
           "{\"parent\": \"parent.json\", \"loss\": null,\n"
           " \"optimizer\": {\"nested\": null},\n"
           " \"encoding\": {\"base_resolution\": null},\n"
           " \"rgb_network\": {\"bogus\": null, \"n_hidden_layers\": 3},\n"
           " \"top_bogus\": null}\n");
  char *child = ngp_test_path(dir, "child.json");
  ngp_test_log_begin();
  ngp_config c = load_ok(child);
  ngp_test_log_end();
  if (ngp_test_log_count() != 0) fail_msg("unexpected warnings: %s", ngp_test_log_text());
  assert_int_equal(c.loss, NGP_LOSS_L2);
  assert_true(c.optimizer.ema_enabled);
  expect_float(c.optimizer.ema_decay, 0.9f, "ema_decay");
  assert_false(c.optimizer.decay_enabled);
  expect_float(c.optimizer.learning_rate, 1e-3f, "lr (tcnn default)");
  expect_float(c.optimizer.beta2, 0.999f, "beta2 (tcnn default)");
  assert_int_equal(c.encoding.n_levels, 12);
  assert_int_equal(c.encoding.base_resolution, 32); /* 2^(17/3) */
  assert_int_equal(c.rgb_network.n_hidden_layers, 3);
  assert_int_equal(c.rgb_network.n_neurons, 128);

  /* A scalar replaces an object wholesale, and the error names the file that holds it. */
  write_in(dir, "scalar.json", "{\"parent\": \"parent.json\", \"envmap\": 5}");
  char *scalar = ngp_test_path(dir, "scalar.json");
  ngp_error err;
  ngp_config keep = expected_base();
  assert_int_equal(ngp_config_load(scalar, &keep, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "scalar.json: envmap: expected an object, found a number");
  assert_int_equal(keep.encoding.n_levels, 8); /* untouched */
  free(scalar);
  free(child);
  free(dir);
}

static void test_parent_chain(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("config_chain");
  /* Each parent path is relative to the folder of the file that names it. */
  write_in(dir, "root.json",
           "{\"loss\": {\"otype\": \"LogL1\"}, \"encoding\": {\"n_levels\": 10, \"base_resolution\": 20}}");
  write_in(dir, "mid/mid.json",
           "{\"parent\": \"../root.json\", \"encoding\": {\"n_levels\": 11}, \"network\": {\"n_neurons\": 48}}");
  write_in(dir, "leaf/a/leaf.json", "{\"parent\": \"../../mid/mid.json\", \"network\": {\"n_hidden_layers\": 4}}");
  char *leaf = ngp_test_path(dir, "leaf/a/leaf.json");
  ngp_config c = load_ok(leaf);
  assert_int_equal(c.loss, NGP_LOSS_LOG_L1);
  assert_int_equal(c.encoding.n_levels, 11);
  assert_int_equal(c.encoding.base_resolution, 20);
  assert_int_equal(c.network.n_neurons, 48);
  assert_int_equal(c.network.n_hidden_layers, 4);
  free(leaf);

  /* A bad value names the file of the chain that holds it, not the leaf. */
  write_in(dir, "badroot.json", "{\"encoding\": {\"n_levels\": \"8\"}}");
  write_in(dir, "badleaf.json", "{\"parent\": \"badroot.json\", \"network\": {\"n_neurons\": 64}}");
  char *bad = ngp_test_path(dir, "badleaf.json");
  ngp_error err;
  ngp_config cfg;
  assert_int_equal(ngp_config_load(bad, &cfg, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "badroot.json: encoding.n_levels: expected an integer, found a string");
  free(bad);
  write_in(dir, "badleaf2.json", "{\"parent\": \"root.json\", \"encoding\": {\"n_levels\": 99}}");
  bad = ngp_test_path(dir, "badleaf2.json");
  assert_int_equal(ngp_config_load(bad, &cfg, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "badleaf2.json: encoding.n_levels: 99 is out of range [1, 64]");
  free(bad);
  free(dir);
}

static void test_parent_errors(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("config_parent_errors");
  ngp_error err;
  ngp_config cfg;

  write_in(dir, "a.json", "{\"parent\": \"b.json\"}");
  write_in(dir, "b.json", "{\"parent\": \"./a.json\"}");
  char *a = ngp_test_path(dir, "a.json");
  assert_int_equal(ngp_config_load(a, &cfg, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "b.json: parent: ");
  assert_contains(err.msg, "a.json is already in the chain");
  assert_contains(err.msg, "cycle");
  free(a);

  write_in(dir, "self.json", "{\"parent\": \"self.json\"}");
  char *self = ngp_test_path(dir, "self.json");
  assert_int_equal(ngp_config_load(self, &cfg, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "cycle");
  free(self);

  write_in(dir, "orphan.json", "{\"parent\": \"missing.json\"}");
  char *orphan = ngp_test_path(dir, "orphan.json");
  assert_int_equal(ngp_config_load(orphan, &cfg, &err), NGP_ERR_IO);
  assert_contains(err.msg, "orphan.json: parent: cannot open ");
  assert_contains(err.msg, "missing.json");
  free(orphan);

  write_in(dir, "emptyparent.json", "{\"parent\": \"\"}");
  char *ep = ngp_test_path(dir, "emptyparent.json");
  assert_int_equal(ngp_config_load(ep, &cfg, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "emptyparent.json: parent: empty file name");
  free(ep);

  write_in(dir, "badparent.json", "{\"parent\": 3}");
  char *bp = ngp_test_path(dir, "badparent.json");
  assert_int_equal(ngp_config_load(bp, &cfg, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "badparent.json: parent: expected a string, found a number");
  free(bp);

  /* A malformed parent is reported with its own name, line and column. */
  write_in(dir, "broken.json", "{\n  \"loss\": {\"otype\": \"L2\"},,\n}");
  write_in(dir, "kid.json", "{\"parent\": \"broken.json\"}");
  char *kid = ngp_test_path(dir, "kid.json");
  assert_int_equal(ngp_config_load(kid, &cfg, &err), NGP_ERR_PARSE);
  assert_contains(err.msg, "broken.json:2:");
  free(kid);

  char *nofile = ngp_test_path(dir, "nothere.json");
  assert_int_equal(ngp_config_load(nofile, &cfg, &err), NGP_ERR_IO);
  assert_contains(err.msg, "nothere.json");
  free(nofile);
  free(dir);
}

static void test_parent_depth(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("config_depth");
  /* c0.json <- c1.json <- ... <- c16.json: 16 files load, 17 are one too many. */
  char name[32], text[128];
  write_in(dir, "c0.json", "{\"encoding\": {\"n_levels\": 1}}");
  for (int i = 1; i <= 16; i++) {
    snprintf(name, sizeof name, "c%d.json", i);
    snprintf(text, sizeof text, "{\"parent\": \"c%d.json\", \"encoding\": {\"n_levels\": %d}}", i - 1, i + 1);
    write_in(dir, name, text);
  }
  char *ok = ngp_test_path(dir, "c15.json");
  ngp_config c = load_ok(ok);
  assert_int_equal(c.encoding.n_levels, 16);
  free(ok);
  char *deep = ngp_test_path(dir, "c16.json");
  ngp_error err;
  assert_int_equal(ngp_config_load(deep, &c, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "c16.json: parent: the chain of parent configs is longer than 16 files");
  free(deep);
  free(dir);
}

/* ---- Names and aliases ------------------------------------------------------------------------ */

static void test_loss_aliases(void **state) {
  (void)state;
  static const struct {
    const char *name;
    ngp_loss_type want;
  } cases[] = {{"L2", NGP_LOSS_L2},       {"L1", NGP_LOSS_L1},        {"RelativeL2", NGP_LOSS_RELATIVE_L2},
               {"Mape", NGP_LOSS_MAPE},   {"MAPE", NGP_LOSS_MAPE},    {"Smape", NGP_LOSS_SMAPE},
               {"SMAPE", NGP_LOSS_SMAPE}, {"Huber", NGP_LOSS_HUBER},  {"SmoothL1", NGP_LOSS_HUBER},
               {"huber", NGP_LOSS_HUBER}, {"LogL1", NGP_LOSS_LOG_L1}, {"relativel2", NGP_LOSS_RELATIVE_L2}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char json[128];
    snprintf(json, sizeof json, "{\"loss\": {\"otype\": \"%s\"}}", cases[i].name);
    assert_int_equal(parse_ok(json).loss, cases[i].want);
  }
  assert_string_equal(ngp_loss_name(NGP_LOSS_HUBER), "Huber");
  assert_string_equal(ngp_loss_name(NGP_LOSS_MAPE), "Mape");
  assert_string_equal(ngp_loss_name(NGP_LOSS_SMAPE), "Smape");
  assert_string_equal(ngp_loss_name(NGP_LOSS_RELATIVE_L2), "RelativeL2");
  assert_string_equal(ngp_loss_name(NGP_LOSS_LOG_L1), "LogL1");
  assert_string_equal(ngp_loss_name((ngp_loss_type)99), "unknown");
}

static void test_network_aliases(void **state) {
  (void)state;
  static const struct {
    const char *name;
    ngp_activation want;
  } acts[] = {{"None", NGP_ACT_NONE},
              {"ReLU", NGP_ACT_RELU},
              {"LeakyReLU", NGP_ACT_LEAKY_RELU},
              {"Exponential", NGP_ACT_EXPONENTIAL},
              {"Sine", NGP_ACT_SINE},
              {"Sigmoid", NGP_ACT_SIGMOID},
              {"Squareplus", NGP_ACT_SQUAREPLUS},
              {"Softplus", NGP_ACT_SOFTPLUS},
              {"Tanh", NGP_ACT_TANH},
              {"relu", NGP_ACT_RELU}};
  for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
    char json[200];
    snprintf(json, sizeof json, "{\"rgb_network\": {\"activation\": \"%s\", \"output_activation\": \"%s\"}}",
             acts[i].name, acts[i].name);
    ngp_config c = parse_ok(json);
    assert_int_equal(c.rgb_network.activation, acts[i].want);
    assert_int_equal(c.rgb_network.output_activation, acts[i].want);
    if (i < 9) assert_string_equal(ngp_activation_name(acts[i].want), acts[i].name);
  }
  static const struct {
    const char *name;
    ngp_network_type want;
  } nets[] = {{"FullyFusedMLP", NGP_NET_FULLY_FUSED_MLP},
              {"MegakernelMLP", NGP_NET_FULLY_FUSED_MLP},
              {"CutlassMLP", NGP_NET_CUTLASS_MLP},
              {"MLP", NGP_NET_CUTLASS_MLP},
              {"fullyfusedmlp", NGP_NET_FULLY_FUSED_MLP}};
  for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++) {
    char json[200];
    snprintf(json, sizeof json, "{\"network\": {\"otype\": \"%s\", \"n_neurons\": 64, \"n_output_dims\": 8}}",
             nets[i].name);
    ngp_config c = parse_ok(json);
    assert_int_equal(c.network.otype, nets[i].want);
    assert_int_equal(c.network.n_neurons, 64);
    assert_int_equal(c.n_density_outputs, 8);
  }
  assert_string_equal(ngp_network_type_name(NGP_NET_FULLY_FUSED_MLP), "FullyFusedMLP");
  assert_string_equal(ngp_network_type_name(NGP_NET_CUTLASS_MLP), "CutlassMLP");
  /* CutlassMLP takes any width and a linear map; rgb_network's n_output_dims is ignored. */
  ngp_config c = parse_ok("{\"network\": {\"otype\": \"CutlassMLP\", \"n_neurons\": 100, \"n_hidden_layers\": 0},"
                          " \"rgb_network\": {\"n_output_dims\": 3, \"n_input_dims\": 32}}");
  assert_int_equal(c.network.n_neurons, 100);
  assert_int_equal(c.network.n_hidden_layers, 0);
  assert_int_equal(c.n_density_outputs, 16);
}

static void test_encoding_aliases(void **state) {
  (void)state;
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"HashGrid\"}}").encoding.otype, NGP_GRID_HASH);
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"DenseGrid\"}}").encoding.otype, NGP_GRID_DENSE);
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"Grid\"}}").encoding.otype, NGP_GRID_HASH);
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"Grid\", \"type\": \"Dense\"}}").encoding.otype,
                   NGP_GRID_DENSE);
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"Grid\", \"type\": \"hash\"}}").encoding.otype, NGP_GRID_HASH);
  /* As in tcnn, "type" wins over the kind the otype implies. */
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"HashGrid\", \"type\": \"Dense\"}}").encoding.otype,
                   NGP_GRID_DENSE);
  assert_int_equal(parse_ok("{\"encoding\": {\"otype\": \"densegrid\"}}").encoding.otype, NGP_GRID_DENSE);
  static const struct {
    const char *name;
    ngp_interpolation want;
  } interps[] = {{"Linear", NGP_INTERP_LINEAR},
                 {"Nearest", NGP_INTERP_NEAREST},
                 {"Smoothstep", NGP_INTERP_SMOOTHSTEP},
                 {"smoothstep", NGP_INTERP_SMOOTHSTEP}};
  for (size_t i = 0; i < sizeof interps / sizeof interps[0]; i++) {
    char json[128];
    snprintf(json, sizeof json, "{\"encoding\": {\"interpolation\": \"%s\"}}", interps[i].name);
    assert_int_equal(parse_ok(json).encoding.interpolation, interps[i].want);
  }
  assert_string_equal(ngp_interpolation_name(NGP_INTERP_SMOOTHSTEP), "Smoothstep");
  assert_string_equal(ngp_grid_type_name(NGP_GRID_HASH), "HashGrid");
  assert_string_equal(ngp_grid_type_name(NGP_GRID_DENSE), "DenseGrid");
  /* tcnn's defaults for hash and stochastic interpolation are accepted; so are instant-ngp's own keys. */
  ngp_config c = parse_ok("{\"encoding\": {\"hash\": \"CoherentPrime\", \"stochastic_interpolation\": false, "
                          "\"n_pos_dims\": 3, \"per_level_scale\": 1.5}}");
  expect_float(c.encoding.per_level_scale, 1.5f, "per_level_scale");
}

static void test_dir_encoding_forms(void **state) {
  (void)state;
  assert_int_equal(parse_ok("{\"dir_encoding\": {\"otype\": \"SphericalHarmonics\", \"degree\": 3}}").sh_degree, 3);
  assert_int_equal(parse_ok("{\"dir_encoding\": {\"degree\": 2}}").sh_degree, 2);
  assert_int_equal(parse_ok("{\"dir_encoding\": {\"otype\": \"Composite\", \"nested\": [{\"n_dims_to_encode\": 3, "
                            "\"otype\": \"SphericalHarmonics\", \"degree\": 5}, {\"otype\": \"Identity\"}]}}")
                       .sh_degree,
                   5);
  assert_int_equal(parse_ok("{\"dir_encoding\": {\"otype\": \"composite\", \"nested\": [{\"otype\": "
                            "\"sphericalharmonics\", \"degree\": 8}]}}")
                       .sh_degree,
                   8);
}

static void test_optimizer_orders(void **state) {
  (void)state;
  /* Either wrapping order means the same schedule; a wrapper without "nested" wraps default Adam. */
  ngp_config a =
      parse_ok("{\"optimizer\": {\"otype\": \"ExponentialDecay\", \"decay_start\": 5, \"decay_interval\": 7, "
               "\"decay_end\": 50, \"decay_base\": 0.5, \"nested\": {\"otype\": \"EMA\", \"decay\": 0.8, "
               "\"nested\": {\"learning_rate\": 0.03}}}}");
  assert_true(a.optimizer.decay_enabled && a.optimizer.ema_enabled);
  assert_int_equal(a.optimizer.decay_start, 5);
  assert_int_equal(a.optimizer.decay_interval, 7);
  assert_int_equal(a.optimizer.decay_end, 50);
  expect_float(a.optimizer.decay_base, 0.5f, "decay_base");
  expect_float(a.optimizer.ema_decay, 0.8f, "ema_decay");
  expect_float(a.optimizer.learning_rate, 0.03f, "lr");
  ngp_config b = parse_ok("{\"optimizer\": {\"otype\": \"Ema\"}}");
  assert_true(b.optimizer.ema_enabled);
  assert_false(b.optimizer.decay_enabled);
  expect_float(b.optimizer.ema_decay, 0.99f, "ema_decay");
  expect_float(b.optimizer.learning_rate, 1e-3f, "lr");
  ngp_config c = parse_ok("{\"optimizer\": {\"learning_rate\": 0.5, \"beta1\": 0, \"l2_reg\": 0, \"adabound\": false, "
                          "\"optimize_matrix_params\": true, \"non_matrix_learning_rate_factor\": 1}}");
  assert_false(c.optimizer.ema_enabled || c.optimizer.decay_enabled);
  expect_float(c.optimizer.learning_rate, 0.5f, "lr");
  expect_float(c.optimizer.beta1, 0.0f, "beta1");
}

/* ---- Errors --------------------------------------------------------------------------------------- */

static void test_error_malformed(void **state) {
  (void)state;
  expect_error("{\n  \"loss\": {\"otype\": \"L2\"},\n  \"encoding\": {\"n_levels\": 8,}\n}", NGP_ERR_PARSE,
               "bad.json:3:", "malformed JSON");
  expect_error("", NGP_ERR_PARSE, "bad.json:1:1: malformed JSON", NULL);
  expect_error("[1, 2]", NGP_ERR_INVALID, "bad.json: expected a JSON object at the top level", "found an array");
}

static void test_error_types(void **state) {
  (void)state;
  expect_error("{\"encoding\": {\"n_levels\": \"8\"}}", NGP_ERR_INVALID,
               "bad.json: encoding.n_levels: expected an integer, found a string", NULL);
  expect_error("{\"encoding\": {\"n_levels\": 8.5}}", NGP_ERR_INVALID,
               "bad.json: encoding.n_levels: expected an integer, found 8.5", NULL);
  expect_error("{\"network\": {\"n_neurons\": 6.4e1, \"n_hidden_layers\": 1.5}}", NGP_ERR_INVALID,
               "bad.json: network.n_hidden_layers: expected an integer", NULL);
  expect_error("{\"loss\": \"Huber\"}", NGP_ERR_INVALID, "bad.json: loss: expected an object, found a string", NULL);
  expect_error("{\"loss\": {\"otype\": 2}}", NGP_ERR_INVALID, "bad.json: loss.otype: expected a string, found a number",
               NULL);
  expect_error("{\"optimizer\": {\"otype\": \"Ema\", \"nested\": {\"otype\": \"ExponentialDecay\", \"nested\": "
               "{\"learning_rate\": \"fast\"}}}}",
               NGP_ERR_INVALID, "bad.json: optimizer.nested.nested.learning_rate: expected a number, found a string",
               NULL);
  expect_error("{\"optimizer\": {\"otype\": \"Ema\", \"nested\": [1]}}", NGP_ERR_INVALID,
               "bad.json: optimizer.nested: expected an object, found an array", NULL);
  expect_error("{\"optimizer\": {\"otype\": \"Ema\", \"full_precision\": 1}}", NGP_ERR_INVALID,
               "bad.json: optimizer.full_precision: expected true or false", NULL);
  expect_error("{\"distortion_map\": [32, 32]}", NGP_ERR_INVALID, "bad.json: distortion_map: expected an object", NULL);
  expect_error("{\"envmap\": \"sky.exr\"}", NGP_ERR_INVALID, "bad.json: envmap: expected an object", NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"Composite\", \"nested\": {}}}", NGP_ERR_INVALID,
               "bad.json: dir_encoding.nested: expected an array, found an object", NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"Composite\", \"nested\": [3]}}", NGP_ERR_INVALID,
               "bad.json: dir_encoding.nested[0]: expected an object, found a number", NULL);
  expect_error("{\"parent\": [\"base.json\"]}", NGP_ERR_INVALID, "bad.json: parent: expected a string, found an array",
               NULL);
}

static void test_error_unknown_otype(void **state) {
  (void)state;
  expect_error("{\"loss\": {\"otype\": \"Hubber\"}}", NGP_ERR_INVALID, "bad.json: loss.otype: unknown loss \"Hubber\"",
               "use one of L2, L1, RelativeL2, Mape, Smape, Huber");
  expect_error(
      "{\"optimizer\": {\"otype\": \"Ema\", \"nested\": {\"otype\": \"ExponentialDecay\", \"nested\": {\"otype\": "
      "\"Adma\"}}}}",
      NGP_ERR_INVALID, "bad.json: optimizer.nested.nested.otype: unknown optimizer \"Adma\"",
      "use Ema, ExponentialDecay or Adam");
  expect_error("{\"encoding\": {\"otype\": \"HashGird\"}}", NGP_ERR_INVALID,
               "bad.json: encoding.otype: unknown encoding", "HashGrid, DenseGrid");
  expect_error("{\"encoding\": {\"otype\": \"Grid\", \"type\": \"Sparse\"}}", NGP_ERR_INVALID,
               "bad.json: encoding.type: unknown grid type \"Sparse\"", "\"Hash\" or \"Dense\"");
  expect_error("{\"encoding\": {\"interpolation\": \"Cubic\"}}", NGP_ERR_INVALID, "bad.json: encoding.interpolation",
               "Linear, Nearest or Smoothstep");
  expect_error("{\"rgb_network\": {\"otype\": \"ResNet\"}}", NGP_ERR_INVALID,
               "bad.json: rgb_network.otype: unknown network", "FullyFusedMLP or CutlassMLP");
  expect_error("{\"network\": {\"output_activation\": \"Relu6\"}}", NGP_ERR_INVALID,
               "bad.json: network.output_activation: unknown activation \"Relu6\"", "Squareplus, Softplus or Tanh");
  expect_error("{\"dir_encoding\": {\"otype\": \"Fourier\"}}", NGP_ERR_INVALID, "bad.json: dir_encoding.otype",
               "use SphericalHarmonics");
  /* Valid upstream, not implemented here. */
  expect_error("{\"optimizer\": {\"otype\": \"SGD\"}}", NGP_ERR_UNSUPPORTED,
               "bad.json: optimizer.otype: tiny-cuda-nn's \"SGD\"", "use Adam");
  expect_error("{\"encoding\": {\"otype\": \"Frequency\"}}", NGP_ERR_UNSUPPORTED, "bad.json: encoding.otype",
               "Frequency");
  expect_error("{\"encoding\": {\"otype\": \"TiledGrid\"}}", NGP_ERR_UNSUPPORTED, "bad.json: encoding.otype", NULL);
  expect_error("{\"encoding\": {\"type\": \"Tiled\"}}", NGP_ERR_UNSUPPORTED, "bad.json: encoding.type", NULL);
  expect_error("{\"encoding\": {\"hash\": \"Prime\"}}", NGP_ERR_UNSUPPORTED, "bad.json: encoding.hash",
               "CoherentPrime");
  expect_error("{\"encoding\": {\"stochastic_interpolation\": true}}", NGP_ERR_UNSUPPORTED,
               "bad.json: encoding.stochastic_interpolation", NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"Frequency\"}}", NGP_ERR_UNSUPPORTED, "bad.json: dir_encoding.otype",
               NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"DenseGrid\"}}", NGP_ERR_UNSUPPORTED, "bad.json: dir_encoding.otype",
               NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"Composite\", \"nested\": [{\"otype\": \"Identity\"}]}}",
               NGP_ERR_UNSUPPORTED, "bad.json: dir_encoding.nested[0].otype: expected SphericalHarmonics", NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"Composite\", \"nested\": [{\"otype\": \"SphericalHarmonics\"}, "
               "{\"otype\": \"OneBlob\"}]}}",
               NGP_ERR_UNSUPPORTED, "bad.json: dir_encoding.nested[1].otype: expected Identity", NULL);
  expect_error("{\"dir_encoding\": {\"otype\": \"Composite\"}}", NGP_ERR_UNSUPPORTED,
               "bad.json: dir_encoding.nested: 0 parts", NULL);
  expect_error("{\"optimizer\": {\"otype\": \"Ema\", \"nested\": {\"otype\": \"Ema\"}}}", NGP_ERR_UNSUPPORTED,
               "bad.json: optimizer.nested.otype: a second Ema", NULL);
  expect_error("{\"optimizer\": {\"adabound\": true}}", NGP_ERR_UNSUPPORTED, "bad.json: optimizer.adabound", NULL);
  expect_error("{\"optimizer\": {\"clipping_magnitude\": 2}}", NGP_ERR_UNSUPPORTED,
               "bad.json: optimizer.clipping_magnitude", "only 0");
}

static void test_error_ranges(void **state) {
  (void)state;
  static const struct {
    const char *json, *msg;
  } cases[] = {
      {"{\"encoding\": {\"n_levels\": 0}}", "bad.json: encoding.n_levels: 0 is out of range [1, 64]"},
      {"{\"encoding\": {\"n_levels\": 65}}", "bad.json: encoding.n_levels: 65 is out of range [1, 64]"},
      {"{\"encoding\": {\"n_features_per_level\": 3}}",
       "bad.json: encoding.n_features_per_level: 3 is not supported; use 1, 2, 4 or 8"},
      {"{\"encoding\": {\"n_features_per_level\": 16}}",
       "bad.json: encoding.n_features_per_level: 16 is out of range [1, 8]"},
      {"{\"encoding\": {\"log2_hashmap_size\": 31}}",
       "bad.json: encoding.log2_hashmap_size: 31 is out of range [1, 30]"},
      {"{\"encoding\": {\"log2_hashmap_size\": 0}}", "bad.json: encoding.log2_hashmap_size: 0 is out of range [1, 30]"},
      {"{\"encoding\": {\"base_resolution\": 0}}", "bad.json: encoding.base_resolution: 0 is out of range [1, 4096]"},
      {"{\"encoding\": {\"per_level_scale\": 0.5}}", "bad.json: encoding.per_level_scale: 0.5 is below 1"},
      {"{\"encoding\": {\"per_level_scale\": -2}}", "bad.json: encoding.per_level_scale: -2 is out of range [0, 1024]"},
      {"{\"encoding\": {\"n_features\": 12, \"n_features_per_level\": 8}}",
       "bad.json: encoding.n_features: 12 is not n_levels"},
      {"{\"encoding\": {\"n_features\": 16, \"n_levels\": 8}}",
       "bad.json: encoding.n_features: may not be given together with n_levels"},
      {"{\"network\": {\"n_neurons\": 0}}", "bad.json: network.n_neurons: 0 is out of range [1, 1024]"},
      {"{\"network\": {\"n_neurons\": 2048}}", "bad.json: network.n_neurons: 2048 is out of range [1, 1024]"},
      {"{\"network\": {\"n_hidden_layers\": -1}}", "bad.json: network.n_hidden_layers: -1 is out of range [0, 32]"},
      {"{\"network\": {\"n_output_dims\": 0}}", "bad.json: network.n_output_dims: 0 is out of range [1, 64]"},
      {"{\"rgb_network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 100}}",
       "bad.json: rgb_network.n_neurons: FullyFusedMLP supports 16, 32, 64 or 128 neurons, not 100; use CutlassMLP"},
      {"{\"network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 64, \"n_hidden_layers\": 0}}",
       "bad.json: network.n_hidden_layers: FullyFusedMLP needs at least 1 hidden layer"},
      {"{\"dir_encoding\": {\"degree\": 9}}", "bad.json: dir_encoding.degree: 9 is out of range [1, 8]"},
      {"{\"dir_encoding\": {\"degree\": 0}}", "bad.json: dir_encoding.degree: 0 is out of range [1, 8]"},
      {"{\"dir_encoding\": {\"otype\": \"Composite\", \"nested\": [{\"otype\": \"SphericalHarmonics\", "
       "\"n_dims_to_encode\": 2}]}}",
       "bad.json: dir_encoding.nested[0].n_dims_to_encode: 2 is out of range [3, 3]"},
      {"{\"optimizer\": {\"beta2\": 1.0}}", "bad.json: optimizer.beta2: 1 is out of range [0, 1)"},
      {"{\"optimizer\": {\"learning_rate\": 0}}", "bad.json: optimizer.learning_rate: 0 is out of range (0, 10]"},
      {"{\"optimizer\": {\"epsilon\": 1e-60}}", "bad.json: optimizer.epsilon: 1e-60 is out of range (0, 1]"},
      {"{\"optimizer\": {\"l2_reg\": -1e-6}}", "bad.json: optimizer.l2_reg: -1e-06 is out of range [0, 1]"},
      {"{\"optimizer\": {\"otype\": \"Ema\", \"decay\": 1}}", "bad.json: optimizer.decay: 1 is out of range [0, 1)"},
      {"{\"optimizer\": {\"otype\": \"ExponentialDecay\", \"decay_interval\": 0}}",
       "bad.json: optimizer.decay_interval: 0 is out of range [1, 2147483647]"},
      {"{\"optimizer\": {\"otype\": \"ExponentialDecay\", \"decay_start\": -5}}",
       "bad.json: optimizer.decay_start: -5 is out of range [0, 2147483647]"},
      {"{\"optimizer\": {\"otype\": \"ExponentialDecay\", \"decay_base\": 0}}",
       "bad.json: optimizer.decay_base: 0 is out of range (0, 1]"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    expect_error(cases[i].json, NGP_ERR_INVALID, cases[i].msg, NULL);
}

/* ---- Warnings --------------------------------------------------------------------------------- */

static void test_unknown_key_warning(void **state) {
  (void)state;
  ngp_test_log_begin();
  ngp_config c = parse_ok("{\"netwrok\": {\"n_neurons\": 32}, \"loss\": {\"otype\": \"L1\"}}");
  ngp_test_log_end();
  assert_int_equal(ngp_test_log_count(), 1);
  assert_contains(ngp_test_log_text(), "t.json: netwrok: unknown key, ignored");
  assert_contains(ngp_test_log_text(), "known keys here: parent, loss, optimizer");
  assert_int_equal(c.loss, NGP_LOSS_L1);
  assert_int_equal(c.network.n_neurons, 128); /* the misspelt block did nothing */

  /* Inside blocks too, with the full path. */
  ngp_test_log_begin();
  c = parse_ok(
      "{\"encoding\": {\"n_level\": 4}, \"optimizer\": {\"otype\": \"Ema\", \"nested\": {\"learning_rat\": 1}}}");
  ngp_test_log_end();
  assert_int_equal(ngp_test_log_count(), 2);
  assert_contains(ngp_test_log_text(), "t.json: encoding.n_level: unknown key");
  assert_contains(ngp_test_log_text(), "t.json: optimizer.nested.learning_rat: unknown key");
  assert_int_equal(c.encoding.n_levels, 16);

  /* With a parent chain, the warning names the file holding the key. */
  char *dir = ngp_test_tmpdir("config_warn");
  write_in(dir, "p.json", "{\"encodnig\": {}}");
  write_in(dir, "c.json", "{\"parent\": \"p.json\"}");
  char *child = ngp_test_path(dir, "c.json");
  ngp_test_log_begin();
  load_ok(child);
  ngp_test_log_end();
  assert_int_equal(ngp_test_log_count(), 1);
  assert_contains(ngp_test_log_text(), "p.json: encodnig: unknown key");
  free(child);
  free(dir);

  /* Text parsing does not resolve "parent", and says so. */
  ngp_test_log_begin();
  parse_ok("{\"parent\": \"base.json\"}");
  ngp_test_log_end();
  assert_int_equal(ngp_test_log_count(), 1);
  assert_contains(ngp_test_log_text(), "t.json: parent: not resolved");
}

/* ---- to_json round trip ------------------------------------------------------------------------ */

static void round_trip(const ngp_config *cfg) {
  char *json = ngp_config_to_json(cfg);
  assert_non_null(json);
  ngp_config back;
  ngp_error err = {0};
  ngp_test_log_begin();
  ngp_status st = ngp_config_parse(json, strlen(json), cfg->source, &back, &err);
  ngp_test_log_end();
  if (st != NGP_OK) fail_msg("re-parse of %s failed: %s", json, err.msg);
  if (ngp_test_log_count() != 0) fail_msg("re-parse of %s warned: %s", json, ngp_test_log_text());
  assert_config_equal(&back, cfg);
  assert_string_equal(back.source, cfg->source);
  free(json);
}

static void test_to_json_round_trip(void **state) {
  (void)state;
  const char *names[] = {"base.json", "small.json", "big.json", "base_14.json", "paper.json"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char *p = shipped(names[i]);
    ngp_config cfg = load_ok(p);
    round_trip(&cfg);
    free(p);
  }
  ngp_config def;
  ngp_config_default(&def);
  round_trip(&def);
  ngp_config custom = parse_ok(
      "{\"loss\": {\"otype\": \"Smape\"}, \"optimizer\": {\"otype\": \"ExponentialDecay\", \"decay_start\": 3, "
      "\"decay_base\": 0.7, \"nested\": {\"learning_rate\": 0.0123, \"epsilon\": 3e-12}},"
      " \"encoding\": {\"otype\": \"DenseGrid\", \"n_levels\": 3, \"n_features_per_level\": 8, \"per_level_scale\": "
      "1.405,"
      " \"interpolation\": \"Smoothstep\"},"
      " \"network\": {\"otype\": \"CutlassMLP\", \"n_neurons\": 96, \"n_hidden_layers\": 0, \"activation\": \"Tanh\","
      " \"output_activation\": \"Exponential\", \"n_output_dims\": 5},"
      " \"dir_encoding\": {\"degree\": 7}, \"rgb_network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 16, "
      "\"n_hidden_layers\": 3, \"output_activation\": \"Sigmoid\"}}");
  round_trip(&custom);
  ngp_config ema_only = parse_ok("{\"optimizer\": {\"otype\": \"Ema\", \"decay\": 0.5}}");
  round_trip(&ema_only);

  /* The text is instant-ngp's schema, with readable numbers. */
  char *p = shipped("base.json");
  ngp_config base = load_ok(p);
  free(p);
  char *json = ngp_config_to_json(&base);
  assert_non_null(json);
  assert_contains(json, "\"optimizer\":{\"otype\":\"Ema\",\"decay\":0.95,\"nested\":{\"otype\":\"ExponentialDecay\"");
  assert_contains(json, "\"learning_rate\":0.01");
  assert_contains(json, "\"epsilon\":1e-15");
  assert_contains(json, "\"loss\":{\"otype\":\"Huber\"}");
  assert_contains(json, "\"otype\":\"SphericalHarmonics\",\"degree\":4");
  assert_contains(json, "\"n_output_dims\":16");
  assert_null(strstr(json, "per_level_scale")); /* 0 = automatic is written as no key, as upstream */
  free(json);
}

/* ---- per_level_scale ------------------------------------------------------------------------------ */

static void test_per_level_scale(void **state) {
  (void)state;
  char *p = shipped("base.json");
  ngp_config base = load_ok(p);
  free(p);
  expect_near(ngp_config_per_level_scale(&base, 1), 2.0f, 1e-5f, "base.json, aabb 1");
  expect_near(ngp_config_per_level_scale(&base, 4), 2.43803f, 1e-5f, "base.json, aabb 4");
  expect_near(ngp_config_per_level_scale(&base, 0), 2.0f, 1e-5f, "aabb 0 counts as 1");
  p = shipped("paper.json");
  ngp_config paper = load_ok(p);
  free(p);
  expect_near(ngp_config_per_level_scale(&paper, 1), 1.38191f, 1e-5f, "paper.json, aabb 1");
  /* The finest level reaches ~2048 * aabb_scale: N_min * b^(L-1). */
  expect_near(16.0f * powf(ngp_config_per_level_scale(&paper, 16), 15.0f), 2048.0f * 16.0f, 1.0f, "finest level");
  base.encoding.per_level_scale = 1.5f;
  expect_float(ngp_config_per_level_scale(&base, 4), 1.5f, "configured scale wins");
  base.encoding.per_level_scale = 0.0f;
  base.encoding.n_levels = 1;
  expect_float(ngp_config_per_level_scale(&base, 4), 2.0f, "one level");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_empty),      cmocka_unit_test(test_base_resolution_auto),
      cmocka_unit_test(test_shipped_configs),     cmocka_unit_test(test_parent_override),
      cmocka_unit_test(test_parent_null_deletes), cmocka_unit_test(test_parent_chain),
      cmocka_unit_test(test_parent_errors),       cmocka_unit_test(test_parent_depth),
      cmocka_unit_test(test_loss_aliases),        cmocka_unit_test(test_network_aliases),
      cmocka_unit_test(test_encoding_aliases),    cmocka_unit_test(test_dir_encoding_forms),
      cmocka_unit_test(test_optimizer_orders),    cmocka_unit_test(test_error_malformed),
      cmocka_unit_test(test_error_types),         cmocka_unit_test(test_error_unknown_otype),
      cmocka_unit_test(test_error_ranges),        cmocka_unit_test(test_unknown_key_warning),
      cmocka_unit_test(test_to_json_round_trip),  cmocka_unit_test(test_per_level_scale),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
