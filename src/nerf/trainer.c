/* trainer.c: one NeRF training step on the CPU, as one flat sequence (NGP-SPEC §5, §6):
 *   sample rays (contiguous image blocks, random pixels snapped to centres, random backgrounds),
 *   march them through the occupancy grid, then per chunk of rays: hash-encode, density MLP,
 *   SH-encode, colour MLP, composite and loss; the backward calls in exact reverse order; then
 *   the optimizer (Adam, decay, EMA) and, when due, the occupancy-grid update.
 *
 * Memory: rays are marched for the whole batch (positions and steps only), but the networks run
 * on chunks of rays holding at most CHUNK_SAMPLES samples, so the activations the backward pass
 * needs stay bounded whatever the batch size. Gradients accumulate over chunks. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "nerf/error_map.h"
#include "nerf/march.h"
#include "nerf/nerf.h"
#include "common/ngp_march_math.h"
#include "common/ngp_math.h"
#include "common/ngp_nerf_math.h"
#include "core/parallel.h"

enum { CHUNK_SAMPLES = 1 << 16, MIN_RAYS = 256 };
enum { SEG = 16, MAX_GROUP = 1024 }; /* samples marched per live ray per round; rays marched together */

/* One ray's marched samples of a round in the arena: where they start and how many are kept. (A
 * type of its own: clang-format 14 and 19 format a pointer member of an inline struct differently.) */
struct seg {
  int ray;
  uint32_t off;
  uint32_t kept;
};

struct ngp_trainer {
  ngp_nerf *n;
  uint8_t blocks[NGP_MAX_CASCADES * NGP_GRID_BLOCK_BYTES]; /* the grid's block summaries, per step */
  const ngp_scene *scene;
  ngp_train_opts o;
  ngp_optimizer opt;
  ngp_touched touched;
  float *grads;
  uint16_t *grid16;    /* the hash table in fp16 for the forward passes (opts.table_f16), kept by Adam */
  bool grid_nonfinite; /* this step's hash backward summed a non-finite gradient (grads_finite) */
  int step;
  int n_skipped;  /* steps skipped for a non-finite loss or gradient */
  float *capture; /* (tests) the next steps' gradients go here too */
  int n_rays, max_rays;
  uint32_t cap_samples; /* marched samples per step at most */
  /* per ray */
  float *ray_o, *ray_d, *ray_bg, *ray_target, *ray_jitter, *ray_loss;
  uint32_t *ray_off, *ray_cnt, *ray_used;
  int *ray_cell;       /* the error-map slot of each ray's pixel */
  uint8_t *ray_mapped; /* 1: its pixel was drawn from the error map (0: uniformly) */
  ngp_error_map emap;  /* where rays are drawn (opts.error_map; all zero when off) */
  /* per marched sample (compacted in place to the samples before each ray's termination) */
  float *pos, *dt, *t, *enc_all;
  float *zero_rgb;    /* NGP_MAX_SAMPLES_PER_RAY * 3 zeros: colours do not change where a ray ends */
  uint8_t *ray_ended; /* 1: transmittance fell below 1e-4 (no background term); 2: dropped this step */
  /* Marching in rounds: per ray where it is; a round's windows of SEG samples per live ray
   * (w_*: positions, steps, t), packed into an arena without the unused window slots before the
   * round's encodings and densities; the kept samples are gathered per ray from the arena. */
  float *ray_tcur, *ray_texit, *ray_T;
  uint32_t *ray_marched;
  uint8_t *ray_live;
  int *live;          /* the live rays of the current round */
  uint32_t cap_arena; /* samples */
  float *a_pos, *a_dt, *a_t, *a_enc, *a_den;
  float *w_pos, *w_dt, *w_t; /* [MAX_GROUP * SEG] */
  struct seg *segs;
  float marched_per_ray; /* the last step's mean, to size ray groups (long rays early on) */
  size_t n_segs, cap_segs;
  /* per chunk sample */
  float *x, *dir, *dens, *dens_acts, *sh, *rgb_in, *rgb_out, *rgb_acts;
  float *d_rgb_out, *d_rgb_in, *d_dens, *d_enc;
  /* per thread: one ray's samples for compositing */
  int n_threads;
  float *thr_scratch;
  float *thr_march; /* per thread: t values of a counting march */
};

void ngp_train_opts_default(ngp_train_opts *o) {
  o->target_samples = NGP_DEFAULT_BATCH_SAMPLES;
  o->seed = 1337;
  o->n_threads = 0;
  o->random_bg = true;
  o->near_distance = 0.1f;
  o->grid_sample_fraction = 0.125f; /* CPU: see README, "How the engine works" */
  o->table_f16 = true;
  o->mlp_bf16 = true;
  o->error_map = -1;
}

void ngp_trainer_params_changed(ngp_trainer *t) {
  if (t->grid16) ngp_hashgrid_table_f16(&t->n->grid, t->n->params + t->n->off_grid, t->grid16, t->n_threads);
}

const uint16_t *ngp_trainer_table_f16(const ngp_trainer *t) { return t->grid16; }

/* The hash encoding of S warped positions x for a forward pass of training: from the fp16 copy
 * when there is one. */
