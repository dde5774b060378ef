/* test_occupancy.c: the cascaded occupancy grid (NGP-SPEC §4): Morton codes, the cell of a point
 * per cascade, mip_from_pos/mip_from_dt, the update schedule, an update with an analytic density
 * (a dense sphere): masking, decayed running max, mean, threshold and mip pooling; and
 * mark_untrained against a brute-force check, with its timing on 100 cameras. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ngp_nerf_math.h"
#include "nerf/occupancy.h"

static double now_s(void) {
  struct timespec ts;
  timespec_get(&ts, TIME_UTC); /* C11; no POSIX feature macro needed */
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bit(const ngp_occupancy *g, int level, uint32_t morton) {
  return (g->bitfield[(size_t)level * NGP_GRID_CELLS / 8 + morton / 8] >> (morton % 8)) & 1;
}

static void test_morton(void **state) {
  (void)state;
  assert_int_equal(ngp_morton3d(1, 0, 0), 1);
  assert_int_equal(ngp_morton3d(0, 1, 0), 2);
  assert_int_equal(ngp_morton3d(0, 0, 1), 4);
  assert_int_equal(ngp_morton3d(3, 0, 0), 9); /* x bits at 0 and 3 */
  assert_int_equal(ngp_morton3d(127, 127, 127), NGP_GRID_CELLS - 1);
  uint32_t seen_max = 0;
  for (uint32_t z = 0; z < 128; z++)
    for (uint32_t y = 0; y < 128; y++)
      for (uint32_t x = 0; x < 128; x++) {
        uint32_t m = ngp_morton3d(x, y, z), a, b, c;
        ngp_morton3d_decode(m, &a, &b, &c);
        if (a != x || b != y || c != z) {
          print_error("morton round trip (%u,%u,%u) -> %u -> (%u,%u,%u)\n", x, y, z, m, a, b, c);
          fail();
        }
        if (m > seen_max) seen_max = m;
      }
  assert_int_equal(seen_max, NGP_GRID_CELLS - 1); /* a bijection onto [0, 128^3) */
}

static void expect_cell(float x, float y, float z, int mip, int cx, int cy, int cz) {
  const float p[3] = {x, y, z};
  uint32_t got = ngp_cascaded_grid_idx(p, mip);
  uint32_t want = cx < 0 ? NGP_NO_CELL : ngp_morton3d((uint32_t)cx, (uint32_t)cy, (uint32_t)cz);
  if (got != want) {
    print_error("cell of (%g,%g,%g) at cascade %d: got %u, want %u\n", (double)x, (double)y, (double)z, mip, got, want);
    fail();
  }
}

static void test_cells_and_mips(void **state) {
  (void)state;
  /* cascade m: q = (p - 0.5) 2^-m + 0.5, cell = int(128 q). */
  expect_cell(0.5f, 0.5f, 0.5f, 0, 64, 64, 64);
  expect_cell(0.0f, 0.999f, 0.25f, 0, 0, 127, 32);
  expect_cell(1.0f, 0.5f, 0.5f, 0, -1, 0, 0); /* the upper face is outside */
  expect_cell(0.5f, -0.1f, 0.5f, 0, -1, 0, 0);
  expect_cell(1.0f, -0.2f, 0.9f, 1, 96, 19, 89); /* q = 0.75, 0.15, 0.7 */
  expect_cell(2.4f, -1.4f, 0.5f, 2, 124, 3, 64); /* q = 0.975, 0.025, 0.5 */
  expect_cell(2.6f, 0.5f, 0.5f, 2, -1, 0, 0);
  expect_cell(2.6f, 0.5f, 0.5f, 3, 97, 64, 64); /* q = 0.7625 */
  /* mip_from_pos: smallest cascade containing the point (frexp exponent of max|p - 0.5| + 1). */
  const float p0[3] = {0.5f, 0.5f, 0.9f}, p1[3] = {0.5f, 0.5f, 1.2f}, p2[3] = {2.0f, 0.5f, 0.5f},
              p3[3] = {0.5f, -3.0f, 0.5f};
  assert_int_equal(ngp_mip_from_pos(p0, 7), 0);
  assert_int_equal(ngp_mip_from_pos(p1, 7), 1);
  assert_int_equal(ngp_mip_from_pos(p2, 7), 2);
  assert_int_equal(ngp_mip_from_pos(p3, 7), 3);
  assert_int_equal(ngp_mip_from_pos(p3, 2), 2); /* clamped to the grid's cascades */
  /* mip_from_dt: steps below half a cascade-0 cell keep mip_from_pos; larger steps use the
   * cascade whose cells are about as wide. */
  assert_int_equal(ngp_mip_from_dt(NGP_MIN_STEP, p0, 7), 0);
  assert_int_equal(ngp_mip_from_dt(0.01f, p0, 7), 2); /* 0.01 * 256 = 2.56 -> exponent 2 */
  assert_int_equal(ngp_mip_from_dt(0.01f, p3, 7), 3);
  assert_int_equal(ngp_mip_from_dt(1.0f, p0, 7), 7);
  assert_int_equal(ngp_mip_from_dt(1.0f, p0, 4), 4);
}

