/* camera_path.c: instant-ngp's camera paths (see camera_path.h): the file, the splines over the
 * keyframes, frame times, camera smoothing, and the generated orbit.
 *
 * The splines follow instant-ngp's src/camera_path.cu: keyframes are combined as weighted sums
 * (every field, the quaternion included, with the added quaternion's sign flipped onto the
 * accumulated one's hemisphere), then the quaternion is normalised; Catmull-Rom is the pyramid of
 * pairwise interpolations with knots -1, 0, 1, 2, whose quaternions are slerped. Arithmetic is in
 * float, as there. */
#define _POSIX_C_SOURCE 200809L
#include "engine/camera_path.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cjson/cJSON.h"
#include "common/ngp_math.h"
#include "core/fs.h"
#include "core/json_util.h"

#define PI_F 3.14159265358979323846f
#define PI_D 3.14159265358979323846

void ngp_camera_path_init(ngp_camera_path *p) {
  memset(p, 0, sizeof *p);
  p->spline_order = 3;
}

void ngp_camera_path_free(ngp_camera_path *p) {
  free(p->keys);
  ngp_camera_path_init(p);
}

void ngp_camera_path_clear(ngp_camera_path *p) {
  p->n_keys = 0;
  p->time = 0.0f;
  p->duration_seconds = 0.0f;
}

/* ---- Quaternions and matrices -------------------------------------------------------------------- */

static float qdot(const float *a, const float *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]; }

static void qnormalize(float *q) {
  float n = sqrtf(qdot(q, q));
  if (n > 0.0f)
    for (int i = 0; i < 4; i++)
      q[i] /= n;
}

void ngp_path_key_to_xform(const ngp_path_key *k, float m[12]) {
  float q[4] = {k->R[0], k->R[1], k->R[2], k->R[3]};
  qnormalize(q);
  float x = q[0], y = q[1], z = q[2], w = q[3];
  m[0] = 1.0f - 2.0f * (y * y + z * z);
  m[1] = 2.0f * (x * y - z * w);
  m[2] = 2.0f * (x * z + y * w);
  m[4] = 2.0f * (x * y + z * w);
  m[5] = 1.0f - 2.0f * (x * x + z * z);
  m[6] = 2.0f * (y * z - x * w);
  m[8] = 2.0f * (x * z - y * w);
  m[9] = 2.0f * (y * z + x * w);
  m[10] = 1.0f - 2.0f * (x * x + y * y);
  m[3] = k->T[0];
  m[7] = k->T[1];
  m[11] = k->T[2];
}

/* Rotation matrix (3x3 in a 3x4 row-major block) to a unit quaternion (x, y, z, w), by the largest
 * of the four diagonal combinations (Shepperd), which keeps the division well conditioned. */
static void matrix_to_quat(const float *m, float *q) {
  double r00 = m[0], r11 = m[5], r22 = m[10], tr = r00 + r11 + r22;
  double x, y, z, w;
  if (tr > 0.0) {
    double s = sqrt(tr + 1.0) * 2.0;
    w = 0.25 * s;
    x = (double)(m[9] - m[6]) / s;
    y = (double)(m[2] - m[8]) / s;
    z = (double)(m[4] - m[1]) / s;
  } else if (r00 > r11 && r00 > r22) {
    double s = sqrt(1.0 + r00 - r11 - r22) * 2.0;
    w = (double)(m[9] - m[6]) / s;
    x = 0.25 * s;
    y = (double)(m[1] + m[4]) / s;
    z = (double)(m[2] + m[8]) / s;
  } else if (r11 > r22) {
    double s = sqrt(1.0 + r11 - r00 - r22) * 2.0;
    w = (double)(m[2] - m[8]) / s;
    x = (double)(m[1] + m[4]) / s;
    y = 0.25 * s;
    z = (double)(m[6] + m[9]) / s;
  } else {
    double s = sqrt(1.0 + r22 - r00 - r11) * 2.0;
    w = (double)(m[4] - m[1]) / s;
    x = (double)(m[2] + m[8]) / s;
    y = (double)(m[6] + m[9]) / s;
    z = 0.25 * s;
  }
  double n = sqrt(x * x + y * y + z * z + w * w);
  q[0] = (float)(x / n);
  q[1] = (float)(y / n);
  q[2] = (float)(z / n);
  q[3] = (float)(w / n);
}