static void grid_forward(const ngp_trainer *t, int S, const float *x, float *out) {
  const ngp_nerf *n = t->n;
  if (t->grid16)
    ngp_hashgrid_forward_f16(&n->grid, t->grid16, S, x, out, t->n_threads);
  else
    ngp_hashgrid_forward(&n->grid, n->params + n->off_grid, S, x, out, t->n_threads);
}

#define ALLOC(ptr, count)                                                                                              \
  do {                                                                                                                 \
    (ptr) = malloc((size_t)(count) * sizeof *(ptr));                                                                   \
    if (!(ptr)) goto nomem;                                                                                            \
  } while (0)

ngp_status ngp_trainer_create(ngp_trainer **out, ngp_nerf *n, const ngp_scene *scene, const ngp_train_opts *o,
                              ngp_error *err) {
  *out = NULL;
  if (!scene->images_loaded)
    return ngp_error_set(err, NGP_ERR_INVALID, "training needs the scene's images (load it with load_images)");
  ngp_trainer *t = calloc(1, sizeof *t);
  if (!t) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  t->n = n;
  t->scene = scene;
  t->o = *o;
  t->n_threads = o->n_threads > 0 ? o->n_threads : ngp_cpu_count();
  /* instant-ngp starts at 4096 rays and adapts the count so that the samples actually used per
   * step approach the target; rays are capped so the marched samples fit the buffers. */
  t->n_rays = 4096;
  t->max_rays = (int)(o->target_samples < NGP_DEFAULT_BATCH_SAMPLES ? o->target_samples : NGP_DEFAULT_BATCH_SAMPLES);
  if (t->max_rays < MIN_RAYS) t->max_rays = MIN_RAYS;
  if (t->n_rays > t->max_rays) t->n_rays = t->max_rays;
  t->cap_samples = 4 * o->target_samples;
  ngp_status st =
      ngp_optimizer_init(&t->opt, &n->cfg.optimizer, n->n_matrix, n->n_params, n->grid.n_features, n->params, err);
  if (st != NGP_OK) {
    free(t);
    return st;
  }
  if ((st = ngp_touched_init(&t->touched, n->grid.offset[n->grid.n_levels], err)) != NGP_OK) {
    ngp_optimizer_free(&t->opt);
    free(t);
    return st;
  }
  t->grads = calloc(n->n_params, sizeof *t->grads);
  if (!t->grads) goto nomem;
  /* The copy covers the optimizer's hash entries, [n_matrix, n_params), which are the grid's. */
  if (o->table_f16 && n->off_grid == n->n_matrix && n->n_params - n->off_grid == n->grid.n_params) {
    ALLOC(t->grid16, n->grid.n_params);
    ngp_trainer_params_changed(t);
    ngp_optimizer_keep_f16(&t->opt, t->grid16);
  }
  int R = t->max_rays;
  ALLOC(t->ray_o, R * 3);
  ALLOC(t->ray_d, R * 3);
  ALLOC(t->ray_bg, R * 3);
  ALLOC(t->ray_target, R * 3);
  ALLOC(t->ray_jitter, R);
  ALLOC(t->ray_loss, R);
  ALLOC(t->ray_off, R + 1);
  ALLOC(t->ray_cnt, R);
  ALLOC(t->ray_used, R);
  ALLOC(t->ray_cell, R);
  ALLOC(t->ray_mapped, R);
  ALLOC(t->pos, (size_t)t->cap_samples * 3);
  ALLOC(t->dt, t->cap_samples);
  ALLOC(t->t, t->cap_samples);
  ALLOC(t->enc_all, (size_t)t->cap_samples * (size_t)n->enc_dims);
  t->zero_rgb = calloc((size_t)NGP_MAX_SAMPLES_PER_RAY * 3, sizeof(float));
  if (!t->zero_rgb) goto nomem;
  ALLOC(t->ray_ended, R);
  ALLOC(t->ray_tcur, R);
  ALLOC(t->ray_texit, R);
  ALLOC(t->ray_T, R);
  ALLOC(t->ray_marched, R);
  ALLOC(t->ray_live, R);
  ALLOC(t->live, R);
  t->cap_arena = t->cap_samples;
  t->marched_per_ray = (float)NGP_MAX_SAMPLES_PER_RAY / 2.0f;
  ALLOC(t->a_pos, (size_t)t->cap_arena * 3);
  ALLOC(t->a_dt, t->cap_arena);
  ALLOC(t->a_t, t->cap_arena);
  ALLOC(t->a_enc, (size_t)t->cap_arena * (size_t)n->enc_dims);
  ALLOC(t->a_den, t->cap_arena);
  ALLOC(t->w_pos, (size_t)MAX_GROUP * SEG * 3);
  ALLOC(t->w_dt, (size_t)MAX_GROUP * SEG);
  ALLOC(t->w_t, (size_t)MAX_GROUP * SEG);
  size_t C = CHUNK_SAMPLES + NGP_MAX_SAMPLES_PER_RAY;
  ALLOC(t->x, C * 3);
  ALLOC(t->dir, C * 3);
  ALLOC(t->dens, C * (size_t)n->density_mlp.n_out);
  ALLOC(t->dens_acts, C * ngp_mlp_acts_per_sample(&n->density_mlp));
  ALLOC(t->sh, C * (size_t)n->sh_dims);
  ALLOC(t->rgb_in, C * (size_t)n->rgb_mlp.n_in);
  ALLOC(t->rgb_out, C * (size_t)n->rgb_mlp.n_out);
  ALLOC(t->rgb_acts, C * ngp_mlp_acts_per_sample(&n->rgb_mlp));
  ALLOC(t->d_rgb_out, C * (size_t)n->rgb_mlp.n_out);
  ALLOC(t->d_rgb_in, C * (size_t)n->rgb_mlp.n_in);
  ALLOC(t->d_dens, C * (size_t)n->density_mlp.n_out);
  ALLOC(t->d_enc, C * (size_t)n->enc_dims);
  ALLOC(t->thr_scratch, (size_t)t->n_threads * NGP_MAX_SAMPLES_PER_RAY * 8);
  ALLOC(t->thr_march, (size_t)t->n_threads * NGP_MAX_SAMPLES_PER_RAY * 5);
  if (o->error_map != 0 && scene->n_frames > 0) {
    int side = scene->frames[0].image.width;
    for (int i = 0; i < scene->n_frames; i++) {
      if (scene->frames[i].image.width < side) side = scene->frames[i].image.width;
      if (scene->frames[i].image.height < side) side = scene->frames[i].image.height;
    }
    side = ngp_error_map_side(t->n_rays, scene->n_frames, side);
    if ((st = ngp_error_map_init(&t->emap, scene->n_frames, side, err)) != NGP_OK) {
      ngp_trainer_destroy(t);
      return st;
    }
  }
  ngp_occupancy_mark_untrained(&n->occ, scene, t->n_threads);
  *out = t;
  return NGP_OK;
nomem:
  ngp_trainer_destroy(t);
  return ngp_error_set(err, NGP_ERR_NOMEM,
                       "out of memory for the training buffers (%u samples per step); "
                       "use a smaller --batch-size or a config with a smaller log2_hashmap_size",
                       o->target_samples);
}

