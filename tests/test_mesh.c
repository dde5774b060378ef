/* test_mesh.c: meshes (engine/mesh.h, engine/marching_cubes.h). The case table's structure;
 * marching cubes of an analytic sphere (closed, outward, near the true surface both ways); PLY and
 * OBJ read back; the transforms.json frame; and a mesh from a short training on an ngp-synth scene
 * with a non-trivial scale and offset, against the generator's exact surfaces. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "counting_backend.h"
#include "common/ngp_math.h"
#include "core/fs.h"
#include "engine/marching_cubes.h"
#include "engine/mesh.h"
#include "engine/session.h"

/* ---- Geometry helpers ------------------------------------------------------------------------ */

static float dot3(const float *a, const float *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
static void sub3(const float *a, const float *b, float *o) {
  o[0] = a[0] - b[0];
  o[1] = a[1] - b[1];
  o[2] = a[2] - b[2];
}

/* |a + v ab + w ac - p| */
static float dist_at(const float *p, const float *a, const float *ab, const float *ac, float v, float w) {
  float q[3];
  for (int k = 0; k < 3; k++)
    q[k] = a[k] + v * ab[k] + w * ac[k] - p[k];
  return sqrtf(dot3(q, q));
}

/* Distance from p to triangle abc: the closest point by Voronoi regions (corners, edges, face). */
static float point_triangle_distance(const float *p, const float *a, const float *b, const float *c) {
  float ab[3], ac[3], ap[3], bp[3], cp[3];
  sub3(b, a, ab);
  sub3(c, a, ac);
  sub3(p, a, ap);
  sub3(p, b, bp);
  sub3(p, c, cp);
  float d1 = dot3(ab, ap), d2 = dot3(ac, ap), d3 = dot3(ab, bp), d4 = dot3(ac, bp), d5 = dot3(ab, cp),
        d6 = dot3(ac, cp);
  if (d1 <= 0.0f && d2 <= 0.0f) return dist_at(p, a, ab, ac, 0.0f, 0.0f);
  if (d3 >= 0.0f && d4 <= d3) return dist_at(p, a, ab, ac, 1.0f, 0.0f);
  if (d6 >= 0.0f && d5 <= d6) return dist_at(p, a, ab, ac, 0.0f, 1.0f);
  float vc = d1 * d4 - d3 * d2, vb = d5 * d2 - d1 * d6, va = d3 * d6 - d5 * d4;
  if (vc <= 0.0f && d1 >= 0.0f && d3 <= 0.0f) return dist_at(p, a, ab, ac, d1 / (d1 - d3), 0.0f);
  if (vb <= 0.0f && d2 >= 0.0f && d6 <= 0.0f) return dist_at(p, a, ab, ac, 0.0f, d2 / (d2 - d6));
  if (va <= 0.0f && d4 - d3 >= 0.0f && d5 - d6 >= 0.0f) {
    float w = (d4 - d3) / ((d4 - d3) + (d5 - d6));
    return dist_at(p, a, ab, ac, 1.0f - w, w);
  }
  float den = 1.0f / (va + vb + vc);
  return dist_at(p, a, ab, ac, vb * den, vc * den);
}

static float mesh_distance(const float *p, const float *pos, const uint32_t *tris, int64_t n_tris) {
  float best = INFINITY;
  for (int64_t t = 0; t < n_tris; t++) {
    float d = point_triangle_distance(p, pos + (size_t)tris[t * 3] * 3, pos + (size_t)tris[t * 3 + 1] * 3,
                                      pos + (size_t)tris[t * 3 + 2] * 3);
    if (d < best) best = d;
  }
  return best;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_float(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

/* Closed and consistently oriented: every directed edge appears once and its reverse once. Returns
 * the number of undirected edges. */
static int64_t check_closed(const uint32_t *tris, int64_t n_tris) {
  uint64_t *e = malloc((size_t)n_tris * 3 * sizeof *e);
  assert_non_null(e);
  for (int64_t t = 0; t < n_tris; t++)
    for (int k = 0; k < 3; k++) {
      uint32_t a = tris[t * 3 + k], b = tris[t * 3 + (k + 1) % 3];
      assert_true(a != b);
      e[t * 3 + k] = (uint64_t)a << 32 | b;
    }
  size_t n = (size_t)n_tris * 3;
  qsort(e, n, sizeof *e, cmp_u64);
  for (size_t i = 0; i + 1 < n; i++)
    if (e[i] == e[i + 1]) fail_msg("directed edge %llu -> %llu used twice", e[i] >> 32, e[i] & 0xffffffffu);
  for (size_t i = 0; i < n; i++) {
    uint64_t rev = (e[i] & 0xffffffffu) << 32 | (e[i] >> 32);
    if (!bsearch(&rev, e, n, sizeof *e, cmp_u64))
      fail_msg("edge %llu -> %llu has no twin: a hole", e[i] >> 32, e[i] & 0xffffffffu);
  }
  free(e);
  return (int64_t)n / 2;
}

static double signed_volume(const float *pos, const uint32_t *tris, int64_t n_tris) {
  double v = 0.0;
  for (int64_t t = 0; t < n_tris; t++) {
    double a[3], b[3], c[3];
    for (int k = 0; k < 3; k++) {
      a[k] = pos[(size_t)tris[t * 3] * 3 + k];
      b[k] = pos[(size_t)tris[t * 3 + 1] * 3 + k];
      c[k] = pos[(size_t)tris[t * 3 + 2] * 3 + k];
    }
    v +=
        (a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0])) /
        6.0;
  }
  return v;
}

/* ---- The case table ---------------------------------------------------------------------------- */

/* Structural facts of marching cubes: nothing for the empty and full cells; a case and its
 * complement cut the same edges; every edge a case's triangles use crosses the iso level, and every
 * crossing edge is used; one corner in gives one triangle. (A case and its complement may differ:
 * on an ambiguous face the rule separates the inside corners, so the complement joins them.) */
static void test_case_table(void **state) {
  (void)state;
  const ngp_mc_case *t = ngp_mc_table();
  assert_int_equal(t[0].n, 0);
  assert_int_equal(t[255].n, 0);
  int max_tris = 0;
  for (int c = 0; c < 256; c++) {
    bool used[12] = {false};
    for (int k = 0; k < 3 * t[c].n; k++)
      used[t[c].edges[k]] = true;
    for (int e = 0; e < 12; e++) {
      bool cross = ((c >> ngp_mc_edge_corner(e, 0)) & 1) != ((c >> ngp_mc_edge_corner(e, 1)) & 1);
      if (cross != used[e]) fail_msg("case %d: edge %d crosses %d, used %d", c, e, cross, used[e]);
    }
    if (t[c].n > max_tris) max_tris = t[c].n;
  }
  for (int i = 0; i < 8; i++)
    assert_int_equal(t[1 << i].n, 1);
  /* The classic table's maximum is 5 triangles a cell; the separating face rule stays within it. */
  assert_true(max_tris <= 5);
}

/* ---- The analytic sphere ------------------------------------------------------------------------ */

typedef struct {
  float c[3], r;
} sphere;

/* r - |p - c|: positive inside, a surface at 0. */
static ngp_status sphere_field(void *user, int n, const float *pos, float *values, ngp_error *err) {
  (void)err;
  const sphere *s = user;
  for (int i = 0; i < n; i++) {
    float d[3];
    sub3(pos + (size_t)i * 3, s->c, d);
    values[i] = s->r - sqrtf(dot3(d, d));
  }
  return NGP_OK;
}

static void sphere_mesh(const sphere *s, int res, int batch, ngp_mesh *m) {
  ngp_mesh_opts o;
  ngp_mesh_opts_default(&o);
  o.res = res;
  o.density_thresh = 0.0f;
  o.batch = batch;
  /* Not a cube and not centred on the sphere: sides differ, so do the steps. */
  const float bmin[3] = {-0.8f, -0.75f, -0.7f}, bmax[3] = {0.9f, 0.8f, 0.75f};
  ngp_error err;
  if (ngp_mesh_from_field(sphere_field, (void *)s, bmin, bmax, &o, m, &err) != NGP_OK) fail_msg("%s", err.msg);
}

static void test_sphere(void **state) {
  (void)state;
  const sphere s = {{0.05f, -0.02f, 0.03f}, 0.6f};
  ngp_mesh m;
  sphere_mesh(&s, 48, 5000, &m); /* a small batch: queries span partial layers */
  assert_int_equal(m.grid[0], 48);
  assert_int_equal(m.grid[1], 44); /* round(1.55 / 1.7 * 47) + 1 */
  assert_int_equal(m.grid[2], 41); /* round(1.45 / 1.7 * 47) + 1 */
  assert_true(m.n_tris > 1000);
  /* A closed surface of genus 0: V - E + F = 2. */
  int64_t n_edges = check_closed(m.tris, m.n_tris);
  assert_int_equal(m.n_verts - n_edges + m.n_tris, 2);
  /* Outward: positive volume, within 2% of the ball's. */
  double vol = signed_volume(m.pos, m.tris, m.n_tris), ball = 4.0 / 3.0 * 3.14159265358979 * 0.6 * 0.6 * 0.6;
  print_message("sphere r=0.6 at 48 samples: %lld vertices, %lld triangles, volume %.4f (ball %.4f)\n",
                (long long)m.n_verts, (long long)m.n_tris, vol, ball);
  assert_true(fabs(vol - ball) < 0.02 * ball);
  /* Both ways within h^2 / (2 r) (h = the grid step, 1.7 / 47): the error of the linear
   * interpolation of r - |p - c| along an edge, and the sagitta of a chord no longer than a cell's
   * diagonal, are below it (measured: 0.00027 and 0.00077 against 0.0011). Normals point away from
   * the centre. */
  float h = 1.7f / 47.0f, worst = 0.0f;
  for (int64_t i = 0; i < m.n_verts; i++) {
    float d[3];
    sub3(m.pos + i * 3, s.c, d);
    float r = sqrtf(dot3(d, d));
    worst = fmaxf(worst, fabsf(r - s.r));
    assert_true(dot3(d, m.normal + i * 3) / r > 0.95f);
  }
  /* Surface to mesh: 2000 points spread over the sphere (a Fibonacci lattice) each within the bound
   * of some triangle. */
  float worst_back = 0.0f;
  for (int i = 0; i < 2000; i++) {
    float z = 1.0f - (2.0f * i + 1.0f) / 2000.0f, rr = sqrtf(1.0f - z * z), phi = 2.39996323f * (float)i;
    float p[3] = {s.c[0] + s.r * rr * cosf(phi), s.c[1] + s.r * rr * sinf(phi), s.c[2] + s.r * z};
    worst_back = fmaxf(worst_back, mesh_distance(p, m.pos, m.tris, m.n_tris));
  }
  print_message("sphere: vertices within %.5f of the surface, surface within %.5f of the mesh (h = %.4f)\n",
                (double)worst, (double)worst_back, (double)h);
  assert_true(worst < h * h / (2.0f * s.r));
  assert_true(worst_back < h * h / (2.0f * s.r));
  ngp_mesh_free(&m);

  /* The same field in one batch gives the same mesh, bit for bit. */
  ngp_mesh m2, m3;
  sphere_mesh(&s, 48, 5000, &m2);
  sphere_mesh(&s, 48, 1 << 20, &m3);
  assert_int_equal(m2.n_verts, m3.n_verts);
  assert_int_equal(m2.n_tris, m3.n_tris);
  assert_memory_equal(m2.pos, m3.pos, (size_t)m2.n_verts * 3 * sizeof(float));
  assert_memory_equal(m2.tris, m3.tris, (size_t)m2.n_tris * 3 * sizeof(uint32_t));
  ngp_mesh_free(&m2);
  ngp_mesh_free(&m3);
}

/* Two spheres touching through one grid cell, and a field with NaNs: still closed. */
static ngp_status two_blobs(void *user, int n, const float *pos, float *values, ngp_error *err) {
  (void)user;
  (void)err;
  for (int i = 0; i < n; i++) {
    const float *p = pos + (size_t)i * 3;
    float a[3] = {p[0] - 0.3f, p[1], p[2]}, b[3] = {p[0] + 0.3f, p[1], p[2]};
    float v = fmaxf(0.31f - sqrtf(dot3(a, a)), 0.31f - sqrtf(dot3(b, b)));
    /* NaN far outside the blobs: treated as outside, as a backend's NaN would be. */
    values[i] = v < -0.4f ? NAN : v;
  }
  return NGP_OK;
}

static void test_touching_and_nan(void **state) {
  (void)state;
  ngp_mesh_opts o;
  ngp_mesh_opts_default(&o);
  o.res = 33;
  o.density_thresh = 0.0f;
  const float bmin[3] = {-1, -1, -1}, bmax[3] = {1, 1, 1};
  ngp_mesh m;
  ngp_error err;
  assert_int_equal(ngp_mesh_from_field(two_blobs, NULL, bmin, bmax, &o, &m, &err), NGP_OK);
  assert_true(m.n_tris > 0);
  check_closed(m.tris, m.n_tris);
  for (int64_t i = 0; i < m.n_verts * 3; i++)
    assert_true(isfinite(m.pos[i]));
  ngp_mesh_free(&m);
  /* An empty box and a too-small grid are refused with a reason. */
  const float flat[3] = {1, -1, 1};
  assert_int_equal(ngp_mesh_from_field(two_blobs, NULL, bmin, flat, &o, &m, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "is empty");
  o.res = 1;
  assert_int_equal(ngp_mesh_from_field(two_blobs, NULL, bmin, bmax, &o, &m, &err), NGP_ERR_INVALID);
}

/* White noise on a 24^3 grid, outside on the grid's faces: every one of the 256 cases, ambiguous
 * faces by the thousand, and still a closed, manifold surface. */
static void test_random_field(void **state) {
  (void)state;
  enum { N = 24 };
  ngp_mc mc;
  ngp_error err;
  assert_int_equal(ngp_mc_begin(&mc, N, N, N, 0.0f, &err), NGP_OK);
  bool seen[256] = {false};
  float layers[2][N * N];
  uint64_t h = 12345;
  for (int z = 0; z < N; z++) {
    float *l = layers[z & 1];
    for (int i = 0; i < N * N; i++) {
      h = h * 6364136223846793005ull + 1442695040888963407ull;
      bool border = z == 0 || z == N - 1 || i % N == 0 || i % N == N - 1 || i / N == 0 || i / N == N - 1;
      l[i] = border ? -1.0f : (float)(h >> 40) / 16777216.0f - 0.5f;
    }
    if (z > 0)
      for (int y = 0; y + 1 < N; y++)
        for (int x = 0; x + 1 < N; x++) {
          int c = 0;
          for (int k = 0; k < 8; k++)
            c |= (layers[(z - 1 + (k >> 2)) & 1][(y + ((k >> 1) & 1)) * N + x + (k & 1)] > 0.0f) << k;
          seen[c] = true;
        }
    assert_int_equal(ngp_mc_push_layer(&mc, l, &err), NGP_OK);
  }
  int n_seen = 0;
  for (int c = 0; c < 256; c++)
    n_seen += seen[c];
  print_message("white noise: %d of 256 cases, %lld triangles\n", n_seen, (long long)mc.n_tris);
  assert_int_equal(n_seen, 256);
  check_closed(mc.tris, mc.n_tris);
  assert_int_equal(ngp_mc_push_layer(&mc, layers[0], &err), NGP_ERR_INVALID); /* past nz */
  ngp_mc_free(&mc);
}

/* ---- Files --------------------------------------------------------------------------------------- */

typedef struct {
  int64_t n_verts, n_tris;
  float *pos, *normal;
  uint8_t *rgb;
  uint32_t *tris;
} ply_data;

/* Reads back what ngp_mesh_write writes as PLY, checking the header line by line and the body's
 * exact size. */
static void read_ply(const char *path, ply_data *out) {
  char *data;
  size_t len;
  ngp_error err;
  if (ngp_read_file(path, (size_t)1 << 30, &data, &len, &err) != NGP_OK) fail_msg("%s", err.msg);
  char *end = strstr(data, "end_header\n");
  assert_non_null(end);
  size_t body = (size_t)(end - data) + strlen("end_header\n");
  long long nv = -1, nt = -1;
  const char *expect[] = {"ply",
                          "format binary_little_endian 1.0",
                          "comment",
                          "element vertex",
                          "property float x",
                          "property float y",
                          "property float z",
                          "property float nx",
                          "property float ny",
                          "property float nz",
                          "property uchar red",
                          "property uchar green",
                          "property uchar blue",
                          "element face",
                          "property list uchar int vertex_indices",
                          "end_header"};
  char *line = data;
  for (size_t i = 0; i < sizeof expect / sizeof *expect; i++) {
    char *nl = strchr(line, '\n');
    assert_non_null(nl);
    *nl = '\0';
    if (strncmp(line, expect[i], strlen(expect[i])) != 0) fail_msg("%s: header line %zu is '%s'", path, i, line);
    if (i == 3) assert_int_equal(sscanf(line, "element vertex %lld", &nv), 1);
    if (i == 13) assert_int_equal(sscanf(line, "element face %lld", &nt), 1);
    line = nl + 1;
  }
  assert_true(nv >= 0 && nt >= 0);
  assert_int_equal(len - body, (size_t)nv * 27 + (size_t)nt * 13);
  out->n_verts = nv;
  out->n_tris = nt;
  out->pos = malloc((size_t)nv * 3 * sizeof(float) + 4);
  out->normal = malloc((size_t)nv * 3 * sizeof(float) + 4);
  out->rgb = malloc((size_t)nv * 3 + 4);
  out->tris = malloc((size_t)nt * 3 * sizeof(uint32_t) + 4);
  const uint8_t *p = (const uint8_t *)data + body;
  for (long long i = 0; i < nv; i++, p += 27) { /* the test machines are little-endian */
    memcpy(out->pos + i * 3, p, 12);
    memcpy(out->normal + i * 3, p + 12, 12);
    memcpy(out->rgb + i * 3, p + 24, 3);
  }
  for (long long t = 0; t < nt; t++, p += 13) {
    assert_int_equal(p[0], 3);
    memcpy(out->tris + t * 3, p + 1, 12);
    for (int k = 0; k < 3; k++)
      assert_true(out->tris[t * 3 + k] < (uint32_t)nv);
  }
  free(data);
}

static void ply_free(ply_data *d) {
  free(d->pos);
  free(d->normal);
  free(d->rgb);
  free(d->tris);
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') n++;
  closedir(d);
  return n;
}

static void test_files(void **state) {
  (void)state;
  const sphere s = {{0.0f, 0.0f, 0.0f}, 0.5f};
  ngp_mesh m;
  sphere_mesh(&s, 12, 1 << 20, &m);
  m.rgb = malloc((size_t)m.n_verts * 3 * sizeof(float));
  for (int64_t i = 0; i < m.n_verts * 3; i++)
    m.rgb[i] = (float)(i % 7) / 6.0f;
  char *dir = ngp_test_tmpdir("mesh_files");
  char *ply = ngp_test_path(dir, "m.ply"), *obj = ngp_test_path(dir, "m.obj"), *upper = ngp_test_path(dir, "M.PLY");
  ngp_error err;
  /* An existing file is replaced whole. */
  ngp_test_write_text(ply, "old");
  assert_int_equal(ngp_mesh_write(ply, &m, &err), NGP_OK);
  assert_int_equal(ngp_mesh_write(obj, &m, &err), NGP_OK);
  assert_int_equal(ngp_mesh_write(upper, &m, &err), NGP_OK);
  assert_int_equal(count_entries(dir), 3); /* no temporary file left */

  ply_data d;
  read_ply(ply, &d);
  assert_int_equal(d.n_verts, m.n_verts);
  assert_int_equal(d.n_tris, m.n_tris);
  assert_memory_equal(d.pos, m.pos, (size_t)m.n_verts * 3 * sizeof(float));
  assert_memory_equal(d.tris, m.tris, (size_t)m.n_tris * 3 * sizeof(uint32_t));
  for (int64_t i = 0; i < m.n_verts * 3; i++)
    assert_int_equal(d.rgb[i], (int)lrintf(m.rgb[i] * 255.0f));
  ply_free(&d);

  /* OBJ: v with colours, vn, f a//a ...; 1-based. */
  FILE *f = fopen(obj, "r");
  assert_non_null(f);
  char line[256];
  int64_t nv = 0, nn = 0, nf = 0;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "v ", 2) == 0) {
      float p[3], c[3];
      assert_int_equal(sscanf(line, "v %f %f %f %f %f %f", &p[0], &p[1], &p[2], &c[0], &c[1], &c[2]), 6);
      for (int k = 0; k < 3; k++) {
        assert_true(fabsf(p[k] - m.pos[nv * 3 + k]) < 1e-6f);
        assert_true(fabsf(c[k] - m.rgb[nv * 3 + k]) < 0.5f / 255.0f + 1e-4f);
      }
      nv++;
    } else if (strncmp(line, "vn ", 3) == 0) {
      nn++;
    } else if (strncmp(line, "f ", 2) == 0) {
      unsigned v[6];
      assert_int_equal(sscanf(line, "f %u//%u %u//%u %u//%u", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]), 6);
      for (int k = 0; k < 3; k++)
        assert_int_equal(v[2 * k], m.tris[nf * 3 + k] + 1);
      nf++;
    } else {
      assert_int_equal(line[0], '#');
    }
  }
  fclose(f);
  assert_int_equal(nv, m.n_verts);
  assert_int_equal(nn, m.n_verts);
  assert_int_equal(nf, m.n_tris);

  /* Another extension is refused, and nothing is written. */
  char *stl = ngp_test_path(dir, "m.stl");
  assert_int_equal(ngp_mesh_write(stl, &m, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "m.stl: unknown mesh format '.stl'; name the file .ply or .obj");
  assert_false(ngp_path_exists(stl));
  assert_true(ngp_mesh_path_ok("a/b.OBJ"));
  assert_false(ngp_mesh_path_ok("a.ply/b"));
  free(stl);
  free(ply);
  free(obj);
  free(upper);
  free(dir);
  ngp_mesh_free(&m);
}

