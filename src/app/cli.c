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
#include "engine/mesh.h"
#include "ngp/common.h"
#include "engine/trainlog.h"
#include "nerf/snapshot.h"
#include "engine/video_writer.h"

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
  OPT_ERROR_MAP,
  OPT_SPP,
  OPT_RENDER_MODE,
  OPT_SCREENSHOT_FRAMES,
  OPT_NEAR_DISTANCE,
  OPT_EXPOSURE,
  OPT_SHARPEN,
  OPT_CROP_BOX,
  OPT_LOG,
  OPT_METRICS_JSON,
  OPT_VIDEO_PATH,
  OPT_VIDEO_ORBIT,
  OPT_VIDEO_SECONDS,
  OPT_VIDEO_FPS,
  OPT_VIDEO_SPP,
  OPT_VIDEO_OUTPUT,
  OPT_VIDEO_RANGE,
  OPT_VIDEO_SMOOTHING,
  OPT_SAVE_MESH,
  OPT_MC_RES,
  OPT_MC_THRESH,
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
    {"screenshot-transforms", 0, OPT_SCREENSHOT_TRANSFORMS, true,
     "render these cameras into --screenshot-dir (.png, .jpg or .pfm, as each file_path says)"},
    {"screenshot-dir", 0, OPT_SCREENSHOT_DIR, true, "folder for the screenshots (created if needed)"},
    {"width", 0, OPT_WIDTH, true,
     "width of screenshots (default: the camera's w, else its image's) and of the viewer's window"},
    {"screenshot-w", 0, OPT_WIDTH, true, NULL},
    {"height", 0, OPT_HEIGHT, true, "height of screenshots and of the viewer's window"},
    {"screenshot-h", 0, OPT_HEIGHT, true, NULL},
    {"screenshot-spp", 0, OPT_SPP, true, "samples per pixel for screenshots and test views (default 1)"},
    {"screenshot-frames", 0, OPT_SCREENSHOT_FRAMES, true,
     "I,J,...: render only these frames (0-based) of --screenshot-transforms"},
    {"render-mode", 0, OPT_RENDER_MODE, true,
     "shade (default), depth, normals, positions or cost (samples per pixel): what screenshots and videos show"},
    {"near-distance", 0, OPT_NEAR_DISTANCE, true,
     "ngp units: renders start this far from the camera; training's near distance too (run.py's)"},
    {"exposure", 0, OPT_EXPOSURE, true, "stops: screenshots' linear colour times 2^E (default 0)"},
    {"sharpen", 0, OPT_SHARPEN, true, "0..1: sharpen screenshots by this amount (default 0)"},
    {"crop-box", 0, OPT_CROP_BOX, true,
     "MINX,MINY,MINZ,MAXX,MAXY,MAXZ in scene (transforms.json) coordinates: render only what is inside"},
    {"log", 0, OPT_LOG, true, "headless training: a line per progress update to FILE, .csv or .jsonl (JSON Lines)"},
    {"metrics-json", 0, OPT_METRICS_JSON, true, "write the test views' per-view and mean PSNR and SSIM to FILE.json"},
    {"background", 0, OPT_BACKGROUND, true,
     "R,G,B in [0,1]: background of renders and of test references (default 1,1,1); or transparent: "
     "screenshots are RGBA PNGs whose alpha is the accumulated opacity (test views: white)"},
    {"backend", 0, OPT_BACKEND, true, "cpu, cuda or auto (default: auto, which says what it chose and why)"},
    {"threads", 0, OPT_THREADS, true, "CPU threads (default: all cores)"},
    {"seed", 0, OPT_SEED, true, "random seed (default 1337); with the thread count it makes a run repeatable"},
    {"batch-size", 0, OPT_BATCH, true,
     "target samples per training step (default 65536 on the CPU, 262144 (instant-ngp's) on a GPU)"},
    {"error-map", 0, OPT_ERROR_MAP, true,
     "on or off: draw half the training rays where the error is high (default: on with the CPU backend; "
     "the CUDA backend draws uniformly, as instant-ngp)"},
    {"video-camera-path", 0, OPT_VIDEO_PATH, true,
     "render a video along instant-ngp's camera path (base_cam.json) or a transforms .json's frames"},
    {"video-orbit", 0, OPT_VIDEO_ORBIT, true,
     "render a video orbiting the scene's centre TURNS times (at the training cameras' distance and elevation)"},
    {"video-n-seconds", 0, OPT_VIDEO_SECONDS, true, "video length (default: the path's duration_seconds, else 1)"},
    {"video-fps", 0, OPT_VIDEO_FPS, true, "video frames per second (default 60)"},
    {"video-spp", 0, OPT_VIDEO_SPP, true, "video samples per pixel (default 8)"},
    {"video-output", 0, OPT_VIDEO_OUTPUT, true,
     "video file (default video.mp4, H.264 through ffmpeg), or PNG frames: DIR/ or a pattern like f_%04d.png"},
    {"video-render-range", 0, OPT_VIDEO_RANGE, true, "only frames START,END (inclusive, from 0), e.g. 0,59"},
    {"video-camera-smoothing", 0, OPT_VIDEO_SMOOTHING, false,
     "smooth the camera's motion as instant-ngp does (the path's end may not be reached)"},
    {"save-mesh", 0, OPT_SAVE_MESH, true,
     "after training, save a mesh with vertex colours, .ply (binary) or .obj, in the scene's coordinates"},
    {"marching-cubes-res", 0, OPT_MC_RES, true, "mesh grid samples along the scene box's longest side (default 256)"},
    {"marching-cubes-density-thresh", 0, OPT_MC_THRESH, true,
     "mesh surface level on the raw density output, i.e. log density (default 2.5, instant-ngp's)"},
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
    {"no-train", 0, OPT_PENDING, false, NULL},
    {"train", 0, OPT_PENDING, false, NULL},
    {"nerf-compatibility", 0, OPT_PENDING, false, NULL},
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

