/* snaptool.c: ngp-snaptool, the test helper that makes and damages snapshots (format in
 * src/nerf/snapshot.h), for the bad-input catalogue (tests/cli/catalogue.cmake) and the snapshot
 * fuzz seeds (tests/fuzz/README.md).
 *
 *   ngp-snaptool make CONFIG AABB_SCALE OUT     a snapshot of a freshly initialised network
 *   ngp-snaptool fuzz-seed IN OUT [MODE]        IN without its grid and checksum, as fuzz_snapshot
 *                                               takes it (first byte MODE, default 3: full load)
 *   ngp-snaptool truncate IN OUT N              the first N bytes
 *   ngp-snaptool version IN OUT V               another format version (checksum recomputed)
 *   ngp-snaptool header IN OUT OLD NEW          the header JSON with its first OLD replaced by NEW
 *                                               (length and checksum recomputed)
 *   ngp-snaptool flip IN OUT OFFSET             one byte changed, checksum left as it was
 *   ngp-snaptool disk-full LIMIT SEED DEST -- CMD [ARG...]
 *       copies SEED to DEST, runs CMD with RLIMIT_FSIZE = LIMIT bytes and SIGXFSZ ignored (a full
 *       disk, as write() sees it: EFBIG), then checks that DEST is still byte-identical to SEED and
 *       that no temporary file of DEST (ngp_fs_is_temp_of) was left beside it. Exits with CMD's status, or 99 when a
 * check fails; prints "SKIP: ..." and exits 0 when the limit cannot be set.
 *
 * The checksum is FNV-1a 64 written here independently of the library, so a drift between the
 * two shows up as a failing catalogue test. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/fs.h"
#include "nerf/nerf.h"
#include "ngp/ngp.h"
#include "nerf/snapshot.h"

static int die(const char *fmt, ...) NGP_PRINTF(1, 2);
static int die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "ngp-snaptool: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  return 2;
}

static uint32_t get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static void seal(uint8_t *p, size_t len) {
  uint64_t h = ngp_snapshot_checksum(p, len - 8);
  for (int i = 0; i < 8; i++)
    p[len - 8 + (size_t)i] = (uint8_t)(h >> (8 * i));
}

static int read_snapshot(const char *path, uint8_t **data, size_t *len) {
  ngp_error err;
  if (ngp_read_file(path, (size_t)1 << 32, (char **)data, len, &err) != NGP_OK) return die("%s", err.msg);
  if (*len < 24 || memcmp(*data, "NGPSNAP", 8) != 0) return die("%s: not a snapshot", path);
  return 0;
}

static int write_out(const char *path, const uint8_t *data, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) return die("%s: cannot write", path);
  return 0;
}

static int cmd_make(const char *cfg_path, const char *aabb, const char *out) {
  ngp_config cfg;
  ngp_error err;
  if (ngp_config_load(cfg_path, &cfg, &err) != NGP_OK) return die("%s", err.msg);
  ngp_nerf n;
  if (ngp_nerf_init(&n, &cfg, atoi(aabb), 1, 1, &err) != NGP_OK) return die("%s", err.msg);
  for (size_t i = 0; i < (size_t)n.occ.n_cascades * NGP_GRID_CELLS; i++)
    n.occ.density[i] = (i % 7 == 0) ? 0.5f : 0.0f;
  ngp_snapshot_meta meta = {42, 0.33f, {0.5f, 0.5f, 0.5f}, 0.01f};
  ngp_status st = ngp_snapshot_save(out, &n, n.inference, &meta, &err);
  ngp_nerf_free(&n);
  return st == NGP_OK ? 0 : die("%s", err.msg);
}

static int cmd_fuzz_seed(const char *in, const char *out, int mode) {
  uint8_t *p;
  size_t len;
  if (read_snapshot(in, &p, &len)) return 2;
  size_t at = 16 + (size_t)get_u32(p + 12);
  if (at > len || len - at < 8) {
    free(p);
    return die("%s: inconsistent layout", in);
  }
  uint64_t np = (uint64_t)get_u32(p + at) | (uint64_t)get_u32(p + at + 4) << 32;
  at += 8;
  if (np > (len - at) / 4 || len - at - (size_t)np * 4 < 4) {
    free(p);
    return die("%s: inconsistent layout", in);
  }
  at += (size_t)np * 4 + 4; /* through the cascade count */
  uint8_t *seed = malloc(at + 1);
  if (!seed) return 2;
  seed[0] = (uint8_t)mode;
  memcpy(seed + 1, p, at);
  int rc = write_out(out, seed, at + 1);
  free(seed);
  free(p);
  return rc;
}

