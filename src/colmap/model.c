/* model.c: COLMAP sparse models read from their text (cameras.txt, images.txt) and binary
 * (cameras.bin, images.bin) files, every value checked.
 *
 * Text (COLMAP's documentation, "Output Format"): '#' lines are comments; cameras.txt holds one
 * camera a line, "CAMERA_ID MODEL WIDTH HEIGHT PARAMS..."; images.txt two lines per image,
 * "IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME" then its 2D points (which may be an empty line).
 * Binary, little-endian: cameras.bin is a uint64 count, then per camera int32 id, int32 model,
 * uint64 width, uint64 height and the model's doubles; images.bin a uint64 count, then per image
 * uint32 id, 4 doubles q, 3 doubles t, uint32 camera id, the NUL-terminated name, a uint64 count of
 * 2D points and 24 bytes per point (double x, double y, int64 point id). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colmap/colmap.h"
#include "core/fs.h"

/* A model file larger than this is surely not one (COLMAP's images.bin for 10k images with 10k
 * points each is ~2.4 GB; we read the whole file, so keep a generous but finite bound). */
#define COLMAP_MAX_FILE_BYTES ((size_t)4 << 30)

static const struct {
  const char *name;
  int n_params;
} k_models[NGP_COLMAP_N_MODELS] = {
    {"SIMPLE_PINHOLE", 3},
    {"PINHOLE", 4},
    {"SIMPLE_RADIAL", 4},
    {"RADIAL", 5},
    {"OPENCV", 8},
    {"OPENCV_FISHEYE", 8},
    {"FULL_OPENCV", 12},
    {"FOV", 5},
    {"SIMPLE_RADIAL_FISHEYE", 4},
    {"RADIAL_FISHEYE", 5},
    {"THIN_PRISM_FISHEYE", 12},
};

const char *ngp_colmap_model_name(int model) {
  return model >= 0 && model < NGP_COLMAP_N_MODELS ? k_models[model].name : NULL;
}

int ngp_colmap_model_from_name(const char *name) {
  for (int i = 0; i < NGP_COLMAP_N_MODELS; i++)
    if (!strcmp(name, k_models[i].name)) return i;
  return -1;
}

int ngp_colmap_model_params(int model) { return ngp_colmap_model_name(model) ? k_models[model].n_params : 0; }

bool ngp_colmap_model_supported(int model) {
  return model == NGP_COLMAP_SIMPLE_PINHOLE || model == NGP_COLMAP_PINHOLE || model == NGP_COLMAP_SIMPLE_RADIAL ||
         model == NGP_COLMAP_RADIAL || model == NGP_COLMAP_OPENCV || model == NGP_COLMAP_OPENCV_FISHEYE ||
         model == NGP_COLMAP_SIMPLE_RADIAL_FISHEYE || model == NGP_COLMAP_RADIAL_FISHEYE;
}

void ngp_colmap_model_free(ngp_colmap_model *m) {
  if (!m) return;
  for (int i = 0; i < m->n_images; i++)
    free(m->images[i].name);
  free(m->images);
  free(m->cameras);
  memset(m, 0, sizeof *m);
}

/* ---- Checks shared by both readers -------------------------------------------------------------- */

static ngp_status check_camera(const ngp_colmap_model *m, const ngp_colmap_camera *c, const char *file,
                               const char *where, ngp_error *err) {
  if (c->width <= 0 || c->height <= 0)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: image size %dx%d is not positive", file, where, c->width,
                         c->height);
  for (int k = 0; k < c->n_params; k++)
    if (!isfinite(c->params[k]))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: parameter %d is not a finite number", file, where, k + 1);
  for (int j = 0; j < m->n_cameras; j++)
    if (m->cameras[j].id == c->id)
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: camera id %u appears twice", file, where, (unsigned)c->id);
  return NGP_OK;
}

