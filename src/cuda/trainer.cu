/* trainer.cu: one NeRF training step on the GPU as one flat sequence of kernels on one stream
 * (NGP-SPEC §5-§7; the CPU twin is src/nerf/trainer.c):
 *   rays from the images -> march (count, prefix sum, write) -> hash grid + density MLP on every
 *   marched sample (inference) -> transmittance compaction (keep, prefix sum, copy) -> density MLP,
 *   SH, colour MLP on the kept samples (with activations) -> composite + loss + their backward ->
 *   colour MLP backward -> density MLP backward -> hash grid backward -> Adam + EMA -> fp16 weights
 *   -> occupancy grid (when due) -> next step's ray count.
 *
 * Every buffer is allocated at creation. Sample counts live on the device: kernels are launched
 * for the capacities and read the actual counts, so the host never waits for the device within a
 * step. Each step ends with an asynchronous copy of its counters into one of two pinned host slots
 * (step k: slot k & 1) and an event; the next step, once queued, waits for that event only and
 * reports those numbers. So the device always has the step just queued to work on while the host
 * prepares the next one (no idle round trip per step), the host runs at most one step ahead, and
 * the statistics a step returns are the previous step's (ngp_cuda_trainer_last_stats waits for the
 * last one). The batch-size adaptation needs no host: it runs on the device from the counters.
 *
 * Capacities (target T samples per step, 2^18 by default): rays <= min(T, 2^18) (as the CPU);
 * marched samples <= 8T (a ray that would overflow sits the step out, as on the CPU); samples
 * trained on <= 2T (likewise; the ray count adapts so that about T are used).
 *
 * Gradient scale: trainer.c scales each ray's loss gradient by 1/n_rays; here the composite writes
 * each ray's own gradient (fp32) and records the largest; the fp16 backward of the fused MLPs
 * multiplies by the step's loss scale, ngp_loss_scale_for(that largest) (a power of two <= 128 that
 * keeps every output gradient <= 256, with 256x headroom below fp16's 65504 for the layers'
 * backward), and divides by it again in its fp32 results. Adam divides by n_rays, so the
 * parameters see the CPU's gradient. Should an fp16 gradient still overflow it becomes infinite
 * (not clipped) and the non-finite guard skips the step.
 *
 * UNVERIFIED on a device: the whole step (never run), the capacities, and the >= 150 M samples/s
 * target. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/adam.h"
#include "cuda/cuda_common.cuh"
#include "cuda/composite.h"
#include "cuda/cuda_util.h"
#include "cuda/hashgrid.h"
#include "cuda/march.h"
#include "cuda/mlp.h"
#include "cuda/occupancy.h"
#include "cuda/rays.h"
#include "cuda/scan.h"
#include "cuda/sh.h"
#include "cuda/ngp_cuda.h"
#include "common/ngp_march_math.h"

extern "C" {
#include "core/parallel.h"
}

/* Events per step: ev[0..6] bound the six timed phases; ev[EV_DONE] follows the copy of the counters
 * to the host slot. */
enum { MIN_RAYS = 256, MAX_BUFS = 64, N_PHASES = 6, EV_DONE = N_PHASES + 1, N_EVENTS = N_PHASES + 2, N_SLOTS = 2 };

/* Zeroed at the start of every step. */
typedef struct step_counters {
  double loss_sum;
  uint32_t n_rays;        /* rays generated this step */
  uint32_t marched_total; /* samples the rays asked for */
  uint32_t marched_end;   /* samples written (<= marched capacity) */
  uint32_t kept_total;    /* samples before the cut-off over the marched rays (the demand) */
  uint32_t compacted_end; /* samples trained on (<= compacted capacity) */
  uint32_t rays_used;     /* rays with a loss */
  uint32_t samples_used;  /* samples composited */
  uint32_t grads_bad;     /* a gradient was NaN or infinite (ngp_grads_check_cuda) */
  uint32_t skipped;       /* the step was not applied (ngp_adam_prepare_cuda) */
  float lr;               /* the learning rate of this step */
  uint32_t grad_max;      /* bits of the largest |per-ray gradient| the composite wrote (a float >= 0) */
  float loss_scale;       /* the fp16 backward's scale (ngp_loss_scale_for) */
} step_counters;

/* Kept across steps. */
typedef struct persist {
  uint32_t n_rays; /* rays of the next step (adapted on the device) */
  uint32_t n_occupied;
  float grid_mean;
  uint32_t opt_step; /* optimizer steps applied (the decay schedule, the EMA's debiasing) */
  float lr_factor;   /* product of the decays so far */
  uint32_t n_skipped;
} persist;

typedef struct dev_scalars {
  step_counters c;
  persist p;
} dev_scalars;

