/* nerf.c: the NeRF model: parameter layout and initialisation, network evaluation for inference
 * (density queries for the occupancy grid, rendering), and rendering of a camera view. */
#include "nerf/nerf.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "nerf/march.h"
#include "common/ngp_march_math.h" /* ngp_composite_ray_forward */
#include "common/ngp_math.h"
#include "core/parallel.h"

/* The number of parameters a config gives at an aabb_scale, computed without allocating: the
 * layout of ngp_nerf_init ([density MLP | colour MLP | hash grid], the colour MLP reading the
 * density outputs and the SH values, with 16 outputs). It lets a snapshot whose header claims an
 * enormous network be refused before anything is allocated for it; after ngp_nerf_init the count
 * is compared again, so a drift between the two could only refuse a file, never misread one. */
ngp_status ngp_nerf_count_params(const ngp_config *cfg, int aabb_scale, size_t *n, ngp_error *err) {
  ngp_hashgrid g;
  ngp_mlp density, rgb;
  ngp_status st = ngp_hashgrid_init(&g, &cfg->encoding, aabb_scale, err);
  if (st != NGP_OK) return st;
  if ((st = ngp_mlp_init(&density, g.n_levels * g.n_features, cfg->network.n_neurons, cfg->network.n_hidden_layers,
                         cfg->n_density_outputs, cfg->network.activation, cfg->network.output_activation, err)) !=
      NGP_OK)
    return st;
  if ((st = ngp_mlp_init(&rgb, cfg->n_density_outputs + cfg->sh_degree * cfg->sh_degree, cfg->rgb_network.n_neurons,
                         cfg->rgb_network.n_hidden_layers, 16, cfg->rgb_network.activation,
                         cfg->rgb_network.output_activation, err)) != NGP_OK)
    return st;
  *n = density.n_params + rgb.n_params + g.n_params;
  return NGP_OK;
}

ngp_status ngp_nerf_init(ngp_nerf *n, const ngp_config *cfg, int aabb_scale, uint64_t seed, int n_threads,
                         ngp_error *err) {
  memset(n, 0, sizeof *n);
  n->cfg = *cfg;
  n->n_threads = n_threads > 0 ? n_threads : ngp_cpu_count();
  n->aabb_scale = aabb_scale;
  for (int i = 0; i < 3; i++) {
    n->aabb_min[i] = 0.5f - 0.5f * (float)aabb_scale;
    n->aabb_max[i] = 0.5f + 0.5f * (float)aabb_scale;
  }
  n->cone_angle = ngp_cone_angle(aabb_scale);
  ngp_status st = ngp_hashgrid_init(&n->grid, &cfg->encoding, aabb_scale, err);
  if (st != NGP_OK) return st;
  n->enc_dims = n->grid.n_levels * n->grid.n_features;
  n->sh_dims = cfg->sh_degree * cfg->sh_degree;
  if ((st = ngp_mlp_init(&n->density_mlp, n->enc_dims, cfg->network.n_neurons, cfg->network.n_hidden_layers,
                         cfg->n_density_outputs, cfg->network.activation, cfg->network.output_activation, err)) !=
      NGP_OK)
    return st;
  /* The colour MLP's input is padded to a multiple of 16 (tcnn's alignment) and its output to 16. */
  int rgb_in = n->cfg.n_density_outputs + n->sh_dims;
  if ((st = ngp_mlp_init(&n->rgb_mlp, rgb_in, cfg->rgb_network.n_neurons, cfg->rgb_network.n_hidden_layers, 16,
                         cfg->rgb_network.activation, cfg->rgb_network.output_activation, err)) != NGP_OK)
    return st;
  n->off_density = 0;
  n->off_rgb = n->density_mlp.n_params;
  n->off_grid = n->off_rgb + n->rgb_mlp.n_params;
  n->n_matrix = n->off_grid;
  n->n_params = n->off_grid + n->grid.n_params;
  n->params = malloc(n->n_params * sizeof *n->params);
  n->inference = malloc(n->n_params * sizeof *n->inference);
  if (!n->params || !n->inference) {
    ngp_nerf_free(n);
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %zu parameters (%.0f MiB)", n->n_params,
                         (double)n->n_params * 8.0 / 1048576.0);
  }
  ngp_mlp_init_params(&n->density_mlp, n->params + n->off_density, seed * 3 + 1);
  ngp_mlp_init_params(&n->rgb_mlp, n->params + n->off_rgb, seed * 3 + 2);
  ngp_hashgrid_init_params(&n->grid, n->params + n->off_grid, seed * 3 + 3);
  memcpy(n->inference, n->params, n->n_params * sizeof *n->params);
  if ((st = ngp_occupancy_init(&n->occ, ngp_ilog2(aabb_scale) + 1, err)) != NGP_OK) {
    ngp_nerf_free(n);
    return st;
  }
  return NGP_OK;
}

