/* scene.c: loading instant-ngp / NeRF transforms.json scenes (NGP-SPEC §1).
 *
 * Loading runs in three passes: (1) parse every selected json file into frames with their own
 * intrinsics records and NeRF poses, sorted by file_path in natural order; (2) resolve each
 * frame's image file, skipping frames whose image is missing, then decode the images (or read
 * their headers) in parallel; (3) finish intrinsics that depend on the image size (a focal length
 * from an angle uses the loaded image's size, as instant-ngp does) and convert poses to ngp units
 * with the dataset-wide scale and offset (the last file read wins, as upstream). */
#define _POSIX_C_SOURCE 200809L
#include "ngp/scene.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/memory.h"
#include "core/json_util.h"
#include "common/ngp_math.h"
#include "core/parallel.h"

/* Extensions tried, in instant-ngp's order, when file_path names no existing file
 * (NeRF-synthetic writes "./train/r_0"), less those stb_impl.c does not compile (GIF, PIC, PSD).
 * EXR is not supported by this build. */
static const char *const k_image_exts[] = {".png", ".jpg", ".jpeg", ".bmp", ".tga", ".pnm"};

/* Focal length as written for one axis, before the image size is known. */
typedef enum { FOCAL_NONE = 0, FOCAL_ANGLE, FOCAL_PIXELS, FOCAL_DEGREES } focal_kind;

/* The intrinsics keys of one json object (the file's top level or a frame). */
typedef struct {
  focal_kind focal_kind[2];
  float focal_value[2];
  bool has_wh[2];
  int wh[2];
  bool has_c[2];
  float c[2];
  bool fisheye; /* is_fisheye: selects the fisheye model once a coefficient is non-zero */
  ngp_lens lens;
  /* Which pixel-valued keys the frame gave itself (the rest it inherits from the file's top level):
   * a focal length or principal point in pixels holds for one image size only. */
  bool own_focal[2], own_c[2];
} intrinsics;

typedef struct {
  const cJSON *json;
  int json_index;
  const char *file_path;
} frame_ref;

static const char *axis_name(int axis, const char *x, const char *y) { return axis ? y : x; }

/* Reads the intrinsics keys present in obj over *in (so a frame's keys override the file's). */
static ngp_status read_intrinsics(const cJSON *obj, const char *file, const char *ctx, intrinsics *in, ngp_error *err) {
  ngp_status st;
  for (int a = 0; a < 2; a++) {
    /* Within one object the priority is x_fov (degrees) > fl_x (pixels) > camera_angle_x (radians). */
    float v = 0.0f;
    bool have = false;
    const char *key;
    key = axis_name(a, "x_fov", "y_fov");
    if ((st = ngp_json_get_float(obj, key, file, ctx, &v, &have, err)) != NGP_OK) return st;
    if (have) {
      if (!(v > 0.0f && v < 180.0f)) {
        char f[256];
        return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: field of view %g is not in (0, 180) degrees", file,
                             ngp_json_field(f, sizeof f, ctx, key), (double)v);
      }
      in->focal_kind[a] = FOCAL_DEGREES;
      in->focal_value[a] = v;
      in->own_focal[a] = true;
      continue;
    }
    key = axis_name(a, "fl_x", "fl_y");
    if ((st = ngp_json_get_float(obj, key, file, ctx, &v, &have, err)) != NGP_OK) return st;
    if (have) {
      if (!(v > 0.0f)) {
        char f[256];
        return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: focal length %g must be positive (pixels)", file,
                             ngp_json_field(f, sizeof f, ctx, key), (double)v);
      }
      in->focal_kind[a] = FOCAL_PIXELS;
      in->focal_value[a] = v;
      in->own_focal[a] = true;
      continue;
    }
    key = axis_name(a, "camera_angle_x", "camera_angle_y");
    if ((st = ngp_json_get_float(obj, key, file, ctx, &v, &have, err)) != NGP_OK) return st;
    if (have) {
      if (!(v > 0.0f && v < 3.14159265f)) {
        char f[256];
        return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: angle %g is not in (0, pi) radians", file,
                             ngp_json_field(f, sizeof f, ctx, key), (double)v);
      }
      in->focal_kind[a] = FOCAL_ANGLE;
      in->focal_value[a] = v;
      in->own_focal[a] = true;
    }
  }
  for (int a = 0; a < 2; a++) {
    const char *key = axis_name(a, "w", "h");
    bool have = false;
    int v = 0;
    if ((st = ngp_json_get_int(obj, key, file, ctx, 1, NGP_IMAGE_MAX_DIM, &v, &have, err)) != NGP_OK) return st;
    if (have) {
      in->has_wh[a] = true;
      in->wh[a] = v;
    }
    key = axis_name(a, "cx", "cy");
    float c = 0.0f;
    if ((st = ngp_json_get_float(obj, key, file, ctx, &c, &have, err)) != NGP_OK) return st;
    if (have) {
      in->has_c[a] = true;
      in->c[a] = c;
      in->own_c[a] = true;
    }
  }
  /* The same size rule as for image files and --width/--height: a camera of 32768x32768 is a
   * 4 GiB screenshot before a pixel is rendered. */
  if (in->has_wh[0] && in->has_wh[1] && (int64_t)in->wh[0] * in->wh[1] > NGP_IMAGE_MAX_PIXELS) {
    char f[256];
    return ngp_error_set(
        err, NGP_ERR_INVALID,
        "%s: %s: a camera of %dx%d is %lld pixels, more than the %lld an image may have (16384x16384); "
        "lower w and h",
        file, ngp_json_field(f, sizeof f, ctx, "w, h"), in->wh[0], in->wh[1], (long long)in->wh[0] * in->wh[1],
        (long long)NGP_IMAGE_MAX_PIXELS);
  }
  /* Lens: k1..k4 fill params 0..3, then p1, p2 overwrite params 2, 3 (instant-ngp's order). */
  static const char *const keys[] = {"k1", "k2", "k3", "k4", "p1", "p2"};
  static const int slots[] = {0, 1, 2, 3, 2, 3};
  bool any_nonzero = false;
  for (int i = 0; i < 6; i++) {
    float v = 0.0f;
    bool have = false;
    if ((st = ngp_json_get_float(obj, keys[i], file, ctx, &v, &have, err)) != NGP_OK) return st;
    if (!have) continue;
    in->lens.params[slots[i]] = v;
    if (v != 0.0f) any_nonzero = true;
  }
  if ((st = ngp_json_get_bool(obj, "is_fisheye", file, ctx, &in->fisheye, NULL, err)) != NGP_OK) return st;
  /* A non-zero coefficient selects a distortion model; nothing switches back to pinhole. */
  if (any_nonzero) in->lens.mode = in->fisheye ? NGP_LENS_OPENCV_FISHEYE : NGP_LENS_OPENCV;
  return NGP_OK;
}

