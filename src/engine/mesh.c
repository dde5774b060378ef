/* mesh.c: meshes from a model (mesh.h): density on a grid through the backend, marching cubes,
 * normals, colours, PLY and OBJ. */
#define _POSIX_C_SOURCE 200809L
#include "engine/mesh.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "common/ngp_nerf_math.h"
#include "core/clock.h"
#include "core/fs.h"
#include "core/progress.h"
#include "engine/marching_cubes.h"

void ngp_mesh_opts_default(ngp_mesh_opts *o) {
  memset(o, 0, sizeof *o);
  o->res = 256;
  o->density_thresh = 2.5f;
  o->batch = 1 << 20;
  o->progress = false;
}

void ngp_mesh_free(ngp_mesh *m) {
  free(m->pos);
  free(m->normal);
  free(m->rgb);
  free(m->tris);
  memset(m, 0, sizeof *m);
}

/* ---- Grid and marching cubes --------------------------------------------------------------------- */

/* Area-weighted sum of the triangles' normals at each vertex, normalised ((0, 0, 1) where it
 * vanishes, at a vertex of degenerate triangles only). */
static ngp_status vertex_normals(ngp_mesh *m, ngp_error *err) {
  m->normal = calloc((size_t)m->n_verts * 3 + 1, sizeof(float));
  if (!m->normal) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %lld normals", (long long)m->n_verts);
  for (int64_t t = 0; t < m->n_tris; t++) {
    const uint32_t *v = m->tris + t * 3;
    const float *a = m->pos + (size_t)v[0] * 3, *b = m->pos + (size_t)v[1] * 3, *c = m->pos + (size_t)v[2] * 3;
    float e1[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]}, e2[3] = {c[0] - a[0], c[1] - a[1], c[2] - a[2]};
    float n[3] = {e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]};
    for (int k = 0; k < 3; k++)
      for (int i = 0; i < 3; i++)
        m->normal[(size_t)v[k] * 3 + i] += n[i];
  }
  for (int64_t i = 0; i < m->n_verts; i++) {
    float *n = m->normal + i * 3;
    float l = sqrtf(n[0] * n[0] + n[1] * n[1] + n[2] * n[2]);
    if (l > 0.0f && isfinite(l)) {
      n[0] /= l;
      n[1] /= l;
      n[2] /= l;
    } else {
      n[0] = n[1] = 0.0f;
      n[2] = 1.0f;
    }
  }
  return NGP_OK;
}