static void test_update_due(void **state) {
  (void)state;
  for (int s = 0; s < 32; s++)
    assert_true(ngp_occupancy_update_due(s));
  assert_true(ngp_occupancy_update_due(32));
  assert_false(ngp_occupancy_update_due(33));
  assert_true(ngp_occupancy_update_due(48));
  assert_false(ngp_occupancy_update_due(49));
  assert_true(ngp_occupancy_update_due(256));
  assert_false(ngp_occupancy_update_due(264));
  assert_true(ngp_occupancy_update_due(272));
  assert_true(ngp_occupancy_update_due(16000));
  assert_false(ngp_occupancy_update_due(16001));
}

/* ---- Update with an analytic density ------------------------------------------------------------- */

#define R_SPHERE 0.2f

typedef struct {
  int calls, max_batch;
  long total;
} sphere_stats;

/* raw density 10 (sigma*MIN_STEP ~ 37) inside a sphere of radius 0.2 at the centre, -10 outside. */
static void sphere_density(int S, const float *pos, float *raw, void *user) {
  sphere_stats *st = user;
  st->calls++;
  st->total += S;
  if (S > st->max_batch) st->max_batch = S;
  for (int i = 0; i < S; i++) {
    float dx = pos[3 * i] - 0.5f, dy = pos[3 * i + 1] - 0.5f, dz = pos[3 * i + 2] - 0.5f;
    raw[i] = dx * dx + dy * dy + dz * dz < R_SPHERE * R_SPHERE ? 10.0f : -10.0f;
  }
}

static float cell_centre_dist(uint32_t x, uint32_t y, uint32_t z, int mip) {
  float dx = ngp_cell_to_pos(x, 0.5f, mip) - 0.5f, dy = ngp_cell_to_pos(y, 0.5f, mip) - 0.5f,
        dz = ngp_cell_to_pos(z, 0.5f, mip) - 0.5f;
  return sqrtf(dx * dx + dy * dy + dz * dz);
}

