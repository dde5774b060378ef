/* test_march.c: camera rays and lens undistortion, the step rule, ray-box intersection, ray
 * marching through an occupancy grid, compositing forward/backward (against hand values and
 * central finite differences) and the losses (NGP-SPEC §1.4, §5, §6). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerf/march.h"
#include "common/ngp_nerf_math.h"
#include "nerf/occupancy.h"

static void assert_close(double got, double want, double atol, double rtol, const char *what, int idx) {
  if (!(fabs(got - want) <= atol + rtol * fabs(want))) {
    print_error("%s[%d]: got %.9g, want %.9g (atol %g, rtol %g)\n", what, idx, got, want, atol, rtol);
    fail();
  }
}

static float frand(uint32_t *s) {
  *s = *s * 1664525u + 1013904223u;
  return (float)(*s >> 8) / 16777216.0f;
}

/* ---- Step rule ----------------------------------------------------------------------------------- */

static void test_step_rule(void **state) {
  (void)state;
  assert_true(ngp_cone_angle(1) == 0.0f);
  assert_true(ngp_cone_angle(16) == 1.0f / 256.0f);
  assert_close(NGP_MIN_STEP, sqrt(3.0) / 1024.0, 1e-9, 0, "MIN_STEP", 0);
  assert_close(NGP_MAX_STEP, sqrt(3.0), 1e-6, 0, "MAX_STEP", 0);
  /* c = 0: constant MIN_STEP. */
  const float ts[] = {0.0f, 0.3f, 1.7f, 50.0f};
  for (int i = 0; i < 4; i++)
    assert_true(ngp_calc_dt(ts[i], 0.0f) == NGP_MIN_STEP);
  /* c = 1/256: MIN_STEP below MIN_STEP/ln(1+c) ~ 0.434, then t_{n+1} = t (1+c), then MAX_STEP
   * beyond MAX_STEP/ln(1+c) ~ 444. */
  const float c = 1.0f / 256.0f;
  double L = log1p((double)c);
  assert_close(ngp_calc_dt(0.1f, c), NGP_MIN_STEP, 0, 1e-3, "dt(linear)", 0);
  assert_close(ngp_calc_dt(0.4f, c), NGP_MIN_STEP, 0, 1e-3, "dt(linear)", 1);
  const float geo[] = {0.5f, 1.0f, 2.0f, 10.0f, 100.0f, 400.0f};
  for (int i = 0; i < 6; i++) {
    double t = geo[i];
    assert_true(t > (double)NGP_MIN_STEP / L && t < (double)NGP_MAX_STEP / L);
    assert_close(ngp_calc_dt(geo[i], c), t * (double)c, 0, 2e-3, "dt(geometric)", i);
  }
  assert_close(ngp_calc_dt(500.0f, c), NGP_MAX_STEP, 0, 1e-3, "dt(max)", 0);
  assert_close(ngp_calc_dt(5000.0f, c), NGP_MAX_STEP, 0, 1e-3, "dt(max)", 1);
  /* Monotone and within the bounds everywhere. */
  float prev = 0.0f;
  for (float t = 0.0f; t < 2000.0f; t = t * 1.01f + 0.001f) {
    float dt = ngp_calc_dt(t, c);
    assert_true(dt >= NGP_MIN_STEP * 0.999f && dt <= NGP_MAX_STEP * 1.001f);
    assert_true(dt >= prev * 0.999f);
    prev = dt;
  }
  /* Stepping space round trip. */
  for (int i = 0; i < 6; i++) {
    float n = ngp_to_stepping_space(geo[i], c);
    assert_close(ngp_from_stepping_space(n, c), geo[i], 0, 1e-5, "stepping round trip", i);
  }
}

/* ---- Camera rays and lenses --------------------------------------------------------------------- */

/* Camera-to-world: rotation about y by `yaw` (columns x right, y down, z forward), at `pos`. */
static void make_xform(float yaw, const float pos[3], float *m) {
  float cy = cosf(yaw), sy = sinf(yaw);
  const float r[9] = {cy, 0.0f, sy, 0.0f, 1.0f, 0.0f, -sy, 0.0f, cy};
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++)
      m[i * 4 + j] = r[i * 3 + j];
    m[i * 4 + 3] = pos[i];
  }
}