void ngp_trainer_destroy(ngp_trainer *t) {
  if (!t) return;
  ngp_optimizer_free(&t->opt);
  ngp_touched_free(&t->touched);
  ngp_error_map_free(&t->emap);
  void *bufs[] = {t->ray_tcur, t->ray_texit,  t->ray_T,      t->ray_marched, t->ray_live,  t->live,     t->a_pos,
                  t->a_dt,     t->a_t,        t->a_enc,      t->a_den,       t->w_pos,     t->w_dt,     t->w_t,
                  t->segs,     t->enc_all,    t->zero_rgb,   t->ray_ended,   t->grads,     t->ray_o,    t->ray_d,
                  t->ray_bg,   t->ray_target, t->ray_jitter, t->ray_loss,    t->ray_off,   t->ray_cnt,  t->ray_used,
                  t->ray_cell, t->ray_mapped, t->pos,        t->dt,          t->t,         t->x,        t->dir,
                  t->dens,     t->dens_acts,  t->sh,         t->rgb_in,      t->rgb_out,   t->rgb_acts, t->d_rgb_out,
                  t->d_rgb_in, t->d_dens,     t->d_enc,      t->thr_scratch, t->thr_march, t->grid16};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    free(bufs[i]);
  free(t);
}

int ngp_trainer_steps_done(const ngp_trainer *t) { return t->step; }
int ngp_trainer_skipped_steps(const ngp_trainer *t) { return t->n_skipped; }

void ngp_trainer_capture_grads(ngp_trainer *t, float *grads) { t->capture = grads; }

/* Whether every gradient this step wrote is finite: all MLP weights, and the hash-table entries
 * the batch touched (no other gradient is non-zero), which the hash backward checked as it summed
 * them (t->grid_nonfinite). */
static bool grads_finite(const ngp_trainer *t) {
  const ngp_nerf *n = t->n;
  for (size_t i = 0; i < n->off_grid; i++)
    if (!isfinite(t->grads[i])) return false;
  return !t->grid_nonfinite;
}

/* Zeroes what grads_finite looked at, as the optimizer would have consumed it. */
static void discard_grads(ngp_trainer *t) {
  const ngp_nerf *n = t->n;
  memset(t->grads, 0, n->off_grid * sizeof *t->grads);
  const int F = n->grid.n_features;
  for (size_t k = 0; k < t->touched.count; k++)
    memset(t->grads + n->off_grid + (size_t)t->touched.list[k] * (size_t)F, 0, (size_t)F * sizeof *t->grads);
}

void ngp_trainer_sync_inference(ngp_trainer *t) { ngp_optimizer_ema(&t->opt, t->n->params, t->n->inference); }

/* ---- 1. Rays ---------------------------------------------------------------------------------- */