void ngp_nerf_free(ngp_nerf *n) {
  free(n->params);
  free(n->inference);
  ngp_occupancy_free(&n->occ);
  memset(n, 0, sizeof *n);
}

/* Scratch for evaluating the networks on up to `cap` samples (single thread). */
typedef struct {
  int cap;
  float *x, *enc, *dens, *sh, *rgb_in, *rgb_out;
} eval_scratch;

static bool scratch_alloc(eval_scratch *s, const ngp_nerf *n, int cap) {
  s->cap = cap;
  s->x = malloc((size_t)cap * 3 * sizeof(float));
  s->enc = malloc((size_t)cap * (size_t)n->enc_dims * sizeof(float));
  s->dens = malloc((size_t)cap * (size_t)n->density_mlp.n_out * sizeof(float));
  s->sh = malloc((size_t)cap * (size_t)(n->sh_dims > 0 ? n->sh_dims : 1) * sizeof(float));
  s->rgb_in = malloc((size_t)cap * (size_t)n->rgb_mlp.n_in * sizeof(float));
  s->rgb_out = malloc((size_t)cap * (size_t)n->rgb_mlp.n_out * sizeof(float));
  return s->x && s->enc && s->dens && s->sh && s->rgb_in && s->rgb_out;
}

static void scratch_free(eval_scratch *s) {
  free(s->x);
  free(s->enc);
  free(s->dens);
  free(s->sh);
  free(s->rgb_in);
  free(s->rgb_out);
}

void ngp_nerf_warp_positions(const ngp_nerf *n, int S, const float *pos, float *x) {
  for (int s = 0; s < S; s++)
    for (int i = 0; i < 3; i++)
      x[s * 3 + i] = (pos[s * 3 + i] - n->aabb_min[i]) / (n->aabb_max[i] - n->aabb_min[i]);
}

/* Density MLP on S positions: fills s->dens [S][n_density_outputs]. */
static void eval_density(const ngp_nerf *n, const float *w, int S, const float *pos, eval_scratch *s) {
  ngp_nerf_warp_positions(n, S, pos, s->x);
  ngp_hashgrid_forward(&n->grid, w + n->off_grid, S, s->x, s->enc, 1);
  ngp_mlp_forward(&n->density_mlp, w + n->off_density, S, s->enc, s->dens, NULL, 1);
}

/* eval_density as renders run it: the hash table from its fp16 copy grid16. */
static void eval_density16(const ngp_nerf *n, const float *w, const uint16_t *grid16, int S, const float *pos,
                           eval_scratch *s) {
  ngp_nerf_warp_positions(n, S, pos, s->x);
  ngp_hashgrid_forward_f16(&n->grid, grid16, S, s->x, s->enc, 1);
  ngp_mlp_forward(&n->density_mlp, w + n->off_density, S, s->enc, s->dens, NULL, 1);
}

/* The colour MLP on `cnt` of the samples whose density eval_density left in s->dens: those
 * numbered rows[0..cnt) (all S in order when rows is NULL), with directions dir [S][3]; raw rgb
 * into raw_rgb [S][3] at those samples only. Each sample's value does not depend on which others
 * are evaluated with it. */
