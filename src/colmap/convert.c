/* convert.c: a COLMAP model to transforms.json: the poses in the NeRF convention, colmap2nerf's
 * normalisation, the intrinsics of each camera model, each frame's sharpness, paths relative to the
 * output file. The conventions are in colmap.h. All maths in double: the round trip of a pose
 * through the conversion and back is exact to ~1e-15. */
#define _XOPEN_SOURCE 700 /* realpath is XSI in glibc */
#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colmap/colmap.h"
#include "core/fs.h"
#include "core/parallel.h"
#include "ngp/image.h"

/* ---- Pose maths ---------------------------------------------------------------------------------- */

void ngp_colmap_qvec_to_rotmat(const double q_in[4], double r[9]) {
  double n = sqrt(q_in[0] * q_in[0] + q_in[1] * q_in[1] + q_in[2] * q_in[2] + q_in[3] * q_in[3]);
  double w = q_in[0] / n, x = q_in[1] / n, y = q_in[2] / n, z = q_in[3] / n;
  r[0] = 1 - 2 * (y * y + z * z), r[1] = 2 * (x * y - w * z), r[2] = 2 * (x * z + w * y);
  r[3] = 2 * (x * y + w * z), r[4] = 1 - 2 * (x * x + z * z), r[5] = 2 * (y * z - w * x);
  r[6] = 2 * (x * z - w * y), r[7] = 2 * (y * z + w * x), r[8] = 1 - 2 * (x * x + y * y);
}

/* Rotation matrix (row-major) to a unit quaternion with w >= 0 (Shepperd: divide by the largest of
 * the four candidate magnitudes, so no near-zero division). */
static void rotmat_to_qvec(const double r[9], double q[4]) {
  double tr = r[0] + r[4] + r[8];
  if (tr > 0) {
    double s = 2 * sqrt(tr + 1);
    q[0] = s / 4, q[1] = (r[7] - r[5]) / s, q[2] = (r[2] - r[6]) / s, q[3] = (r[3] - r[1]) / s;
  } else if (r[0] > r[4] && r[0] > r[8]) {
    double s = 2 * sqrt(1 + r[0] - r[4] - r[8]);
    q[0] = (r[7] - r[5]) / s, q[1] = s / 4, q[2] = (r[1] + r[3]) / s, q[3] = (r[2] + r[6]) / s;
  } else if (r[4] > r[8]) {
    double s = 2 * sqrt(1 + r[4] - r[0] - r[8]);
    q[0] = (r[2] - r[6]) / s, q[1] = (r[1] + r[3]) / s, q[2] = s / 4, q[3] = (r[5] + r[7]) / s;
  } else {
    double s = 2 * sqrt(1 + r[8] - r[0] - r[4]);
    q[0] = (r[3] - r[1]) / s, q[1] = (r[2] + r[6]) / s, q[2] = (r[5] + r[7]) / s, q[3] = s / 4;
  }
  if (q[0] < 0)
    for (int k = 0; k < 4; k++)
      q[k] = -q[k];
}

/* The world turn of colmap2nerf (rows: new x = old y, new y = old x, new z = -old z) is its own
 * inverse; so is the camera flip (columns y and z negated). */
static const double k_world_turn[9] = {0, 1, 0, 1, 0, 0, 0, 0, -1};

void ngp_colmap_pose_to_nerf(const double q[4], const double t[3], bool keep_coords, double c2w[12]) {
  double r[9];
  ngp_colmap_qvec_to_rotmat(q, r);
  /* camera-to-world: rotation R^T, camera centre -R^T t; then the camera's y and z negated */
  double m[12];
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++)
      m[i * 4 + j] = r[j * 3 + i] * (j == 0 ? 1 : -1);
    m[i * 4 + 3] = -(r[0 * 3 + i] * t[0] + r[1 * 3 + i] * t[1] + r[2 * 3 + i] * t[2]);
  }
  if (keep_coords) {
    memcpy(c2w, m, sizeof m);
    return;
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 4; j++)
      c2w[i * 4 + j] = k_world_turn[i * 3 + 0] * m[0 * 4 + j] + k_world_turn[i * 3 + 1] * m[1 * 4 + j] +
                       k_world_turn[i * 3 + 2] * m[2 * 4 + j];
}

