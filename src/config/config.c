/* config.c: network and training configs in instant-ngp's JSON schema: the defaults, parsing
 * and validation of every block, the effective config written back as JSON, and the names.
 * Loading files and merging "parent" chains is in config_merge.c. Every key, its default and its
 * range is listed in docs/CONFIG.md; keep the two in step.
 *
 * Matching of otype and other names is case-insensitive, as tiny-cuda-nn's and instant-ngp's
 * (`equals_case_insensitive`); keys are case-sensitive, as in any JSON object. Messages read
 * "FILE: FIELD.PATH: what is wrong; hint" where FILE is the file of the chain holding the value. */
#include "ngp/config.h"

#include <ctype.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "core/json_util.h"

/* ---- Defaults: what a config without the key gives (docs/CONFIG.md has the sources) -------- */

/* tcnn optimizers/adam.h member initialisers. */
#define ADAM_LR 1e-3f
#define ADAM_BETA1 0.9f
#define ADAM_BETA2 0.999f
#define ADAM_EPSILON 1e-8f
#define ADAM_L2_REG 1e-8f
/* tcnn optimizers/exponential_decay.h. */
#define DECAY_START 10000
#define DECAY_INTERVAL 10000
#define DECAY_END 10000000
#define DECAY_BASE 0.1f
/* tcnn optimizers/ema.h. */
#define EMA_DECAY 0.99f
/* tcnn encodings/grid.h (create_grid_encoding). */
#define GRID_LEVELS 16
#define GRID_FEATURES 2
#define GRID_LOG2_T 19
/* instant-ngp reset_network: without base_resolution, N_min = 2^(floor(T / 3)) where T is the
 * log2_hashmap_size written in the block, or 15 when that is absent too (upstream's fallback,
 * although tcnn itself then sizes the table with its own default of 19). */
#define NGP_BASE_RES_LOG2_T_FALLBACK 15
/* tcnn network.cu: an absent otype is "MLP", which selects CutlassMLP; 128 neurons, 5 hidden. */
#define MLP_NEURONS 128
#define MLP_HIDDEN 5
/* instant-ngp nerf_network.h: the density MLP's n_output_dims when absent. */
#define DENSITY_OUTPUTS 16
/* tcnn encoding.cu: SphericalHarmonics degree when absent. */
#define SH_DEGREE 4

static int base_resolution_for(int log2_hashmap_size) { return 1 << (log2_hashmap_size / 3); }

void ngp_config_default(ngp_config *cfg) {
  memset(cfg, 0, sizeof *cfg); /* also zeroes padding, so equal configs compare equal bytewise */
  cfg->loss = NGP_LOSS_L2;
  ngp_optimizer_config *o = &cfg->optimizer;
  o->learning_rate = ADAM_LR;
  o->beta1 = ADAM_BETA1;
  o->beta2 = ADAM_BETA2;
  o->epsilon = ADAM_EPSILON;
  o->l2_reg = ADAM_L2_REG;
  o->decay_enabled = false;
  o->decay_start = DECAY_START;
  o->decay_interval = DECAY_INTERVAL;
  o->decay_end = DECAY_END;
  o->decay_base = DECAY_BASE;
  o->ema_enabled = false;
  o->ema_decay = EMA_DECAY;
  ngp_grid_config *g = &cfg->encoding;
  g->otype = NGP_GRID_HASH;
  g->n_levels = GRID_LEVELS;
  g->n_features_per_level = GRID_FEATURES;
  g->log2_hashmap_size = GRID_LOG2_T;
  g->base_resolution = base_resolution_for(NGP_BASE_RES_LOG2_T_FALLBACK);
  g->per_level_scale = 0.0f;
  g->interpolation = NGP_INTERP_LINEAR;
  ngp_mlp_config mlp = {NGP_NET_CUTLASS_MLP, MLP_NEURONS, MLP_HIDDEN, NGP_ACT_RELU, NGP_ACT_NONE};
  cfg->network = mlp;
  cfg->rgb_network = mlp;
  cfg->n_density_outputs = DENSITY_OUTPUTS;
  cfg->sh_degree = SH_DEGREE;
}

float ngp_config_per_level_scale(const ngp_config *cfg, int aabb_scale) {
  const ngp_grid_config *g = &cfg->encoding;
  if (g->per_level_scale > 0.0f) return g->per_level_scale;
  /* One level has no scale to speak of; upstream then leaves tcnn's default of 2 in place. */
  if (g->n_levels <= 1 || g->base_resolution <= 0) return 2.0f;
  float s = (float)(aabb_scale < 1 ? 1 : aabb_scale);
  /* In float, as upstream computes it: the finest level reaches ~2048 cells per ngp unit. */
  return expf(logf(2048.0f * s / (float)g->base_resolution) / (float)(g->n_levels - 1));
}

/* ---- Names ------------------------------------------------------------------------------- */

typedef struct named {
  const char *name;
  int value;
} named;

/* First name per value is the canonical spelling (what the *_name functions and to_json give). */
static const named LOSSES[] = {
    {"L2", NGP_LOSS_L2},          {"L1", NGP_LOSS_L1},        {"RelativeL2", NGP_LOSS_RELATIVE_L2},
    {"Mape", NGP_LOSS_MAPE},      {"Smape", NGP_LOSS_SMAPE},  {"Huber", NGP_LOSS_HUBER},
    {"SmoothL1", NGP_LOSS_HUBER}, {"LogL1", NGP_LOSS_LOG_L1}, {NULL, 0}};
