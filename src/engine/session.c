/* session.c: loading a model and a scene, choosing the backend, training steps, saving, and the
 * renders made from a session (test views, screenshots); see session.h. */
#define _POSIX_C_SOURCE 200809L
#include "engine/session.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fs.h"
#include "core/progress.h"
#include "ngp/ngp.h"
#include "core/parallel.h"

void ngp_session_opts_default(ngp_session_opts *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1337;
  o->bg[0] = o->bg[1] = o->bg[2] = 1.0f;
  o->spp = 1;
  o->train = true;
  o->grid_sample_fraction = -1.0f;
}

char *ngp_config_find(const char *name) {
  if (ngp_path_is_file(name)) return ngp_strdup(name);
  if (name[0] == '/') return NULL;
  const char *env = getenv("NGP_CONFIG_DIR");
  if (env && env[0]) {
    char *p = ngp_path_join(env, name);
    if (p && ngp_path_is_file(p)) return p;
    free(p);
  }
  /* <prefix>/bin/instant-ngp -> <prefix>/share/instant-ngp/configs/nerf (the build tree mirrors it). */
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *bin = ngp_path_dirname(exe);
    char *prefix = bin ? ngp_path_dirname(bin) : NULL;
    char *dir = prefix ? ngp_path_join(prefix, "share/instant-ngp/configs/nerf") : NULL;
    char *p = dir ? ngp_path_join(dir, name) : NULL;
    free(bin);
    free(prefix);
    free(dir);
    if (p && ngp_path_is_file(p)) return p;
    free(p);
  }
  return NULL;
}

static ngp_status load_config(const ngp_session_opts *o, ngp_config *cfg, char *label, size_t n, ngp_error *err) {
  if (!o->config) {
    snprintf(label, n, "base.json (built in)");
    return ngp_config_parse(ngp_default_config_json, ngp_default_config_json_len, "base.json (built in)", cfg, err);
  }
  char *path = ngp_config_find(o->config);
  if (!path)
    return ngp_error_set(err, NGP_ERR_IO,
                         "%s: config not found (looked as given, in $NGP_CONFIG_DIR and in the "
                         "installed configs/nerf folder)",
                         o->config);
  snprintf(label, n, "%s", path);
  ngp_status st = ngp_config_load(path, cfg, err);
  free(path);
  return st;
}

/* The backend, chosen in the one place that chooses (ngp_backend_choose), first: a backend that
 * cannot run here fails before anything is loaded. */
static ngp_status choose_backend(const ngp_session_opts *o, const ngp_backend_type **type, char *why, size_t n,
                                 ngp_error *err) {
  const char *want = o->backend ? o->backend : "auto";
  ngp_status st = ngp_backend_choose(want, type, why, n);
  return st == NGP_OK ? NGP_OK : ngp_error_set(err, st, "backend %s: %s", want, why);
}

/* The chosen backend over the model (and the scene, to train). */
static ngp_status open_backend(ngp_session *s, const ngp_backend_type *type, const char *why, ngp_error *err) {
  ngp_status st;
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  bo.n_threads = s->threads;
  bo.concurrent_render = s->opts.concurrent_render;
  bo.train.seed = s->opts.seed;
  if (s->opts.batch_samples > 0) bo.train.target_samples = (uint32_t)s->opts.batch_samples;
  bo.train.grid_sample_fraction = s->opts.grid_sample_fraction;
  if ((st = ngp_backend_create(type, &s->nerf, s->have_scene ? &s->scene : NULL, &bo, &s->backend, err)) != NGP_OK) {
    s->backend = NULL;
    return st;
  }
  char desc[512];
  ngp_backend_describe(s->backend, desc, sizeof desc);
  printf("backend: %s (%s), %s\n", type->name, why, desc);
  return NGP_OK;
}

