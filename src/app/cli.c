/* cli.c: option parsing for instant-ngp.
 *
 * Accepted spellings: --long-option VALUE, --long-option=VALUE, the short forms instant-ngp has
 * (-s, -c, -n, -h, -v), and run.py's underscore spellings (--n_steps is --n-steps). Options of
 * instant-ngp that this version does not implement yet are recognised and refused with a clear
 * line (exit 2), never accepted and ignored. */
#define _POSIX_C_SOURCE 200809L
#include "app/cli.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cjson/cJSON.h"
#include "core/fs.h"
#include "core/json_util.h"
#include "ngp/common.h"
#include "nerf/snapshot.h"

typedef enum {
  OPT_SCENE,
  OPT_CONFIG,
  OPT_INFO,
  OPT_HELP,
  OPT_VERSION,
  OPT_THREADS,
  OPT_N_STEPS,
  OPT_TRAIN_SECONDS,
  OPT_SAVE_SNAPSHOT,
  OPT_LOAD_SNAPSHOT,
  OPT_TEST_TRANSFORMS,
  OPT_SCREENSHOT_TRANSFORMS,
  OPT_SCREENSHOT_DIR,
  OPT_WIDTH,
  OPT_HEIGHT,
  OPT_BACKEND,
  OPT_SEED,
  OPT_BACKGROUND,
  OPT_NO_GUI,
  OPT_GUI,
  OPT_DOCTOR,
  OPT_BATCH,
  OPT_SPP,
  OPT_PENDING
} opt_id;

typedef struct {
  const char *name; /* canonical long name, dashed */
  char short_name;  /* 0 if none */
  opt_id id;
  bool takes_value;
  const char *help; /* NULL: an alias or a pending option, not listed on its own */
} opt_def;

static const opt_def k_opts[] = {
    {"scene", 's', OPT_SCENE, true, "training data: a folder or a transforms .json file"},
    {"training-data", 0, OPT_SCENE, true, NULL},
    {"config", 'c', OPT_CONFIG, true,
     "network config .json (default: base.json); a bare name is looked up in the configs folder"},
    {"network", 'n', OPT_CONFIG, true, NULL},
    {"info", 0, OPT_INFO, false, "load and validate the scene and config, print a summary, exit"},
    {"doctor", 0, OPT_DOCTOR, false,
     "check the GPU driver, CUDA, display and CPU paths; say what is wrong and the fix"},
    {"n-steps", 0, OPT_N_STEPS, true, "training steps (default: 35000 as run.py, 0 with a loaded snapshot)"},
    {"train-seconds", 0, OPT_TRAIN_SECONDS, true, "train for this much wall time (may combine with --n-steps)"},
    {"save-snapshot", 0, OPT_SAVE_SNAPSHOT, true, "save the trained model (written atomically)"},
    {"load-snapshot", 0, OPT_LOAD_SNAPSHOT, true, "start from a saved model (renders without the scene's images)"},
    {"snapshot", 0, OPT_LOAD_SNAPSHOT, true, NULL},
    {"test-transforms", 0, OPT_TEST_TRANSFORMS, true,
     "render these views, print mean PSNR and SSIM against their images"},
    {"screenshot-transforms", 0, OPT_SCREENSHOT_TRANSFORMS, true, "render these cameras to PNGs in --screenshot-dir"},
    {"screenshot-dir", 0, OPT_SCREENSHOT_DIR, true, "folder for the screenshots (created if needed)"},
    {"width", 0, OPT_WIDTH, true,
     "width of screenshots (default: the camera's w, else its image's) and of the viewer's window"},
    {"screenshot-w", 0, OPT_WIDTH, true, NULL},
    {"height", 0, OPT_HEIGHT, true, "height of screenshots and of the viewer's window"},
    {"screenshot-h", 0, OPT_HEIGHT, true, NULL},
    {"screenshot-spp", 0, OPT_SPP, true, "samples per pixel for screenshots and test views (default 1)"},
    {"background", 0, OPT_BACKGROUND, true,
     "R,G,B in [0,1]: background of renders and of test references (default 1,1,1); or transparent: "
     "screenshots are RGBA PNGs whose alpha is the accumulated opacity (test views: white)"},
    {"backend", 0, OPT_BACKEND, true, "cpu, cuda or auto (default: auto, which says what it chose and why)"},
    {"threads", 0, OPT_THREADS, true, "CPU threads (default: all cores)"},
    {"seed", 0, OPT_SEED, true, "random seed (default 1337); with the thread count it makes a run repeatable"},
    {"batch-size", 0, OPT_BATCH, true, "target samples per training step (default 262144, instant-ngp's)"},
#ifdef NGP_HAVE_VIEWER
    {"no-gui", 0, OPT_NO_GUI, false, "train and render headless, without a window"},
    {"gui", 0, OPT_GUI, false, "open the viewer window or fail (default: a window when a display works)"},
#else
    {"no-gui", 0, OPT_NO_GUI, false, "run headless (this build has no viewer, so always)"},
    {"gui", 0, OPT_GUI, false, NULL},
#endif
    {"help", 'h', OPT_HELP, false, "show this help and exit"},
    {"version", 'v', OPT_VERSION, false, "print the version and exit"},
    /* instant-ngp and run.py options this version does not implement. */
    {"screenshot-frames", 0, OPT_PENDING, true, NULL},
    {"near-distance", 0, OPT_PENDING, true, NULL},
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
  for (size_t i = 0; i < len; i++)
    canon[i] = name[i] == '_' ? '-' : name[i];
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
typedef enum { POS_SCENE, POS_CONFIG, POS_SNAPSHOT, POS_FOREIGN_SNAPSHOT, POS_CAMERA_PATH, POS_UNKNOWN } pos_kind;

static pos_kind classify_positional(const char *path) {
  if (ngp_path_is_dir(path)) return POS_SCENE;
  if (ngp_snapshot_is(path)) return POS_SNAPSHOT;
  const char *ext = ngp_path_extension(path);
  if (strcmp(ext, ".ingp") == 0 || strcmp(ext, ".msgpack") == 0) return POS_FOREIGN_SNAPSHOT;
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
    static const char *const cfg_keys[] = {"parent",    "network",     "encoding",    "loss",
                                           "optimizer", "rgb_network", "dir_encoding"};
    for (size_t i = 0; i < sizeof cfg_keys / sizeof *cfg_keys; i++)
      if (cJSON_GetObjectItemCaseSensitive(root, cfg_keys[i])) kind = POS_CONFIG;
  }
  cJSON_Delete(root);
  return kind;
}