static const named ACTIVATIONS[] = {{"None", NGP_ACT_NONE},
                                    {"ReLU", NGP_ACT_RELU},
                                    {"LeakyReLU", NGP_ACT_LEAKY_RELU},
                                    {"Exponential", NGP_ACT_EXPONENTIAL},
                                    {"Sine", NGP_ACT_SINE},
                                    {"Sigmoid", NGP_ACT_SIGMOID},
                                    {"Squareplus", NGP_ACT_SQUAREPLUS},
                                    {"Softplus", NGP_ACT_SOFTPLUS},
                                    {"Tanh", NGP_ACT_TANH},
                                    {NULL, 0}};
/* tcnn: "MegakernelMLP" is another name of FullyFusedMLP, and "MLP" (the default) of CutlassMLP. */
static const named NETWORKS[] = {{"FullyFusedMLP", NGP_NET_FULLY_FUSED_MLP},
                                 {"CutlassMLP", NGP_NET_CUTLASS_MLP},
                                 {"MegakernelMLP", NGP_NET_FULLY_FUSED_MLP},
                                 {"MLP", NGP_NET_CUTLASS_MLP},
                                 {NULL, 0}};
static const named GRIDS[] = {{"HashGrid", NGP_GRID_HASH}, {"DenseGrid", NGP_GRID_DENSE}, {NULL, 0}};
static const named GRID_TYPES[] = {{"Hash", NGP_GRID_HASH}, {"Dense", NGP_GRID_DENSE}, {NULL, 0}};
static const named INTERPOLATIONS[] = {
    {"Linear", NGP_INTERP_LINEAR}, {"Nearest", NGP_INTERP_NEAREST}, {"Smoothstep", NGP_INTERP_SMOOTHSTEP}, {NULL, 0}};

static bool name_is(const char *a, const char *b) {
  for (; *a && *b; a++, b++)
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b)) return false;
  return *a == *b;
}

static int lookup(const named *table, const char *s) {
  for (; table->name; table++)
    if (name_is(table->name, s)) return table->value;
  return -1;
}

static bool listed(const char *const *names, const char *s) {
  for (; *names; names++)
    if (name_is(*names, s)) return true;
  return false;
}

static const char *name_of(const named *table, int value) {
  for (; table->name; table++)
    if (table->value == value) return table->name;
  return "unknown";
}

const char *ngp_loss_name(ngp_loss_type t) { return name_of(LOSSES, (int)t); }
const char *ngp_activation_name(ngp_activation a) { return name_of(ACTIVATIONS, (int)a); }
const char *ngp_network_type_name(ngp_network_type t) { return name_of(NETWORKS, (int)t); }
const char *ngp_grid_type_name(ngp_grid_type t) { return name_of(GRIDS, (int)t); }
const char *ngp_interpolation_name(ngp_interpolation i) { return name_of(INTERPOLATIONS, (int)i); }

/* tcnn component names that are valid upstream but not implemented here: they give
 * NGP_ERR_UNSUPPORTED rather than "unknown". */
static const char *const TCNN_OPTIMIZERS[] = {"Average", "Batched", "Composite", "Lookahead", "Novograd",
                                              "SGD",     "Shampoo", "Lion",      NULL};
static const char *const TCNN_ENCODINGS[] = {
    "TiledGrid",          "Composite", "Identity",         "Frequency", "TriangleWave",
    "SphericalHarmonics", "OneBlob",   "OneBlobFrequency", "NRC",       NULL};

/* ---- Parsing helpers --------------------------------------------------------------------- */

typedef struct ctx {
  const ngp_config_tree *tree;
  bool single_file; /* ngp_config_parse: "parent" is not resolved */
  ngp_error *err;
} ctx;

#define FIELD(buf, path, key) ngp_json_field(buf, sizeof buf, path, key)

/* The file that holds obj[key], or obj itself when the key is absent. */
static const char *src_at(const ctx *c, const cJSON *obj, const char *key) {
  const cJSON *m = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
  return ngp_config_tree_file(c->tree, m ? m : obj);
}

static ngp_status get_int(const ctx *c, const cJSON *obj, const char *path, const char *key, long lo, long hi, int *out,
                          bool *present) {
  return ngp_json_get_int(obj, key, src_at(c, obj, key), path, lo, hi, out, present, c->err);
}

static ngp_status get_bool(const ctx *c, const cJSON *obj, const char *path, const char *key, bool *out) {
  return ngp_json_get_bool(obj, key, src_at(c, obj, key), path, out, NULL, c->err);
}

static ngp_status get_string(const ctx *c, const cJSON *obj, const char *path, const char *key, const char **out) {
  return ngp_json_get_string(obj, key, src_at(c, obj, key), path, out, NULL, c->err);
}

static ngp_status get_object(const ctx *c, const cJSON *obj, const char *path, const char *key, const cJSON **out) {
  return ngp_json_get_object(obj, key, src_at(c, obj, key), path, out, c->err);
}

/* A number within lo..hi, each end open or closed, stored as a float. */
static ngp_status get_real(const ctx *c, const cJSON *obj, const char *path, const char *key, double lo, bool lo_open,
                           double hi, bool hi_open, float *out, bool *present) {
  const char *file = src_at(c, obj, key);
  double d = 0.0;
  bool have = false;
  ngp_status st = ngp_json_get_double(obj, key, file, path, &d, &have, c->err);
  if (present) *present = have;
  if (st != NGP_OK || !have) return st;
  /* A value that rounds to a float 0 would slip past "> 0" bounds (epsilon 1e-50). */
  bool bad = (lo_open ? d <= lo : d < lo) || (hi_open ? d >= hi : d > hi) || (d != 0.0 && (float)d == 0.0f);
  if (bad) {
    char f[256];
    return ngp_error_set(c->err, NGP_ERR_INVALID, "%s: %s: %g is out of range %c%g, %g%c", file, FIELD(f, path, key), d,
                         lo_open ? '(' : '[', lo, hi, hi_open ? ')' : ']');
  }
  *out = (float)d;
  return NGP_OK;
}

