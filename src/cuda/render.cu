/* render.cu: rendering a camera on the GPU with the semantics of nerf.c's ngp_nerf_render, as a
 * wavefront: every pixel's ray is started at once; then, in rounds, each live ray marches a
 * segment of up to m samples (m grows as rays finish, so each round evaluates about the same number
 * of samples), the hash grid and both MLPs (fp16 tensor cores, as in training) run on the whole
 * round, and each ray composites its segment and either finishes (its pixel written) or joins the
 * next round's live list. The host reads one count per round to size the next one.
 *
 * Every render mode of nerf.h, the near distance and the crop box, with the CPU renderer's per-ray
 * rules from common/ngp_render_math.h: rays start at ngp_render_start; samples outside the crop
 * box get no density after the density network; modes other than shade composite sample by sample
 * into the ray's sums and write ngp_render_aux_value; normals evaluate the hash grid and the density
 * network at six probes per sample (central differences, as the CPU does), in fp16 as the samples.
 *
 * A renderer (ngp_cuda_renderer) belongs to one CUDA backend instance and owns its model on the
 * device: fp32 weights, their fp16 copy (the MLPs' padded layout, and the hash table, which the
 * encoding reads as the trainer's does: half the bytes per lookup), and the occupancy bitfield, loaded from the host or
 * copied on the device from the trainer's EMA. With `concurrent` (the viewer) a second weights/bitfield pair takes the
 * trainer's handover while renders use the first; acquire swaps them. The work buffers are sized for the largest image
 * rendered so far.
 * UNVERIFIED on a device: never run; the round sizing (m up to 16 samples per ray, 4M samples per
 * round) is a guess at what keeps a 1080p view under 30 ms on an H100. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_common.cuh"
#include "cuda/composite.h"
#include "cuda/cuda_util.h"
#include "cuda/hashgrid.h"
#include "cuda/march.h"
#include "cuda/mlp.h"
#include "cuda/sh.h"
#include "cuda/ngp_cuda.h"
#include "common/ngp_march_math.h"
#include "common/ngp_render_math.h"

enum { SEG_MAX = 16, MAX_RBUFS = 40 };
/* Samples evaluated per round at most (network inputs and outputs of about 170 bytes each). */
static const uint32_t ROUND_SAMPLES = 1u << 22;

#include <pthread.h>

struct ngp_cuda_renderer {
  const ngp_nerf *n; /* the layout (and the host model, for loads from the host) */
  /* model */
  ngp_cuda_grid grid;
  ngp_cuda_mlp dmlp, rmlp;
  ngp_cuda_march mp;
  int pd0, prgb, nd, sh_degree;
  size_t n_half_d, n_half;
  float *params; /* front: what renders use */
  ngp_half *w16;
  ngp_half *grid16; /* the front hash table in fp16 (params from off_grid on, rounded) */
  uint8_t *bitfield;
  uint64_t generation;
  /* concurrent only: the handover pair, under lock */
  bool concurrent;
  pthread_mutex_t lock;
  float *p_params;
  uint8_t *p_bitfield;
  uint64_t p_generation;
  /* work buffers for up to cap_rays rays and cap_samples samples (cap_rays <= cap_samples), with
   * the network input widths they were sized for */
  uint32_t cap_rays, cap_samples;
  int work_pd0, work_prgb;
  float *origin, *dir, *t_cur, *t_exit, *T, *col, *out, *bg, *cam; /* cam: xform[12], focal[2], principal[2] */
  uint32_t *marched, *live[2], *seg_count, *counts;                /* counts: [0] live, [1] next */
  uint8_t *march_done;
  float *x, *dt, *den, *rgb;
  ngp_half *enc, *rgb_in;
  /* The render modes and the crop box (ensure_aux, allocated when first needed): sample positions
   * in ngp units [S][3]; per ray the modes' sums [R]; normals: probe inputs [S][3], densities at
   * the probes [S] x 2 and the gradient [S][3]. */
  float *pos, *gx, *gminus, *gden, *grad;
  ngp_render_acc *acc;
  uint32_t *h_counts; /* pinned */
  cudaStream_t stream;
};