void ngp_path_key_from_xform(const float m[12], ngp_path_key *k) {
  matrix_to_quat(m, k->R);
  k->T[0] = m[3];
  k->T[1] = m[7];
  k->T[2] = m[11];
}

float ngp_path_fov_to_focal(float fov_deg, int height) {
  return ngp_fov_to_focal(fov_deg * PI_F / 180.0f, (float)height);
}

/* ---- Keyframe arithmetic, as instant-ngp's CameraKeyframe operators ------------------------------ */

static ngp_path_key key_scaled(const ngp_path_key *a, float f) {
  ngp_path_key r = *a;
  for (int i = 0; i < 4; i++)
    r.R[i] = a->R[i] * f;
  for (int i = 0; i < 3; i++)
    r.T[i] = a->T[i] * f;
  r.slice = a->slice * f;
  r.scale = a->scale * f;
  r.fov = a->fov * f;
  r.aperture_size = a->aperture_size * f;
  return r; /* the timestamp is kept */
}

/* a + b, with b's quaternion flipped onto a's side (q and -q are the same rotation). */
static ngp_path_key key_add(const ngp_path_key *a, const ngp_path_key *b) {
  ngp_path_key r = *b;
  float s = qdot(a->R, b->R) < 0.0f ? -1.0f : 1.0f;
  for (int i = 0; i < 4; i++)
    r.R[i] = a->R[i] + s * b->R[i];
  for (int i = 0; i < 3; i++)
    r.T[i] = a->T[i] + b->T[i];
  r.slice = a->slice + b->slice;
  r.scale = a->scale + b->scale;
  r.fov = a->fov + b->fov;
  r.aperture_size = a->aperture_size + b->aperture_size;
  return r;
}

/* sum_i w[i] * k[i], accumulated left to right as instant-ngp does, then the quaternion normalised. */
static ngp_path_key key_blend(const ngp_path_key *const *k, const float *w, int n) {
  ngp_path_key acc = key_scaled(k[0], w[0]);
  for (int i = 1; i < n; i++) {
    ngp_path_key term = key_scaled(k[i], w[i]);
    acc = key_add(&acc, &term);
  }
  qnormalize(acc.R);
  return acc;
}

/* Spherical interpolation from a to b (b already on a's side); t may leave [0, 1] (extrapolation,
 * which Catmull-Rom's outer knots need). Nearly equal quaternions are mixed linearly. */
static void qslerp(const float *a, const float *b, float t, float *out) {
  float d = qdot(a, b);
  float wa = 1.0f - t, wb = t;
  if (fabsf(d) < 1.0f - 1e-6f) {
    float theta = acosf(fabsf(d)), s = sinf(theta);
    wa = sinf((1.0f - t) * theta) / s;
    wb = sinf(t * theta) / s;
    if (d < 0.0f) wb = -wb;
  }
  for (int i = 0; i < 4; i++)
    out[i] = wa * a[i] + wb * b[i];
  qnormalize(out);
}

/* instant-ngp's lerp(p0, p1, t, t0, t1): the fields linearly, the rotation slerped, at (t - t0) / (t1 - t0). */
static ngp_path_key key_lerp(const ngp_path_key *p0, const ngp_path_key *p1, float t, float t0, float t1) {
  t = (t - t0) / (t1 - t0);
  float r1[4] = {p1->R[0], p1->R[1], p1->R[2], p1->R[3]};
  if (qdot(r1, p0->R) < 0.0f)
    for (int i = 0; i < 4; i++)
      r1[i] = -r1[i];
  ngp_path_key r;
  qslerp(p0->R, r1, t, r.R);
  for (int i = 0; i < 3; i++)
    r.T[i] = p0->T[i] + (p1->T[i] - p0->T[i]) * t;
  r.slice = p0->slice + (p1->slice - p0->slice) * t;
  r.scale = p0->scale + (p1->scale - p0->scale) * t;
  r.fov = p0->fov + (p1->fov - p0->fov) * t;
  r.aperture_size = p0->aperture_size + (p1->aperture_size - p0->aperture_size) * t;
  r.timestamp = p0->timestamp + (p1->timestamp - p0->timestamp) * t;
  return r;
}