struct ngp_cuda_trainer {
  ngp_nerf *n;
  const ngp_scene *scene;
  ngp_train_opts o;
  int step;
  uint32_t occ_updates;
  cudaStream_t stream;
  cudaEvent_t ev[N_SLOTS][N_EVENTS]; /* step k records into ev[k & 1] */
  void *bufs[MAX_BUFS];
  int n_bufs;
  /* sizes */
  uint32_t max_rays, m_cap, c_cap;
  int pd0, prgb, nd; /* encoding columns (padded), colour input columns (padded), density outputs */
  ngp_cuda_grid grid;
  ngp_cuda_mlp dmlp, rmlp;
  ngp_cuda_march mp;
  /* model */
  float *params, *grads, *adam_m, *adam_v, *ema, *scratch;
  float *wg_work; /* the MLP weight gradients' partial sums (both networks, one after the other) */
  uint32_t *adam_t;
  ngp_half *w16;    /* density MLP then colour MLP, padded fp16 */
  ngp_half *grid16; /* the hash table in fp16 (params from off_grid on, rounded), kept by Adam */
  size_t n_half_d;
  /* scene */
  uint8_t *pixels;
  ngp_cuda_frame *frames;
  /* occupancy */
  float *density, *grid_tmp;
  uint8_t *bitfield;
  double *partials;
  /* rays */
  float *ray_o, *ray_d, *ray_bg, *ray_target, *ray_jitter, *ray_tstart, *ray_texit;
  uint32_t *ray_count, *ray_off, *ray_kept, *ray_coff, *scan_tmp;
  uint8_t *ray_ended, *ray_dropped;
  /* marched samples */
  float *m_x, *m_dt, *m_t, *m_den;
  uint32_t *m_ray;
  ngp_half *m_enc;
  /* compacted samples */
  float *c_x, *c_dt, *c_t, *c_den, *c_rgb, *c_drgb, *c_dden, *c_drgb_in, *c_denc;
  uint32_t *c_ray;
  ngp_half *c_enc, *c_rgb_in, *d_acts, *r_acts, *d_dz, *r_dz;
  float *capture; /* host: the steps' gradients (tests) */
  /* scalars */
  dev_scalars *dsc;
  dev_scalars *h_slot; /* pinned, [N_SLOTS]: step k's counters in h_slot[k & 1] */
};

static ngp_status talloc(ngp_cuda_trainer *t, void **p, size_t bytes, const char *what, ngp_error *err) {
  if (t->n_bufs >= MAX_BUFS) return ngp_error_set(err, NGP_ERR_INVALID, "CUDA trainer: too many buffers (a bug)");
  ngp_status st = ngp_cuda_alloc(p, bytes, what, err);
  if (st != NGP_OK) return st;
  t->bufs[t->n_bufs++] = *p;
  /* Zeroed once: kernels may read padding rows of buffers that were never written. */
  NGP_CUDA_TRY(cudaMemset(*p, 0, bytes), err);
  return NGP_OK;
}

#define TALLOC(ptr, count, what)                                                                                       \
  do {                                                                                                                 \
    void *p_ = NULL;                                                                                                   \
    if ((st = talloc(t, &p_, (size_t)(count) * sizeof *(ptr), what, err)) != NGP_OK) goto fail;                        \
    (ptr) = (decltype(ptr))p_;                                                                                         \
  } while (0)

