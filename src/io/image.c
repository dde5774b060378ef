/* image.c: image files to 8-bit RGBA through stb_image, and PNG output through stb_image_write.
 * Sizes are checked from the header before decoding, so an absurd or hostile header cannot make
 * us allocate gigabytes; decoding errors keep stb's reason and name the file. */
#include "ngp/image.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "core/fs.h"

/* Reads the whole file: stb's own fopen path would hide errno (permission denied vs missing). */
static ngp_status read_all(const char *path, char **buf, size_t *len, ngp_error *err) {
  /* The largest plausible encoded image: an uncompressed max-size RGBA file. */
  const size_t max_bytes = (size_t)NGP_IMAGE_MAX_PIXELS * 4 + (1 << 20);
  return ngp_read_file(path, max_bytes, buf, len, err);
}

/* stb_image 2.27 (the version Debian 12 ships) has two Huffman-table bugs that fuzz_image found:
 * - it builds a table without checking that the 16 code counts of a DHT segment add up to at most
 *   256, and then writes past the table's 257-entry size list (upstream later added a "bad size
 *   list" check);
 * - a scan may name a table no DHT segment has defined, and stb then decodes with the table's
 *   uninitialised memory, indexing its 256 symbols out of bounds.
 * So, before stb sees a JPEG, its marker segments are walked the way stb walks them (scanning past
 * entropy-coded data and junk to the next marker, reading past the end of the file as zeros, as
 * stbi__get8 does); a DHT table with more than 256 codes is refused, and so is a scan that decodes
 * with a table not defined before it. Which tables a scan decodes with follows stb: a baseline scan
 * uses its components' DC and AC tables; a progressive DC scan (Ss = 0) only the DC table, and only
 * on its first pass (Ah = 0); a progressive AC scan (Ss > 0) only the AC table. Anything else
 * malformed is left to stb's own checks (stb_impl.c also zeroes stb's allocations, so a gap in this
 * walk reads zeros, never stale memory). */
static uint8_t jpeg_byte(const uint8_t *p, size_t len, size_t i) { return i < len ? p[i] : 0; }

static ngp_status check_jpeg_tables(const char *path, const uint8_t *p, size_t len, ngp_error *err) {
  size_t i = 0;
  while (i < len && p[i] == 0xFF)
    i++;
  if (i == 0 || i >= len || p[i] != 0xD8) return NGP_OK; /* not a JPEG to stb (stbi__jpeg_test) */
  i++;
  unsigned defined = 0; /* bit 4 * class + slot: Huffman tables a DHT segment has defined so far */
  bool have_frame = false, progressive = false;
  while (i < len) {
    if (p[i] != 0xFF) { /* entropy-coded data after a scan header, or padding stb scans past */
      i++;
      continue;
    }
    while (i < len && p[i] == 0xFF)
      i++; /* fill bytes */
    if (i >= len) break;
    uint8_t marker = p[i++];
    /* Stuffed 0xFF, TEM, RSTn and SOI stand alone; EOI ends the image. */
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;
    if (marker == 0xD9 || len - i < 2) break;
    size_t seg = (size_t)p[i] << 8 | p[i + 1];
    if (marker == 0xC4) { /* DHT: tables of 1 + 16 + n bytes while the length lasts (stb's loop) */
      long left = (long)seg - 2;
      size_t k = i + 2;
      while (left > 0) {
        unsigned n = 0;
        for (size_t b = 1; b <= 16; b++)
          n += jpeg_byte(p, len, k + b);
        if (n > 256)
          return ngp_error_set(err, NGP_ERR_PARSE,
                               "%s: corrupt JPEG: a Huffman table lists %u codes, at most 256 are possible; the file "
                               "is damaged, re-export it",
                               path, n);
        unsigned q = jpeg_byte(p, len, k); /* table class (0 DC, 1 AC) and slot; stb refuses others */
        if ((q >> 4) <= 1 && (q & 15) <= 3) defined |= 1u << ((q >> 4) * 4 + (q & 15));
        k += 17 + n;
        left -= 17 + (long)n;
      }
    }
    if ((marker == 0xC0 || marker == 0xC1 || marker == 0xC2) && !have_frame) { /* stb's SOFs; the first counts */
      have_frame = true;
      progressive = marker == 0xC2;
    }
    if (marker == 0xDA) { /* SOS: Ns, Ns x (component, DC/AC table), Ss, Se, Ah/Al */
      unsigned ns = jpeg_byte(p, len, i + 2);
      if (ns >= 1 && ns <= 4 && seg == 6 + 2 * ns) { /* otherwise stb refuses the scan header itself */
        unsigned ss = jpeg_byte(p, len, i + 3 + 2 * ns), ah = jpeg_byte(p, len, i + 5 + 2 * ns) >> 4;
        bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss > 0;
        for (unsigned c = 0; c < ns; c++) {
          unsigned q = jpeg_byte(p, len, i + 4 + 2 * c), td = q >> 4, ta = q & 15;
          const char *cls = NULL;
          unsigned slot = 0;
          if (dc && td <= 3 && !(defined & (1u << td)))
            cls = "DC", slot = td;
          else if (ac && ta <= 3 && !(defined & (1u << (4 + ta))))
            cls = "AC", slot = ta;
          if (cls)
            return ngp_error_set(err, NGP_ERR_PARSE,
                                 "%s: corrupt JPEG: a scan decodes with %s Huffman table %u, which no DHT segment "
                                 "before it defines; the file is damaged (or a frame stripped of its tables, as in "
                                 "motion JPEG), re-export it",
                                 path, cls, slot);
        }
      }
    }
    if (seg < 2 || seg > len - i) break; /* stb fails here, or reads nothing but zeros after it */
    i += seg;
  }
  return NGP_OK;
}

