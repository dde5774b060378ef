/* main.c: the instant-ngp application. Only main() exits; everything below returns codes. */
#include <stdio.h>

#include "app/cli.h"
#include "app/outputs.h"
#include "ngp/common.h"

int main(int argc, char **argv) {
  /* Line-buffered stdout, so logs and pipes see each line as it happens (progress is on stderr). */
  setvbuf(stdout, NULL, _IOLBF, 0);
  ngp_cli cli;
  char msg[1024];
  if (ngp_cli_parse(argc, argv, &cli, msg, sizeof msg) != NGP_EXIT_OK) {
    fprintf(stderr, "instant-ngp: error: %s\ninstant-ngp: see 'instant-ngp --help'\n", msg);
    return NGP_EXIT_USAGE;
  }
  if (cli.help) {
    ngp_cli_print_help(argv[0]);
    return NGP_EXIT_OK;
  }
  if (cli.version) {
    printf("instant-ngp %s\n", ngp_version());
    return NGP_EXIT_OK;
  }
  if (cli.doctor) return ngp_cli_doctor(&cli);
  if (cli.info) return ngp_cli_info(&cli);
#ifdef NGP_HAVE_VIEWER
  /* An explicit --gui without a scene opens an empty window; drop a scene or snapshot on it. */
  if (!cli.scene && !cli.load_snapshot && cli.gui == 1) return ngp_gui_run(&cli);
#endif
  if (!cli.scene && !cli.load_snapshot) {
    fprintf(stderr, "instant-ngp: error: no scene given; pass a scene folder or transforms .json (--scene PATH), "
                    "or a snapshot (--load-snapshot FILE)\ninstant-ngp: see 'instant-ngp --help'\n");
    return NGP_EXIT_USAGE;
  }
  if (cli.screenshot_transforms && !cli.screenshot_dir) {
    fprintf(stderr, "instant-ngp: error: --screenshot-transforms needs --screenshot-dir\n"
                    "instant-ngp: see 'instant-ngp --help'\n");
    return NGP_EXIT_USAGE;
  }
  /* Every output is checked before anything is loaded or trained. */
  int out_rc = ngp_cli_check_outputs(&cli);
  if (out_rc != NGP_EXIT_OK) return out_rc;
  if (ngp_cli_wants_video(&cli)) { /* a bad path fails now, not after the training */
    int rc = ngp_cli_video_check(&cli);
    if (rc != NGP_EXIT_OK) return rc;
  }
#ifdef NGP_HAVE_VIEWER
  if (cli.gui != 0) {
    int rc = ngp_gui_run(&cli);
    if (rc != NGP_GUI_UNAVAILABLE) return rc;
  }
#endif
  return ngp_cli_run(&cli);
}