static const ngp_path_key *get_key(const ngp_camera_path *p, int i) {
  int n = p->n_keys;
  if (p->loop) return &p->keys[((i % n) + n) % n];
  return &p->keys[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/* Keyframe index and fraction within its segment at play time t (instant-ngp's get_pos). */
static void get_pos(const ngp_camera_path *p, float playtime, int *kfidx, float *frac) {
  int n = p->n_keys;
  if (n == 1) {
    *kfidx = 0;
    *frac = playtime;
    return;
  }
  float duration = p->loop ? p->keys[n - 1].timestamp : p->keys[n - 2].timestamp;
  playtime *= duration;
  int it = 0; /* upper bound: the first keyframe whose timestamp exceeds playtime */
  while (it < n && !(playtime < p->keys[it].timestamp))
    it++;
  int hi = n - (p->loop ? 1 : 2);
  int i = it < 0 ? 0 : it > hi ? hi : it;
  float prev = i == 0 ? 0.0f : p->keys[i - 1].timestamp;
  *kfidx = i;
  *frac = (playtime - prev) / (p->keys[i].timestamp - prev);
}

ngp_path_key ngp_camera_path_eval(const ngp_camera_path *p, float t) {
  ngp_path_key none = {{0, 0, 0, 1}, {0, 0, 0}, 0, 0, 0, 0, 0};
  if (p->n_keys == 0) return none;
  int i;
  float u;
  get_pos(p, t, &i, &u);
  switch (p->spline_order) {
  case 0: return *get_key(p, i + (int)roundf(u));
  case 1: {
    const ngp_path_key *k[2] = {get_key(p, i), get_key(p, i + 1)};
    float w[2] = {1.0f - u, u};
    return key_blend(k, w, 2);
  }
  case 2: {
    const ngp_path_key *k[3] = {get_key(p, i - 1), get_key(p, i), get_key(p, i + 1)};
    float uu = u * u;
    float w[3] = {(1 - u) * (1 - u) * 0.5f, (-2.0f * uu + 2.0f * u + 1.0f) * 0.5f, uu * 0.5f};
    return key_blend(k, w, 3);
  }
  case NGP_SPLINE_CATMULL_ROM: {
    const ngp_path_key *p0 = get_key(p, i - 1), *p1 = get_key(p, i), *p2 = get_key(p, i + 1), *p3 = get_key(p, i + 2);
    ngp_path_key q0 = key_lerp(p0, p1, u, -1.0f, 0.0f);
    ngp_path_key q1 = key_lerp(p1, p2, u, 0.0f, 1.0f);
    ngp_path_key q2 = key_lerp(p2, p3, u, 1.0f, 2.0f);
    ngp_path_key r0 = key_lerp(&q0, &q1, u, -1.0f, 1.0f);
    ngp_path_key r1 = key_lerp(&q1, &q2, u, 0.0f, 2.0f);
    return key_lerp(&r0, &r1, u, 0.0f, 1.0f);
  }
  default: { /* 3: the cubic uniform B-spline */
    const ngp_path_key *k[4] = {get_key(p, i - 1), get_key(p, i), get_key(p, i + 1), get_key(p, i + 2)};
    float uu = u * u, uuu = uu * u;
    float w[4] = {(1 - u) * (1 - u) * (1 - u) * (1.0f / 6.0f), (3.0f * uuu - 6.0f * uu + 4.0f) * (1.0f / 6.0f),
                  (-3.0f * uuu + 3.0f * uu + 3.0f * u + 1.0f) * (1.0f / 6.0f), uuu * (1.0f / 6.0f)};
    return key_blend(k, w, 4);
  }
  }
}

float ngp_camera_path_frame_time(const ngp_camera_path *p, int i, int n) {
  if (p->loop) return n > 0 ? (float)((double)i / (double)n) : 0.0f;
  return n > 1 ? (float)((double)i / (double)(n - 1)) : 0.0f;
}

/* ---- Timestamps ------------------------------------------------------------------------------------ */

static void make_equidistant(ngp_camera_path *p) {
  for (int i = 0; i < p->n_keys; i++)
    p->keys[i].timestamp = (float)(i + 1) / (float)p->n_keys;
  p->duration_seconds = 1.0f;
}

/* Timestamps must increase from above 0; otherwise they are replaced (instant-ngp's sanitize). */
static void sanitize(ngp_camera_path *p) {
  float prev = 0.0f;
  for (int i = 0; i < p->n_keys; i++) {
    if (!(p->keys[i].timestamp > prev)) {
      make_equidistant(p);
      return;
    }
    prev = p->keys[i].timestamp;
  }
}

static ngp_status reserve(ngp_camera_path *p, int n, ngp_error *err) {
  if (n <= p->cap) return NGP_OK;
  int cap = p->cap ? p->cap : 8;
  while (cap < n)
    cap *= 2;
  ngp_path_key *k = realloc(p->keys, (size_t)cap * sizeof *k);
  if (!k) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %d camera keyframes", n);
  p->keys = k;
  p->cap = cap;
  return NGP_OK;
}

ngp_status ngp_camera_path_add(ngp_camera_path *p, const float xform[12], float fov_deg, float scale, ngp_error *err) {
  ngp_status st = reserve(p, p->n_keys + 1, err);
  if (st != NGP_OK) return st;
  ngp_path_key *k = &p->keys[p->n_keys++];
  memset(k, 0, sizeof *k);
  ngp_path_key_from_xform(xform, k);
  k->fov = fov_deg;
  k->scale = scale;
  make_equidistant(p);
  return NGP_OK;
}

/* ---- The file ---------------------------------------------------------------------------------------- */

static ngp_status read_key(const cJSON *el, const char *file, int i, ngp_path_key *k, ngp_error *err) {
  char ctx[48];
  snprintf(ctx, sizeof ctx, "path[%d]", i);
  if (!cJSON_IsObject(el))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected a keyframe object, found %s", file, ctx,
                         ngp_json_type_name(el));
  memset(k, 0, sizeof *k);
  k->scale = 1.0f;
  bool has_r, has_t, has_fov, has_dof;
  ngp_status st;
  if ((st = ngp_json_get_vec(el, "R", file, ctx, 4, k->R, &has_r, err)) != NGP_OK ||
      (st = ngp_json_get_vec(el, "T", file, ctx, 3, k->T, &has_t, err)) != NGP_OK ||
      (st = ngp_json_get_float(el, "fov", file, ctx, &k->fov, &has_fov, err)) != NGP_OK ||
      (st = ngp_json_get_float(el, "slice", file, ctx, &k->slice, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_float(el, "scale", file, ctx, &k->scale, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_float(el, "dof", file, ctx, &k->aperture_size, &has_dof, err)) != NGP_OK ||
      (!has_dof && (st = ngp_json_get_float(el, "aperture_size", file, ctx, &k->aperture_size, NULL, err)) != NGP_OK) ||
      (st = ngp_json_get_float(el, "timestamp", file, ctx, &k->timestamp, NULL, err)) != NGP_OK)
    return st;
  const char *missing = !has_r ? "R" : !has_t ? "T" : !has_fov ? "fov" : NULL;
  if (missing)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s.%s: missing (a keyframe has R, T and fov)", file, ctx, missing);
  if (!(sqrtf(qdot(k->R, k->R)) > 1e-6f))
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: %s.R: the quaternion is zero; R is a rotation as [x, y, z, w], e.g. [0, 0, 0, 1]", file,
                         ctx);
  if (!(k->fov > 0.0f && k->fov < 180.0f))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s.fov: %g is not a vertical field of view in (0, 180) degrees",
                         file, ctx, (double)k->fov);
  return NGP_OK;
}

ngp_status ngp_camera_path_load(const char *file, ngp_camera_path *p, ngp_error *err) {
  ngp_camera_path_init(p);
  cJSON *root = NULL;
  ngp_status st = ngp_json_load_file(file, &root, err);
  if (st != NGP_OK) return st;
  const cJSON *path = NULL;
  if (!cJSON_IsObject(root)) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: expected a JSON object at the top level (a camera path), found %s",
                       file, ngp_json_type_name(root));
    goto done;
  }
  bool has_duration = false;
  if ((st = ngp_json_get_array(root, "path", file, "", &path, err)) != NGP_OK ||
      (st = ngp_json_get_bool(root, "loop", file, "", &p->loop, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_float(root, "time", file, "", &p->time, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_float(root, "duration_seconds", file, "", &p->duration_seconds, &has_duration, err)) !=
          NGP_OK ||
      (st = ngp_json_get_int(root, "spline_order", file, "", 0, 3, &p->spline_order, NULL, err)) != NGP_OK)
    goto done;
  if (!path) {
    st = ngp_error_set(err, NGP_ERR_INVALID,
                       "%s: path: missing; a camera path lists its keyframes in \"path\" (instant-ngp's base_cam.json)",
                       file);
    goto done;
  }
  if (has_duration && !(p->duration_seconds >= 0.0f && p->duration_seconds < 1e7f)) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: duration_seconds: %g is not a duration in seconds (>= 0)", file,
                       (double)p->duration_seconds);
    goto done;
  }
  int n = cJSON_GetArraySize(path);
  if (n == 0) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: path: no keyframes; a video needs at least one", file);
    goto done;
  }
  if ((st = reserve(p, n, err)) != NGP_OK) goto done;
  int i = 0;
  const cJSON *el;
  cJSON_ArrayForEach(el, path) {
    if ((st = read_key(el, file, i, &p->keys[i], err)) != NGP_OK) goto done;
    i++;
  }
  p->n_keys = n;
  sanitize(p);
