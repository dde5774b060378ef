/* colmap_run.c: ffmpeg and colmap driven as child processes (posix_spawn, no shell: paths with
 * spaces or quotes pass as they are), their output appended to one log file, one progress line per
 * stage with its time, and every failure named by its stage. */
#define _POSIX_C_SOURCE 200809L
#include "tools/colmap_run.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "colmap/colmap.h"
#include "core/clock.h"
#include "core/fs.h"

extern char **environ;

#define INSTALL_HINT(prog)                                                                                             \
  "install it with apt (sudo apt-get install " prog ") or Nix (nix-shell -p " prog                                     \
  ", or the instant-ngp package, which carries it), or put it on PATH"

char *colmap_run_find_program(const char *name) {
  if (strchr(name, '/')) return access(name, X_OK) == 0 ? ngp_strdup(name) : NULL;
  const char *path = getenv("PATH");
  if (!path || !*path) return NULL;
  char *copy = ngp_strdup(path);
  if (!copy) return NULL;
  char *found = NULL, *save = NULL;
  for (char *dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
    char *p = ngp_path_join(*dir ? dir : ".", name);
    if (p && access(p, X_OK) == 0 && ngp_path_is_file(p))
      found = p;
    else
      free(p);
  }
  free(copy);
  return found;
}

/* The last non-empty line of the log, for the failure message. */
static void last_log_line(const char *log_path, char *buf, size_t n) {
  buf[0] = '\0';
  FILE *f = fopen(log_path, "rb");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
      line[--l] = '\0';
    if (l && strncmp(line, "==== ", 5) != 0) snprintf(buf, n, "%s", line);
  }
  fclose(f);
}

/* Runs argv (argv[0] looked up on PATH) with stdout and stderr appended to the log; prints the
 * stage's line. Fails naming the stage: not installed, killed, or exited non-zero. */
static ngp_status run_stage(const colmap_run_options *o, const char *stage, char *const argv[], ngp_error *err) {
  char *prog = colmap_run_find_program(argv[0]);
  if (!prog) {
    if (!strcmp(argv[0], "colmap"))
      return ngp_error_set(err, NGP_ERR_IO, "%s: colmap is not installed (not found on PATH); " INSTALL_HINT("colmap"),
                           stage);
    return ngp_error_set(err, NGP_ERR_IO, "%s: %s is not installed (not found on PATH); " INSTALL_HINT("ffmpeg"), stage,
                         argv[0]);
  }
  int fd = open(o->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    free(prog);
    return ngp_error_set(err, NGP_ERR_IO, "%s: cannot open the log %s: %s", stage, o->log_path, strerror(errno));
  }
  /* The command line, as a shell would take it, heads its output in the log. */
  dprintf(fd, "==== %s:", stage);
  for (int i = 0; argv[i]; i++)
    dprintf(fd, " '%s'", argv[i]);
  dprintf(fd, "\n");
  if (!o->quiet) {
    printf("%s ...\n", stage);
    fflush(stdout);
  }
  double t0 = ngp_seconds();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fd, 1);
  posix_spawn_file_actions_adddup2(&fa, fd, 2);
  pid_t pid;
  int rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fd);
  free(prog);
  if (rc != 0) return ngp_error_set(err, NGP_ERR_IO, "%s: cannot start %s: %s", stage, argv[0], strerror(rc));
  int status;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return ngp_error_set(err, NGP_ERR_IO, "%s: waiting for %s: %s", stage, argv[0], strerror(errno));
  double dt = ngp_seconds() - t0;
  if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0) {
    char last[300];
    last_log_line(o->log_path, last, sizeof last);
    char how[64];
    if (WIFSIGNALED(status))
      snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else
      snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    return ngp_error_set(err, NGP_ERR_IO, "%s: %s %s after %.1f s%s%s%s; its output is in %s", stage, argv[0], how, dt,
                         last[0] ? " (last line: \"" : "", last, last[0] ? "\")" : "", o->log_path);
  }
  if (!o->quiet) {
    printf("%s: done in %.1f s\n", stage, dt);
    fflush(stdout);
  }
  return NGP_OK;
}

static bool is_frame_name(const char *name) {
  /* what ffmpeg writes for %04d.jpg: four or more digits, .jpg */
  size_t n = strlen(name), d = 0;
  while (d < n && name[d] >= '0' && name[d] <= '9')
    d++;
  return d >= 4 && !strcmp(name + d, ".jpg");
}

static int count_images(const char *dir) {
  static const char *const exts[] = {".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG"};
  int total = 0;
  for (size_t k = 0; k < sizeof exts / sizeof exts[0]; k++) {
    char **names = NULL;
    int n = 0;
    if (ngp_list_dir(dir, exts[k], &names, &n, NULL) == NGP_OK) {
      total += n;
      ngp_free_strings(names, n);
    }
  }
  return total;
}