#define TRY_GOTO(call)                                                                                                 \
  do {                                                                                                                 \
    cudaError_t e_ = (call);                                                                                           \
    if (e_ != cudaSuccess) {                                                                                           \
      st = ngp_cuda_error(err, e_, #call, __FILE__, __LINE__);                                                         \
      goto fail;                                                                                                       \
    }                                                                                                                  \
  } while (0)

void ngp_cuda_trainer_destroy(ngp_cuda_trainer *t) {
  if (!t) return;
  if (t->stream) (void)cudaStreamSynchronize(t->stream);
  for (int i = 0; i < t->n_bufs; i++)
    ngp_cuda_free(t->bufs[i]);
  for (int k = 0; k < N_SLOTS; k++)
    for (int i = 0; i < N_EVENTS; i++)
      if (t->ev[k][i]) (void)cudaEventDestroy(t->ev[k][i]);
  if (t->stream) (void)cudaStreamDestroy(t->stream);
  if (t->h_slot) (void)cudaFreeHost(t->h_slot);
  free(t);
}

int ngp_cuda_trainer_steps_done(const ngp_cuda_trainer *t) { return t->step; }

void ngp_cuda_trainer_capture_grads(ngp_cuda_trainer *t, float *grads) { t->capture = grads; }

ngp_status ngp_cuda_trainer_create(ngp_cuda_trainer **out, ngp_nerf *n, const ngp_scene *scene, const ngp_train_opts *o,
                                   ngp_error *err) {
  *out = NULL;
  if (!scene->images_loaded)
    return ngp_error_set(err, NGP_ERR_INVALID, "training needs the scene's images (load it with load_images)");
  if (scene->n_frames < 1) return ngp_error_set(err, NGP_ERR_INVALID, "training needs at least one frame");
  int dev = -1;
  if (cudaGetDevice(&dev) != cudaSuccess) {
    (void)cudaGetLastError();
    dev = -1;
  }
  char why[1024];
  if (ngp_cuda_select_device(&dev, why, sizeof why) != NGP_OK)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "%s", why);

  ngp_status st = NGP_OK;
  ngp_cuda_trainer *t = (ngp_cuda_trainer *)calloc(1, sizeof *t);
  if (!t) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  t->n = n;
  t->scene = scene;
  t->o = *o;
  t->occ_updates = n->occ.n_updates;
  if ((st = ngp_cuda_grid_from(&t->grid, &n->grid, err)) != NGP_OK) goto fail;
  if ((st = ngp_cuda_mlp_from(&t->dmlp, &n->density_mlp, "network", err)) != NGP_OK) goto fail;
  if ((st = ngp_cuda_mlp_from(&t->rmlp, &n->rgb_mlp, "rgb_network", err)) != NGP_OK) goto fail;
  t->pd0 = t->dmlp.pdims[0];
  t->prgb = t->rmlp.pdims[0];
  t->nd = n->density_mlp.n_out;
  if (n->rgb_mlp.n_in != t->nd + n->sh_dims) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "CUDA trainer: colour MLP input %d != %d density outputs + %d SH values",
                       n->rgb_mlp.n_in, t->nd, n->sh_dims);
    goto fail;
  }
  {
    const uint32_t target = o->target_samples > 0 ? o->target_samples : NGP_DEFAULT_BATCH_SAMPLES;
    uint32_t mr = target < NGP_DEFAULT_BATCH_SAMPLES ? target : NGP_DEFAULT_BATCH_SAMPLES;
    if (mr < MIN_RAYS) mr = MIN_RAYS;
    t->max_rays = ngp_round_up(mr, 256);
    t->m_cap = ngp_round_up(8u * target, 256);
    t->c_cap = ngp_round_up(2u * target, 256);
    if (t->m_cap < NGP_MAX_SAMPLES_PER_RAY * 4) t->m_cap = NGP_MAX_SAMPLES_PER_RAY * 4;
  }
  for (int i = 0; i < 3; i++) {
    t->mp.aabb_min[i] = n->aabb_min[i];
    t->mp.aabb_max[i] = n->aabb_max[i];
  }
  t->mp.cone_angle = n->cone_angle;
  t->mp.max_mip = n->occ.n_cascades - 1;

  TRY_GOTO(cudaStreamCreateWithFlags(&t->stream, cudaStreamNonBlocking));
  for (int k = 0; k < N_SLOTS; k++)
    for (int i = 0; i < N_EVENTS; i++)
      TRY_GOTO(cudaEventCreate(&t->ev[k][i]));
  TRY_GOTO(cudaMallocHost((void **)&t->h_slot, N_SLOTS * sizeof *t->h_slot));
  memset(t->h_slot, 0, N_SLOTS * sizeof *t->h_slot);

  {
    const size_t np = n->n_params;
    TALLOC(t->params, np, "the parameters");
    TALLOC(t->grads, np, "the gradients");
    TALLOC(t->adam_m, np, "Adam's first moments");
    TALLOC(t->adam_v, np, "Adam's second moments");
    TALLOC(t->adam_t, np, "Adam's step counters");
    if (n->cfg.optimizer.ema_enabled) TALLOC(t->ema, np, "the EMA weights");
    TALLOC(t->scratch, np, "the weights read-out buffer");
    t->n_half_d = ngp_cuda_mlp_half_count(&t->dmlp);
    TALLOC(t->w16, t->n_half_d + ngp_cuda_mlp_half_count(&t->rmlp), "the fp16 MLP weights");
    TALLOC(t->grid16, np - n->off_grid, "the fp16 hash table");

    size_t pixel_bytes = 0;
    for (int i = 0; i < scene->n_frames; i++)
      pixel_bytes += (size_t)scene->frames[i].image.width * (size_t)scene->frames[i].image.height * 4;
    TALLOC(t->pixels, pixel_bytes, "the training images (RGBA8)");
    TALLOC(t->frames, scene->n_frames, "the camera table");

    const size_t cells = (size_t)n->occ.n_cascades * NGP_GRID_CELLS;
    TALLOC(t->density, cells, "the occupancy grid");
    TALLOC(t->grid_tmp, cells, "the occupancy update's scratch");
    TALLOC(t->bitfield, cells / 8, "the occupancy bitfield");
    TALLOC(t->partials, ngp_occupancy_partials(), "the occupancy mean's partial sums");

    const uint32_t R = t->max_rays;
    TALLOC(t->ray_o, (size_t)R * 3, "ray origins");
    TALLOC(t->ray_d, (size_t)R * 3, "ray directions");
    TALLOC(t->ray_bg, (size_t)R * 3, "ray backgrounds");
    TALLOC(t->ray_target, (size_t)R * 3, "ray targets");
    TALLOC(t->ray_jitter, R, "ray jitters");
    TALLOC(t->ray_tstart, R, "ray starts");
    TALLOC(t->ray_texit, R, "ray exits");
    TALLOC(t->ray_count, R, "marched counts");
    TALLOC(t->ray_off, R, "marched offsets");
    TALLOC(t->ray_kept, R, "kept counts");
    TALLOC(t->ray_coff, R, "kept offsets");
    TALLOC(t->scan_tmp, ngp_scan_tmp_elems(R), "the prefix sums' scratch");
    TALLOC(t->ray_ended, R, "ray flags");
    TALLOC(t->ray_dropped, R, "ray flags");

    const size_t M = t->m_cap;
    TALLOC(t->m_x, M * 3, "marched positions");
    TALLOC(t->m_dt, M, "marched steps");
    TALLOC(t->m_t, M, "marched distances");
    TALLOC(t->m_den, M, "marched densities");
    TALLOC(t->m_ray, M, "marched sample rays");
    TALLOC(t->m_enc, M * (size_t)t->pd0, "marched encodings (fp16)");

    const size_t C = t->c_cap;
    TALLOC(t->c_x, C * 3, "batch positions");
    TALLOC(t->c_dt, C, "batch steps");
    TALLOC(t->c_t, C, "batch distances");
    TALLOC(t->c_den, C, "batch densities");
    TALLOC(t->c_rgb, C * 4, "batch colours");
    TALLOC(t->c_drgb, C * 4, "batch colour gradients");
    TALLOC(t->c_dden, C, "batch density gradients");
    TALLOC(t->c_drgb_in, C * (size_t)t->prgb, "colour MLP input gradients");
    TALLOC(t->c_denc, C * (size_t)t->pd0, "encoding gradients");
    TALLOC(t->c_ray, C, "batch sample rays");
    TALLOC(t->c_enc, C * (size_t)t->pd0, "batch encodings (fp16)");
    TALLOC(t->c_rgb_in, C * (size_t)t->prgb, "colour MLP inputs (fp16)");
    TALLOC(t->d_acts, C * ngp_cuda_mlp_acts_per_sample(&t->dmlp), "density MLP activations (fp16)");
    TALLOC(t->r_acts, C * ngp_cuda_mlp_acts_per_sample(&t->rmlp), "colour MLP activations (fp16)");
    TALLOC(t->d_dz, C * ngp_cuda_mlp_acts_per_sample(&t->dmlp), "density MLP gradients (fp16)");
    {
      const size_t wd = ngp_mlp_weight_grad_work(&t->dmlp, t->c_cap), wr = ngp_mlp_weight_grad_work(&t->rmlp, t->c_cap);
      TALLOC(t->wg_work, wd > wr ? wd : wr, "the MLP weight gradients' partial sums");
    }
    TALLOC(t->r_dz, C * ngp_cuda_mlp_acts_per_sample(&t->rmlp), "colour MLP gradients (fp16)");
    TALLOC(t->dsc, 1, "the step counters");

    /* Uploads: weights, images, cameras, and the occupancy grid masked by the training cameras
     * (on the CPU, as ngp_trainer_create does). */
    TRY_GOTO(cudaMemcpy(t->params, n->params, np * sizeof(float), cudaMemcpyHostToDevice));
    ngp_cuda_frame *fr = (ngp_cuda_frame *)calloc((size_t)scene->n_frames, sizeof *fr);
    if (!fr) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
      goto fail;
    }
    size_t off = 0;
    for (int i = 0; i < scene->n_frames; i++) {
      const ngp_frame *f = &scene->frames[i];
      memcpy(fr[i].xform, f->xform, sizeof fr[i].xform);
      memcpy(fr[i].focal, f->focal, sizeof fr[i].focal);
      memcpy(fr[i].principal, f->principal, sizeof fr[i].principal);
      memcpy(fr[i].lens_params, f->lens.params, sizeof fr[i].lens_params);
      fr[i].lens_mode = (int)f->lens.mode;
      fr[i].width = f->image.width;
      fr[i].height = f->image.height;
      fr[i].pixel_offset = off;
      const size_t bytes = (size_t)f->image.width * (size_t)f->image.height * 4;
      cudaError_t e = cudaMemcpy(t->pixels + off, f->image.rgba, bytes, cudaMemcpyHostToDevice);
      if (e != cudaSuccess) {
        free(fr);
        st = ngp_cuda_error(err, e, "uploading the images", __FILE__, __LINE__);
        goto fail;
      }
      off += bytes;
    }
    cudaError_t e = cudaMemcpy(t->frames, fr, (size_t)scene->n_frames * sizeof *fr, cudaMemcpyHostToDevice);
    free(fr);
    if (e != cudaSuccess) {
      st = ngp_cuda_error(err, e, "uploading the cameras", __FILE__, __LINE__);
      goto fail;
    }
    ngp_occupancy_mark_untrained(&n->occ, scene, o->n_threads > 0 ? o->n_threads : ngp_cpu_count());
    TRY_GOTO(cudaMemcpy(t->density, n->occ.density, cells * sizeof(float), cudaMemcpyHostToDevice));
    TRY_GOTO(cudaMemcpy(t->bitfield, n->occ.bitfield, cells / 8, cudaMemcpyHostToDevice));
    t->mp.bitfield = t->bitfield;
    dev_scalars init;
    memset(&init, 0, sizeof init);
    init.p.n_rays = 4096u < t->max_rays ? 4096u : t->max_rays;
    init.p.grid_mean = n->occ.mean;
    init.p.n_occupied = (uint32_t)n->occ.n_occupied;
    init.p.lr_factor = 1.0f;
    TRY_GOTO(cudaMemcpy(t->dsc, &init, sizeof init, cudaMemcpyHostToDevice));
    ngp_mlp_weights_to_half_cuda(&t->dmlp, t->params + n->off_density, t->w16, t->stream);
    ngp_mlp_weights_to_half_cuda(&t->rmlp, t->params + n->off_rgb, t->w16 + t->n_half_d, t->stream);
    ngp_cuda_f32_to_f16(t->params + n->off_grid, t->grid16, np - n->off_grid, t->stream);
    TRY_GOTO(cudaGetLastError());
    /* The buffers were zeroed on the legacy default stream, which a non-blocking stream does not
     * wait for: finish everything before the first step. */
    TRY_GOTO(cudaDeviceSynchronize());
  }
  *out = t;
  return NGP_OK;