done:
  cJSON_Delete(root);
  if (st != NGP_OK) ngp_camera_path_free(p);
  return st;
}

ngp_status ngp_camera_path_save(const char *file, const ngp_camera_path *p, ngp_error *err) {
  cJSON *root = cJSON_CreateObject(), *path = cJSON_CreateArray();
  bool ok = root && path;
  if (ok) {
    cJSON_AddBoolToObject(root, "loop", p->loop);
    cJSON_AddNumberToObject(root, "time", (double)p->time);
    cJSON_AddItemToObject(root, "path", path);
    path = NULL;
    cJSON_AddNumberToObject(root, "duration_seconds", (double)p->duration_seconds);
    cJSON_AddNumberToObject(root, "spline_order", p->spline_order > 3 ? 3 : p->spline_order);
  }
  cJSON *arr = ok ? cJSON_GetObjectItemCaseSensitive(root, "path") : NULL;
  for (int i = 0; ok && i < p->n_keys; i++) {
    const ngp_path_key *k = &p->keys[i];
    cJSON *o = cJSON_CreateObject();
    double r[4], t[3];
    for (int j = 0; j < 4; j++)
      r[j] = k->R[j];
    for (int j = 0; j < 3; j++)
      t[j] = k->T[j];
    cJSON *ra = cJSON_CreateDoubleArray(r, 4), *ta = cJSON_CreateDoubleArray(t, 3);
    ok = o && ra && ta && cJSON_AddItemToObject(o, "R", ra) && cJSON_AddItemToObject(o, "T", ta) &&
         cJSON_AddNumberToObject(o, "slice", (double)k->slice) &&
         cJSON_AddNumberToObject(o, "scale", (double)k->scale) && cJSON_AddNumberToObject(o, "fov", (double)k->fov) &&
         cJSON_AddNumberToObject(o, "aperture_size", (double)k->aperture_size) &&
         cJSON_AddNumberToObject(o, "timestamp", (double)k->timestamp) && cJSON_AddItemToArray(arr, o);
    if (!ok) {
      if (o && !cJSON_GetObjectItemCaseSensitive(o, "R")) cJSON_Delete(ra);
      if (o && !cJSON_GetObjectItemCaseSensitive(o, "T")) cJSON_Delete(ta);
      cJSON_Delete(o);
    }
  }
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  cJSON_Delete(path);
  if (!text) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory writing the camera path", file);
  ngp_status st = ngp_write_file_atomic(file, text, strlen(text), err);
  free(text);
  return st;
}