/* ---- The transforms.json frame --------------------------------------------------------------- */

/* ngp_mesh_to_nerf inverts the loader's mapping (ngp_nerf_matrix_to_ngp) for points, and maps
 * normals by its rotation, with a scale and an offset that are far from the defaults. */
static void test_frame(void **state) {
  (void)state;
  const float scale = 0.21f, offset[3] = {0.31f, 0.62f, 0.47f};
  const float nerf_pts[4][3] = {{0, 0, 0}, {1.5f, -0.25f, 0.75f}, {-2, 3, 0.5f}, {0.1f, 0.2f, -0.3f}};
  ngp_mesh m = {0};
  m.n_verts = 4;
  m.pos = malloc(4 * 3 * sizeof(float));
  m.normal = malloc(4 * 3 * sizeof(float));
  for (int i = 0; i < 4; i++) {
    float pose[12] = {1, 0, 0, nerf_pts[i][0], 0, 1, 0, nerf_pts[i][1], 0, 0, 1, nerf_pts[i][2]}, ngp[12];
    ngp_nerf_matrix_to_ngp(pose, scale, offset, ngp);
    m.pos[i * 3 + 0] = ngp[3];
    m.pos[i * 3 + 1] = ngp[7];
    m.pos[i * 3 + 2] = ngp[11];
    float d[3] = {nerf_pts[i][0], nerf_pts[i][1], nerf_pts[i][2] + 1.0f};
    ngp_nerf_direction_to_ngp(d, m.normal + i * 3);
  }
  ngp_mesh_to_nerf(&m, scale, offset);
  for (int i = 0; i < 4; i++)
    for (int k = 0; k < 3; k++) {
      assert_true(fabsf(m.pos[i * 3 + k] - nerf_pts[i][k]) < 1e-5f);
      assert_true(fabsf(m.normal[i * 3 + k] - (nerf_pts[i][k] + (k == 2 ? 1.0f : 0.0f))) < 1e-6f);
    }
  ngp_mesh_free(&m);
}

