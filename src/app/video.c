/* video.c: the command line's videos (--video-camera-path, --video-orbit and their options, as
 * run.py's --video_*): checked before training, rendered by the engine after it (engine/video.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "app/app.h"
#include "app/cli.h"
#include "engine/video.h"

static void video_opts(const ngp_cli *cli, ngp_video_opts *o) {
  ngp_video_opts_default(o);
  o->camera_path = cli->video_camera_path;
  o->orbit_turns = cli->video_orbit;
  o->orbit_scene = cli->scene;
  o->n_seconds = cli->video_n_seconds;
  if (cli->video_fps > 0.0) o->fps = cli->video_fps;
  if (cli->video_spp > 0) o->spp = cli->video_spp;
  if (cli->width > 0) o->width = cli->width;
  if (cli->height > 0) o->height = cli->height;
  o->first = cli->video_first;
  o->last = cli->video_last;
  o->smoothing = cli->video_smoothing;
  if (cli->video_output) o->output = cli->video_output;
  o->interrupted = ngp_app_interrupted;
}

/* Prepares the plan: a bad path file fails (1), options that do not fit it are usage errors (2). */
static int plan_video(const ngp_cli *cli, const ngp_scene *cams, ngp_video_plan *plan) {
  ngp_video_opts o;
  video_opts(cli, &o);
  ngp_error err;
  if (ngp_video_prepare(&o, cams, plan, &err) != NGP_OK) return ngp_app_fail(err.msg);
  if (ngp_video_plan_check(plan, &err) != NGP_OK) {
    ngp_video_plan_free(plan);
    fprintf(stderr, "instant-ngp: error: %s\ninstant-ngp: see 'instant-ngp --help'\n", err.msg);
    return NGP_EXIT_USAGE;
  }
  return NGP_EXIT_OK;
}

int ngp_cli_video_check(const ngp_cli *cli) {
  ngp_video_plan plan;
  int rc = plan_video(cli, NULL, &plan);
  if (rc == NGP_EXIT_OK) ngp_video_plan_free(&plan);
  return rc;
}

int ngp_cli_video(const ngp_cli *cli, ngp_session *s) {
  ngp_video_plan plan;
  int rc = plan_video(cli, s->have_scene ? &s->scene : NULL, &plan);
  if (rc != NGP_EXIT_OK) return rc;
  ngp_error err;
  ngp_status st = ngp_session_video(s, &plan, &err);
  ngp_video_plan_free(&plan);
  if (st == NGP_OK) return NGP_EXIT_OK;
  rc = ngp_app_fail(err.msg);
  return ngp_app_interrupted() ? NGP_EXIT_INTERRUPTED : rc;
}
