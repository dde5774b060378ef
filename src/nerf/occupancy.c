/* occupancy.c: the cascaded occupancy grid (NGP-SPEC §4), CPU reference. The grid holds per cell
 * an optical thickness sigma * MIN_STEP (a decayed running max over updates), -1 where no
 * training camera sees the cell; the bitfield (threshold min(0.01, mean of cascade 0), mip-pooled
 * upwards) is what the marcher reads. Shared formulas live in ngp_nerf_math.h. */
#include "nerf/occupancy.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_march_math.h"
#include "common/ngp_nerf_math.h"
#include "core/parallel.h"

_Static_assert(NGP_GRID_SIZE == NGP_GRID_SIZE, "occupancy.h and ngp_nerf_math.h disagree on the grid size");

#define NV (NGP_GRID_SIZE + 1) /* grid vertices per axis */
#define CHUNK 32768            /* cells per parallel work item in the whole-grid passes */

ngp_status ngp_occupancy_init(ngp_occupancy *g, int n_cascades, ngp_error *err) {
  memset(g, 0, sizeof *g);
  if (n_cascades < 1 || n_cascades > NGP_MAX_CASCADES)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "occupancy grid: %d cascades requested, expected 1..%d (aabb_scale must be 1..128)",
                         n_cascades, NGP_MAX_CASCADES);
  size_t cells = (size_t)n_cascades * NGP_GRID_CELLS;
  g->density = calloc(cells, sizeof *g->density);
  g->bitfield = malloc(cells / 8);
  g->tmp = malloc(cells * sizeof *g->tmp);
  g->batch_pos = malloc((size_t)NGP_OCCUPANCY_BATCH * 3 * sizeof(float));
  g->batch_raw = malloc((size_t)NGP_OCCUPANCY_BATCH * sizeof(float));
  g->batch_idx = malloc((size_t)NGP_OCCUPANCY_BATCH * sizeof(uint32_t));
  if (!g->density || !g->bitfield || !g->tmp || !g->batch_pos || !g->batch_raw || !g->batch_idx) {
    ngp_occupancy_free(g);
    return ngp_error_set(err, NGP_ERR_NOMEM,
                         "occupancy grid: cannot allocate %zu MiB for %d cascades; use a smaller aabb_scale",
                         cells * 9 / 8 * 4 / (1024 * 1024), n_cascades);
  }
  g->n_cascades = n_cascades;
  /* Before any camera or density is known, everything may be occupied. */
  memset(g->bitfield, 0xFF, cells / 8);
  g->n_occupied = NGP_GRID_CELLS;
  return NGP_OK;
}

void ngp_occupancy_free(ngp_occupancy *g) {
  free(g->density);
  free(g->bitfield);
  free(g->tmp);
  free(g->batch_pos);
  free(g->batch_raw);
  free(g->batch_idx);
  memset(g, 0, sizeof *g);
}

bool ngp_occupancy_update_due(int step) { return ngp_grid_update_due(step); }

void ngp_occupancy_blocks(const ngp_occupancy *g, uint8_t *blocks) {
  for (int c = 0; c < g->n_cascades; c++)
    for (uint32_t i = 0; i < NGP_GRID_BLOCK_BYTES; i++)
      blocks[(size_t)c * NGP_GRID_BLOCK_BYTES + i] =
          ngp_grid_block_byte(g->bitfield + (size_t)c * (NGP_GRID_CELLS / 8), i);
}

bool ngp_occupancy_occupied(const ngp_occupancy *g, const float *p, int cascade) {
  if (cascade < 0 || cascade >= g->n_cascades) return false;
  return ngp_grid_occupied_at(g->bitfield, p, cascade) != 0;
}

/* ---- Mean, bitfield and mip pooling ------------------------------------------------------------ */

typedef struct {
  ngp_occupancy *g;
  float thresh;
  double *partial; /* per chunk of cascade 0: sum of max(density, 0) */
  int level;       /* pooling: the level being written */
} bf_job;

