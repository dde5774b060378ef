/* marching_cubes.c: marching cubes, layer by layer (marching_cubes.h). The case table is derived
 * from the cube's geometry at first use; see build_case for the rule. */
#define _POSIX_C_SOURCE 200809L
#include "engine/marching_cubes.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- The case table ------------------------------------------------------------------------------ */

/* Edge e = 4 * axis + k: along `axis` from the corner whose bits on the two other axes
 * (u = axis + 1, v = axis + 2, mod 3) are k & 1 and k >> 1. */
int ngp_mc_edge_corner(int e, int end) {
  int d = e / 4, k = e % 4, u = (d + 1) % 3, v = (d + 2) % 3;
  int a = ((k & 1) << u) | (((k >> 1) & 1) << v);
  return end ? a | (1 << d) : a;
}

/* Whether cube edges e and f lie on a common face of the cell. */
static bool share_face(int e, int f) {
  int faces[2][2]; /* (axis, side) of the two faces each edge lies on */
  for (int k = 0; k < 2; k++) {
    int g = k ? f : e, d = g / 4, a = ngp_mc_edge_corner(g, 0), u = (d + 1) % 3, v = (d + 2) % 3;
    faces[k][0] = u * 2 + ((a >> u) & 1);
    faces[k][1] = v * 2 + ((a >> v) & 1);
  }
  return faces[0][0] == faces[1][0] || faces[0][0] == faces[1][1] || faces[0][1] == faces[1][0] ||
         faces[0][1] == faces[1][1];
}

static int edge_between(int a, int b) {
  for (int e = 0; e < 12; e++) {
    int p = ngp_mc_edge_corner(e, 0), q = ngp_mc_edge_corner(e, 1);
    if ((p == a && q == b) || (p == b && q == a)) return e;
  }
  return -1; /* not reached: callers pass corners one bit apart */
}

/* Case `config`. Each face's corners are walked counter-clockwise seen from outside the cell. A
 * crossing where the walk steps from an outside corner to an inside one ("enter") is joined to the
 * next crossing of the walk (a "leave"): each run of inside corners is cut off on its own, which on
 * an ambiguous face (corners alternating) separates the two inside corners. The cell sharing the
 * face walks it the other way and so draws the same segments reversed: no crack, and every mesh
 * edge on a face is used once in each direction. A crossing edge is an "enter" on exactly one of
 * its two faces, so succ[enter] = leave is a permutation of the crossing edges; its cycles are the
 * polygons, which come out counter-clockwise seen from outside, and are fanned into triangles.
 *
 * The fan starts where none of its diagonals joins two vertices on one face of the cell: such a
 * diagonal (possible when both segments of an ambiguous face belong to one polygon) could also be
 * drawn by the neighbour across that face, and the edge would then have four triangles. Every
 * polygon of the 256 cases has such a start (test_mesh checks the property on meshes). */
static void build_case(int config, ngp_mc_case *out) {
  int succ[12];
  for (int e = 0; e < 12; e++)
    succ[e] = -1;
  for (int d = 0; d < 3; d++) {
    int u = (d + 1) % 3, v = (d + 2) % 3;
    for (int s = 0; s < 2; s++) {
      /* (u, v, d) is right-handed: (0,0) (1,0) (1,1) (0,1) in (u, v) is counter-clockwise about +d,
       * so the high face (outward +d) takes it as is and the low face reversed. */
      static const int uv_hi[4][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 1}};
      static const int uv_lo[4][2] = {{0, 0}, {0, 1}, {1, 1}, {1, 0}};
      const int(*uv)[2] = s ? uv_hi : uv_lo;
      int c[4], in[4];
      for (int i = 0; i < 4; i++) {
        c[i] = (uv[i][0] << u) | (uv[i][1] << v) | (s << d);
        in[i] = (config >> c[i]) & 1;
      }
      for (int i = 0; i < 4; i++) {
        if (in[i] || !in[(i + 1) % 4]) continue; /* not an enter */
        int enter = edge_between(c[i], c[(i + 1) % 4]);
        for (int j = 1; j < 4; j++) { /* the next crossing along the walk */
          int a = (i + j) % 4, b = (i + j + 1) % 4;
          if (in[a] != in[b]) {
            succ[enter] = edge_between(c[a], c[b]);
            break;
          }
        }
      }
    }
  }
  out->n = 0;
  bool used[12] = {false};
  for (int e0 = 0; e0 < 12; e0++) {
    if (succ[e0] < 0 || used[e0]) continue;
    int loop[12], len = 0;
    for (int e = e0; !used[e] && len < 12; e = succ[e]) {
      used[e] = true;
      loop[len++] = e;
    }
    int s0 = 0;
    for (int s = 0; s < len; s++) {
      bool ok = true;
      for (int k = 2; k + 1 < len && ok; k++)
        ok = !share_face(loop[s], loop[(s + k) % len]);
      if (ok) {
        s0 = s;
        break;
      }
    }
    for (int k = 1; k + 1 < len && out->n < NGP_MC_MAX_TRIS; k++) {
      int8_t *t = out->edges + 3 * out->n++;
      t[0] = (int8_t)loop[s0];
      t[1] = (int8_t)loop[(s0 + k) % len];
      t[2] = (int8_t)loop[(s0 + k + 1) % len];
    }
  }
}