static int cmp_frame_ref(const void *a, const void *b) {
  const frame_ref *x = a, *y = b;
  int c = ngp_natcmp(x->file_path, y->file_path);
  if (c) return c;
  return x->json_index < y->json_index ? -1 : x->json_index > y->json_index;
}

static ngp_status push_string(char ***list, int *n, const char *s, ngp_error *err) {
  char **grown = realloc(*list, (size_t)(*n + 1) * sizeof **list);
  if (!grown) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  *list = grown;
  if (!(grown[*n] = ngp_strdup(s))) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  (*n)++;
  return NGP_OK;
}

/* The intrinsics of each frame, kept beside scene->frames until the image sizes are known. */
typedef struct {
  ngp_scene *scene;
  intrinsics *intr;
  int cap;
} loader;

static ngp_status grow_frames(loader *ld, int extra, ngp_error *err) {
  ngp_scene *s = ld->scene;
  if (s->n_frames + extra <= ld->cap) return NGP_OK;
  int cap = ld->cap ? ld->cap : 64;
  while (cap < s->n_frames + extra)
    cap *= 2;
  ngp_frame *f = realloc(s->frames, (size_t)cap * sizeof *f);
  if (!f) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %d frames", cap);
  s->frames = f;
  intrinsics *in = realloc(ld->intr, (size_t)cap * sizeof *in);
  if (!in) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %d frames", cap);
  ld->intr = in;
  ld->cap = cap;
  return NGP_OK;
}