/* Warns once per key of `obj` that is not in `known` (typo protection); never an error. */
static void warn_unknown(const ctx *c, const cJSON *obj, const char *path, const char *const *known) {
  for (const cJSON *m = obj->child; m; m = m->next) {
    bool ok = false;
    for (const char *const *k = known; *k && !ok; k++)
      ok = strcmp(*k, m->string) == 0;
    if (ok) continue;
    char list[600] = "", f[256];
    size_t n = 0;
    for (const char *const *k = known; *k && n < sizeof list; k++)
      n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", k == known ? "" : ", ", *k);
    ngp_log(NGP_LOG_WARN, "%s: %s: unknown key, ignored (check the spelling; known keys here: %s)",
            ngp_config_tree_file(c->tree, m), FIELD(f, path, m->string), list);
  }
}

/* For keys of tcnn's that change the maths in ways not implemented here: accepted only at their
 * default value, so that a config never silently means something else. */
static ngp_status only_default_real(const ctx *c, const cJSON *obj, const char *path, const char *key, double def) {
  const char *file = src_at(c, obj, key);
  double d = def;
  ngp_status st = ngp_json_get_double(obj, key, file, path, &d, NULL, c->err);
  if (st != NGP_OK || d == def) return st;
  char f[256];
  return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                       "%s: %s: only %g (tiny-cuda-nn's default) is supported; remove the key", file,
                       FIELD(f, path, key), def);
}

static ngp_status only_false(const ctx *c, const cJSON *obj, const char *path, const char *key) {
  bool v = false;
  ngp_status st = get_bool(c, obj, path, key, &v);
  if (st != NGP_OK || !v) return st;
  char f[256];
  return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                       "%s: %s: true is not supported by this implementation; remove the key", src_at(c, obj, key),
                       FIELD(f, path, key));
}

/* ---- loss ---------------------------------------------------------------------------------- */

static const char *const LOSS_KEYS[] = {"otype", NULL};

static ngp_status parse_loss(const ctx *c, const cJSON *root, ngp_config *cfg) {
  const cJSON *loss = NULL;
  ngp_status st = get_object(c, root, "", "loss", &loss);
  if (st != NGP_OK || !loss) return st;
  warn_unknown(c, loss, "loss", LOSS_KEYS);
  const char *name = NULL;
  if ((st = get_string(c, loss, "loss", "otype", &name)) != NGP_OK || !name) return st;
  int v = lookup(LOSSES, name);
  if (v < 0)
    return ngp_error_set(c->err, NGP_ERR_INVALID,
                         "%s: loss.otype: unknown loss \"%s\"; use one of L2, L1, RelativeL2, Mape, Smape, Huber "
                         "(also SmoothL1) or LogL1",
                         src_at(c, loss, "otype"), name);
  cfg->loss = (ngp_loss_type)v;
  return NGP_OK;
}

/* ---- optimizer: Ema / ExponentialDecay wrappers around Adam, in either order --------------- */

static const char *const EMA_KEYS[] = {"otype", "decay", "full_precision", "nested", NULL};
static const char *const DECAY_KEYS[] = {"otype",  "decay_start", "decay_interval", "decay_end", "decay_base",
                                         "nested", NULL};
static const char *const ADAM_KEYS[] = {"otype",
                                        "learning_rate",
                                        "beta1",
                                        "beta2",
                                        "epsilon",
                                        "l2_reg",
                                        "adabound",
                                        "relative_decay",
                                        "absolute_decay",
                                        "clipping_magnitude",
                                        "non_matrix_learning_rate_factor",
                                        "optimize_matrix_params",
                                        "optimize_non_matrix_params",
                                        NULL};

enum { SEEN_EMA = 1, SEEN_DECAY = 2 };

static ngp_status parse_optimizer(const ctx *c, const cJSON *opt, const char *path, ngp_optimizer_config *o,
                                  unsigned *seen);

/* The "nested" optimizer of a wrapper; absent means Adam with tcnn's defaults, as upstream. */
static ngp_status parse_nested(const ctx *c, const cJSON *opt, const char *path, ngp_optimizer_config *o,
                               unsigned *seen) {
  const cJSON *nested = NULL;
  ngp_status st = get_object(c, opt, path, "nested", &nested);
  if (st != NGP_OK || !nested) return st;
  char sub[256];
  return parse_optimizer(c, nested, FIELD(sub, path, "nested"), o, seen);
}