static void test_camera_ray(void **state) {
  (void)state;
  float xf[12];
  const float cpos[3] = {0.3f, 0.6f, -1.0f};
  make_xform(0.5f, cpos, xf);
  ngp_lens pin;
  memset(&pin, 0, sizeof pin);
  float o[3], d[3];
  /* The centre pixel of a centred pinhole camera looks along the camera's z axis. */
  const float focal[2] = {150.0f, 160.0f}, centred[2] = {0.5f, 0.5f};
  ngp_camera_ray(xf, focal, centred, &pin, 200, 100, 0.5f, 0.5f, o, d);
  for (int k = 0; k < 3; k++) {
    assert_close(o[k], cpos[k], 1e-7, 0, "origin", k);
    assert_close(d[k], xf[k * 4 + 2], 1e-6, 0, "centre dir", k);
  }
  /* The top-left pixel centre with an off-centre principal point: camera-space direction
   * ((u - px) W/fx, (v - py) H/fy, 1); its angle from the axis is atan(hypot(x, y)). */
  const float pp[2] = {0.4f, 0.6f};
  float u = 0.5f / 200.0f, v = 0.5f / 100.0f;
  ngp_camera_ray(xf, focal, pp, &pin, 200, 100, u, v, o, d);
  double x = ((double)u - 0.4) * 200.0 / 150.0, y = ((double)v - 0.6) * 100.0 / 160.0;
  double angle = acos((double)(d[0] * xf[2] + d[1] * xf[6] + d[2] * xf[10]));
  assert_close(angle, atan(hypot(x, y)), 1e-5, 0, "corner angle", 0);
  double n = sqrt(x * x + y * y + 1.0);
  for (int k = 0; k < 3; k++) {
    double want = ((double)xf[k * 4 + 0] * x + (double)xf[k * 4 + 1] * y + (double)xf[k * 4 + 2]) / n;
    assert_close(d[k], want, 1e-6, 0, "corner dir", k);
  }
  assert_close(d[0] * d[0] + d[1] * d[1] + d[2] * d[2], 1.0, 1e-6, 0, "|dir|", 0);
  /* x < 0 and y < 0 in camera space: left of and above the axis. */
  assert_true(d[0] * xf[0] + d[1] * xf[4] + d[2] * xf[8] < 0.0f);
  assert_true(d[0] * xf[1] + d[1] * xf[5] + d[2] * xf[9] < 0.0f);
}

static void test_lens_roundtrip(void **state) {
  (void)state;
  const float opencv[4] = {-0.12f, 0.03f, 0.0012f, -0.0021f};
  const float fisheye[4] = {0.05f, -0.012f, 0.0021f, -0.0004f};
  double max_err[2] = {0, 0}, max_delta[2] = {0, 0};
  for (int lens = 0; lens < 2; lens++) {
    int mode = lens == 0 ? NGP_LENS_OPENCV : NGP_LENS_OPENCV_FISHEYE;
    const float *p = lens == 0 ? opencv : fisheye;
    float range = lens == 0 ? 0.8f : 1.5f;
    for (int i = -10; i <= 10; i++) {
      for (int j = -10; j <= 10; j++) {
        float x0 = range * (float)i / 10.0f, y0 = range * (float)j / 10.0f, x = x0, y = y0;
        ngp_lens_distort(mode, p, &x, &y);
        max_delta[lens] = fmax(max_delta[lens], hypot(x - x0, y - y0));
        ngp_lens_undistort(mode, p, &x, &y);
        max_err[lens] = fmax(max_err[lens], hypot(x - x0, y - y0));
      }
    }
  }
  printf("lens round trip: max error opencv %.3g, fisheye %.3g (max distortion %.3g, %.3g)\n", max_err[0], max_err[1],
         max_delta[0], max_delta[1]);
  assert_true(max_delta[0] > 0.02 && max_delta[1] > 0.02); /* the lenses do distort */
  assert_true(max_err[0] < 1e-5 && max_err[1] < 1e-5);

  /* A distorted camera's ray through the projection of a point goes through the point. */
  float xf[12];
  const float cpos[3] = {0.5f, 0.5f, -1.0f};
  make_xform(0.2f, cpos, xf);
  ngp_lens lens;
  lens.mode = NGP_LENS_OPENCV;
  memcpy(lens.params, opencv, sizeof opencv);
  const float focal[2] = {300.0f, 300.0f}, pp[2] = {0.52f, 0.47f};
  const float pt[3] = {0.9f, 0.2f, 0.7f};
  float u, v, o[3], d[3];
  ngp_pos_to_uv(xf, focal, pp, lens.mode, lens.params, 400, 300, pt, &u, &v);
  assert_true(u > 0.0f && u < 1.0f && v > 0.0f && v < 1.0f);
  ngp_camera_ray(xf, focal, pp, &lens, 400, 300, u, v, o, d);
  float to[3] = {pt[0] - o[0], pt[1] - o[1], pt[2] - o[2]};
  float tl = sqrtf(to[0] * to[0] + to[1] * to[1] + to[2] * to[2]);
  for (int k = 0; k < 3; k++)
    assert_close(d[k], to[k] / tl, 1e-5, 0, "distorted ray", k);
}

/* ---- Ray-box ----------------------------------------------------------------------------------- */

