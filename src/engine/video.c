/* video.c: a session's videos along camera paths (see video.h). The cameras come from
 * camera_path.c, the frames are rendered through the session's backend (so every backend makes
 * videos), and video_writer.c turns them into H.264 or PNGs. */
#define _POSIX_C_SOURCE 200809L
#include "engine/video.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "core/clock.h"
#include "core/progress.h"
#include "engine/output.h"
#include "engine/video_writer.h"

void ngp_video_opts_default(ngp_video_opts *o) {
  memset(o, 0, sizeof *o);
  o->fps = 60.0;
  o->spp = 8;
  o->width = 1920;
  o->height = 1080;
  o->first = o->last = -1;
  o->output = "video.mp4";
}

void ngp_video_plan_free(ngp_video_plan *plan) { ngp_camera_path_free(&plan->path); }

ngp_status ngp_video_plan_check(const ngp_video_plan *plan, ngp_error *err) {
  const ngp_video_opts *o = &plan->opts;
  double frames = o->n_seconds * o->fps;
  if (plan->n_frames < 1)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "--video-n-seconds %g at --video-fps %g makes %g frames; a video has 1 to 10000000",
                         o->n_seconds, o->fps, floor(frames));
  if (plan->first > plan->last || plan->last >= plan->n_frames) {
    int bad = plan->first >= plan->n_frames ? plan->first : plan->last;
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "--video-render-range %d,%d: frame %d is past the video's end: it has %d frames (0 to %d) at "
                         "%g s x %g fps",
                         plan->first, plan->last, bad, plan->n_frames, plan->n_frames - 1, o->n_seconds, o->fps);
  }
  return NGP_OK;
}

ngp_status ngp_video_prepare(const ngp_video_opts *o, const ngp_scene *cams, ngp_video_plan *plan, ngp_error *err) {
  memset(plan, 0, sizeof *plan);
  plan->opts = *o;
  ngp_camera_path_init(&plan->path);
  ngp_status st = NGP_OK;
  if (o->orbit_turns > 0.0) {
    ngp_scene own;
    bool loaded = false;
    if (!cams) {
      if (!o->orbit_scene)
        return ngp_error_set(err, NGP_ERR_INVALID,
                             "--video-orbit places the orbit by the training cameras: give the scene (--scene) "
                             "with the snapshot");
      ngp_scene_options so;
      ngp_scene_options_default(&so);
      so.load_images = false;
      so.keep_missing = true;
      so.quiet_skipped = true;
      if ((st = ngp_scene_load(o->orbit_scene, &so, &own, err)) != NGP_OK) return st;
      loaded = true;
      cams = &own;
    }
    st = ngp_orbit_from_scene(cams, &plan->orbit, err);
    if (loaded) ngp_scene_free(&own);
    if (st != NGP_OK) return st;
    plan->have_orbit = true;
    snprintf(plan->source, sizeof plan->source, "an orbit of %g turn%s at distance %.3f, elevation %.1f degrees",
             o->orbit_turns, o->orbit_turns == 1.0 ? "" : "s", (double)plan->orbit.distance,
             (double)plan->orbit.elevation * 180.0 / 3.14159265358979323846);
  } else {
    if (!o->camera_path) return ngp_error_set(err, NGP_ERR_INVALID, "a video needs a camera path or an orbit");
    bool transforms = ngp_camera_path_is_transforms(o->camera_path);
    st = transforms ? ngp_camera_path_from_transforms(o->camera_path, &plan->path, err)
                    : ngp_camera_path_load(o->camera_path, &plan->path, err);
    if (st != NGP_OK) return st;
    snprintf(plan->source, sizeof plan->source, "%s (%d %s%s)", o->camera_path, plan->path.n_keys,
             transforms ? "frames" : "keyframes", plan->path.loop ? ", a loop" : "");
  }
  double seconds = o->n_seconds > 0.0                   ? o->n_seconds
                   : plan->path.duration_seconds > 0.0f ? (double)plan->path.duration_seconds
                                                        : 1.0;
  plan->opts.n_seconds = seconds;
  double frames = seconds * o->fps; /* truncated, as instant-ngp counts frames */
  plan->n_frames = frames >= 1.0 && frames <= 1e7 ? (int)frames : 0;
  plan->first = o->first >= 0 ? o->first : 0;
  plan->last = o->last >= 0 ? o->last : plan->n_frames - 1;
  return NGP_OK;
}