static void test_update_sphere(void **state) {
  (void)state;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, 2, &err), NGP_OK);
  /* Mask: cells with x < 8 of cascade 0, and one cell in the middle of the sphere. */
  const uint32_t masked_inside = ngp_morton3d(64, 64, 64), kept = ngp_morton3d(100, 20, 20);
  for (uint32_t i = 0; i < NGP_GRID_CELLS; i++) {
    uint32_t x, y, z;
    ngp_morton3d_decode(i, &x, &y, &z);
    if (x < 8) g.density[i] = -1.0f;
  }
  g.density[masked_inside] = -1.0f;
  g.density[kept] = 5.0f; /* outside the sphere: only the decay acts on it */
  sphere_stats st = {0, 0, 0};
  const uint32_t n_uniform = 2u * NGP_GRID_CELLS; /* 128^3 per cascade, as upstream before step 256 */
  ngp_occupancy_update(&g, n_uniform, 0, 0.95f, 1234, sphere_density, &st, 2);
  assert_int_equal(st.total, (long)n_uniform);
  assert_true(st.max_batch <= NGP_OCCUPANCY_BATCH && st.calls == (int)((n_uniform + 65535) / 65536));
  ngp_occupancy_update(&g, n_uniform / 4, n_uniform / 4, 0.95f, 99, sphere_density, &st, 2);
  ngp_occupancy_update(&g, n_uniform / 4, n_uniform / 4, 0.95f, 7, sphere_density, &st, 2);
  assert_int_equal(g.n_updates, 3);

  /* The decayed running max, and masked cells stay masked. */
  assert_true(fabsf(g.density[kept] - 5.0f * 0.95f * 0.95f * 0.95f) < 1e-5f);
  assert_true(g.density[masked_inside] == -1.0f);
  /* Mean over cascade 0 and the threshold min(0.01, mean). */
  double sum = 0.0;
  for (uint32_t i = 0; i < NGP_GRID_CELLS; i++)
    sum += (double)fmaxf(g.density[i], 0.0f);
  double mean = sum / NGP_GRID_CELLS;
  assert_true(fabs((double)g.mean - mean) <= 1e-5 * mean);
  float thresh = fminf(0.01f, g.mean);
  size_t n_occ = 0, n_inner = 0, n_inner_occ = 0;
  for (uint32_t i = 0; i < NGP_GRID_CELLS; i++) {
    int b = bit(&g, 0, i);
    assert_int_equal(b, g.density[i] > thresh);
    n_occ += (size_t)b;
    uint32_t x, y, z;
    ngp_morton3d_decode(i, &x, &y, &z);
    float r = cell_centre_dist(x, y, z, 0);
    if (b && i != kept) assert_true(r <= R_SPHERE + 0.0068f); /* occupied cells touch the sphere */
    if (x < 8) assert_int_equal(b, 0);
    if (r < R_SPHERE - 0.01f && x >= 8 && i != masked_inside) {
      n_inner++;
      n_inner_occ += (size_t)b;
    }
  }
  assert_int_equal(bit(&g, 0, masked_inside), 0);
  assert_int_equal(g.n_occupied, n_occ);
  printf("update: mean %.4f, %zu occupied cells in cascade 0; %zu of %zu cells well inside the sphere\n",
         (double)g.mean, n_occ, n_inner_occ, n_inner);
  assert_true(n_inner_occ >= n_inner * 9 / 10);

  /* Mip pooling: a cascade-1 cell in the central half is set iff its own value passes the
   * threshold or one of the 8 cascade-0 cells it covers is set; elsewhere only its own value. */
  for (uint32_t i = 0; i < NGP_GRID_CELLS; i++) {
    uint32_t x, y, z;
    ngp_morton3d_decode(i, &x, &y, &z);
    int want = g.density[NGP_GRID_CELLS + i] > thresh;
    if (x >= 32 && x < 96 && y >= 32 && y < 96 && z >= 32 && z < 96)
      for (uint32_t k = 0; k < 8; k++)
        want |=
            bit(&g, 0, ngp_morton3d(2 * (x - 32) + (k & 1), 2 * (y - 32) + ((k >> 1) & 1), 2 * (z - 32) + (k >> 2)));
    if (bit(&g, 1, i) != want) {
      print_error("cascade-1 cell (%u,%u,%u): bit %d, want %d\n", x, y, z, bit(&g, 1, i), want);
      fail();
    }
  }
  /* The pooled cascade 1 contains the sphere as seen from cascade 0. */
  const float centre[3] = {0.5f, 0.5f, 0.55f};
  assert_true(ngp_occupancy_occupied(&g, centre, 1));
  ngp_occupancy_free(&g);
}

/* ---- mark_untrained ------------------------------------------------------------------------------ */