static void test_ray_aabb(void **state) {
  (void)state;
  const float lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
  float t0, t1;
  const float inside[3] = {0.5f, 0.5f, 0.5f}, px[3] = {1, 0, 0}, nx[3] = {-1, 0, 0}, pz[3] = {0, 0, 1};
  assert_true(ngp_ray_aabb(inside, px, lo, hi, &t0, &t1));
  assert_close(t0, -0.5, 1e-6, 0, "inside t0", 0);
  assert_close(t1, 0.5, 1e-6, 0, "inside t1", 0);
  const float left[3] = {-1.0f, 0.5f, 0.5f};
  assert_true(ngp_ray_aabb(left, px, lo, hi, &t0, &t1));
  assert_close(t0, 1.0, 1e-6, 0, "outside t0", 0);
  assert_close(t1, 2.0, 1e-6, 0, "outside t1", 0);
  assert_false(ngp_ray_aabb(left, nx, lo, hi, &t0, &t1)); /* box behind the ray */
  const float above[3] = {-1.0f, 2.0f, 0.5f};
  assert_false(ngp_ray_aabb(above, px, lo, hi, &t0, &t1)); /* misses */
  /* Parallel to two slabs: inside them hits, outside misses, and no NaN either way. */
  const float front[3] = {0.5f, 0.5f, -1.0f}, side[3] = {1.5f, 0.5f, -1.0f}, edge[3] = {1.0f, 0.0f, -1.0f};
  assert_true(ngp_ray_aabb(front, pz, lo, hi, &t0, &t1));
  assert_close(t0, 1.0, 1e-6, 0, "parallel t0", 0);
  assert_close(t1, 2.0, 1e-6, 0, "parallel t1", 0);
  assert_false(ngp_ray_aabb(side, pz, lo, hi, &t0, &t1));
  assert_true(ngp_ray_aabb(edge, pz, lo, hi, &t0, &t1)); /* along an edge of the box */
  assert_false(isnan(t0) || isnan(t1));
  const float corner[3] = {-1, -1, -1};
  float diag[3] = {1, 1, 1};
  for (int k = 0; k < 3; k++)
    diag[k] /= sqrtf(3.0f);
  assert_true(ngp_ray_aabb(corner, diag, lo, hi, &t0, &t1));
  assert_close(t0, sqrt(3.0), 1e-5, 0, "diagonal t0", 0);
  assert_close(t1, 2.0 * sqrt(3.0), 1e-5, 0, "diagonal t1", 0);
}

/* ---- Marching ----------------------------------------------------------------------------------- */

/* A grid whose bitfield has only the cells [lo, hi)^3 of cascade 0 set (all set if lo < 0). */
static void block_grid(ngp_occupancy *g, int n_cascades, int lo, int hi) {
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(g, n_cascades, &err), NGP_OK);
  if (lo < 0) return; /* init sets every bit */
  memset(g->bitfield, 0, (size_t)n_cascades * NGP_GRID_CELLS / 8);
  for (int z = lo; z < hi; z++)
    for (int y = lo; y < hi; y++)
      for (int x = lo; x < hi; x++) {
        uint32_t i = ngp_morton3d((uint32_t)x, (uint32_t)y, (uint32_t)z);
        g->bitfield[i / 8] |= (uint8_t)(1u << (i % 8));
      }
}

enum { MAXS = NGP_MAX_SAMPLES_PER_RAY };
static float g_pos[MAXS * 3], g_dt[MAXS], g_t[MAXS];
static uint8_t g_blocks[NGP_MAX_CASCADES * NGP_GRID_BLOCK_BYTES];

/* ngp_march_ray as the renderer and the trainer call it: with g's block summaries as they are. */
static int march_ray(const ngp_occupancy *g, const float *lo, const float *hi, float cone, const float *o,
                     const float *d, float jitter, int max_samples, float *pos, float *dt, float *t) {
  ngp_occupancy_blocks(g, g_blocks);
  return ngp_march_ray(g, g_blocks, lo, hi, cone, o, d, jitter, max_samples, pos, dt, t);
}