/* Reads the top-level dataset keys (scale, offset, aabb, aabb_scale, up). */
static ngp_status read_dataset_keys(const cJSON *root, const char *file, ngp_scene *s, ngp_error *err) {
  ngp_status st;
  bool have = false;
  float scale = s->scale;
  if ((st = ngp_json_get_float(root, "scale", file, "", &scale, &have, err)) != NGP_OK) return st;
  if (have && !(scale > 0.0f))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: scale: %g must be positive", file, (double)scale);
  s->scale = scale;
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(root, "offset");
  if (off && cJSON_IsNumber(off)) {
    float o = 0.0f;
    if ((st = ngp_json_get_float(root, "offset", file, "", &o, NULL, err)) != NGP_OK) return st;
    s->offset[0] = s->offset[1] = s->offset[2] = o;
  } else if (off && !cJSON_IsNull(off)) {
    if (!cJSON_IsArray(off))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: offset: expected a number or an array of 3 numbers, found %s",
                           file, ngp_json_type_name(off));
    if ((st = ngp_json_get_vec(root, "offset", file, "", 3, s->offset, NULL, err)) != NGP_OK) return st;
  }
  float box[6];
  int rows = 0;
  if ((st = ngp_json_get_matrix(root, "aabb", file, "", 2, 2, 3, box, &rows, &have, err)) != NGP_OK) return st;
  if (have) {
    /* An explicit NeRF-space box overrides scale and offset: its largest side maps to 1, its
     * centre to (0.5, 0.5, 0.5). */
    float extent = 0.0f;
    for (int i = 0; i < 3; i++) {
      if (!(box[3 + i] > box[i]))
        return ngp_error_set(err, NGP_ERR_INVALID, "%s: aabb: max[%d] = %g is not above min[%d] = %g", file, i,
                             (double)box[3 + i], i, (double)box[i]);
      extent = fmaxf(extent, box[3 + i] - box[i]);
    }
    float scale_from_box = 1.0f / extent;
    float box_offset[3];
    bool finite = isfinite(scale_from_box) && scale_from_box > 0.0f;
    for (int i = 0; i < 3; i++) {
      box_offset[i] = 0.5f - 0.5f * (box[i] + box[3 + i]) * scale_from_box;
      finite = finite && isfinite(box_offset[i]);
    }
    /* A box whose side or centre overflows a float would give an infinite or zero scale. */
    if (!finite)
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: aabb: a box of largest side %g cannot be mapped to the unit cube; give its corners in "
                           "scene units, e.g. [[-1, -1, -1], [1, 1, 1]]",
                           file, (double)extent);
    s->scale = scale_from_box;
    memcpy(s->offset, box_offset, sizeof box_offset);
  }
  int aabb_scale = s->aabb_scale;
  const cJSON *as = cJSON_GetObjectItemCaseSensitive(root, "aabb_scale");
  if (as && cJSON_IsNumber(as) && !(as->valuedouble >= 1.0 && as->valuedouble <= 128.0))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: aabb_scale: %g is out of range; use a power of two from 1 to %d",
                         file, as->valuedouble, 1 << (NGP_MAX_CASCADES - 1));
  if ((st = ngp_json_get_int(root, "aabb_scale", file, "", 1, 1 << (NGP_MAX_CASCADES - 1), &aabb_scale, &have, err)) !=
      NGP_OK)
    return st;
  if (have && !ngp_is_pow2(aabb_scale))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: aabb_scale: %d is not a power of two (1, 2, 4, ..., %d)", file,
                         aabb_scale, 1 << (NGP_MAX_CASCADES - 1));
  s->aabb_scale = aabb_scale;
  float up[3];
  if ((st = ngp_json_get_vec(root, "up", file, "", 3, up, &have, err)) != NGP_OK) return st;
  if (have) {
    ngp_nerf_direction_to_ngp(up, s->up);
    s->has_up = true;
  }
  return NGP_OK;
}

