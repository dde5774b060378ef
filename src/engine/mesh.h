/* engine/mesh.h: a mesh from a trained model, as instant-ngp's "Export mesh" makes: the density
 * sampled on a grid over the scene box (or a crop box) through the backend, marching cubes
 * (engine/marching_cubes.h), vertex normals from the triangles, a colour per vertex from the colour
 * network, then written as binary PLY or OBJ in the coordinates of the scene's transforms.json.
 *
 *   ngp_mesh_opts o;
 *   ngp_mesh_opts_default(&o);                       // 256 samples a side, threshold 2.5
 *   if (ngp_session_save_mesh(&session, "out/mesh.ply", &o, &err) != NGP_OK) fail(err.msg);
 *
 * Conventions (instant-ngp's where it has one):
 * - The grid has `res` samples along the box's longest side, both faces included (sample i of n at
 *   min + i / (n - 1) * (max - min)); other sides proportionally, at least 2.
 * - The threshold compares with the density network's raw output (the log of the density), as
 *   instant-ngp's marching cubes does; samples in occupancy-grid cells that the grid holds empty
 *   (optical thickness below NGP_MIN_OPTICAL_THICKNESS, or unseen) count as empty, as there.
 * - Normals point out of the dense region; triangles are counter-clockwise seen from outside.
 * - A vertex's colour is the colour network's at the vertex, looking along the inward normal (a
 *   camera facing the surface head on); instant-ngp looks from the box centre outwards instead.
 * - Positions and normals are written in the transforms.json frame: ngp's scale, offset and axis
 *   order undone (instant-ngp undoes scale and offset but keeps its own axis order). */
#ifndef NGP_ENGINE_MESH_H
#define NGP_ENGINE_MESH_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/backend.h"
#include "engine/session.h"

typedef struct ngp_mesh_opts {
  int res;              /* samples along the box's longest side (256) */
  float density_thresh; /* iso level on the raw density output (2.5, instant-ngp's) */
  /* A crop box in ngp units (scene coordinates, as --crop-box), intersected with the scene box. */
  bool has_crop;
  float crop_min[3], crop_max[3];
  int batch;     /* positions per density or colour query (2^20, as instant-ngp) */
  bool progress; /* a progress line with the time left on stderr (core/progress.h) */
  /* Query the host model after ngp_backend_download (the EMA weights training made last) instead
   * of the renderer's generation: for the thread that trains while another renders (the viewer's
   * training thread), which must not touch the rendering side. */
  bool training_side;
  /* Asked between density batches (NULL: never): a non-zero answer ends the extraction with
   * NGP_ERR_IO "interrupted" and nothing written (the first SIGINT/SIGTERM). */
  int (*stop)(void);
} ngp_mesh_opts;

void ngp_mesh_opts_default(ngp_mesh_opts *o);

typedef struct ngp_mesh {
  int64_t n_verts, n_tris;
  float *pos;     /* [n_verts][3] */
  float *normal;  /* [n_verts][3], unit, outward */
  float *rgb;     /* [n_verts][3], sRGB in [0,1]; NULL: none (written grey) */
  uint32_t *tris; /* [n_tris][3], counter-clockwise seen from outside */
  int grid[3];    /* the sample grid it came from */
} ngp_mesh;

void ngp_mesh_free(ngp_mesh *m);

/* A scalar field: values [n] at positions pos [n][3] (the density query's shape). */
typedef ngp_status (*ngp_field_fn)(void *user, int n, const float *pos, float *values, ngp_error *err);

/* Marching cubes of `field` over the box [bmin, bmax] at the grid that o->res gives (o->crop
 * applies), in the box's units; normals from the triangles; no colours. Queries go in batches of
 * o->batch positions, a few z-layers at a time. NGP_ERR_INVALID for an empty box or a res < 2. */
ngp_status ngp_mesh_from_field(ngp_field_fn field, void *user, const float bmin[3], const float bmax[3],
                               const ngp_mesh_opts *o, ngp_mesh *out, ngp_error *err);

/* The backend's model: raw density through ngp_backend_density (masked by the host model's
 * occupancy grid, downloaded first), marching cubes, normals, then colours through
 * ngp_backend_color along the inward normals (o->training_side: both on the downloaded host
 * model). Positions in ngp units. */
ngp_status ngp_mesh_extract(ngp_backend *b, const ngp_mesh_opts *o, ngp_mesh *out, ngp_error *err);

/* Positions and normals from ngp units to the transforms.json frame of a scene loaded with this
 * scale and offset (ngp_scene.scale, .offset). */
void ngp_mesh_to_nerf(ngp_mesh *m, float scale, const float offset[3]);

/* Writes the mesh to path, binary little-endian PLY (.ply) or OBJ (.obj) by the extension (any
 * case), atomically (a temporary name, then rename; the folder must exist). NGP_ERR_INVALID for
 * another extension, NGP_ERR_IO, NGP_ERR_NOMEM. */
ngp_status ngp_mesh_write(const char *path, const ngp_mesh *m, ngp_error *err);

/* Whether path ends in .ply or .obj (any case): the formats ngp_mesh_write knows. */
bool ngp_mesh_path_ok(const char *path);

/* The session's mesh: extraction on its backend (renders' generation: call ngp_session_refresh
 * first where the weights changed), in the transforms.json frame of its scene or snapshot, the
 * parent folder created, written atomically; prints "mesh saved: PATH (...)". */
ngp_status ngp_session_save_mesh(ngp_session *s, const char *path, const ngp_mesh_opts *o, ngp_error *err);

#endif