typedef ngp_cuda_renderer ngp_cuda_renderer;

static void free_work(ngp_cuda_renderer *c) {
  void *bufs[] = {c->origin,  c->dir,     c->t_cur,   c->t_exit,    c->T,      c->col,        c->out,  c->bg,   c->cam,
                  c->marched, c->live[0], c->live[1], c->seg_count, c->counts, c->march_done, c->x,    c->dt,   c->den,
                  c->rgb,     c->enc,     c->rgb_in,  c->pos,       c->gx,     c->gminus,     c->gden, c->grad, c->acc};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    ngp_cuda_free(bufs[i]);
  c->origin = c->dir = c->t_cur = c->t_exit = c->T = c->col = c->out = c->bg = c->cam = NULL;
  c->marched = c->live[0] = c->live[1] = c->seg_count = c->counts = NULL;
  c->march_done = NULL;
  c->x = c->dt = c->den = c->rgb = NULL;
  c->enc = c->rgb_in = NULL;
  c->pos = c->gx = c->gminus = c->gden = c->grad = NULL;
  c->acc = NULL;
  c->cap_rays = c->cap_samples = 0;
}

void ngp_cuda_renderer_destroy(ngp_cuda_renderer *c) {
  if (!c) return;
  if (c->stream) (void)cudaStreamSynchronize(c->stream);
  free_work(c);
  ngp_cuda_free(c->params);
  ngp_cuda_free(c->w16);
  ngp_cuda_free(c->grid16);
  ngp_cuda_free(c->bitfield);
  ngp_cuda_free(c->p_params);
  ngp_cuda_free(c->p_bitfield);
  if (c->h_counts) (void)cudaFreeHost(c->h_counts);
  if (c->stream) (void)cudaStreamDestroy(c->stream);
  if (c->concurrent) pthread_mutex_destroy(&c->lock);
  free(c);
}

static size_t bitfield_bytes(const ngp_nerf *n) { return (size_t)n->occ.n_cascades * NGP_GRID_CELLS / 8; }

ngp_status ngp_cuda_renderer_create(ngp_cuda_renderer **out, const ngp_nerf *n, bool concurrent, ngp_error *err) {
  *out = NULL;
  ngp_cuda_renderer *c = (ngp_cuda_renderer *)calloc(1, sizeof *c);
  if (!c) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the renderer");
  c->n = n;
  ngp_status st;
  if ((st = ngp_cuda_grid_from(&c->grid, &n->grid, err)) != NGP_OK ||
      (st = ngp_cuda_mlp_from(&c->dmlp, &n->density_mlp, "network", err)) != NGP_OK ||
      (st = ngp_cuda_mlp_from(&c->rmlp, &n->rgb_mlp, "rgb_network", err)) != NGP_OK) {
    free(c);
    return st;
  }
  c->pd0 = c->dmlp.pdims[0];
  c->prgb = c->rmlp.pdims[0];
  c->nd = n->density_mlp.n_out;
  c->sh_degree = n->cfg.sh_degree;
  c->n_half_d = ngp_cuda_mlp_half_count(&c->dmlp);
  c->n_half = c->n_half_d + ngp_cuda_mlp_half_count(&c->rmlp);
  for (int i = 0; i < 3; i++) {
    c->mp.aabb_min[i] = n->aabb_min[i];
    c->mp.aabb_max[i] = n->aabb_max[i];
  }
  c->mp.cone_angle = n->cone_angle;
  c->mp.max_mip = n->occ.n_cascades - 1;
  c->concurrent = concurrent;
  if (concurrent) pthread_mutex_init(&c->lock, NULL);
  const size_t bf = bitfield_bytes(n);
  if (cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking) != cudaSuccess) c->stream = NULL;
  if (!c->stream || cudaMallocHost((void **)&c->h_counts, 2 * sizeof(uint32_t)) != cudaSuccess) {
    c->h_counts = NULL;
    st = ngp_error_set(err, NGP_ERR_UNSUPPORTED, "render: could not create a stream: %s",
                       cudaGetErrorString(cudaGetLastError()));
  }
  if (st == NGP_OK) st = ngp_cuda_alloc((void **)&c->params, n->n_params * sizeof(float), "the render weights", err);
  if (st == NGP_OK) st = ngp_cuda_alloc((void **)&c->w16, c->n_half * 2, "the render fp16 weights", err);
  if (st == NGP_OK)
    st = ngp_cuda_alloc((void **)&c->grid16, (n->n_params - n->off_grid) * 2, "the render fp16 hash table", err);
  if (st == NGP_OK) st = ngp_cuda_alloc((void **)&c->bitfield, bf, "the render occupancy bitfield", err);
  if (st == NGP_OK && concurrent)
    st = ngp_cuda_alloc((void **)&c->p_params, n->n_params * sizeof(float), "the render handover weights", err);
  if (st == NGP_OK && concurrent) st = ngp_cuda_alloc((void **)&c->p_bitfield, bf, "the render handover bitfield", err);
  if (st != NGP_OK) {
    ngp_cuda_renderer_destroy(c);
    return st;
  }
  *out = c;
  return NGP_OK;
}