void ngp_colmap_nerf_to_pose(const double c2w[12], bool keep_coords, double q[4], double t[3]) {
  double m[12];
  if (keep_coords) {
    memcpy(m, c2w, sizeof m);
  } else {
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++)
        m[i * 4 + j] = k_world_turn[i * 3 + 0] * c2w[0 * 4 + j] + k_world_turn[i * 3 + 1] * c2w[1 * 4 + j] +
                       k_world_turn[i * 3 + 2] * c2w[2 * 4 + j];
  }
  double r[9]; /* world-to-camera rotation: the transpose of the unflipped camera-to-world's */
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      r[j * 3 + i] = m[i * 4 + j] * (j == 0 ? 1 : -1);
  rotmat_to_qvec(r, q);
  for (int i = 0; i < 3; i++)
    t[i] = -(r[i * 3 + 0] * m[3] + r[i * 3 + 1] * m[7] + r[i * 3 + 2] * m[11]);
}

static void cross(const double a[3], const double b[3], double c[3]) {
  c[0] = a[1] * b[2] - a[2] * b[1];
  c[1] = a[2] * b[0] - a[0] * b[2];
  c[2] = a[0] * b[1] - a[1] * b[0];
}
static double dot(const double a[3], const double b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

void ngp_colmap_rotation_between(const double a_in[3], const double b_in[3], double r[9]) {
  double na = sqrt(dot(a_in, a_in)), nb = sqrt(dot(b_in, b_in));
  double a[3] = {a_in[0] / na, a_in[1] / na, a_in[2] / na}, b[3] = {b_in[0] / nb, b_in[1] / nb, b_in[2] / nb};
  double c = dot(a, b);
  if (c < -1 + 1e-10) {
    /* Opposite directions: a half turn about an axis perpendicular to a (the cross product with
     * the coordinate axis least aligned with a), R = 2 u u^T - I. */
    int k = fabs(a[0]) < fabs(a[1]) ? (fabs(a[0]) < fabs(a[2]) ? 0 : 2) : (fabs(a[1]) < fabs(a[2]) ? 1 : 2);
    double e[3] = {0, 0, 0}, u[3];
    e[k] = 1;
    cross(a, e, u);
    double nu = sqrt(dot(u, u));
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++)
        r[i * 3 + j] = 2 * u[i] * u[j] / (nu * nu) - (i == j);
    return;
  }
  /* Rodrigues with v = a x b, |v| = sin, c = cos: R = I + [v]x + [v]x^2 (1 - c) / |v|^2, and
   * (1 - c) / sin^2 = 1 / (1 + c), which stays finite as the angle goes to zero. */
  double v[3];
  cross(a, b, v);
  double k[9] = {0, -v[2], v[1], v[2], 0, -v[0], -v[1], v[0], 0};
  double f = 1 / (1 + c);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++) {
      double kk = 0;
      for (int l = 0; l < 3; l++)
        kk += k[i * 3 + l] * k[l * 3 + j];
      r[i * 3 + j] = (i == j) + k[i * 3 + j] + kk * f;
    }
}

