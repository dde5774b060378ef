/* image_write.c: image output in the format the file's name asks for: 8-bit PNG and JPEG through
 * stb_image_write, 16-bit PNG (depth, cost: stb writes 8 bits only, so the chunks are assembled
 * here around stb's zlib compressor) and PFM floats. Every file is written atomically. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image_write.h>

#include "core/fs.h"
#include "ngp/image.h"

/* stb_image_write's deflate, which its header does not declare (it is defined extern). */
unsigned char *stbi_zlib_compress(unsigned char *data, int data_len, int *out_len, int quality);

typedef struct {
  uint8_t *data;
  size_t len, cap;
  bool failed;
} byte_buf;

static void buf_put(byte_buf *b, const void *data, size_t n) {
  if (b->failed || n == 0) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 65536;
    while (cap < b->len + n)
      cap *= 2;
    uint8_t *grown = realloc(b->data, cap);
    if (!grown) {
      b->failed = true;
      return;
    }
    b->data = grown;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, n);
  b->len += n;
}

static void sink(void *ctx, void *data, int size) {
  if (size > 0) buf_put(ctx, data, (size_t)size);
}

static ngp_status finish(const char *path, byte_buf *b, const char *what, ngp_error *err) {
  ngp_status st = b->failed ? ngp_error_set(err, NGP_ERR_NOMEM, "%s: cannot encode the %s (out of memory)", path, what)
                            : ngp_write_file_atomic(path, b->data, b->len, err);
  free(b->data);
  return st;
}

ngp_image_format ngp_image_format_of(const char *path) {
  if (ngp_path_has_extension(path, ".png")) return NGP_IMAGE_FORMAT_PNG;
  if (ngp_path_has_extension(path, ".jpg") || ngp_path_has_extension(path, ".jpeg")) return NGP_IMAGE_FORMAT_JPEG;
  if (ngp_path_has_extension(path, ".pfm")) return NGP_IMAGE_FORMAT_PFM;
  if (ngp_path_has_extension(path, ".exr")) return NGP_IMAGE_FORMAT_EXR;
  return NGP_IMAGE_FORMAT_UNKNOWN;
}

ngp_status ngp_image_check_writable(const char *path, ngp_error *err) {
  switch (ngp_image_format_of(path)) {
  case NGP_IMAGE_FORMAT_PNG:
  case NGP_IMAGE_FORMAT_JPEG:
  case NGP_IMAGE_FORMAT_PFM: return NGP_OK;
  case NGP_IMAGE_FORMAT_EXR:
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: this version cannot write .exr; name the file .pfm for floating-point values, or .png "
                         "or .jpg",
                         path);
  case NGP_IMAGE_FORMAT_UNKNOWN: break;
  }
  return ngp_error_set(err, NGP_ERR_INVALID, "%s: unknown image format '%s'; name the file .png, .jpg, .jpeg or .pfm",
                       path, ngp_path_extension(path));
}

ngp_status ngp_image_write(const char *path, const ngp_image *img, ngp_error *err) {
  if (!img->rgba || img->width <= 0 || img->height <= 0)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: refusing to write an empty image", path);
  ngp_status st = ngp_image_check_writable(path, err);
  if (st != NGP_OK) return st;
  ngp_image_format f = ngp_image_format_of(path);
  if (f == NGP_IMAGE_FORMAT_PNG) return ngp_image_write_png(path, img, err);
  size_t n = (size_t)img->width * (size_t)img->height;
  if (f == NGP_IMAGE_FORMAT_PFM) {
    float *v = malloc(n * 3 * sizeof(float));
    if (!v) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++)
      for (int c = 0; c < 3; c++)
        v[i * 3 + c] = (float)img->rgba[i * 4 + c] / 255.0f;
    st = ngp_image_write_pfm(path, img->width, img->height, 3, v, err);
    free(v);
    return st;
  }
  /* JPEG has no alpha: the RGB channels as they are. */
  byte_buf b = {0};
  uint8_t *rgb = malloc(n * 3);
  if (!rgb) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  for (size_t i = 0; i < n; i++)
    memcpy(rgb + i * 3, img->rgba + i * 4, 3);
  if (!stbi_write_jpg_to_func(sink, &b, img->width, img->height, 3, rgb, 95)) b.failed = true;
  free(rgb);
  return finish(path, &b, "JPEG", err);
}