/* ---- Through the backend ---------------------------------------------------------------------- */

/* The densities come through the backend interface, in batches of o.batch positions a few layers
 * at a time (the counting backend forwards to the CPU and counts); with training_side they come
 * from the downloaded host model instead, and the mesh is the same. */
static void test_through_backend(void **state) {
  (void)state;
  ngp_nerf n;
  ngp_test_small_nerf(&n, 1, 2);
  /* A fresh grid holds every cell empty (density 0), which would mask everything: mark it full. */
  for (size_t i = 0; i < (size_t)n.occ.n_cascades * NGP_GRID_CELLS; i++)
    n.occ.density[i] = 1.0f;
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  bo.n_threads = 2;
  ngp_backend *b;
  ngp_error err;
  assert_int_equal(ngp_backend_create(&ngp_counting_backend_type, &n, NULL, &bo, &b, &err), NGP_OK);
  ngp_mesh_opts o;
  ngp_mesh_opts_default(&o);
  o.res = 20;
  o.batch = 20 * 20 * 3;   /* three layers a query: 7 queries for 20 layers */
  o.density_thresh = 0.0f; /* an untrained model's raw density straddles 0 */
  ngp_mesh a, c;
  assert_int_equal(ngp_mesh_extract(b, &o, &a, &err), NGP_OK);
  assert_int_equal(ngp_counting_backend_calls(b, "density"), 7);
  assert_true(ngp_counting_backend_calls(b, "download") >= 1);
  o.training_side = true;
  assert_int_equal(ngp_mesh_extract(b, &o, &c, &err), NGP_OK);
  assert_int_equal(ngp_counting_backend_calls(b, "density"), 7);
  print_message("untrained model at 20 samples a side: %lld vertices\n", (long long)a.n_verts);
  assert_true(a.n_verts > 0);
  assert_int_equal(a.n_verts, c.n_verts);
  assert_int_equal(a.n_tris, c.n_tris);
  assert_memory_equal(a.pos, c.pos, (size_t)a.n_verts * 3 * sizeof(float));
  assert_memory_equal(a.rgb, c.rgb, (size_t)a.n_verts * 3 * sizeof(float));
  ngp_mesh_free(&a);
  ngp_mesh_free(&c);

  /* A crop box (scene coordinates) is intersected with the scene box: res samples along its longest
   * side (as instant-ngp), and every vertex lies inside it. One outside the scene box leaves nothing: refused. */
  o.training_side = false;
  o.has_crop = true;
  const float cmin[3] = {-3.0f, 0.25f, 0.1f}, cmax[3] = {0.5f, 0.75f, 0.9f};
  memcpy(o.crop_min, cmin, sizeof cmin);
  memcpy(o.crop_max, cmax, sizeof cmax);
  assert_int_equal(ngp_mesh_extract(b, &o, &a, &err), NGP_OK);
  assert_int_equal(a.grid[0], 13); /* [0, 0.5]: round(0.5 / 0.8 * 19) + 1 */
  assert_int_equal(a.grid[1], 13); /* [0.25, 0.75] */
  assert_int_equal(a.grid[2], 20); /* [0.1, 0.9]: the longest side */
  assert_true(a.n_verts > 0);
  for (int64_t i = 0; i < a.n_verts; i++)
    for (int k = 0; k < 3; k++) {
      float lo = k == 0 ? 0.0f : cmin[k];
      assert_true(a.pos[i * 3 + k] >= lo - 1e-6f && a.pos[i * 3 + k] <= cmax[k] + 1e-6f);
    }
  ngp_mesh_free(&a);
  o.crop_min[0] = 1.5f;
  o.crop_max[0] = 2.0f;
  assert_int_equal(ngp_mesh_extract(b, &o, &a, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "is empty; check the crop box");
  ngp_backend_destroy(b);
  ngp_nerf_free(&n);
}

/* ---- A trained model ------------------------------------------------------------------------------ */

/* An ngp-synth scene whose transforms carry scale 0.25 and offset (0.35, 0.64, 0.58) (defaults:
 * 0.33 and 0.5), trained briefly on the CPU; the mesh, read back from the PLY the session writes,
 * against the generator's exact surfaces in NeRF coordinates, both ways. */
static void test_trained_mesh(void **state) {
  (void)state;
  ngp_scene train;
  char *dir = ngp_test_synth_scene("mesh_trained", 64, 40, 6, 5, &train, NULL);
  ngp_scene_free(&train);
  /* The same scene, rescaled and moved. */
  char *json = ngp_test_path(dir, "transforms_train.json"), *moved = ngp_test_path(dir, "transforms_moved.json");
  char *text;
  size_t len;
  ngp_error err;
  if (ngp_read_file(json, 1 << 24, &text, &len, &err) != NGP_OK) fail_msg("%s", err.msg);
  cJSON *root = cJSON_Parse(text);
  free(text);
  assert_non_null(root);
  cJSON_AddNumberToObject(root, "scale", 0.25);
  const double off[3] = {0.35, 0.64, 0.58};
  cJSON_AddItemToObject(root, "offset", cJSON_CreateDoubleArray(off, 3));
  char *out = cJSON_Print(root);
  ngp_test_write_text(moved, out);
  free(out);
  cJSON_Delete(root);
  char *cfg = ngp_test_path(dir, "small.json");
  ngp_test_write_text(cfg, ngp_test_small_config);

  ngp_session_opts so;
  ngp_session_opts_default(&so);
  so.scene = moved;
  so.config = cfg;
  so.backend = "cpu";
  so.threads = 2;
  so.batch_samples = 1 << 14;
  so.grid_sample_fraction = 1.0f / 16.0f;
  so.train = true;
  ngp_session s;
  if (ngp_session_open(&s, &so, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_true(s.scene.scale == 0.25f);
  for (int i = 0; i < 400; i++)
    if (ngp_session_step(&s, NULL, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(ngp_session_refresh(&s, &err), NGP_OK);
  ngp_mesh_opts mo;
  ngp_mesh_opts_default(&mo);
  mo.res = 96;
  char *ply = ngp_test_path(dir, "out/mesh.ply"); /* the folder is created */
  if (ngp_session_save_mesh(&s, ply, &mo, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_session_close(&s);

  ply_data d;
  read_ply(ply, &d);
  assert_true(d.n_tris > 1000);
  /* Closed and manifold even on a trained model's tangled fuzz (the box's faces are outside the
   * occupancy grid, so the surface never reaches them): no edge has more or fewer than two
   * triangles. */
  check_closed(d.tris, d.n_tris);
  /* Mesh to surface, in NeRF units. The grid step is 1 ngp unit / 95 = 0.042 NeRF units. */
  const float h = 1.0f / 95.0f / 0.25f;
  int64_t near = 0;
  float *dist = malloc((size_t)d.n_verts * sizeof(float));
  for (int64_t i = 0; i < d.n_verts; i++) {
    dist[i] = ngp_synth_distance(d.pos + i * 3);
    if (dist[i] < 2.0f * h) near++;
  }
  double frac_near = (double)near / (double)d.n_verts;
  qsort(dist, (size_t)d.n_verts, sizeof *dist, cmp_float);
  print_message("vertex distances: median %.4f, 90%% %.4f, 95%% %.4f, max %.4f\n", (double)dist[d.n_verts / 2],
                (double)dist[d.n_verts * 9 / 10], (double)dist[d.n_verts * 19 / 20], (double)dist[d.n_verts - 1]);
  /* Surface to mesh: the visible surface points of the test cameras' centre rows and columns. */
  ngp_synth_options sopt;
  ngp_synth_options_default(&sopt);
  sopt.n_test = 6;
  float cams[6 * 12];
  assert_int_equal(ngp_synth_cameras(&sopt, true, cams, &err), NGP_OK);
  int n_pts = 0, covered = 0;
  for (int c = 0; c < 6; c++) {
    const float *m = cams + c * 12;
    for (int k = -20; k <= 20; k += 2)
      for (int axis = 0; axis < 2; axis++) {
        float u = axis ? 0.0f : (float)k / 20.0f * 0.33f, v = axis ? (float)k / 20.0f * 0.33f : 0.0f;
        float dir_cam[3] = {u, v, -1.0f}, o[3] = {m[3], m[7], m[11]}, dw[3];
        for (int r = 0; r < 3; r++)
          dw[r] = m[r * 4] * dir_cam[0] + m[r * 4 + 1] * dir_cam[1] + m[r * 4 + 2] * dir_cam[2];
        float t = ngp_synth_trace(o, dw, NULL);
        if (t < 0.0f) continue;
        float l = sqrtf(dot3(dw, dw)), p[3];
        for (int r = 0; r < 3; r++)
          p[r] = o[r] + t * dw[r] / l;
        n_pts++;
        if (mesh_distance(p, d.pos, d.tris, d.n_tris) < 2.0f * h) covered++;
      }
  }
  double frac_covered = (double)covered / (double)n_pts;
  print_message("trained mesh: %lld vertices, %lld triangles; %.1f%% of vertices within 2h = %.3f of the true "
                "surfaces; %.1f%% of %d visible surface points within 2h of the mesh\n",
                (long long)d.n_verts, (long long)d.n_tris, 100.0 * frac_near, (double)(2.0f * h), 100.0 * frac_covered,
                n_pts);
  /* The bounds, honest for 400 steps of a small network on 40 views of 64x64 (measured: 84% of the
   * vertices within 2h, median distance 0.028 = 0.7h, 97% of the surface points covered); the
   * rest are fuzz and floaters of a short training. */
  assert_true(frac_near > 0.75);
  const float dist_median = dist[d.n_verts / 2];
  assert_true(dist_median < h);
  assert_true(frac_covered > 0.90);
  /* The same vertices read in the default frame (scale 0.33, offset 0.5: what a writer that ignored
   * the scene's would give) lie much farther from the surfaces: the frame matters and the test
   * sees it (measured: median 0.194 against 0.028). */
  const float scale = 0.25f, offset[3] = {0.35f, 0.64f, 0.58f}, def_offset[3] = {0.5f, 0.5f, 0.5f};
  for (int64_t i = 0; i < d.n_verts; i++) {
    const float *q = d.pos + i * 3;
    float pose[12] = {1, 0, 0, q[0], 0, 1, 0, q[1], 0, 0, 1, q[2]}, ngp[12], wrong[12];
    ngp_nerf_matrix_to_ngp(pose, scale, offset, ngp);
    ngp_ngp_matrix_to_nerf(ngp, 0.33f, def_offset, wrong);
    float w[3] = {wrong[3], wrong[7], wrong[11]};
    dist[i] = ngp_synth_distance(w);
  }
  float median = dist_median, median_wrong;
  qsort(dist, (size_t)d.n_verts, sizeof *dist, cmp_float);
  median_wrong = dist[d.n_verts / 2];
  print_message("in the default frame: median distance %.4f (%.4f in the scene's)\n", (double)median_wrong,
                (double)median);
  assert_true(median_wrong > 3.0f * median);
  /* Colours: the synthetic scene's albedos are not all grey, nor black. */
  double mean = 0.0;
  for (int64_t i = 0; i < d.n_verts * 3; i++)
    mean += d.rgb[i];
  mean /= (double)(d.n_verts * 3);
  assert_true(mean > 20.0 && mean < 250.0);
  free(dist);
  ply_free(&d);
  free(ply);
  free(cfg);
  free(json);
  free(moved);
  free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_case_table),
      cmocka_unit_test(test_sphere),
      cmocka_unit_test(test_touching_and_nan),
      cmocka_unit_test(test_random_field),
      cmocka_unit_test(test_files),
      cmocka_unit_test(test_frame),
      cmocka_unit_test(test_through_backend),
      cmocka_unit_test(test_trained_mesh),
  };
  ngp_error err;
  if (ngp_backend_register(&ngp_counting_backend_type, &err) != NGP_OK) fail_msg("%s", err.msg);
  return cmocka_run_group_tests(tests, NULL, NULL);
}