static void ray_setup(ngp_trainer *t, int i) {
  const ngp_scene *sc = t->scene;
  /* Ray i of n uses image floor(i * N_img / n): contiguous blocks, every image in every batch. */
  int img = ngp_train_ray_image(i, t->n_rays, sc->n_frames);
  const ngp_frame *f = &sc->frames[img];
  int w = f->image.width, h = f->image.height;
  uint64_t seed = t->o.seed, step = (uint64_t)t->step;
  /* The pixel: uniform, or (once the error map has a distribution) half the rays from its cells. */
  int px, py;
  t->ray_mapped[i] = ngp_error_map_draw(
      &t->emap, img, w, h, ngp_train_rand01(seed, step, (uint64_t)i, 6), ngp_train_rand01(seed, step, (uint64_t)i, 7),
      ngp_train_rand01(seed, step, (uint64_t)i, 0), ngp_train_rand01(seed, step, (uint64_t)i, 1), &px, &py);
  if (t->emap.err) t->ray_cell[i] = ngp_error_map_slot(&t->emap, img, px, py, w, h);
  float u = ((float)px + 0.5f) / (float)w, v = ((float)py + 0.5f) / (float)h;
  ngp_camera_ray(f->xform, f->focal, f->principal, &f->lens, w, h, u, v, t->ray_o + i * 3, t->ray_d + i * 3);
  float *bg = t->ray_bg + i * 3;
  for (int c = 0; c < 3; c++)
    bg[c] = t->o.random_bg ? ngp_train_rand01(seed, step, (uint64_t)i, 2 + (uint64_t)c) : 0.0f;
  /* Target (NGP-SPEC §6): alpha compositing in linear light, compared in sRGB. */
  ngp_train_target(f->image.rgba + ((size_t)py * (size_t)w + (size_t)px) * 4, bg, t->ray_target + i * 3);
  t->ray_jitter[i] = ngp_train_rand01(seed, step, (uint64_t)i, 5);
}

typedef struct {
  ngp_trainer *t;
  int n_live;
} round_job;

static void setup_rays(int chunk, int thread, void *user) {
  (void)thread;
  ngp_trainer *t = ((round_job *)user)->t;
  ngp_nerf *n = t->n;
  int r0 = chunk * 64, r1 = r0 + 64 < t->n_rays ? r0 + 64 : t->n_rays;
  for (int i = r0; i < r1; i++) {
    ray_setup(t, i);
    t->ray_live[i] = ngp_march_start(n->aabb_min, n->aabb_max, n->cone_angle, t->ray_o + i * 3, t->ray_d + i * 3,
                                     t->ray_jitter[i], &t->ray_tcur[i], &t->ray_texit[i]);
    t->ray_T[i] = 1.0f;
    t->ray_marched[i] = 0;
    t->ray_ended[i] = 0;
    t->ray_cnt[i] = 0;
  }
}

/* March the next SEG samples of live rays [chunk*64, ...) into their windows (w_*, window li at
 * li * SEG); pack_round moves them into the arena. */
static void march_round(int chunk, int thread, void *user) {
  (void)thread;
  round_job *j = user;
  ngp_trainer *t = j->t;
  ngp_nerf *n = t->n;
  int l0 = chunk * 64, l1 = l0 + 64 < j->n_live ? l0 + 64 : j->n_live;
  for (int li = l0; li < l1; li++) {
    int r = t->live[li];
    uint32_t w = (uint32_t)li * SEG;
    int want = (int)(NGP_MAX_SAMPLES_PER_RAY - t->ray_marched[r]);
    if (want > SEG) want = SEG;
    int len = ngp_march_segment(&n->occ, t->blocks, n->aabb_min, n->aabb_max, n->cone_angle, t->ray_o + r * 3,
                                t->ray_d + r * 3, &t->ray_tcur[r], t->ray_texit[r], want, t->w_pos + (size_t)w * 3,
                                t->w_dt + w, t->w_t + w);
    t->ray_marched[r] += (uint32_t)len;
    if (len < want || t->ray_marched[r] >= NGP_MAX_SAMPLES_PER_RAY) t->ray_live[r] = 0; /* left the box */
    t->segs[t->n_segs + (size_t)li].ray = r;
    t->segs[t->n_segs + (size_t)li].kept = (uint32_t)len; /* until the transmittance scan */
  }
}

/* The round's windows into the arena from `base` on, each ray's samples after the previous ray's
 * (no unused slots: they would be encoded and run through the density MLP for nothing; late in
 * training a ray keeps about 10 of its window's 16). Sets each segment's offset; returns the
 * samples packed. */
static uint32_t pack_round(ngp_trainer *t, uint32_t base, int n_live) {
  uint32_t at = base;
  for (int li = 0; li < n_live; li++) {
    struct seg *sg = &t->segs[t->n_segs + (size_t)li];
    const size_t w = (size_t)li * SEG, k = sg->kept;
    sg->off = at;
    memcpy(t->a_pos + (size_t)at * 3, t->w_pos + w * 3, k * 3 * sizeof(float));
    memcpy(t->a_dt + at, t->w_dt + w, k * sizeof(float));
    memcpy(t->a_t + at, t->w_t + w, k * sizeof(float));
    at += (uint32_t)k;
  }
  return at - base;
}

/* After the round's densities (raw density of arena sample k at t->a_den[k]): follow each live
 * ray's transmittance through its new samples and keep those before it falls below 1e-4. */