static void test_march_block(void **state) {
  (void)state;
  ngp_occupancy g;
  block_grid(&g, 1, 48, 80); /* occupied: [0.375, 0.625)^3 */
  const float lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
  const float o[3] = {0.5f, 0.52f, -1.0f}, d[3] = {0, 0, 1};
  const float jitter = 0.3f;
  int n = march_ray(&g, lo, hi, 0.0f, o, d, jitter, MAXS, g_pos, g_dt, g_t);
  /* 0.25 / MIN_STEP ~ 147.8 steps fit in the block. */
  printf("ray through the block: %d samples\n", n);
  assert_true(n >= 146 && n <= 149);
  for (int k = 0; k < n; k++) {
    const float *p = g_pos + 3 * k;
    assert_true(ngp_aabb_contains(lo, hi, p));
    assert_true(ngp_occupancy_occupied(&g, p, 0));
    assert_true(p[2] >= 0.375f && p[2] < 0.625f);
    assert_true(g_dt[k] == NGP_MIN_STEP);
    for (int c = 0; c < 3; c++)
      assert_close(p[c], o[c] + g_t[k] * d[c], 1e-6, 0, "pos = o + t d", k);
    if (k > 0) {
      assert_true(g_t[k] > g_t[k - 1]);
      assert_close(g_t[k] - g_t[k - 1], NGP_MIN_STEP, 1e-6, 0, "no gaps inside the block", k);
    }
    /* Skipping snaps to the step lattice: the jitter phase survives. t_enter = 1. */
    double phase = ((double)g_t[k] - 1.0) / (double)NGP_MIN_STEP - (double)jitter;
    assert_close(phase, floor(phase + 0.5), 2e-2, 0, "lattice phase", k);
  }
  /* The first sample is within one step of the block face. */
  assert_true(g_pos[2] - 0.375f < NGP_MIN_STEP * 1.01f);
  /* A ray beside the block gets nothing. */
  const float o2[3] = {0.1f, 0.1f, -1.0f};
  assert_int_equal(march_ray(&g, lo, hi, 0.0f, o2, d, jitter, MAXS, g_pos, g_dt, g_t), 0);
  /* A ray missing the box gets nothing. */
  const float o3[3] = {2.0f, 0.5f, -1.0f};
  assert_int_equal(march_ray(&g, lo, hi, 0.0f, o3, d, jitter, MAXS, g_pos, g_dt, g_t), 0);
  ngp_occupancy_free(&g);
}

static void test_march_jitter_and_cap(void **state) {
  (void)state;
  ngp_occupancy g;
  block_grid(&g, 1, -1, 0); /* everything occupied */
  const float lo[3] = {0, 0, 0}, hi[3] = {1, 1, 1};
  const float o[3] = {-0.5f, 0.5f, 0.5f}, d[3] = {1, 0, 0};
  const float jit[] = {0.0f, 0.25f, 0.75f, 0.999f};
  for (int i = 0; i < 4; i++) {
    int n = march_ray(&g, lo, hi, 0.0f, o, d, jit[i], MAXS, g_pos, g_dt, g_t);
    assert_true(n > 0);
    double shift = (double)g_t[0] - 0.5; /* t_enter = 0.5 */
    assert_true(shift >= -1e-6 && shift < (double)NGP_MIN_STEP);
    assert_close(shift, jit[i] * NGP_MIN_STEP, 1e-6, 0, "jitter", i);
    /* 1 / MIN_STEP ~ 591 steps across the unit box. */
    assert_true(n >= 590 && n <= 592);
  }
  assert_int_equal(march_ray(&g, lo, hi, 0.0f, o, d, 0.5f, 10, g_pos, g_dt, g_t), 10);
  ngp_occupancy_free(&g);

  /* With a cone angle in a large box: dt follows the step rule and t advances by it; at most
   * max_samples (1024) samples. */
  block_grid(&g, 3, -1, 0);
  const float blo[3] = {-1.5f, -1.5f, -1.5f}, bhi[3] = {2.5f, 2.5f, 2.5f};
  const float c = 1.0f / 256.0f;
  float dd[3] = {1.0f, 0.3f, 0.2f};
  float dn = sqrtf(dd[0] * dd[0] + dd[1] * dd[1] + dd[2] * dd[2]);
  for (int k = 0; k < 3; k++)
    dd[k] /= dn;
  const float oc[3] = {-1.4f, 0.5f, 0.5f};
  int n = march_ray(&g, blo, bhi, c, oc, dd, 0.5f, MAXS, g_pos, g_dt, g_t);
  printf("cone ray: %d samples, dt %.5f .. %.5f\n", n, (double)g_dt[0], (double)g_dt[n - 1]);
  assert_true(n > 0 && n <= MAXS);
  for (int k = 0; k < n; k++) {
    assert_close(g_dt[k], ngp_calc_dt(g_t[k], c), 1e-7, 0, "cone dt", k);
    assert_true(ngp_aabb_contains(blo, bhi, g_pos + 3 * k));
    if (k > 0) assert_close(g_t[k], g_t[k - 1] + g_dt[k - 1], 1e-5, 0, "t += dt", k);
  }
  assert_true(g_dt[n - 1] > g_dt[0]); /* the steps grew */
  ngp_occupancy_free(&g);
}

/* The one-cell-at-a-time march that ngp_march_next's block skipping must equal: every empty
 * cell is crossed on its own (the rule before blocks were skipped). */