/* Pass 1 for one json file: dataset keys, then its frames in natural file_path order. */
static ngp_status load_json(loader *ld, const char *file, int source, ngp_error *err) {
  ngp_scene *s = ld->scene;
  cJSON *root = NULL;
  ngp_status st = ngp_json_load_file(file, &root, err);
  if (st != NGP_OK) return st;
  frame_ref *refs = NULL;
  char *dir = NULL;
  if (!cJSON_IsObject(root)) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: expected a JSON object with a \"frames\" array, found %s", file,
                       ngp_json_type_name(root));
    goto done;
  }
  const cJSON *frames = NULL;
  if ((st = ngp_json_get_array(root, "frames", file, "", &frames, err)) != NGP_OK) goto done;
  if (!frames) {
    st = ngp_error_set(err, NGP_ERR_INVALID,
                       "%s: frames: missing; a transforms file lists its views in a \"frames\" array", file);
    goto done;
  }
  if ((st = read_dataset_keys(root, file, s, err)) != NGP_OK) goto done;
  intrinsics base;
  memset(&base, 0, sizeof base);
  if ((st = read_intrinsics(root, file, "", &base, err)) != NGP_OK) goto done;

  int n = cJSON_GetArraySize(frames);
  int limit = n;
  bool have = false;
  if ((st = ngp_json_get_int(root, "n_frames", file, "", 0, INT32_MAX, &limit, &have, err)) != NGP_OK) goto done;
  if (limit > n) limit = n;

  refs = calloc((size_t)(n > 0 ? n : 1), sizeof *refs);
  if (!refs) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory for %d frames", file, n);
    goto done;
  }
  int i = 0;
  const cJSON *fr;
  cJSON_ArrayForEach(fr, frames) {
    char ctx[64];
    snprintf(ctx, sizeof ctx, "frames[%d]", i);
    if (!cJSON_IsObject(fr)) {
      st = ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: expected an object, found %s", file, ctx,
                         ngp_json_type_name(fr));
      goto done;
    }
    const char *fp = NULL;
    if ((st = ngp_json_get_string(fr, "file_path", file, ctx, &fp, &have, err)) != NGP_OK) goto done;
    if (!have || !fp[0]) {
      st = ngp_error_set(err, NGP_ERR_INVALID, "%s: %s.file_path: %s; each frame names its image, e.g. \"./train/r_0\"",
                         file, ctx, have ? "empty" : "missing");
      goto done;
    }
    refs[i].json = fr;
    refs[i].json_index = i;
    refs[i].file_path = fp;
    i++;
  }
  qsort(refs, (size_t)n, sizeof *refs, cmp_frame_ref);

  dir = ngp_path_dirname(file);
  if (!dir || (st = grow_frames(ld, limit, err)) != NGP_OK) {
    if (!dir) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
    goto done;
  }
  for (int k = 0; k < limit; k++) {
    char ctx[64];
    snprintf(ctx, sizeof ctx, "frames[%d]", refs[k].json_index);
    const cJSON *fj = refs[k].json;
    ngp_frame fm;
    memset(&fm, 0, sizeof fm);
    intrinsics in = base;
    memset(in.own_focal, 0, sizeof in.own_focal);
    memset(in.own_c, 0, sizeof in.own_c);
    if ((st = read_intrinsics(fj, file, ctx, &in, err)) != NGP_OK) goto done;
    float m[16];
    int rows = 0;
    if ((st = ngp_json_get_matrix(fj, "transform_matrix", file, ctx, 3, 4, 4, m, &rows, &have, err)) != NGP_OK)
      goto done;
    if (!have) {
      st =
          ngp_error_set(err, NGP_ERR_INVALID,
                        "%s: %s.transform_matrix: missing; each frame needs its 4x4 camera-to-world matrix", file, ctx);
      goto done;
    }
    float det = ngp_det3(m, 4);
    if (!isfinite(det)) {
      /* Entries near the float limit: renormalising would turn the rotation into zeros. */
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: %s.transform_matrix: the rotation's determinant overflows (entries too large); the "
                         "3x3 rotation part should be orthonormal",
                         file, ctx);
      goto done;
    }
    if (!(fabsf(det) > 1e-6f)) {
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: %s.transform_matrix: the rotation is singular (determinant %g); the upper-left 3x3 "
                         "block must be a rotation (camera-to-world)",
                         file, ctx, (double)det);
      goto done;
    }
    if (fabsf(det - 1.0f) > 0.01f) {
      /* instant-ngp's fix for scaled rotations: divide by the cube root of the determinant. */
      float k3 = cbrtf(det);
      for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
          m[r * 4 + c] /= k3;
      s->n_renormalised++;
    }
    memcpy(fm.xform_nerf, m, sizeof fm.xform_nerf);
    /* Windows-style separators, as instant-ngp accepts them. */
    fm.file_path = ngp_strdup(refs[k].file_path);
    if (!fm.file_path) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
      goto done;
    }
    for (char *p = fm.file_path; *p; p++)
      if (*p == '\\') *p = '/';
    fm.source = source;
    fm.json_index = refs[k].json_index;
    s->frames[s->n_frames] = fm;
    ld->intr[s->n_frames] = in;
    s->n_frames++;
  }
done:
  free(dir);
  free(refs);
  cJSON_Delete(root);
  return st;
}

/* Finds the image of a frame: the path as written, else with each known extension appended. */
static char *resolve_image(const char *json_file, const char *file_path) {
  char *dir = ngp_path_dirname(json_file);
  if (!dir) return NULL;
  char *base = ngp_path_join(dir, file_path);
  free(dir);
  if (!base) return NULL;
  /* Anything at the written path is taken: a FIFO or a folder there is then refused by name when
   * read, never mistaken for a missing image. */
  if (ngp_path_exists(base) || ngp_fs_is_link_loop(base)) return base;
  size_t n = strlen(base);
  for (size_t i = 0; i < sizeof k_image_exts / sizeof *k_image_exts; i++) {
    char *cand = malloc(n + 8);
    if (!cand) break;
    memcpy(cand, base, n);
    strcpy(cand + n, k_image_exts[i]);
    if (ngp_path_exists(cand) || ngp_fs_is_link_loop(cand)) {
      free(base);
      return cand;
    }
    free(cand);
  }
  free(base);
  return NULL;
}

typedef struct {
  ngp_scene *scene;
  bool decode;
  ngp_error *errors; /* one per frame */
  ngp_status *status;
} image_job;

static void load_one_image(int i, int thread, void *user) {
  (void)thread;
  image_job *job = user;
  ngp_frame *f = &job->scene->frames[i];
  if (!f->image_path) { /* a kept camera without an image (keep_missing) */
    job->status[i] = NGP_OK;
    return;
  }
  if (job->decode) {
    job->status[i] = ngp_image_load(f->image_path, &f->image, &job->errors[i]);
  } else {
    f->image.rgba = NULL;
    job->status[i] =
        ngp_image_info(f->image_path, &f->image.width, &f->image.height, &f->image.source_channels, &job->errors[i]);
  }
}