/* N comma-separated numbers, each in [lo, hi]. */
static bool parse_numbers(const char *v, int n, double lo, double hi, double *out) {
  const char *p = v;
  for (int i = 0; i < n; i++) {
    char *end = NULL;
    errno = 0;
    out[i] = strtod(p, &end);
    if (errno || end == p || !(out[i] >= lo && out[i] <= hi) || (i < n - 1 && *end != ',') || (i == n - 1 && *end))
      return false;
    p = end + 1;
  }
  return true;
}

static int parse_frames(const char *v, ngp_cli *cli, char *msg, size_t size) {
  const char *p = v;
  cli->n_screenshot_frames = 0;
  for (;;) {
    char *end = NULL;
    errno = 0;
    long f = strtol(p, &end, 10);
    if (errno || end == p || f < 0 || f > INT_MAX || (*end != ',' && *end))
      return usage_error(msg, size, "--screenshot-frames: '%s' is not a list of frame numbers I,J,... (from 0)", v);
    if (cli->n_screenshot_frames == NGP_CLI_MAX_FRAMES)
      return usage_error(msg, size, "--screenshot-frames: more than %d frames; render the whole file instead",
                         NGP_CLI_MAX_FRAMES);
    cli->screenshot_frames[cli->n_screenshot_frames++] = (int)f;
    if (!*end) break;
    p = end + 1;
  }
  return NGP_EXIT_OK;
}