static int march_cell_by_cell(const ngp_occupancy *g, const float *lo, const float *hi, float cone, const float *o,
                              const float *d, float jitter, int max_samples, float *t_out) {
  float t, t_exit;
  if (!ngp_march_start(lo, hi, cone, o, d, jitter, &t, &t_exit)) return 0;
  int n = 0;
  while (n < max_samples && t <= t_exit) {
    float p[3];
    for (int c = 0; c < 3; c++)
      p[c] = ngp_minf(ngp_maxf(o[c] + t * d[c], lo[c]), hi[c]);
    float dt = ngp_calc_dt(t, cone);
    int mip = ngp_mip_from_dt(dt, p, g->n_cascades - 1);
    if (ngp_grid_occupied_at(g->bitfield, p, mip)) {
      t_out[n++] = t;
      t += dt;
      continue;
    }
    float next = ngp_advance_to_next_voxel(t, cone, p, d, mip);
    if (!(next > t)) break;
    t = next;
  }
  return n;
}

/* Empty blocks around one set bit, from the bits alone (up to 8^3) and with the block summary
 * (up to 32^3); and the summary bytes themselves. */
static void test_empty_blocks(void **state) {
  (void)state;
  uint8_t *bits = calloc(NGP_GRID_CELLS / 8, 1);
  uint8_t blocks[NGP_GRID_BLOCK_BYTES];
  assert_non_null(bits);
  uint32_t set = ngp_morton3d(13, 6, 9); /* 2^3 block (6,3,4), 4^3 (3,1,2), 8^3 (1,0,1), 16^3 and 32^3 (0,0,0) */
  bits[set / 8] |= (uint8_t)(1u << (set % 8));
  ngp_occupancy g = {.n_cascades = 1, .bitfield = bits};
  ngp_occupancy_blocks(&g, blocks);
  uint32_t b8 = set >> 9; /* the 8^3 block's number: (1,0,1) -> 5 */
  assert_int_equal(b8, ngp_morton3d(1, 0, 1));
  for (uint32_t i = 0; i < NGP_GRID_BLOCK_BYTES; i++)
    assert_int_equal(blocks[i], i == b8 / 8 ? 1u << (b8 % 8) : 0u);
  static const struct {
    uint32_t x, y, z;
    int bits_only, with_blocks;
  } cases[] = {
      {12, 7, 8, 0, 0},      /* the same 2^3 block */
      {14, 6, 9, 1, 1},      /* 2^3 (7,3,4), in the same 4^3 */
      {12, 5, 11, 1, 1},     /* 2^3 (6,2,5), in the same 4^3 */
      {9, 4, 15, 2, 2},      /* 4^3 (2,1,3), in the same 8^3 */
      {16, 6, 9, 3, 4},      /* 8^3 (2,0,1), 16^3 (1,0,0), in the same 32^3 */
      {13, 6, 7, 3, 3},      /* 8^3 (1,0,0), in the same 16^3 */
      {20, 17, 3, 3, 4},     /* 16^3 (1,1,0), in the same 32^3 */
      {40, 6, 9, 3, 5},      /* 32^3 (1,0,0) */
      {127, 127, 127, 3, 5}, /* the far corner */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    uint32_t idx = ngp_morton3d(cases[k].x, cases[k].y, cases[k].z);
    assert_int_equal(ngp_grid_empty_block_log2(bits, NULL, idx), cases[k].bits_only);
    assert_int_equal(ngp_grid_empty_block_log2(bits, blocks, idx), cases[k].with_blocks);
  }
  free(bits);
}

/* Sparse grids of scattered occupied clusters, with and without a cone (one and three cascades),
 * dense (1500 clusters per cascade anywhere: blocks of 8^3 at most are empty) and sparse (300 in
 * the middle 40^3 cells: 16^3 and 32^3 blocks around them are empty too): skipping empty blocks, from the bits alone
 * and with the block summaries, finds the samples crossing cell by cell finds, up to rounding in the last bits of where
 * the step lattice resumes. */
