/* gui.c: the command line's way into the viewer (src/viewer): a window when a display works,
 * else one line saying why and, unless --gui insisted, headless training (main.c). When the
 * window closes, what a headless run does after training (ngp_cli_finish, run.c). */
#include <stdio.h>

#include "app/app.h"
#include "app/cli.h"
#include "viewer/viewer.h"

/* The viewer's finish: ngp_cli_finish with the scene and snapshot last loaded (drops included). */
static int finish(void *user, const ngp_session_opts *so, ngp_session *s, long steps) {
  ngp_cli cli = *(const ngp_cli *)user;
  cli.scene = so->scene;
  cli.load_snapshot = so->snapshot;
  return ngp_cli_finish(&cli, s, steps);
}

int ngp_gui_run(const ngp_cli *cli) {
  ngp_viewer_opts opts;
  ngp_viewer_opts_default(&opts);
  /* run.py opens its window at --width x --height. */
  if (cli->width > 0) opts.width = cli->width;
  if (cli->height > 0) opts.height = cli->height;
  opts.save_snapshot = cli->save_snapshot;
  opts.screenshot_dir = cli->screenshot_dir;
  opts.save_mesh = cli->save_mesh;
  ngp_app_mesh_opts(cli, &opts.mesh);
  opts.transparent = cli->transparent;
  opts.n_steps = cli->n_steps;
  opts.train_seconds = cli->train_seconds;
  opts.interrupted = ngp_app_interrupted;
  opts.terminal = true; /* the progress line while open, the summary on close: as headless */
  ngp_session_opts so;
  ngp_app_session_opts(cli, true, &so);
  char why[512];
  ngp_viewer *v = NULL;
  int rc = ngp_viewer_open(&v, &so, &opts, why, sizeof why);
  if (rc == NGP_VIEWER_UNAVAILABLE) {
    if (cli->gui == 1) {
      fprintf(stderr, "instant-ngp: error: --gui: %s\n", why);
      return NGP_EXIT_FAILURE;
    }
    fprintf(stderr, "instant-ngp: %s; running headless (--no-gui to skip this check)\n", why);
    return NGP_GUI_UNAVAILABLE;
  }
  if (rc != NGP_VIEWER_OK) return rc;
  ngp_app_catch_interrupts();
  while (ngp_viewer_frame(v)) {
  }
  /* On close, as after a headless run: --save-snapshot, --test-transforms, screenshots. */
  return ngp_viewer_close(v, finish, (void *)cli);
}

void ngp_gui_print_controls(void) { ngp_viewer_print_controls(); }