static ngp_status parse_optimizer(const ctx *c, const cJSON *opt, const char *path, ngp_optimizer_config *o,
                                  unsigned *seen) {
  const char *otype = "Adam"; /* tcnn create_optimizer's default */
  ngp_status st = get_string(c, opt, path, "otype", &otype);
  if (st != NGP_OK) return st;
  const char *file = src_at(c, opt, "otype");
  char f[256];
  FIELD(f, path, "otype");
  unsigned kind = name_is(otype, "Ema") ? SEEN_EMA : name_is(otype, "ExponentialDecay") ? SEEN_DECAY : 0;
  if (kind && (*seen & kind))
    return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                         "%s: %s: a second %s in the optimizer chain is not supported; wrap Adam in at most one Ema "
                         "and one ExponentialDecay",
                         file, f, otype);
  *seen |= kind;
  if (kind == SEEN_EMA) {
    warn_unknown(c, opt, path, EMA_KEYS);
    o->ema_enabled = true;
    bool full_precision = false; /* fp16 vs fp32 EMA weights in tcnn; this implementation is fp32 */
    if ((st = get_real(c, opt, path, "decay", 0.0, false, 1.0, true, &o->ema_decay, NULL)) != NGP_OK ||
        (st = get_bool(c, opt, path, "full_precision", &full_precision)) != NGP_OK)
      return st;
    return parse_nested(c, opt, path, o, seen);
  }
  if (kind == SEEN_DECAY) {
    warn_unknown(c, opt, path, DECAY_KEYS);
    o->decay_enabled = true;
    if ((st = get_int(c, opt, path, "decay_start", 0, INT_MAX, &o->decay_start, NULL)) != NGP_OK ||
        (st = get_int(c, opt, path, "decay_interval", 1, INT_MAX, &o->decay_interval, NULL)) != NGP_OK ||
        (st = get_int(c, opt, path, "decay_end", 0, INT_MAX, &o->decay_end, NULL)) != NGP_OK ||
        (st = get_real(c, opt, path, "decay_base", 0.0, true, 1.0, false, &o->decay_base, NULL)) != NGP_OK)
      return st;
    return parse_nested(c, opt, path, o, seen);
  }
  if (name_is(otype, "Adam")) {
    warn_unknown(c, opt, path, ADAM_KEYS);
    bool ignored = false; /* instant-ngp rewrites both from its "train network/encoding" toggles */
    if ((st = get_real(c, opt, path, "learning_rate", 0.0, true, 10.0, false, &o->learning_rate, NULL)) != NGP_OK ||
        (st = get_real(c, opt, path, "beta1", 0.0, false, 1.0, true, &o->beta1, NULL)) != NGP_OK ||
        (st = get_real(c, opt, path, "beta2", 0.0, false, 1.0, true, &o->beta2, NULL)) != NGP_OK ||
        (st = get_real(c, opt, path, "epsilon", 0.0, true, 1.0, false, &o->epsilon, NULL)) != NGP_OK ||
        (st = get_real(c, opt, path, "l2_reg", 0.0, false, 1.0, false, &o->l2_reg, NULL)) != NGP_OK ||
        (st = only_false(c, opt, path, "adabound")) != NGP_OK ||
        (st = only_default_real(c, opt, path, "relative_decay", 0.0)) != NGP_OK ||
        (st = only_default_real(c, opt, path, "absolute_decay", 0.0)) != NGP_OK ||
        (st = only_default_real(c, opt, path, "clipping_magnitude", 0.0)) != NGP_OK ||
        (st = only_default_real(c, opt, path, "non_matrix_learning_rate_factor", 1.0)) != NGP_OK ||
        (st = get_bool(c, opt, path, "optimize_matrix_params", &ignored)) != NGP_OK ||
        (st = get_bool(c, opt, path, "optimize_non_matrix_params", &ignored)) != NGP_OK)
      return st;
    return NGP_OK;
  }
  if (listed(TCNN_OPTIMIZERS, otype))
    return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                         "%s: %s: tiny-cuda-nn's \"%s\" optimizer is not implemented here; use Adam, optionally "
                         "wrapped in Ema and/or ExponentialDecay",
                         file, f, otype);
  return ngp_error_set(c->err, NGP_ERR_INVALID, "%s: %s: unknown optimizer \"%s\"; use Ema, ExponentialDecay or Adam",
                       file, f, otype);
}

/* ---- encoding: the multiresolution grid ------------------------------------------------------ */

static const char *const GRID_KEYS[] = {"otype",
                                        "type",
                                        "n_levels",
                                        "n_features",
                                        "n_features_per_level",
                                        "log2_hashmap_size",
                                        "base_resolution",
                                        "per_level_scale",
                                        "interpolation",
                                        "hash",
                                        "stochastic_interpolation",
                                        "n_pos_dims",
                                        "n_dims_to_encode",
                                        NULL};

static ngp_status parse_grid_kind(const ctx *c, const cJSON *enc, ngp_grid_config *g) {
  const char *otype = "HashGrid";
  ngp_status st = get_string(c, enc, "encoding", "otype", &otype);
  if (st != NGP_OK) return st;
  const char *file = src_at(c, enc, "otype");
  int kind = name_is(otype, "Grid") ? NGP_GRID_HASH : lookup(GRIDS, otype);
  if (kind < 0 && listed(TCNN_ENCODINGS, otype))
    return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                         "%s: encoding.otype: tiny-cuda-nn's \"%s\" encoding is not implemented here; use HashGrid or "
                         "DenseGrid",
                         file, otype);
  if (kind < 0)
    return ngp_error_set(c->err, NGP_ERR_INVALID,
                         "%s: encoding.otype: unknown encoding \"%s\"; use HashGrid, DenseGrid, or Grid with "
                         "\"type\": \"Hash\" or \"Dense\"",
                         file, otype);
  /* As in tcnn, "type" overrides the kind the otype implies. */
  const char *type = NULL;
  if ((st = get_string(c, enc, "encoding", "type", &type)) != NGP_OK) return st;
  if (type) {
    file = src_at(c, enc, "type");
    kind = lookup(GRID_TYPES, type);
    if (kind < 0 && name_is(type, "Tiled"))
      return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                           "%s: encoding.type: tiled grids are not implemented here; use \"Hash\" or \"Dense\"", file);
    if (kind < 0)
      return ngp_error_set(c->err, NGP_ERR_INVALID,
                           "%s: encoding.type: unknown grid type \"%s\"; use \"Hash\" or \"Dense\"", file, type);
  }
  g->otype = (ngp_grid_type)kind;
  return NGP_OK;
}

