/* backend.c: the table of backend types, the one selection function, and the wrappers that call
 * an instance's functions or, for the optional ones, do what backend.h says instead. */
#include "engine/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ngp_backend_opts_default(ngp_backend_opts *o) {
  memset(o, 0, sizeof *o);
  ngp_train_opts_default(&o->train);
  o->train.grid_sample_fraction = -1.0f; /* each backend's own default */
  o->train.target_samples = 0;           /* the same */
}

/* ---- Types ----------------------------------------------------------------------------------- */

enum { MAX_TYPES = 8 };
static const ngp_backend_type *g_registered[MAX_TYPES];
static int g_n_registered;

static const ngp_backend_type *const g_builtin[] = {
    &ngp_backend_cpu_type,
#ifdef NGP_HAVE_CUDA
    &ngp_backend_cuda_type,
#endif
};
enum { N_BUILTIN = sizeof g_builtin / sizeof g_builtin[0] };

int ngp_backend_count(void) { return N_BUILTIN + g_n_registered; }

const ngp_backend_type *ngp_backend_get(int i) {
  if (i < 0 || i >= ngp_backend_count()) return NULL;
  return i < N_BUILTIN ? g_builtin[i] : g_registered[i - N_BUILTIN];
}

static const ngp_backend_type *find_type(const char *name) {
  for (int i = 0; i < ngp_backend_count(); i++)
    if (strcmp(ngp_backend_get(i)->name, name) == 0) return ngp_backend_get(i);
  return NULL;
}

ngp_status ngp_backend_register(const ngp_backend_type *type, ngp_error *err) {
  if (!type || !type->name || !type->create)
    return ngp_error_set(err, NGP_ERR_INVALID, "backend registration: a type needs a name and a create function");
  if (find_type(type->name) || strcmp(type->name, "auto") == 0)
    return ngp_error_set(err, NGP_ERR_INVALID, "backend registration: the name \"%s\" is taken", type->name);
  if (g_n_registered == MAX_TYPES)
    return ngp_error_set(err, NGP_ERR_INVALID, "backend registration: at most %d extra backends", MAX_TYPES);
  g_registered[g_n_registered++] = type;
  return NGP_OK;
}

static void known_names(char *out, size_t n) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < ngp_backend_count() && used < n; i++)
    used += (size_t)snprintf(out + used, n - used, "%s, ", ngp_backend_get(i)->name);
  if (used < n) snprintf(out + used, n - used, "auto");
}

void ngp_backend_short_reason(const char *why, char *out, size_t n) {
  size_t k = strcspn(why, ":");
  const char *stop = strstr(why, ". ");
  if (stop && (size_t)(stop - why) < k) k = (size_t)(stop - why);
  snprintf(out, n, "%.*s; instant-ngp doctor says why", (int)k, why);
}

ngp_status ngp_backend_choose(const char *want, const ngp_backend_type **out, char *why, size_t n) {
  *out = NULL;
  if (!want || !want[0]) want = "auto";
  if (strcmp(want, "auto") == 0) {
#ifdef NGP_HAVE_CUDA
    char cuda_why[1024];
    if (ngp_backend_cuda_type.available(cuda_why, sizeof cuda_why)) {
      *out = &ngp_backend_cuda_type;
      snprintf(why, n, "auto: a usable device is present");
      return NGP_OK;
    }
    /* One short clause on every CPU run; the whole diagnosis is the doctor's and --backend cuda's. */
    char brief[256];
    ngp_backend_short_reason(cuda_why, brief, sizeof brief);
    snprintf(why, n, "auto: %s", brief);
#else
    snprintf(why, n, "auto: this build has no CUDA backend (configured without CUDA)");
#endif
    *out = &ngp_backend_cpu_type;
    return NGP_OK;
  }
  const ngp_backend_type *t = find_type(want);
  if (!t) {
    char names[256];
    known_names(names, sizeof names);
    if (strcmp(want, "cuda") == 0) {
      snprintf(why, n, "this build has no CUDA backend (configured without CUDA; rebuild with -DNGP_CUDA=ON)");
      return NGP_ERR_UNSUPPORTED;
    }
    snprintf(why, n, "unknown backend \"%s\" (known: %s)", want, names);
    return NGP_ERR_INVALID;
  }
  if (t->available && !t->available(why, n)) return NGP_ERR_UNSUPPORTED;
  snprintf(why, n, "as asked");
  *out = t;
  return NGP_OK;
}