/* The fp16 copy of the front weights (MLPs and hash table), on the render stream, waited for. */
static ngp_status front_to_half(ngp_cuda_renderer *c, ngp_error *err) {
  ngp_mlp_weights_to_half_cuda(&c->dmlp, c->params + c->n->off_density, c->w16, c->stream);
  ngp_mlp_weights_to_half_cuda(&c->rmlp, c->params + c->n->off_rgb, c->w16 + c->n_half_d, c->stream);
  ngp_cuda_f32_to_f16(c->params + c->n->off_grid, c->grid16, c->n->n_params - c->n->off_grid, c->stream);
  NGP_CUDA_CHECK_LAUNCH(err);
  NGP_CUDA_TRY(cudaStreamSynchronize(c->stream), err);
  c->mp.bitfield = c->bitfield;
  return NGP_OK;
}

ngp_status ngp_cuda_renderer_load(ngp_cuda_renderer *c, const float *weights, const uint8_t *bitfield,
                                  uint64_t generation, ngp_error *err) {
  if (!weights || !bitfield) return ngp_error_set(err, NGP_ERR_INVALID, "render: no weights to load");
  const cudaMemcpyKind k = cudaMemcpyDefault; /* host or device pointers alike (unified addressing) */
  NGP_CUDA_TRY(cudaMemcpyAsync(c->params, weights, c->n->n_params * sizeof(float), k, c->stream), err);
  NGP_CUDA_TRY(cudaMemcpyAsync(c->bitfield, bitfield, bitfield_bytes(c->n), k, c->stream), err);
  ngp_status st = front_to_half(c, err);
  if (st == NGP_OK) c->generation = generation;
  return st;
}

ngp_status ngp_cuda_renderer_publish(ngp_cuda_renderer *c, ngp_cuda_trainer *t, uint64_t generation, ngp_error *err) {
  if (!c->concurrent) {
    ngp_status st = ngp_cuda_trainer_export_model(t, c->params, c->bitfield, err);
    if (st == NGP_OK) st = front_to_half(c, err);
    if (st == NGP_OK) c->generation = generation;
    return st;
  }
  pthread_mutex_lock(&c->lock);
  ngp_status st = ngp_cuda_trainer_export_model(t, c->p_params, c->p_bitfield, err);
  if (st == NGP_OK) c->p_generation = generation;
  pthread_mutex_unlock(&c->lock);
  return st;
}

