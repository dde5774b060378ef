/* replay_main.c: runs a fuzz target's LLVMFuzzerTestOneInput over files, without libFuzzer, so
 * the seed corpora and every crash input kept in tests/fuzz/regressions/ are replayed by CTest in
 * the ordinary builds (and under ASan + UBSan in the sanitizer build).
 *
 *   fuzz_scene_replay FILE_OR_DIR...   (folders: their regular files, in name order)
 *
 * A broken invariant or a sanitizer report aborts; otherwise it prints how many inputs ran. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "replay: cannot open %s\n", path);
    return 1;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 65536;
      uint8_t *grown = realloc(buf, cap);
      if (!grown) abort();
      buf = grown;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0) break;
    len += n;
  }
  fclose(f);
  /* A copy of exactly `len` bytes, as libFuzzer passes it, so ASan sees reads past the end. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) abort();
  if (len) memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  LLVMFuzzerInitialize(&argc, &argv);
  int n = 0, failed = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "replay: %s: no such file or folder\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      failed |= replay_file(argv[i]);
      n++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (!d) return 1;
    char **names = NULL;
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char **grown = realloc(names, (count + 1) * sizeof *names);
      if (!grown) abort();
      names = grown;
      size_t len = strlen(argv[i]) + strlen(e->d_name) + 2;
      names[count] = malloc(len);
      if (!names[count]) abort();
      snprintf(names[count], len, "%s/%s", argv[i], e->d_name);
      count++;
    }
    closedir(d);
    if (count > 1) qsort(names, count, sizeof *names, by_name);
    for (size_t k = 0; k < count; k++) {
      if (stat(names[k], &st) == 0 && S_ISREG(st.st_mode)) {
        failed |= replay_file(names[k]);
        n++;
      }
      free(names[k]);
    }
    free(names);
  }
  printf("replayed %d input%s\n", n, n == 1 ? "" : "s");
  return failed;
}
