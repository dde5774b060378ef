/* info.c: `instant-ngp --info`: load and validate the scene and the config, print what a user
 * needs to know before training (frames used and skipped, image sizes, intrinsics, the box and
 * its cascades, the effective config), and exit. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/cli.h"
#include "core/fs.h"
#include "nerf/nerf.h"
#include "ngp/ngp.h"
#include "engine/session.h"
#include "nerf/snapshot.h"

/* configs/nerf/base.json, compiled in (cmake/embed.cmake): the default when no --config is given. */
extern const char ngp_default_config_json[];
extern const size_t ngp_default_config_json_len;

static void print_range(const char *label, const ngp_scene *s, int axis) {
  float lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < s->n_frames; i++) {
    float v = s->frames[i].xform[axis * 4 + 3];
    lo = fminf(lo, v);
    hi = fmaxf(hi, v);
  }
  printf("%s[%.3f, %.3f]", label, (double)lo, (double)hi);
}

static void print_scene(const char *path, const ngp_scene *s) {
  printf("scene: %s\n", path);
  for (int i = 0; i < s->n_sources; i++)
    printf("  loaded:      %s\n", s->sources[i]);
  for (int i = 0; i < s->n_ignored; i++)
    printf("  not loaded:  %s (pass it explicitly to use it)\n", s->ignored[i]);
  printf("  frames:      %d used, %d skipped (image missing)\n", s->n_frames, s->n_skipped);
  const int show = 5;
  for (int i = 0; i < s->n_skipped && i < show; i++)
    printf("  skipped:     %s\n", s->skipped[i]);
  if (s->n_skipped > show) printf("  skipped:     ... and %d more\n", s->n_skipped - show);

  /* Sizes and intrinsics: print the first frame's, and say whether the others differ. */
  const ngp_frame *f0 = &s->frames[0];
  int n_sizes = 0, n_intr = 0;
  for (int i = 1; i < s->n_frames; i++) {
    const ngp_frame *f = &s->frames[i];
    if (f->image.width != f0->image.width || f->image.height != f0->image.height) n_sizes++;
    if (f->focal[0] != f0->focal[0] || f->focal[1] != f0->focal[1] || f->principal[0] != f0->principal[0] ||
        f->principal[1] != f0->principal[1] || f->lens.mode != f0->lens.mode ||
        memcmp(f->lens.params, f0->lens.params, sizeof f0->lens.params) != 0)
      n_intr++;
  }
  static const char *const ch[] = {"?", "grey", "grey+alpha", "RGB", "RGBA"};
  int c = f0->image.source_channels;
  printf("  images:      %dx%d %s", f0->image.width, f0->image.height, (c >= 1 && c <= 4) ? ch[c] : "?");
  if (n_sizes) printf(" (%d frame%s differ in size)", n_sizes, n_sizes == 1 ? "" : "s");
  if (s->images_loaded)
    printf(", %.1f MiB decoded, %s\n", (double)ngp_scene_image_bytes(s) / (1024.0 * 1024.0),
           s->has_alpha ? "with transparency (trained over random backgrounds)" : "opaque");
  else
    printf("\n");
  printf("  focal:       %.2f x %.2f px (horizontal field of view %.2f degrees)\n", (double)f0->focal[0],
         (double)f0->focal[1], (double)(2.0f * atanf(0.5f * (float)f0->image.width / f0->focal[0]) * 57.29578f));
  printf("  principal:   (%.4f, %.4f) of the image size\n", (double)f0->principal[0], (double)f0->principal[1]);
  printf("  lens:        %s", ngp_lens_mode_name(f0->lens.mode));
  if (f0->lens.mode == NGP_LENS_OPENCV)
    printf(" k1=%g k2=%g p1=%g p2=%g", (double)f0->lens.params[0], (double)f0->lens.params[1],
           (double)f0->lens.params[2], (double)f0->lens.params[3]);
  else if (f0->lens.mode == NGP_LENS_OPENCV_FISHEYE)
    printf(" k1=%g k2=%g k3=%g k4=%g", (double)f0->lens.params[0], (double)f0->lens.params[1],
           (double)f0->lens.params[2], (double)f0->lens.params[3]);
  printf("\n");
  if (n_intr) printf("  intrinsics:  %d frame%s have their own intrinsics\n", n_intr, n_intr == 1 ? "" : "s");
  printf("  transform:   scale %g, offset (%g, %g, %g) (NeRF units to ngp units)\n", (double)s->scale,
         (double)s->offset[0], (double)s->offset[1], (double)s->offset[2]);
  printf("  aabb:        aabb_scale %d: [%g, %g]^3 in ngp units, %d occupancy cascade%s of 128^3\n", s->aabb_scale,
         (double)s->aabb_min[0], (double)s->aabb_max[0], s->n_cascades, s->n_cascades == 1 ? "" : "s");
  printf("  cameras:     ");
  print_range("x ", s, 0);
  print_range(", y ", s, 1);
  print_range(", z ", s, 2);
  printf(" (ngp units)\n");
  if (s->n_renormalised)
    printf("  note:        %d rotation%s renormalised (determinant far from 1)\n", s->n_renormalised,
           s->n_renormalised == 1 ? "" : "s");
}