uint64_t ngp_cuda_renderer_acquire(ngp_cuda_renderer *c) {
  if (!c->concurrent || pthread_mutex_trylock(&c->lock) != 0) return c->generation;
  if (c->p_generation > c->generation) {
    float *w = c->params;
    uint8_t *b = c->bitfield;
    c->params = c->p_params;
    c->bitfield = c->p_bitfield;
    c->p_params = w;
    c->p_bitfield = b;
    ngp_error err;
    if (front_to_half(c, &err) == NGP_OK)
      c->generation = c->p_generation;
    else
      fprintf(stderr, "instant-ngp: error: %s\n", err.msg);
  }
  pthread_mutex_unlock(&c->lock);
  return c->generation;
}

bool ngp_cuda_renderer_newer_pending(ngp_cuda_renderer *c) {
  if (!c->concurrent || pthread_mutex_trylock(&c->lock) != 0) return false;
  bool newer = c->p_generation > c->generation;
  pthread_mutex_unlock(&c->lock);
  return newer;
}

static ngp_status ensure_work(ngp_cuda_renderer *c, uint32_t rays, ngp_error *err) {
  if (c->cap_samples && c->work_pd0 == c->pd0 && c->work_prgb == c->prgb &&
      (c->cap_rays >= rays || c->cap_rays == c->cap_samples))
    return NGP_OK;
  free_work(c);
  /* Samples per round: ROUND_SAMPLES, less when memory is short (a quarter of what is free). Rays
   * in flight: at most one sample each per round, so no more rays than samples. */
  size_t free_b = 0, total_b = 0;
  (void)cudaMemGetInfo(&free_b, &total_b);
  (void)cudaGetLastError();
  const size_t per_sample = 3 * 4 + 4 + 4 + 16 + (size_t)(c->pd0 + c->prgb) * 2 + 60 /* per-ray state */;
  uint32_t S = ROUND_SAMPLES;
  while (S > (1u << 16) && (size_t)S * per_sample > free_b / 4)
    S /= 2;
  uint32_t R = ngp_round_up(rays, 256);
  if (R > S) R = S;
  ngp_status st = NGP_OK;
#define RALLOC(ptr, count, what)                                                                                       \
  if (st == NGP_OK) {                                                                                                  \
    void *p_ = NULL;                                                                                                   \
    st = ngp_cuda_alloc(&p_, (size_t)(count) * sizeof *(ptr), what, err);                                              \
    (ptr) = (decltype(ptr))p_;                                                                                         \
  }
  RALLOC(c->origin, (size_t)R * 3, "render ray origins");
  RALLOC(c->dir, (size_t)R * 3, "render ray directions");
  RALLOC(c->t_cur, R, "render ray positions");
  RALLOC(c->t_exit, R, "render ray exits");
  RALLOC(c->T, R, "render transmittances");
  RALLOC(c->col, (size_t)R * 3, "render colours");
  RALLOC(c->out, (size_t)R * 3, "the rendered image");
  RALLOC(c->bg, 3, "the background");
  RALLOC(c->cam, 16, "the camera");
  RALLOC(c->marched, R, "render sample counts");
  RALLOC(c->live[0], R, "render live rays");
  RALLOC(c->live[1], R, "render live rays");
  RALLOC(c->seg_count, R, "render segment counts");
  RALLOC(c->counts, 2, "render counters");
  RALLOC(c->march_done, R, "render ray flags");
  RALLOC(c->x, (size_t)S * 3, "render sample positions");
  RALLOC(c->dt, S, "render sample steps");
  RALLOC(c->den, S, "render densities");
  RALLOC(c->rgb, (size_t)S * 4, "render colours");
  RALLOC(c->enc, (size_t)(S + 16) * (size_t)c->pd0, "render encodings");
  RALLOC(c->rgb_in, (size_t)(S + 16) * (size_t)c->prgb, "render colour inputs");
#undef RALLOC
  if (st != NGP_OK) {
    free_work(c);
    return st;
  }
  c->cap_rays = R;
  c->cap_samples = S;
  c->work_pd0 = c->pd0;
  c->work_prgb = c->prgb;
  return NGP_OK;
}