bool ngp_camera_path_is_transforms(const char *file) {
  cJSON *root = NULL;
  ngp_error err;
  if (ngp_json_load_file(file, &root, &err) != NGP_OK) return false;
  bool yes = cJSON_IsObject(root) && cJSON_GetObjectItemCaseSensitive(root, "frames") != NULL;
  cJSON_Delete(root);
  return yes;
}

static int cmp_file_order(const void *a, const void *b) {
  const ngp_frame *fa = *(const ngp_frame *const *)a, *fb = *(const ngp_frame *const *)b;
  if (fa->source != fb->source) return fa->source < fb->source ? -1 : 1;
  return (fa->json_index > fb->json_index) - (fa->json_index < fb->json_index);
}

ngp_status ngp_camera_path_from_transforms(const char *file, ngp_camera_path *p, ngp_error *err) {
  ngp_camera_path_init(p);
  ngp_scene cams;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.load_images = false;
  so.keep_missing = true;
  so.quiet_skipped = true;
  ngp_status st = ngp_scene_load(file, &so, &cams, err);
  if (st != NGP_OK) return st;
  const ngp_frame **order = malloc((size_t)cams.n_frames * sizeof *order);
  if (!order || (st = reserve(p, cams.n_frames, err)) != NGP_OK) {
    if (!order) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
    goto done;
  }
  /* The loader sorts frames by file_path, as instant-ngp trains on them; a path goes in the order
   * the file lists them. */
  for (int i = 0; i < cams.n_frames; i++)
    order[i] = &cams.frames[i];
  qsort(order, (size_t)cams.n_frames, sizeof *order, cmp_file_order);
  float centre[3];
  for (int a = 0; a < 3; a++)
    centre[a] = 0.5f * (cams.aabb_min[a] + cams.aabb_max[a]);
  for (int i = 0; i < cams.n_frames; i++) {
    const ngp_frame *f = order[i];
    ngp_path_key *k = &p->keys[i];
    memset(k, 0, sizeof *k);
    ngp_path_key_from_xform(f->xform, k);
    k->fov = ngp_focal_to_fov(f->focal[1], (float)f->image.height) * 180.0f / PI_F;
    /* The distance to the scene centre along the view, as instant-ngp's scale when it jumps to a
     * training view (at least 0.1). */
    float d = 0.0f;
    for (int a = 0; a < 3; a++)
      d += (centre[a] - f->xform[a * 4 + 3]) * f->xform[a * 4 + 2];
    k->scale = d > 0.1f ? d : 0.1f;
  }
  p->n_keys = cams.n_frames;
  p->spline_order = NGP_SPLINE_CATMULL_ROM;
  make_equidistant(p);
  p->duration_seconds = 0.0f; /* not given: the video's length is the caller's */
done:
  free(order);
  ngp_scene_free(&cams);
  if (st != NGP_OK) ngp_camera_path_free(p);
  return st;
}