static int parse_long(const char *opt, const char *v, long lo, long hi, long *out, char *msg, size_t size) {
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || !end || *end || end == v || n < lo || n > hi)
    return usage_error(msg, size, "--%s: '%s' is not an integer from %ld to %ld", opt, v, lo, hi);
  *out = n;
  return NGP_EXIT_OK;
}

static int parse_double(const char *opt, const char *v, double lo, double hi, double *out, char *msg, size_t size) {
  char *end = NULL;
  errno = 0;
  double d = strtod(v, &end);
  if (errno || !end || *end || end == v || !(d >= lo && d <= hi))
    return usage_error(msg, size, "--%s: '%s' is not a number from %g to %g", opt, v, lo, hi);
  *out = d;
  return NGP_EXIT_OK;
}

static int parse_rgb(const char *v, float *rgb, char *msg, size_t size) {
  double c[3];
  const char *p = v;
  for (int i = 0; i < 3; i++) {
    char *end = NULL;
    errno = 0;
    c[i] = strtod(p, &end);
    if (errno || end == p || !(c[i] >= 0.0 && c[i] <= 1.0) || (i < 2 && *end != ',') || (i == 2 && *end))
      return usage_error(
          msg, size, "--background: '%s' is not R,G,B with each in [0, 1] (e.g. 1,1,1 for white) nor transparent", v);
    p = end + 1;
  }
  for (int i = 0; i < 3; i++)
    rgb[i] = (float)c[i];
  return NGP_EXIT_OK;
}