static ngp_mc_case g_table[256];
static pthread_once_t g_table_once = PTHREAD_ONCE_INIT;

static void build_table(void) {
  for (int c = 0; c < 256; c++)
    build_case(c, &g_table[c]);
}

const ngp_mc_case *ngp_mc_table(void) {
  pthread_once(&g_table_once, build_table);
  return g_table;
}

/* ---- Extraction ------------------------------------------------------------------------------- */

ngp_status ngp_mc_begin(ngp_mc *mc, int nx, int ny, int nz, float iso, ngp_error *err) {
  memset(mc, 0, sizeof *mc);
  if (nx < 2 || ny < 2 || nz < 2)
    return ngp_error_set(err, NGP_ERR_INVALID, "marching cubes: a %dx%dx%d grid has no cell; use 2 or more a side", nx,
                         ny, nz);
  mc->nx = nx;
  mc->ny = ny;
  mc->nz = nz;
  mc->iso = iso;
  size_t n = (size_t)nx * (size_t)ny;
  mc->prev = malloc(n * sizeof(float));
  mc->cur = malloc(n * sizeof(float));
  mc->ex_prev = malloc(n * sizeof(int32_t));
  mc->ey_prev = malloc(n * sizeof(int32_t));
  mc->ex_cur = malloc(n * sizeof(int32_t));
  mc->ey_cur = malloc(n * sizeof(int32_t));
  mc->ez = malloc(n * sizeof(int32_t));
  if (!mc->prev || !mc->cur || !mc->ex_prev || !mc->ey_prev || !mc->ex_cur || !mc->ey_cur || !mc->ez) {
    ngp_mc_free(mc);
    return ngp_error_set(err, NGP_ERR_NOMEM, "marching cubes: out of memory for a %dx%d layer", nx, ny);
  }
  (void)ngp_mc_table();
  return NGP_OK;
}

void ngp_mc_free(ngp_mc *mc) {
  free(mc->verts);
  free(mc->tris);
  free(mc->prev);
  free(mc->cur);
  free(mc->ex_prev);
  free(mc->ey_prev);
  free(mc->ex_cur);
  free(mc->ey_cur);
  free(mc->ez);
  memset(mc, 0, sizeof *mc);
}

static bool inside(float v, float iso) { return v > iso; } /* NaN: false */

/* The vertex where the field crosses iso between p (value a) and p + 1 along `axis`, or -1. Sets
 * *oom when the vertex array cannot grow. */
static int32_t edge_vertex(ngp_mc *mc, float a, float b, float x, float y, float z, int axis, bool *oom) {
  if (inside(a, mc->iso) == inside(b, mc->iso)) return -1;
  if (mc->n_verts >= mc->cap_verts) {
    if (mc->n_verts >= INT32_MAX) {
      *oom = true;
      return -1;
    }
    int64_t cap = mc->cap_verts ? mc->cap_verts * 2 : 4096;
    if (cap > INT32_MAX) cap = INT32_MAX;
    float *v = realloc(mc->verts, (size_t)cap * 3 * sizeof(float));
    if (!v) {
      *oom = true;
      return -1;
    }
    mc->verts = v;
    mc->cap_verts = cap;
  }
  float t = (mc->iso - a) / (b - a);
  if (!(t >= 0.0f)) t = 0.0f; /* NaN or an infinite value on the edge: the nearer corner */
  if (t > 1.0f) t = 1.0f;
  float *p = mc->verts + mc->n_verts * 3;
  p[0] = x;
  p[1] = y;
  p[2] = z;
  p[axis] += t;
  return (int32_t)mc->n_verts++;
}

