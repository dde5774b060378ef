/* counting_backend.c: the "counting" test backend (counting_backend.h). */
#include "counting_backend.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OP_TRAIN, OP_DOWNLOAD, OP_UPLOAD, OP_PUBLISH, OP_ACQUIRE, OP_RENDER, OP_PIXELS, OP_DENSITY, OP_SYNC, N_OPS };
static const char *const op_names[N_OPS] = {"train_step", "download",      "upload",  "publish",    "acquire",
                                            "render",     "render_pixels", "density", "synchronize"};

typedef struct counting {
  ngp_backend base;
  ngp_backend *inner;       /* the CPU backend */
  atomic_long calls[N_OPS]; /* training and rendering may count from two threads */
} counting;

static counting *ctx(ngp_backend *b) { return (counting *)b->context; }
static ngp_backend *inner(ngp_backend *b, int op) {
  atomic_fetch_add(&ctx(b)->calls[op], 1);
  return ctx(b)->inner;
}

static void c_describe(ngp_backend *b, char *out, size_t n) {
  char d[400];
  ngp_backend_describe(ctx(b)->inner, d, sizeof d);
  snprintf(out, n, "forwarding to cpu: %s", d);
}
static void c_destroy(ngp_backend *b) {
  ngp_backend_destroy(ctx(b)->inner);
  free(ctx(b));
}
static ngp_status c_train(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  return ngp_backend_train_step(inner(b, OP_TRAIN), st, err);
}
static ngp_status c_download(ngp_backend *b, ngp_error *err) {
  return ngp_backend_download(inner(b, OP_DOWNLOAD), err);
}
static ngp_status c_upload(ngp_backend *b, ngp_error *err) { return ngp_backend_upload(inner(b, OP_UPLOAD), err); }
static ngp_status c_publish(ngp_backend *b, ngp_error *err) { return ngp_backend_publish(inner(b, OP_PUBLISH), err); }
static uint64_t c_acquire(ngp_backend *b) { return ngp_backend_acquire(inner(b, OP_ACQUIRE)); }
static bool c_newer(ngp_backend *b) { return ngp_backend_newer_pending(ctx(b)->inner); }
static ngp_status c_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                           ngp_error *err) {
  return ngp_backend_render(inner(b, OP_RENDER), cam, o, rgb, err);
}
static ngp_status c_pixels(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin, int end,
                           ngp_render_continue_fn keep_going, void *user, int *next, float *rgb, ngp_error *err) {
  return ngp_backend_render_pixels(inner(b, OP_PIXELS), cam, o, begin, end, keep_going, user, next, rgb, err);
}
static ngp_status c_density(ngp_backend *b, int S, const float *pos, float *raw, ngp_error *err) {
  return ngp_backend_density(inner(b, OP_DENSITY), S, pos, raw, err);
}
static ngp_status c_sync(ngp_backend *b, ngp_error *err) { return ngp_backend_synchronize(inner(b, OP_SYNC), err); }

static const ngp_backend_i counting_iface = {
    .describe = c_describe,
    .destroy = c_destroy,
    .train_step = c_train,
    .download = c_download,
    .upload = c_upload,
    .publish = c_publish,
    .acquire = c_acquire,
    .newer_pending = c_newer,
    .render = c_render,
    .render_pixels = c_pixels,
    .synchronize = c_sync,
    .density = c_density,
};

static ngp_status c_create(ngp_nerf *n, const ngp_scene *scene, const ngp_backend_opts *o, ngp_backend **out,
                           ngp_error *err) {
  counting *c = calloc(1, sizeof *c);
  if (!c) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the counting backend");
  ngp_status st = ngp_backend_create(&ngp_backend_cpu_type, n, scene, o, &c->inner, err);
  if (st != NGP_OK) {
    free(c);
    return st;
  }
  c->base.iface = &counting_iface;
  c->base.model = n;
  c->base.scene = scene;
  c->base.context = c;
  *out = &c->base;
  return NGP_OK;
}

const ngp_backend_type ngp_counting_backend_type = {"counting", NULL, c_create};

long ngp_counting_backend_calls(const ngp_backend *b, const char *op) {
  for (int i = 0; i < N_OPS; i++)
    if (strcmp(op, op_names[i]) == 0) return atomic_load(&((counting *)b->context)->calls[i]);
  return -1;
}

void ngp_counting_backend_print(const ngp_backend *b) {
  printf("backend calls:");
  for (int i = 0; i < N_OPS; i++)
    printf("%s %s %ld", i ? "," : "", op_names[i], atomic_load(&((counting *)b->context)->calls[i]));
  printf("\n");
}