static void scan_round(int chunk, int thread, void *user) {
  (void)thread;
  round_job *j = user;
  ngp_trainer *t = j->t;
  int l0 = chunk * 64, l1 = l0 + 64 < j->n_live ? l0 + 64 : j->n_live;
  for (int li = l0; li < l1; li++) {
    struct seg *sg = &t->segs[t->n_segs + (size_t)li];
    int r = sg->ray;
    float T = t->ray_T[r], color[3] = {0.0f, 0.0f, 0.0f};
    uint32_t k = 0, len = sg->kept;
    const float zero_rgb[3] = {0.0f, 0.0f, 0.0f};
    for (; k < len; k++) {
      if (T < NGP_MIN_TRANSMITTANCE) break;
      T = ngp_composite_step(T, zero_rgb, t->a_den[sg->off + k], t->a_dt[sg->off + k], color, NULL);
    }
    sg->kept = k;
    t->ray_T[r] = T;
    t->ray_cnt[r] += k;
    if (T < NGP_MIN_TRANSMITTANCE) {
      t->ray_ended[r] = 1;
      t->ray_live[r] = 0;
    }
  }
}

/* ---- 2. Composite, loss and their backward, per ray --------------------------------------------- */
typedef struct {
  ngp_trainer *t;
  int r0;      /* first ray of the chunk */
  uint32_t s0; /* first sample of the chunk */
} chunk_job;

static void composite_rays(int i, int thread, void *user) {
  chunk_job *j = user;
  ngp_trainer *t = j->t;
  ngp_nerf *n = t->n;
  int r = j->r0 + i;
  int k = (int)t->ray_cnt[r];
  if (t->ray_ended[r] == 2) { /* dropped this step (see the marching rounds) */
    t->ray_loss[r] = 0.0f;
    t->ray_used[r] = 0;
    return;
  }
  uint32_t s = t->ray_off[r] - j->s0; /* sample index within the chunk */
  int nd = n->density_mlp.n_out, no = n->rgb_mlp.n_out;
  float *raw_rgb = t->thr_scratch + (size_t)thread * NGP_MAX_SAMPLES_PER_RAY * 8;
  float *raw_den = raw_rgb + NGP_MAX_SAMPLES_PER_RAY * 3;
  float *d_rgb = raw_den + NGP_MAX_SAMPLES_PER_RAY;
  float *d_den = d_rgb + NGP_MAX_SAMPLES_PER_RAY * 3;
  for (int q = 0; q < k; q++) {
    for (int c = 0; c < 3; c++)
      raw_rgb[q * 3 + c] = t->rgb_out[(size_t)(s + q) * no + c];
    raw_den[q] = t->dens[(size_t)(s + q) * nd];
  }
  float color[3], T = 1.0f, grad[3];
  static const float no_bg[3] = {0.0f, 0.0f, 0.0f};
  /* A ray cut off by early termination never sees the background (compaction removed the samples
   * that would have shown it was cut off). */
  const float *bg = t->ray_ended[r] ? no_bg : t->ray_bg + r * 3;
  int used = ngp_composite_forward(k, raw_rgb, raw_den, t->dt + t->ray_off[r], bg, color, &T);
  t->ray_used[r] = (uint32_t)used;
  t->ray_loss[r] = ngp_loss_rgb(n->cfg.loss, color, t->ray_target + r * 3, grad) / 3.0f;
  /* The mean over rays: instant-ngp scales by 128 / n_rays and Adam divides the 128 back out. */
  float scale = 1.0f / (float)t->n_rays;
  for (int c = 0; c < 3; c++)
    grad[c] *= scale;
  ngp_composite_backward(k, raw_rgb, raw_den, t->dt + t->ray_off[r], bg, grad, d_rgb, d_den);
  float mean = n->occ.mean;
  for (int q = 0; q < k; q++) {
    float *dro = t->d_rgb_out + (size_t)(s + q) * no;
    memset(dro, 0, (size_t)no * sizeof *dro);
    for (int c = 0; c < 3; c++)
      dro[c] = d_rgb[q * 3 + c];
    float dd = d_den[q];
    /* Extra terms of NGP-SPEC §6, added unscaled by instant-ngp (so 1e-4 / 128 in our units):
     * a penalty on density right in front of the camera, and a push against total collapse. */
    const float extra = 1e-4f / 128.0f;
    if (raw_den[q] > -10.0f && t->t[t->ray_off[r] + (uint32_t)q] < t->o.near_distance) dd += extra;
    if (raw_den[q] < 0.0f && mean < 0.01f) dd -= extra;
    t->d_dens[(size_t)(s + q) * nd] = dd; /* columns 1.. are filled from the colour MLP's din */
  }
}

/* ---- The step --------------------------------------------------------------------------------- */

/* Raw densities of S <= CHUNK_SAMPLES positions (ngp units) without keeping activations: warped
 * into t->x, hash-encoded into enc ([S][enc_dims], kept for the caller), the density MLP into
 * t->dens, its first column to raw[S]. The one place training's density queries (marching rounds,
 * occupancy update) choose the table (fp16 or fp32) and the MLP precision. */
static void raw_densities(ngp_trainer *t, int S, const float *pos, float *enc, float *raw) {
  ngp_nerf *n = t->n;
  const int nd = n->density_mlp.n_out;
  ngp_nerf_warp_positions(n, S, pos, t->x);
  grid_forward(t, S, t->x, enc);
  ngp_mlp_forward_mixed(&n->density_mlp, n->params + n->off_density, S, enc, t->dens, NULL, t->n_threads,
                        t->o.mlp_bf16);
  for (int s = 0; s < S; s++)
    raw[s] = t->dens[(size_t)s * nd];
}