/* Vertices on the x and y edges of the layer `vals` at height z. */
static void layer_edges(ngp_mc *mc, const float *vals, int z, int32_t *ex, int32_t *ey, bool *oom) {
  int nx = mc->nx, ny = mc->ny;
  for (int y = 0; y < ny; y++)
    for (int x = 0; x < nx; x++) {
      size_t i = (size_t)y * nx + x;
      ex[i] = x + 1 < nx ? edge_vertex(mc, vals[i], vals[i + 1], (float)x, (float)y, (float)z, 0, oom) : -1;
      ey[i] = y + 1 < ny ? edge_vertex(mc, vals[i], vals[i + nx], (float)x, (float)y, (float)z, 1, oom) : -1;
    }
}

ngp_status ngp_mc_push_layer(ngp_mc *mc, const float *values, ngp_error *err) {
  if (mc->layers >= mc->nz)
    return ngp_error_set(err, NGP_ERR_INVALID, "marching cubes: layer %d of a grid %d layers deep", mc->layers + 1,
                         mc->nz);
  int nx = mc->nx, ny = mc->ny, z = mc->layers;
  size_t n = (size_t)nx * (size_t)ny;
  bool oom = false;
  /* The new layer becomes `cur`, the last one `prev`. */
  float *tf = mc->prev;
  mc->prev = mc->cur;
  mc->cur = tf;
  int32_t *t = mc->ex_prev;
  mc->ex_prev = mc->ex_cur;
  mc->ex_cur = t;
  t = mc->ey_prev;
  mc->ey_prev = mc->ey_cur;
  mc->ey_cur = t;
  memcpy(mc->cur, values, n * sizeof(float));
  layer_edges(mc, mc->cur, z, mc->ex_cur, mc->ey_cur, &oom);
  mc->layers++;
  if (z == 0) goto done;
  for (size_t i = 0; i < n; i++) /* z edges between the two layers */
    mc->ez[i] = edge_vertex(mc, mc->prev[i], mc->cur[i], (float)(i % (size_t)nx), (float)(i / (size_t)nx),
                            (float)(z - 1), 2, &oom);
  if (oom) goto done;
  const ngp_mc_case *table = ngp_mc_table();
  for (int y = 0; y + 1 < ny; y++)
    for (int x = 0; x + 1 < nx; x++) {
      int config = 0;
      for (int c = 0; c < 8; c++) {
        const float *layer = (c >> 2) ? mc->cur : mc->prev;
        size_t i = (size_t)(y + ((c >> 1) & 1)) * nx + (size_t)(x + (c & 1));
        config |= inside(layer[i], mc->iso) << c;
      }
      const ngp_mc_case *cs = &table[config];
      if (cs->n == 0) continue;
      if (mc->n_tris + cs->n > mc->cap_tris) {
        int64_t cap = mc->cap_tris ? mc->cap_tris * 2 : 8192;
        uint32_t *tr = realloc(mc->tris, (size_t)cap * 3 * sizeof(uint32_t));
        if (!tr) {
          oom = true;
          goto done;
        }
        mc->tris = tr;
        mc->cap_tris = cap;
      }
      for (int k = 0; k < 3 * cs->n; k++) {
        int e = cs->edges[k], a = ngp_mc_edge_corner(e, 0), d = e / 4;
        int cx = x + (a & 1), cy = y + ((a >> 1) & 1), cz = (a >> 2) & 1;
        size_t i = (size_t)cy * nx + (size_t)cx;
        int32_t id = d == 0   ? (cz ? mc->ex_cur : mc->ex_prev)[i]
                     : d == 1 ? (cz ? mc->ey_cur : mc->ey_prev)[i]
                              : mc->ez[i];
        mc->tris[mc->n_tris * 3 + k] = (uint32_t)id;
      }
      mc->n_tris += cs->n;
    }
done:
  if (oom)
    return ngp_error_set(err, NGP_ERR_NOMEM,
                         "marching cubes: out of memory for the mesh (%lld vertices, %lld triangles so far); lower "
                         "--marching-cubes-res",
                         (long long)mc->n_verts, (long long)mc->n_tris);
  return NGP_OK;
}