static void eval_color_rows(const ngp_nerf *n, const float *w, int cnt, const int *rows, const float *dir,
                            float *raw_rgb, eval_scratch *s) {
  int nd = n->density_mlp.n_out, ni = n->rgb_mlp.n_in, no = n->rgb_mlp.n_out;
  if (rows) /* the directions of the chosen rows, in s->x (eval_density is done with it) */
    for (int i = 0; i < cnt; i++)
      memcpy(s->x + (size_t)i * 3, dir + (size_t)rows[i] * 3, 3 * sizeof(float));
  ngp_sh_forward(n->cfg.sh_degree, cnt, rows ? s->x : dir, s->sh);
  for (int i = 0; i < cnt; i++) {
    int r = rows ? rows[i] : i;
    float *in = s->rgb_in + (size_t)i * ni;
    memcpy(in, s->dens + (size_t)r * nd, (size_t)nd * sizeof(float));
    memcpy(in + nd, s->sh + (size_t)i * n->sh_dims, (size_t)n->sh_dims * sizeof(float));
    for (int k = nd + n->sh_dims; k < ni; k++)
      in[k] = 1.0f; /* tcnn pads SH-side inputs with 1 */
  }
  ngp_mlp_forward(&n->rgb_mlp, w + n->off_rgb, cnt, s->rgb_in, s->rgb_out, NULL, 1);
  for (int i = 0; i < cnt; i++) {
    int r = rows ? rows[i] : i;
    for (int c = 0; c < 3; c++)
      raw_rgb[(size_t)r * 3 + c] = s->rgb_out[(size_t)i * no + c];
  }
}

/* Full network on S samples: raw rgb [S][3] and raw density [S]. */
static void eval_network(const ngp_nerf *n, const float *w, int S, const float *pos, const float *dir, float *raw_rgb,
                         float *raw_density, eval_scratch *s) {
  eval_density(n, w, S, pos, s);
  int nd = n->density_mlp.n_out;
  for (int i = 0; i < S; i++)
    raw_density[i] = s->dens[(size_t)i * nd];
  eval_color_rows(n, w, S, NULL, dir, raw_rgb, s);
}

typedef struct {
  const ngp_nerf *n;
  const float *w;
  int S;
  const float *pos;
  float *out;
  atomic_int failed; /* a chunk's scratch could not be allocated */
} density_job;

enum { DENSITY_CHUNK = 4096 };

static void density_chunk(int i, int thread, void *user) {
  (void)thread;
  density_job *j = user;
  int s0 = i * DENSITY_CHUNK, cnt = j->S - s0 < DENSITY_CHUNK ? j->S - s0 : DENSITY_CHUNK;
  eval_scratch s;
  if (!scratch_alloc(&s, j->n, cnt)) {
    scratch_free(&s);
    atomic_store(&j->failed, 1);
    return;
  }
  eval_density(j->n, j->w, cnt, j->pos + (size_t)s0 * 3, &s);
  for (int k = 0; k < cnt; k++)
    j->out[s0 + k] = s.dens[(size_t)k * j->n->density_mlp.n_out];
  scratch_free(&s);
}

ngp_status ngp_nerf_density(const ngp_nerf *n, const float *weights, int S, const float *pos, float *raw_density,
                            ngp_error *err) {
  density_job j = {n, weights, S, pos, raw_density, 0};
  ngp_parallel_for((S + DENSITY_CHUNK - 1) / DENSITY_CHUNK, n->n_threads, density_chunk, &j);
  if (atomic_load(&j.failed))
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for density queries (%d positions)", S);
  return NGP_OK;
}

typedef struct {
  const ngp_nerf *n;
  const float *w;
  int S;
  const float *pos, *dir;
  float *rgb;
  atomic_int failed;
} color_job;

