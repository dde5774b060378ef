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
#include "core/memory.h"
#include "core/progress.h"
#include "ngp/ngp.h"
#include "core/parallel.h"
#include "engine/output.h"

void ngp_session_opts_default(ngp_session_opts *o) {
  memset(o, 0, sizeof *o);
  o->seed = 1337;
  o->bg[0] = o->bg[1] = o->bg[2] = 1.0f;
  o->spp = 1;
  o->train = true;
  o->grid_sample_fraction = -1.0f;
  o->error_map = -1;
  o->near_distance = -1.0f;
}

char *ngp_config_find(const char *name) {
  /* Anything at the name as given is the config: a FIFO or a loop is refused by name when read,
   * not called "not found". */
  if (ngp_path_exists(name) || ngp_fs_is_link_loop(name)) return ngp_strdup(name);
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

ngp_status ngp_session_check_model(const ngp_config *cfg, const char *label, int aabb_scale, bool train,
                                   ngp_error *err) {
  size_t n = 0;
  ngp_status st = ngp_nerf_count_params(cfg, aabb_scale, &n, err);
  if (st != NGP_OK) {
    char why[NGP_ERROR_MSG_MAX];
    snprintf(why, sizeof why, "%s", err->msg);
    return ngp_error_set(err, st, "%s: %s", label, why);
  }
  /* Per parameter: the weights and their EMA (8 bytes); to train, the gradients and the two Adam
   * moments too (12 more). */
  uint64_t need = (uint64_t)n * (train ? 20u : 8u);
  char subject[1400], hint[1400];
  snprintf(subject, sizeof subject, "%s: the model (%zu parameters, %s)", label, n, train ? "to train" : "to render");
  snprintf(hint, sizeof hint,
           "use a smaller model: lower encoding.log2_hashmap_size (now %d) or encoding.n_levels (now %d) in %s",
           cfg->encoding.log2_hashmap_size, cfg->encoding.n_levels, label);
  return ngp_memory_check(need, subject, hint, err);
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
  bo.train.error_map = s->opts.error_map;
  if (s->opts.near_distance >= 0.0f) bo.train.near_distance = s->opts.near_distance; /* run.py's meaning */
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
  so.holdout_every = o->holdout_every;
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
        (st = ngp_session_check_model(&cfg, s->config_label, s->scene.aabb_scale, true, err)) != NGP_OK ||
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

/* A step's numbers, each step once: a device backend reports them a call late (st->step). */
static void count_stats(ngp_session *s, const ngp_step_stats *st) {
  if (st->step < s->stats_next) return;
  s->stats_next = st->step + 1;
  if (st->skipped)
    s->skipped_steps++;
  else
    s->meta.loss = st->loss;
}

ngp_status ngp_session_step(ngp_session *s, ngp_step_stats *st, ngp_error *err) {
  ngp_status rc = ngp_backend_train_step(s->backend, st, err);
  if (rc != NGP_OK) {
    s->step_failed = true;
    return rc;
  }
  s->meta.training_step++;
  if (st) count_stats(s, st);
  return NGP_OK;
}

ngp_status ngp_session_last_stats(ngp_session *s, ngp_step_stats *st, ngp_error *err) {
  ngp_status rc = ngp_backend_last_stats(s->backend, st, err);
  if (rc == NGP_OK) count_stats(s, st);
  return rc;
}

ngp_status ngp_session_sync(ngp_session *s, ngp_error *err) {
  ngp_step_stats st;
  ngp_status rc = ngp_backend_can_train(s->backend) ? ngp_session_last_stats(s, &st, err) : NGP_OK;
  return rc == NGP_OK ? ngp_backend_download(s->backend, err) : rc;
}

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
  double *per_view = s->opts.metrics_json ? calloc((size_t)views.n_frames * 2 + 1, sizeof(double)) : NULL;
  if (s->opts.metrics_json && !per_view) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  if (st == NGP_OK)
    st = ngp_eval_views_each(s->backend, &views, bg, s->opts.spp, s->opts.stop, res, per_view,
                             per_view ? per_view + views.n_frames : NULL, err);
  int n_views = views.n_frames;
  /* The metrics file holds a whole evaluation only: none after an interrupt. */
  if (st == NGP_OK && per_view && res->n_views == n_views)
    st = ngp_eval_write_json(s->opts.metrics_json, transforms, &views, res, per_view, per_view + views.n_frames, bg,
                             s->opts.spp, s->meta.training_step, err);
  free(per_view);
  ngp_scene_free(&views);
  if (st != NGP_OK) return st;
  if (res->n_views < n_views) {
    printf("test views: stopped after %d of %d views; no PSNR is printed for a partial set\n", res->n_views, n_views);
    return NGP_OK;
  }
  printf("test views: %d from %s, background %g,%g,%g, %d spp, %.1f s\n", res->n_views, transforms, (double)bg[0],
         (double)bg[1], (double)bg[2], s->opts.spp, ngp_seconds() - t0);
  printf("PSNR=%.3f [%.3f %.3f] SSIM=%.4f\n", res->psnr_mean, res->psnr_min, res->psnr_max, res->ssim_mean);
  if (s->opts.metrics_json) printf("metrics saved: %s\n", s->opts.metrics_json);
  return NGP_OK;
}

/* The file a frame's screenshot goes to: dir/<base name of file_path>, ".png" added when it has no
 * extension; a depth or cost render (16 bits) or a transparent one (alpha) goes to .png in place of
 * .jpg/.jpeg. The
 * k-th frame with a name already taken gets "_k" before the extension (k from 2 up to the first
 * free name). malloc'd; NULL when out of memory. */
static char *screenshot_name(const char *dir, const char *file_path, bool png, char **taken, int n_taken) {
  const char *base = ngp_path_basename(file_path);
  const char *ext = ngp_path_extension(base);
  int stem = (int)(ext - base);
  bool jpeg = ngp_image_format_of(base) == NGP_IMAGE_FORMAT_JPEG;
  if (!ext[0] || (png && jpeg)) ext = ".png";
  size_t n = strlen(dir) + strlen(base) + 32;
  char *out = malloc(n);
  if (!out) return NULL;
  for (int k = 1;; k++) {
    if (k == 1)
      snprintf(out, n, "%s/%.*s%s", dir, stem, base, ext);
    else
      snprintf(out, n, "%s/%.*s_%d%s", dir, stem, base, k, ext);
    bool used = false;
    for (int i = 0; i < n_taken && !used; i++)
      used = strcmp(taken[i], out) == 0;
    if (!used) return out;
  }
}

bool ngp_session_crop_ngp(const ngp_session *s, float min[3], float max[3]) {
  if (!s->opts.crop) return false;
  /* ngp[r] = scene[(r + 1) % 3] * scale + offset[(r + 1) % 3] (ngp_nerf_matrix_to_ngp). */
  for (int r = 0; r < 3; r++) {
    int a = (r + 1) % 3;
    float lo = s->opts.crop_box[a] * s->meta.scale + s->meta.offset[a];
    float hi = s->opts.crop_box[3 + a] * s->meta.scale + s->meta.offset[a];
    min[r] = lo < hi ? lo : hi;
    max[r] = lo < hi ? hi : lo;
  }
  return true;
}

void ngp_session_render_opts(const ngp_session *s, int w, int h, uint64_t seed, ngp_render_opts *o) {
  memset(o, 0, sizeof *o);
  o->width = w;
  o->height = h;
  memcpy(o->bg, s->opts.bg, sizeof o->bg);
  o->min_transmittance = 1e-4f;
  o->spp = s->opts.spp;
  o->seed = seed;
  o->mode = s->opts.render_mode;
  o->near_distance = s->opts.near_distance > 0.0f ? s->opts.near_distance : 0.0f;
  o->crop = ngp_session_crop_ngp(s, o->crop_min, o->crop_max);
}

/* Frame f (number k of n, `index` in the file) into path, at w x h; prints a line with the count
 * and the time left, counted from t0, when the phase began. */
static ngp_status screenshot(ngp_session *s, const ngp_frame *f, int index, int k, int n, double t0, int w, int h,
                             const char *path, ngp_error *err) {
  /* A different size keeps the field of view: focal lengths scale with the size. */
  ngp_render_camera cam = {
      f->xform,
      {f->focal[0] * (float)w / (float)f->image.width, f->focal[1] * (float)h / (float)f->image.height},
      {f->principal[0], f->principal[1]},
      &f->lens};
  ngp_render_mode mode = s->opts.render_mode;
  /* The image as floats, and about as much again inside the renderer and the writers. */
  char subject[128];
  snprintf(subject, sizeof subject, "a %dx%d screenshot", w, h);
  ngp_status st = ngp_memory_check((uint64_t)w * (uint64_t)h * 32u, subject,
                                   "use a smaller --width/--height, or smaller w and h in the cameras", err);
  if (st != NGP_OK) return st;
  float *rgb = malloc((size_t)w * (size_t)h * 3 * sizeof(float));
  /* Transparent shaded screenshots: the accumulated opacity too, for an RGBA PNG. */
  float *alpha = s->opts.transparent && mode == NGP_RENDER_SHADE ? malloc((size_t)w * (size_t)h * sizeof(float)) : NULL;
  uint8_t *px = alpha ? malloc((size_t)w * (size_t)h * 4) : NULL;
  if (!rgb || (s->opts.transparent && mode == NGP_RENDER_SHADE && (!alpha || !px)))
    st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for a %dx%d screenshot", w, h);
  ngp_render_opts o;
  ngp_session_render_opts(s, w, h, (uint64_t)index, &o);
  double t_start = ngp_seconds();
  if (st == NGP_OK)
    st = alpha ? ngp_backend_render_alpha(s->backend, &cam, &o, rgb, alpha, err)
               : ngp_session_render(s, &cam, &o, rgb, err);
  double t_render = ngp_seconds() - t_start;
  if (st == NGP_OK && mode == NGP_RENDER_SHADE)
    st = ngp_output_postprocess(rgb, w, h, s->opts.exposure, s->opts.sharpen, err);
  ngp_output_frame fr = {s->meta.scale,
                         {s->meta.offset[0], s->meta.offset[1], s->meta.offset[2]},
                         {s->nerf.aabb_min[0], s->nerf.aabb_min[1], s->nerf.aabb_min[2]},
                         {s->nerf.aabb_max[0], s->nerf.aabb_max[1], s->nerf.aabb_max[2]}};
  char note[128] = "", pfm[4200] = "";
  if (st == NGP_OK && alpha) { /* the name is a .png (screenshot_name) */
    ngp_rgba8_from_render(rgb, alpha, o.bg, (size_t)w * (size_t)h, px);
    ngp_image img = {w, h, 4, px};
    st = ngp_image_write_png(path, &img, err);
  } else if (st == NGP_OK)
    st = ngp_output_write(path, mode, w, h, rgb, &fr, note, sizeof note, err);
  /* Depth and cost: the floats beside the 16-bit PNG. */
  if (st == NGP_OK && (mode == NGP_RENDER_DEPTH || mode == NGP_RENDER_COST) &&
      ngp_image_format_of(path) == NGP_IMAGE_FORMAT_PNG) {
    snprintf(pfm, sizeof pfm, "%.*s.pfm", (int)(strlen(path) - strlen(ngp_path_extension(path))), path);
    st = ngp_output_write(pfm, mode, w, h, rgb, &fr, NULL, 0, err);
  }
  if (st == NGP_OK) {
    double el = ngp_seconds() - t0;
    char left[32];
    ngp_format_duration(el / (k + 1) * (n - k - 1), left, sizeof left);
    printf("screenshot %d/%d: %s%s%s (%dx%d%s%s, rendered in %.3f s; remaining %s)\n", k + 1, n, path,
           pfm[0] ? " and " : "", pfm, w, h, note[0] ? ", " : "", note, t_render, left);
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
  /* --screenshot-frames counts the file's frames in its order (run.py's), which loading may sort. */
  int n = s->opts.screenshot_frames ? s->opts.n_screenshot_frames : cams.n_frames;
  int *pick = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
  char **names = calloc((size_t)n + 1, sizeof *names);
  if (!pick || !names) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory naming %d screenshots", n);
  for (int k = 0; k < n && st == NGP_OK; k++) {
    pick[k] = s->opts.screenshot_frames ? -1 : k;
    for (int i = 0; i < cams.n_frames && pick[k] < 0; i++)
      if (cams.frames[i].json_index == s->opts.screenshot_frames[k]) pick[k] = i;
    if (pick[k] < 0)
      st = ngp_error_set(err, NGP_ERR_INVALID,
                         "--screenshot-frames: frame %d is not in %s, which has %d frames (0 to %d)",
                         s->opts.screenshot_frames[k], transforms, cams.n_frames, cams.n_frames - 1);
  }
  /* Every name is made distinct and checked before the first render: a format that cannot be
   * written fails now. */
  ngp_render_mode mode = s->opts.render_mode;
  bool needs_png =
      mode == NGP_RENDER_DEPTH || mode == NGP_RENDER_COST || (s->opts.transparent && mode == NGP_RENDER_SHADE);
  for (int k = 0; k < n && st == NGP_OK; k++) {
    if (!(names[k] = screenshot_name(dir, cams.frames[pick[k]].file_path, needs_png, names, k)))
      st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory naming %d screenshots", n);
    else
      st = ngp_output_check(names[k], s->opts.render_mode, err);
  }
  int done = 0;
  if (st == NGP_OK && (st = ngp_mkdir_p(dir, err)) == NGP_OK) {
    double t0 = ngp_seconds();
    for (int k = 0; k < n && st == NGP_OK; k++) {
      if (s->opts.stop && s->opts.stop()) break;
      int i = pick[k];
      const ngp_frame *f = &cams.frames[i];
      st = screenshot(s, f, i, k, n, t0, w > 0 ? w : f->image.width, h > 0 ? h : f->image.height, names[k], err);
      if (st == NGP_OK) done++;
    }
  }
  if (st == NGP_OK && done < n) printf("screenshots: stopped after %d of %d; each file written is complete\n", done, n);
  if (names) {
    for (int k = 0; k < n; k++)
      free(names[k]);
    free(names);
  }
  free(pick);
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