/* Pass 3 for one frame: focal lengths and principal point from the image size. */
static ngp_status finish_intrinsics(ngp_scene *s, int i, const intrinsics *in, ngp_error *err) {
  ngp_frame *f = &s->frames[i];
  const char *file = s->sources[f->source];
  float res[2] = {(float)f->image.width, (float)f->image.height};
  float focal[2] = {0.0f, 0.0f};
  for (int a = 0; a < 2; a++) {
    switch (in->focal_kind[a]) {
    case FOCAL_NONE: break;
    case FOCAL_PIXELS: focal[a] = in->focal_value[a]; break;
    case FOCAL_ANGLE: focal[a] = ngp_fov_to_focal(in->focal_value[a], res[a]); break;
    case FOCAL_DEGREES: focal[a] = ngp_fov_to_focal(in->focal_value[a] * 3.14159265358979f / 180.0f, res[a]); break;
    }
  }
  if (in->focal_kind[0] == FOCAL_NONE && in->focal_kind[1] == FOCAL_NONE)
    return ngp_error_set(
        err, NGP_ERR_INVALID,
        "%s: frames[%d]: no focal length; give camera_angle_x (radians), fl_x (pixels) or x_fov (degrees)", file,
        f->json_index);
  if (in->focal_kind[0] == FOCAL_NONE) focal[0] = focal[1];
  if (in->focal_kind[1] == FOCAL_NONE) focal[1] = focal[0];
  for (int a = 0; a < 2; a++)
    if (!isfinite(focal[a]) || !(focal[a] > 0.0f)) /* e.g. x_fov 1e-40 degrees: tan underflows */
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: the %s focal length comes out as %g pixels; give a field of view well "
                           "inside (0, 180) degrees or a focal length in pixels",
                           file, f->json_index, a ? "vertical" : "horizontal", (double)focal[a]);
  /* Values that are finite but cannot be a camera (issue 19): every ray would miss the box and
   * training would run on with 0 samples per ray. A field of view over 179.9 degrees or under a
   * millionth of the image (focal more than 10^6 widths), a principal point more than an image
   * away from the image, a distortion coefficient beyond 1000. */
  for (int a = 0; a < 2; a++)
    if (focal[a] < 1e-3f * res[a] || focal[a] > 1e6f * res[a])
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: the %s focal length of %g pixels for an image %g pixels %s cannot be a "
                           "camera's (a field of view near 180 degrees or near 0); check fl_x/fl_y, camera_angle_x/y "
                           "or x_fov/y_fov",
                           file, f->json_index, a ? "vertical" : "horizontal", (double)focal[a], (double)res[a],
                           a ? "high" : "wide");
  for (int k = 0; k < 4; k++)
    if (fabsf(in->lens.params[k]) > 1000.0f)
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: a lens distortion coefficient of %g cannot be a camera's (at most 1000 in "
                           "size); check k1, k2, k3, k4, p1 and p2",
                           file, f->json_index, (double)in->lens.params[k]);
  f->focal[0] = focal[0];
  f->focal[1] = focal[1];
  for (int a = 0; a < 2; a++) {
    /* cx/cy are normalised by the json's w/h (instant-ngp); without them, by the image size. */
    float denom = in->has_wh[a] ? (float)in->wh[a] : res[a];
    f->principal[a] = in->has_c[a] ? in->c[a] / denom : 0.5f;
    if (!isfinite(f->principal[a]))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: frames[%d]: principal point is not finite", file, f->json_index);
    if (f->principal[a] < -1.0f || f->principal[a] > 2.0f)
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: the principal point %s = %g pixels is more than an image away from the "
                           "image (%g pixels); check %s",
                           file, f->json_index, a ? "cy" : "cx", (double)(f->principal[a] * denom), (double)denom,
                           a ? "cy" : "cx");
  }
  f->lens = in->lens;
  ngp_nerf_matrix_to_ngp(f->xform_nerf, s->scale, s->offset, f->xform);
  for (int k = 0; k < 12; k++)
    if (!isfinite(f->xform[k]))
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d].transform_matrix: the camera position overflows once scaled (scale %g, "
                           "offset %g, %g, %g); check scale, offset and aabb",
                           file, f->json_index, (double)s->scale, (double)s->offset[0], (double)s->offset[1],
                           (double)s->offset[2]);
  /* A camera a million box sides away sees the box as less than a pixel. */
  double far = 1e6 * s->aabb_scale, d2 = 0.0; /* double: a float square overflows */
  for (int k = 0; k < 3; k++) {
    double d = (double)f->xform[k * 4 + 3] - 0.5;
    d2 += d * d;
  }
  if (!(d2 <= far * far))
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: frames[%d].transform_matrix: the camera is %g units from the scene box's centre, more "
                         "than 10^6 box sides (aabb_scale %d): no ray can hit the box; check scale (%g), offset (%g, "
                         "%g, %g) and the camera positions",
                         file, f->json_index, sqrt(d2), s->aabb_scale, (double)s->scale, (double)s->offset[0],
                         (double)s->offset[1], (double)s->offset[2]);
  return NGP_OK;
}