static void print_config(const char *label, const ngp_config *cfg, int aabb_scale) {
  printf("config: %s\n", label);
  const ngp_grid_config *e = &cfg->encoding;
  printf("  encoding:    %s L=%d F=%d T=2^%d N_min=%d b=%.5g (at aabb_scale %d)\n", ngp_grid_type_name(e->otype),
         e->n_levels, e->n_features_per_level, e->log2_hashmap_size, e->base_resolution,
         (double)ngp_config_per_level_scale(cfg, aabb_scale), aabb_scale);
  printf("  density MLP: %s %d neurons x %d hidden, %s, %d outputs\n", ngp_network_type_name(cfg->network.otype),
         cfg->network.n_neurons, cfg->network.n_hidden_layers, ngp_activation_name(cfg->network.activation),
         cfg->n_density_outputs);
  printf("  colour MLP:  %s %d neurons x %d hidden, %s; directions: spherical harmonics degree %d\n",
         ngp_network_type_name(cfg->rgb_network.otype), cfg->rgb_network.n_neurons, cfg->rgb_network.n_hidden_layers,
         ngp_activation_name(cfg->rgb_network.activation), cfg->sh_degree);
  const ngp_optimizer_config *o = &cfg->optimizer;
  printf("  loss:        %s\n", ngp_loss_name(cfg->loss));
  printf("  optimizer:   Adam lr %g, beta1 %g, beta2 %g, epsilon %g, l2 %g", (double)o->learning_rate, (double)o->beta1,
         (double)o->beta2, (double)o->epsilon, (double)o->l2_reg);
  if (o->decay_enabled)
    printf("; decay x%g every %d steps from %d", (double)o->decay_base, o->decay_interval, o->decay_start);
  if (o->ema_enabled) printf("; EMA %g", (double)o->ema_decay);
  printf("\n");
  char *json = ngp_config_to_json(cfg);
  if (json) printf("  effective:   %s\n", json);
  free(json);
}

int ngp_cli_info(const ngp_cli *cli) {
  ngp_error err;
  ngp_config cfg;
  char *cfg_path = NULL;
  char label[1200];
  int aabb_scale = 1;
  if (cli->load_snapshot) {
    /* The snapshot's own config (and box), not the default one. */
    ngp_nerf n;
    ngp_snapshot_meta meta;
    if (ngp_snapshot_load(cli->load_snapshot, &n, &meta, cli->threads, &err) != NGP_OK) {
      fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
      return NGP_EXIT_FAILURE;
    }
    cfg = n.cfg;
    aabb_scale = n.aabb_scale;
    snprintf(label, sizeof label, "from the snapshot %s (step %d, %zu parameters)", cli->load_snapshot,
             meta.training_step, n.n_params);
    ngp_nerf_free(&n);
  } else if (cli->config) {
    cfg_path = ngp_config_find(cli->config);
    if (!cfg_path) {
      fprintf(stderr,
              "instant-ngp: error: %s: config not found (looked as given, in $NGP_CONFIG_DIR and in the installed "
              "configs/nerf folder)\n",
              cli->config);
      return NGP_EXIT_FAILURE;
    }
    if (ngp_config_load(cfg_path, &cfg, &err) != NGP_OK) {
      fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
      free(cfg_path);
      return NGP_EXIT_FAILURE;
    }
    snprintf(label, sizeof label, "%s", cfg_path);
    free(cfg_path);
  } else {
    if (ngp_config_parse(ngp_default_config_json, ngp_default_config_json_len, "base.json (built in)", &cfg, &err) !=
        NGP_OK) {
      fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
      return NGP_EXIT_FAILURE;
    }
    snprintf(label, sizeof label, "base.json (built in)");
  }
  /* The grid and the memory it needs are checked here too, not at the first step. */
  if (!cli->load_snapshot && ngp_session_check_model(&cfg, label, aabb_scale, true, &err) != NGP_OK) {
    fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
    return NGP_EXIT_FAILURE;
  }
  if (!cli->scene) {
    print_config(label, &cfg, aabb_scale);
    return NGP_EXIT_OK;
  }
  ngp_scene scene;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = cli->threads;
  so.quiet_skipped = true; /* print_scene lists them */
  if (ngp_scene_load(cli->scene, &so, &scene, &err) != NGP_OK) {
    fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
    return NGP_EXIT_FAILURE;
  }
  print_scene(cli->scene, &scene);
  print_config(label, &cfg, scene.aabb_scale);
  ngp_scene_free(&scene);
  return NGP_EXIT_OK;
}
