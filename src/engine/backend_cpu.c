/* backend_cpu.c: the CPU backend, the reference engine (src/nerf) behind the interface of
 * backend.h. It computes on the host model itself: training steps are ngp_trainer_step, renders
 * ngp_nerf_render(_pixels) with the EMA weights.
 *
 * Renders see the generation acquired last. Without concurrent_render that is the host model's
 * own inference array (publish syncs the EMA into it; nothing is copied). With it (the viewer),
 * training and rendering run at once, so the renderer has two buffers of its own: publish copies
 * the EMA weights and the occupancy bitfield into `pending` under `lock`, and acquire swaps
 * `pending` with `front` when it is newer, with a trylock, so a frame never waits for a step. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "nerf/mlp.h"
#include "core/parallel.h"

typedef struct model_buffer {
  float *weights;    /* [n_params] */
  uint8_t *bitfield; /* [n_cascades * grid cells / 8] */
  uint16_t *grid16;  /* [grid.n_params]: the hash table in fp16, which renders read */
  uint64_t generation;
} model_buffer;

typedef struct cpu_backend {
  ngp_backend base;
  ngp_trainer *trainer; /* NULL without a scene */
  bool train_bf16;      /* its MLP products are bf16 (opts.mlp_bf16 on a CPU with AVX512_BF16) */
  bool concurrent;
  uint64_t published; /* generations made by publish (training side) */
  uint64_t acquired;  /* the generation renders use (rendering side) */
  /* concurrent_render only */
  pthread_mutex_t lock;
  model_buffer front, pending;
  ngp_nerf view; /* the host model's layout with front's weights and bitfield */
} cpu_backend;

static cpu_backend *cpu(ngp_backend *b) { return (cpu_backend *)b->context; }

static size_t bitfield_bytes(const ngp_nerf *n) { return (size_t)n->occ.n_cascades * (NGP_GRID_CELLS / 8); }

static void buffer_free(model_buffer *m) {
  free(m->weights);
  free(m->bitfield);
  free(m->grid16);
  memset(m, 0, sizeof *m);
}

static bool buffer_alloc(model_buffer *m, const ngp_nerf *n) {
  m->weights = malloc(n->n_params * sizeof *m->weights);
  m->bitfield = malloc(bitfield_bytes(n));
  m->grid16 = malloc((n->grid.n_params ? n->grid.n_params : 1) * sizeof *m->grid16);
  if (m->weights && m->bitfield && m->grid16) return true;
  buffer_free(m);
  return false;
}

/* The weights, the bitfield and the fp16 table made from the weights, once per generation (on the
 * training side: a frame never waits for it). */
static void buffer_fill(model_buffer *m, const ngp_nerf *n, uint64_t generation) {
  memcpy(m->weights, n->inference, n->n_params * sizeof *m->weights);
  memcpy(m->bitfield, n->occ.bitfield, bitfield_bytes(n));
  ngp_hashgrid_table_f16(&n->grid, m->weights + n->off_grid, m->grid16, n->n_threads);
  m->generation = generation;
}

/* The model renders use, and its weights. */
static const ngp_nerf *render_model(cpu_backend *c, const float **weights) {
  if (c->concurrent) {
    *weights = c->front.weights;
    return &c->view;
  }
  *weights = c->base.model->inference;
  return c->base.model;
}

/* The render options with the fp16 table of the weights rendered, where one is kept (the
 * concurrent copy); otherwise each render call makes its own (unless the caller gave one). */
static ngp_render_opts render_opts(cpu_backend *c, const ngp_render_opts *o) {
  ngp_render_opts r = *o;
  if (c->concurrent) r.grid16 = c->front.grid16;
  return r;
}

static void cpu_describe(ngp_backend *b, char *out, size_t n) {
  int t = b->model->n_threads;
  snprintf(out, n, "%d thread%s, SIMD %s%s", t, t == 1 ? "" : "s", ngp_simd_level(),
           cpu(b)->train_bf16 ? ", training's MLP products in bf16" : "");
}