fail:
  ngp_cuda_trainer_destroy(t);
  return st;
}

/* ---- The step ------------------------------------------------------------------------------------- */

/* Next step's rays, so that the samples used approach the target (trainer.c step 5). */
/* cap: the marched-sample buffer; rays that would overflow it are dropped (march.cu), so the count
 * is bounded by what fits as well (ngp_next_ray_count). */
__global__ void batch_adapt_kernel(dev_scalars *s, uint32_t target, uint32_t cap, uint32_t max_rays) {
  if (threadIdx.x != 0 || blockIdx.x != 0) return;
  s->p.n_rays = ngp_next_ray_count(s->c.n_rays, target, s->c.kept_total, s->c.marched_total, cap, MIN_RAYS, max_rays);
}

/* Density MLP (training weights) on `count` warped positions at t->m_x: raw densities into t->m_den. */
static void density_inference(ngp_cuda_trainer *t, const uint32_t *d_count, uint32_t max) {
  ngp_hashgrid_forward_cuda(&t->grid, t->params + t->n->off_grid, t->grid16, d_count, max, t->m_x, t->m_enc, t->pd0,
                            NULL, 0, t->stream);
  ngp_mlp_forward_cuda(&t->dmlp, t->w16, d_count, max, t->m_enc, t->pd0, NULL, 0, t->m_den, 1, 1, NULL, 0, 0,
                       t->stream);
}