static void color_chunk(int i, int thread, void *user) {
  (void)thread;
  color_job *j = user;
  int s0 = i * DENSITY_CHUNK, cnt = j->S - s0 < DENSITY_CHUNK ? j->S - s0 : DENSITY_CHUNK;
  eval_scratch s;
  float *raw_rgb = malloc((size_t)cnt * 3 * sizeof(float)), *raw_density = malloc((size_t)cnt * sizeof(float));
  if (!scratch_alloc(&s, j->n, cnt) || !raw_rgb || !raw_density) {
    atomic_store(&j->failed, 1);
  } else {
    eval_network(j->n, j->w, cnt, j->pos + (size_t)s0 * 3, j->dir + (size_t)s0 * 3, raw_rgb, raw_density, &s);
    for (int k = 0; k < cnt * 3; k++)
      j->rgb[(size_t)s0 * 3 + (size_t)k] = ngp_sigmoid(raw_rgb[k]); /* as ngp_composite_step */
  }
  scratch_free(&s);
  free(raw_rgb);
  free(raw_density);
}

ngp_status ngp_nerf_color(const ngp_nerf *n, const float *weights, int S, const float *pos, const float *dir,
                          float *rgb, ngp_error *err) {
  color_job j = {n, weights, S, pos, dir, rgb, 0};
  ngp_parallel_for((S + DENSITY_CHUNK - 1) / DENSITY_CHUNK, n->n_threads, color_chunk, &j);
  if (atomic_load(&j.failed))
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for colour queries (%d positions)", S);
  return NGP_OK;
}

/* ---- Rendering --------------------------------------------------------------------------------- */

/* Rays are rendered in tiles; each round marches every live ray of the tile for up to CHUNK more
 * samples (resumable marching) and evaluates the network on them, so samples behind an opaque
 * surface are neither marched nor evaluated. Short rounds waste little past a ray's end (with 16,
 * 27% of the samples a lego view marched were past it) and keep a round's buffers in cache: 4
 * measured fastest on the lego and the fox alike, 2 to 6 about the same. */
enum { TILE_SIDE = 16, CHUNK = 4 };

typedef struct {
  const ngp_nerf *n;
  const float *w;
  const float *xform;
  const float *focal, *principal;
  const ngp_lens *lens;
  const ngp_render_opts *o;
  float *rgb;
  float *alpha; /* [H][W] accumulated opacity, added as rgb is; NULL: not wanted */
  int sample_index;
  atomic_int *failed;     /* set when a tile's buffers could not be allocated */
  const uint8_t *blocks;  /* the grid's block summaries (ngp_occupancy_blocks), made once per call */
  const uint16_t *grid16; /* the hash table in fp16 (o->grid16, or the call's own) */
} render_job;

/* The block summaries every render call makes before it marches (4 KB at most). */
typedef struct {
  uint8_t b[NGP_MAX_CASCADES * NGP_GRID_BLOCK_BYTES];
} render_blocks;

typedef struct {
  float origin[3], dir[3];
  float t, t_exit, T, col[3];
  ngp_render_acc acc; /* modes other than shade (common/ngp_render_math.h) */
  int marched;
  bool live;
} ray_state;

/* Normals: raw-density gradients at S positions by central differences of step h (ngp units,
 * ngp_render_math.h's rule), into grad [S][3]; tmp [S][3] and minus [S] scratch. */
static void density_gradient(const ngp_nerf *n, const float *w, const uint16_t *grid16, int S, const float *pos,
                             float h, float *tmp, float *minus, float *grad, eval_scratch *s) {
  int nd = n->density_mlp.n_out;
  for (int a = 0; a < 3; a++)
    for (int sign = -1; sign <= 1; sign += 2) {
      for (int i = 0; i < S; i++)
        ngp_render_grad_probe(pos + (size_t)i * 3, a, sign, h, tmp + (size_t)i * 3);
      eval_density16(n, w, grid16, S, tmp, s);
      for (int i = 0; i < S; i++) {
        float raw = s->dens[(size_t)i * nd];
        if (sign < 0)
          minus[i] = raw;
        else
          grad[i * 3 + a] = ngp_render_grad_component(minus[i], raw, h);
      }
    }
}

