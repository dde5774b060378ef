/* backend_cuda.c: the CUDA backend behind the engine's interface (engine/backend.h). An instance
 * owns the model on the device: the trainer (ngp_cuda_trainer: weights, Adam, EMA, occupancy
 * grid) when there is a scene, and a renderer (ngp_cuda_renderer) holding the weights renders
 * use. publish copies the trainer's EMA into the renderer on the device (no round trip through
 * the host); download brings everything to the host model for snapshots. Density queries are
 * left to the interface's fallback (the CPU reference on the downloaded model). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "cuda/ngp_cuda.h"
#ifdef NGP_HAVE_CUDA_GL
#include "cuda/display.h"
#endif

typedef struct cuda_backend {
  ngp_backend base;
  ngp_cuda_trainer *trainer; /* NULL without a scene */
  ngp_cuda_renderer *renderer;
  uint64_t published; /* generations made so far */
#ifdef NGP_HAVE_CUDA_GL
  ngp_cuda_display *display; /* the window's pixel buffer, when attached */
#endif
} cuda_backend;

static cuda_backend *cu(ngp_backend *b) { return (cuda_backend *)b->context; }

static bool cuda_available(char *why, size_t n) {
  int device = -1;
  return ngp_cuda_select_device(&device, why, n) == NGP_OK;
}

static void cuda_describe(ngp_backend *b, char *out, size_t n) {
  (void)b;
  char desc[400];
  size_t free_b = 0, total_b = 0;
  ngp_cuda_device_describe(desc, sizeof desc);
  ngp_cuda_memory_info(&free_b, &total_b);
  snprintf(out, n, "%s; %.0f MiB of device memory in use", desc, (double)(total_b - free_b) / 1048576.0);
}

static void cuda_destroy(ngp_backend *b) {
  cuda_backend *c = cu(b);
  if (c->trainer) ngp_cuda_trainer_destroy(c->trainer);
  ngp_cuda_renderer_destroy(c->renderer);
#ifdef NGP_HAVE_CUDA_GL
  ngp_cuda_display_detach(c->display);
#endif
  free(c);
}

/* Steps are queued: st gets the previous step's numbers (ngp_cuda_trainer_step). */
static ngp_status cuda_train_step(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  return ngp_cuda_trainer_step(cu(b)->trainer, st, err);
}

static ngp_status cuda_last_stats(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  if (cu(b)->trainer) return ngp_cuda_trainer_last_stats(cu(b)->trainer, st, err);
  memset(st, 0, sizeof *st); /* nothing trains here */
  st->step = -1;
  return NGP_OK;
}

static ngp_status cuda_download(ngp_backend *b, ngp_error *err) {
  return cu(b)->trainer ? ngp_cuda_trainer_sync_inference(cu(b)->trainer, err) : NGP_OK;
}

static ngp_status cuda_upload(ngp_backend *b, ngp_error *err) {
  cuda_backend *c = cu(b);
  return ngp_cuda_renderer_load(c->renderer, b->model->inference, b->model->occ.bitfield, ++c->published, err);
}

static ngp_status cuda_publish(ngp_backend *b, ngp_error *err) {
  cuda_backend *c = cu(b);
  if (!c->trainer) return cuda_upload(b, err); /* nothing trains here: the host model is the newest */
  return ngp_cuda_renderer_publish(c->renderer, c->trainer, ++c->published, err);
}

static uint64_t cuda_acquire(ngp_backend *b) { return ngp_cuda_renderer_acquire(cu(b)->renderer); }

static bool cuda_newer_pending(ngp_backend *b) { return ngp_cuda_renderer_newer_pending(cu(b)->renderer); }

static ngp_status cuda_render_pixels(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin,
                                     int end, ngp_render_continue_fn keep_going, void *user, int *next, float *rgb,
                                     ngp_error *err) {
  /* Every mode, the near distance and the crop box (render.cu, with the CPU's per-ray rules). */
  uint64_t done = (uint64_t)begin;
  ngp_status st = ngp_cuda_renderer_render(cu(b)->renderer, cam->xform, cam->focal, cam->principal, cam->lens, o,
                                           (uint64_t)begin, (uint64_t)end, keep_going, user, &done, rgb, err);
  *next = (int)done;
  return st;
}

static ngp_status cuda_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                              ngp_error *err) {
  int next = 0;
  return cuda_render_pixels(b, cam, o, 0, o->width * o->height, NULL, NULL, &next, rgb, err);
}

static ngp_status cuda_synchronize(ngp_backend *b, ngp_error *err) {
  (void)b;
  return ngp_cuda_sync(err);
}