static void cpu_destroy(ngp_backend *b) {
  cpu_backend *c = cpu(b);
  if (c->trainer) ngp_trainer_destroy(c->trainer);
  if (c->concurrent) {
    pthread_mutex_destroy(&c->lock);
    buffer_free(&c->front);
    buffer_free(&c->pending);
  }
  free(c);
}

static ngp_status cpu_train_step(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  ngp_step_stats local;
  return ngp_trainer_step(cpu(b)->trainer, st ? st : &local, err);
}

static ngp_status cpu_download(ngp_backend *b, ngp_error *err) {
  (void)err;
  if (cpu(b)->trainer) ngp_trainer_sync_inference(cpu(b)->trainer);
  return NGP_OK;
}

static ngp_status cpu_upload(ngp_backend *b, ngp_error *err) {
  (void)err;
  cpu_backend *c = cpu(b);
  /* Non-concurrent renders read the host model itself; the concurrent ones get a new front. */
  c->acquired = ++c->published;
  if (c->concurrent) buffer_fill(&c->front, b->model, c->acquired);
  return NGP_OK;
}

static ngp_status cpu_publish(ngp_backend *b, ngp_error *err) {
  cpu_backend *c = cpu(b);
  ngp_status st = cpu_download(b, err);
  if (st != NGP_OK) return st;
  if (!c->concurrent) {
    c->published++;
    return NGP_OK;
  }
  pthread_mutex_lock(&c->lock);
  buffer_fill(&c->pending, b->model, ++c->published);
  pthread_mutex_unlock(&c->lock);
  return NGP_OK;
}

static uint64_t cpu_acquire(ngp_backend *b) {
  cpu_backend *c = cpu(b);
  if (!c->concurrent) {
    c->acquired = c->published;
    return c->acquired;
  }
  if (pthread_mutex_trylock(&c->lock) == 0) {
    if (c->pending.generation > c->front.generation) {
      model_buffer t = c->front;
      c->front = c->pending;
      c->pending = t;
    }
    pthread_mutex_unlock(&c->lock);
  }
  c->view.inference = c->front.weights;
  c->view.occ.bitfield = c->front.bitfield;
  c->acquired = c->front.generation;
  return c->acquired;
}

static bool cpu_newer_pending(ngp_backend *b) {
  cpu_backend *c = cpu(b);
  if (!c->concurrent) return c->published > c->acquired;
  if (pthread_mutex_trylock(&c->lock) != 0) return false;
  bool newer = c->pending.generation > c->front.generation;
  pthread_mutex_unlock(&c->lock);
  return newer;
}

static ngp_status cpu_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                             ngp_error *err) {
  const float *w;
  const ngp_nerf *n = render_model(cpu(b), &w);
  const ngp_render_opts ro = render_opts(cpu(b), o);
  return ngp_nerf_render(n, w, cam->xform, cam->focal, cam->principal, cam->lens, &ro, rgb, err);
}

static ngp_status cpu_render_pixels(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin,
                                    int end, ngp_render_continue_fn keep_going, void *user, int *next, float *rgb,
                                    ngp_error *err) {
  const float *w;
  const ngp_nerf *n = render_model(cpu(b), &w);
  const ngp_render_opts ro = render_opts(cpu(b), o);
  return ngp_nerf_render_pixels(n, w, cam->xform, cam->focal, cam->principal, cam->lens, &ro, begin, end, keep_going,
                                user, next, rgb, err);
}

static ngp_status cpu_render_alpha(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                                   float *alpha, ngp_error *err) {
  const float *w;
  const ngp_nerf *n = render_model(cpu(b), &w);
  const ngp_render_opts ro = render_opts(cpu(b), o);
  return ngp_nerf_render_alpha(n, w, cam->xform, cam->focal, cam->principal, cam->lens, &ro, rgb, alpha, err);
}