/* Pass 2b: image sizes against the json. A declared w/h that differs from the image would make
 * instant-ngp normalise cx/cy by the wrong size and silently mis-place every ray; a focal length
 * or principal point in pixels, inherited from the file's top level, holds for one image size
 * only. Frames may legitimately differ in size when each carries its own pixel intrinsics, or
 * when the focal length is an angle (it then scales with each image, as upstream). */
static ngp_status check_image_sizes(const ngp_scene *s, const intrinsics *intr, ngp_error *err) {
  static const char *const focal_keys[2] = {"fl_x", "fl_y"}, *const c_keys[2] = {"cx", "cy"};
  int ref = -1; /* the first frame of the current source that inherits pixel intrinsics */
  for (int i = 0; i < s->n_frames; i++) {
    const ngp_frame *f = &s->frames[i];
    if (!f->image_path) continue; /* a camera without an image takes its size from w/h */
    const intrinsics *in = &intr[i];
    const char *file = s->sources[f->source];
    int res[2] = {f->image.width, f->image.height};
    if ((in->has_wh[0] && in->wh[0] != res[0]) || (in->has_wh[1] && in->wh[1] != res[1])) {
      char w[16] = "any", h[16] = "any";
      if (in->has_wh[0]) snprintf(w, sizeof w, "%d", in->wh[0]);
      if (in->has_wh[1]) snprintf(h, sizeof h, "%d", in->wh[1]);
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: image '%s' is %dx%d pixels, but w, h say %sx%s; correct w and h (a "
                           "frame may give its own), or resize the image",
                           file, f->json_index, f->image_path, res[0], res[1], w, h);
    }
    const char *shared = NULL;
    for (int a = 0; a < 2 && !shared; a++) {
      if (in->focal_kind[a] == FOCAL_PIXELS && !in->own_focal[a])
        shared = focal_keys[a];
      else if (in->has_c[a] && !in->own_c[a] && !in->has_wh[a])
        shared = c_keys[a];
    }
    if (!shared) continue;
    if (ref < 0 || s->frames[ref].source != f->source) {
      ref = i;
      continue;
    }
    const ngp_frame *r = &s->frames[ref];
    if (r->image.width != res[0] || r->image.height != res[1])
      return ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: image '%s' is %dx%d pixels, but frames[%d]'s '%s' is %dx%d, and it takes "
                           "%s (pixels) from the top level, which holds for one image size; give frames of another "
                           "size their own %s (with w and h), or use camera_angle_x, which scales with each image",
                           file, f->json_index, f->image_path, res[0], res[1], r->json_index, r->image_path,
                           r->image.width, r->image.height, shared, shared);
  }
  return NGP_OK;
}

void ngp_scene_options_default(ngp_scene_options *opts) {
  opts->load_images = true;
  opts->keep_missing = false;
  opts->n_threads = 0;
  opts->quiet_skipped = false;
  opts->holdout_every = 0;
  opts->holdout_only = false;
}

/* Chooses the json files of a scene folder and records the others as ignored. */
static ngp_status select_sources(const char *dir, ngp_scene *s, ngp_error *err) {
  char **names = NULL;
  int n = 0;
  ngp_status st = ngp_list_dir(dir, ".json", &names, &n, err);
  if (st != NGP_OK) return st;
  const char *preferred = NULL;
  for (int i = 0; i < n && !preferred; i++)
    if (strcmp(names[i], "transforms_train.json") == 0) preferred = names[i];
  for (int i = 0; i < n && !preferred; i++)
    if (strcmp(names[i], "transforms.json") == 0) preferred = names[i];
  for (int i = 0; i < n && st == NGP_OK; i++) {
    char *full = ngp_path_join(dir, names[i]);
    if (!full) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
      break;
    }
    bool take;
    if (preferred) {
      take = names[i] == preferred;
    } else {
      /* No conventional name: every json with a "frames" array, as instant-ngp loads a folder. */
      cJSON *root = NULL;
      ngp_error ignore;
      take = ngp_json_load_file(full, &root, &ignore) == NGP_OK &&
             cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "frames"));
      cJSON_Delete(root);
    }
    st = take ? push_string(&s->sources, &s->n_sources, full, err) : push_string(&s->ignored, &s->n_ignored, full, err);
    free(full);
  }
  ngp_free_strings(names, n);
  if (st == NGP_OK && s->n_sources == 0)
    st = ngp_error_set(err, NGP_ERR_INVALID,
                       "%s: no transforms file in this folder; expected transforms_train.json, transforms.json or a "
                       ".json file with a \"frames\" array",
                       dir);
  return st;
}

