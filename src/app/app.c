/* app.c: signals, the error line and the command line's session options (app.h). */
#define _POSIX_C_SOURCE 200809L
#include "app/app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "engine/output.h"

static volatile sig_atomic_t g_interrupt = 0;

static void on_interrupt(int sig) {
  if (g_interrupt) {
    /* The second interrupt: leave now. Only async-signal-safe calls here. */
    static const char msg[] = "\ninstant-ngp: interrupted again: exiting at once (existing files untouched)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    ngp_fs_remove_pending();
    _exit(NGP_EXIT_INTERRUPTED);
  }
  g_interrupt = sig;
}

void ngp_app_catch_interrupts(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int ngp_app_interrupted(void) { return (int)g_interrupt; }

int ngp_app_fail(const char *msg) {
  fprintf(stderr, "instant-ngp: error: %s\n", msg);
  return NGP_EXIT_FAILURE;
}

void ngp_app_session_opts(const ngp_cli *cli, bool train, ngp_session_opts *o) {
  ngp_session_opts_default(o);
  o->scene = cli->scene;
  o->snapshot = cli->load_snapshot;
  o->config = cli->config;
  o->backend = cli->backend == NGP_BACKEND_CPU ? "cpu" : cli->backend == NGP_BACKEND_CUDA ? "cuda" : "auto";
  o->threads = cli->threads;
  if (cli->has_seed) o->seed = cli->seed;
  if (cli->has_background) memcpy(o->bg, cli->background, sizeof o->bg);
  o->transparent = cli->transparent;
  if (cli->spp > 0) o->spp = cli->spp;
  o->batch_samples = cli->batch_samples;
  o->error_map = cli->error_map;
  o->train = train;
  if (cli->render_mode) ngp_render_mode_parse(cli->render_mode, &o->render_mode); /* checked when parsed */
  o->near_distance = (float)cli->near_distance;
  o->exposure = (float)cli->exposure;
  o->sharpen = (float)cli->sharpen;
  o->crop = cli->has_crop_box;
  memcpy(o->crop_box, cli->crop_box, sizeof o->crop_box);
  if (cli->n_screenshot_frames) {
    o->screenshot_frames = cli->screenshot_frames;
    o->n_screenshot_frames = cli->n_screenshot_frames;
  }
  o->metrics_json = cli->metrics_json;
  o->stop = ngp_app_interrupted; /* test views and screenshots stop at the first SIGINT/SIGTERM */
}

void ngp_app_mesh_opts(const ngp_cli *cli, ngp_mesh_opts *o) {
  ngp_mesh_opts_default(o);
  if (cli->mc_res > 0) o->res = cli->mc_res;
  if (cli->has_mc_thresh) o->density_thresh = cli->mc_thresh;
  o->progress = true;
  o->stop = ngp_app_interrupted; /* the first SIGINT/SIGTERM ends the extraction, nothing written */
}