static ngp_status check_image(const ngp_colmap_model *m, const ngp_colmap_image *im, const char *file,
                              const char *where, ngp_error *err) {
  double qn = 0;
  for (int k = 0; k < 4; k++) {
    if (!isfinite(im->q[k]))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s (%s): quaternion component %d is not a finite number", file,
                           where, im->name, k + 1);
    qn += im->q[k] * im->q[k];
  }
  if (!(qn > 1e-12))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s (%s): the rotation quaternion is zero", file, where, im->name);
  for (int k = 0; k < 3; k++)
    if (!isfinite(im->t[k]))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s (%s): translation component %d is not a finite number", file,
                           where, im->name, k + 1);
  if (!im->name[0]) return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: the image name is empty", file, where);
  for (int j = 0; j < m->n_images; j++)
    if (m->images[j].id == im->id)
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: image id %u appears twice", file, where, (unsigned)im->id);
  return NGP_OK;
}

/* After reading: every image's camera exists. */
static ngp_status check_links(const ngp_colmap_model *m, ngp_error *err) {
  if (m->n_images == 0)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: no registered image; COLMAP reconstructed nothing to convert",
                         m->images_path);
  for (int i = 0; i < m->n_images; i++) {
    bool found = false;
    for (int j = 0; j < m->n_cameras && !found; j++)
      found = m->cameras[j].id == m->images[i].camera_id;
    if (!found)
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: image %u (%s): camera %u is not in %s", m->images_path,
                           (unsigned)m->images[i].id, m->images[i].name, (unsigned)m->images[i].camera_id,
                           m->cameras_path);
  }
  return NGP_OK;
}

static ngp_status grow(void **arr, int *cap, int n, size_t elem, ngp_error *err) {
  if (n < *cap) return NGP_OK;
  if (*cap > (1 << 26)) return ngp_error_set(err, NGP_ERR_INVALID, "more than %d entries", 1 << 26);
  int nc = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, (size_t)nc * elem);
  if (!p) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory reading a COLMAP model");
  *arr = p;
  *cap = nc;
  return NGP_OK;
}

/* ---- Text ---------------------------------------------------------------------------------------- */

/* Next line of a NUL-terminated buffer: *line gets its start, the '\n' (and a '\r') is cut. */
static char *next_line(char **cursor) {
  char *s = *cursor;
  if (!*s) return NULL;
  char *nl = strchr(s, '\n');
  if (nl) {
    *nl = '\0';
    *cursor = nl + 1;
  } else {
    *cursor = s + strlen(s);
  }
  size_t n = strlen(s);
  if (n && s[n - 1] == '\r') s[n - 1] = '\0';
  return s;
}

static bool blank(const char *s) {
  while (isspace((unsigned char)*s))
    s++;
  return *s == '\0' || *s == '#';
}

/* Whitespace-separated token; NULL at the end of the line. */
static char *token(char **s) {
  char *p = *s;
  while (isspace((unsigned char)*p))
    p++;
  if (!*p) return NULL;
  char *start = p;
  while (*p && !isspace((unsigned char)*p))
    p++;
  if (*p) *p++ = '\0';
  *s = p;
  return start;
}

static bool parse_double(const char *s, double *out) {
  if (!s) return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end) return false;
  *out = v; /* non-finite values are refused by the checks, with their own message */
  return true;
}

static bool parse_u32(const char *s, uint32_t *out) {
  if (!s || !isdigit((unsigned char)*s)) return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v > 0xffffffffULL) return false;
  *out = (uint32_t)v;
  return true;
}

/* A text model file, whole and NUL-terminated, into *text (malloc'd): refused when it holds a NUL
 * byte (a binary model given as text). */
static ngp_status read_text(const char *path, char **text, ngp_error *err) {
  size_t len;
  ngp_status st = ngp_read_file(path, COLMAP_MAX_FILE_BYTES, text, &len, err);
  if (st != NGP_OK) return st;
  if (memchr(*text, '\0', len)) {
    free(*text);
    *text = NULL;
    return ngp_error_set(err, NGP_ERR_PARSE, "%s: holds a NUL byte; is this a binary file?", path);
  }
  return NGP_OK;
}

