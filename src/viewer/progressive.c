/* progressive.c: budgeted, progressive rendering for the viewer (see progressive.h). Rendering
 * itself is the backend's render_pixels (ngp_backend_render_pixels), which renders a range of
 * pixels and stops handing out work when asked; this file decides which image to render next and how large. */
#define _POSIX_C_SOURCE 200809L
#include "core/clock.h"
#include "viewer/progressive.h"

#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ngp_progressive_init(ngp_progressive *p, const float bg[3]) {
  memset(p, 0, sizeof *p);
  memcpy(p->bg, bg, sizeof p->bg);
  /* A low first guess (a few tens of thousands of samples-heavy pixels per second on two cores):
   * the first moving frame is small and the estimate rises from there. */
  p->pixels_per_s = 20000.0;
  p->moving_div = NGP_PROGRESSIVE_MAX_DIV;
  p->refresh_fraction = 0.4;
}

static void free_images(ngp_progressive *p) {
  ngp_backend_image_free(p->images_backend, p->pass_rgb, p->images_device);
  ngp_backend_image_free(p->images_backend, p->shown_rgb, p->images_device);
  p->pass_rgb = p->shown_rgb = NULL;
  p->pass_cap = p->shown_cap = 0;
}

void ngp_progressive_free(ngp_progressive *p) {
  free_images(p);
  memset(p, 0, sizeof *p);
}

void ngp_progressive_reset(ngp_progressive *p) {
  p->pass_active = false;
  p->shown_valid = false;
}

void ngp_progressive_set_images(ngp_progressive *p, ngp_backend *b, bool device) {
  free_images(p);
  ngp_progressive_reset(p);
  p->images_backend = b;
  p->images_device = device && b;
}

void ngp_progressive_level_size(int w, int h, int d, int *lw, int *lh) {
  if (d < 1) d = 1;
  *lw = (w + d - 1) / d;
  *lh = (h + d - 1) / d;
  if (*lw < 1) *lw = 1;
  if (*lh < 1) *lh = 1;
}

void ngp_progressive_render_opts(const ngp_progressive *p, int w, int h, ngp_render_opts *o) {
  memset(o, 0, sizeof *o);
  o->width = w;
  o->height = h;
  memcpy(o->bg, p->bg, sizeof o->bg);
  o->min_transmittance = 1e-4f; /* as screenshots and test views: the same image as headless */
  o->spp = 1;
  o->seed = 0;
  o->near_distance = p->near_distance;
  o->crop = p->crop;
  memcpy(o->crop_min, p->crop_min, sizeof o->crop_min);
  memcpy(o->crop_max, p->crop_max, sizeof o->crop_max);
}

static bool view_equal(const ngp_progressive_view *a, const ngp_progressive_view *b) {
  return ngp_camera_same_view(&a->cam, &b->cam) && a->width == b->width && a->height == b->height &&
         a->final_div == b->final_div;
}

/* A pass image of n floats at least (its old content is not kept: a pass writes all of it). */
static bool ensure(ngp_progressive *p, float **buf, size_t *cap, size_t n) {
  if (*cap >= n) return true;
  ngp_backend_image_free(p->images_backend, *buf, p->images_device);
  *buf = ngp_backend_image_alloc(p->images_backend, n, p->images_device);
  *cap = *buf ? n : 0;
  return *buf != NULL;
}

/* The smallest divisor whose image the estimated throughput renders within the budget (with a
 * margin for the estimate's noise); never finer than the final level. */
static int choose_moving_div(const ngp_progressive *p, const ngp_progressive_view *v, double budget_s) {
  double target = p->pixels_per_s * budget_s * 0.8;
  int fd = v->final_div < 1 ? 1 : v->final_div;
  for (int d = fd; d < NGP_PROGRESSIVE_MAX_DIV; d++) {
    int w, h;
    ngp_progressive_level_size(v->width, v->height, d, &w, &h);
    if ((double)w * (double)h <= target) return d;
  }
  return NGP_PROGRESSIVE_MAX_DIV > fd ? NGP_PROGRESSIVE_MAX_DIV : fd;
}

/* The finest divisor (not finer than the final level) whose whole image the estimated throughput
 * renders within refresh_render_s. */
static int refresh_div(const ngp_progressive *p, const ngp_progressive_view *v) {
  int fd = v->final_div < 1 ? 1 : v->final_div;
  if (p->refresh_render_s <= 0.0) return fd;
  double target = p->pixels_per_s * p->refresh_render_s;
  for (int d = fd; d < NGP_PROGRESSIVE_MAX_DIV; d++) {
    int w, h;
    ngp_progressive_level_size(v->width, v->height, d, &w, &h);
    if ((double)w * (double)h <= target) return d;
  }
  return NGP_PROGRESSIVE_MAX_DIV > fd ? NGP_PROGRESSIVE_MAX_DIV : fd;
}

static bool start_pass(ngp_progressive *p, const ngp_progressive_view *v, int div, bool moving, bool refresh,
                       uint64_t gen) {
  int w, h;
  ngp_progressive_level_size(v->width, v->height, div, &w, &h);
  if (!refresh && !ensure(p, &p->pass_rgb, &p->pass_cap, (size_t)w * (size_t)h * 3)) return false;
  p->pass_active = true;
  p->pass_refresh = refresh;
  p->pass_moving = moving;
  p->pass_view = *v;
  p->pass_div = div;
  p->pass_w = w;
  p->pass_h = h;
  p->pass_next = 0;
  p->pass_generation = gen;
  return true;
}

typedef struct {
  double deadline;
  atomic_int calls;
} budget_ctx;

/* The first tile of a call always goes, so every step makes progress. Called from the render
 * threads: reads only the deadline (written before they start) and the atomic counter. */
