/* snapshot.c: saving and loading snapshots (format in snapshot.h). Every length is checked
 * against the file size before use, and the checksum before anything is parsed, so a truncated,
 * corrupted or foreign file is rejected with a message rather than read. */
#include "nerf/snapshot.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "core/json_util.h"
#include "common/ngp_math.h"

static const char k_magic[8] = {'N', 'G', 'P', 'S', 'N', 'A', 'P', '\0'};

uint64_t ngp_snapshot_checksum(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

typedef struct {
  uint8_t *p;
  size_t len, cap;
  bool failed;
} buf;

static void put(buf *b, const void *data, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1 << 20;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *g = realloc(b->p, cap);
    if (!g) {
      b->failed = true;
      return;
    }
    b->p = g;
    b->cap = cap;
  }
  memcpy(b->p + b->len, data, n);
  b->len += n;
}

/* Little-endian integers, whatever the host. */
static void put_u32(buf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  put(b, x, 4);
}
static void put_u64(buf *b, uint64_t v) {
  put_u32(b, (uint32_t)v);
  put_u32(b, (uint32_t)(v >> 32));
}
static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

static bool host_is_little_endian(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static void put_floats(buf *b, const float *v, size_t n) {
  if (host_is_little_endian()) {
    put(b, v, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &v[i], 4);
    put_u32(b, u);
  }
}

static void get_floats(const uint8_t *p, float *v, size_t n) {
  if (host_is_little_endian()) {
    memcpy(v, p, n * sizeof(float));
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t u = get_u32(p + 4 * i);
    memcpy(&v[i], &u, 4);
  }
}

ngp_status ngp_snapshot_save(const char *path, const ngp_nerf *n, const float *weights, const ngp_snapshot_meta *meta,
                             ngp_error *err) {
  char *cfg_json = ngp_config_to_json(&n->cfg);
  cJSON *hdr = cJSON_CreateObject();
  cJSON *cfg = cfg_json ? cJSON_Parse(cfg_json) : NULL;
  free(cfg_json);
  if (!hdr || !cfg) {
    cJSON_Delete(hdr);
    cJSON_Delete(cfg);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory building the snapshot header", path);
  }
  cJSON_AddStringToObject(hdr, "generator", "instant-ngp (some-pkgs)");
  cJSON_AddItemToObject(hdr, "config", cfg);
  cJSON_AddNumberToObject(hdr, "aabb_scale", n->aabb_scale);
  cJSON_AddNumberToObject(hdr, "n_params", (double)n->n_params);
  cJSON_AddNumberToObject(hdr, "n_density_params", (double)n->density_mlp.n_params);
  cJSON_AddNumberToObject(hdr, "n_rgb_params", (double)n->rgb_mlp.n_params);
  cJSON_AddNumberToObject(hdr, "n_grid_params", (double)n->grid.n_params);
  cJSON_AddNumberToObject(hdr, "training_step", meta ? meta->training_step : 0);
  cJSON_AddNumberToObject(hdr, "loss", meta ? (double)meta->loss : 0.0);
  cJSON_AddNumberToObject(hdr, "scale", meta ? (double)meta->scale : 0.33);
  double off[3] = {0.5, 0.5, 0.5};
  if (meta)
    for (int i = 0; i < 3; i++)
      off[i] = (double)meta->offset[i];
  cJSON_AddItemToObject(hdr, "offset", cJSON_CreateDoubleArray(off, 3));
  char *hdr_text = cJSON_PrintUnformatted(hdr);
  cJSON_Delete(hdr);
  if (!hdr_text) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);

  buf b = {0};
  put(&b, k_magic, sizeof k_magic);
  put_u32(&b, NGP_SNAPSHOT_VERSION);
  put_u32(&b, (uint32_t)strlen(hdr_text));
  put(&b, hdr_text, strlen(hdr_text));
  free(hdr_text);
  put_u64(&b, n->n_params);
  put_floats(&b, weights, n->n_params);
  put_u32(&b, (uint32_t)n->occ.n_cascades);
  put_floats(&b, n->occ.density, (size_t)n->occ.n_cascades * NGP_GRID_CELLS);
  if (b.failed) {
    free(b.p);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory serialising the snapshot", path);
  }
  put_u64(&b, ngp_snapshot_checksum(b.p, b.len));
  ngp_status st = b.failed ? ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path)
                           : ngp_write_file_atomic(path, b.p, b.len, err);
  free(b.p);
  return st;
}