static ngp_status read_cameras_text(const char *path, ngp_colmap_model *m, ngp_error *err) {
  char *text = NULL;
  ngp_status st = read_text(path, &text, err);
  if (st != NGP_OK) return st;
  int cap = 0, lineno = 0;
  char *cur = text, *line;
  while ((line = next_line(&cur))) {
    lineno++;
    if (blank(line)) continue;
    char where[48];
    snprintf(where, sizeof where, "line %d", lineno);
    ngp_colmap_camera c = {0};
    char *p = line, *tok;
    uint32_t w, h;
    if (!parse_u32(token(&p), &c.id)) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS...", path, where);
      break;
    }
    tok = token(&p);
    c.model = tok ? ngp_colmap_model_from_name(tok) : -1;
    if (c.model < 0) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: '%s' is not a COLMAP camera model", path, where, tok ? tok : "");
      break;
    }
    if (!parse_u32(token(&p), &w) || !parse_u32(token(&p), &h) || w > 1000000 || h > 1000000) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: WIDTH and HEIGHT must be whole numbers up to 1000000", path,
                         where);
      break;
    }
    c.width = (int)w;
    c.height = (int)h;
    int want = ngp_colmap_model_params(c.model);
    while ((tok = token(&p))) {
      if (c.n_params == want) {
        c.n_params++;
        break;
      }
      if (!parse_double(tok, &c.params[c.n_params])) {
        st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: parameter %d '%s' is not a number", path, where, c.n_params + 1,
                           tok);
        goto done;
      }
      c.n_params++;
    }
    if (c.n_params != want) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: %s takes %d parameters, found %s%d", path, where,
                         k_models[c.model].name, want, c.n_params > want ? "more than " : "",
                         c.n_params > want ? want : c.n_params);
      break;
    }
    if ((st = check_camera(m, &c, path, where, err)) != NGP_OK) break;
    if ((st = grow((void **)&m->cameras, &cap, m->n_cameras, sizeof c, err)) != NGP_OK) break;
    m->cameras[m->n_cameras++] = c;
  }
done:
  free(text);
  return st;
}

static ngp_status read_images_text(const char *path, ngp_colmap_model *m, ngp_error *err) {
  char *text = NULL;
  ngp_status st = read_text(path, &text, err);
  if (st != NGP_OK) return st;
  int cap = 0, lineno = 0;
  char *cur = text, *line;
  while ((line = next_line(&cur))) {
    lineno++;
    /* Comments only come before the first image: after one, the next line is its points, whatever
     * it holds (COLMAP writes an empty line for an image without points). */
    if (blank(line)) continue;
    char where[48];
    snprintf(where, sizeof where, "line %d", lineno);
    ngp_colmap_image im = {0};
    char *p = line;
    bool ok = parse_u32(token(&p), &im.id);
    for (int k = 0; k < 4 && ok; k++)
      ok = parse_double(token(&p), &im.q[k]);
    for (int k = 0; k < 3 && ok; k++)
      ok = parse_double(token(&p), &im.t[k]);
    ok = ok && parse_u32(token(&p), &im.camera_id);
    /* The name is the rest of the line (COLMAP writes it as is). */
    while (ok && isspace((unsigned char)*p))
      p++;
    size_t nl = ok ? strlen(p) : 0;
    while (nl && isspace((unsigned char)p[nl - 1]))
      p[--nl] = '\0';
    if (!ok || !nl) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME", path,
                         where);
      break;
    }
    im.name = ngp_strdup(p);
    if (!im.name) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory reading %s", path);
      break;
    }
    if ((st = check_image(m, &im, path, where, err)) != NGP_OK ||
        (st = grow((void **)&m->images, &cap, m->n_images, sizeof im, err)) != NGP_OK) {
      free(im.name);
      break;
    }
    m->images[m->n_images++] = im;
    if (!next_line(&cur)) break; /* the points line (absent at the very end: fine) */
    lineno++;
  }
  free(text);
  return st;
}

ngp_status ngp_colmap_read_text(const char *cameras_txt, const char *images_txt, ngp_colmap_model *m, ngp_error *err) {
  memset(m, 0, sizeof *m);
  snprintf(m->cameras_path, sizeof m->cameras_path, "%s", cameras_txt);
  snprintf(m->images_path, sizeof m->images_path, "%s", images_txt);
  ngp_status st = read_cameras_text(cameras_txt, m, err);
  if (st == NGP_OK) st = read_images_text(images_txt, m, err);
  if (st == NGP_OK) st = check_links(m, err);
  if (st != NGP_OK) ngp_colmap_model_free(m);
  return st;
}

/* ---- Binary -------------------------------------------------------------------------------------- */

typedef struct {
  const unsigned char *p, *end;
  const char *file;
} reader;