ngp_status ngp_mesh_from_field(ngp_field_fn field, void *user, const float bmin[3], const float bmax[3],
                               const ngp_mesh_opts *o, ngp_mesh *out, ngp_error *err) {
  memset(out, 0, sizeof *out);
  if (o->res < 2) return ngp_error_set(err, NGP_ERR_INVALID, "mesh: resolution %d is below 2", o->res);
  float ext[3], longest = 0.0f;
  for (int i = 0; i < 3; i++) {
    ext[i] = bmax[i] - bmin[i];
    if (!(ext[i] > 0.0f) || !isfinite(ext[i]))
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "mesh: the box [%g, %g] x [%g, %g] x [%g, %g] is empty; check the crop box", (double)bmin[0],
                           (double)bmax[0], (double)bmin[1], (double)bmax[1], (double)bmin[2], (double)bmax[2]);
    if (ext[i] > longest) longest = ext[i];
  }
  int n[3];
  float step[3];
  for (int i = 0; i < 3; i++) {
    n[i] = (int)lrintf(ext[i] / longest * (float)(o->res - 1)) + 1;
    if (n[i] < 2) n[i] = 2;
    step[i] = ext[i] / (float)(n[i] - 1);
    out->grid[i] = n[i];
  }
  size_t layer = (size_t)n[0] * (size_t)n[1];
  int batch = o->batch > 0 ? o->batch : 1 << 20;
  int layers_per_query = (int)((size_t)batch / layer);
  if (layers_per_query < 1) layers_per_query = 1;
  if (layers_per_query > n[2]) layers_per_query = n[2];
  size_t cap = layer * (size_t)layers_per_query;
  float *pos = malloc(cap * 3 * sizeof(float)), *val = malloc(cap * sizeof(float));
  ngp_mc mc;
  ngp_status st = ngp_mc_begin(&mc, n[0], n[1], n[2], o->density_thresh, err);
  if (st == NGP_OK && (!pos || !val))
    st = ngp_error_set(err, NGP_ERR_NOMEM, "mesh: out of memory for %zu density samples", cap);
  ngp_progress prog;
  if (o->progress) ngp_progress_begin(&prog, "mesh: density layers", n[2]);
  for (int z0 = 0; z0 < n[2] && st == NGP_OK; z0 += layers_per_query) {
    if (o->stop && o->stop()) {
      st = ngp_error_set(err, NGP_ERR_IO, "mesh: interrupted after %d of %d layers; nothing written", z0, n[2]);
      break;
    }
    int nl = n[2] - z0 < layers_per_query ? n[2] - z0 : layers_per_query;
    size_t k = 0;
    for (int z = z0; z < z0 + nl; z++)
      for (int y = 0; y < n[1]; y++)
        for (int x = 0; x < n[0]; x++, k++) {
          /* The last sample of a side lands on bmax exactly, not a rounding error away. */
          pos[k * 3 + 0] = x + 1 == n[0] ? bmax[0] : bmin[0] + (float)x * step[0];
          pos[k * 3 + 1] = y + 1 == n[1] ? bmax[1] : bmin[1] + (float)y * step[1];
          pos[k * 3 + 2] = z + 1 == n[2] ? bmax[2] : bmin[2] + (float)z * step[2];
        }
    /* Queries are ints: a batch is at most `batch` positions unless one layer alone is larger. */
    for (size_t q = 0; q < k && st == NGP_OK; q += (size_t)batch)
      st = field(user, (int)(k - q < (size_t)batch ? k - q : (size_t)batch), pos + q * 3, val + q, err);
    for (int l = 0; l < nl && st == NGP_OK; l++)
      st = ngp_mc_push_layer(&mc, val + (size_t)l * layer, err);
    if (o->progress && st == NGP_OK) ngp_progress_update(&prog, z0 + nl);
  }
  if (o->progress) ngp_progress_end(&prog);
  free(pos);
  free(val);
  if (st != NGP_OK) {
    ngp_mc_free(&mc);
    return st;
  }
  /* Grid units to the box's. */
  for (int64_t i = 0; i < mc.n_verts; i++)
    for (int a = 0; a < 3; a++)
      mc.verts[i * 3 + a] = bmin[a] + mc.verts[i * 3 + a] * step[a];
  out->n_verts = mc.n_verts;
  out->n_tris = mc.n_tris;
  out->pos = mc.verts;
  out->tris = mc.tris;
  mc.verts = NULL;
  mc.tris = NULL;
  ngp_mc_free(&mc);
  st = vertex_normals(out, err);
  if (st != NGP_OK) ngp_mesh_free(out);
  return st;
}

/* ---- From a model ---------------------------------------------------------------------------------- */

typedef struct {
  ngp_backend *b;
  bool host; /* the downloaded host model, not ngp_backend_density */
} model_field;

/* Raw density through the backend (or the downloaded host model); -10000 where the occupancy grid
 * holds the cell empty (as instant-ngp), so that what no camera saw and what training emptied make
 * no surface. */