/* Fails before anything is written when the program is not installed. */
static ngp_status require_program(const char *stage, const char *name, ngp_error *err) {
  char *p = colmap_run_find_program(name);
  if (p) {
    free(p);
    return NGP_OK;
  }
  if (!strcmp(name, "colmap"))
    return ngp_error_set(err, NGP_ERR_IO, "%s: colmap is not installed (not found on PATH); " INSTALL_HINT("colmap"),
                         stage);
  return ngp_error_set(err, NGP_ERR_IO, "%s: ffmpeg is not installed (not found on PATH); " INSTALL_HINT("ffmpeg"),
                       stage);
}

ngp_status colmap_run_ffmpeg(const colmap_run_options *o, ngp_error *err) {
  const char *stage = "video to frames (ffmpeg)";
  ngp_status st = require_program(stage, "ffmpeg", err);
  if (st != NGP_OK) return st;
  if (!ngp_path_is_file(o->video_in)) return ngp_error_set(err, NGP_ERR_IO, "%s: %s: no such file", stage, o->video_in);
  /* Frames of an earlier run: replaced only when asked (and only files named like ours). */
  char **names = NULL;
  int n = 0;
  if (ngp_path_is_dir(o->images) && ngp_list_dir(o->images, "", &names, &n, NULL) == NGP_OK && n > 0) {
    if (!o->overwrite) {
      ngp_free_strings(names, n);
      return ngp_error_set(err, NGP_ERR_IO, "%s: %s already holds %d files; pass --overwrite to replace its frames",
                           stage, o->images, n);
    }
    for (int i = 0; i < n; i++)
      if (is_frame_name(names[i])) {
        char *p = ngp_path_join(o->images, names[i]);
        if (p) unlink(p);
        free(p);
      }
  }
  ngp_free_strings(names, n);
  if ((st = ngp_mkdir_p(o->images, err)) != NGP_OK) return st;
  char vf[256], pattern[4096];
  if (o->time_slice && *o->time_slice) {
    double a, b;
    if (sscanf(o->time_slice, "%lf,%lf", &a, &b) != 2)
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: time slice '%s' is not T1,T2", stage, o->time_slice);
    snprintf(vf, sizeof vf, "fps=%g,select='between(t\\,%g\\,%g)'", o->video_fps, a, b);
  } else {
    snprintf(vf, sizeof vf, "fps=%g", o->video_fps);
  }
  snprintf(pattern, sizeof pattern, "%s/%%04d.jpg", o->images);
  char *argv[] = {
      "ffmpeg", "-hide_banner", "-nostdin", "-i", (char *)o->video_in, "-qscale:v", "1", "-qmin", "1", "-vf",
      vf,       pattern,        NULL};
  if ((st = run_stage(o, stage, argv, err)) != NGP_OK) return st;
  int frames = count_images(o->images);
  if (frames == 0)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: no frame came out of %s (is the time slice inside the video?)",
                         stage, o->video_in);
  if (!o->quiet) printf("%s: %d frames in %s\n", stage, frames, o->images);
  return NGP_OK;
}

/* Removes one model folder COLMAP wrote (its known files, then the folder). */
static void remove_model_dir(const char *dir) {
  static const char *const files[] = {"cameras.bin", "images.bin", "points3D.bin", "project.ini",
                                      "cameras.txt", "images.txt", "points3D.txt"};
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
    char *p = ngp_path_join(dir, files[k]);
    if (p) unlink(p);
    free(p);
  }
  rmdir(dir);
}