/* Only the renderer's own copy of the model (concurrent_render) has a thread count of its own;
 * without it renders share the host model's with training. */
static void cpu_set_render_threads(ngp_backend *b, int n) {
  cpu_backend *c = cpu(b);
  if (c->concurrent) c->view.n_threads = n > 0 ? n : b->model->n_threads;
}

static ngp_status cpu_density(ngp_backend *b, int S, const float *pos, float *raw_density, ngp_error *err) {
  const float *w;
  const ngp_nerf *n = render_model(cpu(b), &w);
  return ngp_nerf_density(n, w, S, pos, raw_density, err);
}

static ngp_status cpu_color(ngp_backend *b, int S, const float *pos, const float *dir, float *rgb, ngp_error *err) {
  const float *w;
  const ngp_nerf *n = render_model(cpu(b), &w);
  return ngp_nerf_color(n, w, S, pos, dir, rgb, err);
}

static const ngp_backend_i cpu_iface = {
    .describe = cpu_describe,
    .destroy = cpu_destroy,
    .train_step = cpu_train_step,
    .download = cpu_download,
    .upload = cpu_upload,
    .publish = cpu_publish,
    .acquire = cpu_acquire,
    .newer_pending = cpu_newer_pending,
    .render = cpu_render,
    .render_pixels = cpu_render_pixels,
    .render_alpha = cpu_render_alpha,
    .set_render_threads = cpu_set_render_threads,
    .density = cpu_density,
    .color = cpu_color,
};

static ngp_status cpu_create(ngp_nerf *n, const ngp_scene *scene, const ngp_backend_opts *o, ngp_backend **out,
                             ngp_error *err) {
  cpu_backend *c = calloc(1, sizeof *c);
  if (!c) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the CPU backend");
  c->base.iface = &cpu_iface;
  c->base.model = n;
  c->base.scene = scene;
  c->base.context = c;
  c->published = c->acquired = 1; /* generation 1: the model as given */
  if (o->n_threads > 0) n->n_threads = o->n_threads;
  if (o->concurrent_render) {
    if (!buffer_alloc(&c->front, n) || !buffer_alloc(&c->pending, n)) {
      buffer_free(&c->front);
      free(c);
      return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the renderer's copy of the weights (%.0f MiB)",
                           ((double)n->n_params * 8.0 + (double)n->grid.n_params * 4.0) / 1048576.0);
    }
    c->concurrent = true;
    pthread_mutex_init(&c->lock, NULL);
    buffer_fill(&c->front, n, 1);
    /* The render copy: layout shared with the host model (never changed while the instance
     * lives), its own weights and bitfield; the arrays only the trainer uses are not reachable. */
    c->view = *n;
    c->view.params = NULL;
    c->view.inference = c->front.weights;
    c->view.occ.bitfield = c->front.bitfield;
    c->view.occ.density = NULL;
    c->view.occ.tmp = NULL;
    c->view.occ.batch_pos = NULL;
    c->view.occ.batch_raw = NULL;
    c->view.occ.batch_idx = NULL;
  }
  if (scene) {
    ngp_train_opts to = o->train;
    to.n_threads = n->n_threads;
    if (to.grid_sample_fraction < 0.0f) {
      ngp_train_opts d;
      ngp_train_opts_default(&d);
      to.grid_sample_fraction = d.grid_sample_fraction;
    }
    if (to.target_samples == 0) to.target_samples = NGP_CPU_BATCH_SAMPLES;
    c->train_bf16 = to.mlp_bf16 && ngp_mlp_bf16_available();
    ngp_status st = ngp_trainer_create(&c->trainer, n, scene, &to, err);
    if (st != NGP_OK) {
      c->trainer = NULL;
      cpu_destroy(&c->base);
      return st;
    }
  }
  *out = &c->base;
  return NGP_OK;
}

const ngp_backend_type ngp_backend_cpu_type = {"cpu", NULL, cpu_create};
