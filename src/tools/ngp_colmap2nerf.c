/* ngp_colmap2nerf.c: the ngp-colmap2nerf command: photos or a video to transforms.json through
 * COLMAP, with instant-ngp's scripts/colmap2nerf.py options under the same names (underscores or
 * dashes), so its users' command lines work unchanged.
 *
 *   ngp-colmap2nerf --video_in clip.mp4 --video_fps 3 --run_colmap --aabb_scale 16
 *   ngp-colmap2nerf --images photos --run_colmap --colmap_matcher exhaustive --out photos/transforms.json
 *   ngp-colmap2nerf --images images --text colmap_text            (an existing model: conversion only)
 *
 * Exit codes: 0 done, 2 a bad command-line value (one line naming the option, then a pointer to
 * --help), 1 any other failure (one line: the stage or the file, what is wrong, a hint). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "colmap/colmap.h"
#include "core/clock.h"
#include "core/fs.h"
#include "tools/colmap_run.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *const k_matchers[] = {"exhaustive", "sequential", "spatial", "transitive", "vocab_tree"};
static const char *const k_run_models[] = {
    "SIMPLE_PINHOLE", "PINHOLE",        "SIMPLE_RADIAL",         "RADIAL",
    "OPENCV",         "OPENCV_FISHEYE", "SIMPLE_RADIAL_FISHEYE", "RADIAL_FISHEYE"};

static void print_help(FILE *f) {
  fprintf(f, "Usage: ngp-colmap2nerf [options]\n"
             "\n"
             "Turns a COLMAP sparse model (text or binary) into the transforms.json that instant-ngp trains on;\n"
             "with --run_colmap it first runs COLMAP on your photos, with --video_in first takes frames from a\n"
             "video with ffmpeg. The options are those of instant-ngp's scripts/colmap2nerf.py (dashes work too).\n"
             "\n"
             "Input and output:\n"
             "  --images DIR              the photos (default images; with --video_in, beside the video)\n"
             "  --text DIR                the COLMAP model: cameras + images .txt or .bin (default colmap_text)\n"
             "  --out FILE                the transforms.json to write (default transforms.json); image paths\n"
             "                            in it are relative to its folder\n"
             "  --aabb_scale N            scene box of N unit cubes, a power of 2 from 1 to 128 (default 32)\n"
             "  --keep_colmap_coords      keep COLMAP's frame: no up vector, centring or scaling\n"
             "  --skip_early N            leave out the first N images, in name order (default 0)\n"
             "  --skip_blurry FRACTION    leave out this fraction of the frames, the least sharp first (0 to\n"
             "                            below 1, default 0; sharpness: variance of the Laplacian)\n"
             "  --skip_missing            leave out registered images that are gone (else an error)\n"
             "  --threads N               image decoding threads, 0 = all cores (default 0)\n"
             "\n"
             "Running COLMAP (needs the colmap program; its output goes to <db without .db>.log):\n"
             "  --run_colmap              features, matching, mapping, conversion to text in --text\n"
             "  --colmap_matcher M        exhaustive (unordered photos), sequential (video; the default),\n"
             "                            spatial, transitive or vocab_tree (with --vocab_path)\n"
             "  --colmap_db FILE          COLMAP's database (default colmap.db); models go to <db>_sparse/\n"
             "  --colmap_camera_model M   SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV (default),\n"
             "                            OPENCV_FISHEYE, SIMPLE_RADIAL_FISHEYE or RADIAL_FISHEYE\n"
             "  --colmap_camera_params P  the model's parameters, comma-separated (default: COLMAP estimates)\n"
             "  --vocab_path FILE         vocabulary tree for --colmap_matcher vocab_tree\n"
             "  --no_guided_matching      match without COLMAP's guided matching (colmap2nerf.py's default):\n"
             "                            on self-similar texture it adds matches along the epipolar lines\n"
             "                            at the wrong depth, which bend the poses and the focal length\n"
             "  --overwrite               replace the database, models and video frames of an earlier run\n"
             "\n"
             "Frames from a video (needs ffmpeg):\n"
             "  --video_in FILE           take frames from this video into --images first\n"
             "  --video_fps N             frames per second of video (default 2)\n"
             "  --time_slice T1,T2        only frames between T1 and T2 seconds\n"
             "\n"
             "  --quiet                   print only warnings and errors\n"
             "  --help                    show this help and exit\n"
             "  --version                 print the version and exit\n"
             "\n"
             "Then: instant-ngp transforms.json --train-seconds 600 --save-snapshot model.ngp\n");
}

static int usage(const char *fmt, ...) NGP_PRINTF(1, 2);
static int usage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ngp-colmap2nerf: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\nsee ngp-colmap2nerf --help\n");
  va_end(ap);
  return EXIT_USAGE;
}

static void log_sink(ngp_log_level level, const char *msg, void *user) {
  (void)user;
  fprintf(stderr, "ngp-colmap2nerf: %s%s\n",
          level == NGP_LOG_ERROR  ? "error: "
          : level == NGP_LOG_WARN ? "warning: "
                                  : "",
          msg);
}

static bool parse_long(const char *s, long lo, long hi, long *out) {
  if (!s || !*s) return false;
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool parse_num(const char *s, double *out) {
  if (!s || !*s) return false;
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || *end || !isfinite(v)) return false;
  *out = v;
  return true;
}

static bool one_of(const char *v, const char *const *set, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(v, set[i])) return true;
  return false;
}

/* "a,b,c": comma-separated finite numbers */
static bool number_list(const char *s) {
  char buf[512];
  if (!*s || strlen(s) >= sizeof buf) return false;
  snprintf(buf, sizeof buf, "%s", s);
  char *save = NULL;
  int n = 0;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++) {
    double v;
    while (*tok == ' ')
      tok++;
    if (!parse_num(tok, &v)) return false;
  }
  return n > 0 && s[strlen(s) - 1] != ',';
}