bool ngp_snapshot_is(const char *path) {
  ngp_error err;
  if (ngp_fs_check_input(path, false, &err) != NGP_OK) return false; /* a FIFO would block fopen */
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  char m[8];
  bool ok = fread(m, 1, 8, f) == 8 && memcmp(m, k_magic, 8) == 0;
  fclose(f);
  return ok;
}

/* The largest snapshot we read: 2^30 parameters' worth would be absurd already. */
#define SNAPSHOT_MAX_BYTES ((size_t)4 << 30)

/* The header's scalar fields, checked. */
typedef struct {
  int aabb_scale, step;
  double loss;
  float scale, offset[3];
} header_fields;

static ngp_status read_header_fields(const cJSON *hdr, const char *name, header_fields *h, ngp_error *err) {
  h->aabb_scale = 1;
  h->step = 0;
  h->loss = 0.0;
  h->scale = 0.33f;
  h->offset[0] = h->offset[1] = h->offset[2] = 0.5f;
  const long max_aabb_scale = 1L << (NGP_MAX_CASCADES - 1);
  ngp_status st;
  if ((st = ngp_json_get_int(hdr, "aabb_scale", name, "", 1, max_aabb_scale, &h->aabb_scale, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_int(hdr, "training_step", name, "", 0, INT32_MAX, &h->step, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_double(hdr, "loss", name, "", &h->loss, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_float(hdr, "scale", name, "", &h->scale, NULL, err)) != NGP_OK ||
      (st = ngp_json_get_vec(hdr, "offset", name, "", 3, h->offset, NULL, err)) != NGP_OK)
    return st;
  if (!ngp_is_pow2(h->aabb_scale))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: aabb_scale: %d is not a power of two; the file is corrupted", name,
                         h->aabb_scale);
  if (!(h->scale > 0.0f))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: scale: %g must be positive; the file is corrupted", name,
                         (double)h->scale);
  return NGP_OK;
}

ngp_status ngp_snapshot_load(const char *path, ngp_nerf *n, ngp_snapshot_meta *meta, int n_threads, ngp_error *err) {
  memset(n, 0, sizeof *n);
  char *data = NULL;
  size_t len = 0;
  ngp_status st = ngp_read_file(path, SNAPSHOT_MAX_BYTES, &data, &len, err);
  if (st != NGP_OK) return st;
  const uint8_t *p = (const uint8_t *)data;
  cJSON *hdr = NULL;
  bool have_nerf = false;
  if (len < 8 || memcmp(p, k_magic, 8) != 0) {
    st = ngp_error_set(err, NGP_ERR_PARSE,
                       "%s: not an instant-ngp (some-pkgs) snapshot (wrong magic); snapshots are written by "
                       "--save-snapshot",
                       path);
    goto done;
  }
  if (len < 8 + 4 + 4 + 8) { /* magic, version, header length, checksum */
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: truncated after %zu bytes: the snapshot is incomplete", path, len);
    goto done;
  }
  uint32_t version = get_u32(p + 8);
  if (version != NGP_SNAPSHOT_VERSION) {
    st = ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                       "%s: snapshot format version %u, this build reads version %d; save it again with the "
                       "version that wrote it, or retrain",
                       path, version, NGP_SNAPSHOT_VERSION);
    goto done;
  }
  if (get_u64(p + len - 8) != ngp_snapshot_checksum(p, len - 8)) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: checksum mismatch: the snapshot is truncated or corrupted", path);
    goto done;
  }
  /* From here on every length is checked against `end`, the start of the checksum. */
  const size_t end = len - 8;
  size_t at = 12;
  uint32_t hlen = get_u32(p + at);
  at += 4;
  if (hlen > end - at) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: header length %u runs past the end of the file", path, hlen);
    goto done;
  }
  char name[1100];
  snprintf(name, sizeof name, "%s (header)", path);
  if ((st = ngp_json_parse((const char *)p + at, hlen, name, &hdr, err)) != NGP_OK) goto done;
  at += hlen;
  if (!cJSON_IsObject(hdr)) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: expected a JSON object, found %s; the file is corrupted", name,
                       ngp_json_type_name(hdr));
    goto done;
  }
  const cJSON *cfgj = NULL;
  if ((st = ngp_json_get_object(hdr, "config", name, "", &cfgj, err)) != NGP_OK) goto done;
  if (!cfgj) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: config: missing; the file is corrupted", name);
    goto done;
  }
  char *cfg_text = cJSON_PrintUnformatted(cfgj);
  if (!cfg_text) {
    st = ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  ngp_config cfg;
  char cfg_name[1200];
  snprintf(cfg_name, sizeof cfg_name, "%s (config)", path);
  st = ngp_config_parse(cfg_text, strlen(cfg_text), cfg_name, &cfg, err);
  cJSON_free(cfg_text);
  if (st != NGP_OK) goto done;
  header_fields h;
  if ((st = read_header_fields(hdr, name, &h, err)) != NGP_OK) goto done;

  /* The layout, all checked before anything is allocated: u64 count, the weights, u32 cascades,
   * the grid, and nothing else before the checksum. */
  if (end - at < 8) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: truncated before the parameters", path);
    goto done;
  }
  uint64_t np = get_u64(p + at);
  at += 8;
  size_t need = 0;
  if ((st = ngp_nerf_count_params(&cfg, h.aabb_scale, &need, err)) != NGP_OK) {
    ngp_error_prefix(err, "%s", cfg_name);
    goto done;
  }
  if (np != need) {
    st = ngp_error_set(err, NGP_ERR_INVALID,
                       "%s: holds %llu parameters, but its config needs %zu at aabb_scale %d; the file is "
                       "inconsistent",
                       path, (unsigned long long)np, need, h.aabb_scale);
    goto done;
  }
  if (np > (end - at) / 4) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: truncated in the parameters", path);
    goto done;
  }
  const size_t at_params = at;
  at += (size_t)np * 4;
  if (end - at < 4) {
    st = ngp_error_set(err, NGP_ERR_PARSE, "%s: truncated before the occupancy grid", path);
    goto done;
  }
  uint32_t nc = get_u32(p + at);
  at += 4;
  const int want_nc = ngp_ilog2(h.aabb_scale) + 1;
  if ((int64_t)nc != want_nc || (end - at) / 4 / NGP_GRID_CELLS != nc || (end - at) % (4 * NGP_GRID_CELLS) != 0) {
    st = ngp_error_set(err, NGP_ERR_PARSE,
                       "%s: occupancy grid of %u cascades does not match aabb_scale %d (%d cascades) or the file "
                       "size",
                       path, nc, h.aabb_scale, want_nc);
    goto done;
  }
  const size_t at_grid = at;

  if ((st = ngp_nerf_init(n, &cfg, h.aabb_scale, 0, n_threads, err)) != NGP_OK) goto done;
  have_nerf = true;
  if (n->n_params != np) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "%s: holds %llu parameters, but the network built from its config has %zu",
                       path, (unsigned long long)np, n->n_params);
    goto done;
  }
  get_floats(p + at_params, n->params, n->n_params);
  for (size_t i = 0; i < n->n_params; i++)
    if (!isfinite(n->params[i])) {
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: parameter %zu is not finite; the model diverged before it was saved", path, i);
      goto done;
    }
  const size_t cells = (size_t)nc * NGP_GRID_CELLS;
  get_floats(p + at_grid, n->occ.density, cells);
  for (size_t i = 0; i < cells; i++)
    if (!isfinite(n->occ.density[i])) {
      st = ngp_error_set(err, NGP_ERR_INVALID, "%s: occupancy grid cell %zu is not finite; the file is corrupted", path,
                         i);
      goto done;
    }
  memcpy(n->inference, n->params, n->n_params * sizeof *n->params);
  /* Rebuild the bitfield from the densities: an update with no samples and no decay. */
  ngp_occupancy_update(&n->occ, 0, 0, 1.0f, 0, NULL, NULL, n_threads);
  if (meta) {
    meta->training_step = h.step;
    meta->loss = (float)h.loss;
    meta->scale = h.scale;
    memcpy(meta->offset, h.offset, sizeof h.offset);
  }
  st = NGP_OK;
done:
  cJSON_Delete(hdr);
  free(data);
  if (st != NGP_OK && have_nerf) ngp_nerf_free(n);
  return st;
}