/* ---- Smoothing: the rigid motion's logarithm and exponential, in double -------------------------- */

/* A = [R | t] (3x4 row-major, double). */
static void rigid_mul(const double *a, const double *b, double *out) { /* out = a * b */
  double r[12];
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 4; j++) {
      double s = j == 3 ? a[i * 4 + 3] : 0.0;
      for (int k = 0; k < 3; k++)
        s += a[i * 4 + k] * b[k * 4 + j];
      r[i * 4 + j] = s;
    }
  }
  memcpy(out, r, sizeof r);
}

static void rigid_inverse(const double *a, double *out) {
  double r[12];
  for (int i = 0; i < 3; i++) {
    r[i * 4 + 3] = 0.0;
    for (int j = 0; j < 3; j++)
      r[i * 4 + j] = a[j * 4 + i];
  }
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      r[i * 4 + 3] -= r[i * 4 + j] * a[j * 4 + 3];
  memcpy(out, r, sizeof r);
}

/* [w]x (the cross-product matrix), 3x3. */
static void skew(const double *w, double *k) {
  k[0] = 0;
  k[1] = -w[2];
  k[2] = w[1];
  k[3] = w[2];
  k[4] = 0;
  k[5] = -w[0];
  k[6] = -w[1];
  k[7] = w[0];
  k[8] = 0;
}

static void mat3_mul(const double *a, const double *b, double *out) {
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      out[i * 3 + j] = a[i * 3] * b[j] + a[i * 3 + 1] * b[3 + j] + a[i * 3 + 2] * b[6 + j];
}

