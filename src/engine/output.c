/* output.c: renders to files, by mode and by the file's name (see output.h). */
#include "engine/output.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "ngp/image.h"

static const char *const k_mode_names[] = {"shade", "depth", "normals", "positions", "cost"};

bool ngp_render_mode_parse(const char *name, ngp_render_mode *mode) {
  for (int i = 0; i < (int)(sizeof k_mode_names / sizeof *k_mode_names); i++)
    if (!strcmp(name, k_mode_names[i])) {
      *mode = (ngp_render_mode)i;
      return true;
    }
  return false;
}

const char *ngp_render_mode_name(ngp_render_mode mode) {
  return (int)mode >= 0 && (int)mode < (int)(sizeof k_mode_names / sizeof *k_mode_names) ? k_mode_names[mode] : "?";
}

ngp_status ngp_output_check(const char *path, ngp_render_mode mode, ngp_error *err) {
  ngp_status st = ngp_image_check_writable(path, err);
  if (st != NGP_OK) return st;
  if ((mode == NGP_RENDER_DEPTH || mode == NGP_RENDER_COST) && ngp_image_format_of(path) == NGP_IMAGE_FORMAT_JPEG)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "%s: a %s render needs more than JPEG's 8 bits; name the file .png (16-bit) or .pfm (floats)",
                         path, ngp_render_mode_name(mode));
  return NGP_OK;
}

ngp_status ngp_output_postprocess(float *rgb, int w, int h, float exposure, float sharpen, ngp_error *err) {
  size_t n = (size_t)w * (size_t)h * 3;
  if (exposure != 0.0f) {
    float gain = exp2f(exposure);
    for (size_t i = 0; i < n; i++) {
      float v = ngp_linear_to_srgb(ngp_srgb_to_linear(rgb[i]) * gain);
      rgb[i] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
  }
  if (sharpen <= 0.0f) return NGP_OK;
  float *src = malloc(n * sizeof(float));
  if (!src) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory sharpening a %dx%d image", w, h);
  memcpy(src, rgb, n * sizeof(float));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        /* Edges repeat the border pixel. */
        int xl = x > 0 ? x - 1 : 0, xr = x + 1 < w ? x + 1 : w - 1, yu = y > 0 ? y - 1 : 0,
            yd = y + 1 < h ? y + 1 : h - 1;
        float centre = src[((size_t)y * w + x) * 3 + c];
        float around = src[((size_t)y * w + xl) * 3 + c] + src[((size_t)y * w + xr) * 3 + c] +
                       src[((size_t)yu * w + x) * 3 + c] + src[((size_t)yd * w + x) * 3 + c];
        float v = centre + sharpen * (4.0f * centre - around);
        rgb[((size_t)y * w + x) * 3 + c] = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
      }
  free(src);
  return NGP_OK;
}

/* ngp axes (x, y, z) are scene axes (y, z, x): scene[(r + 1) % 3] = ngp[r]. */
static void to_scene_axes(const float *ngp, float *scene) {
  for (int r = 0; r < 3; r++)
    scene[(r + 1) % 3] = ngp[r];
}

/* A 1-channel quantity (depth, cost) as a 16-bit PNG of value / unit, or PFM. */
static ngp_status write_scalar(const char *path, ngp_render_mode mode, int w, int h, const float *values, float factor,
                               char *note, size_t nn, ngp_error *err) {
  size_t n = (size_t)w * (size_t)h;
  float *v = malloc(n * sizeof(float));
  if (!v) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  float vmax = 0.0f;
  for (size_t i = 0; i < n; i++) {
    v[i] = values[i * 3] * factor;
    if (v[i] > vmax) vmax = v[i];
  }
  ngp_status st;
  if (ngp_image_format_of(path) == NGP_IMAGE_FORMAT_PFM) {
    st = ngp_image_write_pfm(path, w, h, 1, v, err);
    if (note)
      snprintf(note, nn, "%s, floats%s", ngp_render_mode_name(mode),
               mode == NGP_RENDER_DEPTH ? " in scene units" : " (samples per pixel)");
    free(v);
    return st;
  }
  /* Depth: the finest power of ten from 0.001 scene units on that holds the farthest pixel. Cost:
   * whole samples. */
  double unit = 1.0;
  if (mode == NGP_RENDER_DEPTH) {
    unit = 0.001;
    while ((double)vmax / unit > 65535.0 && unit < 1e30)
      unit *= 10.0;
  }
  uint16_t *q = malloc(n * sizeof(uint16_t));
  if (!q) {
    free(v);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  }
  for (size_t i = 0; i < n; i++) {
    double c = floor((double)v[i] / unit + 0.5);
    q[i] = (uint16_t)(c < 0.0 ? 0.0 : (c > 65535.0 ? 65535.0 : c));
  }
  char text[128];
  if (mode == NGP_RENDER_DEPTH)
    snprintf(text, sizeof text, "depth: distance along the ray; 1 = %g scene units; 0 = nothing hit", unit);
  else
    snprintf(text, sizeof text, "cost: samples per pixel");
  st = ngp_image_write_png16(path, w, h, 1, q, text, err);
  if (note) {
    if (mode == NGP_RENDER_DEPTH)
      snprintf(note, nn, "depth, 16-bit, 1 = %g scene units", unit);
    else
      snprintf(note, nn, "cost, 16-bit, samples per pixel");
  }
  free(q);
  free(v);
  return st;
}