ngp_status ngp_session_open(ngp_session *s, const ngp_session_opts *o, ngp_error *err) {
  memset(s, 0, sizeof *s);
  s->opts = *o;
  if (s->opts.spp < 1) s->opts.spp = 1;
  s->threads = o->threads > 0 ? o->threads : ngp_cpu_count();
  s->meta = (ngp_snapshot_meta){0, 0.33f, {0.5f, 0.5f, 0.5f}, 0.0f};
  const ngp_backend_type *type;
  char why[1024];
  ngp_status st = choose_backend(o, &type, why, sizeof why, err);
  if (st != NGP_OK) return st;
  if (o->snapshot) {
    if ((st = ngp_snapshot_load(o->snapshot, &s->nerf, &s->meta, s->threads, err)) != NGP_OK) return st;
    printf("snapshot: %s (step %d)\n", o->snapshot, s->meta.training_step);
    snprintf(s->config_label, sizeof s->config_label, "from %s", o->snapshot);
    s->have_model = true;
  }
  if (!o->scene || !o->train) {
    if (!s->have_model)
      return ngp_error_set(err, NGP_ERR_INVALID, "nothing to do: give a scene to train on, or a snapshot to render");
    if ((st = open_backend(s, type, why, err)) != NGP_OK) ngp_session_close(s);
    return st;
  }
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = s->threads;
  double t0 = ngp_seconds();
  if ((st = ngp_scene_load(o->scene, &so, &s->scene, err)) != NGP_OK) goto fail;
  s->have_scene = true;
  printf("scene: %s: %d frames (%d skipped), %dx%d, aabb_scale %d, loaded in %.1f s\n", o->scene, s->scene.n_frames,
         s->scene.n_skipped, s->scene.frames[0].image.width, s->scene.frames[0].image.height, s->scene.aabb_scale,
         ngp_seconds() - t0);
  for (int i = 0; i < s->scene.n_sources; i++)
    printf("  loaded:     %s\n", s->scene.sources[i]);
  for (int i = 0; i < s->scene.n_ignored; i++)
    printf("  not loaded: %s\n", s->scene.ignored[i]);
  if (!s->have_model) {
    ngp_config cfg;
    if ((st = load_config(o, &cfg, s->config_label, sizeof s->config_label, err)) != NGP_OK ||
        (st = ngp_nerf_init(&s->nerf, &cfg, s->scene.aabb_scale, o->seed, s->threads, err)) != NGP_OK)
      goto fail;
    s->have_model = true;
    printf("config: %s (%zu parameters)\n", s->config_label, s->nerf.n_params);
  } else if (s->nerf.aabb_scale != s->scene.aabb_scale) {
    st = ngp_error_set(err, NGP_ERR_INVALID, "the snapshot was trained with another aabb_scale than this scene's");
    goto fail;
  }
  s->meta.scale = s->scene.scale;
  memcpy(s->meta.offset, s->scene.offset, sizeof s->meta.offset);
  if ((st = open_backend(s, type, why, err)) != NGP_OK) goto fail;
  return NGP_OK;
fail:
  ngp_session_close(s);
  return st;
}

bool ngp_session_can_train(const ngp_session *s) {
  return s->backend && ngp_backend_can_train(s->backend) && !s->step_failed;
}

ngp_status ngp_session_step(ngp_session *s, ngp_step_stats *st, ngp_error *err) {
  ngp_status rc = ngp_backend_train_step(s->backend, st, err);
  if (rc != NGP_OK) {
    s->step_failed = true;
    return rc;
  }
  s->meta.training_step++;
  if (!st) return NGP_OK;
  if (st->skipped)
    s->skipped_steps++;
  else
    s->meta.loss = st->loss;
  return NGP_OK;
}

ngp_status ngp_session_sync(ngp_session *s, ngp_error *err) { return ngp_backend_download(s->backend, err); }

ngp_status ngp_session_refresh(ngp_session *s, ngp_error *err) {
  ngp_status st = ngp_backend_publish(s->backend, err);
  if (st == NGP_OK) ngp_backend_acquire(s->backend);
  return st;
}

ngp_status ngp_session_save(ngp_session *s, const char *path, ngp_error *err) {
  ngp_status st = ngp_session_sync(s, err);
  if (st != NGP_OK) return st;
  char *parent = ngp_path_dirname(path);
  st = parent ? ngp_mkdir_p(parent, err) : ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  free(parent);
  if (st != NGP_OK || (st = ngp_snapshot_save(path, &s->nerf, s->nerf.inference, &s->meta, err)) != NGP_OK) return st;
  printf("snapshot saved: %s (step %d)\n", path, s->meta.training_step);
  return NGP_OK;
}

ngp_status ngp_session_render(ngp_session *s, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                              ngp_error *err) {
  return ngp_backend_render(s->backend, cam, o, rgb, err);
}

ngp_status ngp_session_evaluate(ngp_session *s, const char *transforms, ngp_eval_result *res, ngp_error *err) {
  ngp_scene views;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = s->threads;
  ngp_status st = ngp_scene_load(transforms, &so, &views, err);
  if (st != NGP_OK) return st;
  double t0 = ngp_seconds();
  const float *bg = s->opts.bg;
  st = ngp_eval_views(s->backend, &views, bg, s->opts.spp, res, err);
  ngp_scene_free(&views);
  if (st != NGP_OK) return st;
  printf("test views: %d from %s, background %g,%g,%g, %d spp, %.1f s\n", res->n_views, transforms, (double)bg[0],
         (double)bg[1], (double)bg[2], s->opts.spp, ngp_seconds() - t0);
  printf("PSNR=%.3f [%.3f %.3f] SSIM=%.4f\n", res->psnr_mean, res->psnr_min, res->psnr_max, res->ssim_mean);
  return NGP_OK;
}