/* The buffers a render mode other than shade (aux), the normals (grad) or the crop box needs,
 * beside ensure_work's, for its cap_samples samples and cap_rays rays. The shaded view of the
 * viewer never allocates them. */
static ngp_status ensure_aux(ngp_cuda_renderer *c, bool need_pos, bool need_acc, bool need_grad, ngp_error *err) {
  const size_t S = c->cap_samples, R = c->cap_rays;
  ngp_status st = NGP_OK;
#define AALLOC(ptr, count, what)                                                                                       \
  if (st == NGP_OK && !(ptr)) {                                                                                        \
    void *p_ = NULL;                                                                                                   \
    st = ngp_cuda_alloc(&p_, (size_t)(count) * sizeof *(ptr), what, err);                                              \
    (ptr) = (decltype(ptr))p_;                                                                                         \
  }
  if (need_pos) AALLOC(c->pos, S * 3, "render sample positions (ngp units)");
  if (need_acc) AALLOC(c->acc, R, "render mode sums");
  if (need_grad) {
    AALLOC(c->gx, S * 3, "normals' probe positions");
    AALLOC(c->gminus, S, "normals' probe densities");
    AALLOC(c->gden, S, "normals' probe densities");
    AALLOC(c->grad, S * 3, "normals' density gradients");
  }
#undef AALLOC
  return st;
}

/* Per pixel p in [p0, p0 + n): the camera ray through its centre, the jittered start (nerf.c
 * render_tile's hash of the seed, pixel and sample index) moved to the near distance when that is
 * farther, the modes' sums zeroed (acc may be NULL), and the live list of rays that meet the box
 * (appended with atomics; the order does not change any pixel). */
__global__ void render_init_kernel(uint32_t p0, uint32_t n, int width, int height, const float *xf_in, const float *fp,
                                   ngp_cuda_march mp, int lens_mode, float4 lens_params, uint64_t seed,
                                   int sample_index, float near_distance, float *origin, float *dir, float *t_cur,
                                   float *t_exit, float *T, float *col, ngp_render_acc *acc, uint32_t *marched,
                                   uint8_t *march_done, uint32_t *live, uint32_t *d_n_live) {
  const uint32_t r = ngp_thread_index();
  if (r >= n) return;
  const uint32_t p = p0 + r;
  const int px = (int)(p % (uint32_t)width), py = (int)(p / (uint32_t)width);
  const float u = ((float)px + 0.5f) / (float)width, v = ((float)py + 0.5f) / (float)height;
  float xf[12];
  for (int k = 0; k < 12; k++)
    xf[k] = xf_in[k];
  const float focal[2] = {fp[0], fp[1]}, principal[2] = {fp[2], fp[3]};
  const float lp[4] = {lens_params.x, lens_params.y, lens_params.z, lens_params.w};
  float o[3], d[3];
  ngp_camera_ray_at(xf, focal, principal, lens_mode, lp, width, height, u, v, o, d);
  const uint64_t h = ngp_mix64(seed ^ ngp_mix64((uint64_t)p * 0x9e3779b97f4a7c15ull + (uint64_t)sample_index));
  const float jitter = (float)(h >> 40) / 16777216.0f;
  float ts, te;
  const int hit = ngp_march_begin(mp.aabb_min, mp.aabb_max, mp.cone_angle, o, d, jitter, &ts, &te);
  for (int k = 0; k < 3; k++) {
    origin[r * 3 + k] = o[k];
    dir[r * 3 + k] = d[k];
    col[r * 3 + k] = 0.0f;
  }
  t_cur[r] = hit ? ngp_render_start(ts, near_distance) : INFINITY;
  if (acc) ngp_render_acc_init(&acc[r]);
  t_exit[r] = hit ? te : -1.0f;
  T[r] = 1.0f;
  marched[r] = 0;
  march_done[r] = hit ? 0 : 1;
  if (hit) live[atomicAdd(d_n_live, 1u)] = r;
}