static ngp_status occupancy_update(ngp_cuda_trainer *t, ngp_error *err) {
  ngp_nerf *n = t->n;
  const int nc = n->occ.n_cascades;
  const uint32_t cells = (uint32_t)NGP_GRID_CELLS * (uint32_t)nc;
  const float f = t->o.grid_sample_fraction;
  const uint32_t uni = t->step < 256 ? cells : cells / 4, non = t->step < 256 ? 0 : cells / 4;
  const uint32_t counts[2] = {(uint32_t)((float)uni * f), (uint32_t)((float)non * f)};
  const uint64_t seed = t->o.seed ^ ngp_mix64((uint64_t)t->step + 7);
  NGP_CUDA_TRY(cudaMemsetAsync(t->grid_tmp, 0, (size_t)cells * sizeof(float), t->stream), err);
  /* Both sets draw their cells from the grid as it was before this update. The marched-sample
   * buffers are free at this point of the step and serve as the update's batch. */
  for (int set = 0; set < 2; set++) {
    const uint64_t set_seed = ngp_grid_set_seed(seed, set);
    const float thresh = set == 0 ? -0.01f : NGP_MIN_OPTICAL_THICKNESS;
    for (uint32_t first = 0; first < counts[set]; first += t->m_cap) {
      const uint32_t cnt = counts[set] - first < t->m_cap ? counts[set] - first : t->m_cap;
      ngp_occupancy_samples_cuda(t->density, nc, first, cnt, counts[set], t->occ_updates, thresh, set_seed, n->aabb_min,
                                 n->aabb_max, NULL, t->m_x, t->m_ray, t->stream);
      density_inference(t, NULL, cnt);
      ngp_occupancy_splat_cuda(t->m_ray, t->m_den, cnt, t->grid_tmp, t->stream);
    }
  }
  ngp_occupancy_finish_cuda(t->density, t->grid_tmp, nc, NGP_GRID_DECAY, t->bitfield, &t->dsc->p.grid_mean,
                            &t->dsc->p.n_occupied, t->partials, t->stream);
  NGP_CUDA_CHECK_LAUNCH(err);
  t->occ_updates++;
  return NGP_OK;
}

/* No step's numbers yet (before the first step completes). */
static void no_stats(ngp_step_stats *stats) {
  memset(stats, 0, sizeof *stats);
  stats->step = -1;
}

/* The numbers of step `step` from its host slot and events; its EV_DONE event has completed, and the
 * slot has not been written again since (only step + 2 writes it). */
static void fill_stats(ngp_cuda_trainer *t, int step, ngp_step_stats *stats) {
  const int slot = step & 1;
  const step_counters *h = &t->h_slot[slot].c;
  memset(stats, 0, sizeof *stats);
  stats->step = step;
  stats->loss = h->rays_used ? (float)(h->loss_sum / h->rays_used) : 0.0f;
  stats->n_rays = (int)h->n_rays;
  stats->n_samples = h->marched_end;
  stats->n_samples_used = h->samples_used;
  stats->learning_rate = h->lr;
  stats->skipped = h->skipped != 0;
  float ms[N_PHASES];
  for (int i = 0; i < N_PHASES; i++)
    if (cudaEventElapsedTime(&ms[i], t->ev[slot][i], t->ev[slot][i + 1]) != cudaSuccess) ms[i] = 0.0f;
  (void)cudaGetLastError();
  stats->t_march = 1e-3 * ms[0];
  stats->t_forward = 1e-3 * ms[1];
  stats->t_composite = 1e-3 * ms[2];
  stats->t_backward = 1e-3 * ms[3];
  stats->t_optimizer = 1e-3 * ms[4];
  stats->t_grid = 1e-3 * ms[5];
}

