/* ngp/config.h: network and training configs in instant-ngp's JSON schema (NGP-SPEC §2, §3, §7,
 * §11; every key with its default and meaning is in docs/CONFIG.md).
 *
 *   ngp_config cfg;
 *   if (ngp_config_load("configs/nerf/base.json", &cfg, &err) != NGP_OK) { puts(err.msg); ... }
 *
 * A config may name a "parent" file (relative to itself); the child is merged over the parent
 * with JSON merge-patch (RFC 7386), recursively, as instant-ngp does. Absent fields take
 * instant-ngp's defaults; an unknown otype or a value of the wrong type is an error naming the
 * file and the field. */
#ifndef NGP_CONFIG_H
#define NGP_CONFIG_H

#include "ngp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ngp_loss_type {
  NGP_LOSS_L2 = 0,
  NGP_LOSS_L1,
  NGP_LOSS_RELATIVE_L2,
  NGP_LOSS_MAPE,
  NGP_LOSS_SMAPE,
  NGP_LOSS_HUBER, /* also spelled "SmoothL1" */
  NGP_LOSS_LOG_L1,
} ngp_loss_type;

typedef enum ngp_grid_type {
  NGP_GRID_HASH = 0, /* "HashGrid": dense levels where they fit the table, hashed above */
  NGP_GRID_DENSE,    /* "DenseGrid": every level dense (modulo the table size) */
} ngp_grid_type;

typedef enum ngp_interpolation {
  NGP_INTERP_LINEAR = 0,
  NGP_INTERP_NEAREST,
  NGP_INTERP_SMOOTHSTEP,
} ngp_interpolation;

typedef enum ngp_activation {
  NGP_ACT_NONE = 0,
  NGP_ACT_RELU,
  NGP_ACT_LEAKY_RELU,
  NGP_ACT_EXPONENTIAL,
  NGP_ACT_SINE,
  NGP_ACT_SIGMOID,
  NGP_ACT_SQUAREPLUS,
  NGP_ACT_SOFTPLUS,
  NGP_ACT_TANH,
} ngp_activation;

typedef enum ngp_network_type {
  NGP_NET_FULLY_FUSED_MLP = 0, /* "FullyFusedMLP" */
  NGP_NET_CUTLASS_MLP,         /* "CutlassMLP": the same maths, any width */
} ngp_network_type;

typedef struct ngp_grid_config {
  ngp_grid_type otype;
  int n_levels;             /* L */
  int n_features_per_level; /* F: 1, 2, 4 or 8 */
  int log2_hashmap_size;    /* T = 2^log2_hashmap_size entries per level at most */
  int base_resolution;      /* N_min, in grid vertices */
  float per_level_scale;    /* b; 0 means instant-ngp's NeRF default, see ngp_config_per_level_scale */
  ngp_interpolation interpolation;
} ngp_grid_config;

typedef struct ngp_mlp_config {
  ngp_network_type otype;
  int n_neurons; /* W */
  int n_hidden_layers;
  ngp_activation activation;        /* hidden layers */
  ngp_activation output_activation; /* output layer */
} ngp_mlp_config;

typedef struct ngp_optimizer_config {
  /* Adam */
  float learning_rate, beta1, beta2, epsilon, l2_reg;
  /* ExponentialDecay wrapped around Adam (when present) */
  bool decay_enabled;
  int decay_start, decay_interval, decay_end;
  float decay_base;
  /* Ema wrapped around everything (when present): the weights used for rendering and snapshots */
  bool ema_enabled;
  float ema_decay;
} ngp_optimizer_config;

typedef struct ngp_config {
  ngp_loss_type loss;
  ngp_optimizer_config optimizer;
  ngp_grid_config encoding;   /* position encoding */
  ngp_mlp_config network;     /* density MLP: hash features -> n_density_outputs */
  int n_density_outputs;      /* network.n_output_dims (16): all feed the colour MLP, [0] is density */
  int sh_degree;              /* dir_encoding: SphericalHarmonics degree (4 -> 16 values) */
  ngp_mlp_config rgb_network; /* colour MLP: density outputs ++ SH -> rgb */
  char source[1024];          /* the file the config came from ("" for built-in defaults) */
} ngp_config;

/* instant-ngp's defaults (what an empty config file gives): L2 loss; plain Adam with tcnn's
 * defaults (lr 1e-3, beta1 0.9, beta2 0.999, epsilon 1e-8, l2_reg 1e-8; Ema and ExponentialDecay
 * off, their fields at tcnn's defaults); HashGrid L=16, F=2, T=2^19, per_level_scale 0 (auto),
 * Linear, and N_min = 32 (instant-ngp derives an absent base_resolution as 2^(T/3) with T = 15
 * when log2_hashmap_size is absent too); both MLPs CutlassMLP 128 x 5 hidden, ReLU, None;
 * 16 density outputs; SH degree 4; source "". docs/CONFIG.md gives the upstream source of each. */
void ngp_config_default(ngp_config *cfg);
/* Loads a config file, resolving "parent" chains (at most 16 files including `path`; cycles are
 * an error). cfg->source becomes `path`. On failure *cfg is left untouched and the message names
 * the file of the chain holding the bad value: NGP_ERR_IO (a file cannot be read), NGP_ERR_PARSE
 * (malformed JSON, with line:col), NGP_ERR_INVALID (wrong type, out of range, unknown name) or
 * NGP_ERR_UNSUPPORTED (a tiny-cuda-nn component or option this implementation lacks). Unknown
 * keys are warnings (ngp_log), not errors. */
ngp_status ngp_config_load(const char *path, ngp_config *cfg, ngp_error *err);
/* Parses config JSON text without parent resolution (a "parent" key is ignored with a warning);
 * `name` is used in messages and becomes cfg->source. Otherwise as ngp_config_load. */
ngp_status ngp_config_parse(const char *text, size_t len, const char *name, ngp_config *cfg, ngp_error *err);
/* The effective config as one line of JSON in instant-ngp's schema (Ema outermost, then
 * ExponentialDecay, then Adam; per_level_scale omitted when 0), such that parsing it gives the
 * same ngp_config. malloc'd, free() it; NULL on allocation failure. */
char *ngp_config_to_json(const ngp_config *cfg);

/* The per-level scale b actually used for a scene: the configured one, or instant-ngp's NeRF
 * default exp(ln(2048 * aabb_scale / N_min) / (L - 1)) when it is 0 (aabb_scale < 1 counts as 1;
 * with L = 1 the scale is unused and 2, tcnn's default, is returned). */
float ngp_config_per_level_scale(const ngp_config *cfg, int aabb_scale);

/* Canonical spellings, as written by ngp_config_to_json ("Huber", "Mape", "FullyFusedMLP", ...);
 * "unknown" for a value outside the enum. */
const char *ngp_loss_name(ngp_loss_type t);
const char *ngp_activation_name(ngp_activation a);
const char *ngp_network_type_name(ngp_network_type t);
const char *ngp_grid_type_name(ngp_grid_type t);
const char *ngp_interpolation_name(ngp_interpolation i);

#ifdef __cplusplus
}
#endif
#endif
