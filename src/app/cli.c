/* cli.c: option parsing for instant-ngp.
 *
 * Accepted spellings: --long-option VALUE, --long-option=VALUE, the short forms instant-ngp has
 * (-s, -c, -n, -h, -v), and run.py's underscore spellings (--n_steps is --n-steps). Options of
 * instant-ngp that this version does not implement yet are recognised and refused with a clear
 * line (exit 2), never accepted and ignored. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cjson/cJSON.h"
#include "fs.h"
#include "json_util.h"
#include "ngp/common.h"

typedef enum { OPT_SCENE, OPT_CONFIG, OPT_INFO, OPT_HELP, OPT_VERSION, OPT_THREADS, OPT_PENDING } opt_id;

typedef struct {
  const char *name;  /* canonical long name, dashed */
  char short_name;   /* 0 if none */
  opt_id id;
  bool takes_value;
  const char *help;  /* NULL: an alias or a pending option, not listed on its own */
} opt_def;

static const opt_def k_opts[] = {
    {"scene", 's', OPT_SCENE, true, "training data: a folder or a transforms .json file"},
    {"training-data", 0, OPT_SCENE, true, NULL},
    {"config", 'c', OPT_CONFIG, true, "network config .json (default: base.json); a bare name is looked up in the configs folder"},
    {"network", 'n', OPT_CONFIG, true, NULL},
    {"info", 0, OPT_INFO, false, "load and validate the scene and config, print a summary, exit"},
    {"threads", 0, OPT_THREADS, true, "threads for loading images (default: all cores)"},
    {"help", 'h', OPT_HELP, false, "show this help and exit"},
    {"version", 'v', OPT_VERSION, false, "print the version and exit"},
    /* instant-ngp and run.py options that need the training engine, which is not in this version. */
    {"n-steps", 0, OPT_PENDING, true, NULL},
    {"train-seconds", 0, OPT_PENDING, true, NULL},
    {"save-snapshot", 0, OPT_PENDING, true, NULL},
    {"load-snapshot", 0, OPT_PENDING, true, NULL},
    {"snapshot", 0, OPT_PENDING, true, NULL},
    {"test-transforms", 0, OPT_PENDING, true, NULL},
    {"screenshot-transforms", 0, OPT_PENDING, true, NULL},
    {"screenshot-frames", 0, OPT_PENDING, true, NULL},
    {"screenshot-dir", 0, OPT_PENDING, true, NULL},
    {"screenshot-spp", 0, OPT_PENDING, true, NULL},
    {"width", 0, OPT_PENDING, true, NULL},
    {"height", 0, OPT_PENDING, true, NULL},
    {"backend", 0, OPT_PENDING, true, NULL},
    {"seed", 0, OPT_PENDING, true, NULL},
    {"background", 0, OPT_PENDING, true, NULL},
    {"near-distance", 0, OPT_PENDING, true, NULL},
    {"no-gui", 0, OPT_PENDING, false, NULL},
    {"gui", 0, OPT_PENDING, false, NULL},
    {"no-train", 0, OPT_PENDING, false, NULL},
    {"train", 0, OPT_PENDING, false, NULL},
    {"nerf-compatibility", 0, OPT_PENDING, false, NULL},
    {"save-mesh", 0, OPT_PENDING, true, NULL},
    {"video-camera-path", 0, OPT_PENDING, true, NULL},
};
#define N_OPTS (sizeof k_opts / sizeof *k_opts)

static int usage_error(char *msg, size_t size, const char *fmt, ...) NGP_PRINTF(3, 4);
static int usage_error(char *msg, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, size, fmt, ap);
  va_end(ap);
  return NGP_EXIT_USAGE;
}

static const opt_def *find_long(const char *name, size_t len) {
  char canon[64];
  if (len >= sizeof canon) return NULL;
  for (size_t i = 0; i < len; i++) canon[i] = name[i] == '_' ? '-' : name[i];
  canon[len] = '\0';
  for (size_t i = 0; i < N_OPTS; i++)
    if (strcmp(k_opts[i].name, canon) == 0) return &k_opts[i];
  return NULL;
}

static const opt_def *find_short(char c) {
  for (size_t i = 0; i < N_OPTS; i++)
    if (k_opts[i].short_name == c) return &k_opts[i];
  return NULL;
}

/* What a positional argument is, as instant-ngp decides in load_file: a folder or a transforms
 * json is a scene, a json with network keys is a config, .ingp/.msgpack or a json with a
 * "snapshot" key is a snapshot. */
typedef enum { POS_SCENE, POS_CONFIG, POS_SNAPSHOT, POS_CAMERA_PATH, POS_UNKNOWN } pos_kind;

static pos_kind classify_positional(const char *path) {
  if (ngp_path_is_dir(path)) return POS_SCENE;
  const char *ext = ngp_path_extension(path);
  if (strcmp(ext, ".ingp") == 0 || strcmp(ext, ".msgpack") == 0) return POS_SNAPSHOT;
  if (strcmp(ext, ".json") != 0) return POS_UNKNOWN;
  cJSON *root = NULL;
  ngp_error err;
  /* An unreadable or malformed json is passed on as a scene: loading it reports the problem. */
  if (ngp_json_load_file(path, &root, &err) != NGP_OK) return POS_SCENE;
  pos_kind kind = POS_SCENE;
  if (cJSON_GetObjectItemCaseSensitive(root, "frames")) {
    kind = POS_SCENE;
  } else if (cJSON_GetObjectItemCaseSensitive(root, "snapshot")) {
    kind = POS_SNAPSHOT;
  } else if (cJSON_GetObjectItemCaseSensitive(root, "path")) {
    kind = POS_CAMERA_PATH;
  } else {
    static const char *const cfg_keys[] = {"parent", "network", "encoding", "loss", "optimizer", "rgb_network", "dir_encoding"};
    for (size_t i = 0; i < sizeof cfg_keys / sizeof *cfg_keys; i++)
      if (cJSON_GetObjectItemCaseSensitive(root, cfg_keys[i])) kind = POS_CONFIG;
  }
  cJSON_Delete(root);
  return kind;
}