#ifdef NGP_HAVE_CUDA_GL
/* The viewer's frames: rendered into device images, written into the window's pixel buffer by a
 * kernel (cuda/display.h), never through host memory. */
static ngp_status cuda_display_attach(ngp_backend *b, unsigned gl_buffer, size_t bytes, ngp_error *err) {
  cuda_backend *c = cu(b);
  ngp_cuda_display_detach(c->display);
  c->display = NULL;
  return ngp_cuda_display_attach(gl_buffer, bytes, &c->display, err);
}

static void cuda_display_detach(ngp_backend *b) {
  ngp_cuda_display_detach(cu(b)->display);
  cu(b)->display = NULL;
}

static float *cuda_image_alloc(ngp_backend *b, size_t floats) {
  (void)b;
  void *p = NULL;
  ngp_error err;
  return ngp_cuda_alloc(&p, floats * sizeof(float), "a viewer image", &err) == NGP_OK ? (float *)p : NULL;
}

static void cuda_image_free(ngp_backend *b, float *img) {
  (void)b;
  ngp_cuda_free(img);
}

static ngp_status cuda_display_write(ngp_backend *b, const float *img, int width, int row_begin, int row_end,
                                     ngp_error *err) {
  cuda_backend *c = cu(b);
  if (!c->display) return ngp_error_set(err, NGP_ERR_INVALID, "display: no pixel buffer attached");
  return ngp_cuda_display_write(c->display, img, width, row_begin, row_end, err);
}
#endif

static const ngp_backend_i cuda_iface = {
    .describe = cuda_describe,
    .destroy = cuda_destroy,
    .train_step = cuda_train_step,
    .last_stats = cuda_last_stats,
    .download = cuda_download,
    .upload = cuda_upload,
    .publish = cuda_publish,
    .acquire = cuda_acquire,
    .newer_pending = cuda_newer_pending,
    .render = cuda_render,
    .render_pixels = cuda_render_pixels,
    .synchronize = cuda_synchronize,
    .density = NULL,
    /* Not yet: the render kernel returns no transmittance, so --background transparent fails on
     * this backend with the wrapper's message (backend.c) and a hint to use the CPU. */
    .render_alpha = NULL,
    /* Renders run on the device: no host threads to set. */
    .set_render_threads = NULL,
#ifdef NGP_HAVE_CUDA_GL
    .display_attach = cuda_display_attach,
    .display_detach = cuda_display_detach,
    .image_alloc = cuda_image_alloc,
    .image_free = cuda_image_free,
    .display_write = cuda_display_write,
#endif
};

static ngp_status cuda_create(ngp_nerf *n, const ngp_scene *scene, const ngp_backend_opts *o, ngp_backend **out,
                              ngp_error *err) {
  char why[1024];
  int device = -1;
  if (ngp_cuda_select_device(&device, why, sizeof why) != NGP_OK)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "%s", why);
  cuda_backend *c = calloc(1, sizeof *c);
  if (!c) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the CUDA backend");
  c->base.iface = &cuda_iface;
  c->base.model = n;
  c->base.scene = scene;
  c->base.context = c;
  if (o->n_threads > 0) n->n_threads = o->n_threads;
  ngp_status st = ngp_cuda_renderer_create(&c->renderer, n, o->concurrent_render, err);
  if (st == NGP_OK) st = ngp_cuda_renderer_load(c->renderer, n->inference, n->occ.bitfield, c->published = 1, err);
  if (st == NGP_OK && scene) {
    ngp_train_opts to = o->train;
    to.n_threads = n->n_threads;
    if (to.grid_sample_fraction < 0.0f) to.grid_sample_fraction = 1.0f; /* instant-ngp's counts: cheap on a GPU */
    if (to.target_samples == 0) to.target_samples = NGP_DEFAULT_BATCH_SAMPLES; /* instant-ngp's batch */
    if (to.error_map > 0) /* -1 (the default) and 0 both mean uniform rays here */
      st = ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "error-map sampling (--error-map on) is the CPU trainer's; the CUDA trainer draws its rays "
                         "uniformly, as instant-ngp does by default: drop --error-map on or use --backend cpu");
    else
      st = ngp_cuda_trainer_create(&c->trainer, n, scene, &to, err);
    if (st != NGP_OK) c->trainer = NULL;
  }
  if (st != NGP_OK) {
    cuda_destroy(&c->base);
    return st;
  }
  *out = &c->base;
  return NGP_OK;
}

const ngp_backend_type ngp_backend_cuda_type = {"cuda", cuda_available, cuda_create};