static int cmd_edit(const char *what, const char *in, const char *out, const char *a, const char *b) {
  uint8_t *p;
  size_t len;
  if (read_snapshot(in, &p, &len)) return 2;
  int rc = 0;
  if (strcmp(what, "truncate") == 0) {
    size_t n = (size_t)strtoull(a, NULL, 10);
    rc = write_out(out, p, n < len ? n : len);
  } else if (strcmp(what, "version") == 0) {
    put_u32(p + 8, (uint32_t)strtoul(a, NULL, 10));
    seal(p, len);
    rc = write_out(out, p, len);
  } else if (strcmp(what, "flip") == 0) {
    size_t off = (size_t)strtoull(a, NULL, 10);
    if (off >= len) rc = die("%s: offset %s is past the end", in, a);
    if (!rc) {
      p[off] ^= 0x40;
      rc = write_out(out, p, len);
    }
  } else { /* header */
    size_t hlen = get_u32(p + 12), la = strlen(a), lb = strlen(b);
    char *hdr = malloc(hlen + 1);
    if (!hdr) return 2;
    memcpy(hdr, p + 16, hlen);
    hdr[hlen] = '\0';
    char *hit = strstr(hdr, a);
    if (!hit) {
      rc = die("header does not contain '%s'", a);
    } else {
      size_t pre = (size_t)(hit - hdr), nlen = len - la + lb;
      uint8_t *q = malloc(nlen);
      if (!q) return 2;
      memcpy(q, p, 16 + pre);
      memcpy(q + 16 + pre, b, lb);
      memcpy(q + 16 + pre + lb, p + 16 + pre + la, len - 16 - pre - la);
      put_u32(q + 12, (uint32_t)(hlen - la + lb));
      seal(q, nlen);
      rc = write_out(out, q, nlen);
      free(q);
    }
    free(hdr);
  }
  free(p);
  return rc;
}

static int cmd_disk_full(int argc, char **argv) {
  /* argv: LIMIT SEED DEST -- CMD ... */
  if (argc < 5 || strcmp(argv[3], "--") != 0) return die("usage: disk-full LIMIT SEED DEST -- CMD [ARG...]");
  const char *seed_path = argv[1], *dest = argv[2];
  char *seed = NULL;
  size_t seed_len = 0;
  ngp_error err;
  if (ngp_read_file(seed_path, (size_t)1 << 32, &seed, &seed_len, &err) != NGP_OK) return die("%s", err.msg);
  if (write_out(dest, (const uint8_t *)seed, seed_len)) return 2;
  struct rlimit rl = {(rlim_t)strtoull(argv[0], NULL, 10), 0};
  struct rlimit cur;
  if (getrlimit(RLIMIT_FSIZE, &cur) != 0 || (cur.rlim_max != RLIM_INFINITY && cur.rlim_max < rl.rlim_cur)) {
    printf("SKIP: cannot lower RLIMIT_FSIZE to %s bytes here\n", argv[0]);
    free(seed);
    return 0;
  }
  rl.rlim_max = cur.rlim_max;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return die("fork failed: %s", strerror(errno));
  if (pid == 0) {
    /* Ignored signals stay ignored across exec: write() then fails with EFBIG instead of the
     * process being killed, which is what a full disk (ENOSPC) looks like to the writer. */
    signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
      printf("SKIP: setrlimit(RLIMIT_FSIZE): %s\n", strerror(errno));
      _exit(0);
    }
    execvp(argv[4], argv + 4);
    fprintf(stderr, "ngp-snaptool: cannot run %s: %s\n", argv[4], strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return die("waitpid failed: %s", strerror(errno));
  int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  char *after = NULL;
  size_t after_len = 0;
  if (ngp_read_file(dest, (size_t)1 << 32, &after, &after_len, &err) != NGP_OK) {
    printf("disk-full: %s\n", err.msg);
    rc = 99;
  } else if (after_len != seed_len || memcmp(after, seed, seed_len) != 0) {
    printf("disk-full: %s changed (%zu bytes, was %zu)\n", dest, after_len, seed_len);
    rc = 99;
  }
  free(after);
  free(seed);
  char *dir = ngp_path_dirname(dest);
  const char *base = ngp_path_basename(dest);
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d) return die("%s: cannot list the folder", dest);
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (ngp_fs_is_temp_of(e->d_name, base, NULL)) {
      printf("disk-full: temporary file %s/%s was left behind\n", dir, e->d_name);
      rc = 99;
    }
  closedir(d);
  free(dir);
  if (rc != 99) printf("disk-full: %s unchanged, no temporary file left\n", dest);
  return rc;
}

int main(int argc, char **argv) {
  if (argc >= 5 && strcmp(argv[1], "make") == 0) return cmd_make(argv[2], argv[3], argv[4]);
  if (argc >= 4 && strcmp(argv[1], "fuzz-seed") == 0)
    return cmd_fuzz_seed(argv[2], argv[3], argc >= 5 ? atoi(argv[4]) : 3);
  if (argc >= 5 &&
      (strcmp(argv[1], "truncate") == 0 || strcmp(argv[1], "version") == 0 || strcmp(argv[1], "flip") == 0))
    return cmd_edit(argv[1], argv[2], argv[3], argv[4], NULL);
  if (argc >= 6 && strcmp(argv[1], "header") == 0) return cmd_edit("header", argv[2], argv[3], argv[4], argv[5]);
  if (argc >= 2 && strcmp(argv[1], "disk-full") == 0) return cmd_disk_full(argc - 2, argv + 2);
  fprintf(stderr, "usage: ngp-snaptool make|fuzz-seed|truncate|version|header|flip|disk-full ... (see snaptool.c)\n");
  return 2;
}