static ngp_status model_density(void *user, int n, const float *pos, float *values, ngp_error *err) {
  const model_field *f = user;
  ngp_backend *b = f->b;
  ngp_status st = f->host ? ngp_nerf_density(b->model, b->model->inference, n, pos, values, err)
                          : ngp_backend_density(b, n, pos, values, err);
  if (st != NGP_OK) return st;
  const ngp_occupancy *g = &b->model->occ;
  if (!g->density) return NGP_OK;
  int max_cascade = g->n_cascades - 1;
  for (int i = 0; i < n; i++) {
    const float *p = pos + (size_t)i * 3;
    int mip = ngp_mip_from_pos(p, max_cascade);
    uint32_t idx = ngp_cascaded_grid_idx(p, mip);
    if (idx == NGP_NO_CELL || g->density[(size_t)mip * NGP_GRID_CELLS + idx] < NGP_MIN_OPTICAL_THICKNESS)
      values[i] = -10000.0f;
  }
  return NGP_OK;
}

ngp_status ngp_mesh_extract(ngp_backend *b, const ngp_mesh_opts *o, ngp_mesh *out, ngp_error *err) {
  memset(out, 0, sizeof *out);
  const ngp_nerf *n = b->model;
  float bmin[3], bmax[3];
  for (int i = 0; i < 3; i++) {
    bmin[i] = n->aabb_min[i];
    bmax[i] = n->aabb_max[i];
    if (o->has_crop) {
      if (o->crop_min[i] > bmin[i]) bmin[i] = o->crop_min[i];
      if (o->crop_max[i] < bmax[i]) bmax[i] = o->crop_max[i];
    }
  }
  /* The occupancy grid (and, for backends without their own queries, the weights) on the host. */
  ngp_status st = ngp_backend_download(b, err);
  if (st != NGP_OK) return st;
  /* A backend without its own density or colour queries answers them on the host model after a
   * download each call (backend.c); it was downloaded just above, so ask the host model directly
   * rather than download the weights again for every batch. */
  bool host_density = o->training_side || !b->iface->density, host_color = o->training_side || !b->iface->color;
  model_field f = {b, host_density};
  if ((st = ngp_mesh_from_field(model_density, &f, bmin, bmax, o, out, err)) != NGP_OK) return st;
  if (out->n_verts == 0) return NGP_OK;
  out->rgb = malloc((size_t)out->n_verts * 3 * sizeof(float));
  float *dir = malloc((size_t)out->n_verts * 3 * sizeof(float));
  if (!out->rgb || !dir) {
    free(dir);
    ngp_mesh_free(out);
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %lld vertex colours", (long long)out->n_verts);
  }
  for (int64_t i = 0; i < out->n_verts * 3; i++)
    dir[i] = -out->normal[i]; /* looking at the surface from outside */
  int batch = o->batch > 0 ? o->batch : 1 << 20;
  for (int64_t v = 0; v < out->n_verts && st == NGP_OK; v += batch) {
    int cnt = out->n_verts - v < batch ? (int)(out->n_verts - v) : batch;
    st = host_color
             ? ngp_nerf_color(b->model, b->model->inference, cnt, out->pos + v * 3, dir + v * 3, out->rgb + v * 3, err)
             : ngp_backend_color(b, cnt, out->pos + v * 3, dir + v * 3, out->rgb + v * 3, err);
  }
  free(dir);
  if (st != NGP_OK) ngp_mesh_free(out);
  return st;
}

void ngp_mesh_to_nerf(ngp_mesh *m, float scale, const float offset[3]) {
  for (int64_t i = 0; i < m->n_verts; i++) {
    /* A point is the translation of a pose: ngp_ngp_matrix_to_nerf undoes scale, offset and the
     * axis order exactly as the loader applied them (ngp_nerf_matrix_to_ngp). */
    float ngp[12] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0}, nerf[12];
    float *p = m->pos + i * 3;
    ngp[3] = p[0];
    ngp[7] = p[1];
    ngp[11] = p[2];
    ngp_ngp_matrix_to_nerf(ngp, scale, offset, nerf);
    p[0] = nerf[3];
    p[1] = nerf[7];
    p[2] = nerf[11];
    /* Directions only change axes (the inverse of ngp_nerf_direction_to_ngp): a rotation, so the
     * triangles keep their orientation. */
    float *nv = m->normal + i * 3, a = nv[0], b = nv[1], c = nv[2];
    nv[0] = c;
    nv[1] = a;
    nv[2] = b;
  }
}