/* A camera at `pos` looking at `target` (x right, y down, z forward). */
static void look_at(const float pos[3], const float target[3], float *m) {
  float z[3] = {target[0] - pos[0], target[1] - pos[1], target[2] - pos[2]};
  float n = sqrtf(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
  for (int k = 0; k < 3; k++)
    z[k] /= n;
  float up[3] = {0.0f, -1.0f, 0.0f}; /* ngp y points down for an upright image here */
  if (fabsf(z[1]) > 0.99f) up[0] = 1.0f, up[1] = 0.0f;
  float x[3] = {up[1] * z[2] - up[2] * z[1], up[2] * z[0] - up[0] * z[2], up[0] * z[1] - up[1] * z[0]};
  n = sqrtf(x[0] * x[0] + x[1] * x[1] + x[2] * x[2]);
  for (int k = 0; k < 3; k++)
    x[k] /= -n;
  float y[3] = {z[1] * x[2] - z[2] * x[1], z[2] * x[0] - z[0] * x[2], z[0] * x[1] - z[1] * x[0]};
  for (int r = 0; r < 3; r++) {
    m[r * 4 + 0] = x[r];
    m[r * 4 + 1] = y[r];
    m[r * 4 + 2] = z[r];
    m[r * 4 + 3] = pos[r];
  }
}

static void init_frame(ngp_frame *f, const float pos[3], const float target[3], int w, int h, float focal) {
  memset(f, 0, sizeof *f);
  look_at(pos, target, f->xform);
  f->focal[0] = f->focal[1] = focal;
  f->principal[0] = f->principal[1] = 0.5f;
  f->image.width = w;
  f->image.height = h;
  f->lens.mode = NGP_LENS_PINHOLE;
}

/* Upstream's per-cell test, brute force over the 8 corners of one cell (pinhole or distorted). */
static int cell_seen_brute(const ngp_frame *f, uint32_t cx, uint32_t cy, uint32_t cz, int mip) {
  for (int k = 0; k < 8; k++) {
    float p[3] = {ngp_cell_to_pos(cx + (uint32_t)(k & 1), 0.0f, mip),
                  ngp_cell_to_pos(cy + (uint32_t)((k >> 1) & 1), 0.0f, mip),
                  ngp_cell_to_pos(cz + (uint32_t)(k >> 2), 0.0f, mip)};
    const float *m = f->xform;
    float d[3] = {p[0] - m[3], p[1] - m[7], p[2] - m[11]};
    float len = sqrtf(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
    for (int c = 0; c < 3; c++)
      d[c] /= len;
    if (d[0] * m[2] + d[1] * m[6] + d[2] * m[10] < 1e-4f) continue;
    float u, v, r[3];
    ngp_pos_to_uv(m, f->focal, f->principal, f->lens.mode, f->lens.params, f->image.width, f->image.height, p, &u, &v);
    if (!(u > 0.0f && v > 0.0f && u < 1.0f && v < 1.0f)) continue;
    ngp_uv_to_dir(m, f->focal, f->principal, f->lens.mode, f->lens.params, f->image.width, f->image.height, u, v, r);
    float rl = sqrtf(r[0] * r[0] + r[1] * r[1] + r[2] * r[2]);
    float e = 0.0f;
    for (int c = 0; c < 3; c++)
      e += (r[c] / rl - d[c]) * (r[c] / rl - d[c]);
    if (e < 1e-6f) return 1;
  }
  return 0;
}

static void check_against_brute(const ngp_occupancy *g, const ngp_frame *f, int n_checks, uint32_t seed) {
  int bad = 0, n_seen = 0;
  for (int i = 0; i < n_checks; i++) {
    seed = seed * 1664525u + 1013904223u;
    int mip = (int)((seed >> 8) % (uint32_t)g->n_cascades);
    seed = seed * 1664525u + 1013904223u;
    uint32_t idx = (seed >> 5) % NGP_GRID_CELLS, x, y, z;
    ngp_morton3d_decode(idx, &x, &y, &z);
    int want = cell_seen_brute(f, x, y, z, mip);
    float got = g->density[(size_t)mip * NGP_GRID_CELLS + idx];
    n_seen += want;
    if ((got == 0.0f) != (want == 1) || (got != 0.0f && got != -1.0f)) {
      if (bad++ < 5)
        print_error("cascade %d cell (%u,%u,%u): %g, brute force says seen=%d\n", mip, x, y, z, (double)got, want);
    }
  }
  assert_int_equal(bad, 0);
  assert_true(n_seen > n_checks / 50 && n_seen < n_checks - n_checks / 50); /* both kinds were checked */
}

static void test_mark_untrained_one_camera(void **state) {
  (void)state;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, 2, &err), NGP_OK);
  ngp_frame f;
  const float pos[3] = {0.5f, 0.5f, 0.2f}, target[3] = {0.5f, 0.5f, 1.0f}; /* looks along +z */
  init_frame(&f, pos, target, 100, 80, 100.0f);
  ngp_scene scene;
  memset(&scene, 0, sizeof scene);
  scene.frames = &f;
  scene.n_frames = 1;
  ngp_occupancy_mark_untrained(&g, &scene, 2);
  /* Hand checks: behind the camera, outside the frustum, inside it. */
  for (int mip = 0; mip < 2; mip++) {
    for (uint32_t i = 0; i < NGP_GRID_CELLS; i++) {
      uint32_t x, y, z;
      ngp_morton3d_decode(i, &x, &y, &z);
      float d = g.density[(size_t)mip * NGP_GRID_CELLS + i];
      float zc1 = ngp_cell_to_pos(z + 1, 0.0f, mip) - 0.2f; /* far face depth */
      float cx = ngp_cell_to_pos(x, 0.5f, mip) - 0.5f, cy = ngp_cell_to_pos(y, 0.5f, mip) - 0.5f;
      float cz = ngp_cell_to_pos(z, 0.5f, mip) - 0.2f;
      float half = ldexpf(1.0f, mip) / 256.0f;
      if (zc1 <= 0.0f) assert_true(d == -1.0f); /* entirely behind */
      /* tan of the half angles: 50/100 across x, 40/100 down y. */
      else if (cz > half &&
               (fabsf(cx) - half > 0.5f * (cz + half) + 1e-3f || fabsf(cy) - half > 0.4f * (cz + half) + 1e-3f))
        assert_true(d == -1.0f); /* beside the frustum */
      else if (cz > 2.0f * half && fabsf(cx) < 0.5f * cz - 2.0f * half && fabsf(cy) < 0.4f * cz - 2.0f * half)
        assert_true(d == 0.0f); /* well inside */
      else
        assert_true(d == 0.0f || d == -1.0f);
    }
  }
  /* Seen cells are occupied until the first update. */
  for (uint32_t i = 0; i < NGP_GRID_CELLS; i++)
    assert_int_equal(bit(&g, 0, i), g.density[i] == 0.0f);
  check_against_brute(&g, &f, 200000, 5);

  /* A distorted, rotated camera: the row-interval search must agree with brute force. */
  const float pos2[3] = {1.3f, 0.2f, -0.4f}, target2[3] = {0.4f, 0.6f, 0.5f};
  init_frame(&f, pos2, target2, 120, 90, 70.0f);
  f.principal[0] = 0.45f;
  f.lens.mode = NGP_LENS_OPENCV;
  f.lens.params[0] = -0.15f, f.lens.params[1] = 0.03f, f.lens.params[2] = 0.002f, f.lens.params[3] = -0.001f;
  ngp_occupancy_mark_untrained(&g, &scene, 2);
  check_against_brute(&g, &f, 100000, 11);
  f.lens.mode = NGP_LENS_OPENCV_FISHEYE;
  f.lens.params[0] = 0.1f, f.lens.params[1] = -0.02f, f.lens.params[2] = 0.003f, f.lens.params[3] = 0.0f;
  ngp_occupancy_mark_untrained(&g, &scene, 2);
  check_against_brute(&g, &f, 100000, 13);
  ngp_occupancy_free(&g);
}