static int parse_threads(const char *v, int *out, char *msg, size_t size) {
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || !end || *end || end == v || n < 0 || n > 4096)
    return usage_error(msg, size, "--threads: '%s' is not a thread count (0 to 4096; 0 means all cores)", v);
  *out = (int)n;
  return NGP_EXIT_OK;
}

int ngp_cli_parse(int argc, char **argv, ngp_cli *cli, char *msg, size_t size) {
  memset(cli, 0, sizeof *cli);
  msg[0] = '\0';
  bool only_positional = false;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (only_positional || arg[0] != '-' || arg[1] == '\0') {
      switch (classify_positional(arg)) {
      case POS_SCENE:
        if (cli->scene) return usage_error(msg, size, "%s: a scene was already given (%s); pass one scene", arg, cli->scene);
        cli->scene = arg;
        break;
      case POS_CONFIG:
        if (cli->config) return usage_error(msg, size, "%s: a config was already given (%s); pass one config", arg, cli->config);
        cli->config = arg;
        break;
      case POS_SNAPSHOT:
        return usage_error(msg, size, "%s: snapshots are not supported by this version yet (they arrive with the training engine)", arg);
      case POS_CAMERA_PATH:
        return usage_error(msg, size, "%s: camera paths are not supported by this version", arg);
      case POS_UNKNOWN:
        if (!ngp_path_exists(arg)) return usage_error(msg, size, "%s: no such file or directory", arg);
        return usage_error(msg, size, "%s: not a scene (a folder or a .json file) nor a config (.json)", arg);
      }
      continue;
    }
    if (strcmp(arg, "--") == 0) {
      only_positional = true;
      continue;
    }
    const opt_def *opt = NULL;
    const char *value = NULL;
    if (arg[1] == '-') {
      const char *name = arg + 2;
      const char *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      opt = find_long(name, len);
      if (!opt) return usage_error(msg, size, "%.*s: unknown option", (int)(len + 2), arg);
      if (eq) {
        if (!opt->takes_value) return usage_error(msg, size, "--%s takes no value", opt->name);
        value = eq + 1;
      }
    } else {
      opt = arg[2] == '\0' ? find_short(arg[1]) : NULL;
      if (!opt) return usage_error(msg, size, "%s: unknown option", arg);
    }
    if (opt->takes_value && !value) {
      if (i + 1 >= argc) return usage_error(msg, size, "%s: missing value", arg);
      value = argv[++i];
    }
    switch (opt->id) {
    case OPT_SCENE:
      if (cli->scene) return usage_error(msg, size, "%s: a scene was already given (%s); pass one scene", arg, cli->scene);
      cli->scene = value;
      break;
    case OPT_CONFIG:
      if (cli->config) return usage_error(msg, size, "%s: a config was already given (%s); pass one config", arg, cli->config);
      cli->config = value;
      break;
    case OPT_INFO: cli->info = true; break;
    case OPT_HELP: cli->help = true; break;
    case OPT_VERSION: cli->version = true; break;
    case OPT_THREADS:
      if (parse_threads(value, &cli->threads, msg, size) != NGP_EXIT_OK) return NGP_EXIT_USAGE;
      break;
    case OPT_PENDING:
      return usage_error(msg, size,
                         "--%s: not available in this version yet (training, rendering and snapshots arrive with the "
                         "engine); use --info to load and check a scene",
                         opt->name);
    }
  }
  return NGP_EXIT_OK;
}

void ngp_cli_print_help(const char *argv0) {
  (void)argv0;
  printf("instant-ngp %s: instant neural graphics primitives (NeRF) in C\n\n", ngp_version());
  printf("Usage: instant-ngp [SCENE] [CONFIG.json] [options]\n"
         "       instant-ngp --scene PATH [--config FILE] --info\n\n"
         "A SCENE is a folder or a transforms .json file (instant-ngp / NeRF-synthetic format). In a\n"
         "folder, transforms_train.json is used when present, else transforms.json, else every .json\n"
         "with a \"frames\" array. Positional .json files holding network keys are configs.\n\n"
         "Options:\n");
  for (size_t i = 0; i < N_OPTS; i++) {
    const opt_def *o = &k_opts[i];
    if (!o->help) continue;
    char left[64];
    char aliases[96] = "";
    for (size_t j = 0; j < N_OPTS; j++) {
      if (j == i || k_opts[j].id != o->id || k_opts[j].help || o->id == OPT_PENDING) continue;
      size_t used = strlen(aliases);
      snprintf(aliases + used, sizeof aliases - used, ", --%s", k_opts[j].name);
    }
    if (o->short_name)
      snprintf(left, sizeof left, "-%c, --%s%s", o->short_name, o->name, o->takes_value ? " VALUE" : "");
    else
      snprintf(left, sizeof left, "    --%s%s", o->name, o->takes_value ? " VALUE" : "");
    printf("  %-26s %s\n", left, o->help);
    if (aliases[0]) printf("  %-26s (also %s)\n", "", aliases + 2);
  }
  printf("\nUnderscore spellings of scripts/run.py are accepted too (--training_data, --n_steps, ...).\n"
         "Training, rendering, snapshots and the viewer are not in this version yet; their options\n"
         "are recognised and refused with a message.\n\n"
         "Exit status: 0 success, 1 failure (one line on stderr says why), 2 usage error.\n");
}