static void mean_chunk(int c, int thread, void *user) {
  (void)thread;
  bf_job *j = user;
  const float *d = j->g->density + (size_t)c * CHUNK;
  double s = 0.0;
  for (int i = 0; i < CHUNK; i++)
    s += (double)fmaxf(d[i], 0.0f);
  j->partial[c] = s;
}

static void bitfield_chunk(int c, int thread, void *user) {
  (void)thread;
  bf_job *j = user;
  const float *d = j->g->density + (size_t)c * CHUNK;
  uint8_t *b = j->g->bitfield + (size_t)c * (CHUNK / 8);
  for (int i = 0; i < CHUNK / 8; i++)
    b[i] = ngp_grid_bits8(d + i * 8, j->thresh);
}

/* Level m |= 2x max-pool of level m-1, placed in its central half (ngp_grid_pool_byte). */
static void pool_chunk(int c, int thread, void *user) {
  (void)thread;
  bf_job *j = user;
  const uint8_t *prev = j->g->bitfield + (size_t)(j->level - 1) * (NGP_GRID_CELLS / 8);
  uint8_t *next = j->g->bitfield + (size_t)j->level * (NGP_GRID_CELLS / 8);
  int n = NGP_GRID_CELLS / 64 / 8; /* byte groups per chunk: 8 chunks per level */
  for (int i = c * n; i < (c + 1) * n; i++) {
    uint32_t dst;
    uint8_t bits = ngp_grid_pool_byte(prev, (uint32_t)i, &dst);
    next[dst] |= bits;
  }
}

/* Mean over cascade 0, the bitfield of every cascade (density > threshold), the mip pooling
 * and the occupied count. Parallel over fixed chunks; the result does not depend on threads. */
static void rebuild_bitfield(ngp_occupancy *g, bool seen_is_occupied, int n_threads) {
  double partial[NGP_GRID_CELLS / CHUNK];
  bf_job job = {g, 0.0f, partial, 0};
  ngp_parallel_for(NGP_GRID_CELLS / CHUNK, n_threads, mean_chunk, &job);
  double sum = 0.0; /* fixed order: the mean does not depend on the thread count */
  for (int c = 0; c < NGP_GRID_CELLS / CHUNK; c++)
    sum += partial[c];
  g->mean = (float)(sum / (double)NGP_GRID_CELLS);
  /* After mark_untrained every seen cell (0) counts as occupied so training can start; otherwise
   * the NGP-SPEC threshold. */
  job.thresh = seen_is_occupied ? -0.5f : ngp_grid_threshold(g->mean);
  ngp_parallel_for(g->n_cascades * (NGP_GRID_CELLS / CHUNK), n_threads, bitfield_chunk, &job);
  for (int m = 1; m < g->n_cascades; m++) {
    job.level = m;
    ngp_parallel_for(8, n_threads, pool_chunk, &job);
  }
  size_t n = 0;
  for (size_t i = 0; i < NGP_GRID_CELLS / 8; i++)
    n += (size_t)__builtin_popcount(g->bitfield[i]);
  g->n_occupied = n;
}

/* ---- mark_untrained ---------------------------------------------------------------------------- */

typedef struct {
  float xform[12], focal[2], principal[2], params[4];
  int mode, width, height;
  /* Box of normalised undistorted image coordinates (x/z, y/z) that can project into the image:
   * exact for a pinhole, a padded bound from the undistorted border for distorted lenses. Used
   * only to find, per row of vertices, the interval worth testing exactly. */
  double xmin, xmax, ymin, ymax;
} mu_cam;

typedef struct {
  const mu_cam *cams;
  int n_cams;
  uint8_t *seen; /* [n_cascades][NV][NV][NV] vertex seen by some camera, x fastest */
  ngp_occupancy *g;
} mu_job;