static ngp_status parse_encoding(const ctx *c, const cJSON *root, ngp_grid_config *g) {
  const cJSON *enc = NULL;
  ngp_status st = get_object(c, root, "", "encoding", &enc);
  if (st != NGP_OK || !enc) return st;
  const char *p = "encoding";
  warn_unknown(c, enc, p, GRID_KEYS);
  if ((st = parse_grid_kind(c, enc, g)) != NGP_OK) return st;

  int f = g->n_features_per_level;
  if ((st = get_int(c, enc, p, "n_features_per_level", 1, 8, &f, NULL)) != NGP_OK) return st;
  if (f != 1 && f != 2 && f != 4 && f != 8)
    return ngp_error_set(c->err, NGP_ERR_INVALID,
                         "%s: encoding.n_features_per_level: %d is not supported; use 1, 2, 4 or 8",
                         src_at(c, enc, "n_features_per_level"), f);
  g->n_features_per_level = f;

  /* n_features (tcnn's alternative spelling) is the total, L * F. */
  bool have_levels = false, have_features = false;
  int n_features = 0;
  if ((st = get_int(c, enc, p, "n_levels", 1, 64, &g->n_levels, &have_levels)) != NGP_OK ||
      (st = get_int(c, enc, p, "n_features", 1, 64 * 8, &n_features, &have_features)) != NGP_OK)
    return st;
  if (have_features) {
    const char *file = src_at(c, enc, "n_features");
    if (have_levels)
      return ngp_error_set(c->err, NGP_ERR_INVALID,
                           "%s: encoding.n_features: may not be given together with n_levels (one determines the "
                           "other); keep one of them",
                           file);
    if (n_features % f != 0 || n_features / f > 64)
      return ngp_error_set(c->err, NGP_ERR_INVALID,
                           "%s: encoding.n_features: %d is not n_levels (1 to 64) times n_features_per_level (%d)",
                           file, n_features, f);
    g->n_levels = n_features / f;
  }

  bool have_t = false, have_nmin = false;
  if ((st = get_int(c, enc, p, "log2_hashmap_size", 1, 30, &g->log2_hashmap_size, &have_t)) != NGP_OK ||
      (st = get_int(c, enc, p, "base_resolution", 1, 4096, &g->base_resolution, &have_nmin)) != NGP_OK)
    return st;
  if (!have_nmin)
    g->base_resolution = base_resolution_for(have_t ? g->log2_hashmap_size : NGP_BASE_RES_LOG2_T_FALLBACK);

  /* 0 asks for instant-ngp's NeRF default, computed per scene from aabb_scale. */
  float b = 0.0f;
  bool have_b = false;
  if ((st = get_real(c, enc, p, "per_level_scale", 0.0, false, 1024.0, false, &b, &have_b)) != NGP_OK) return st;
  if (have_b && b != 0.0f && b < 1.0f)
    return ngp_error_set(c->err, NGP_ERR_INVALID,
                         "%s: encoding.per_level_scale: %g is below 1; use a value from 1 to 1024, or 0 (or no key) "
                         "for instant-ngp's automatic scale",
                         src_at(c, enc, "per_level_scale"), (double)b);
  if (have_b) g->per_level_scale = b;

  const char *name = NULL;
  if ((st = get_string(c, enc, p, "interpolation", &name)) != NGP_OK) return st;
  if (name) {
    int v = lookup(INTERPOLATIONS, name);
    if (v < 0)
      return ngp_error_set(
          c->err, NGP_ERR_INVALID,
          "%s: encoding.interpolation: unknown interpolation \"%s\"; use Linear, Nearest or Smoothstep",
          src_at(c, enc, "interpolation"), name);
    g->interpolation = (ngp_interpolation)v;
  }
  name = NULL;
  if ((st = get_string(c, enc, p, "hash", &name)) != NGP_OK) return st;
  if (name && !name_is(name, "CoherentPrime"))
    return ngp_error_set(c->err,
                         name_is(name, "Prime") || name_is(name, "ReversedPrime") || name_is(name, "Rng")
                             ? NGP_ERR_UNSUPPORTED
                             : NGP_ERR_INVALID,
                         "%s: encoding.hash: \"%s\" is not supported; only CoherentPrime (the default) is implemented",
                         src_at(c, enc, "hash"), name);
  return only_false(c, enc, p, "stochastic_interpolation");
}

/* ---- network, rgb_network: MLPs -------------------------------------------------------------- */

static const char *const MLP_KEYS[] = {
    "otype", "n_neurons", "n_hidden_layers", "activation", "output_activation", "n_output_dims", "n_input_dims", NULL};

static ngp_status parse_activation(const ctx *c, const cJSON *obj, const char *path, const char *key,
                                   ngp_activation *out) {
  const char *name = NULL;
  ngp_status st = get_string(c, obj, path, key, &name);
  if (st != NGP_OK || !name) return st;
  int v = lookup(ACTIVATIONS, name);
  if (v < 0) {
    char f[256];
    return ngp_error_set(c->err, NGP_ERR_INVALID,
                         "%s: %s: unknown activation \"%s\"; use None, ReLU, LeakyReLU, Exponential, Sine, Sigmoid, "
                         "Squareplus, Softplus or Tanh",
                         src_at(c, obj, key), FIELD(f, path, key), name);
  }
  *out = (ngp_activation)v;
  return NGP_OK;
}

