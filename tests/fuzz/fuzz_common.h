/* fuzz_common.h: what the fuzz targets share: a private scratch folder per process (the scene,
 * config, snapshot and image loaders read files, so each input is written to one first), quiet
 * logging, and an abort() that names the broken invariant.
 *
 * Scratch lives in $NGP_FUZZ_TMPDIR, else /dev/shm (memory-backed: a write per input stays cheap),
 * else $TMPDIR, else /tmp, as ngp-fuzz-<target>-XXXXXX; it is removed at exit. Header-only: each
 * target is one translation unit, built both with libFuzzer and as a plain replay program
 * (replay_main.c), so these functions are static inline. */
#ifndef NGP_FUZZ_COMMON_H
#define NGP_FUZZ_COMMON_H

#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ngp/ngp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char g_fuzz_dir[4096];

static inline void fuzz_rm_tree(const char *path) {
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      char sub[4352];
      if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < sizeof sub) fuzz_rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static inline void fuzz_cleanup(void) {
  if (g_fuzz_dir[0]) fuzz_rm_tree(g_fuzz_dir);
}

static inline void fuzz_quiet(ngp_log_level level, const char *msg, void *user) {
  (void)level;
  (void)msg;
  (void)user;
}

/* Creates the scratch folder once and silences library warnings (a fuzzer would print millions). */
static inline const char *fuzz_dir(const char *target) {
  if (g_fuzz_dir[0]) return g_fuzz_dir;
  const char *roots[] = {getenv("NGP_FUZZ_TMPDIR"), "/dev/shm", getenv("TMPDIR"), "/tmp"};
  for (size_t i = 0; i < sizeof roots / sizeof *roots && !g_fuzz_dir[0]; i++) {
    if (!roots[i] || !roots[i][0] || access(roots[i], W_OK) != 0) continue;
    snprintf(g_fuzz_dir, sizeof g_fuzz_dir, "%s/ngp-fuzz-%s-XXXXXX", roots[i], target);
    if (!mkdtemp(g_fuzz_dir)) g_fuzz_dir[0] = '\0';
  }
  if (!g_fuzz_dir[0]) {
    fprintf(stderr, "fuzz: cannot create a scratch folder (set NGP_FUZZ_TMPDIR)\n");
    abort();
  }
  atexit(fuzz_cleanup);
  ngp_log_set_callback(fuzz_quiet, NULL);
  return g_fuzz_dir;
}

/* dir/rel; aborts when it does not fit (paths are ours, never the input's). */
static inline void fuzz_path(char *out, size_t size, const char *rel) {
  if ((size_t)snprintf(out, size, "%s/%s", g_fuzz_dir, rel) >= size) abort();
}

static inline void fuzz_write(const char *path, const void *data, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    fprintf(stderr, "fuzz: cannot write %s\n", path);
    abort();
  }
}

/* Files that are not regular files, for inputs to name (issue 19): PREFIX + "fifo" + EXT (a FIFO,
 * which would block a reader that opened it), "dir" + EXT (a folder) and "loop" + EXT (a symlink
 * to itself). The loaders must refuse each by name, never open it. */
static inline void fuzz_non_regular(const char *prefix, const char *ext) {
  char rel[256], path[4200];
  snprintf(rel, sizeof rel, "%sfifo%s", prefix, ext);
  fuzz_path(path, sizeof path, rel);
  mkfifo(path, 0644);
  snprintf(rel, sizeof rel, "%sdir%s", prefix, ext);
  fuzz_path(path, sizeof path, rel);
  mkdir(path, 0755);
  snprintf(rel, sizeof rel, "%sloop%s", prefix, ext);
  fuzz_path(path, sizeof path, rel);
  snprintf(rel, sizeof rel, "loop%s", ext);
  if (symlink(rel, path) != 0) perror("fuzz: symlink");
}

/* True when the input may name a file outside the scratch folder: an absolute path, a parent
 * folder, or a Windows-style separator (which the scene loader turns into '/'). Such inputs are
 * skipped: reading /dev or a huge system file tests the machine, not the loader. */
static inline int fuzz_escapes(const uint8_t *data, size_t size) {
  for (size_t i = 0; i + 1 < size; i++) {
    if (data[i] == '.' && data[i + 1] == '.') return 1;
    if (data[i] == '"' && (data[i + 1] == '/' || data[i + 1] == '\\')) return 1;
    if (data[i] == '\\' && data[i + 1] == 'u') return 1; /* "\u002f..." */
  }
  return 0;
}

#define FUZZ_CHECK(cond)                                                                                               \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond);                             \
      abort();                                                                                                         \
    }                                                                                                                  \
  } while (0)

#endif