/* Pixels whose ray never met the box (march_done right after init): col 0 and T 1, so the
 * background, clamped, as the CPU renderer gives them. The others are written when they finish. */
__global__ void render_background_kernel(uint32_t n, const uint8_t *march_done, const float *bg, float *out) {
  const uint32_t r = ngp_thread_index();
  if (r >= n || !march_done[r]) return;
  float *o = out + (size_t)r * 3;
  for (int k = 0; k < 3; k++)
    o[k] += fminf(fmaxf(bg[k], 0.0f), 1.0f);
}

/* The crop box: raw_density [S] set to -inf (nothing there) where pos [S][3] lies outside. */
struct crop_box {
  float min[3], max[3];
};
__global__ void render_crop_kernel(uint32_t S, const float *pos, crop_box box, float *raw_density) {
  const uint32_t i = ngp_thread_index();
  if (i < S) raw_density[i] = ngp_render_crop_density(1, box.min, box.max, pos + (size_t)i * 3, raw_density[i]);
}

/* Normals, probe (a, sign) of the central differences: the hash grid's inputs gx [S][3] at the
 * positions pos [S][3] shifted by sign * h along axis a. */
__global__ void render_grad_probe_kernel(uint32_t S, const float *pos, int a, int sign, float h, ngp_cuda_march mp,
                                         float *gx) {
  const uint32_t i = ngp_thread_index();
  if (i >= S) return;
  float q[3];
  ngp_render_grad_probe(pos + (size_t)i * 3, a, sign, h, q);
  ngp_warp_position(q, mp.aabb_min, mp.aabb_max, gx + (size_t)i * 3);
}

/* The probe's raw densities gden [S]: kept in gminus for sign -1, the gradient's component a into
 * grad [S][3] for sign +1. */
__global__ void render_grad_collect_kernel(uint32_t S, int a, int sign, float h, const float *gden, float *gminus,
                                           float *grad) {
  const uint32_t i = ngp_thread_index();
  if (i >= S) return;
  if (sign < 0)
    gminus[i] = gden[i];
  else
    grad[(size_t)i * 3 + a] = ngp_render_grad_component(gminus[i], gden[i], h);
}

__global__ void render_scale_kernel(float *out, size_t n, float s) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] *= s;
}