/* ---- Instances -------------------------------------------------------------------------------- */

ngp_status ngp_backend_create(const ngp_backend_type *type, ngp_nerf *n, const ngp_scene *scene,
                              const ngp_backend_opts *o, ngp_backend **out, ngp_error *err) {
  *out = NULL;
  ngp_status st = type->create(n, scene, o, out, err);
  if (st != NGP_OK) return st;
  (*out)->type = type;
  return NGP_OK;
}

void ngp_backend_destroy(ngp_backend *b) {
  if (b) b->iface->destroy(b);
}

const char *ngp_backend_name(const ngp_backend *b) { return b->type ? b->type->name : "?"; }

void ngp_backend_describe(ngp_backend *b, char *out, size_t n) { b->iface->describe(b, out, n); }

bool ngp_backend_can_train(const ngp_backend *b) { return b->scene && b->iface->train_step; }

ngp_status ngp_backend_train_step(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  if (!ngp_backend_can_train(b))
    return ngp_error_set(err, NGP_ERR_INVALID, "%s backend: no training without a scene", ngp_backend_name(b));
  return b->iface->train_step(b, st, err);
}

ngp_status ngp_backend_last_stats(ngp_backend *b, ngp_step_stats *st, ngp_error *err) {
  if (b->iface->last_stats) return b->iface->last_stats(b, st, err);
  memset(st, 0, sizeof *st); /* train_step gave every step's own numbers: none is left */
  st->step = -1;
  return NGP_OK;
}

ngp_status ngp_backend_download(ngp_backend *b, ngp_error *err) {
  return b->iface->download ? b->iface->download(b, err) : NGP_OK;
}

ngp_status ngp_backend_upload(ngp_backend *b, ngp_error *err) {
  return b->iface->upload ? b->iface->upload(b, err) : NGP_OK;
}

ngp_status ngp_backend_publish(ngp_backend *b, ngp_error *err) { return b->iface->publish(b, err); }

uint64_t ngp_backend_acquire(ngp_backend *b) { return b->iface->acquire(b); }

bool ngp_backend_newer_pending(ngp_backend *b) { return b->iface->newer_pending(b); }

static ngp_status check_size(const ngp_backend *b, const ngp_render_opts *o, ngp_error *err) {
  if (o->width < 1 || o->height < 1 || (size_t)o->width * (size_t)o->height > (size_t)1 << 30)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s backend: cannot render an image of %dx%d pixels",
                         ngp_backend_name(b), o->width, o->height);
  return NGP_OK;
}

ngp_status ngp_backend_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                              ngp_error *err) {
  ngp_status st = check_size(b, o, err);
  return st != NGP_OK ? st : b->iface->render(b, cam, o, rgb, err);
}

ngp_status ngp_backend_render_pixels(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin,
                                     int end, ngp_render_continue_fn keep_going, void *user, int *next, float *rgb,
                                     ngp_error *err) {
  ngp_status st = check_size(b, o, err);
  if (st != NGP_OK) return st;
  const int n_pix = o->width * o->height;
  if (begin < 0) begin = 0;
  if (end > n_pix) end = n_pix;
  *next = begin;
  if (end <= begin) return NGP_OK;
  if (b->iface->render_pixels) return b->iface->render_pixels(b, cam, o, begin, end, keep_going, user, next, rgb, err);
  /* Fallback: the whole image, then the range. */
  float *all = malloc((size_t)n_pix * 3 * sizeof(float));
  if (!all) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for a %dx%d render", o->width, o->height);
  st = b->iface->render(b, cam, o, all, err);
  if (st == NGP_OK) {
    memcpy(rgb + (size_t)begin * 3, all + (size_t)begin * 3, (size_t)(end - begin) * 3 * sizeof(float));
    *next = end;
  }
  free(all);
  return st;
}