/* `n_outputs` is NULL for rgb_network, whose output width instant-ngp fixes at 3 (the key is
 * accepted and ignored there). */
static ngp_status parse_mlp(const ctx *c, const cJSON *root, const char *key, ngp_mlp_config *m, int *n_outputs) {
  const cJSON *obj = NULL;
  ngp_status st = get_object(c, root, "", key, &obj);
  if (st != NGP_OK || !obj) return st;
  warn_unknown(c, obj, key, MLP_KEYS);
  const char *otype = NULL;
  if ((st = get_string(c, obj, key, "otype", &otype)) != NGP_OK) return st;
  char f[256];
  if (otype) {
    int v = lookup(NETWORKS, otype);
    if (v < 0)
      return ngp_error_set(c->err, NGP_ERR_INVALID, "%s: %s: unknown network \"%s\"; use FullyFusedMLP or CutlassMLP",
                           src_at(c, obj, "otype"), FIELD(f, key, "otype"), otype);
    m->otype = (ngp_network_type)v;
  }
  int dims = 0;
  if ((st = get_int(c, obj, key, "n_neurons", 1, 1024, &m->n_neurons, NULL)) != NGP_OK ||
      (st = get_int(c, obj, key, "n_hidden_layers", 0, 32, &m->n_hidden_layers, NULL)) != NGP_OK ||
      (st = parse_activation(c, obj, key, "activation", &m->activation)) != NGP_OK ||
      (st = parse_activation(c, obj, key, "output_activation", &m->output_activation)) != NGP_OK ||
      (st = get_int(c, obj, key, "n_output_dims", 1, 64, n_outputs ? n_outputs : &dims, NULL)) != NGP_OK ||
      (st = get_int(c, obj, key, "n_input_dims", 1, INT_MAX, &dims, NULL)) != NGP_OK)
    return st;
  /* tcnn's fully fused kernel exists for these widths only, and needs a hidden layer. */
  if (m->otype == NGP_NET_FULLY_FUSED_MLP) {
    int w = m->n_neurons;
    if (w != 16 && w != 32 && w != 64 && w != 128)
      return ngp_error_set(c->err, NGP_ERR_INVALID,
                           "%s: %s: FullyFusedMLP supports 16, 32, 64 or 128 neurons, not %d; use CutlassMLP for "
                           "other widths",
                           src_at(c, obj, "n_neurons"), FIELD(f, key, "n_neurons"), w);
    if (m->n_hidden_layers < 1)
      return ngp_error_set(c->err, NGP_ERR_INVALID,
                           "%s: %s: FullyFusedMLP needs at least 1 hidden layer; use CutlassMLP for a linear map",
                           src_at(c, obj, "n_hidden_layers"), FIELD(f, key, "n_hidden_layers"));
  }
  return NGP_OK;
}

/* ---- dir_encoding: spherical harmonics, plain or as instant-ngp's Composite --------------------- */

static const char *const SH_KEYS[] = {"otype", "degree", NULL};
static const char *const COMPOSITE_KEYS[] = {"otype", "nested", NULL};
static const char *const SH_PART_KEYS[] = {"otype", "degree", "n_dims_to_encode", NULL};
static const char *const IDENTITY_PART_KEYS[] = {"otype", "n_dims_to_encode", "scale", "offset", NULL};

static ngp_status composite_part(const ctx *c, const cJSON *nested, int i, const char *want, const cJSON **part,
                                 char *path, size_t path_size) {
  snprintf(path, path_size, "dir_encoding.nested[%d]", i);
  *part = cJSON_GetArrayItem(nested, i);
  const char *otype = NULL;
  if (!cJSON_IsObject(*part))
    return ngp_error_set(c->err, NGP_ERR_INVALID, "%s: %s: expected an object, found %s",
                         ngp_config_tree_file(c->tree, nested), path, ngp_json_type_name(*part));
  ngp_status st = get_string(c, *part, path, "otype", &otype);
  if (st != NGP_OK) return st;
  if (!otype || !name_is(otype, want))
    return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                         "%s: %s.otype: expected %s, found %s%s%s; only Composite [SphericalHarmonics on 3 dims, "
                         "Identity] is supported",
                         src_at(c, *part, "otype"), path, want, otype ? "\"" : "", otype ? otype : "no otype",
                         otype ? "\"" : "");
  return NGP_OK;
}