/* One warning for every frame skipped for a missing image: how many, and the first few. */
static void warn_skipped(const ngp_scene *s, int n_listed) {
  enum { SHOW = 4 };
  char list[1024] = "";
  size_t len = 0;
  for (int i = 0; i < s->n_skipped && i < SHOW && len < sizeof list; i++)
    len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? "; " : "", s->skipped[i]);
  if (s->n_skipped > SHOW && len < sizeof list)
    snprintf(list + len, sizeof list - len, "; and %d more", s->n_skipped - SHOW);
  ngp_log(NGP_LOG_WARN, "%d of %d frames skipped, their image file is missing: %s", s->n_skipped, n_listed, list);
}

ngp_status ngp_scene_load(const char *path, const ngp_scene_options *opts_in, ngp_scene *s, ngp_error *err) {
  memset(s, 0, sizeof *s);
  ngp_scene_options opts;
  if (opts_in)
    opts = *opts_in;
  else
    ngp_scene_options_default(&opts);
  s->scale = NGP_NERF_SCALE;
  s->offset[0] = s->offset[1] = s->offset[2] = NGP_NERF_OFFSET;
  s->aabb_scale = 1;
  loader ld = {s, NULL, 0};
  ngp_status st = NGP_OK;
  ngp_error *errors = NULL;
  ngp_status *status = NULL;

  if (ngp_path_is_dir(path)) {
    st = select_sources(path, s, err);
  } else if (ngp_path_is_file(path)) {
    st = push_string(&s->sources, &s->n_sources, path, err);
  } else if (ngp_path_exists(path) || ngp_fs_is_link_loop(path)) {
    st = ngp_fs_check_input(path, true, err); /* a FIFO, a device: named, never opened */
  } else {
    st = ngp_error_set(err, NGP_ERR_IO,
                       "%s: no such file or directory; a scene is a transforms .json file or a folder holding one",
                       path);
  }
  for (int i = 0; st == NGP_OK && i < s->n_sources; i++)
    st = load_json(&ld, s->sources[i], i, err);
  if (st != NGP_OK) goto fail;

  /* Pass 2: drop frames without an image file, then read the images in parallel. */
  int kept = 0;
  for (int i = 0; i < s->n_frames; i++) {
    ngp_frame *f = &s->frames[i];
    const char *file = s->sources[f->source];
    f->image_path = resolve_image(file, f->file_path);
    if (!f->image_path && opts.keep_missing) {
      /* A camera without an image: its size must come from the json. */
      const intrinsics *in = &ld.intr[i];
      if (!in->has_wh[0] || !in->has_wh[1]) {
        st = ngp_error_set(err, NGP_ERR_INVALID,
                           "%s: frames[%d]: image '%s' not found and no w/h given; a camera "
                           "without an image needs its size",
                           file, f->json_index, f->file_path);
        goto fail;
      }
      f->image.width = in->wh[0];
      f->image.height = in->wh[1];
      s->frames[kept] = *f;
      ld.intr[kept] = ld.intr[i];
      kept++;
      continue;
    }
    if (!f->image_path) {
      char note[1400];
      snprintf(note, sizeof note, "%s: frames[%d] (%s)", file, f->json_index, f->file_path);
      ngp_error ignore; /* the list is for the one warning below and for summaries */
      (void)push_string(&s->skipped, &s->n_skipped, note, &ignore);
      free(f->file_path);
      continue;
    }
    s->frames[kept] = *f;
    ld.intr[kept] = ld.intr[i];
    kept++;
  }
  s->n_frames = kept;
  if (s->n_skipped > 0 && !opts.quiet_skipped) warn_skipped(s, kept + s->n_skipped);
  /* The split, over the frames that have an image: 0, N, 2N, ... held out (kept alone with
   * holdout_only), before any image is decoded. */
  if (opts.holdout_every > 1) {
    int k2 = 0;
    for (int i = 0; i < s->n_frames; i++) {
      if ((i % opts.holdout_every == 0) != opts.holdout_only) {
        free(s->frames[i].file_path);
        free(s->frames[i].image_path);
        continue;
      }
      s->frames[k2] = s->frames[i];
      ld.intr[k2] = ld.intr[i];
      k2++;
    }
    s->n_frames = k2;
    if (k2 == 0) {
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: no frame to train on: %d with an image, and frames 0, %d, ... of them are held out", path,
                         kept, opts.holdout_every);
      goto fail;
    }
  }
  if (s->n_frames == 0) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: no usable frame: %d listed, all without an image file%s", path,
                       s->n_skipped, s->n_skipped ? "; check that file_path is relative to the json file" : "");
    goto fail;
  }
  errors = calloc((size_t)s->n_frames, sizeof *errors);
  status = calloc((size_t)s->n_frames, sizeof *status);
  if (!errors || !status) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
    goto fail;
  }
  /* Headers first: the images are decoded at once, so their total size is held against the memory
   * this process may use before any is decoded (40 frames of one 16384^2 PNG are 40 GiB). */
  for (int pass = opts.load_images ? 0 : 1; pass < 2; pass++) {
    image_job job = {s, pass == 1 && opts.load_images, errors, status};
    ngp_parallel_for(s->n_frames, opts.n_threads, load_one_image, &job);
    for (int i = 0; i < s->n_frames; i++) {
      if (status[i] != NGP_OK) {
        const ngp_frame *f = &s->frames[i];
        st = ngp_error_set(err, status[i], "%s: frames[%d]: %s", s->sources[f->source], f->json_index, errors[i].msg);
        goto fail;
      }
    }
    if (pass == 1) break;
    uint64_t bytes = 0;
    int big = 0;
    for (int i = 0; i < s->n_frames; i++) {
      const ngp_image *im = &s->frames[i].image;
      bytes += (uint64_t)im->width * (uint64_t)im->height * 4u;
      if ((uint64_t)im->width * im->height > (uint64_t)s->frames[big].image.width * s->frames[big].image.height)
        big = i;
    }
    char subject[1600];
    snprintf(subject, sizeof subject, "%s: decoding the %d images at once (as RGBA; the largest, %s, is %dx%d)", path,
             s->n_frames, s->frames[big].image_path, s->frames[big].image.width, s->frames[big].image.height);
    if ((st = ngp_memory_check(bytes, subject, "use fewer frames or smaller images (downscale them)", err)) != NGP_OK)
      goto fail;
  }
  s->images_loaded = opts.load_images;
  for (int i = 0; i < s->n_frames; i++)
    if (!s->frames[i].image_path) s->images_loaded = false; /* cameras kept without an image */
  if (opts.load_images) {
    for (int i = 0; i < s->n_frames && !s->has_alpha; i++) {
      const ngp_image *im = &s->frames[i].image;
      if (!im->rgba) continue;
      size_t npx = (size_t)im->width * (size_t)im->height;
      for (size_t p = 0; p < npx; p++)
        if (im->rgba[p * 4 + 3] != 255) {
          s->has_alpha = true;
          break;
        }
    }
  }

  if ((st = check_image_sizes(s, ld.intr, err)) != NGP_OK) goto fail;
  /* Pass 3: intrinsics that need the image size, and poses in ngp units. */
  for (int i = 0; i < s->n_frames; i++)
    if ((st = finish_intrinsics(s, i, &ld.intr[i], err)) != NGP_OK) goto fail;
  s->n_cascades = ngp_ilog2(s->aabb_scale) + 1;
  for (int i = 0; i < 3; i++) {
    s->aabb_min[i] = 0.5f - 0.5f * (float)s->aabb_scale;
    s->aabb_max[i] = 0.5f + 0.5f * (float)s->aabb_scale;
  }
  if (s->n_renormalised)
    ngp_log(NGP_LOG_WARN, "%s: %d frame rotation%s had a determinant far from 1 and %s renormalised", path,
            s->n_renormalised, s->n_renormalised == 1 ? "" : "s", s->n_renormalised == 1 ? "was" : "were");
  free(errors);
  free(status);
  free(ld.intr);
  return NGP_OK;