void ngp_colmap_normalise(double *c2w, int n, double out_rot[9], double out_centre[3], double *out_scale) {
  /* Up: the mean of the cameras' +y axes, rotated onto +z. */
  double up[3] = {0, 0, 0}, rot[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
  for (int f = 0; f < n; f++)
    for (int i = 0; i < 3; i++)
      up[i] += c2w[f * 12 + i * 4 + 1];
  if (dot(up, up) > 0) ngp_colmap_rotation_between(up, (const double[3]){0, 0, 1}, rot);
  for (int f = 0; f < n; f++) {
    double *m = c2w + f * 12, o[12];
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++)
        o[i * 4 + j] = rot[i * 3 + 0] * m[0 * 4 + j] + rot[i * 3 + 1] * m[1 * 4 + j] + rot[i * 3 + 2] * m[2 * 4 + j];
    memcpy(m, o, sizeof o);
  }
  /* Centre: for every pair of cameras, the midpoint of the closest points of their optical axes
   * (behind neither camera: the parameter along +z, the camera's back, is clamped to <= 0),
   * weighted by sin^2 of the angle between the axes, so near-parallel pairs count for little. */
  double centre[3] = {0, 0, 0}, total_w = 0;
  for (int f = 0; f < n; f++) {
    const double *mf = c2w + f * 12;
    double oa[3] = {mf[3], mf[7], mf[11]}, da[3] = {mf[2], mf[6], mf[10]};
    double la = sqrt(dot(da, da));
    for (int i = 0; i < 3; i++)
      da[i] /= la;
    for (int g = 0; g < n; g++) {
      const double *mg = c2w + g * 12;
      double ob[3] = {mg[3], mg[7], mg[11]}, db[3] = {mg[2], mg[6], mg[10]};
      double lb = sqrt(dot(db, db));
      for (int i = 0; i < 3; i++)
        db[i] /= lb;
      double c[3], d[3], tmp[3];
      cross(da, db, c);
      double w = dot(c, c);
      if (!(w > 1e-5)) continue;
      for (int i = 0; i < 3; i++)
        d[i] = ob[i] - oa[i];
      /* ta = det[d; db; c] / |c|^2, tb = det[d; da; c] / |c|^2 (rows), det[x; y; z] = x . (y x z) */
      cross(db, c, tmp);
      double ta = dot(d, tmp) / w;
      cross(da, c, tmp);
      double tb = dot(d, tmp) / w;
      if (ta > 0) ta = 0;
      if (tb > 0) tb = 0;
      for (int i = 0; i < 3; i++)
        centre[i] += 0.5 * (oa[i] + ta * da[i] + ob[i] + tb * db[i]) * w;
      total_w += w;
    }
  }
  if (total_w > 0)
    for (int i = 0; i < 3; i++)
      centre[i] /= total_w;
  double mean_len = 0;
  for (int f = 0; f < n; f++) {
    double *m = c2w + f * 12;
    for (int i = 0; i < 3; i++)
      m[i * 4 + 3] -= centre[i];
    mean_len += sqrt(m[3] * m[3] + m[7] * m[7] + m[11] * m[11]);
  }
  mean_len /= n > 0 ? n : 1;
  double scale = mean_len > 0 && isfinite(mean_len) ? 4.0 / mean_len : 1.0;
  for (int f = 0; f < n; f++)
    for (int i = 0; i < 3; i++)
      c2w[f * 12 + i * 4 + 3] *= scale;
  if (out_rot) memcpy(out_rot, rot, sizeof rot);
  if (out_centre) memcpy(out_centre, centre, sizeof centre);
  if (out_scale) *out_scale = scale;
}

/* ---- Sharpness ----------------------------------------------------------------------------------- */

double ngp_colmap_sharpness(const uint8_t *rgba, int w, int h) {
  if (w <= 0 || h <= 0) return 0;
  size_t n = (size_t)w * h;
  uint8_t *g = malloc(n);
  if (!g) return -1;
  /* OpenCV's fixed-point luma: (4899 R + 9617 G + 1868 B + 2^13) >> 14 */
  for (size_t i = 0; i < n; i++)
    g[i] = (uint8_t)((4899u * rgba[i * 4] + 9617u * rgba[i * 4 + 1] + 1868u * rgba[i * 4 + 2] + 8192u) >> 14);
  /* Two passes (mean, then squared deviations): exact enough in double for any image size. */
  double sum = 0, sum2 = 0;
  for (int pass = 0; pass < 2; pass++) {
    double mean = sum / (double)n;
    for (int y = 0; y < h; y++) {
      /* mirrored borders without repeating the edge (-1 -> 1, h -> h-2); a 1-pixel side mirrors onto itself */
      int ym = y > 0 ? y - 1 : (h > 1 ? 1 : 0), yp = y < h - 1 ? y + 1 : (h > 1 ? h - 2 : 0);
      for (int x = 0; x < w; x++) {
        int xm = x > 0 ? x - 1 : (w > 1 ? 1 : 0), xp = x < w - 1 ? x + 1 : (w > 1 ? w - 2 : 0);
        int c = g[(size_t)y * w + x];
        double lap = (double)g[(size_t)ym * w + x] + g[(size_t)yp * w + x] + g[(size_t)y * w + xm] +
                     g[(size_t)y * w + xp] - 4.0 * c;
        if (pass == 0)
          sum += lap;
        else
          sum2 += (lap - mean) * (lap - mean);
      }
    }
  }
  free(g);
  return sum2 / (double)n;
}