/* ---- Files ----------------------------------------------------------------------------------------- */

typedef struct {
  char *p;
  size_t len, cap;
  bool oom;
} buf;

static void buf_reserve(buf *b, size_t more) {
  if (b->oom || b->len + more <= b->cap) return;
  size_t cap = b->cap ? b->cap : 1 << 16;
  while (cap < b->len + more)
    cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    b->oom = true;
    return;
  }
  b->p = p;
  b->cap = cap;
}

static void buf_bytes(buf *b, const void *data, size_t n) {
  buf_reserve(b, n);
  if (b->oom) return;
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void buf_printf(buf *b, const char *fmt, ...) NGP_PRINTF(2, 3);
static void buf_printf(buf *b, const char *fmt, ...) {
  buf_reserve(b, 256);
  if (b->oom) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= b->cap - b->len) { /* longer than reserved: grow and print again */
    buf_reserve(b, (size_t)n + 1);
    if (b->oom) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}

/* Little-endian, whatever the host. */
static void buf_u32(buf *b, uint32_t v) {
  uint8_t o[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  buf_bytes(b, o, 4);
}

static void buf_f32(buf *b, float f) {
  uint32_t v;
  memcpy(&v, &f, 4);
  buf_u32(b, v);
}

static uint8_t to_u8(float c) {
  if (!(c > 0.0f)) return 0; /* NaN too */
  if (c >= 1.0f) return 255;
  return (uint8_t)lrintf(c * 255.0f);
}

static float finite_or(float v, float d) { return isfinite(v) ? v : d; }

bool ngp_mesh_path_ok(const char *path) {
  return ngp_path_has_extension(path, ".ply") || ngp_path_has_extension(path, ".obj");
}

ngp_status ngp_mesh_write(const char *path, const ngp_mesh *m, ngp_error *err) {
  const char *ext = ngp_path_extension(path);
  bool ply = ngp_path_has_extension(path, ".ply");
  if (!ply && !ngp_path_has_extension(path, ".obj"))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: unknown mesh format '%s'; name the file .ply or .obj", path, ext);
  if (m->n_verts > UINT32_MAX || m->n_tris > INT32_MAX)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %lld vertices and %lld triangles are more than the format's index",
                         path, (long long)m->n_verts, (long long)m->n_tris);
  buf b = {0};
  const float grey[3] = {0.5f, 0.5f, 0.5f};
  if (ply) {
    buf_printf(&b,
               "ply\nformat binary_little_endian 1.0\ncomment instant-ngp %s marching cubes mesh, coordinates of "
               "transforms.json\nelement vertex %lld\nproperty float x\nproperty float y\nproperty float z\n"
               "property float nx\nproperty float ny\nproperty float nz\nproperty uchar red\nproperty uchar green\n"
               "property uchar blue\nelement face %lld\nproperty list uchar int vertex_indices\nend_header\n",
               ngp_version(), (long long)m->n_verts, (long long)m->n_tris);
    for (int64_t i = 0; i < m->n_verts && !b.oom; i++) {
      const float *c = m->rgb ? m->rgb + i * 3 : grey;
      for (int k = 0; k < 3; k++)
        buf_f32(&b, finite_or(m->pos[i * 3 + k], 0.0f));
      for (int k = 0; k < 3; k++)
        buf_f32(&b, finite_or(m->normal[i * 3 + k], 0.0f));
      uint8_t c8[3] = {to_u8(c[0]), to_u8(c[1]), to_u8(c[2])};
      buf_bytes(&b, c8, 3);
    }
    for (int64_t t = 0; t < m->n_tris && !b.oom; t++) {
      uint8_t three = 3;
      buf_bytes(&b, &three, 1);
      for (int k = 0; k < 3; k++)
        buf_u32(&b, m->tris[t * 3 + k]);
    }
  } else {
    buf_printf(&b,
               "# instant-ngp %s marching cubes mesh, coordinates of transforms.json\n# %lld vertices (v x y z r g b), "
               "%lld triangles\n",
               ngp_version(), (long long)m->n_verts, (long long)m->n_tris);
    for (int64_t i = 0; i < m->n_verts && !b.oom; i++) {
      const float *p = m->pos + i * 3, *c = m->rgb ? m->rgb + i * 3 : grey;
      buf_printf(&b, "v %.7g %.7g %.7g %.4f %.4f %.4f\n", (double)finite_or(p[0], 0.0f), (double)finite_or(p[1], 0.0f),
                 (double)finite_or(p[2], 0.0f), to_u8(c[0]) / 255.0, to_u8(c[1]) / 255.0, to_u8(c[2]) / 255.0);
    }
    for (int64_t i = 0; i < m->n_verts && !b.oom; i++) {
      const float *nv = m->normal + i * 3;
      buf_printf(&b, "vn %.5f %.5f %.5f\n", (double)finite_or(nv[0], 0.0f), (double)finite_or(nv[1], 0.0f),
                 (double)finite_or(nv[2], 0.0f));
    }
    for (int64_t t = 0; t < m->n_tris && !b.oom; t++) {
      const uint32_t *v = m->tris + t * 3;
      buf_printf(&b, "f %u//%u %u//%u %u//%u\n", v[0] + 1, v[0] + 1, v[1] + 1, v[1] + 1, v[2] + 1, v[2] + 1);
    }
  }
  ngp_status st;
  if (b.oom)
    st = ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory for the file's %zu bytes", path, b.len);
  else
    st = ngp_write_file_atomic(path, b.p ? b.p : "", b.len, err);
  free(b.p);
  return st;
}

ngp_status ngp_session_save_mesh(ngp_session *s, const char *path, const ngp_mesh_opts *o, ngp_error *err) {
  if (!ngp_mesh_path_ok(path))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: unknown mesh format '%s'; name the file .ply or .obj", path,
                         ngp_path_extension(path));
  double t0 = ngp_seconds();
  /* The folder first: a path that cannot be written fails before the extraction's work. */
  char *dir = ngp_path_dirname(path);
  ngp_status st = dir ? ngp_mkdir_p(dir, err) : ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  free(dir);
  if (st != NGP_OK) {
    ngp_error_prefix(err, "cannot save the mesh %s", path);
    return st;
  }
  /* The session's crop box (--crop-box), unless the caller gave one. */
  ngp_mesh_opts mo = *o;
  if (!mo.has_crop) mo.has_crop = ngp_session_crop_ngp(s, mo.crop_min, mo.crop_max);
  ngp_mesh m;
  if ((st = ngp_mesh_extract(s->backend, &mo, &m, err)) != NGP_OK) return st;
  ngp_mesh_to_nerf(&m, s->meta.scale, s->meta.offset);
  st = ngp_mesh_write(path, &m, err);
  if (st == NGP_OK) {
    printf("mesh saved: %s (%lld vertices, %lld triangles; grid %dx%dx%d, threshold %g; %.1f s)\n", path,
           (long long)m.n_verts, (long long)m.n_tris, m.grid[0], m.grid[1], m.grid[2], (double)o->density_thresh,
           ngp_seconds() - t0);
    if (m.n_tris == 0)
      ngp_log(NGP_LOG_WARN,
              "%s: the mesh is empty: no density above the threshold %g in the box; lower "
              "--marching-cubes-density-thresh or train longer",
              path, (double)o->density_thresh);
    fflush(stdout);
  }
  ngp_mesh_free(&m);
  return st;
}