/* Rotation vector of a rotation matrix (the block of a 3x4). */
static void rot_log(const double *m, double *w) {
  double c = (m[0] + m[5] + m[10] - 1.0) * 0.5;
  c = c > 1.0 ? 1.0 : c < -1.0 ? -1.0 : c;
  double theta = acos(c);
  double v[3] = {m[9] - m[6], m[2] - m[8], m[4] - m[1]}; /* 2 sin(theta) * axis */
  if (theta < 1e-8) {
    for (int i = 0; i < 3; i++)
      w[i] = 0.5 * v[i];
  } else if (PI_D - theta < 1e-4) {
    /* Near a half turn sin(theta) vanishes: the axis from the diagonal, R + I = 2 a a^T. */
    double a[3] = {sqrt(fmax(0.0, (m[0] + 1.0) * 0.5)), sqrt(fmax(0.0, (m[5] + 1.0) * 0.5)),
                   sqrt(fmax(0.0, (m[10] + 1.0) * 0.5))};
    if (m[1] + m[4] < 0.0) a[1] = -a[1];
    if (m[2] + m[8] < 0.0) a[2] = -a[2];
    if (a[0] == 0.0 && m[6] + m[9] < 0.0) a[2] = -a[2];
    double n = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    for (int i = 0; i < 3; i++)
      w[i] = theta * a[i] / n;
  } else {
    double f = theta / (2.0 * sin(theta));
    for (int i = 0; i < 3; i++)
      w[i] = f * v[i];
  }
}

/* V(w) = I + (1 - cos t)/t^2 K + (t - sin t)/t^3 K^2, the exponential's translation part, and its
 * inverse; small angles by their series. */
static void v_matrix(const double *w, bool inverse, double *out) {
  double t2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], t = sqrt(t2);
  double k[9], k2[9];
  skew(w, k);
  mat3_mul(k, k, k2);
  double a, b;
  if (!inverse) {
    a = t < 1e-5 ? 0.5 - t2 / 24.0 : (1.0 - cos(t)) / t2;
    b = t < 1e-5 ? 1.0 / 6.0 - t2 / 120.0 : (t - sin(t)) / (t2 * t);
  } else {
    a = -0.5;
    b = t < 1e-5 ? 1.0 / 12.0 + t2 / 720.0 : (1.0 - t * sin(t) / (2.0 * (1.0 - cos(t)))) / t2;
  }
  for (int i = 0; i < 9; i++)
    out[i] = (i % 4 == 0 ? 1.0 : 0.0) + a * k[i] + b * k2[i];
}

static void rot_exp(const double *w, double *r) { /* Rodrigues, into a 3x3 */
  double t2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], t = sqrt(t2);
  double k[9], k2[9];
  skew(w, k);
  mat3_mul(k, k, k2);
  double a = t < 1e-5 ? 1.0 - t2 / 6.0 : sin(t) / t;
  double b = t < 1e-5 ? 0.5 - t2 / 24.0 : (1.0 - cos(t)) / t2;
  for (int i = 0; i < 9; i++)
    r[i] = (i % 4 == 0 ? 1.0 : 0.0) + a * k[i] + b * k2[i];
}

void ngp_camera_log_lerp(float state[12], const float target[12], float alpha) {
  double a[12], b[12], ai[12], d[12];
  for (int i = 0; i < 12; i++) {
    a[i] = state[i];
    b[i] = target[i];
  }
  rigid_inverse(a, ai);
  rigid_mul(b, ai, d); /* the motion from state to target */
  double w[3], vinv[9], u[3];
  rot_log(d, w);
  v_matrix(w, true, vinv);
  for (int i = 0; i < 3; i++)
    u[i] = vinv[i * 3] * d[3] + vinv[i * 3 + 1] * d[7] + vinv[i * 3 + 2] * d[11];
  for (int i = 0; i < 3; i++) {
    w[i] *= (double)alpha;
    u[i] *= (double)alpha;
  }
  double r[9], v[9], e[12];
  rot_exp(w, r);
  v_matrix(w, false, v);
  for (int i = 0; i < 3; i++) {
    for (int j = 0; j < 3; j++)
      e[i * 4 + j] = r[i * 3 + j];
    e[i * 4 + 3] = v[i * 3] * u[0] + v[i * 3 + 1] * u[1] + v[i * 3 + 2] * u[2];
  }
  rigid_mul(e, a, d);
  for (int i = 0; i < 12; i++)
    state[i] = (float)d[i];
}

float ngp_camera_smoothing_alpha(double fps) { return (float)(1.0 - pow(0.02, 1.0 / fps)); }

/* ---- Orbit ------------------------------------------------------------------------------------------ */

static void cross3(const float *a, const float *b, float *o) {
  o[0] = a[1] * b[2] - a[2] * b[1];
  o[1] = a[2] * b[0] - a[0] * b[2];
  o[2] = a[0] * b[1] - a[1] * b[0];
}