static void test_march_block_skip(void **state) {
  (void)state;
  static float t_ref[MAXS];
  for (int variant = 0; variant < 4; variant++) {
    int cone_case = variant & 1, sparse = variant >> 1;
    int nc = cone_case ? 3 : 1, clusters = sparse ? 300 : 1500;
    /* dense: anywhere; sparse: in the middle 40^3 cells, like an object in its box */
    int c_lo = sparse ? 44 : 0, c_span = sparse ? 36 : 124;
    float cone = cone_case ? 1.0f / 256.0f : 0.0f;
    float half = cone_case ? 2.0f : 0.5f;
    const float lo[3] = {0.5f - half, 0.5f - half, 0.5f - half}, hi[3] = {0.5f + half, 0.5f + half, 0.5f + half};
    ngp_occupancy g;
    block_grid(&g, nc, 0, 0);
    uint32_t seed = 7u + (uint32_t)variant;
    for (int m = 0; m < nc; m++) /* clusters of 1 to 5 cells a side */
      for (int k = 0; k < clusters; k++) {
        int x0 = c_lo + (int)(frand(&seed) * (float)c_span), y0 = c_lo + (int)(frand(&seed) * (float)c_span),
            z0 = c_lo + (int)(frand(&seed) * (float)c_span);
        int w = 1 + (int)(frand(&seed) * 5);
        for (int z = z0; z < z0 + w && z < 128; z++)
          for (int y = y0; y < y0 + w && y < 128; y++)
            for (int x = x0; x < x0 + w && x < 128; x++) {
              uint32_t i = ngp_morton3d((uint32_t)x, (uint32_t)y, (uint32_t)z);
              g.bitfield[(size_t)m * (NGP_GRID_CELLS / 8) + i / 8] |= (uint8_t)(1u << (i % 8));
            }
      }
    ngp_occupancy_blocks(&g, g_blocks);
    int empty_blocks = 0; /* 8^3 blocks without an occupied cell in cascade 0 */
    for (uint32_t i = 0; i < NGP_GRID_BLOCK_BYTES; i++)
      empty_blocks += 8 - __builtin_popcount(g_blocks[i]);
    for (int with_blocks = 0; with_blocks < 2; with_blocks++) {
      int rays = 3000, same = 0, met = 0;
      long total_ref = 0, total = 0;
      uint32_t ray_seed = 99u + (uint32_t)variant;
      for (int r = 0; r < rays; r++) {
        float o[3], d[3], dn = 0.0f;
        for (int c = 0; c < 3; c++) {
          o[c] = lo[c] + (hi[c] - lo[c]) * frand(&ray_seed);
          d[c] = frand(&ray_seed) - 0.5f;
          dn += d[c] * d[c];
        }
        for (int c = 0; c < 3; c++)
          d[c] /= sqrtf(dn);
        o[r % 3] = lo[r % 3] - 0.5f; /* from outside the box, towards it */
        d[r % 3] = fabsf(d[r % 3]) + 0.2f;
        if (sparse) /* towards a point of the middle region (cells 44..80 of cascade 0) */
          for (int c = 0; c < 3; c++)
            d[c] = 0.34f + 0.29f * frand(&ray_seed) - o[c];
        dn = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        for (int c = 0; c < 3; c++)
          d[c] /= dn;
        float jitter = frand(&ray_seed);
        int n_ref = march_cell_by_cell(&g, lo, hi, cone, o, d, jitter, MAXS, t_ref);
        int n = ngp_march_ray(&g, with_blocks ? g_blocks : NULL, lo, hi, cone, o, d, jitter, MAXS, g_pos, g_dt, g_t);
        total_ref += n_ref;
        total += n;
        met += n_ref > 0;
        if (n != n_ref) continue;
        bool close = true;
        for (int k = 0; k < n; k++)
          close = close && fabsf(g_t[k] - t_ref[k]) <= 1e-5f * fmaxf(1.0f, t_ref[k]);
        same += close;
      }
      printf("%s, %d clusters (%d of 4096 8^3 blocks empty), %s: %d of %d rays with the same samples, %ld samples "
             "against %ld cell by cell, %d rays meet a cluster\n",
             cone_case ? "cone, 3 cascades" : "no cone", clusters, empty_blocks,
             with_blocks ? "block summaries" : "bits only", same, rays, total, total_ref, met);
      assert_true(met > rays / 20); /* the clusters are met */
      assert_true(same >= rays * 995 / 1000);
      assert_true(labs(total - total_ref) <= total_ref / 1000);
    }
    if (sparse)
      assert_true(empty_blocks > 3000); /* so 16^3 and 32^3 blocks are skipped */
    else
      assert_true(empty_blocks < 2500);
    ngp_occupancy_free(&g);
  }
}

/* ---- Compositing ------------------------------------------------------------------------------- */