/* ---- Paths --------------------------------------------------------------------------------------- */

char *ngp_colmap_relative_path(const char *path, const char *from_dir) {
  /* Both folders canonical (realpath: they must exist), then compared component by component. */
  char *dir = ngp_path_dirname(path);
  if (!dir) return NULL;
  char a[PATH_MAX], b[PATH_MAX];
  bool ok = realpath(dir, a) && realpath(from_dir, b);
  free(dir);
  if (!ok) return NULL;
  /* i: the length of the common prefix that ends at a component boundary of both */
  size_t la = strlen(a), lb = strlen(b), i = 0, common = 0;
  while (i < la && i < lb && a[i] == b[i])
    i++;
  if ((a[i] == '/' || !a[i]) && (b[i] == '/' || !b[i]))
    common = i;
  else
    for (common = i; common > 0 && a[common - 1] != '/'; common--) {
    }
  int ups = 0;
  for (size_t k = common; k < lb; k++)
    if (b[k] == '/' || (k == common && b[k] != '/')) ups++;
  const char *rest = a + common;
  while (*rest == '/')
    rest++;
  const char *base = ngp_path_basename(path);
  size_t need = (size_t)ups * 3 + strlen(rest) + strlen(base) + 2;
  char *out = malloc(need);
  if (!out) return NULL;
  size_t o = 0;
  for (int k = 0; k < ups; k++)
    o += (size_t)snprintf(out + o, need - o, "../");
  if (*rest) o += (size_t)snprintf(out + o, need - o, "%s/", rest);
  snprintf(out + o, need - o, "%s", base);
  return out;
}

/* ---- Conversion ---------------------------------------------------------------------------------- */

void ngp_colmap_options_default(ngp_colmap_options *o) {
  memset(o, 0, sizeof *o);
  o->images_dir = "images";
  o->out_path = "transforms.json";
  o->aabb_scale = 32;
  o->compute_sharpness = true;
}

void ngp_colmap_result_free(ngp_colmap_result *r) {
  if (!r) return;
  for (int i = 0; i < r->n_frames; i++)
    free(r->frames[i].file_path);
  free(r->frames);
  memset(r, 0, sizeof *r);
}

static int camera_index(const ngp_colmap_model *m, uint32_t id) {
  for (int j = 0; j < m->n_cameras; j++)
    if (m->cameras[j].id == id) return j;
  return -1;
}

static const ngp_colmap_model *g_sort_model; /* qsort has no user pointer in C11 */
static int by_name(const void *a, const void *b) {
  return ngp_natcmp(g_sort_model->images[*(const int *)a].name, g_sort_model->images[*(const int *)b].name);
}

typedef struct {
  char **paths;
  double *sharpness;
  ngp_error *errs;
  ngp_status *st;
} sharp_job;

static void sharp_one(int i, int thread, void *user) {
  (void)thread;
  sharp_job *j = user;
  ngp_image img = {0};
  j->st[i] = ngp_image_load(j->paths[i], &img, &j->errs[i]);
  if (j->st[i] != NGP_OK) return;
  j->sharpness[i] = ngp_colmap_sharpness(img.rgba, img.width, img.height);
  ngp_image_free(&img);
}

static int by_sharpness(const void *a, const void *b) {
  const ngp_colmap_frame *x = a, *y = b;
  return x->sharpness < y->sharpness ? -1 : x->sharpness > y->sharpness;
}
static int by_path(const void *a, const void *b) {
  return ngp_natcmp(((const ngp_colmap_frame *)a)->file_path, ((const ngp_colmap_frame *)b)->file_path);
}