/* CRC-32 (ISO 3309, as PNG uses it), bytewise. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n) {
  crc = ~crc;
  for (size_t i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void png_chunk(byte_buf *b, const char type[4], const uint8_t *data, size_t n) {
  uint8_t head[8];
  put_be32(head, (uint32_t)n);
  memcpy(head + 4, type, 4);
  buf_put(b, head, 8);
  buf_put(b, data, n);
  uint32_t crc = crc32_update(crc32_update(0, (const uint8_t *)type, 4), data, n);
  uint8_t tail[4];
  put_be32(tail, crc);
  buf_put(b, tail, 4);
}

ngp_status ngp_image_write_png16(const char *path, int width, int height, int channels, const uint16_t *samples,
                                 const char *text, ngp_error *err) {
  if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: refusing to write a %dx%d image of %d channels", path, width,
                         height, channels);
  /* Rows with filter type 0 (none), samples big-endian. */
  size_t row = (size_t)width * (size_t)channels * 2 + 1;
  size_t raw_len = row * (size_t)height;
  if (raw_len > (size_t)0x7fffffff) return ngp_error_set(err, NGP_ERR_INVALID, "%s: image too large for PNG", path);
  uint8_t *raw = malloc(raw_len);
  if (!raw) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  for (int y = 0; y < height; y++) {
    uint8_t *r = raw + (size_t)y * row;
    r[0] = 0;
    const uint16_t *s = samples + (size_t)y * (size_t)width * (size_t)channels;
    for (size_t i = 0; i < (size_t)width * (size_t)channels; i++) {
      r[1 + 2 * i] = (uint8_t)(s[i] >> 8);
      r[2 + 2 * i] = (uint8_t)(s[i] & 0xff);
    }
  }
  int zlen = 0;
  unsigned char *z = stbi_zlib_compress(raw, (int)raw_len, &zlen, 8);
  free(raw);
  if (!z) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: cannot compress the PNG (out of memory)", path);
  byte_buf b = {0};
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  buf_put(&b, sig, 8);
  uint8_t ihdr[13];
  put_be32(ihdr, (uint32_t)width);
  put_be32(ihdr + 4, (uint32_t)height);
  ihdr[8] = 16;                       /* bit depth */
  ihdr[9] = channels == 1 ? 0 : 2;    /* grey or RGB */
  ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filtering, no interlace */
  png_chunk(&b, "IHDR", ihdr, sizeof ihdr);
  if (text && text[0]) {
    static const char key[] = "Comment"; /* tEXt: keyword, NUL, Latin-1 text */
    size_t tn = strlen(text);
    uint8_t *t = malloc(sizeof key + tn);
    if (t) {
      memcpy(t, key, sizeof key);
      memcpy(t + sizeof key, text, tn);
      png_chunk(&b, "tEXt", t, sizeof key + tn);
      free(t);
    } else {
      b.failed = true;
    }
  }
  png_chunk(&b, "IDAT", z, (size_t)zlen);
  free(z);
  png_chunk(&b, "IEND", NULL, 0);
  return finish(path, &b, "PNG", err);
}

ngp_status ngp_image_write_pfm(const char *path, int width, int height, int channels, const float *values,
                               ngp_error *err) {
  if (width <= 0 || height <= 0 || (channels != 1 && channels != 3))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: refusing to write a %dx%d image of %d channels", path, width,
                         height, channels);
  byte_buf b = {0};
  char head[64];
  /* A negative scale says little-endian. */
  int hn = snprintf(head, sizeof head, "%s\n%d %d\n-1.0\n", channels == 3 ? "PF" : "Pf", width, height);
  buf_put(&b, head, (size_t)hn);
  size_t row = (size_t)width * (size_t)channels;
  for (int y = height - 1; y >= 0; y--)
    for (size_t i = 0; i < row; i++) {
      float v = values[(size_t)y * row + i];
      uint32_t u;
      memcpy(&u, &v, 4);
      uint8_t le[4] = {(uint8_t)u, (uint8_t)(u >> 8), (uint8_t)(u >> 16), (uint8_t)(u >> 24)};
      buf_put(&b, le, 4);
    }
  return finish(path, &b, "PFM", err);
}
