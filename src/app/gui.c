/* gui.c: the command line's way into the viewer (src/viewer): a window when a display works,
 * else one line saying why and, unless --gui insisted, headless training (main.c). When the
 * window closes, what a headless run does after training (ngp_cli_finish, run.c). */
#include <stdio.h>

#include "cli.h"
#include "session.h"
#include "viewer.h"

int ngp_gui_run(const ngp_cli *cli) {
  ngp_viewer_opts opts;
  ngp_viewer_opts_default(&opts, cli);
  char why[512];
  ngp_viewer *v = NULL;
  int rc = ngp_viewer_open(&v, cli, &opts, why, sizeof why);
  if (rc == NGP_GUI_UNAVAILABLE) {
    if (cli->gui == 1) {
      fprintf(stderr, "instant-ngp: error: --gui: %s\n", why);
      return NGP_EXIT_FAILURE;
    }
    fprintf(stderr, "instant-ngp: %s; running headless (--no-gui to skip this check)\n", why);
    return NGP_GUI_UNAVAILABLE;
  }
  if (rc != NGP_EXIT_OK) return rc;
  ngp_app_catch_interrupts();
  while (ngp_viewer_frame(v)) {
  }
  /* On close, as after a headless run: --save-snapshot, --test-transforms, screenshots. */
  return ngp_viewer_close(v, ngp_cli_finish);
}

void ngp_gui_print_controls(void) { ngp_viewer_print_controls(); }