ngp_status ngp_cuda_renderer_render(ngp_cuda_renderer *c, const float *xform, const float focal[2],
                                    const float principal[2], const ngp_lens *lens, const ngp_render_opts *o,
                                    uint64_t pixel_begin, uint64_t pixel_end, bool (*keep_going)(void *), void *user,
                                    uint64_t *next, float *rgb, ngp_error *err) {
  const ngp_nerf *n = c->n;
  ngp_status st;
  if (o->width < 1 || o->height < 1)
    return ngp_error_set(err, NGP_ERR_INVALID, "render: image size %dx%d", o->width, o->height);
  const uint64_t n_all = (uint64_t)o->width * (uint64_t)o->height;
  if (pixel_end > n_all) pixel_end = n_all;
  *next = pixel_begin;
  if (pixel_end <= pixel_begin) return NGP_OK;
  const uint64_t n_pix = pixel_end - pixel_begin;
  if ((st = ensure_work(c, (uint32_t)(n_pix < (1u << 22) ? n_pix : (1u << 22)), err)) != NGP_OK) return st;
  /* Modes other than shade composite sample by sample into the ray's sums (ngp_render_math.h),
   * with positions in ngp units; normals add six density evaluations per sample. */
  const int mode = (int)o->mode;
  const bool aux = mode != NGP_RMODE_SHADE, normals = mode == NGP_RMODE_NORMALS;
  if ((st = ensure_aux(c, aux || o->crop, aux, normals, err)) != NGP_OK) return st;
  crop_box box;
  for (int k = 0; k < 3; k++) {
    box.min[k] = o->crop_min[k];
    box.max[k] = o->crop_max[k];
  }
  const float grad_h = ngp_render_grad_step(c->mp.aabb_min, c->mp.aabb_max);
  const float near_distance = o->near_distance;
  const uint32_t wave = n_pix < c->cap_rays ? (uint32_t)n_pix : c->cap_rays; /* rays in flight at most */
  cudaStream_t s = c->stream;
  float cam[16];
  memcpy(cam, xform, 12 * sizeof(float));
  cam[12] = focal[0];
  cam[13] = focal[1];
  cam[14] = principal[0];
  cam[15] = principal[1];
  NGP_CUDA_TRY(cudaMemcpyAsync(c->cam, cam, sizeof cam, cudaMemcpyHostToDevice, s), err);
  NGP_CUDA_TRY(cudaMemcpyAsync(c->bg, o->bg, 3 * sizeof(float), cudaMemcpyHostToDevice, s), err);
  const int lens_mode = lens ? (int)lens->mode : NGP_LENS_PINHOLE;
  const float4 lp = lens ? make_float4(lens->params[0], lens->params[1], lens->params[2], lens->params[3])
                         : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  const int spp = o->spp > 0 ? o->spp : 1;
  for (uint64_t p0 = pixel_begin; p0 < pixel_end; p0 += wave) {
    /* Each wave asks first (the first always goes, so every call makes progress). */
    if (p0 > pixel_begin && keep_going && !keep_going(user)) break;
    const uint32_t nw = (uint32_t)(pixel_end - p0 < wave ? pixel_end - p0 : wave);
    NGP_CUDA_TRY(cudaMemsetAsync(c->out, 0, (size_t)nw * 3 * sizeof(float), s), err);
    for (int sidx = 0; sidx < spp; sidx++) {
      NGP_CUDA_TRY(cudaMemsetAsync(c->counts, 0, 2 * sizeof(uint32_t), s), err);
      render_init_kernel<<<ngp_cuda_blocks(nw, 128), 128, 0, s>>>(
          (uint32_t)p0, nw, o->width, o->height, c->cam, c->cam + 12, c->mp, lens_mode, lp, o->seed, sidx,
          near_distance, c->origin, c->dir, c->t_cur, c->t_exit, c->T, c->col, aux ? c->acc : NULL, c->marched,
          c->march_done, c->live[0], &c->counts[0]);
      /* A ray that misses the box shows the background when shaded, 0 in the other modes. */
      if (!aux) render_background_kernel<<<ngp_cuda_blocks(nw, 256), 256, 0, s>>>(nw, c->march_done, c->bg, c->out);
      NGP_CUDA_CHECK_LAUNCH(err);
      NGP_CUDA_TRY(cudaMemcpyAsync(c->h_counts, c->counts, sizeof(uint32_t), cudaMemcpyDeviceToHost, s), err);
      NGP_CUDA_TRY(cudaStreamSynchronize(s), err);
      uint32_t n_live = c->h_counts[0];
      int cur = 0;
      for (int round = 0; n_live > 0 && round < 100000; round++) {
        uint32_t m = c->cap_samples / n_live;
        m = m < 1u ? 1u : (m > (uint32_t)SEG_MAX ? (uint32_t)SEG_MAX : m);
        const uint32_t S = n_live * m;
        uint32_t *d_live = &c->counts[cur], *d_next = &c->counts[1 - cur];
        NGP_CUDA_TRY(cudaMemsetAsync(d_next, 0, sizeof(uint32_t), s), err);
        ngp_march_segment_cuda(&c->mp, d_live, n_live, c->live[cur], c->origin, c->dir, c->t_cur, c->t_exit, c->marched,
                               c->march_done, (int)m, NGP_MAX_SAMPLES_PER_RAY, c->x, (aux || o->crop) ? c->pos : NULL,
                               c->dt, c->seg_count, s);
        ngp_hashgrid_forward_cuda(&c->grid, c->params + n->off_grid, c->grid16, NULL, S, c->x, c->enc, c->pd0, NULL, 0,
                                  s);
        ngp_mlp_forward_cuda(&c->dmlp, c->w16, NULL, S, c->enc, c->pd0, NULL, 0, c->den, 1, 1, c->rgb_in, c->prgb,
                             c->nd, s);
        ngp_sh_forward_cuda(c->sh_degree, NULL, S, c->dir, c->live[cur], m, c->rgb_in, c->prgb, c->nd, c->prgb, NULL,
                            s);
        ngp_mlp_forward_cuda(&c->rmlp, c->w16 + c->n_half_d, NULL, S, c->rgb_in, c->prgb, NULL, 0, c->rgb, 4, 3, NULL,
                             0, 0, s);
        if (o->crop) render_crop_kernel<<<ngp_cuda_blocks(S, 256), 256, 0, s>>>(S, c->pos, box, c->den);
        /* Normals: the raw density's gradient by central differences, each probe through the hash
         * grid and the density network as the samples went (the encoding buffer is free again). */
        for (int a = 0; normals && a < 3; a++)
          for (int sign = -1; sign <= 1; sign += 2) {
            render_grad_probe_kernel<<<ngp_cuda_blocks(S, 256), 256, 0, s>>>(S, c->pos, a, sign, grad_h, c->mp, c->gx);
            ngp_hashgrid_forward_cuda(&c->grid, c->params + n->off_grid, c->grid16, NULL, S, c->gx, c->enc, c->pd0,
                                      NULL, 0, s);
            ngp_mlp_forward_cuda(&c->dmlp, c->w16, NULL, S, c->enc, c->pd0, NULL, 0, c->gden, 1, 1, NULL, 0, 0, s);
            render_grad_collect_kernel<<<ngp_cuda_blocks(S, 256), 256, 0, s>>>(S, a, sign, grad_h, c->gden, c->gminus,
                                                                               c->grad);
          }
        if (aux)
          ngp_composite_segment_aux_cuda(d_live, n_live, c->live[cur], (int)m, c->seg_count, c->rgb, c->den, c->dt,
                                         c->pos, normals ? c->grad : NULL, c->origin, c->marched, c->march_done, mode,
                                         c->T, c->acc, o->min_transmittance, c->out, 0, c->live[1 - cur], d_next, s);
        else
          ngp_composite_segment_cuda(d_live, n_live, c->live[cur], (int)m, c->seg_count, c->rgb, c->den, c->dt,
                                     c->march_done, c->T, c->col, o->min_transmittance, c->bg, c->out, 0,
                                     c->live[1 - cur], d_next, s);
        NGP_CUDA_CHECK_LAUNCH(err);
        NGP_CUDA_TRY(cudaMemcpyAsync(c->h_counts, d_next, sizeof(uint32_t), cudaMemcpyDeviceToHost, s), err);
        NGP_CUDA_TRY(cudaStreamSynchronize(s), err);
        n_live = c->h_counts[0];
        cur = 1 - cur;
      }
    }
    if (spp > 1)
      render_scale_kernel<<<ngp_cuda_blocks((size_t)nw * 3, 256), 256, 0, s>>>(c->out, (size_t)nw * 3,
                                                                               1.0f / (float)spp);
    NGP_CUDA_CHECK_LAUNCH(err);
    /* rgb: host memory, or a device image (the viewer's, shown through CUDA-GL interop) */
    NGP_CUDA_TRY(cudaMemcpyAsync(rgb + p0 * 3, c->out, (size_t)nw * 3 * sizeof(float), cudaMemcpyDefault, s), err);
    *next = p0 + nw;
  }
  NGP_CUDA_TRY(cudaStreamSynchronize(s), err);
  return NGP_OK;
}