/* stb_image 2.27 reads a binary PNM's (P5, P6) width, height and maximum value into an int with
 * no overflow check (signed overflow, undefined behaviour), and converts a 16-bit PNM (maximum
 * value above 255) to RGBA with its 8-bit routine, reading past the pixel buffer (both found by
 * fuzz_image; upstream fixed them after 2.27). Read the header as stb does; refuse a number of
 * more than 9 digits, which no valid size has, and 16-bit PNMs. */
static ngp_status check_pnm_header(const char *path, const uint8_t *p, size_t len, ngp_error *err) {
  if (len < 2 || p[0] != 'P' || (p[1] != '5' && p[1] != '6')) return NGP_OK;
  size_t i = 2;
#define PNM_GET8() (i < len ? p[i++] : 0) /* stbi__get8: 0 past the end */
  uint8_t c = PNM_GET8();
  static const char *const fields[3] = {"width", "height", "maximum value"};
  long value = 0;
  for (int f = 0; f < 3; f++) {
    for (;;) { /* stbi__pnm_skip_whitespace: blanks and '#' comments */
      while (i < len && (c == ' ' || (c >= '\t' && c <= '\r')))
        c = PNM_GET8();
      if (i >= len || c != '#') break;
      while (i < len && c != '\n' && c != '\r')
        c = PNM_GET8();
    }
    value = 0;
    for (int digits = 0; i < len && c >= '0' && c <= '9'; c = PNM_GET8()) {
      if (++digits > 9)
        return ngp_error_set(err, NGP_ERR_PARSE,
                             "%s: corrupt PNM header: the %s has more than 9 digits; the file is damaged", path,
                             fields[f]);
      value = value * 10 + (c - '0');
    }
  }
#undef PNM_GET8
  if (value > 255)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "%s: 16-bit PNM (maximum value %ld) is not supported by this build's decoder; convert the "
                         "image to PNG, which may be 16-bit",
                         path, value);
  return NGP_OK;
}

/* stb_image 2.27 appends each IDAT chunk's data to a buffer it allocates on the first non-empty
 * one, so a zero-length first IDAT makes it compute NULL + 0 (undefined behaviour, reported by
 * UBSan in fuzz_image; harmless in practice). An empty IDAT carries no data, so dropping the
 * leading empty ones decodes the same image without it. The buffer is ours; *len shrinks. */