/* The pixel of ray r of a group of rays: rows of tw pixels from pixel p0 on, one image row apart
 * (a range of consecutive pixels is one row of tw = its length). */
static inline int ray_pixel(const render_job *j, int p0, int tw, int r) { return p0 + (r / tw) * j->o->width + r % tw; }

/* Renders cnt pixels for sample j->sample_index, rows of tw from p0 on (ray_pixel), adding each
 * clamped colour to j->rgb. Returns false (nothing added) when its buffers cannot be allocated. */
static bool render_rays(const render_job *j, int p0, int tw, int cnt) {
  const ngp_nerf *n = j->n;
  const ngp_render_opts *o = j->o;
  int batch_cap = cnt * CHUNK;
  ray_state *rs = malloc((size_t)cnt * sizeof *rs);
  float *bpos = malloc((size_t)batch_cap * 3 * sizeof(float));
  float *bdir = malloc((size_t)batch_cap * 3 * sizeof(float));
  float *brgb = malloc((size_t)batch_cap * 3 * sizeof(float));
  float *bden = malloc((size_t)batch_cap * sizeof(float));
  float *bdt = malloc((size_t)batch_cap * sizeof(float));
  int *bray = malloc((size_t)cnt * sizeof(int)), *boff = malloc((size_t)cnt * sizeof(int)),
      *blen = malloc((size_t)cnt * sizeof(int)), *brow = malloc((size_t)batch_cap * sizeof(int));
  int nd = n->density_mlp.n_out;
  bool normals = o->mode == NGP_RENDER_NORMALS;
  float *bgrad = normals ? malloc((size_t)batch_cap * 3 * sizeof(float)) : NULL;
  float *btmp = normals ? malloc((size_t)batch_cap * 3 * sizeof(float)) : NULL;
  float *bminus = normals ? malloc((size_t)batch_cap * sizeof(float)) : NULL;
  float grad_h = ngp_render_grad_step(n->aabb_min, n->aabb_max);
  eval_scratch s;
  bool ok = scratch_alloc(&s, n, batch_cap) && rs && bpos && bdir && brgb && bden && bdt && bray && boff && blen &&
            brow && (!normals || (bgrad && btmp && bminus));
  if (!ok) goto done; /* nothing added to rgb */
  for (int r = 0; r < cnt; r++) {
    ray_state *q = &rs[r];
    int p = ray_pixel(j, p0, tw, r), px = p % o->width, py = p / o->width;
    float u = ((float)px + 0.5f) / (float)o->width, v = ((float)py + 0.5f) / (float)o->height;
    ngp_camera_ray(j->xform, j->focal, j->principal, j->lens, o->width, o->height, u, v, q->origin, q->dir);
    uint64_t h = ngp_mix64(o->seed ^ ngp_mix64((uint64_t)p * 0x9e3779b97f4a7c15ull + (uint64_t)j->sample_index));
    float jitter = (float)(h >> 40) / 16777216.0f;
    q->live = ngp_march_start(n->aabb_min, n->aabb_max, n->cone_angle, q->origin, q->dir, jitter, &q->t, &q->t_exit);
    /* A near distance past the jittered start moves the start there. */
    q->t = ngp_render_start(q->t, o->near_distance);
    q->T = 1.0f;
    q->col[0] = q->col[1] = q->col[2] = 0.0f;
    ngp_render_acc_init(&q->acc);
    q->marched = 0;
  }
  const float zero[3] = {0.0f, 0.0f, 0.0f};
  for (;;) {
    int nb = 0, S = 0;
    for (int r = 0; r < cnt; r++) {
      ray_state *q = &rs[r];
      if (!q->live) continue;
      int want = NGP_MAX_SAMPLES_PER_RAY - q->marched < CHUNK ? NGP_MAX_SAMPLES_PER_RAY - q->marched : CHUNK;
      int len = ngp_march_segment(&n->occ, j->blocks, n->aabb_min, n->aabb_max, n->cone_angle, q->origin, q->dir, &q->t,
                                  q->t_exit, want, bpos + (size_t)S * 3, bdt + S, NULL);
      q->marched += len;
      if (len < want || q->marched >= NGP_MAX_SAMPLES_PER_RAY) q->live = false; /* left the box or used up */
      if (len == 0) continue;
      bray[nb] = r;
      boff[nb] = S;
      blen[nb] = len;
      nb++;
      for (int k = 0; k < len; k++)
        memcpy(bdir + (size_t)(S + k) * 3, q->dir, 3 * sizeof(float));
      S += len;
    }
    if (nb == 0) break;
    eval_density16(n, j->w, j->grid16, S, bpos, &s);
    for (int i = 0; i < S; i++)
      bden[i] = s.dens[(size_t)i * nd];
    if (o->crop) /* outside the crop box: no density */
      for (int i = 0; i < S; i++)
        bden[i] = ngp_render_crop_density(1, o->crop_min, o->crop_max, bpos + (size_t)i * 3, bden[i]);
    if (o->mode == NGP_RENDER_SHADE) {
      /* Colours only where compositing reads them: a segment is composited until its own
       * transmittance falls below NGP_MIN_TRANSMITTANCE, which the densities alone decide (the
       * other modes read none). */
      int nc = 0;
      for (int b = 0; b < nb; b++) {
        float unused[3];
        int used = ngp_composite_ray_forward(blen[b], zero, 0, bden + boff[b], bdt + boff[b], zero, unused, NULL);
        for (int k = 0; k < used; k++)
          brow[nc++] = boff[b] + k;
      }
      eval_color_rows(n, j->w, nc, brow, bdir, brgb, &s);
    }
    if (normals) density_gradient(n, j->w, j->grid16, S, bpos, grad_h, btmp, bminus, bgrad, &s);
    for (int b = 0; b < nb; b++) {
      ray_state *q = &rs[bray[b]];
      if (o->mode != NGP_RENDER_SHADE) {
        /* Sample by sample: the weights are needed, not only the segment's colour. */
        for (int k = 0; k < blen[b]; k++) {
          int i = boff[b] + k;
          float w = 0.0f;
          q->T = ngp_composite_step(q->T, zero, bden[i], bdt[i], q->col, &w); /* colour unused */
          ngp_render_acc_add(&q->acc, (int)o->mode, w, bpos + (size_t)i * 3, q->origin,
                             normals ? bgrad + (size_t)i * 3 : NULL);
        }
        if (q->T < o->min_transmittance) q->live = false;
        continue;
      }
      float c[3], t_chunk = 1.0f;
      /* This segment composited on its own (no background), then attenuated by the light already
       * absorbed in front of it: C += T * C_seg, T *= T_seg. */
      ngp_composite_forward(blen[b], brgb + (size_t)boff[b] * 3, bden + boff[b], bdt + boff[b], zero, c, &t_chunk);
      for (int k = 0; k < 3; k++)
        q->col[k] += q->T * c[k];
      q->T *= t_chunk;
      if (q->T < o->min_transmittance) q->live = false;
    }
  }
  for (int r = 0; r < cnt; r++) {
    int p = ray_pixel(j, p0, tw, r);
    float *out = j->rgb + (size_t)p * 3;
    if (o->mode != NGP_RENDER_SHADE) {
      float v[3];
      ngp_render_aux_value(&rs[r].acc, rs[r].marched, (int)o->mode, v);
      for (int k = 0; k < 3; k++)
        out[k] += v[k];
      continue;
    }
    for (int k = 0; k < 3; k++) {
      float v = rs[r].col[k] + rs[r].T * o->bg[k];
      out[k] += v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    if (j->alpha) j->alpha[p] += 1.0f - rs[r].T; /* the opacity the background is seen through */
  }
done:
  free(bgrad);
  free(btmp);
  free(bminus);
  scratch_free(&s);
  free(rs);
  free(bpos);
  free(bdir);
  free(brgb);
  free(bden);
  free(bdt);
  free(bray);
  free(boff);
  free(blen);
  free(brow);
  return ok;
}

/* Square tiles of TILE_SIDE^2 pixels (cut at the image's edges): neighbouring rays read
 * neighbouring hash-grid entries, which a tile keeps in cache for longer than a run of a row. */
static void render_tile(int tile, int thread, void *user) {
  (void)thread;
  render_job *j = user;
  const int W = j->o->width, H = j->o->height, tiles_x = (W + TILE_SIDE - 1) / TILE_SIDE;
  const int x0 = (tile % tiles_x) * TILE_SIDE, y0 = (tile / tiles_x) * TILE_SIDE;
  const int tw = W - x0 < TILE_SIDE ? W - x0 : TILE_SIDE, th = H - y0 < TILE_SIDE ? H - y0 : TILE_SIDE;
  if (!render_rays(j, y0 * W + x0, tw, tw * th)) atomic_store(j->failed, 1);
}

static ngp_status render_oom(const ngp_render_opts *o, ngp_error *err) {
  return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory rendering a %dx%d image", o->width, o->height);
}

/* The fp16 hash table a render call reads: o->grid16, else one made from the weights into *own
 * (the caller frees it); NULL when it cannot be allocated. */
static const uint16_t *render_table(const ngp_nerf *n, const float *weights, const ngp_render_opts *o, uint16_t **own) {
  *own = NULL;
  if (o->grid16) return o->grid16;
  *own = malloc((n->grid.n_params ? n->grid.n_params : 1) * sizeof **own);
  if (*own) ngp_hashgrid_table_f16(&n->grid, weights + n->off_grid, *own, n->n_threads);
  return *own;
}

/* ngp_nerf_render with, when alpha is not NULL, the accumulated opacity into alpha [H][W]. */
static ngp_status render_image(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                               const float principal[2], const ngp_lens *lens, const ngp_render_opts *o, float *rgb,
                               float *alpha, ngp_error *err) {
  int n_pix = o->width * o->height;
  memset(rgb, 0, (size_t)n_pix * 3 * sizeof(float));
  if (alpha) memset(alpha, 0, (size_t)n_pix * sizeof(float));
  int spp = o->spp > 0 ? o->spp : 1;
  atomic_int failed = 0;
  render_blocks blocks;
  ngp_occupancy_blocks(&n->occ, blocks.b);
  uint16_t *own16 = NULL;
  const uint16_t *grid16 = render_table(n, weights, o, &own16);
  if (!grid16) return render_oom(o, err);
  for (int sidx = 0; sidx < spp; sidx++) {
    render_job j = {n, weights, xform, focal, principal, lens, o, rgb, alpha, sidx, &failed, blocks.b, grid16};
    int tiles = ((o->width + TILE_SIDE - 1) / TILE_SIDE) * ((o->height + TILE_SIDE - 1) / TILE_SIDE);
    ngp_parallel_for(tiles, n->n_threads, render_tile, &j);
  }
  free(own16);
  if (atomic_load(&failed)) return render_oom(o, err);
  if (spp > 1) {
    for (int i = 0; i < n_pix * 3; i++)
      rgb[i] /= (float)spp;
    if (alpha)
      for (int i = 0; i < n_pix; i++)
        alpha[i] /= (float)spp;
  }
  return NGP_OK;
}

ngp_status ngp_nerf_render(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                           const float principal[2], const ngp_lens *lens, const ngp_render_opts *o, float *rgb,
                           ngp_error *err) {
  return render_image(n, weights, xform, focal, principal, lens, o, rgb, NULL, err);
}

ngp_status ngp_nerf_render_alpha(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                                 const float principal[2], const ngp_lens *lens, const ngp_render_opts *o, float *rgb,
                                 float *alpha, ngp_error *err) {
  return render_image(n, weights, xform, focal, principal, lens, o, rgb, alpha, err);
}

/* Pixel ranges (progressive rendering in the viewer): the same rays, jitter and sample order as
 * ngp_nerf_render, so a range equals those pixels of the whole image (each ray is marched and
 * composited on its own; how rays are grouped into network batches does not change a value).
 * Tiles of REGION_TILE_RAYS pixels from pixel_begin on are handed out in order; each asks
 * keep_going first and is skipped when it says no. The tiles are smaller than ngp_nerf_render's
 * so that a time budget is kept closely: early in training, when the occupancy grid still
 * passes everything, a ray can take a thousand samples. A tile handed out early may ask later
 * than one handed out after it, so the rendered tiles need not be a prefix: the call returns the
 * end of the rendered prefix, and pixels past it are rendered again by the next call (same
 * values). */
enum { REGION_TILE_RAYS = 32 };

typedef struct {
  render_job job;
  int begin, end;
  ngp_render_continue_fn keep_going;
  void *user;
  unsigned char *done; /* [tiles]: one byte per tile, each written by one thread */
} region_job;

static void render_region_tile(int tile, int thread, void *user) {
  (void)thread;
  region_job *r = user;
  if (r->keep_going && !r->keep_going(r->user)) return;
  int p0 = r->begin + tile * REGION_TILE_RAYS, cnt = r->end - p0 < REGION_TILE_RAYS ? r->end - p0 : REGION_TILE_RAYS;
  float *out = r->job.rgb + (size_t)p0 * 3;
  memset(out, 0, (size_t)cnt * 3 * sizeof(float));
  int spp = r->job.o->spp > 0 ? r->job.o->spp : 1;
  render_job j = r->job;
  /* Samples in the order ngp_nerf_render adds them, then the same division: equal bits. */
  for (int sidx = 0; sidx < spp; sidx++) {
    j.sample_index = sidx;
    if (!render_rays(&j, p0, cnt, cnt)) {
      atomic_store(j.failed, 1);
      return;
    }
  }
  if (spp > 1)
    for (int i = 0; i < cnt * 3; i++)
      out[i] /= (float)spp;
  r->done[tile] = 1;
}

ngp_status ngp_nerf_render_pixels(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                                  const float principal[2], const ngp_lens *lens, const ngp_render_opts *o,
                                  int pixel_begin, int pixel_end, ngp_render_continue_fn keep_going, void *user,
                                  int *next, float *rgb, ngp_error *err) {
  int n_pix = o->width * o->height;
  if (pixel_begin < 0) pixel_begin = 0;
  if (pixel_end > n_pix) pixel_end = n_pix;
  *next = pixel_begin;
  if (pixel_end <= pixel_begin) return NGP_OK;
  int n_tiles = (pixel_end - pixel_begin + REGION_TILE_RAYS - 1) / REGION_TILE_RAYS;
  unsigned char *done = calloc((size_t)n_tiles, 1);
  if (!done) return render_oom(o, err);
  atomic_int failed = 0;
  render_blocks blocks;
  ngp_occupancy_blocks(&n->occ, blocks.b);
  uint16_t *own16 = NULL;
  const uint16_t *grid16 = render_table(n, weights, o, &own16);
  if (!grid16) {
    free(done);
    return render_oom(o, err);
  }
  region_job r = {{n, weights, xform, focal, principal, lens, o, rgb, NULL, 0, &failed, blocks.b, grid16},
                  pixel_begin,
                  pixel_end,
                  keep_going,
                  user,
                  done};
  ngp_parallel_for(n_tiles, n->n_threads, render_region_tile, &r);
  free(own16);
  int t = 0;
  while (t < n_tiles && done[t])
    t++;
  free(done);
  if (atomic_load(&failed)) return render_oom(o, err);
  int end = pixel_begin + t * REGION_TILE_RAYS;
  *next = end < pixel_end ? end : pixel_end;
  return NGP_OK;
}
