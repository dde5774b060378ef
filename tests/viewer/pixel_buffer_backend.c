/* pixel_buffer_backend.c: the "pixelbuffer" test backend (pixel_buffer_backend.h). */
#include "pixel_buffer_backend.h"

#include <epoxy/gl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"

enum { MAX_IMAGES = 8 };

typedef struct pixel_buffer {
  ngp_backend base;
  ngp_backend *inner; /* the CPU backend */
  GLuint buffer;      /* attached; 0: none */
  size_t bytes;
  float *images[MAX_IMAGES];
  ngp_pixel_buffer_counts counts;
} pixel_buffer;

static pixel_buffer *ctx(ngp_backend *b) { return (pixel_buffer *)b->context; }

static bool own_image(const pixel_buffer *p, const float *img) {
  for (int i = 0; i < MAX_IMAGES; i++)
    if (img && p->images[i] == img) return true;
  return false;
}

static void pb_describe(ngp_backend *b, char *out, size_t n) {
  char d[400];
  ngp_backend_describe(ctx(b)->inner, d, sizeof d);
  snprintf(out, n, "forwarding to cpu, frames through a GL pixel buffer: %s", d);
}
static void pb_destroy(ngp_backend *b) {
  pixel_buffer *p = ctx(b);
  if (p->counts.live_images != 0) { /* the viewer frees its images before the backend goes */
    fprintf(stderr, "pixelbuffer: %ld images not freed before destroy\n", p->counts.live_images);
    abort();
  }
  ngp_backend_destroy(p->inner);
  free(p);
}
static ngp_status pb_train(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  return ngp_backend_train_step(ctx(b)->inner, st, err);
}
static ngp_status pb_download(ngp_backend *b, ngp_error *err) { return ngp_backend_download(ctx(b)->inner, err); }
static ngp_status pb_upload(ngp_backend *b, ngp_error *err) { return ngp_backend_upload(ctx(b)->inner, err); }
static ngp_status pb_publish(ngp_backend *b, ngp_error *err) { return ngp_backend_publish(ctx(b)->inner, err); }
static uint64_t pb_acquire(ngp_backend *b) { return ngp_backend_acquire(ctx(b)->inner); }
static bool pb_newer(ngp_backend *b) { return ngp_backend_newer_pending(ctx(b)->inner); }
static ngp_status pb_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                            ngp_error *err) {
  return ngp_backend_render(ctx(b)->inner, cam, o, rgb, err);
}
static ngp_status pb_pixels(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin, int end,
                            ngp_render_continue_fn keep_going, void *user, int *next, float *rgb, ngp_error *err) {
  pixel_buffer *p = ctx(b);
  if (own_image(p, rgb))
    p->counts.renders_into_own++;
  else
    p->counts.renders_elsewhere++;
  return ngp_backend_render_pixels(p->inner, cam, o, begin, end, keep_going, user, next, rgb, err);
}

static ngp_status pb_attach(ngp_backend *b, unsigned gl_buffer, size_t bytes, ngp_error *err) {
  pixel_buffer *p = ctx(b);
  /* As the CUDA backend checks that the context is on its device: the buffer must be one of the
   * current context's. */
  if (!glIsBuffer(gl_buffer))
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "%u is not a buffer of the current GL context", gl_buffer);
  p->buffer = gl_buffer;
  p->bytes = bytes;
  p->counts.attaches++;
  return NGP_OK;
}
static void pb_detach(ngp_backend *b) {
  ctx(b)->buffer = 0;
  ctx(b)->counts.detaches++;
}
static float *pb_image_alloc(ngp_backend *b, size_t floats) {
  pixel_buffer *p = ctx(b);
  for (int i = 0; i < MAX_IMAGES; i++)
    if (!p->images[i]) {
      p->images[i] = malloc(floats * sizeof(float));
      if (p->images[i]) p->counts.live_images++;
      return p->images[i];
    }
  return NULL;
}
static void pb_image_free(ngp_backend *b, float *img) {
  pixel_buffer *p = ctx(b);
  for (int i = 0; i < MAX_IMAGES; i++)
    if (img && p->images[i] == img) {
      free(img);
      p->images[i] = NULL;
      p->counts.live_images--;
      return;
    }
  fprintf(stderr, "pixelbuffer: freeing an image it did not allocate\n");
  abort();
}
static ngp_status pb_write(ngp_backend *b, const float *img, int width, int row_begin, int row_end, ngp_error *err) {
  pixel_buffer *p = ctx(b);
  if (!p->buffer) return ngp_error_set(err, NGP_ERR_INVALID, "pixelbuffer: no buffer attached");
  if (!own_image(p, img)) return ngp_error_set(err, NGP_ERR_INVALID, "pixelbuffer: not one of its images");
  size_t first = (size_t)row_begin * (size_t)width, n = (size_t)(row_end - row_begin) * (size_t)width;
  if ((first + n) * 4 > p->bytes)
    return ngp_error_set(err, NGP_ERR_INVALID, "pixelbuffer: rows %d..%d do not fit %zu bytes", row_begin, row_end,
                         p->bytes);
  uint8_t *rgba = malloc(n * 4);
  if (!rgba) return ngp_error_set(err, NGP_ERR_NOMEM, "pixelbuffer: out of memory");
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 3; c++)
      rgba[i * 4 + (size_t)c] = ngp_unit_to_u8(img[(first + i) * 3 + (size_t)c]);
    rgba[i * 4 + 3] = 255;
  }
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, p->buffer);
  glBufferSubData(GL_PIXEL_UNPACK_BUFFER, (GLintptr)(first * 4), (GLsizeiptr)(n * 4), rgba);
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
  free(rgba);
  GLenum e = glGetError();
  if (e != GL_NO_ERROR) return ngp_error_set(err, NGP_ERR_IO, "pixelbuffer: GL error 0x%x", (unsigned)e);
  p->counts.writes++;
  p->counts.rows_written += row_end - row_begin;
  return NGP_OK;
}

static const ngp_backend_i pixel_buffer_iface = {
    .describe = pb_describe,
    .destroy = pb_destroy,
    .train_step = pb_train,
    .download = pb_download,
    .upload = pb_upload,
    .publish = pb_publish,
    .acquire = pb_acquire,
    .newer_pending = pb_newer,
    .render = pb_render,
    .render_pixels = pb_pixels,
    .display_attach = pb_attach,
    .display_detach = pb_detach,
    .image_alloc = pb_image_alloc,
    .image_free = pb_image_free,
    .display_write = pb_write,
};

static ngp_status pb_create(ngp_nerf *n, const ngp_scene *scene, const ngp_backend_opts *o, ngp_backend **out,
                            ngp_error *err) {
  pixel_buffer *p = calloc(1, sizeof *p);
  if (!p) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the pixelbuffer backend");
  ngp_status st = ngp_backend_create(&ngp_backend_cpu_type, n, scene, o, &p->inner, err);
  if (st != NGP_OK) {
    free(p);
    return st;
  }
  p->base.iface = &pixel_buffer_iface;
  p->base.model = n;
  p->base.scene = scene;
  p->base.context = p;
  *out = &p->base;
  return NGP_OK;
}

const ngp_backend_type ngp_pixel_buffer_backend_type = {"pixelbuffer", NULL, pb_create};

ngp_pixel_buffer_counts ngp_pixel_buffer_backend_counts(const ngp_backend *b) {
  return ((const pixel_buffer *)b->context)->counts;
}