static void test_composite_forward(void **state) {
  (void)state;
  /* sigma dt = 0.5 and 2; colours chosen through exact sigmoid values (hand-computed in double). */
  const float raw_rgb[6] = {0.0f, logf(3.0f), -logf(3.0f), logf(4.0f), 0.0f, -logf(4.0f)};
  const float raw_density[2] = {logf(10.0f), logf(20.0f)};
  const float dt[2] = {0.05f, 0.1f};
  const float bg[3] = {0.1f, 0.2f, 0.3f};
  const double want[3] = {0.6244996988770609, 0.573741835484672, 0.2278819668767582};
  float out[3], T;
  assert_int_equal(ngp_composite_forward(2, raw_rgb, raw_density, dt, bg, out, &T), 2);
  for (int c = 0; c < 3; c++)
    assert_close(out[c], want[c], 1e-6, 0, "colour", c);
  assert_close(T, 0.0820849986238988, 1e-7, 0, "T", 0);
  /* Without a background the T * bg term is gone. */
  const float black[3] = {0, 0, 0};
  ngp_composite_forward(2, raw_rgb, raw_density, dt, black, out, &T);
  for (int c = 0; c < 3; c++)
    assert_close(out[c], want[c] - 0.0820849986238988 * (double)bg[c], 1e-6, 0, "no bg", c);
  /* Zero samples: the background. */
  assert_int_equal(ngp_composite_forward(0, raw_rgb, raw_density, dt, bg, out, &T), 0);
  for (int c = 0; c < 3; c++)
    assert_close(out[c], bg[c], 0, 0, "empty ray", c);

  /* Early termination: the first sample is opaque (T = e^-100 < 1e-4), so the rest and the
   * background are left out. */
  const float dense[3] = {logf(1e4f), 0.0f, 0.0f};
  const float dt3[3] = {0.01f, 0.01f, 0.01f};
  const float rgb3[9] = {0, 0, 0, 5, 5, 5, 5, 5, 5};
  assert_int_equal(ngp_composite_forward(3, rgb3, dense, dt3, bg, out, &T), 1);
  for (int c = 0; c < 3; c++)
    assert_close(out[c], 0.5, 1e-6, 0, "cut-off colour", c);
  assert_true(T < 1e-4f);
  /* T falls below 1e-4 only at the last sample: not cut off, background (times T) added. */
  const float last[3] = {0.0f, 0.0f, logf(1e4f)};
  assert_int_equal(ngp_composite_forward(3, rgb3, last, dt3, bg, out, &T), 3);
}

static float loss_of(int k, const float *rgb, const float *dens, const float *dt, const float *bg, const float *g) {
  float out[3];
  ngp_composite_forward(k, rgb, dens, dt, bg, out, NULL);
  return g[0] * out[0] + g[1] * out[1] + g[2] * out[2];
}

static void test_composite_backward(void **state) {
  (void)state;
  enum { K = 7 };
  uint32_t seed = 7;
  float rgb[K * 3], dens[K], dt[K], bg[3], g[3], drgb[K * 3], ddens[K];
  for (int trial = 0; trial < 3; trial++) {
    for (int i = 0; i < K * 3; i++)
      rgb[i] = 4.0f * frand(&seed) - 2.0f;
    for (int i = 0; i < K; i++) {
      dens[i] = 3.0f * frand(&seed) - 1.0f; /* sigma in [0.37, 7.4] */
      dt[i] = 0.01f + 0.04f * frand(&seed);
    }
    for (int c = 0; c < 3; c++) {
      bg[c] = frand(&seed);
      g[c] = 2.0f * frand(&seed) - 1.0f;
    }
    ngp_composite_backward(K, rgb, dens, dt, bg, g, drgb, ddens);
    /* L = g . C; central differences in float with h = 1e-2 (C is smooth, curvature small). */
    const float h = 1e-2f;
    for (int i = 0; i < K * 3; i++) {
      float keep = rgb[i];
      rgb[i] = keep + h;
      float lp = loss_of(K, rgb, dens, dt, bg, g);
      rgb[i] = keep - h;
      float lm = loss_of(K, rgb, dens, dt, bg, g);
      rgb[i] = keep;
      assert_close(drgb[i], (lp - lm) / (2.0f * h), 2e-4, 1e-2, "d raw_rgb", i);
    }
    for (int i = 0; i < K; i++) {
      float keep = dens[i];
      dens[i] = keep + h;
      float lp = loss_of(K, rgb, dens, dt, bg, g);
      dens[i] = keep - h;
      float lm = loss_of(K, rgb, dens, dt, bg, g);
      dens[i] = keep;
      assert_close(ddens[i], (lp - lm) / (2.0f * h), 2e-4, 1e-2, "d raw_density", i);
    }
  }
  /* Cut off after sample 1: later samples get zero gradient; the earlier ones still match FD. */
  dens[1] = logf(1e4f);
  dt[1] = 0.01f;
  ngp_composite_backward(K, rgb, dens, dt, bg, g, drgb, ddens);
  for (int i = 2; i < K; i++) {
    assert_true(ddens[i] == 0.0f);
    for (int c = 0; c < 3; c++)
      assert_true(drgb[3 * i + c] == 0.0f);
  }
  for (int c = 0; c < 3; c++)
    assert_true(drgb[c] != 0.0f);
  /* The truncated exp derivative. */
  assert_true(ngp_density_activation_derivative(20.0f) == expf(15.0f));
  assert_true(ngp_density_activation_derivative(-20.0f) == expf(-15.0f));
  assert_true(ngp_density_activation_derivative(3.0f) == expf(3.0f));
}