ngp_status ngp_colmap_convert(const ngp_colmap_model *m, const ngp_colmap_options *o, ngp_colmap_result *r,
                              ngp_error *err) {
  memset(r, 0, sizeof *r);
  r->model = m;
  r->aabb_scale = o->aabb_scale;
  r->keep_coords = o->keep_coords;
  r->norm_scale = 1;
  for (int i = 0; i < 3; i++)
    r->norm_rot[i * 4] = 1;
  if (o->aabb_scale < 1 || o->aabb_scale > 128 || (o->aabb_scale & (o->aabb_scale - 1)))
    return ngp_error_set(err, NGP_ERR_INVALID, "aabb_scale %d is not a power of two from 1 to 128", o->aabb_scale);
  if (!(o->skip_blurry >= 0 && o->skip_blurry < 1))
    return ngp_error_set(err, NGP_ERR_INVALID, "skip_blurry %g is not a fraction from 0 to below 1", o->skip_blurry);
  if (!ngp_path_is_dir(o->images_dir))
    return ngp_error_set(err, NGP_ERR_IO, "%s: no such image folder; give the folder COLMAP read with --images",
                         o->images_dir);
  char *out_dir = ngp_path_dirname(o->out_path);
  if (!out_dir) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  int n = m->n_images;
  int *order = malloc((size_t)(n ? n : 1) * sizeof *order);
  char **paths = calloc((size_t)(n ? n : 1), sizeof *paths);
  r->frames = calloc((size_t)(n ? n : 1), sizeof *r->frames);
  ngp_status st = NGP_OK;
  char *missing = NULL;
  if (!order || !paths || !r->frames) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
    goto done;
  }
  /* Every camera in use must be one transforms.json can express. */
  for (int i = 0; i < n; i++) {
    const ngp_colmap_camera *c = &m->cameras[camera_index(m, m->images[i].camera_id)];
    if (!ngp_colmap_model_supported(c->model)) {
      st = ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "%s: camera %u: camera model %s cannot be written to transforms.json; supported: "
                         "SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, OPENCV_FISHEYE, "
                         "SIMPLE_RADIAL_FISHEYE, RADIAL_FISHEYE (rerun COLMAP with --colmap_camera_model OPENCV)",
                         m->cameras_path, (unsigned)c->id, ngp_colmap_model_name(c->model));
      goto done;
    }
  }
  for (int i = 0; i < n; i++)
    order[i] = i;
  g_sort_model = m;
  qsort(order, (size_t)n, sizeof *order, by_name);
  int first = o->skip_early < n ? (o->skip_early > 0 ? o->skip_early : 0) : n;
  r->n_early = first;
  /* Images that are gone: named all in one message. */
  size_t missing_len = 0;
  int n_missing = 0, n_kept = 0;
  for (int k = first; k < n; k++) {
    const ngp_colmap_image *im = &m->images[order[k]];
    char *p = ngp_path_join(o->images_dir, im->name);
    if (!p) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
      goto done;
    }
    if (!ngp_path_is_file(p)) {
      n_missing++;
      if (n_missing <= 8) {
        size_t add = strlen(im->name) + 3;
        char *nm = realloc(missing, missing_len + add);
        if (!nm) {
          free(p);
          st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
          goto done;
        }
        missing = nm;
        snprintf(missing + missing_len, add, "%s%s", missing_len ? ", " : "", im->name);
        missing_len += strlen(missing + missing_len);
      }
      free(p);
      continue;
    }
    ngp_colmap_frame *f = &r->frames[n_kept];
    paths[n_kept] = p;
    f->camera = camera_index(m, im->camera_id);
    f->sharpness = -1;
    ngp_colmap_pose_to_nerf(im->q, im->t, o->keep_coords, f->c2w);
    n_kept++;
  }
  r->n_missing = n_missing;
  if (n_missing) {
    char more[48] = "";
    if (n_missing > 8) snprintf(more, sizeof more, " and %d more", n_missing - 8);
    if (!o->skip_missing || n_kept == 0) {
      st = ngp_error_set(err, NGP_ERR_IO, "%s: %d of the %d images COLMAP registered %s missing: %s%s; %s",
                         o->images_dir, n_missing, n - first, n_missing == 1 ? "is" : "are", missing, more,
                         n_kept == 0 ? "is --images the folder COLMAP read?"
                                     : "restore them, or pass --skip_missing to leave them out");
      goto done;
    }
    ngp_log(NGP_LOG_WARN, "%s: %d of the %d images COLMAP registered %s missing and left out: %s%s", o->images_dir,
            n_missing, n - first, n_missing == 1 ? "is" : "are", missing, more);
  }
  if (n_kept == 0) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: --skip_early %d leaves none of its %d images", m->images_path,
                       o->skip_early, n);
    goto done;
  }
  r->n_frames = n_kept;
  /* File paths relative to the output's folder. */
  for (int i = 0; i < n_kept; i++) {
    r->frames[i].file_path = ngp_colmap_relative_path(paths[i], out_dir);
    if (!r->frames[i].file_path) {
      st = ngp_error_set(err, NGP_ERR_IO, "%s: cannot express its path relative to %s (does that folder exist?)",
                         paths[i], out_dir);
      goto done;
    }
  }
  if (o->compute_sharpness || o->skip_blurry > 0) {
    sharp_job job = {paths, calloc((size_t)n_kept, sizeof(double)), calloc((size_t)n_kept, sizeof(ngp_error)),
                     calloc((size_t)n_kept, sizeof(ngp_status))};
    if (!job.sharpness || !job.errs || !job.st) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
    } else {
      ngp_parallel_for(n_kept, o->n_threads, sharp_one, &job);
      for (int i = 0; i < n_kept && st == NGP_OK; i++) {
        if (job.st[i] != NGP_OK) {
          *err = job.errs[i];
          st = job.st[i];
        }
        r->frames[i].sharpness = job.sharpness[i];
      }
    }
    free(job.sharpness);
    free(job.errs);
    free(job.st);
    if (st != NGP_OK) goto done;
  }
  if (o->skip_blurry > 0) {
    int drop = (int)floor(o->skip_blurry * n_kept);
    if (drop >= n_kept) drop = n_kept - 1;
    qsort(r->frames, (size_t)n_kept, sizeof *r->frames, by_sharpness);
    for (int i = 0; i < drop; i++)
      free(r->frames[i].file_path);
    memmove(r->frames, r->frames + drop, (size_t)(n_kept - drop) * sizeof *r->frames);
    memset(r->frames + n_kept - drop, 0, (size_t)drop * sizeof *r->frames);
    r->n_frames = n_kept - drop;
    r->n_blurry = drop;
    qsort(r->frames, (size_t)r->n_frames, sizeof *r->frames, by_path);
  }
  for (int i = 1; i < r->n_frames; i++)
    r->per_frame_intrinsics = r->per_frame_intrinsics || r->frames[i].camera != r->frames[0].camera;
  if (!o->keep_coords) {
    double *all = malloc((size_t)r->n_frames * 12 * sizeof *all);
    if (!all) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (int i = 0; i < r->n_frames; i++)
      memcpy(all + i * 12, r->frames[i].c2w, sizeof r->frames[i].c2w);
    ngp_colmap_normalise(all, r->n_frames, r->norm_rot, r->norm_centre, &r->norm_scale);
    for (int i = 0; i < r->n_frames; i++)
      memcpy(r->frames[i].c2w, all + i * 12, sizeof r->frames[i].c2w);
    free(all);
  }
  for (int i = 0; i < r->n_frames; i++)
    for (int k = 0; k < 12; k++)
      if (!isfinite(r->frames[i].c2w[k])) {
        st = ngp_error_set(err, NGP_ERR_INVALID, "%s: the pose of %s is not finite after the conversion",
                           m->images_path, r->frames[i].file_path);
        goto done;
      }