ngp_status ngp_cuda_trainer_step(ngp_cuda_trainer *t, ngp_step_stats *stats, ngp_error *err) {
  ngp_nerf *n = t->n;
  cudaStream_t s = t->stream;
  step_counters *c = &t->dsc->c;
  persist *p = &t->dsc->p;
  const uint32_t R = t->max_rays;
  const int slot = t->step & 1;
  cudaEvent_t *ev = t->ev[slot];
  NGP_CUDA_TRY(cudaEventRecord(ev[0], s), err);
  NGP_CUDA_TRY(cudaMemsetAsync(c, 0, sizeof *c, s), err);
  NGP_CUDA_TRY(cudaMemsetAsync(t->ray_dropped, 0, R, s), err);

  /* 1. Rays, marching with compaction: count, prefix sum, write. */
  ngp_rays_train_cuda(t->frames, t->scene->n_frames, t->pixels, &p->n_rays, R, t->o.seed, (uint32_t)t->step,
                      t->o.random_bg ? 1 : 0, t->ray_o, t->ray_d, t->ray_bg, t->ray_target, t->ray_jitter, &c->n_rays,
                      s);
  ngp_march_count_cuda(&t->mp, &p->n_rays, R, t->ray_o, t->ray_d, t->ray_jitter, NGP_MAX_SAMPLES_PER_RAY, t->ray_tstart,
                       t->ray_texit, t->ray_count, s);
  ngp_scan_exclusive_cuda(t->ray_count, t->ray_off, &p->n_rays, R, &c->marched_total, t->scan_tmp, s);
  ngp_march_write_cuda(&t->mp, &p->n_rays, R, t->ray_o, t->ray_d, t->ray_tstart, t->ray_texit, t->ray_count, t->ray_off,
                       t->m_cap, t->ray_dropped, t->m_x, t->m_dt, t->m_t, t->m_ray, &c->marched_end, s);
  /* 2. Densities of every marched sample, then keep each ray's samples until T < 1e-4. */
  density_inference(t, &c->marched_end, t->m_cap);
  ngp_transmittance_compact_cuda(&p->n_rays, R, t->ray_off, t->ray_count, t->m_den, t->m_dt, t->ray_kept, t->ray_ended,
                                 s);
  ngp_scan_exclusive_cuda(t->ray_kept, t->ray_coff, &p->n_rays, R, &c->kept_total, t->scan_tmp, s);
  ngp_compact_bounds_cuda(&p->n_rays, R, t->ray_kept, t->ray_coff, t->c_cap, t->ray_dropped, &c->compacted_end, s);
  ngp_compact_samples_cuda(&c->marched_end, t->m_cap, t->m_ray, t->ray_off, t->ray_kept, t->ray_coff, t->m_x, t->m_dt,
                           t->m_t, t->m_enc, t->pd0, t->c_x, t->c_dt, t->c_t, t->c_enc, t->c_ray, s);
  NGP_CUDA_CHECK_LAUNCH(err);
  NGP_CUDA_TRY(cudaEventRecord(ev[1], s), err);

  /* 3. Forward on the batch: (encodings from step 2) -> density MLP -> SH -> colour MLP. */
  const uint32_t *S = &c->compacted_end;
  const uint32_t C = t->c_cap;
  ngp_mlp_forward_cuda(&t->dmlp, t->w16, S, C, t->c_enc, t->pd0, t->d_acts, C, t->c_den, 1, 1, t->c_rgb_in, t->prgb,
                       t->nd, s);
  ngp_sh_forward_cuda(n->cfg.sh_degree, S, C, t->ray_d, t->c_ray, 1, t->c_rgb_in, t->prgb, t->nd, t->prgb, NULL, s);
  ngp_mlp_forward_cuda(&t->rmlp, t->w16 + t->n_half_d, S, C, t->c_rgb_in, t->prgb, t->r_acts, C, t->c_rgb, 4, 3, NULL,
                       0, 0, s);
  NGP_CUDA_TRY(cudaEventRecord(ev[2], s), err);

  /* 4. Composite, loss and their backward, per ray. */
  ngp_cuda_train_composite tc;
  memset(&tc, 0, sizeof tc);
  tc.d_n_rays = &p->n_rays;
  tc.max_rays = R;
  tc.coffset = t->ray_coff;
  tc.kept = t->ray_kept;
  tc.ended = t->ray_ended;
  tc.dropped = t->ray_dropped;
  tc.raw_rgb = t->c_rgb;
  tc.raw_density = t->c_den;
  tc.dt = t->c_dt;
  tc.t = t->c_t;
  tc.bg = t->ray_bg;
  tc.target = t->ray_target;
  tc.loss_type = (int)n->cfg.loss;
  tc.grad_scale = 1.0f;
  tc.d_grad_max = &c->grad_max;
  tc.near_distance = t->o.near_distance;
  tc.d_grid_mean = &p->grid_mean;
  tc.draw_rgb = t->c_drgb;
  tc.draw_density = t->c_dden;
  tc.d_loss_sum = &c->loss_sum;
  tc.d_rays_used = &c->rays_used;
  tc.d_samples_used = &c->samples_used;
  ngp_composite_train_cuda(&tc, s);
  ngp_loss_scale_cuda(&c->grad_max, &c->loss_scale, s);
  NGP_CUDA_TRY(cudaEventRecord(ev[3], s), err);

  /* 5. Backward in exact reverse order: colour MLP -> (SH has no parameters) -> density MLP (its
   * output gradient: the colour MLP's input gradient, plus the density's on column 0) -> hash grid. */
  const float *ls = &c->loss_scale;
  ngp_mlp_backward_cuda(&t->rmlp, t->w16 + t->n_half_d, S, C, t->c_drgb, 4, 3, NULL, 1.0f, ls, t->r_acts, C, t->r_dz,
                        t->c_drgb_in, t->prgb, s);
  ngp_mlp_weight_grad_cuda(&t->rmlp, S, C, t->c_rgb_in, t->prgb, t->r_acts, t->r_dz, C, t->grads + n->off_rgb, 1.0f, ls,
                           t->wg_work, s);
  ngp_mlp_backward_cuda(&t->dmlp, t->w16, S, C, t->c_drgb_in, t->prgb, t->nd, t->c_dden, 1.0f, ls, t->d_acts, C,
                        t->d_dz, t->c_denc, t->pd0, s);
  ngp_mlp_weight_grad_cuda(&t->dmlp, S, C, t->c_enc, t->pd0, t->d_acts, t->d_dz, C, t->grads + n->off_density, 1.0f, ls,
                           t->wg_work, s);
  ngp_hashgrid_backward_cuda(&t->grid, S, C, t->c_x, t->c_denc, t->pd0, t->grads + n->off_grid, s);
  NGP_CUDA_CHECK_LAUNCH(err);
  NGP_CUDA_TRY(cudaEventRecord(ev[4], s), err);

  /* 6. Optimizer: the non-finite guard (a step with a NaN or infinite loss or gradient is skipped
   * whole, as trainer.c's optimize does), the decay schedule, Adam with the sparse rule, EMA; fp16
   * weights. All on the device: the host does not wait to learn whether the step applies. */
  const ngp_optimizer_config *oc = &n->cfg.optimizer;
  if (t->capture) /* before Adam consumes them; t->scratch is free within a step */
    NGP_CUDA_TRY(cudaMemcpyAsync(t->scratch, t->grads, n->n_params * sizeof(float), cudaMemcpyDeviceToDevice, s), err);
  ngp_grads_check_cuda(t->grads, n->n_params, &c->grads_bad, s);
  ngp_cuda_adam_schedule sched;
  sched.learning_rate = oc->learning_rate;
  sched.decay_base = oc->decay_base;
  sched.decay_enabled = oc->decay_enabled ? 1 : 0;
  sched.decay_start = oc->decay_start;
  sched.decay_interval = oc->decay_interval;
  sched.decay_end = oc->decay_end;
  ngp_adam_prepare_cuda(&sched, &c->loss_sum, &c->grads_bad, &p->opt_step, &p->lr_factor, &c->lr, &c->skipped,
                        &p->n_skipped, s);
  ngp_cuda_adam a;
  memset(&a, 0, sizeof a);
  a.n_params = n->n_params;
  a.n_matrix = n->n_matrix;
  a.lr = oc->learning_rate;
  a.d_lr = &c->lr;
  a.d_skip = &c->skipped;
  a.beta1 = oc->beta1;
  a.beta2 = oc->beta2;
  a.epsilon = oc->epsilon;
  a.l2_reg = oc->l2_reg;
  a.grad_scale = 1.0f; /* the loss scale is divided out in the backward's fp32 results */
  a.d_grad_div = &c->n_rays;
  a.ema_decay = oc->ema_decay;
  a.params16 = t->grid16; /* the table's fp16 copy, written in the same pass */
  a.half_begin = n->off_grid;
  ngp_adam_step_cuda(&a, t->params, t->grads, t->adam_m, t->adam_v, t->adam_t, t->ema, s);
  ngp_mlp_weights_to_half_cuda(&t->dmlp, t->params + n->off_density, t->w16, s);
  ngp_mlp_weights_to_half_cuda(&t->rmlp, t->params + n->off_rgb, t->w16 + t->n_half_d, s);
  NGP_CUDA_TRY(cudaEventRecord(ev[5], s), err);

  /* 7. Occupancy grid on instant-ngp's schedule, with the updated training weights. */
  if (ngp_grid_update_due(t->step)) {
    ngp_status st = occupancy_update(t, err);
    if (st != NGP_OK) return st;
  }
  NGP_CUDA_TRY(cudaEventRecord(ev[6], s), err);

  /* 8. The next step's ray count, and the counters for the statistics. */
  uint32_t target = t->o.target_samples > 0 ? t->o.target_samples : NGP_DEFAULT_BATCH_SAMPLES;
  batch_adapt_kernel<<<1, 32, 0, s>>>(t->dsc, target, t->m_cap, R);
  NGP_CUDA_CHECK_LAUNCH(err);
  /* This step's counters into its host slot. The slot was last written by step - 2, whose numbers
   * the previous call read before returning. */
  NGP_CUDA_TRY(cudaMemcpyAsync(&t->h_slot[slot], t->dsc, sizeof *t->h_slot, cudaMemcpyDeviceToHost, s), err);
  NGP_CUDA_TRY(cudaEventRecord(ev[EV_DONE], s), err);
  const int step = t->step++;
  if (t->capture) {
    NGP_CUDA_TRY(cudaMemcpyAsync(t->capture, t->scratch, n->n_params * sizeof(float), cudaMemcpyDeviceToHost, s), err);
    NGP_CUDA_TRY(cudaStreamSynchronize(s), err);
    /* the summed per-ray gradients over the rays: Adam's division (a.d_grad_div) */
    const uint32_t rays = t->h_slot[slot].c.n_rays;
    const float div = rays ? (float)rays : 1.0f;
    for (size_t i = 0; i < n->n_params; i++)
      t->capture[i] /= div;
  }
  /* With this step queued, wait for the previous one (the device is busy meanwhile): the host never
   * runs more than one step ahead, so time budgets and interrupts see the device's pace. */
  if (step == 0) {
    if (stats) no_stats(stats);
    return NGP_OK;
  }
  NGP_CUDA_TRY(cudaEventSynchronize(t->ev[(step - 1) & 1][EV_DONE]), err);
  if (stats) fill_stats(t, step - 1, stats);
  return NGP_OK;
}