static ngp_status parse_dir_encoding(const ctx *c, const cJSON *root, int *degree) {
  const cJSON *dir = NULL;
  ngp_status st = get_object(c, root, "", "dir_encoding", &dir);
  if (st != NGP_OK || !dir) return st;
  const char *otype = "SphericalHarmonics";
  if ((st = get_string(c, dir, "dir_encoding", "otype", &otype)) != NGP_OK) return st;
  const char *file = src_at(c, dir, "otype");
  if (name_is(otype, "SphericalHarmonics")) {
    warn_unknown(c, dir, "dir_encoding", SH_KEYS);
    return get_int(c, dir, "dir_encoding", "degree", 1, 8, degree, NULL);
  }
  if (!name_is(otype, "Composite")) {
    bool tcnn = listed(TCNN_ENCODINGS, otype) || lookup(GRIDS, otype) >= 0 || name_is(otype, "Grid");
    return ngp_error_set(c->err, tcnn ? NGP_ERR_UNSUPPORTED : NGP_ERR_INVALID,
                         "%s: dir_encoding.otype: \"%s\" is not supported; use SphericalHarmonics, or Composite "
                         "[SphericalHarmonics on 3 dims, Identity]",
                         file, otype);
  }
  warn_unknown(c, dir, "dir_encoding", COMPOSITE_KEYS);
  const cJSON *nested = NULL;
  if ((st = ngp_json_get_array(dir, "nested", src_at(c, dir, "nested"), "dir_encoding", &nested, c->err)) != NGP_OK)
    return st;
  int n = nested ? cJSON_GetArraySize(nested) : 0;
  if (n < 1 || n > 2)
    return ngp_error_set(c->err, NGP_ERR_UNSUPPORTED,
                         "%s: dir_encoding.nested: %d parts; only [SphericalHarmonics on 3 dims] optionally followed "
                         "by [Identity] is supported",
                         nested ? ngp_config_tree_file(c->tree, nested) : file, n);
  char path[64];
  const cJSON *part = NULL;
  if ((st = composite_part(c, nested, 0, "SphericalHarmonics", &part, path, sizeof path)) != NGP_OK) return st;
  warn_unknown(c, part, path, SH_PART_KEYS);
  int dims = 3;
  if ((st = get_int(c, part, path, "n_dims_to_encode", 3, 3, &dims, NULL)) != NGP_OK ||
      (st = get_int(c, part, path, "degree", 1, 8, degree, NULL)) != NGP_OK)
    return st;
  if (n == 2) {
    /* Identity passes instant-ngp's extra per-image latent dims through; there are none here. */
    if ((st = composite_part(c, nested, 1, "Identity", &part, path, sizeof path)) != NGP_OK) return st;
    warn_unknown(c, part, path, IDENTITY_PART_KEYS);
  }
  return NGP_OK;
}

/* ---- The whole config ----------------------------------------------------------------------- */

static const char *const TOP_KEYS[] = {"parent",       "loss",        "optimizer",      "encoding", "network",
                                       "dir_encoding", "rgb_network", "distortion_map", "envmap",   NULL};

static ngp_status parse_tree(const ctx *c, ngp_config *cfg) {
  const cJSON *root = c->tree->root;
  warn_unknown(c, root, "", TOP_KEYS);
  const char *parent = NULL;
  ngp_status st = get_string(c, root, "", "parent", &parent);
  if (st != NGP_OK) return st;
  if (parent && c->single_file)
    ngp_log(NGP_LOG_WARN,
            "%s: parent: not resolved when parsing text (ngp_config_parse); load the file with "
            "ngp_config_load to merge it over its parent",
            src_at(c, root, "parent"));
  if ((st = parse_loss(c, root, cfg)) != NGP_OK) return st;

  const cJSON *opt = NULL;
  unsigned seen = 0;
  if ((st = get_object(c, root, "", "optimizer", &opt)) != NGP_OK) return st;
  if (opt && (st = parse_optimizer(c, opt, "optimizer", &cfg->optimizer, &seen)) != NGP_OK) return st;

  if ((st = parse_encoding(c, root, &cfg->encoding)) != NGP_OK ||
      (st = parse_mlp(c, root, "network", &cfg->network, &cfg->n_density_outputs)) != NGP_OK ||
      (st = parse_dir_encoding(c, root, &cfg->sh_degree)) != NGP_OK ||
      (st = parse_mlp(c, root, "rgb_network", &cfg->rgb_network, NULL)) != NGP_OK)
    return st;

  /* instant-ngp's trainable lens distortion map and environment map: not part of this
   * implementation; only their type is checked so a config written for upstream still loads. */
  const cJSON *unused = NULL;
  if ((st = get_object(c, root, "", "distortion_map", &unused)) != NGP_OK ||
      (st = get_object(c, root, "", "envmap", &unused)) != NGP_OK)
    return st;
  return NGP_OK;
}

static ngp_status finish(const ngp_config_tree *t, bool single_file, const char *source, ngp_config *cfg,
                         ngp_error *err) {
  ngp_config tmp;
  ngp_config_default(&tmp);
  ctx c = {t, single_file, err};
  ngp_status st = parse_tree(&c, &tmp);
  if (st != NGP_OK) return st;
  snprintf(tmp.source, sizeof tmp.source, "%s", source);
  *cfg = tmp; /* only on success: a failed load leaves *cfg as it was */
  return NGP_OK;
}

ngp_status ngp_config_load(const char *path, ngp_config *cfg, ngp_error *err) {
  if (!path || !path[0]) return ngp_error_set(err, NGP_ERR_INVALID, "config: no file name given");
  if (strlen(path) >= sizeof cfg->source)
    return ngp_error_set(err, NGP_ERR_INVALID, "%.64s...: config path longer than %zu characters; use a shorter path",
                         path, sizeof cfg->source - 1);
  ngp_config_tree t;
  ngp_status st = ngp_config_tree_load(path, &t, err);
  if (st != NGP_OK) return st;
  st = finish(&t, false, path, cfg, err);
  ngp_config_tree_free(&t);
  return st;
}

ngp_status ngp_config_parse(const char *text, size_t len, const char *name, ngp_config *cfg, ngp_error *err) {
  if (!name) name = "<config>";
  if (!text) return ngp_error_set(err, NGP_ERR_INVALID, "%s: no text given", name);
  ngp_config_tree t;
  ngp_status st = ngp_config_tree_parse(text, len, name, &t, err);
  if (st != NGP_OK) return st;
  st = finish(&t, true, name, cfg, err);
  ngp_config_tree_free(&t);
  return st;
}