static void drop_leading_empty_idat(char *buf, size_t *len) {
  static const char k_png[8] = {'\x89', 'P', 'N', 'G', '\r', '\n', '\x1a', '\n'};
  if (*len < 8 || memcmp(buf, k_png, 8) != 0) return;
  size_t i = 8;
  while (*len - i >= 8) { /* length and type; then data and CRC, which stb reads as zeros if cut off */
    const uint8_t *c = (const uint8_t *)buf + i;
    uint32_t n = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
    size_t left = *len - i;
    if (memcmp(c + 4, "IDAT", 4) == 0) {
      if (n != 0) return;
      size_t drop = left < 12 ? left : 12; /* an empty IDAT whose CRC the file cuts off goes too */
      memmove(buf + i, buf + i + drop, left - drop);
      *len -= drop;
      continue;
    }
    if (memcmp(c + 4, "IEND", 4) == 0 || left < 12 || n > left - 12) return;
    i += 12 + (size_t)n;
  }
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* One size rule for every format: stb refuses a PNG too large for its own 2^30-byte limit as "not
 * of any known type, or corrupt", where a JPEG of the same size gets our size message. So the
 * size in a PNG's IHDR is read here and held against the same limits first. */
static ngp_status check_png_size(const char *path, const uint8_t *p, size_t len, ngp_error *err) {
  static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  if (len < 24 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0) return NGP_OK;
  uint32_t w = be32(p + 16), h = be32(p + 20);
  if (w > (uint32_t)NGP_IMAGE_MAX_DIM || h > (uint32_t)NGP_IMAGE_MAX_DIM ||
      (uint64_t)w * h > (uint64_t)NGP_IMAGE_MAX_PIXELS)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: image is %ux%u, larger than the %d pixels per side or %lld pixels allowed", path,
                         (unsigned)w, (unsigned)h, NGP_IMAGE_MAX_DIM, (long long)NGP_IMAGE_MAX_PIXELS);
  return NGP_OK;
}

/* The checks stb_image needs before it sees a file (see the functions above). */
static ngp_status check_before_stb(const char *path, const char *buf, size_t len, ngp_error *err) {
  ngp_status st = check_jpeg_tables(path, (const uint8_t *)buf, len, err);
  if (st == NGP_OK) st = check_pnm_header(path, (const uint8_t *)buf, len, err);
  if (st == NGP_OK) st = check_png_size(path, (const uint8_t *)buf, len, err);
  return st;
}

/* A file whose header stb cannot read: stb's reason and the formats stb_impl.c compiles. */
static ngp_status unreadable(const char *path, ngp_error *err) {
  return ngp_error_set(err, NGP_ERR_PARSE, "%s: not a readable image (%s); expected PNG, JPEG, BMP, TGA or PNM", path,
                       stbi_failure_reason() ? stbi_failure_reason() : "unknown format");
}

static ngp_status check_size(const char *path, int w, int h, ngp_error *err) {
  if (w <= 0 || h <= 0) return ngp_error_set(err, NGP_ERR_PARSE, "%s: image has an invalid size %dx%d", path, w, h);
  if (w > NGP_IMAGE_MAX_DIM || h > NGP_IMAGE_MAX_DIM || (int64_t)w * h > NGP_IMAGE_MAX_PIXELS)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: image is %dx%d, larger than the %d pixels per side or %lld pixels allowed", path, w, h,
                         NGP_IMAGE_MAX_DIM, (long long)NGP_IMAGE_MAX_PIXELS);
  return NGP_OK;
}

ngp_status ngp_image_info(const char *path, int *width, int *height, int *channels, ngp_error *err) {
  char *buf = NULL;
  size_t len = 0;
  ngp_status st = read_all(path, &buf, &len, err);
  if (st != NGP_OK) return st;
  if ((st = check_before_stb(path, buf, len, err)) != NGP_OK) {
    free(buf);
    return st;
  }
  int w = 0, h = 0, c = 0;
  int ok = len <= (size_t)INT32_MAX && stbi_info_from_memory((const stbi_uc *)buf, (int)len, &w, &h, &c);
  free(buf);
  if (!ok) return unreadable(path, err);
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
  if ((st = check_before_stb(path, buf, len, err)) != NGP_OK) {
    free(buf);
    return st;
  }
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory((const stbi_uc *)buf, (int)len, &w, &h, &c)) {
    free(buf);
    return unreadable(path, err);
  }
  st = check_size(path, w, h, err);
  if (st != NGP_OK) {
    free(buf);
    return st;
  }
  int w2 = 0, h2 = 0, c2 = 0;
  drop_leading_empty_idat(buf, &len);
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
    while (cap < s->len + (size_t)size)
      cap *= 2;
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