fail:
  free(errors);
  free(status);
  free(ld.intr);
  ngp_scene_free(s);
  return st;
}

void ngp_scene_free(ngp_scene *s) {
  if (!s) return;
  for (int i = 0; i < s->n_frames; i++) {
    free(s->frames[i].file_path);
    free(s->frames[i].image_path);
    ngp_image_free(&s->frames[i].image);
  }
  free(s->frames);
  ngp_free_strings(s->sources, s->n_sources);
  ngp_free_strings(s->ignored, s->n_ignored);
  ngp_free_strings(s->skipped, s->n_skipped);
  memset(s, 0, sizeof *s);
}

size_t ngp_scene_image_bytes(const ngp_scene *s) {
  size_t total = 0;
  for (int i = 0; i < s->n_frames; i++)
    if (s->frames[i].image.rgba) total += (size_t)s->frames[i].image.width * (size_t)s->frames[i].image.height * 4;
  return total;
}

const char *ngp_lens_mode_name(ngp_lens_mode mode) {
  switch (mode) {
  case NGP_LENS_PINHOLE: return "pinhole";
  case NGP_LENS_OPENCV: return "OpenCV";
  case NGP_LENS_OPENCV_FISHEYE: return "OpenCV fisheye";
  }
  return "unknown";
}
