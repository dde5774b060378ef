/* fuzz_config.c: libFuzzer target for network configs (NGP-SPEC §2, §3, §7; docs/CONFIG.md):
 * ngp_config_parse on the text, and ngp_config_load with "parent" merging.
 *
 * The input is split at its first NUL byte: the part before it is the config, the part after it
 * (when present) is written as p.json beside it, so a config saying "parent": "p.json" merges the
 * second part under the first; "parent" naming the config itself or a missing file exercises the
 * cycle and missing-file paths. Inputs that could name files outside the scratch folder are
 * skipped (fuzz_escapes).
 *
 * Oracle: a config that loads must survive ngp_config_to_json -> ngp_config_parse unchanged
 * (the round trip the snapshot format relies on), and a failure must leave *cfg untouched. */
#include "fuzz_common.h"

/* Field by field: struct padding need not survive assignment, so memcmp would be unreliable. */
static int mlp_same(const ngp_mlp_config *a, const ngp_mlp_config *b) {
  return a->otype == b->otype && a->n_neurons == b->n_neurons && a->n_hidden_layers == b->n_hidden_layers &&
         a->activation == b->activation && a->output_activation == b->output_activation;
}

static int config_same(const ngp_config *a, const ngp_config *b) {
  const ngp_optimizer_config *o = &a->optimizer, *p = &b->optimizer;
  const ngp_grid_config *g = &a->encoding, *h = &b->encoding;
  return a->loss == b->loss && o->learning_rate == p->learning_rate && o->beta1 == p->beta1 && o->beta2 == p->beta2 &&
         o->epsilon == p->epsilon && o->l2_reg == p->l2_reg && o->decay_enabled == p->decay_enabled &&
         o->decay_start == p->decay_start && o->decay_interval == p->decay_interval && o->decay_end == p->decay_end &&
         o->decay_base == p->decay_base && o->ema_enabled == p->ema_enabled && o->ema_decay == p->ema_decay &&
         g->otype == h->otype && g->n_levels == h->n_levels && g->n_features_per_level == h->n_features_per_level &&
         g->log2_hashmap_size == h->log2_hashmap_size && g->base_resolution == h->base_resolution &&
         g->per_level_scale == h->per_level_scale && g->interpolation == h->interpolation &&
         mlp_same(&a->network, &b->network) && a->n_density_outputs == b->n_density_outputs &&
         a->sh_degree == b->sh_degree && mlp_same(&a->rgb_network, &b->rgb_network) &&
         strcmp(a->source, b->source) == 0;
}

static void round_trip(const ngp_config *cfg) {
  char *json = ngp_config_to_json(cfg);
  FUZZ_CHECK(json != NULL);
  ngp_config back;
  ngp_error err;
  if (ngp_config_parse(json, strlen(json), "round trip", &back, &err) != NGP_OK) {
    fprintf(stderr, "fuzz: the effective config does not parse back: %s\n%s\n", err.msg, json);
    abort();
  }
  memcpy(back.source, cfg->source, sizeof back.source);
  if (!config_same(&back, cfg)) {
    fprintf(stderr, "fuzz: the effective config parses back to another config:\n%s\n", json);
    abort();
  }
  free(json);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_dir("config");
  fuzz_non_regular("", ".json"); /* fifo.json, dir.json, loop.json for "parent" to name */
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (fuzz_escapes(data, size)) return 0;
  const uint8_t *nul = memchr(data, '\0', size);
  size_t len = nul ? (size_t)(nul - data) : size;

  ngp_config cfg, untouched;
  ngp_config_default(&cfg);
  cfg.sh_degree = 77; /* a value no parse produces: a failed parse must leave it */
  untouched = cfg;
  ngp_error err;
  if (ngp_config_parse((const char *)data, len, "fuzz.json", &cfg, &err) == NGP_OK)
    round_trip(&cfg);
  else
    FUZZ_CHECK(config_same(&cfg, &untouched) && err.msg[0] != '\0');

  char leaf[4200], parent[4200];
  fuzz_path(leaf, sizeof leaf, "c.json");
  fuzz_path(parent, sizeof parent, "p.json");
  fuzz_write(leaf, data, len);
  if (nul)
    fuzz_write(parent, nul + 1, size - len - 1);
  else
    unlink(parent);
  cfg = untouched;
  if (ngp_config_load(leaf, &cfg, &err) == NGP_OK)
    round_trip(&cfg);
  else
    FUZZ_CHECK(config_same(&cfg, &untouched) && err.msg[0] != '\0');
  return 0;
}