int ngp_cli_parse(int argc, char **argv, ngp_cli *cli, char *msg, size_t size) {
  memset(cli, 0, sizeof *cli);
  cli->n_steps = -1;
  cli->train_seconds = -1.0;
  cli->gui = -1;
  msg[0] = '\0';
  bool only_positional = false;
  int first = 1;
  /* `instant-ngp doctor` is --doctor, unless a file or folder of that name is meant. */
  if (argc > 1 && strcmp(argv[1], "doctor") == 0 && !ngp_path_exists(argv[1])) {
    cli->doctor = true;
    first = 2;
  }
  for (int i = first; i < argc; i++) {
    const char *arg = argv[i];
    if (only_positional || arg[0] != '-' || arg[1] == '\0') {
      switch (classify_positional(arg)) {
      case POS_SCENE:
        if (cli->scene)
          return usage_error(msg, size, "%s: a scene was already given (%s); pass one scene", arg, cli->scene);
        cli->scene = arg;
        break;
      case POS_CONFIG:
        if (cli->config)
          return usage_error(msg, size, "%s: a config was already given (%s); pass one config", arg, cli->config);
        cli->config = arg;
        break;
      case POS_SNAPSHOT:
        if (cli->load_snapshot)
          return usage_error(msg, size, "%s: a snapshot was already given (%s)", arg, cli->load_snapshot);
        cli->load_snapshot = arg;
        break;
      case POS_FOREIGN_SNAPSHOT:
        return usage_error(msg, size,
                           "%s: instant-ngp's own .ingp/.msgpack snapshots cannot be read; this program "
                           "reads the snapshots it writes with --save-snapshot",
                           arg);
      case POS_CAMERA_PATH: return usage_error(msg, size, "%s: camera paths are not supported by this version", arg);
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
      if (cli->scene)
        return usage_error(msg, size, "%s: a scene was already given (%s); pass one scene", arg, cli->scene);
      cli->scene = value;
      break;
    case OPT_CONFIG:
      if (cli->config)
        return usage_error(msg, size, "%s: a config was already given (%s); pass one config", arg, cli->config);
      cli->config = value;
      break;
    case OPT_INFO: cli->info = true; break;
    case OPT_HELP: cli->help = true; break;
    case OPT_VERSION: cli->version = true; break;
    case OPT_THREADS: {
      long v = 0;
      if (parse_long(opt->name, value, 0, 4096, &v, msg, size)) return NGP_EXIT_USAGE;
      cli->threads = (int)v;
      break;
    }
    case OPT_N_STEPS:
      if (parse_long(opt->name, value, 0, 100000000, &cli->n_steps, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_TRAIN_SECONDS:
      if (parse_double(opt->name, value, 0.0, 1e7, &cli->train_seconds, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_SAVE_SNAPSHOT: cli->save_snapshot = value; break;
    case OPT_LOAD_SNAPSHOT: cli->load_snapshot = value; break;
    case OPT_TEST_TRANSFORMS: cli->test_transforms = value; break;
    case OPT_SCREENSHOT_TRANSFORMS: cli->screenshot_transforms = value; break;
    case OPT_SCREENSHOT_DIR: cli->screenshot_dir = value; break;
    case OPT_WIDTH:
    case OPT_HEIGHT: {
      long v = 0;
      if (parse_long(opt->name, value, 1, 16384, &v, msg, size)) return NGP_EXIT_USAGE;
      *(opt->id == OPT_WIDTH ? &cli->width : &cli->height) = (int)v;
      break;
    }
    case OPT_SPP: {
      long v = 0;
      if (parse_long(opt->name, value, 1, 1024, &v, msg, size)) return NGP_EXIT_USAGE;
      cli->spp = (int)v;
      break;
    }
    case OPT_BATCH:
      if (parse_long(opt->name, value, 256, 1L << 22, &cli->batch_samples, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_SEED: {
      long v = 0;
      if (parse_long(opt->name, value, 0, LONG_MAX, &v, msg, size)) return NGP_EXIT_USAGE;
      cli->seed = (uint64_t)v;
      cli->has_seed = true;
      break;
    }
    case OPT_BACKGROUND:
      if (strcmp(value, "transparent") == 0) { /* colours are rendered over white, then unpremultiplied */
        cli->transparent = true;
        break;
      }
      if (parse_rgb(value, cli->background, msg, size)) return NGP_EXIT_USAGE;
      cli->has_background = true;
      cli->transparent = false;
      break;
    case OPT_BACKEND:
      if (strcmp(value, "cpu") == 0)
        cli->backend = NGP_BACKEND_CPU;
      else if (strcmp(value, "cuda") == 0)
        cli->backend = NGP_BACKEND_CUDA;
      else if (strcmp(value, "auto") == 0)
        cli->backend = NGP_BACKEND_AUTO;
      else
        return usage_error(msg, size, "--backend: '%s' is not cpu, cuda or auto", value);
      break;
    case OPT_DOCTOR: cli->doctor = true; break;
    case OPT_NO_GUI: cli->gui = 0; break;
    case OPT_GUI:
#ifdef NGP_HAVE_VIEWER
      cli->gui = 1;
      break;
#else
      return usage_error(msg, size,
                         "--gui: this build has no viewer (configure with -DNGP_BUILD_VIEWER=ON, "
                         "which needs glfw3 and epoxy); run headless");
#endif
    case OPT_PENDING: return usage_error(msg, size, "--%s: not implemented by this version", opt->name);
    }
  }
  if (cli->load_snapshot && cli->config)
    return usage_error(msg, size,
                       "--config %s: the snapshot %s carries its own network config; drop --config to render or go on "
                       "training it, or drop the snapshot to train a new model with this config",
                       cli->config, cli->load_snapshot);
  return NGP_EXIT_OK;
}

void ngp_cli_print_help(const char *argv0) {
  (void)argv0;
  printf("instant-ngp %s: instant neural graphics primitives (NeRF) in C\n\n", ngp_version());
  printf("Usage: instant-ngp [SCENE] [CONFIG.json] [SNAPSHOT] [options]\n"
         "       instant-ngp --scene PATH [--config FILE] --info\n"
         "       instant-ngp --scene PATH --train-seconds 60 --save-snapshot model.ngp --test-transforms test.json\n\n"
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
      if (k_opts[j].short_name)
        snprintf(aliases + used, sizeof aliases - used, ", -%c, --%s", k_opts[j].short_name, k_opts[j].name);
      else
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
         "Options of instant-ngp this version does not implement (meshes, videos) are\n"
         "recognised and refused with a message.\n\n"
         "Exit status: 0 success, 1 failure (one line on stderr says why), 2 usage error.\n");
#ifdef NGP_HAVE_VIEWER
  printf("\nViewer controls:\n");
  ngp_gui_print_controls();
#endif
}
