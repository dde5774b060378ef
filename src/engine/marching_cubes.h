/* engine/marching_cubes.h: marching cubes over a scalar field sampled on a regular grid, fed one
 * z-layer at a time so that memory stays O(nx * ny) whatever nz is.
 *
 *   ngp_mc mc;
 *   if (ngp_mc_begin(&mc, nx, ny, nz, iso, &err) != NGP_OK) fail(err.msg);
 *   for (int z = 0; z < nz; z++) ngp_mc_push_layer(&mc, layer_z, &err);  // layer_z: [ny][nx]
 *   ... mc.verts [n_verts][3] in grid units (x, y, z in [0, n-1]), mc.tris [n_tris][3] ...
 *   ngp_mc_free(&mc);
 *
 * A corner is inside when its value is > iso (NaN: outside). Vertices sit on the grid edges that
 * cross the iso level, linearly interpolated, and are shared by the cells around their edge, so the
 * mesh is indexed and, away from the grid's border, closed: every edge is shared by exactly two
 * triangles, once in each direction. Triangles are counter-clockwise seen from outside (the low
 * side): the right-hand normal points from the inside (high values) out.
 *
 * The case table (ngp_mc_case) is derived at first use rather than typed in: on each face of a
 * cell the crossings are joined in pairs that separate the inside corners (the same rule on both
 * cells sharing the face, so no cracks), the face segments are chained into loops round the cell
 * and each loop is fanned into triangles. */
#ifndef NGP_ENGINE_MARCHING_CUBES_H
#define NGP_ENGINE_MARCHING_CUBES_H

#include <stdint.h>

#include "ngp/common.h"

/* Corner i of a cell is at (i & 1, (i >> 1) & 1, (i >> 2) & 1). Edge e joins corners
 * ngp_mc_edge_corner(e, 0) and (e, 1), which differ along axis e / 4. */
int ngp_mc_edge_corner(int e, int end);

/* The triangles of one configuration (bit i: corner i is inside): n triangles, edge ids in
 * edges[3 * t + k]. At most 12 triangles (a bound, not reached by any case). */
enum { NGP_MC_MAX_TRIS = 12 };
typedef struct ngp_mc_case {
  int n;
  int8_t edges[3 * NGP_MC_MAX_TRIS];
} ngp_mc_case;
const ngp_mc_case *ngp_mc_table(void); /* [256] */

typedef struct ngp_mc {
  int nx, ny, nz;
  float iso;
  int layers; /* layers pushed so far */
  /* Output. */
  float *verts;   /* [n_verts][3], grid units */
  uint32_t *tris; /* [n_tris][3] */
  int64_t n_verts, n_tris;
  int64_t cap_verts, cap_tris;
  /* Two layers of values and the vertex ids on their edges (-1: no crossing). */
  float *prev, *cur;
  int32_t *ex_prev, *ey_prev, *ex_cur, *ey_cur, *ez;
} ngp_mc;

/* nx, ny, nz >= 2. NGP_ERR_INVALID for a smaller grid, NGP_ERR_NOMEM. */
ngp_status ngp_mc_begin(ngp_mc *mc, int nx, int ny, int nz, float iso, ngp_error *err);
/* The next layer z (values[y * nx + x]); after the first, emits the cells between it and the one
 * before. NGP_ERR_INVALID past nz layers; NGP_ERR_NOMEM when the mesh cannot grow (more than 2^31
 * vertices included). */
ngp_status ngp_mc_push_layer(ngp_mc *mc, const float *values, ngp_error *err);
/* Frees the layer buffers and the mesh (take mc->verts / mc->tris and set them to NULL first to
 * keep them). */
void ngp_mc_free(ngp_mc *mc);

#endif