/* Timing on a NeRF-synthetic-like rig: 100 cameras on a hemisphere looking at the centre, 800x800,
 * focal 1111; 4 cascades; 2 threads. Also one full update with the sphere callback. */
static void test_mark_untrained_timing(void **state) {
  (void)state;
  enum { NC = 100 };
  ngp_frame *frames = calloc(NC, sizeof *frames);
  assert_non_null(frames);
  for (int i = 0; i < NC; i++) {
    /* Fibonacci points on the lower hemisphere (ngp y points down, so these look from above, as
     * NeRF-synthetic's cameras do): the far upper region is seen by none. */
    float a = 2.399963f * (float)i, h = -((float)i + 0.5f) / (float)NC;
    float r = sqrtf(1.0f - h * h);
    const float pos[3] = {0.5f + 1.3f * r * cosf(a), 0.5f + 1.3f * h, 0.5f + 1.3f * r * sinf(a)};
    const float target[3] = {0.5f, 0.5f, 0.5f};
    init_frame(&frames[i], pos, target, 800, 800, 1111.0f);
  }
  ngp_scene scene;
  memset(&scene, 0, sizeof scene);
  scene.frames = frames;
  scene.n_frames = NC;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, 4, &err), NGP_OK);
  double t0 = now_s();
  ngp_occupancy_mark_untrained(&g, &scene, 2);
  double t1 = now_s();
  size_t masked = 0;
  for (size_t i = 0; i < (size_t)4 * NGP_GRID_CELLS; i++)
    masked += g.density[i] < 0.0f;
  sphere_stats st = {0, 0, 0};
  double t2 = now_s();
  ngp_occupancy_update(&g, 4u * NGP_GRID_CELLS, 0, 0.95f, 1, sphere_density, &st, 2);
  double t3 = now_s();
  printf("mark_untrained: 100 cameras, 4 cascades, 2 threads: %.3f s (%zu of %d cells masked)\n", t1 - t0, masked,
         4 * NGP_GRID_CELLS);
  printf("update: 4 x 128^3 uniform samples, analytic sphere callback, 2 threads: %.3f s\n", t3 - t2);
  /* Every camera sees the centre; far cells above the rig are seen by none. */
  const float centre[3] = {0.5f, 0.5f, 0.5f};
  assert_true(g.density[ngp_cascaded_grid_idx(centre, 0)] >= 0.0f);
  assert_true(masked > 0);
  assert_true(t1 - t0 < 30.0); /* generous: sanitiser builds are slow */
  ngp_occupancy_free(&g);
  free(frames);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_morton),
      cmocka_unit_test(test_cells_and_mips),
      cmocka_unit_test(test_update_due),
      cmocka_unit_test(test_update_sphere),
      cmocka_unit_test(test_mark_untrained_one_camera),
      cmocka_unit_test(test_mark_untrained_timing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