static bool within_budget(void *user) {
  budget_ctx *b = user;
  if (atomic_fetch_add(&b->calls, 1) == 0) return true;
  return ngp_seconds() < b->deadline;
}

ngp_shown_change ngp_progressive_step(ngp_progressive *p, const ngp_progressive_view *view, ngp_render_model *m,
                                      ngp_progressive_acquire_fn acquire, void *user, double budget_s, int *row_begin,
                                      int *row_end) {
  double t_start = ngp_seconds(), deadline = t_start + budget_s;
  bool shown_new = false;
  int rb = INT_MAX, re = 0;
  double render_s = 0.0;
  for (bool first = true;; first = false) {
    if (p->pass_active && !view_equal(&p->pass_view, view)) {
      bool finish =
          p->pass_moving && p->pass_next > 0 && !(p->shown_valid && view_equal(&p->shown_view, &p->pass_view));
      if (!finish) p->pass_active = false;
    }
    if (!p->pass_active) {
      if (!first && ngp_seconds() >= deadline) break;
      bool shown_current = p->shown_valid && view_equal(&p->shown_view, view);
      if (!shown_current) {
        acquire(user, m);
        if (m->generation == 0) break;
        p->moving_div = choose_moving_div(p, view, budget_s);
        if (!start_pass(p, view, p->moving_div, true, false, m->generation)) break;
      } else {
        acquire(user, m);
        bool newer = m->generation != p->shown_generation;
        int fast = newer ? refresh_div(p, view) : view->final_div;
        int finer = p->shown_div / 2 < view->final_div ? view->final_div : p->shown_div / 2;
        if (fast > p->shown_div) { /* a refresh at the shown level is too slow: newest weights, coarser */
          if (!start_pass(p, view, fast, false, false, m->generation)) break;
        } else if (p->shown_div > view->final_div && finer >= fast) { /* the finer level fits: refine */
          if (!start_pass(p, view, finer, false, false, m->generation)) break;
        } else if (newer) { /* newer weights over the shown image, in place */
          start_pass(p, view, p->shown_div, false, true, m->generation);
        } else {
          break; /* refined: nothing to do */
        }
      }
    }
    if (p->pass_refresh && deadline > t_start + budget_s * p->refresh_fraction)
      deadline = t_start + budget_s * p->refresh_fraction;
    ngp_render_opts o;
    ngp_progressive_render_opts(p, p->pass_w, p->pass_h, &o);
    float focal[2], principal[2];
    ngp_camera_intrinsics(&p->pass_view.cam, p->pass_w, p->pass_h, focal, principal);
    int n_pix = p->pass_w * p->pass_h, before = p->pass_next;
    budget_ctx b = {deadline, 0};
    atomic_init(&b.calls, 0);
    float *dst = p->pass_refresh ? p->shown_rgb : p->pass_rgb;
    double t0 = ngp_seconds();
    ngp_render_camera cam = {p->pass_view.cam.xform, {focal[0], focal[1]}, {principal[0], principal[1]}, NULL};
    ngp_error err;
    int next = p->pass_next;
    if (ngp_backend_render_pixels(m->backend, &cam, &o, p->pass_next, n_pix, within_budget, &b, &next, dst, &err) !=
        NGP_OK) {
      /* Nothing more of this pass: the caller shows the message; the next view tries again. */
      snprintf(p->error, sizeof p->error, "%s", err.msg);
      p->error_serial++;
      p->pass_active = false;
      break;
    }
    p->pass_next = next;
    double dt = ngp_seconds() - t0;
    render_s += dt;
    int done = p->pass_next - before;
    p->pixels_rendered += done;
    /* Only calls long enough to time say something about throughput. */
    if (dt > 2e-3 && done > 0) p->pixels_per_s = 0.7 * p->pixels_per_s + 0.3 * (double)done / dt;
    bool complete = p->pass_next >= n_pix;
    if (p->pass_refresh) {
      int r0 = before / p->pass_w, r1 = complete ? p->pass_h : p->pass_next / p->pass_w;
      if (r0 < rb) rb = r0;
      if (r1 > re) re = r1;
    }
    if (!complete) break;
    p->pass_active = false;
    if (p->pass_refresh) {
      p->shown_generation = p->pass_generation;
    } else {
      float *t = p->shown_rgb;
      size_t c = p->shown_cap;
      p->shown_rgb = p->pass_rgb;
      p->shown_cap = p->pass_cap;
      p->pass_rgb = t;
      p->pass_cap = c;
      p->shown_valid = true;
      p->shown_view = p->pass_view;
      p->shown_div = p->pass_div;
      p->shown_w = p->pass_w;
      p->shown_h = p->pass_h;
      p->shown_generation = p->pass_generation;
      shown_new = true;
    }
    if (ngp_seconds() >= deadline) break;
  }
  p->last_render_s = render_s;
  if (shown_new) return NGP_SHOWN_NEW;
  if (re > rb) {
    if (row_begin) *row_begin = rb;
    if (row_end) *row_end = re;
    return NGP_SHOWN_ROWS;
  }
  return NGP_SHOWN_SAME;
}

bool ngp_progressive_refreshing(const ngp_progressive *p) { return p->pass_active && p->pass_refresh; }

bool ngp_progressive_refined(const ngp_progressive *p, const ngp_progressive_view *view, uint64_t generation) {
  return !p->pass_active && p->shown_valid && view_equal(&p->shown_view, view) &&
         p->shown_div <= (view->final_div < 1 ? 1 : view->final_div) && p->shown_generation == generation;
}

void ngp_progressive_acquire_backend(void *user, ngp_render_model *m) {
  (void)user;
  if (m->backend) m->generation = ngp_backend_acquire(m->backend);
}