static float dot3(const float *a, const float *b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static float normalize3(float *v) {
  float n = sqrtf(dot3(v, v));
  if (n > 0.0f)
    for (int i = 0; i < 3; i++)
      v[i] /= n;
  return n;
}

ngp_status ngp_orbit_from_scene(const ngp_scene *cams, ngp_orbit *o, ngp_error *err) {
  memset(o, 0, sizeof *o);
  int n = cams->n_frames;
  for (int a = 0; a < 3; a++)
    o->centre[a] = 0.5f * (cams->aabb_min[a] + cams->aabb_max[a]);
  if (cams->has_up) {
    memcpy(o->up, cams->up, sizeof o->up);
  } else {
    for (int i = 0; i < n; i++)
      for (int a = 0; a < 3; a++)
        o->up[a] -= cams->frames[i].xform[a * 4 + 1]; /* minus the "down" column */
  }
  if (!(normalize3(o->up) > 1e-6f)) {
    o->up[0] = o->up[2] = 0.0f;
    o->up[1] = 1.0f;
  }
  double dist = 0.0, elev = 0.0, fov = 0.0;
  bool have_start = false;
  for (int i = 0; i < n; i++) {
    const ngp_frame *f = &cams->frames[i];
    float v[3] = {f->xform[3] - o->centre[0], f->xform[7] - o->centre[1], f->xform[11] - o->centre[2]};
    float d = sqrtf(dot3(v, v));
    if (!(d > 1e-6f)) continue;
    float s = dot3(v, o->up) / d;
    dist += (double)d;
    elev += (double)asinf(s > 1.0f ? 1.0f : s < -1.0f ? -1.0f : s);
    fov += (double)ngp_focal_to_fov(f->focal[1], (float)f->image.height);
    float h[3];
    for (int a = 0; a < 3; a++)
      h[a] = v[a] - s * d * o->up[a];
    if (!have_start && normalize3(h) > 1e-6f) {
      memcpy(o->start_dir, h, sizeof h);
      have_start = true;
    }
  }
  if (dist == 0.0)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "--video-orbit: every training camera sits at the scene's centre; an orbit needs their "
                         "distance (use --video-camera-path instead)");
  /* Count only the cameras used (those off the centre). */
  int used = 0;
  for (int i = 0; i < n; i++) {
    const float *x = cams->frames[i].xform;
    float v[3] = {x[3] - o->centre[0], x[7] - o->centre[1], x[11] - o->centre[2]};
    if (sqrtf(dot3(v, v)) > 1e-6f) used++;
  }
  o->distance = (float)(dist / used);
  o->elevation = (float)(elev / used);
  o->fov_deg = (float)(fov / used) * 180.0f / PI_F;
  if (!have_start) { /* every camera straight above or below: any direction across the up vector */
    float any[3] = {1.0f, 0.0f, 0.0f};
    if (fabsf(o->up[0]) > 0.9f) any[0] = 0.0f, any[1] = 1.0f;
    float c[3];
    cross3(o->up, any, c);
    normalize3(c);
    memcpy(o->start_dir, c, sizeof c);
  }
  return NGP_OK;
}

void ngp_orbit_xform(const ngp_orbit *o, double turns, float m[12]) {
  double phi = 2.0 * PI_D * turns;
  float c = (float)cos(phi), s = (float)sin(phi);
  float side[3], h[3], pos[3], fwd[3], right[3], down[3];
  cross3(o->up, o->start_dir, side);
  for (int a = 0; a < 3; a++)
    h[a] = c * o->start_dir[a] + s * side[a];
  float ce = cosf(o->elevation), se = sinf(o->elevation);
  for (int a = 0; a < 3; a++) {
    pos[a] = o->centre[a] + o->distance * (ce * h[a] + se * o->up[a]);
    fwd[a] = o->centre[a] - pos[a];
  }
  normalize3(fwd);
  cross3(fwd, o->up, right);
  if (!(normalize3(right) > 1e-6f)) /* looking straight along the up vector */
    memcpy(right, side, sizeof right);
  cross3(fwd, right, down);
  for (int a = 0; a < 3; a++) {
    m[a * 4 + 0] = right[a];
    m[a * 4 + 1] = down[a];
    m[a * 4 + 2] = fwd[a];
    m[a * 4 + 3] = pos[a];
  }
}