static bool take(reader *r, void *out, size_t n) {
  if ((size_t)(r->end - r->p) < n) return false;
  memcpy(out, r->p, n);
  r->p += n;
  return true;
}

/* The files are little-endian; so is every machine we build for, which this checks once. */
static bool host_little_endian(void) {
  const uint16_t one = 1;
  unsigned char b;
  memcpy(&b, &one, 1);
  return b == 1;
}

static ngp_status truncated(const reader *r, const char *what, ngp_error *err) {
  return ngp_error_set(err, NGP_ERR_PARSE, "%s: ends inside %s (truncated, or not a COLMAP %s)", r->file, what,
                       ngp_path_basename(r->file));
}

static ngp_status read_cameras_bin(const char *path, ngp_colmap_model *m, ngp_error *err) {
  char *data = NULL;
  size_t len;
  ngp_status st = ngp_read_file(path, COLMAP_MAX_FILE_BYTES, &data, &len, err);
  if (st != NGP_OK) return st;
  reader r = {(const unsigned char *)data, (const unsigned char *)data + len, path};
  uint64_t n = 0;
  if (!take(&r, &n, 8)) {
    st = truncated(&r, "the camera count", err);
  } else if (n > (len - 8) / 24) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: claims %llu cameras, more than its %zu bytes can hold", path,
                       (unsigned long long)n, len);
  } else {
    m->cameras = calloc(n ? n : 1, sizeof *m->cameras);
    if (!m->cameras) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory reading %s", path);
  }
  for (uint64_t i = 0; st == NGP_OK && i < n; i++) {
    char where[48];
    snprintf(where, sizeof where, "camera %llu", (unsigned long long)i);
    int32_t id, model;
    uint64_t w, h;
    if (!take(&r, &id, 4) || !take(&r, &model, 4) || !take(&r, &w, 8) || !take(&r, &h, 8)) {
      st = truncated(&r, where, err);
      break;
    }
    if (!ngp_colmap_model_name(model)) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: model id %d is not a COLMAP camera model", path, where,
                         (int)model);
      break;
    }
    if (w > 1000000 || h > 1000000) {
      st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %s: image size %llux%llu is beyond 1000000", path, where,
                         (unsigned long long)w, (unsigned long long)h);
      break;
    }
    ngp_colmap_camera c = {.id = (uint32_t)id, .model = model, .width = (int)w, .height = (int)h};
    c.n_params = k_models[model].n_params;
    for (int k = 0; k < c.n_params; k++)
      if (!take(&r, &c.params[k], 8)) {
        st = truncated(&r, where, err);
        goto done;
      }
    if ((st = check_camera(m, &c, path, where, err)) != NGP_OK) break;
    m->cameras[m->n_cameras++] = c;
  }
  if (st == NGP_OK && r.p != r.end)
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %zu bytes after the last camera; not a COLMAP cameras.bin", path,
                       (size_t)(r.end - r.p));
done:
  free(data);
  return st;
}

static ngp_status read_images_bin(const char *path, ngp_colmap_model *m, ngp_error *err) {
  char *data = NULL;
  size_t len;
  ngp_status st = ngp_read_file(path, COLMAP_MAX_FILE_BYTES, &data, &len, err);
  if (st != NGP_OK) return st;
  reader r = {(const unsigned char *)data, (const unsigned char *)data + len, path};
  uint64_t n = 0;
  if (!take(&r, &n, 8)) {
    st = truncated(&r, "the image count", err);
  } else if (n > (len - 8) / 73) { /* 64 bytes of pose and ids, the NUL of the name, 8 */
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: claims %llu images, more than its %zu bytes can hold", path,
                       (unsigned long long)n, len);
  } else {
    m->images = calloc(n ? n : 1, sizeof *m->images);
    if (!m->images) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory reading %s", path);
  }
  for (uint64_t i = 0; st == NGP_OK && i < n; i++) {
    char where[48];
    snprintf(where, sizeof where, "image %llu", (unsigned long long)i);
    ngp_colmap_image im = {0};
    bool ok = take(&r, &im.id, 4);
    for (int k = 0; k < 4 && ok; k++)
      ok = take(&r, &im.q[k], 8);
    for (int k = 0; k < 3 && ok; k++)
      ok = take(&r, &im.t[k], 8);
    ok = ok && take(&r, &im.camera_id, 4);
    const unsigned char *nul = ok ? memchr(r.p, '\0', (size_t)(r.end - r.p)) : NULL;
    if (!nul) {
      st = truncated(&r, where, err);
      break;
    }
    size_t name_len = (size_t)(nul - r.p);
    im.name = malloc(name_len + 1);
    if (!im.name) {
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory reading %s", path);
      break;
    }
    memcpy(im.name, r.p, name_len + 1);
    r.p = nul + 1;
    uint64_t n_points;
    if (!take(&r, &n_points, 8) || n_points > (size_t)(r.end - r.p) / 24) {
      free(im.name);
      st = truncated(&r, where, err);
      break;
    }
    r.p += n_points * 24;
    if ((st = check_image(m, &im, path, where, err)) != NGP_OK) {
      free(im.name);
      break;
    }
    m->images[m->n_images++] = im;
  }
  if (st == NGP_OK && r.p != r.end)
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: %zu bytes after the last image; not a COLMAP images.bin", path,
                       (size_t)(r.end - r.p));
  free(data);
  return st;
}