ngp_status colmap_run_colmap(const colmap_run_options *o, int *n_registered, int *n_images, ngp_error *err) {
  ngp_status st = require_program("feature extraction", "colmap", err);
  if (st != NGP_OK) return st;
  *n_registered = *n_images = 0;
  int n_in = count_images(o->images);
  if (!ngp_path_is_dir(o->images) || n_in == 0)
    return ngp_error_set(err, NGP_ERR_IO, "feature extraction: %s: %s; give the photos' folder with --images",
                         o->images, ngp_path_is_dir(o->images) ? "holds no .jpg or .png image" : "no such folder");
  *n_images = n_in;
  /* <db without its extension>_sparse, as colmap2nerf names it */
  char sparse[4096];
  {
    const char *ext = ngp_path_extension(o->db);
    size_t stem = strlen(o->db) - strlen(ext);
    snprintf(sparse, sizeof sparse, "%.*s_sparse", (int)stem, o->db);
  }
  if (ngp_path_exists(o->db)) {
    if (!o->overwrite)
      return ngp_error_set(err, NGP_ERR_IO,
                           "feature extraction: the database %s exists; pass --overwrite to start it afresh", o->db);
    unlink(o->db);
  }
  char sub[4200];
  for (int k = 0;; k++) {
    snprintf(sub, sizeof sub, "%s/%d", sparse, k);
    if (!ngp_path_is_dir(sub)) break;
    if (!o->overwrite)
      return ngp_error_set(err, NGP_ERR_IO, "mapping: %s holds a model already; pass --overwrite to replace it",
                           sparse);
    remove_model_dir(sub);
  }
  char *db_dir = ngp_path_dirname(o->db);
  st = db_dir ? ngp_mkdir_p(db_dir, err) : ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  free(db_dir);
  if (st == NGP_OK) st = ngp_mkdir_p(sparse, err);
  if (st == NGP_OK) st = ngp_mkdir_p(o->text, err);
  if (st != NGP_OK) return st;

  const char *gpu = o->use_gpu ? "1" : "0";
  /* fe[11] is the value of --SiftExtraction.use_gpu */
  char *fe[24] = {"colmap",
                  "feature_extractor",
                  "--database_path",
                  (char *)o->db,
                  "--image_path",
                  (char *)o->images,
                  "--ImageReader.camera_model",
                  (char *)o->camera_model,
                  "--ImageReader.single_camera",
                  "1",
                  "--SiftExtraction.use_gpu",
                  (char *)gpu,
                  "--SiftExtraction.estimate_affine_shape",
                  "1",
                  "--SiftExtraction.domain_size_pooling",
                  "1",
                  NULL};
  int nfe = 16;
  if (o->camera_params && *o->camera_params) {
    fe[nfe++] = "--ImageReader.camera_params";
    fe[nfe++] = (char *)o->camera_params;
  }
  fe[nfe] = NULL;
  char stage[64];
  snprintf(stage, sizeof stage, "feature extraction (colmap, %d images)", n_in);
  st = run_stage(o, stage, fe, err);
  if (st != NGP_OK && o->use_gpu) {
    /* A GPU is present but colmap may lack CUDA (then SIFT wants OpenGL and a display): once more
     * on the CPU before giving up. */
    if (!o->quiet) printf("%s: failed on the GPU (%s); again on the CPU\n", stage, err->msg);
    unlink(o->db);
    gpu = "0";
    fe[11] = (char *)gpu;
    st = run_stage(o, stage, fe, err);
  }
  if (st != NGP_OK) return st;

  char matcher[64];
  snprintf(matcher, sizeof matcher, "%s_matcher", o->matcher);
  char *ma[16] = {"colmap",
                  matcher,
                  "--database_path",
                  (char *)o->db,
                  "--SiftMatching.use_gpu",
                  (char *)gpu,
                  "--SiftMatching.guided_matching",
                  o->guided_matching ? "1" : "0",
                  NULL};
  if (!strcmp(o->matcher, "vocab_tree")) {
    ma[8] = "--VocabTreeMatching.vocab_tree_path";
    ma[9] = (char *)o->vocab_path;
    ma[10] = NULL;
  }
  snprintf(stage, sizeof stage, "matching (colmap, %s)", o->matcher);
  if ((st = run_stage(o, stage, ma, err)) != NGP_OK) return st;

  char *mp[] = {"colmap",        "mapper",       "--database_path",
                (char *)o->db,   "--image_path", (char *)o->images,
                "--output_path", sparse,         NULL};
  /* The mapper fails outright when it finds no initial pair: that too is "too few registered". */
  ngp_error map_err;
  ngp_status map_st = run_stage(o, "mapping (colmap)", mp, &map_err);

  /* COLMAP may split the scene into several models (sparse/0, 1, ...): take the largest. */
  int best = -1, best_n = 0, n_models = 0;
  for (int k = 0;; k++) {
    snprintf(sub, sizeof sub, "%s/%d", sparse, k);
    if (!ngp_path_is_dir(sub)) break;
    n_models++;
    ngp_colmap_model m;
    ngp_error e;
    if (ngp_colmap_read(sub, &m, &e) == NGP_OK) {
      if (m.n_images > best_n) best = k, best_n = m.n_images;
      ngp_colmap_model_free(&m);
    }
  }
  *n_registered = best_n;
  static const char *const helps =
      "what usually helps: more photos with more overlap (every part of the object in 3 or more sharp photos, "
      "neighbours sharing 60 to 80 percent of their view), a textured, still scene, fixed focus and exposure, no "
      "motion blur; "
      "for unordered photos --colmap_matcher exhaustive; from a video, a higher --video_fps";
  if (best_n < 3) {
    char said[256] = "";
    if (map_st != NGP_OK) last_log_line(o->log_path, said, sizeof said);
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "mapping: COLMAP registered %d of the %d images (%d model%s%s%s%s), too few for a NeRF; %s; "
                         "COLMAP's output is in %s",
                         best_n, n_in, n_models, n_models == 1 ? "" : "s", said[0] ? "; it said \"" : "", said,
                         said[0] ? "\"" : "", helps, o->log_path);
  }
  if (map_st != NGP_OK) {
    *err = map_err;
    return map_st;
  }
  if (best_n * 2 < n_in) {
    ngp_log(NGP_LOG_WARN, "mapping: COLMAP registered only %d of the %d images; the rest are left out; %s", best_n,
            n_in, helps);
  }
  if (!o->quiet) printf("mapping: %d of %d images registered (model %s/%d)\n", best_n, n_in, sparse, best);
  snprintf(sub, sizeof sub, "%s/%d", sparse, best);
  char *mc[] = {"colmap",        "model_converter", "--input_path", sub, "--output_path",
                (char *)o->text, "--output_type",   "TXT",          NULL};
  return run_stage(o, "conversion to text (colmap)", mc, err);
}