/* Upstream's test of one cell corner against one camera: in front (dot(dir, forward) >= 1e-4),
 * projecting inside the image (0 < u, v < 1), and the ray back from that uv matching the corner's
 * direction to 1e-3 (projection with distortion is not injective outside the image). */
static bool corner_seen(const mu_cam *c, const float *p) {
  float d[3] = {p[0] - c->xform[3], p[1] - c->xform[7], p[2] - c->xform[11]};
  float len = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
  if (!(len > 0.0f)) return false;
  for (int k = 0; k < 3; k++)
    d[k] /= len;
  if (d[0] * c->xform[2] + d[1] * c->xform[6] + d[2] * c->xform[10] < 1e-4f) return false;
  float u, v;
  ngp_pos_to_uv(c->xform, c->focal, c->principal, c->mode, c->params, c->width, c->height, p, &u, &v);
  if (!(u > 0.0f && v > 0.0f && u < 1.0f && v < 1.0f)) return false;
  float r[3];
  ngp_uv_to_dir(c->xform, c->focal, c->principal, c->mode, c->params, c->width, c->height, u, v, r);
  float rl = sqrtf(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
  float e0 = r[0] / rl - d[0], e1 = r[1] / rl - d[1], e2 = r[2] / rl - d[2];
  return e0 * e0 + e1 * e1 + e2 * e2 < 1e-6f;
}

/* Restricts [*lo, *hi] to the i with a + b i > 0. */
static void halfline(double a, double b, double *lo, double *hi) {
  if (b == 0.0) {
    if (a <= 0.0) *lo = 1e30;
    return;
  }
  double r = -a / b;
  if (b > 0.0) {
    if (r > *lo) *lo = r;
  } else if (r < *hi) {
    *hi = r;
  }
}

/* One plane (cascade m, vertex z index vz) of vertices: for every row (vy) and camera, the
 * vertices along x that can be seen form an interval, since "in front and inside the image box"
 * is a convex set (z > 0 and four half-spaces through the camera centre) and the row is a line;
 * it is found in closed form, widened by a vertex for rounding, and only its vertices are tested
 * exactly (and only those not already seen). This turns 100 cameras x 4 x 129^3 corners into
 * about one exact test per seen vertex. */
static void mu_plane(int item, int thread, void *user) {
  (void)thread;
  mu_job *j = user;
  int m = item / NV, vz = item % NV;
  float step = ldexpf(1.0f, m) / (float)NGP_GRID_SIZE;
  float pz = ngp_cell_to_pos((uint32_t)vz, 0.0f, m);
  for (int vy = 0; vy < NV; vy++) {
    uint8_t *row = j->seen + (((size_t)m * NV + (size_t)vz) * NV + (size_t)vy) * NV;
    float py = ngp_cell_to_pos((uint32_t)vy, 0.0f, m);
    float px0 = ngp_cell_to_pos(0, 0.0f, m);
    for (int ci = 0; ci < j->n_cams; ci++) {
      const mu_cam *c = &j->cams[ci];
      const float *x = c->xform;
      double d0 = (double)px0 - (double)x[3], d1 = (double)py - (double)x[7], d2 = (double)pz - (double)x[11];
      double A[3], B[3]; /* camera-space coordinates of vertex i: A + i B */
      for (int k = 0; k < 3; k++) {
        A[k] = (double)x[k] * d0 + (double)x[4 + k] * d1 + (double)x[8 + k] * d2;
        B[k] = (double)x[k] * (double)step; /* R^T e_x * step */
      }
      double lo = 0.0, hi = NV - 1;
      halfline(A[2], B[2], &lo, &hi);
      halfline(A[0] - c->xmin * A[2], B[0] - c->xmin * B[2], &lo, &hi);
      halfline(c->xmax * A[2] - A[0], c->xmax * B[2] - B[0], &lo, &hi);
      halfline(A[1] - c->ymin * A[2], B[1] - c->ymin * B[2], &lo, &hi);
      halfline(c->ymax * A[2] - A[1], c->ymax * B[2] - B[1], &lo, &hi);
      if (lo > hi + 1.0) continue;
      int ilo = (int)ceil(lo) - 1, ihi = (int)floor(hi) + 1;
      if (ilo < 0) ilo = 0;
      if (ihi > NV - 1) ihi = NV - 1;
      for (int i = ilo; i <= ihi; i++) {
        if (row[i]) continue;
        float p[3] = {ngp_cell_to_pos((uint32_t)i, 0.0f, m), py, pz};
        if (corner_seen(c, p)) row[i] = 1;
      }
    }
  }
}

/* Cells of one plane (cascade m, cell z index z): seen if any of the 8 corners is. */
static void mu_cells(int item, int thread, void *user) {
  (void)thread;
  mu_job *j = user;
  int m = item / NGP_GRID_SIZE, z = item % NGP_GRID_SIZE;
  const uint8_t *s = j->seen + (size_t)m * NV * NV * NV;
  float *d = j->g->density + (size_t)m * NGP_GRID_CELLS;
  for (int y = 0; y < NGP_GRID_SIZE; y++) {
    for (int x = 0; x < NGP_GRID_SIZE; x++) {
      int any = 0;
      for (int k = 0; k < 8 && !any; k++)
        any = s[((size_t)(z + (k >> 2)) * NV + (size_t)(y + ((k >> 1) & 1))) * NV + (size_t)(x + (k & 1))];
      d[ngp_morton3d((uint32_t)x, (uint32_t)y, (uint32_t)z)] = any ? 0.0f : -1.0f;
    }
  }
}

static void mu_setup_cam(mu_cam *c, const ngp_frame *f) {
  memcpy(c->xform, f->xform, sizeof c->xform);
  memcpy(c->focal, f->focal, sizeof c->focal);
  memcpy(c->principal, f->principal, sizeof c->principal);
  memcpy(c->params, f->lens.params, sizeof c->params);
  c->mode = (int)f->lens.mode;
  c->width = f->image.width;
  c->height = f->image.height;
  double sx = (double)c->width / (double)c->focal[0], sy = (double)c->height / (double)c->focal[1];
  c->xmin = (0.0 - (double)c->principal[0]) * sx;
  c->xmax = (1.0 - (double)c->principal[0]) * sx;
  c->ymin = (0.0 - (double)c->principal[1]) * sy;
  c->ymax = (1.0 - (double)c->principal[1]) * sy;
  if (c->mode == NGP_LENS_PINHOLE) return;
  /* Distorted: the bounding box of the undistorted image border, padded by 10% and by the 1e-3
   * direction tolerance. Non-finite results (a lens that does not invert) drop the bound. */
  double bx0 = 1e30, bx1 = -1e30, by0 = 1e30, by1 = -1e30;
  bool finite = true;
  for (int e = 0; e < 4; e++) {
    for (int s = 0; s <= 64; s++) {
      float t = (float)s / 64.0f;
      float u = e == 0 ? t : e == 1 ? 1.0f : e == 2 ? 1.0f - t : 0.0f;
      float v = e == 0 ? 0.0f : e == 1 ? t : e == 2 ? 1.0f : 1.0f - t;
      float x = (u - c->principal[0]) * (float)c->width / c->focal[0];
      float y = (v - c->principal[1]) * (float)c->height / c->focal[1];
      ngp_lens_undistort(c->mode, c->params, &x, &y);
      if (!isfinite(x) || !isfinite(y)) finite = false;
      bx0 = fmin(bx0, (double)x), bx1 = fmax(bx1, (double)x);
      by0 = fmin(by0, (double)y), by1 = fmax(by1, (double)y);
    }
  }
  if (!finite) {
    c->xmin = c->ymin = -1e30;
    c->xmax = c->ymax = 1e30;
    return;
  }
  double px = 0.1 * (bx1 - bx0) + 1e-2, py = 0.1 * (by1 - by0) + 1e-2;
  c->xmin = bx0 - px, c->xmax = bx1 + px, c->ymin = by0 - py, c->ymax = by1 + py;
}

void ngp_occupancy_mark_untrained(ngp_occupancy *g, const ngp_scene *scene, int n_threads) {
  size_t nvert = (size_t)g->n_cascades * NV * NV * NV;
  uint8_t *seen = calloc(nvert, 1);
  mu_cam *cams = calloc(scene->n_frames > 0 ? (size_t)scene->n_frames : 1, sizeof *cams);
  if (!seen || !cams) {
    /* Out of memory: mask nothing, which is slower to train but still correct. */
    ngp_log(NGP_LOG_WARN, "occupancy grid: out of memory marking unseen cells; none are masked");
    for (size_t i = 0; i < (size_t)g->n_cascades * NGP_GRID_CELLS; i++)
      g->density[i] = 0.0f;
  } else {
    int n = 0;
    for (int i = 0; i < scene->n_frames; i++) {
      const ngp_frame *f = &scene->frames[i];
      if (f->image.width <= 0 || f->image.height <= 0 || !(f->focal[0] > 0.0f) || !(f->focal[1] > 0.0f)) continue;
      mu_setup_cam(&cams[n++], f);
    }
    mu_job job = {cams, n, seen, g};
    ngp_parallel_for(g->n_cascades * NV, n_threads, mu_plane, &job);
    ngp_parallel_for(g->n_cascades * NGP_GRID_SIZE, n_threads, mu_cells, &job);
  }
  free(seen);
  free(cams);
  rebuild_bitfield(g, true, n_threads);
}

/* ---- Update ------------------------------------------------------------------------------------ */

typedef struct {
  ngp_occupancy *g;
  float decay;
  /* sample generation */
  uint32_t first, n_total, count;
  float thresh;
  uint64_t seed;
  int n_ranges; /* splat partitions: one per thread */
} up_job;

#define GEN_PIECE 4096
#define PREFETCH 16

static int sample_level(const up_job *j, uint32_t i) { return ngp_grid_sample_level(j->seed, i, j->g->n_cascades); }

/* Sample i of a set (NGP-SPEC §4): random cascade, candidate cell, uniform position inside. The
 * four random numbers of sample i are counters 4i..4i+3 of the set's seed. */
static void gen_piece(int piece, int thread, void *user) {
  (void)thread;
  up_job *j = user;
  ngp_occupancy *g = j->g;
  uint32_t b0 = (uint32_t)piece * GEN_PIECE, b1 = b0 + GEN_PIECE < j->count ? b0 + GEN_PIECE : j->count;
  for (uint32_t b = b0; b < b1; b++) {
    uint32_t i = j->first + b;
    int level = sample_level(j, i);
#if defined(__GNUC__)
    /* The candidate lookups are random reads of a 8-64 MiB grid: prefetch the first candidate of
     * a sample a few ahead (it is usually accepted), which roughly halves the time here. */
    if (b + PREFETCH < b1) {
      uint32_t ia = i + PREFETCH;
      __builtin_prefetch(g->density +
                         ngp_grid_sample_cell(ia, g->n_updates, j->n_total, sample_level(j, ia), NULL, 0.0f));
    }
#endif
    uint32_t idx = ngp_grid_sample_cell(i, g->n_updates, j->n_total, level, g->density, j->thresh);
    ngp_grid_sample_pos(j->seed, i, idx, level, g->batch_pos + (size_t)b * 3);
    g->batch_idx[b] = idx;
  }
}

/* tmp[cell] = max over the batch's samples in it of sigma * MIN_STEP. Work item r of n_ranges
 * (one per thread) owns the cells of grid range r and scans the whole batch: no two threads write
 * one cell (no atomics), and as max is order-independent the result is the same for any count. */
static void splat_range(int r, int thread, void *user) {
  (void)thread;
  up_job *j = user;
  ngp_occupancy *g = j->g;
  uint32_t n_cells = (uint32_t)g->n_cascades * NGP_GRID_CELLS;
  uint32_t lo = (uint32_t)((uint64_t)n_cells * (uint32_t)r / (uint32_t)j->n_ranges);
  uint32_t hi = (uint32_t)((uint64_t)n_cells * (uint32_t)(r + 1) / (uint32_t)j->n_ranges);
  for (uint32_t s = 0; s < j->count; s++) {
    uint32_t idx = g->batch_idx[s];
#if defined(__GNUC__)
    if (s + PREFETCH < j->count) {
      uint32_t ia = g->batch_idx[s + PREFETCH];
      if (ia >= lo && ia < hi) __builtin_prefetch(g->tmp + ia, 1);
    }
#endif
    if (idx < lo || idx >= hi) continue;
    float thick = ngp_grid_thickness(g->batch_raw[s]);
    if (thick > g->tmp[idx]) g->tmp[idx] = thick; /* NaN never wins */
  }
}

static void zero_tmp_chunk(int c, int thread, void *user) {
  (void)thread;
  up_job *j = user;
  memset(j->g->tmp + (size_t)c * CHUNK, 0, CHUNK * sizeof(float));
}

/* grid = grid < 0 ? grid : max(grid * decay, tmp): a decayed running max, so thin structures
 * seen by few samples survive several updates. */
static void blend_chunk(int c, int thread, void *user) {
  (void)thread;
  up_job *j = user;
  float *d = j->g->density + (size_t)c * CHUNK;
  const float *t = j->g->tmp + (size_t)c * CHUNK;
  for (int i = 0; i < CHUNK; i++)
    d[i] = ngp_grid_blend(d[i], t[i], j->decay);
}

void ngp_occupancy_update(ngp_occupancy *g, uint32_t n_uniform, uint32_t n_nonuniform, float decay, uint64_t seed,
                          ngp_density_fn fn, void *user, int n_threads) {
  int n_chunks = g->n_cascades * (NGP_GRID_CELLS / CHUNK);
  up_job job;
  memset(&job, 0, sizeof job);
  job.g = g;
  job.decay = decay;
  job.n_ranges = n_threads > 0 ? n_threads : ngp_cpu_count();
  if (job.n_ranges > 64) job.n_ranges = 64;
  ngp_parallel_for(n_chunks, n_threads, zero_tmp_chunk, &job);

  /* Both sets draw their cells from the grid as it was before this update (tmp holds the new
   * maxima until the blend), as upstream's kernels do. */
  for (int set = 0; set < 2; set++) {
    job.n_total = set == 0 ? n_uniform : n_nonuniform;
    job.thresh = set == 0 ? -0.01f : NGP_MIN_OPTICAL_THICKNESS;
    job.seed = ngp_grid_set_seed(seed, set);
    for (uint32_t first = 0; first < job.n_total; first += NGP_OCCUPANCY_BATCH) {
      uint32_t S = job.n_total - first < NGP_OCCUPANCY_BATCH ? job.n_total - first : NGP_OCCUPANCY_BATCH;
      job.first = first;
      job.count = S;
      ngp_parallel_for((int)((S + GEN_PIECE - 1) / GEN_PIECE), n_threads, gen_piece, &job);
      /* One call per batch from this thread: the callback (hash grid + MLP) is efficient only in
       * batches and may use threads of its own. */
      fn((int)S, g->batch_pos, g->batch_raw, user);
      ngp_parallel_for(job.n_ranges, n_threads, splat_range, &job);
    }
  }
  ngp_parallel_for(n_chunks, n_threads, blend_chunk, &job);
  g->n_updates++;
  rebuild_bitfield(g, false, n_threads);
}