_Static_assert(NGP_OCCUPANCY_BATCH <= CHUNK_SAMPLES, "a grid update's batch fits the chunk buffers");
_Static_assert(MAX_GROUP *SEG <= CHUNK_SAMPLES, "a marching round fits the chunk buffers");

/* The occupancy update's density queries, a batch of up to NGP_OCCUPANCY_BATCH positions at a
 * time, in the step's chunk buffers (free by then: x, d_enc, dens): the hash encoding of the whole
 * batch level by level on all threads, then the density MLP. The grid's samples are spread over
 * the whole volume, so nearby samples share no table entries; what helps is every thread reading
 * one level's table at a time (encoding_fast.c). A sample's encoding and MLP rows do not depend on
 * the others in the batch, so with table_f16 and mlp_bf16 off each value is the one
 * ngp_nerf_density gives; with them on, the one the marching rounds see. */
static void density_cb(int S, const float *pos, float *raw, void *user) {
  ngp_trainer *t = user;
  raw_densities(t, S, pos, t->d_enc, raw);
}

static ngp_status grow_segs(ngp_trainer *t, size_t need, ngp_error *err) {
  if (need <= t->cap_segs) return NGP_OK;
  size_t cap = t->cap_segs ? t->cap_segs : 1 << 16;
  while (cap < need)
    cap *= 2;
  struct seg *g = realloc(t->segs, cap * sizeof *g);
  if (!g) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %zu ray segments of a training step", cap);
  t->segs = g;
  t->cap_segs = cap;
  return NGP_OK;
}

/* Stage 1, march: sample rays, then march them in rounds: each round takes the next SEG samples of
 * every live ray, hash-encodes them and runs the density MLP (no activations kept), and follows
 * each ray's transmittance; a ray stops when it leaves the box or its transmittance falls below
 * 1e-4. This is instant-ngp's compaction without marching or encoding what lies behind opaque
 * surfaces. *marched_total: samples marched. */
static ngp_status march_batch(ngp_trainer *t, uint64_t *marched_total, ngp_error *err) {
  ngp_nerf *n = t->n;
  const int T = t->n_threads;
  round_job rj = {t, 0};
  ngp_occupancy_blocks(&n->occ, t->blocks); /* the grid changes at the end of a step */
  ngp_parallel_for((t->n_rays + 63) / 64, T, setup_rays, &rj);
  uint32_t arena_used = 0;
  *marched_total = 0;
  t->n_segs = 0;
  /* Rays go in groups of GROUP, each group marched to completion before the next, so that when
   * the arena is full (early in training, when nothing is pruned and rays are long) whole rays are
   * dropped from the step (the rest of the group and every later ray) and every kept ray is
   * complete; the ray count adapts downwards at the end of the step. */
  bool full = false;
  int started = 0;
  for (int g0 = 0; g0 < t->n_rays && !full;) {
    /* A group should fit in a quarter of the room left, at the last step's ray length (plus a
     * round's worth, as a round checks for room for whole windows). */
    float per_ray = t->marched_per_ray + (float)SEG;
    int group = (int)((float)(t->cap_arena - arena_used) / (4.0f * per_ray));
    if (group < 32) group = 32;
    if (group > MAX_GROUP) group = MAX_GROUP;
    int g1 = g0 + group < t->n_rays ? g0 + group : t->n_rays;
    started = g1;
    for (;;) {
      int n_live = 0;
      for (int i = g0; i < g1; i++)
        if (t->ray_live[i]) t->live[n_live++] = i;
      if (n_live == 0) break;
      if (arena_used + (uint32_t)n_live * SEG > t->cap_arena) {
        for (int i = g0; i < t->n_rays; i++)
          if (t->ray_live[i] || i >= g1) {
            t->ray_live[i] = 0;
            t->ray_ended[i] = 2;
          }
        full = true;
        break;
      }
      ngp_status st = grow_segs(t, t->n_segs + (size_t)n_live, err);
      if (st != NGP_OK) return st;
      rj.n_live = n_live;
      ngp_parallel_for((n_live + 63) / 64, T, march_round, &rj);
      const uint32_t S_round = pack_round(t, arena_used, n_live);
      *marched_total += S_round;
      /* Densities of the round (at most MAX_GROUP * SEG samples: one call fits the chunk buffers). */
      if (S_round > 0)
        raw_densities(t, (int)S_round, t->a_pos + (size_t)arena_used * 3,
                      t->a_enc + (size_t)arena_used * (size_t)n->enc_dims, t->a_den + arena_used);
      ngp_parallel_for((n_live + 63) / 64, T, scan_round, &rj);
      t->n_segs += (size_t)n_live;
      arena_used += S_round;
    }
    g0 = g1;
  }
  if (started > 0) t->marched_per_ray = (float)*marched_total / (float)started;
  return NGP_OK;
}

/* Stage 2, gather: offsets per ray (rays that would overflow the buffers are dropped), then each
 * round's kept samples in round order, so every ray's samples are contiguous and in order.
 * Returns the rays kept (a prefix). */