/* ---- Losses --------------------------------------------------------------------------------------- */

/* RelativeL2, Mape and Smape treat their denominator as a constant in the gradient (as
 * instant-ngp and tcnn do): finite differences are taken with the denominator frozen at pred. */
static double frozen_denominator(ngp_loss_type t, float pred, float target) {
  switch (t) {
  case NGP_LOSS_RELATIVE_L2: return (double)(pred * pred + 1e-2f);
  case NGP_LOSS_MAPE: return (double)(fabsf(pred) + 1e-2f);
  case NGP_LOSS_SMAPE: return (double)(0.5f * (fabsf(pred) + fabsf(target)) + 1e-2f);
  default: return 1.0;
  }
}

static void test_losses(void **state) {
  (void)state;
  const ngp_loss_type types[] = {NGP_LOSS_L2,    NGP_LOSS_L1,    NGP_LOSS_RELATIVE_L2, NGP_LOSS_MAPE,
                                 NGP_LOSS_SMAPE, NGP_LOSS_HUBER, NGP_LOSS_LOG_L1};
  const float pred[3] = {0.62f, 0.15f, 0.33f}, target[3] = {0.2f, 0.19f, 0.9f};
  for (int ti = 0; ti < 7; ti++) {
    ngp_loss_type t = types[ti];
    float grad[3];
    ngp_loss_rgb(t, pred, target, grad);
    for (int c = 0; c < 3; c++) {
      const double h = 1e-3;
      float g0;
      double d0 = frozen_denominator(t, pred[c], target[c]);
      float pp = (float)((double)pred[c] + h), pm = (float)((double)pred[c] - h);
      double lp = (double)ngp_loss_channel(t, pp, target[c], &g0) * frozen_denominator(t, pp, target[c]) / d0;
      double lm = (double)ngp_loss_channel(t, pm, target[c], &g0) * frozen_denominator(t, pm, target[c]) / d0;
      assert_close(grad[c], (lp - lm) / ((double)pp - (double)pm), 1e-3, 1e-3, "loss gradient", ti * 3 + c);
    }
  }
  /* Hand values. */
  float grad[3];
  const float p1[3] = {0.3f, 0.5f, 0.5f}, t1[3] = {0.1f, 0.5f, 0.7f};
  assert_close(ngp_loss_rgb(NGP_LOSS_L2, p1, t1, grad), 0.08, 1e-7, 0, "L2", 0);
  assert_close(grad[0], 0.4, 1e-6, 0, "L2 grad", 0);
  assert_close(ngp_loss_rgb(NGP_LOSS_L1, p1, t1, grad), 0.4, 1e-7, 0, "L1", 0);
  assert_close(grad[2], -1.0, 0, 0, "L1 grad", 2);
  /* Huber (delta 0.1, / 5): e^2 and 2e inside |e| <= 0.1, (|e| - 0.05)/5 and 0.2 sign(e) out. */
  for (int i = -20; i <= 20; i++) {
    float e = 0.005f * (float)i, gh, g2;
    float lh = ngp_loss_channel(NGP_LOSS_HUBER, 0.5f + e, 0.5f, &gh);
    float l2 = ngp_loss_channel(NGP_LOSS_L2, 0.5f + e, 0.5f, &g2);
    assert_close(lh, l2, 1e-7, 1e-5, "Huber = L2", i);
    assert_close(gh, g2, 1e-6, 1e-5, "Huber grad = L2 grad", i);
  }
  float gh;
  assert_close(ngp_loss_channel(NGP_LOSS_HUBER, 0.9f, 0.5f, &gh), (0.4 - 0.05) / 5.0, 1e-6, 0, "Huber", 1);
  assert_close(gh, 0.2, 1e-7, 0, "Huber grad", 1);
  assert_close(ngp_loss_channel(NGP_LOSS_HUBER, 0.1f, 0.5f, &gh), (0.4 - 0.05) / 5.0, 1e-6, 0, "Huber", 2);
  assert_close(gh, -0.2, 1e-7, 0, "Huber grad", 2);
  assert_close(ngp_loss_channel(NGP_LOSS_LOG_L1, 0.9f, 0.4f, &gh), log(1.5), 1e-6, 0, "LogL1", 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_step_rule),
      cmocka_unit_test(test_camera_ray),
      cmocka_unit_test(test_lens_roundtrip),
      cmocka_unit_test(test_ray_aabb),
      cmocka_unit_test(test_march_block),
      cmocka_unit_test(test_march_jitter_and_cap),
      cmocka_unit_test(test_empty_blocks),
      cmocka_unit_test(test_march_block_skip),
      cmocka_unit_test(test_composite_forward),
      cmocka_unit_test(test_composite_backward),
      cmocka_unit_test(test_losses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