static void screenshot_name(const char *dir, const char *file_path, char *out, size_t n) {
  const char *base = ngp_path_basename(file_path);
  bool has_ext = ngp_path_extension(base)[0] != '\0';
  snprintf(out, n, "%s/%s%s", dir, base, has_ext ? "" : ".png");
}

/* Frame index of n into path, at w x h; prints a line with the count and the time left, counted
 * from t0, when the phase began. */
static ngp_status screenshot(ngp_session *s, const ngp_frame *f, int index, int n, double t0, int w, int h,
                             const char *path, ngp_error *err) {
  const float *bg = s->opts.bg;
  /* A different size keeps the field of view: focal lengths scale with the size. */
  ngp_render_camera cam = {
      f->xform,
      {f->focal[0] * (float)w / (float)f->image.width, f->focal[1] * (float)h / (float)f->image.height},
      {f->principal[0], f->principal[1]},
      &f->lens};
  float *rgb = malloc((size_t)w * (size_t)h * 3 * sizeof(float));
  float *alpha = s->opts.transparent ? malloc((size_t)w * (size_t)h * sizeof(float)) : NULL;
  uint8_t *px = malloc((size_t)w * (size_t)h * 4);
  ngp_status st = NGP_OK;
  if (!rgb || !px || (s->opts.transparent && !alpha))
    st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for a %dx%d screenshot", w, h);
  ngp_render_opts o = {w, h, {bg[0], bg[1], bg[2]}, 1e-4f, s->opts.spp, (uint64_t)index};
  double t_start = ngp_seconds();
  if (st == NGP_OK)
    st = alpha ? ngp_backend_render_alpha(s->backend, &cam, &o, rgb, alpha, err)
               : ngp_session_render(s, &cam, &o, rgb, err);
  double t_render = ngp_seconds() - t_start;
  if (st == NGP_OK) {
    ngp_rgba8_from_render(rgb, alpha, bg, (size_t)w * (size_t)h, px);
    ngp_image img = {w, h, 4, px};
    st = ngp_image_write_png(path, &img, err);
  }
  if (st == NGP_OK) {
    double el = ngp_seconds() - t0;
    char left[32];
    ngp_format_duration(el / (index + 1) * (n - index - 1), left, sizeof left);
    printf("screenshot %d/%d: %s (%dx%d, rendered in %.3f s; remaining %s)\n", index + 1, n, path, w, h, t_render,
           left);
    fflush(stdout);
  }
  free(rgb);
  free(alpha);
  free(px);
  return st;
}

void ngp_rgba8_from_render(const float *rgb, const float *alpha, const float bg[3], size_t n, uint8_t *rgba) {
  for (size_t p = 0; p < n; p++) {
    float a = alpha ? alpha[p] : 1.0f;
    a = a < 0.0f ? 0.0f : (a > 1.0f ? 1.0f : a);
    for (int c = 0; c < 3; c++) {
      float v = rgb[p * 3 + c];
      /* Below 1/512 the colour is noise divided by nearly nothing, and invisible anyway. */
      if (alpha) v = a > 1.0f / 512.0f ? (v - (1.0f - a) * bg[c]) / a : 0.0f;
      v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
      rgba[p * 4 + (size_t)c] = (uint8_t)lrintf(v * 255.0f);
    }
    rgba[p * 4 + 3] = (uint8_t)lrintf(a * 255.0f);
  }
}

ngp_status ngp_session_screenshots(ngp_session *s, const char *transforms, const char *dir, int w, int h,
                                   ngp_error *err) {
  ngp_scene cams;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.load_images = false;
  so.keep_missing = true;
  so.n_threads = s->threads;
  ngp_status st = ngp_scene_load(transforms, &so, &cams, err);
  if (st != NGP_OK) return st;
  if ((st = ngp_mkdir_p(dir, err)) == NGP_OK) {
    double t0 = ngp_seconds();
    for (int i = 0; i < cams.n_frames && st == NGP_OK; i++) {
      const ngp_frame *f = &cams.frames[i];
      char path[4200];
      screenshot_name(dir, f->file_path, path, sizeof path);
      st = screenshot(s, f, i, cams.n_frames, t0, w > 0 ? w : f->image.width, h > 0 ? h : f->image.height, path, err);
    }
  }
  ngp_scene_free(&cams);
  return st;
}

void ngp_session_close(ngp_session *s) {
  ngp_backend_destroy(s->backend);
  s->backend = NULL;
  if (s->have_scene) ngp_scene_free(&s->scene);
  if (s->have_model) ngp_nerf_free(&s->nerf);
  s->have_scene = s->have_model = false;
}