static int gather_samples(ngp_trainer *t) {
  ngp_nerf *n = t->n;
  uint32_t total = 0;
  int n_rays = t->n_rays;
  for (int i = 0; i < t->n_rays; i++) {
    if (t->ray_ended[i] == 2) t->ray_cnt[i] = 0;
    if (total + t->ray_cnt[i] > t->cap_samples) {
      n_rays = i;
      break;
    }
    t->ray_off[i] = total;
    total += t->ray_cnt[i];
  }
  for (int i = n_rays; i < t->n_rays; i++)
    t->ray_cnt[i] = 0;
  t->ray_off[n_rays] = total;
  for (int i = 0; i < n_rays; i++)
    t->ray_used[i] = 0; /* fill cursor during the gather */
  for (size_t g = 0; g < t->n_segs; g++) {
    const struct seg *sg = &t->segs[g];
    if (sg->ray >= n_rays || sg->kept == 0 || t->ray_ended[sg->ray] == 2) continue;
    uint32_t dst = t->ray_off[sg->ray] + t->ray_used[sg->ray], k = sg->kept;
    memcpy(t->pos + (size_t)dst * 3, t->a_pos + (size_t)sg->off * 3, (size_t)k * 3 * sizeof(float));
    memcpy(t->dt + dst, t->a_dt + sg->off, (size_t)k * sizeof(float));
    memcpy(t->t + dst, t->a_t + sg->off, (size_t)k * sizeof(float));
    memcpy(t->enc_all + (size_t)dst * (size_t)n->enc_dims, t->a_enc + (size_t)sg->off * (size_t)n->enc_dims,
           (size_t)k * (size_t)n->enc_dims * sizeof(float));
    t->ray_used[sg->ray] += k;
  }
  return n_rays;
}

/* Stage 3, train a chunk: rays [r0, r1) (their S samples from s0 on) forward through the density
 * MLP, SH and the colour MLP, composited with their loss, then backward in exact reverse order;
 * gradients accumulate in t->grads. Adds wall seconds per phase to tm[0..2]. */
static void train_chunk(ngp_trainer *t, int r0, int r1, double tm[3]) {
  ngp_nerf *n = t->n;
  const int T = t->n_threads, nd = n->density_mlp.n_out, ni = n->rgb_mlp.n_in;
  uint32_t s0 = t->ray_off[r0];
  int S = (int)(t->ray_off[r1] - s0);
  double c0 = ngp_seconds();
  if (S > 0) {
    float *pos = t->pos + (size_t)s0 * 3;
    for (int r = r0; r < r1; r++)
      for (uint32_t q = t->ray_off[r]; q < t->ray_off[r + 1]; q++)
        memcpy(t->dir + (size_t)(q - s0) * 3, t->ray_d + r * 3, 3 * sizeof(float));
    ngp_nerf_warp_positions(n, S, pos, t->x);
    /* (hash encodings from the compaction pass) -> density MLP -> SH -> colour MLP */
    const float *enc = t->enc_all + (size_t)s0 * (size_t)n->enc_dims;
    ngp_mlp_forward_mixed(&n->density_mlp, n->params + n->off_density, S, enc, t->dens, t->dens_acts, T, t->o.mlp_bf16);
    ngp_sh_forward(n->cfg.sh_degree, S, t->dir, t->sh);
    for (int s = 0; s < S; s++) {
      float *in = t->rgb_in + (size_t)s * ni;
      memcpy(in, t->dens + (size_t)s * nd, (size_t)nd * sizeof(float));
      memcpy(in + nd, t->sh + (size_t)s * n->sh_dims, (size_t)n->sh_dims * sizeof(float));
      for (int k = nd + n->sh_dims; k < ni; k++)
        in[k] = 1.0f;
    }
    ngp_mlp_forward_mixed(&n->rgb_mlp, n->params + n->off_rgb, S, t->rgb_in, t->rgb_out, t->rgb_acts, T, t->o.mlp_bf16);
  }
  double c1 = ngp_seconds();
  /* composite + loss, and their backward (rays without samples see only the background) */
  chunk_job cj = {t, r0, s0};
  ngp_parallel_for(r1 - r0, T, composite_rays, &cj);
  double c2 = ngp_seconds();
  if (S > 0) {
    /* backward, in exact reverse order: colour MLP -> (SH has no parameters) -> density MLP -> hash grid */
    ngp_mlp_backward_mixed(&n->rgb_mlp, n->params + n->off_rgb, S, t->rgb_in, t->rgb_acts, t->d_rgb_out,
                           t->grads + n->off_rgb, t->d_rgb_in, T, t->o.mlp_bf16);
    for (int s = 0; s < S; s++)
      for (int k = 1; k < nd; k++)
        t->d_dens[(size_t)s * nd + k] = t->d_rgb_in[(size_t)s * ni + k];
    for (int s = 0; s < S; s++)
      t->d_dens[(size_t)s * nd] += t->d_rgb_in[(size_t)s * ni];
    ngp_mlp_backward_mixed(&n->density_mlp, n->params + n->off_density, S,
                           t->enc_all + (size_t)s0 * (size_t)n->enc_dims, t->dens_acts, t->d_dens,
                           t->grads + n->off_density, t->d_enc, T, t->o.mlp_bf16);
    if (!ngp_hashgrid_backward(&n->grid, S, t->x, t->d_enc, t->grads + n->off_grid, &t->touched, T))
      t->grid_nonfinite = true;
  }
  double c3 = ngp_seconds();
  tm[0] += c1 - c0;
  tm[1] += c2 - c1;
  tm[2] += c3 - c2;
}