done:
  if (paths)
    for (int i = 0; i < n; i++)
      free(paths[i]);
  free(paths);
  free(order);
  free(out_dir);
  free(missing);
  if (st != NGP_OK) {
    r->n_frames = n; /* free every path set so far (the rest are NULL) */
    ngp_colmap_result_free(r);
  }
  return st;
}

/* ---- Output -------------------------------------------------------------------------------------- */

/* The intrinsics keys of one camera into obj (instant-ngp's names). */
static bool add_intrinsics(cJSON *obj, const ngp_colmap_camera *c) {
  const double *p = c->params;
  double fx = p[0], fy = p[0], cx, cy, k[4] = {0, 0, 0, 0}, pp[2] = {0, 0};
  bool fisheye = false;
  switch (c->model) {
  case NGP_COLMAP_SIMPLE_PINHOLE: cx = p[1], cy = p[2]; break;
  case NGP_COLMAP_PINHOLE: fy = p[1], cx = p[2], cy = p[3]; break;
  case NGP_COLMAP_SIMPLE_RADIAL: cx = p[1], cy = p[2], k[0] = p[3]; break;
  case NGP_COLMAP_RADIAL: cx = p[1], cy = p[2], k[0] = p[3], k[1] = p[4]; break;
  case NGP_COLMAP_OPENCV: fy = p[1], cx = p[2], cy = p[3], k[0] = p[4], k[1] = p[5], pp[0] = p[6], pp[1] = p[7]; break;
  case NGP_COLMAP_OPENCV_FISHEYE:
    fy = p[1], cx = p[2], cy = p[3], k[0] = p[4], k[1] = p[5], k[2] = p[6], k[3] = p[7], fisheye = true;
    break;
  case NGP_COLMAP_SIMPLE_RADIAL_FISHEYE: cx = p[1], cy = p[2], k[0] = p[3], fisheye = true; break;
  case NGP_COLMAP_RADIAL_FISHEYE: cx = p[1], cy = p[2], k[0] = p[3], k[1] = p[4], fisheye = true; break;
  default: return false;
  }
  bool ok = cJSON_AddNumberToObject(obj, "camera_angle_x", 2 * atan(c->width / (2 * fx))) &&
            cJSON_AddNumberToObject(obj, "camera_angle_y", 2 * atan(c->height / (2 * fy))) &&
            cJSON_AddNumberToObject(obj, "fl_x", fx) && cJSON_AddNumberToObject(obj, "fl_y", fy) &&
            cJSON_AddNumberToObject(obj, "k1", k[0]) && cJSON_AddNumberToObject(obj, "k2", k[1]);
  if (fisheye)
    ok = ok && cJSON_AddNumberToObject(obj, "k3", k[2]) && cJSON_AddNumberToObject(obj, "k4", k[3]) &&
         cJSON_AddTrueToObject(obj, "is_fisheye");
  else
    ok = ok && cJSON_AddNumberToObject(obj, "p1", pp[0]) && cJSON_AddNumberToObject(obj, "p2", pp[1]);
  return ok && cJSON_AddNumberToObject(obj, "cx", cx) && cJSON_AddNumberToObject(obj, "cy", cy) &&
         cJSON_AddNumberToObject(obj, "w", c->width) && cJSON_AddNumberToObject(obj, "h", c->height);
}