static const char *const k_flags[] = {"run_colmap", "keep_colmap_coords", "overwrite", "skip_missing", "quiet", "help",
                                      "version",    "no_guided_matching"};
static const char *const k_valued[] = {
    "images",   "text",           "out",       "aabb_scale",          "skip_early",           "skip_blurry",
    "threads",  "colmap_matcher", "colmap_db", "colmap_camera_model", "colmap_camera_params", "vocab_path",
    "video_in", "video_fps",      "time_slice"};
#define COUNT(a) ((int)(sizeof a / sizeof a[0]))

int main(int argc, char **argv) {
  ngp_log_set_callback(log_sink, NULL);
  const char *images = "images", *text = "colmap_text", *out = "transforms.json", *matcher = "sequential";
  const char *db = "colmap.db", *camera_model = "OPENCV", *camera_params = "", *vocab_path = "", *video_in = "";
  const char *time_slice = "";
  double video_fps = 2, skip_blurry = 0;
  long aabb_scale = 32, skip_early = 0, threads = 0;
  bool run_colmap = false, keep = false, overwrite = false, skip_missing = false, quiet = false;
  bool images_given = false, guided = true;

  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
      return usage("unexpected argument '%s'; options start with --", arg);
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    char key[40];
    if (len >= sizeof key) return usage("%s: unknown option", arg);
    for (size_t k = 0; k < len; k++)
      key[k] = name[k] == '-' ? '_' : name[k]; /* --aabb-scale is --aabb_scale */
    key[len] = '\0';
    if (one_of(key, k_flags, COUNT(k_flags))) {
      if (eq) return usage("--%s takes no value (got '%s')", key, eq + 1);
      if (!strcmp(key, "help")) {
        print_help(stdout);
        return EXIT_OK;
      }
      if (!strcmp(key, "version")) {
        printf("ngp-colmap2nerf %s\n", ngp_version());
        return EXIT_OK;
      }
      run_colmap |= !strcmp(key, "run_colmap");
      keep |= !strcmp(key, "keep_colmap_coords");
      overwrite |= !strcmp(key, "overwrite");
      skip_missing |= !strcmp(key, "skip_missing");
      quiet |= !strcmp(key, "quiet");
      guided &= strcmp(key, "no_guided_matching") != 0;
      continue;
    }
    if (!one_of(key, k_valued, COUNT(k_valued))) return usage("%s: unknown option", arg);
    const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
    if (!v) return usage("--%s: missing value", key);
    if (!strcmp(key, "images")) {
      if (!*v) return usage("--images: the folder name is empty");
      images = v, images_given = true;
    } else if (!strcmp(key, "text")) {
      if (!*v) return usage("--text: the folder name is empty");
      text = v;
    } else if (!strcmp(key, "out")) {
      if (!*v) return usage("--out: the file name is empty");
      if (ngp_path_is_dir(v))
        return usage("--out: '%s' is a folder; name the json file, e.g. %s/transforms.json", v, v);
      out = v;
    } else if (!strcmp(key, "aabb_scale")) {
      if (!parse_long(v, 1, 128, &aabb_scale) || (aabb_scale & (aabb_scale - 1)))
        return usage("--aabb_scale: '%s' is not a power of 2 from 1 to 128", v);
    } else if (!strcmp(key, "skip_early")) {
      if (!parse_long(v, 0, 100000000, &skip_early)) return usage("--skip_early: '%s' is not a whole number >= 0", v);
    } else if (!strcmp(key, "skip_blurry")) {
      if (!parse_num(v, &skip_blurry) || skip_blurry < 0 || skip_blurry >= 1)
        return usage("--skip_blurry: '%s' is not a fraction from 0 to below 1 (0.1 drops the blurriest tenth)", v);
    } else if (!strcmp(key, "threads")) {
      if (!parse_long(v, 0, 4096, &threads)) return usage("--threads: '%s' is not an integer from 0 to 4096", v);
    } else if (!strcmp(key, "colmap_matcher")) {
      if (!one_of(v, k_matchers, COUNT(k_matchers)))
        return usage("--colmap_matcher: '%s' is not exhaustive, sequential, spatial, transitive or vocab_tree", v);
      matcher = v;
    } else if (!strcmp(key, "colmap_db")) {
      if (!*v) return usage("--colmap_db: the file name is empty");
      db = v;
    } else if (!strcmp(key, "colmap_camera_model")) {
      if (!one_of(v, k_run_models, COUNT(k_run_models)))
        return usage("--colmap_camera_model: '%s' is not SIMPLE_PINHOLE, PINHOLE, SIMPLE_RADIAL, RADIAL, OPENCV, "
                     "OPENCV_FISHEYE, SIMPLE_RADIAL_FISHEYE or RADIAL_FISHEYE",
                     v);
      camera_model = v;
    } else if (!strcmp(key, "colmap_camera_params")) {
      if (*v && !number_list(v))
        return usage("--colmap_camera_params: '%s' is not a comma-separated list of numbers", v);
      camera_params = v;
    } else if (!strcmp(key, "vocab_path")) {
      vocab_path = v;
    } else if (!strcmp(key, "video_in")) {
      video_in = v;
    } else if (!strcmp(key, "video_fps")) {
      if (!parse_num(v, &video_fps) || video_fps <= 0 || video_fps > 1000)
        return usage("--video_fps: '%s' is not a frame rate above 0 and up to 1000", v);
    } else if (!strcmp(key, "time_slice")) {
      double a, b;
      char extra;
      if (sscanf(v, "%lf,%lf%c", &a, &b, &extra) != 2 || !isfinite(a) || !isfinite(b) || a < 0 || b <= a)
        return usage("--time_slice: '%s' is not T1,T2 (seconds, 0 <= T1 < T2)", v);
      time_slice = v;
    }
  }
  if (camera_params[0] && ngp_colmap_model_params(ngp_colmap_model_from_name(camera_model)) > 0) {
    int n = 1;
    for (const char *p = camera_params; *p; p++)
      n += *p == ',';
    int want = ngp_colmap_model_params(ngp_colmap_model_from_name(camera_model));
    if (n != want)
      return usage("--colmap_camera_params: %s takes %d parameters, '%s' has %d", camera_model, want, camera_params, n);
  }
  if (!strcmp(matcher, "vocab_tree") && !*vocab_path)
    return usage("--colmap_matcher vocab_tree needs --vocab_path FILE");
  if (*time_slice && !*video_in) return usage("--time_slice needs --video_in");

  double t_start = ngp_seconds();
  ngp_error err;
  char *images_buf = NULL, *log_path = NULL;
  int code = EXIT_FAIL;
  /* colmap2nerf's convention: with a video, a relative --images is beside the video. */
  if (*video_in && images[0] != '/') {
    char *vdir = ngp_path_dirname(video_in);
    images_buf = vdir ? ngp_path_join(vdir, images) : NULL;
    free(vdir);
    if (!images_buf) goto oom;
    images = images_buf;
  }
  (void)images_given;
  {
    const char *ext = ngp_path_extension(db);
    size_t stem = strlen(db) - strlen(ext);
    log_path = malloc(stem + 5);
    if (!log_path) goto oom;
    snprintf(log_path, stem + 5, "%.*s.log", (int)stem, db);
  }
  colmap_run_options ro = {.images = images,
                           .text = text,
                           .db = db,
                           .matcher = matcher,
                           .vocab_path = vocab_path,
                           .camera_model = camera_model,
                           .camera_params = camera_params,
                           .video_in = video_in,
                           .video_fps = video_fps,
                           .time_slice = time_slice,
                           .log_path = log_path,
                           .overwrite = overwrite,
                           .guided_matching = guided,
                           .use_gpu = access("/dev/nvidiactl", F_OK) == 0,
                           .quiet = quiet};
  if (*video_in && colmap_run_ffmpeg(&ro, &err) != NGP_OK) goto fail;
  if (run_colmap) {
    int n_reg, n_img;
    if (colmap_run_colmap(&ro, &n_reg, &n_img, &err) != NGP_OK) goto fail;
  }

  /* The conversion. */
  double t0 = ngp_seconds();
  ngp_colmap_model model;
  if (ngp_colmap_read(text, &model, &err) != NGP_OK) goto fail;
  char *out_dir = ngp_path_dirname(out);
  if (!out_dir) goto oom;
  ngp_status st = ngp_mkdir_p(out_dir, &err);
  free(out_dir);
  if (st != NGP_OK) {
    ngp_colmap_model_free(&model);
    goto fail;
  }
  ngp_colmap_options o;
  ngp_colmap_options_default(&o);
  o.images_dir = images;
  o.out_path = out;
  o.keep_coords = keep;
  o.aabb_scale = (int)aabb_scale;
  o.skip_early = (int)skip_early;
  o.skip_blurry = skip_blurry;
  o.skip_missing = skip_missing;
  o.n_threads = (int)threads;
  ngp_colmap_result r;
  if (ngp_colmap_convert(&model, &o, &r, &err) != NGP_OK || ngp_colmap_write_json(&r, out, &err) != NGP_OK) {
    ngp_colmap_result_free(&r);
    ngp_colmap_model_free(&model);
    goto fail;
  }
  if (!quiet) {
    int n_cams = 0;
    for (int c = 0; c < model.n_cameras; c++) {
      bool used = false;
      for (int f = 0; f < r.n_frames && !used; f++)
        used = r.frames[f].camera == c;
      n_cams += used;
    }
    double smin = INFINITY, smax = -INFINITY;
    for (int f = 0; f < r.n_frames; f++) {
      smin = fmin(smin, r.frames[f].sharpness);
      smax = fmax(smax, r.frames[f].sharpness);
    }
    printf("conversion: %s model (%s), %d images, %d camera%s (%s)\n", model.binary ? "binary" : "text", text,
           model.n_images, n_cams, n_cams == 1 ? "" : "s",
           ngp_colmap_model_name(model.cameras[r.frames[0].camera].model));
    if (r.n_early || r.n_missing || r.n_blurry)
      printf("conversion: left out %d early, %d missing, %d blurry\n", r.n_early, r.n_missing, r.n_blurry);
    if (keep)
      printf("conversion: COLMAP's coordinates kept\n");
    else
      printf("conversion: up vector to +z, centred on the point the cameras look at, mean camera distance 4 "
             "(scale %.4g)\n",
             r.norm_scale);
    printf("conversion: sharpness %.1f to %.1f; done in %.1f s\n", smin, smax, ngp_seconds() - t0);
    printf("wrote %s: %d frames, aabb_scale %d (%.1f s in all)\n", out, r.n_frames, r.aabb_scale,
           ngp_seconds() - t_start);
  }
  ngp_colmap_result_free(&r);
  ngp_colmap_model_free(&model);
  code = EXIT_OK;
  goto done;
oom:
  ngp_error_set(&err, NGP_ERR_NOMEM, "out of memory");
fail:
  fflush(stdout); /* the progress so far comes before the error, also in a pipe */
  fprintf(stderr, "ngp-colmap2nerf: error: %s\n", err.msg);
  code = EXIT_FAIL;
done:
  free(images_buf);
  free(log_path);
  return code;
}