/* Stage 4, optimize: Adam on what the batch touched, decay, EMA; gradients are consumed. A step
 * whose loss or gradients are not finite is skipped whole: one NaN would otherwise spread through
 * Adam's moments into every weight it touches, for good. Returns whether it was applied. */
static bool optimize(ngp_trainer *t, double loss_sum) {
  if (t->capture) memcpy(t->capture, t->grads, t->n->n_params * sizeof *t->grads);
  bool finite = isfinite(loss_sum) && grads_finite(t);
  if (finite) {
    ngp_optimizer_step(&t->opt, t->n->params, t->grads, &t->touched, 1.0f, t->n_threads);
  } else {
    discard_grads(t);
    t->n_skipped++;
  }
  ngp_touched_clear(&t->touched);
  t->grid_nonfinite = false;
  return finite;
}

/* Stage 5, the occupancy grid, on instant-ngp's schedule (scaled sample counts on request). */
static void update_grid(ngp_trainer *t) {
  ngp_nerf *n = t->n;
  if (!ngp_occupancy_update_due(t->step)) return;
  uint32_t cells = NGP_GRID_CELLS * (uint32_t)n->occ.n_cascades;
  float f = t->o.grid_sample_fraction;
  uint32_t uni = t->step < 256 ? cells : cells / 4, non = t->step < 256 ? 0 : cells / 4;
  ngp_occupancy_update(&n->occ, (uint32_t)((float)uni * f), (uint32_t)((float)non * f), NGP_GRID_DECAY,
                       t->o.seed ^ ngp_mix64((uint64_t)t->step + 7), density_cb, t, t->n_threads);
}

/* Stage 6, rays for the next step, so that the samples used approach the target. */
static void adapt_batch(ngp_trainer *t, uint32_t used_sum) {
  /* No buffer bound here: the marching rounds drop whole rays when the arena fills, and the next
   * group sizes follow the measured ray length. */
  t->n_rays = (int)ngp_next_ray_count((uint32_t)t->n_rays, t->o.target_samples, used_sum, 0, 0, MIN_RAYS,
                                      (uint32_t)t->max_rays);
}

ngp_status ngp_trainer_step(ngp_trainer *t, ngp_step_stats *stats, ngp_error *err) {
  double tm[5], phase[3] = {0.0, 0.0, 0.0};
  uint64_t marched_total = 0;
  tm[0] = ngp_seconds();
  if (t->emap.err && ngp_error_map_due(&t->emap, t->step)) ngp_error_map_rebuild(&t->emap);
  ngp_status st = march_batch(t, &marched_total, err);
  if (st != NGP_OK) return st;
  const int n_rays = gather_samples(t);

  tm[1] = ngp_seconds();
  /* Forward and backward, a chunk of whole rays at a time. */
  double loss_sum = 0.0, loss_uniform = 0.0; /* over all rays; over those drawn uniformly */
  uint32_t used_sum = 0;
  int n_uniform = 0;
  for (int r0 = 0; r0 < n_rays;) {
    int r1 = r0;
    uint32_t s0 = t->ray_off[r0];
    while (r1 < n_rays && (t->ray_off[r1 + 1] - s0 <= CHUNK_SAMPLES || r1 == r0))
      r1++;
    train_chunk(t, r0, r1, phase);
    for (int r = r0; r < r1; r++) {
      loss_sum += (double)t->ray_loss[r];
      used_sum += t->ray_used[r];
      if (!t->ray_mapped[r]) {
        loss_uniform += (double)t->ray_loss[r];
        n_uniform++;
      }
      if (t->emap.err && t->ray_ended[r] != 2) ngp_error_map_record(&t->emap, t->ray_cell[r], t->ray_loss[r]);
    }
    r0 = r1;
  }

  tm[2] = ngp_seconds();
  const float lr = ngp_optimizer_learning_rate(&t->opt);
  const bool applied = optimize(t, loss_sum);
  tm[3] = ngp_seconds();
  update_grid(t);
  tm[4] = ngp_seconds();
  adapt_batch(t, used_sum);
  if (stats) {
    stats->step = t->step;
    stats->loss = n_uniform ? (float)(loss_uniform / n_uniform) : 0.0f;
    stats->n_rays = n_rays;
    stats->n_samples = (uint32_t)marched_total;
    stats->n_samples_used = used_sum;
    stats->learning_rate = lr;
    stats->skipped = !applied;
    stats->t_march = tm[1] - tm[0];
    stats->t_forward = phase[0];
    stats->t_composite = phase[1];
    stats->t_backward = phase[2];
    stats->t_optimizer = tm[3] - tm[2];
    stats->t_grid = tm[4] - tm[3];
  }
  t->step++;
  return NGP_OK;
}