/* One pixel v[3] of a shade, normals or positions render as the file shows it: PFM's floats, else
 * the [0,1] values that become 8 bits. */
static void map_pixel(ngp_render_mode mode, bool pfm, const float *v, const ngp_output_frame *fr, float *o) {
  if (mode == NGP_RENDER_SHADE) {
    for (int c = 0; c < 3; c++)
      o[c] = pfm ? ngp_srgb_to_linear(v[c]) : v[c];
  } else if (mode == NGP_RENDER_NORMALS) {
    bool hit = v[0] != 0.0f || v[1] != 0.0f || v[2] != 0.0f;
    to_scene_axes(v, o);
    if (!pfm)
      for (int c = 0; c < 3; c++)
        o[c] = hit ? o[c] * 0.5f + 0.5f : 0.0f;
  } else { /* positions */
    bool hit = v[0] != 0.0f || v[1] != 0.0f || v[2] != 0.0f;
    float p[3];
    for (int r = 0; r < 3; r++)
      p[r] = pfm ? (hit ? (v[r] - fr->offset[(r + 1) % 3]) / fr->scale : 0.0f)
                 : (hit ? (v[r] - fr->box_min[r]) / (fr->box_max[r] - fr->box_min[r]) : 0.0f);
    to_scene_axes(p, o);
  }
}

void ngp_output_rgb8(ngp_render_mode mode, size_t n, const float *values, const ngp_output_frame *fr, float depth_far,
                     uint8_t *rgb) {
  for (size_t i = 0; i < n; i++) {
    const float *v = values + i * 3;
    float o[3];
    if (mode == NGP_RENDER_DEPTH)
      o[0] = o[1] = o[2] = depth_far > 0.0f ? v[0] / depth_far : 0.0f;
    else if (mode == NGP_RENDER_COST)
      o[0] = o[1] = o[2] = v[0] / 255.0f;
    else
      map_pixel(mode, false, v, fr, o);
    for (int c = 0; c < 3; c++)
      rgb[i * 3 + (size_t)c] = ngp_unit_to_u8(o[c]);
  }
}

ngp_status ngp_output_write(const char *path, ngp_render_mode mode, int w, int h, const float *values,
                            const ngp_output_frame *fr, char *note, size_t nn, ngp_error *err) {
  if (note && nn) note[0] = '\0';
  ngp_status st = ngp_output_check(path, mode, err);
  if (st != NGP_OK) return st;
  if (mode == NGP_RENDER_DEPTH) return write_scalar(path, mode, w, h, values, 1.0f / fr->scale, note, nn, err);
  if (mode == NGP_RENDER_COST) return write_scalar(path, mode, w, h, values, 1.0f, note, nn, err);
  size_t n = (size_t)w * (size_t)h;
  bool pfm = ngp_image_format_of(path) == NGP_IMAGE_FORMAT_PFM;
  float *f = malloc(n * 3 * sizeof(float));
  if (!f) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  for (size_t i = 0; i < n; i++)
    map_pixel(mode, pfm, values + i * 3, fr, f + i * 3);
  if (pfm) {
    st = ngp_image_write_pfm(path, w, h, 3, f, err);
    if (note)
      snprintf(note, nn, "%s, floats%s", ngp_render_mode_name(mode),
               mode == NGP_RENDER_SHADE ? ", linear" : ", scene axes");
  } else {
    uint8_t *px = malloc(n * 4);
    if (!px) {
      free(f);
      return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < n; i++) {
      for (int c = 0; c < 3; c++)
        px[i * 4 + c] = ngp_unit_to_u8(f[i * 3 + c]);
      px[i * 4 + 3] = 255;
    }
    ngp_image img = {w, h, 4, px};
    st = ngp_image_write(path, &img, err);
    free(px);
    if (note && mode == NGP_RENDER_NORMALS) snprintf(note, nn, "normals, 8-bit n*0.5+0.5, scene axes");
    if (note && mode == NGP_RENDER_POSITIONS) snprintf(note, nn, "positions, 8-bit, the scene box as 0..1");
  }
  free(f);
  return st;
}