/* The unsmoothed camera of frame i. */
static void target_camera(const ngp_video_plan *plan, int i, float xform[12], float *fov) {
  if (plan->have_orbit) {
    ngp_orbit_xform(&plan->orbit, plan->opts.orbit_turns * (double)i / (double)plan->n_frames, xform);
    *fov = plan->orbit.fov_deg;
    return;
  }
  ngp_path_key k = ngp_camera_path_eval(&plan->path, ngp_camera_path_frame_time(&plan->path, i, plan->n_frames));
  ngp_path_key_to_xform(&k, xform);
  *fov = k.fov;
}

/* Frame i's camera given frame i-1's (state, smoothed): the smoothing runs from frame 0 on. */
static void next_camera(const ngp_video_plan *plan, int i, float state[12], float *fov) {
  float target[12];
  target_camera(plan, i, target, fov);
  if (i == 0 || !plan->opts.smoothing)
    memcpy(state, target, sizeof target);
  else
    ngp_camera_log_lerp(state, target, ngp_camera_smoothing_alpha(plan->opts.fps));
}

void ngp_video_frame_camera(const ngp_video_plan *plan, int i, float xform[12], float *fov_deg) {
  for (int j = plan->opts.smoothing ? 0 : i; j <= i; j++)
    next_camera(plan, j, xform, fov_deg);
}

/* Depth frames in 8 bits: the largest distance from the planned frames' cameras to a corner of the
 * scene box (ngp units), the farthest a depth can be (samples lie in the box): grey 255 there, so
 * one scale holds for the whole video. */
static float video_depth_far(const ngp_session *s, const ngp_video_plan *plan) {
  float cam[12], fov = 0.0f, far = 0.0f;
  for (int i = plan->opts.smoothing ? 0 : plan->first; i <= plan->last; i++) {
    next_camera(plan, i, cam, &fov);
    if (i < plan->first) continue;
    for (int corner = 0; corner < 8; corner++) {
      float d2 = 0.0f;
      for (int k = 0; k < 3; k++) {
        float c = (corner >> k) & 1 ? s->nerf.aabb_max[k] : s->nerf.aabb_min[k], d = c - cam[k * 4 + 3];
        d2 += d * d;
      }
      far = sqrtf(d2) > far ? sqrtf(d2) : far;
    }
  }
  return far;
}

