/* cli.h: the instant-ngp command line (instant-ngp's binary and scripts/run.py options together,
 * NGP-SPEC §9). Parsing is separate from acting so it can be tested and so that --help lists
 * exactly what is accepted. */
#ifndef NGP_APP_CLI_H
#define NGP_APP_CLI_H

#include <stdbool.h>
#include <stddef.h>

/* Exit codes: 0 success, 1 any other failure, 2 usage error. */
enum { NGP_EXIT_OK = 0, NGP_EXIT_FAILURE = 1, NGP_EXIT_USAGE = 2 };

typedef struct ngp_cli {
  const char *scene;  /* --scene, or a positional scene folder / transforms json */
  const char *config; /* --config, or a positional network-config json */
  bool info;          /* --info: load, validate, summarise, exit */
  bool help;
  bool version;
  int threads;        /* --threads (image decoding for now); 0: all cores */
} ngp_cli;

/* Parses argv. On a usage error returns NGP_EXIT_USAGE with one line in msg. */
int ngp_cli_parse(int argc, char **argv, ngp_cli *cli, char *msg, size_t msg_size);
void ngp_cli_print_help(const char *argv0);

/* --info: loads and validates the scene and config, prints the summary. Returns an exit code. */
int ngp_cli_info(const ngp_cli *cli);
/* Finds a config: the path as given, else NAME in the config folders (NGP_CONFIG_DIR, then the
 * installed share/instant-ngp/configs/nerf beside the executable). malloc'd; NULL if not found. */
char *ngp_cli_find_config(const char *name);

#endif
