/* image.c: image files to 8-bit RGBA through stb_image, and PNG output through stb_image_write.
 * Sizes are checked from the header before decoding, so an absurd or hostile header cannot make
 * us allocate gigabytes; decoding errors keep stb's reason and name the file. */
#include "ngp/image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "fs.h"

/* Reads the whole file: stb's own fopen path would hide errno (permission denied vs missing). */
static ngp_status read_all(const char *path, char **buf, size_t *len, ngp_error *err) {
  /* The largest plausible encoded image: an uncompressed max-size RGBA file. */
  const size_t max_bytes = (size_t)NGP_IMAGE_MAX_PIXELS * 4 + (1 << 20);
  return ngp_read_file(path, max_bytes, buf, len, err);
}

static ngp_status check_size(const char *path, int w, int h, ngp_error *err) {
  if (w <= 0 || h <= 0)
    return ngp_error_set(err, NGP_ERR_PARSE, "%s: image has an invalid size %dx%d", path, w, h);
  if (w > NGP_IMAGE_MAX_DIM || h > NGP_IMAGE_MAX_DIM || (int64_t)w * h > NGP_IMAGE_MAX_PIXELS)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: image is %dx%d, larger than the %d pixels per side or %lld pixels allowed", path,
                         w, h, NGP_IMAGE_MAX_DIM, (long long)NGP_IMAGE_MAX_PIXELS);
  return NGP_OK;
}

ngp_status ngp_image_info(const char *path, int *width, int *height, int *channels, ngp_error *err) {
  char *buf = NULL;
  size_t len = 0;
  ngp_status st = read_all(path, &buf, &len, err);
  if (st != NGP_OK) return st;
  int w = 0, h = 0, c = 0;
  int ok = len <= (size_t)INT32_MAX && stbi_info_from_memory((const stbi_uc *)buf, (int)len, &w, &h, &c);
  free(buf);
  if (!ok)
    return ngp_error_set(err, NGP_ERR_PARSE, "%s: not a readable image (%s); expected PNG, JPEG, BMP, TGA, GIF, PSD, PIC or PNM",
                         path, stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
  st = check_size(path, w, h, err);
  if (st != NGP_OK) return st;
  if (width) *width = w;
  if (height) *height = h;
  if (channels) *channels = c;
  return NGP_OK;
}

ngp_status ngp_image_load(const char *path, ngp_image *out, ngp_error *err) {
  memset(out, 0, sizeof *out);
  char *buf = NULL;
  size_t len = 0;
  ngp_status st = read_all(path, &buf, &len, err);
  if (st != NGP_OK) return st;
  if (len > (size_t)INT32_MAX) {
    free(buf);
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: file too large for an image", path);
  }
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory((const stbi_uc *)buf, (int)len, &w, &h, &c)) {
    free(buf);
    return ngp_error_set(err, NGP_ERR_PARSE, "%s: not a readable image (%s); expected PNG, JPEG, BMP, TGA, GIF, PSD, PIC or PNM",
                         path, stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
  }
  st = check_size(path, w, h, err);
  if (st != NGP_OK) {
    free(buf);
    return st;
  }
  int w2 = 0, h2 = 0, c2 = 0;
  /* 16-bit PNGs come back as 8-bit, palettes expanded, grey replicated; alpha 255 when absent. */
  stbi_uc *px = stbi_load_from_memory((const stbi_uc *)buf, (int)len, &w2, &h2, &c2, 4);
  free(buf);
  if (!px)
    return ngp_error_set(err, NGP_ERR_PARSE, "%s: cannot decode the image (%s); the file may be truncated or corrupt",
                         path, stbi_failure_reason() ? stbi_failure_reason() : "unknown reason");
  if (w2 != w || h2 != h) {
    stbi_image_free(px);
    return ngp_error_set(err, NGP_ERR_PARSE, "%s: image header says %dx%d but decodes to %dx%d", path, w, h, w2, h2);
  }
  /* stb_impl.c keeps stb's default allocator (malloc), so ngp_image_free's free() matches. */
  out->width = w;
  out->height = h;
  out->source_channels = c2;
  out->rgba = px;
  return NGP_OK;
}

typedef struct {
  uint8_t *data;
  size_t len, cap;
  bool failed;
} mem_sink;

static void sink_write(void *ctx, void *data, int size) {
  mem_sink *s = ctx;
  if (s->failed || size <= 0) return;
  if (s->len + (size_t)size > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 65536;
    while (cap < s->len + (size_t)size) cap *= 2;
    uint8_t *grown = realloc(s->data, cap);
    if (!grown) {
      s->failed = true;
      return;
    }
    s->data = grown;
    s->cap = cap;
  }
  memcpy(s->data + s->len, data, (size_t)size);
  s->len += (size_t)size;
}

ngp_status ngp_image_write_png(const char *path, const ngp_image *img, ngp_error *err) {
  if (!img->rgba || img->width <= 0 || img->height <= 0)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: refusing to write an empty image", path);
  mem_sink sink = {0};
  int ok = stbi_write_png_to_func(sink_write, &sink, img->width, img->height, 4, img->rgba, img->width * 4);
  if (!ok || sink.failed) {
    free(sink.data);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: cannot encode the PNG (out of memory)", path);
  }
  ngp_status st = ngp_write_file_atomic(path, sink.data, sink.len, err);
  free(sink.data);
  return st;
}

void ngp_image_free(ngp_image *img) {
  if (!img) return;
  free(img->rgba);
  img->rgba = NULL;
}