/* ---- The effective config as JSON ------------------------------------------------------------ */

/* A float as the shortest decimal that reads back to the same float (0.95, not
 * 0.949999988079071), so the file stays readable and parsing it gives the identical value. */
static double float_decimal(float v) {
  char buf[40];
  for (int prec = 6; prec <= 9; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
    double d = strtod(buf, NULL);
    if ((float)d == v) return d;
  }
  return (double)v;
}

static cJSON *add_object(cJSON *parent, const char *key, bool *ok) {
  cJSON *o = *ok ? cJSON_AddObjectToObject(parent, key) : NULL;
  if (!o) *ok = false;
  return o;
}

static void add_int(cJSON *o, const char *key, int v, bool *ok) {
  if (*ok && !cJSON_AddNumberToObject(o, key, (double)v)) *ok = false;
}

static void add_float(cJSON *o, const char *key, float v, bool *ok) {
  if (*ok && !cJSON_AddNumberToObject(o, key, float_decimal(v))) *ok = false;
}

static void add_str(cJSON *o, const char *key, const char *v, bool *ok) {
  if (*ok && !cJSON_AddStringToObject(o, key, v)) *ok = false;
}

static void add_mlp(cJSON *root, const char *key, const ngp_mlp_config *m, int n_outputs, bool *ok) {
  cJSON *o = add_object(root, key, ok);
  add_str(o, "otype", ngp_network_type_name(m->otype), ok);
  add_int(o, "n_neurons", m->n_neurons, ok);
  add_int(o, "n_hidden_layers", m->n_hidden_layers, ok);
  add_str(o, "activation", ngp_activation_name(m->activation), ok);
  add_str(o, "output_activation", ngp_activation_name(m->output_activation), ok);
  if (n_outputs > 0) add_int(o, "n_output_dims", n_outputs, ok);
}

char *ngp_config_to_json(const ngp_config *cfg) {
  cJSON *root = cJSON_CreateObject();
  bool ok = root != NULL;

  add_str(add_object(root, "loss", &ok), "otype", ngp_loss_name(cfg->loss), &ok);

  /* Ema outermost, then ExponentialDecay, then Adam: base.json's order. */
  const ngp_optimizer_config *o = &cfg->optimizer;
  cJSON *opt = add_object(root, "optimizer", &ok);
  if (o->ema_enabled) {
    add_str(opt, "otype", "Ema", &ok);
    add_float(opt, "decay", o->ema_decay, &ok);
    opt = add_object(opt, "nested", &ok);
  }
  if (o->decay_enabled) {
    add_str(opt, "otype", "ExponentialDecay", &ok);
    add_int(opt, "decay_start", o->decay_start, &ok);
    add_int(opt, "decay_interval", o->decay_interval, &ok);
    add_int(opt, "decay_end", o->decay_end, &ok);
    add_float(opt, "decay_base", o->decay_base, &ok);
    opt = add_object(opt, "nested", &ok);
  }
  add_str(opt, "otype", "Adam", &ok);
  add_float(opt, "learning_rate", o->learning_rate, &ok);
  add_float(opt, "beta1", o->beta1, &ok);
  add_float(opt, "beta2", o->beta2, &ok);
  add_float(opt, "epsilon", o->epsilon, &ok);
  add_float(opt, "l2_reg", o->l2_reg, &ok);

  const ngp_grid_config *g = &cfg->encoding;
  cJSON *enc = add_object(root, "encoding", &ok);
  add_str(enc, "otype", ngp_grid_type_name(g->otype), &ok);
  add_int(enc, "n_levels", g->n_levels, &ok);
  add_int(enc, "n_features_per_level", g->n_features_per_level, &ok);
  add_int(enc, "log2_hashmap_size", g->log2_hashmap_size, &ok);
  add_int(enc, "base_resolution", g->base_resolution, &ok);
  if (g->per_level_scale != 0.0f) add_float(enc, "per_level_scale", g->per_level_scale, &ok); /* absent = auto */
  add_str(enc, "interpolation", ngp_interpolation_name(g->interpolation), &ok);

  add_mlp(root, "network", &cfg->network, cfg->n_density_outputs, &ok);

  /* instant-ngp's current form; the Identity part has nothing to pass through here. */
  cJSON *dir = add_object(root, "dir_encoding", &ok);
  add_str(dir, "otype", "Composite", &ok);
  cJSON *parts = ok ? cJSON_AddArrayToObject(dir, "nested") : NULL;
  cJSON *sh = cJSON_CreateObject(), *id = cJSON_CreateObject();
  if (!parts || !sh || !id || !cJSON_AddItemToArray(parts, sh)) {
    ok = false;
    cJSON_Delete(sh);
    cJSON_Delete(id);
  } else if (!cJSON_AddItemToArray(parts, id)) {
    ok = false;
    cJSON_Delete(id);
  } else {
    add_int(sh, "n_dims_to_encode", 3, &ok);
    add_str(sh, "otype", "SphericalHarmonics", &ok);
    add_int(sh, "degree", cfg->sh_degree, &ok);
    add_str(id, "otype", "Identity", &ok);
  }

  add_mlp(root, "rgb_network", &cfg->rgb_network, 0, &ok);

  char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (!text) return NULL;
  /* Our own malloc'd copy: cJSON's allocator may have been replaced with cJSON_InitHooks. */
  char *out = malloc(strlen(text) + 1);
  if (out) memcpy(out, text, strlen(text) + 1);
  cJSON_free(text);
  return out;
}