int ngp_cli_parse(int argc, char **argv, ngp_cli *cli, char *msg, size_t size) {
  memset(cli, 0, sizeof *cli);
  cli->n_steps = -1;
  cli->train_seconds = -1.0;
  cli->gui = -1;
  cli->near_distance = -1.0;
  cli->error_map = -1;
  cli->video_first = cli->video_last = -1;
  const char *video_opt = NULL; /* the first video option given that needs a path or an orbit */
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
      case POS_CAMERA_PATH:
        if (cli->video_camera_path)
          return usage_error(msg, size, "%s: a camera path was already given (%s)", arg, cli->video_camera_path);
        cli->video_camera_path = arg;
        break;
      case POS_UNKNOWN:
        if (!ngp_path_exists(arg) && !ngp_fs_is_link_loop(arg))
          return usage_error(msg, size, "%s: no such file or directory", arg);
        ngp_error ferr;
        if (ngp_fs_check_input(arg, true, &ferr) != NGP_OK) return usage_error(msg, size, "%s", ferr.msg);
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
    case OPT_ERROR_MAP:
      if (strcmp(value, "on") == 0)
        cli->error_map = 1;
      else if (strcmp(value, "off") == 0)
        cli->error_map = 0;
      else
        return usage_error(msg, size, "--error-map: '%s' is not on or off", value);
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
    case OPT_SAVE_MESH:
      if (!ngp_mesh_path_ok(value))
        return usage_error(msg, size, "--save-mesh: '%s' is not a .ply or .obj file name (the format follows the name)",
                           value);
      cli->save_mesh = value;
      break;
    case OPT_MC_RES: {
      long v = 0;
      if (parse_long(opt->name, value, 8, 2048, &v, msg, size)) return NGP_EXIT_USAGE;
      cli->mc_res = (int)v;
      break;
    }
    case OPT_MC_THRESH: {
      double v = 0.0;
      if (parse_double(opt->name, value, -1000.0, 1000.0, &v, msg, size)) return NGP_EXIT_USAGE;
      cli->mc_thresh = (float)v;
      cli->has_mc_thresh = true;
      break;
    }
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
    case OPT_RENDER_MODE:
      if (strcmp(value, "shade") && strcmp(value, "depth") && strcmp(value, "normals") && strcmp(value, "positions") &&
          strcmp(value, "cost"))
        return usage_error(msg, size, "--render-mode: '%s' is not shade, depth, normals, positions or cost", value);
      cli->render_mode = value;
      break;
    case OPT_SCREENSHOT_FRAMES:
      if (parse_frames(value, cli, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_NEAR_DISTANCE:
      if (parse_double(opt->name, value, 0.0, 1e4, &cli->near_distance, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_EXPOSURE:
      if (parse_double(opt->name, value, -20.0, 20.0, &cli->exposure, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_SHARPEN:
      if (parse_double(opt->name, value, 0.0, 1.0, &cli->sharpen, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_CROP_BOX: {
      double b[6];
      if (!parse_numbers(value, 6, -1e30, 1e30, b))
        return usage_error(msg, size, "--crop-box: '%s' is not six numbers MINX,MINY,MINZ,MAXX,MAXY,MAXZ", value);
      for (int k = 0; k < 3; k++)
        if (!(b[k] < b[3 + k]))
          return usage_error(msg, size, "--crop-box: '%s': the minimum %c (%g) is not below the maximum (%g)", value,
                             "xyz"[k], b[k], b[3 + k]);
      for (int k = 0; k < 6; k++)
        cli->crop_box[k] = (float)b[k];
      cli->has_crop_box = true;
      break;
    }
    case OPT_LOG:
      if (ngp_train_log_format_of(value) == NGP_TRAIN_LOG_UNKNOWN)
        return usage_error(msg, size, "--log: '%s': name the file .csv or .jsonl (JSON Lines)", value);
      cli->log = value;
      break;
    case OPT_METRICS_JSON:
      if (strcmp(ngp_path_extension(value), ".json") != 0)
        return usage_error(msg, size, "--metrics-json: '%s': name the file .json", value);
      cli->metrics_json = value;
      break;
    case OPT_VIDEO_PATH:
      if (cli->video_camera_path)
        return usage_error(msg, size, "%s: a camera path was already given (%s)", arg, cli->video_camera_path);
      if (!value[0]) return usage_error(msg, size, "--video-camera-path: empty file name");
      cli->video_camera_path = value;
      break;
    case OPT_VIDEO_ORBIT:
      if (parse_double(opt->name, value, 1e-3, 1e4, &cli->video_orbit, msg, size)) return NGP_EXIT_USAGE;
      break;
    case OPT_VIDEO_SECONDS:
    case OPT_VIDEO_FPS:
      if (parse_double(opt->name, value, 1e-3, opt->id == OPT_VIDEO_FPS ? 1000.0 : 1e6,
                       opt->id == OPT_VIDEO_FPS ? &cli->video_fps : &cli->video_n_seconds, msg, size))
        return NGP_EXIT_USAGE;
      if (!video_opt) video_opt = opt->name;
      break;
    case OPT_VIDEO_SPP: {
      long v = 0;
      if (parse_long(opt->name, value, 1, 1024, &v, msg, size)) return NGP_EXIT_USAGE;
      cli->video_spp = (int)v;
      if (!video_opt) video_opt = opt->name;
      break;
    }
    case OPT_VIDEO_OUTPUT: {
      if (!value[0]) return usage_error(msg, size, "--video-output: empty file name");
      ngp_error e;
      if (ngp_video_check_pattern(value, &e) != NGP_OK) return usage_error(msg, size, "%s", e.msg);
      cli->video_output = value;
      if (!video_opt) video_opt = opt->name;
      break;
    }
    case OPT_VIDEO_RANGE: {
      /* START,END; run.py's spelling gives them as two arguments: START END. */
      char buf[64];
      if (!strchr(value, ',') && i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
        snprintf(buf, sizeof buf, "%s,%s", value, argv[++i]);
        value = buf;
      }
      long a = 0, b = 0;
      char *end = NULL;
      errno = 0;
      a = strtol(value, &end, 10);
      bool ok = !errno && end != value && *end == ',';
      if (ok) {
        const char *second = end + 1;
        b = strtol(second, &end, 10);
        ok = !errno && end != second && !*end;
      }
      if (!ok || a < 0 || b < a || b > 100000000)
        return usage_error(msg, size,
                           "--video-render-range: '%s' is not START,END: two frame numbers from 0, START <= END "
                           "(e.g. 0,59)",
                           value);
      cli->video_first = (int)a;
      cli->video_last = (int)b;
      if (!video_opt) video_opt = opt->name;
      break;
    }
    case OPT_VIDEO_SMOOTHING:
      cli->video_smoothing = true;
      if (!video_opt) video_opt = opt->name;
      break;
    case OPT_PENDING: return usage_error(msg, size, "--%s: not implemented by this version", opt->name);
    }
  }
  if (cli->metrics_json && !cli->test_transforms)
    return usage_error(msg, size, "--metrics-json %s: needs --test-transforms (the views it measures)",
                       cli->metrics_json);
  if (cli->n_screenshot_frames && !cli->screenshot_transforms)
    return usage_error(msg, size, "--screenshot-frames: needs --screenshot-transforms (the file the frames are of)");
  if (cli->video_camera_path && cli->video_orbit > 0.0)
    return usage_error(msg, size,
                       "--video-orbit: a camera path (%s) was given too; a video follows one of them, so drop one",
                       cli->video_camera_path);
  if (video_opt && !ngp_cli_wants_video(cli))
    return usage_error(msg, size,
                       "--%s: no video was asked for; add --video-camera-path FILE (base_cam.json or a transforms "
                       ".json) or --video-orbit TURNS",
                       video_opt);
  if (ngp_cli_wants_video(cli)) {
    const char *out = cli->video_output ? cli->video_output : "video.mp4";
    int w = cli->width ? cli->width : 1920, h = cli->height ? cli->height : 1080;
    if (ngp_video_output_is_file(out) && (w % 2 || h % 2))
      return usage_error(msg, size,
                         "--width/--height %dx%d: the video %s is H.264 (yuv420p), which needs an even width and "
                         "height; change the size, or write PNG frames (--video-output DIR/)",
                         w, h, out);
  }
  if (cli->load_snapshot && cli->config)
    return usage_error(msg, size,
                       "--config %s: the snapshot %s carries its own network config; drop --config to render or go on "
                       "training it, or drop the snapshot to train a new model with this config",
                       cli->config, cli->load_snapshot);
  return NGP_EXIT_OK;
}

bool ngp_cli_wants_video(const ngp_cli *cli) { return cli->video_camera_path || cli->video_orbit > 0.0; }

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
    if (strlen(left) > 26) /* a long name: its help on the next line */
      printf("  %s\n  %-26s %s\n", left, "", o->help);
    else
      printf("  %-26s %s\n", left, o->help);
    if (aliases[0]) printf("  %-26s (also %s)\n", "", aliases + 2);
  }
  printf("\nUnderscore spellings of scripts/run.py are accepted too (--training_data, --n_steps, ...).\n"
         "Options of instant-ngp this version does not implement are\n"
         "recognised and refused with a message.\n\n"
         "Exit status: 0 success, 1 failure (one line on stderr says why), 2 usage error.\n");
#ifdef NGP_HAVE_VIEWER
  printf("\nViewer controls:\n");
  ngp_gui_print_controls();
#endif
}
