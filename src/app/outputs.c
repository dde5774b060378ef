/* outputs.c: the checks a run makes on what it will write before it does any work (issue 19):
 * every output can be written (a bad name is a usage error, a place that cannot be written a
 * failure with the reason), no output overwrites a file the run reads, and a run that will save
 * nothing says so at the start. The checks themselves are ngp_fs_check_output (core/fs.h), which
 * any new output (video, mesh, log) calls the same way. */
#define _POSIX_C_SOURCE 200809L
#include "app/outputs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "engine/video_writer.h"

/* The video's file when the video goes to one (PNG frames go to a folder or a pattern, which the
 * video writer checks itself); NULL without a video. */
static const char *video_file(const ngp_cli *cli) {
  if (!ngp_cli_wants_video(cli)) return NULL;
  const char *out = cli->video_output ? cli->video_output : "video.mp4";
  return ngp_video_output_is_file(out) ? out : NULL;
}

int ngp_cli_check_outputs(const ngp_cli *cli) {
  struct {
    const char *what, *path;
    ngp_output_kind kind;
  } outs[] = {
      {"--save-snapshot", cli->save_snapshot, NGP_OUTPUT_FILE},
      {"--screenshot-dir", cli->screenshot_dir, NGP_OUTPUT_DIR},
      {"--save-mesh", cli->save_mesh, NGP_OUTPUT_FILE},
      {"--log", cli->log, NGP_OUTPUT_FILE},
      {"--metrics-json", cli->metrics_json, NGP_OUTPUT_FILE},
      {"--video-output", video_file(cli), NGP_OUTPUT_FILE},
  };
  for (size_t i = 0; i < sizeof outs / sizeof *outs; i++) {
    if (!outs[i].path) continue;
    ngp_error err;
    ngp_status st = ngp_fs_check_output(outs[i].what, outs[i].path, outs[i].kind, &err);
    if (st == NGP_ERR_INVALID) {
      fprintf(stderr, "instant-ngp: error: %s\ninstant-ngp: see 'instant-ngp --help'\n", err.msg);
      return NGP_EXIT_USAGE;
    }
    if (st != NGP_OK) {
      fprintf(stderr, "instant-ngp: error: %s (checked before training, nothing was done)\n", err.msg);
      return NGP_EXIT_FAILURE;
    }
  }
  return NGP_EXIT_OK;
}

/* Whether `dir` is the folder of `file` (the same folder, however each is spelled). */
static bool folder_of(const char *dir, const char *file) {
  char *d = ngp_path_dirname(file);
  bool same = d && ngp_fs_same_file(d, dir);
  free(d);
  return same;
}

static int refuse(const char *what, const char *out, const char *kind, const char *in) {
  if (strcmp(what, "--screenshot-dir") == 0)
    fprintf(stderr,
            "instant-ngp: error: --screenshot-dir %s: is %s %s: screenshots there would write over files this run "
            "reads; choose another folder (checked before training, nothing was done)\n",
            out, kind, in);
  else
    fprintf(stderr,
            "instant-ngp: error: %s %s: would write over %s %s, which this run reads; choose another name "
            "(checked before training, nothing was done)\n",
            what, out, kind, in);
  return NGP_EXIT_FAILURE;
}

int ngp_cli_check_overwrites(const ngp_cli *cli, const ngp_session *s) {
  const char *shots = cli->screenshot_dir;
  /* The files this run writes. The snapshot loaded may be saved over: going on training a model and
   * saving it in place is the usual way, and the save is atomic. */
  const struct {
    const char *what, *path;
  } outs[] = {{"--save-snapshot", cli->save_snapshot},
              {"--save-mesh", cli->save_mesh},
              {"--log", cli->log},
              {"--metrics-json", cli->metrics_json},
              {"--video-output", video_file(cli)}};
  enum { N_OUTS = sizeof outs / sizeof *outs };
  /* The files read besides the scene. */
  const char *others[] = {cli->test_transforms, cli->screenshot_transforms};
  char *config = cli->config ? ngp_config_find(cli->config) : NULL;
  int rc = NGP_EXIT_OK;
  for (int o = 0; rc == NGP_EXIT_OK && config && o < N_OUTS; o++)
    if (outs[o].path && ngp_fs_same_file(outs[o].path, config))
      rc = refuse(outs[o].what, outs[o].path, "the config", config);
  free(config);
  for (size_t i = 0; rc == NGP_EXIT_OK && i < sizeof others / sizeof *others; i++) {
    if (!others[i]) continue;
    for (int o = 0; rc == NGP_EXIT_OK && o < N_OUTS; o++)
      if (outs[o].path && ngp_fs_same_file(outs[o].path, others[i]))
        rc = refuse(outs[o].what, outs[o].path, "the transforms", others[i]);
    if (shots && rc == NGP_EXIT_OK && folder_of(shots, others[i]))
      rc = refuse("--screenshot-dir", shots, "the folder of", others[i]);
  }
  if (!s->have_scene) return rc;
  for (int i = 0; rc == NGP_EXIT_OK && i < s->scene.n_sources; i++) {
    for (int o = 0; rc == NGP_EXIT_OK && o < N_OUTS; o++)
      if (outs[o].path && ngp_fs_same_file(outs[o].path, s->scene.sources[i]))
        rc = refuse(outs[o].what, outs[o].path, "the scene's", s->scene.sources[i]);
    if (rc == NGP_EXIT_OK && shots && folder_of(shots, s->scene.sources[i]))
      rc = refuse("--screenshot-dir", shots, "the folder of the scene's", s->scene.sources[i]);
  }
  for (int i = 0; rc == NGP_EXIT_OK && i < s->scene.n_frames; i++) {
    const char *img = s->scene.frames[i].image_path;
    if (!img) continue;
    for (int o = 0; rc == NGP_EXIT_OK && o < N_OUTS; o++)
      if (outs[o].path && ngp_fs_same_file(outs[o].path, img))
        rc = refuse(outs[o].what, outs[o].path, "the training image", img);
    if (rc == NGP_EXIT_OK && shots && folder_of(shots, img))
      rc = refuse("--screenshot-dir", shots, "the folder of the training image", img);
  }
  return rc;
}

void ngp_cli_say_unsaved(const ngp_cli *cli) {
  if (cli->save_snapshot || cli->screenshot_transforms || cli->save_mesh || ngp_cli_wants_video(cli) ||
      cli->metrics_json || cli->log)
    return;
  printf("note: nothing will be saved: the trained model is lost when the run ends; add --save-snapshot FILE to "
         "keep it\n");
}