ngp_status ngp_colmap_read_binary(const char *cameras_bin, const char *images_bin, ngp_colmap_model *m,
                                  ngp_error *err) {
  memset(m, 0, sizeof *m);
  m->binary = true;
  snprintf(m->cameras_path, sizeof m->cameras_path, "%s", cameras_bin);
  snprintf(m->images_path, sizeof m->images_path, "%s", images_bin);
  if (!host_little_endian())
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "%s: COLMAP's binary files are little-endian and this machine is "
                         "not; convert the model to text (colmap model_converter --output_type TXT)",
                         cameras_bin);
  ngp_status st = read_cameras_bin(cameras_bin, m, err);
  if (st == NGP_OK) st = read_images_bin(images_bin, m, err);
  if (st == NGP_OK) st = check_links(m, err);
  if (st != NGP_OK) ngp_colmap_model_free(m);
  return st;
}

ngp_status ngp_colmap_read(const char *dir, ngp_colmap_model *m, ngp_error *err) {
  memset(m, 0, sizeof *m);
  if (!ngp_path_is_dir(dir))
    return ngp_error_set(err, NGP_ERR_IO, "%s: %s", dir,
                         ngp_path_exists(dir) ? "not a folder; name the folder holding the COLMAP model"
                                              : "no such folder; name the folder holding the COLMAP model");
  static const char *const names[2][2] = {{"cameras.bin", "images.bin"}, {"cameras.txt", "images.txt"}};
  char *paths[2][2] = {{NULL, NULL}, {NULL, NULL}};
  bool have[2];
  for (int f = 0; f < 2; f++) {
    for (int k = 0; k < 2; k++)
      paths[f][k] = ngp_path_join(dir, names[f][k]);
    have[f] = paths[f][0] && paths[f][1] && ngp_path_is_file(paths[f][0]) && ngp_path_is_file(paths[f][1]);
  }
  ngp_status st;
  if (!paths[0][0] || !paths[0][1] || !paths[1][0] || !paths[1][1])
    st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  else if (have[0])
    st = ngp_colmap_read_binary(paths[0][0], paths[0][1], m, err);
  else if (have[1])
    st = ngp_colmap_read_text(paths[1][0], paths[1][1], m, err);
  else {
    /* Name the file that is missing, from the format that is half there if one is. */
    int f = (paths[1][0] && ngp_path_exists(paths[1][0])) || ngp_path_exists(paths[1][1]) ? 1
            : (ngp_path_exists(paths[0][0]) || ngp_path_exists(paths[0][1]))              ? 0
                                                                                          : -1;
    if (f < 0)
      st = ngp_error_set(err, NGP_ERR_IO,
                         "%s: no COLMAP model here (neither cameras.txt + images.txt nor cameras.bin + images.bin); "
                         "name the model folder, e.g. colmap_text or colmap_sparse/0",
                         dir);
    else
      st = ngp_error_set(err, NGP_ERR_IO, "%s: missing; a COLMAP model needs both %s and %s",
                         ngp_path_exists(paths[f][0]) ? paths[f][1] : paths[f][0], names[f][0], names[f][1]);
  }
  for (int f = 0; f < 2; f++)
    for (int k = 0; k < 2; k++)
      free(paths[f][k]);
  return st;
}