ngp_status ngp_session_video(ngp_session *s, const ngp_video_plan *plan, ngp_error *err) {
  const ngp_video_opts *o = &plan->opts;
  int w = o->width, h = o->height, n = plan->last - plan->first + 1;
  ngp_status st = ngp_video_plan_check(plan, err);
  if (st != NGP_OK) return st;
  ngp_video_writer *vw;
  st = ngp_video_writer_open(&vw, o->output, w, h, o->fps, err);
  if (st != NGP_OK) return st;
  /* The session's render mode. PNG frames of the other modes are what their screenshots are (the
   * screenshots' writer: depth and cost 16-bit grey); H.264 frames take them in 8 bits
   * (ngp_output_rgb8), depth on one scale for the whole video. */
  const ngp_render_mode mode = s->opts.render_mode;
  const ngp_output_frame fr = {s->meta.scale,
                               {s->meta.offset[0], s->meta.offset[1], s->meta.offset[2]},
                               {s->nerf.aabb_min[0], s->nerf.aabb_min[1], s->nerf.aabb_min[2]},
                               {s->nerf.aabb_max[0], s->nerf.aabb_max[1], s->nerf.aabb_max[2]}};
  char path[4400], how[160] = "";
  const bool png = ngp_video_writer_frame_path(vw, plan->first, path, sizeof path);
  const float depth_far = mode == NGP_RENDER_DEPTH && !png ? video_depth_far(s, plan) : 0.0f;
  if (mode != NGP_RENDER_SHADE && png && (st = ngp_output_check(path, mode, err)) != NGP_OK) {
    ngp_video_writer_abort(vw);
    return st;
  }
  if (mode == NGP_RENDER_DEPTH)
    snprintf(how, sizeof how,
             png ? ", depth as 16-bit PNGs (as depth screenshots)"
                 : ", depth as 8-bit grey proportional to the distance, 255 = %.4g scene units",
             (double)(depth_far / fr.scale));
  else if (mode == NGP_RENDER_COST)
    snprintf(how, sizeof how, png ? ", cost as 16-bit PNGs (samples per pixel)" : ", cost as grey, 1 level per sample");
  else if (mode != NGP_RENDER_SHADE)
    snprintf(how, sizeof how, ", %s", ngp_render_mode_name(mode));
  printf("video: %d frame%s (%d to %d of %d), %dx%d, %g fps, %d spp%s%s, along %s: %s\n", n, n == 1 ? "" : "s",
         plan->first, plan->last, plan->n_frames, w, h, o->fps, o->spp, o->smoothing ? ", smoothed" : "", how,
         plan->source, ngp_video_writer_describe(vw));
  fflush(stdout);
  size_t n_px = (size_t)w * (size_t)h;
  float *rgb = malloc(n_px * 3 * sizeof *rgb);
  uint8_t *px = malloc(n_px * 3);
  if (!rgb || !px) st = ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for %dx%d video frames", w, h);
  ngp_progress prog;
  ngp_progress_begin(&prog, "video frames", n);
  double t0 = ngp_seconds();
  float cam[12], fov = 0.0f;
  /* Cameras before the range are computed (smoothing carries over) but not rendered. */
  for (int i = o->smoothing ? 0 : plan->first; st == NGP_OK && i <= plan->last; i++) {
    next_camera(plan, i, cam, &fov);
    if (i < plan->first) continue;
    if (o->interrupted && o->interrupted()) {
      st = ngp_error_set(err, NGP_ERR_IO, "video interrupted at frame %d; %s not written", i, o->output);
      break;
    }
    float f = ngp_path_fov_to_focal(fov, h);
    ngp_render_camera rc = {cam, {f, f}, {0.5f, 0.5f}, NULL};
    /* The session's background, near distance, crop box and render mode; the video's spp. */
    ngp_render_opts ro;
    ngp_session_render_opts(s, w, h, (uint64_t)i, &ro);
    ro.spp = o->spp;
    if ((st = ngp_session_render(s, &rc, &ro, rgb, err)) != NGP_OK) break;
    if (mode != NGP_RENDER_SHADE && ngp_video_writer_frame_path(vw, i, path, sizeof path)) {
      if ((st = ngp_output_write(path, mode, w, h, rgb, &fr, NULL, 0, err)) != NGP_OK) break;
    } else {
      if (mode != NGP_RENDER_SHADE) {
        ngp_output_rgb8(mode, n_px, rgb, &fr, depth_far, px);
      } else {
        for (size_t p = 0; p < n_px * 3; p++) /* as screenshots quantise */
          px[p] = ngp_unit_to_u8(rgb[p]);
      }
      if ((st = ngp_video_writer_frame(vw, i, px, err)) != NGP_OK) break;
    }
    ngp_progress_update(&prog, i - plan->first + 1);
  }
  ngp_progress_end(&prog);
  free(rgb);
  free(px);
  if (st != NGP_OK) {
    ngp_video_writer_abort(vw);
    return st;
  }
  char where[4400];
  snprintf(where, sizeof where, "%s", ngp_video_writer_output(vw));
  if ((st = ngp_video_writer_close(vw, err)) != NGP_OK) return st;
  printf("video saved: %s (%d frame%s in %.1f s)\n", where, n, n == 1 ? "" : "s", ngp_seconds() - t0);
  return NGP_OK;
}