ngp_status ngp_cuda_trainer_last_stats(ngp_cuda_trainer *t, ngp_step_stats *stats, ngp_error *err) {
  if (t->step == 0) {
    no_stats(stats);
    return NGP_OK;
  }
  NGP_CUDA_TRY(cudaEventSynchronize(t->ev[(t->step - 1) & 1][EV_DONE]), err);
  fill_stats(t, t->step - 1, stats);
  return NGP_OK;
}

/* The scalars kept across steps (the optimizer steps applied, the skipped ones), read from the
 * device after the stream's work. */
static ngp_status read_persist(ngp_cuda_trainer *t, persist *out, ngp_error *err) {
  NGP_CUDA_TRY(cudaMemcpyAsync(out, &t->dsc->p, sizeof *out, cudaMemcpyDeviceToHost, t->stream), err);
  NGP_CUDA_TRY(cudaStreamSynchronize(t->stream), err);
  return NGP_OK;
}

ngp_status ngp_cuda_trainer_skipped_steps(ngp_cuda_trainer *t, int *skipped, ngp_error *err) {
  persist p;
  ngp_status st = read_persist(t, &p, err);
  *skipped = st == NGP_OK ? (int)p.n_skipped : 0;
  return st;
}

ngp_status ngp_cuda_trainer_sync_inference(ngp_cuda_trainer *t, ngp_error *err) {
  ngp_nerf *n = t->n;
  const size_t np = n->n_params;
  NGP_CUDA_TRY(cudaStreamSynchronize(t->stream), err);
  NGP_CUDA_TRY(cudaGetLastError(), err);
  persist ps;
  ngp_status pst = read_persist(t, &ps, err);
  if (pst != NGP_OK) return pst;
  const uint32_t opt_step = ps.opt_step;
  const ngp_optimizer_config *oc = &n->cfg.optimizer;
  if (t->ema && opt_step > 0) {
    /* The debiased EMA: A_t / (1 - d^t), t = optimizer steps applied (optimizer.c ngp_optimizer_ema). */
    const float debias = (float)(1.0 / (1.0 - pow((double)oc->ema_decay, (double)opt_step)));
    ngp_ema_read_cuda(t->ema, debias, np, t->scratch, t->stream);
    NGP_CUDA_TRY(cudaMemcpyAsync(n->inference, t->scratch, np * sizeof(float), cudaMemcpyDeviceToHost, t->stream), err);
  } else {
    NGP_CUDA_TRY(cudaMemcpyAsync(n->inference, t->params, np * sizeof(float), cudaMemcpyDeviceToHost, t->stream), err);
  }
  NGP_CUDA_TRY(cudaMemcpyAsync(n->params, t->params, np * sizeof(float), cudaMemcpyDeviceToHost, t->stream), err);
  const size_t cells = (size_t)n->occ.n_cascades * NGP_GRID_CELLS;
  NGP_CUDA_TRY(cudaMemcpyAsync(n->occ.density, t->density, cells * sizeof(float), cudaMemcpyDeviceToHost, t->stream),
               err);
  NGP_CUDA_TRY(cudaMemcpyAsync(n->occ.bitfield, t->bitfield, cells / 8, cudaMemcpyDeviceToHost, t->stream), err);
  NGP_CUDA_TRY(cudaStreamSynchronize(t->stream), err);
  /* ps was read after every queued step: the grid's scalars are current */
  n->occ.mean = ps.grid_mean;
  n->occ.n_occupied = ps.n_occupied;
  n->occ.n_updates = t->occ_updates;
  return NGP_OK;
}