ngp_status ngp_colmap_write_json(const ngp_colmap_result *r, const char *path, ngp_error *err) {
  cJSON *root = cJSON_CreateObject(), *frames = NULL;
  bool ok = root != NULL;
  if (ok && !r->per_frame_intrinsics && r->n_frames > 0)
    ok = add_intrinsics(root, &r->model->cameras[r->frames[0].camera]);
  ok = ok && cJSON_AddNumberToObject(root, "aabb_scale", r->aabb_scale) &&
       (frames = cJSON_AddArrayToObject(root, "frames")) != NULL;
  for (int i = 0; ok && i < r->n_frames; i++) {
    const ngp_colmap_frame *f = &r->frames[i];
    /* each item joins its parent as soon as it exists, so deleting root frees everything */
    cJSON *fj = cJSON_CreateObject(), *mat = NULL;
    ok = fj && cJSON_AddItemToArray(frames, fj);
    if (!ok) cJSON_Delete(fj);
    ok = ok && cJSON_AddStringToObject(fj, "file_path", f->file_path);
    if (ok && f->sharpness >= 0) ok = cJSON_AddNumberToObject(fj, "sharpness", f->sharpness) != NULL;
    if (ok && r->per_frame_intrinsics) ok = add_intrinsics(fj, &r->model->cameras[f->camera]);
    ok = ok && (mat = cJSON_AddArrayToObject(fj, "transform_matrix")) != NULL;
    for (int row = 0; ok && row < 4; row++) {
      double v[4] = {0, 0, 0, 1};
      if (row < 3) memcpy(v, f->c2w + row * 4, sizeof v);
      cJSON *rj = cJSON_CreateDoubleArray(v, 4);
      ok = rj && cJSON_AddItemToArray(mat, rj);
      if (!ok) cJSON_Delete(rj);
    }
  }
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  if (!text) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory writing the json", path);
  size_t len = strlen(text);
  ngp_status st = NGP_OK;
  char *buf = malloc(len + 1);
  if (!buf) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory writing the json", path);
  } else {
    memcpy(buf, text, len);
    buf[len] = '\n';
    st = ngp_write_file_atomic(path, buf, len + 1, err);
  }
  free(buf);
  cJSON_free(text);
  return st;
}