ngp_status ngp_backend_density(ngp_backend *b, int S, const float *pos, float *raw_density, ngp_error *err) {
  if (S <= 0) return NGP_OK;
  if (b->iface->density) return b->iface->density(b, S, pos, raw_density, err);
  /* Fallback: the CPU reference on the host model's EMA weights. */
  ngp_status st = ngp_backend_download(b, err);
  return st != NGP_OK ? st : ngp_nerf_density(b->model, b->model->inference, S, pos, raw_density, err);
}

ngp_status ngp_backend_color(ngp_backend *b, int S, const float *pos, const float *dir, float *rgb, ngp_error *err) {
  if (S <= 0) return NGP_OK;
  if (b->iface->color) return b->iface->color(b, S, pos, dir, rgb, err);
  /* Fallback: the CPU reference on the host model's EMA weights. */
  ngp_status st = ngp_backend_download(b, err);
  return st != NGP_OK ? st : ngp_nerf_color(b->model, b->model->inference, S, pos, dir, rgb, err);
}

ngp_status ngp_backend_render_alpha(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                                    float *alpha, ngp_error *err) {
  ngp_status st = check_size(b, o, err);
  if (st != NGP_OK) return st;
  if (!b->iface->render_alpha)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "the %s backend renders no alpha (transparent background) ---> HINT: --backend cpu renders it",
                         ngp_backend_name(b));
  return b->iface->render_alpha(b, cam, o, rgb, alpha, err);
}

void ngp_backend_set_render_threads(ngp_backend *b, int n) {
  if (b->iface->set_render_threads) b->iface->set_render_threads(b, n);
}

ngp_status ngp_backend_synchronize(ngp_backend *b, ngp_error *err) {
  return b->iface->synchronize ? b->iface->synchronize(b, err) : NGP_OK;
}

bool ngp_backend_has_display(const ngp_backend *b) {
  const ngp_backend_i *i = b->iface;
  return i->display_attach && i->display_detach && i->image_alloc && i->image_free && i->display_write &&
         i->render_pixels;
}

bool ngp_backend_display_attach(ngp_backend *b, unsigned gl_buffer, size_t bytes, char *why, size_t n) {
  if (!ngp_backend_has_display(b)) {
    snprintf(why, n, "the %s backend renders into host memory", ngp_backend_name(b));
    return false;
  }
  ngp_error err;
  if (b->iface->display_attach(b, gl_buffer, bytes, &err) != NGP_OK) {
    snprintf(why, n, "%s", err.msg);
    return false;
  }
  return true;
}

void ngp_backend_display_detach(ngp_backend *b) {
  if (ngp_backend_has_display(b)) b->iface->display_detach(b);
}

float *ngp_backend_image_alloc(ngp_backend *b, size_t floats, bool device) {
  if (device && ngp_backend_has_display(b)) return b->iface->image_alloc(b, floats);
  return malloc(floats * sizeof(float));
}

void ngp_backend_image_free(ngp_backend *b, float *img, bool device) {
  if (!img) return;
  if (device && ngp_backend_has_display(b))
    b->iface->image_free(b, img);
  else
    free(img);
}

ngp_status ngp_backend_display_write(ngp_backend *b, const float *img, int width, int row_begin, int row_end,
                                     ngp_error *err) {
  if (!ngp_backend_has_display(b))
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "the %s backend has no display path", ngp_backend_name(b));
  if (row_end <= row_begin) return NGP_OK;
  return b->iface->display_write(b, img, width, row_begin, row_end, err);
}