ngp_status ngp_cuda_trainer_export_model(ngp_cuda_trainer *t, float *weights, uint8_t *bitfield, ngp_error *err) {
  const ngp_nerf *n = t->n;
  const size_t np = n->n_params, cells = (size_t)n->occ.n_cascades * NGP_GRID_CELLS;
  const ngp_optimizer_config *oc = &n->cfg.optimizer;
  persist ps;
  ngp_status pst = read_persist(t, &ps, err);
  if (pst != NGP_OK) return pst;
  const uint32_t opt_step = ps.opt_step;
  if (t->ema && opt_step > 0) {
    /* The debiased EMA, as sync_inference reads it. */
    const float debias = (float)(1.0 / (1.0 - pow((double)oc->ema_decay, (double)opt_step)));
    ngp_ema_read_cuda(t->ema, debias, np, weights, t->stream);
    NGP_CUDA_CHECK_LAUNCH(err);
  } else {
    NGP_CUDA_TRY(cudaMemcpyAsync(weights, t->params, np * sizeof(float), cudaMemcpyDeviceToDevice, t->stream), err);
  }
  NGP_CUDA_TRY(cudaMemcpyAsync(bitfield, t->bitfield, cells / 8, cudaMemcpyDeviceToDevice, t->stream), err);
  NGP_CUDA_TRY(cudaStreamSynchronize(t->stream), err);
  return NGP_OK;
}
