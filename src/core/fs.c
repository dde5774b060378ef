/* fs.c: file reading, atomic writes, path helpers and natural sort. POSIX. */
#define _POSIX_C_SOURCE 200809L
#include "core/fs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *ngp_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

ngp_status ngp_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ngp_error *err) {
  *out = NULL;
  if (len) *len = 0;
  struct stat st;
  if (stat(path, &st) != 0) return ngp_error_set(err, NGP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (S_ISDIR(st.st_mode)) return ngp_error_set(err, NGP_ERR_IO, "%s: is a directory, expected a file", path);
  FILE *f = fopen(path, "rb");
  if (!f) return ngp_error_set(err, NGP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max_bytes) {
    fclose(f);
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: file is %lld bytes, more than the %zu allowed", path,
                         (long long)st.st_size, max_bytes);
  }
  size_t cap = (size_t)st.st_size;
  char *buf = malloc(cap + 1);
  if (!buf) {
    fclose(f);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
  }
  size_t n = fread(buf, 1, cap, f);
  int read_err = ferror(f);
  fclose(f);
  if (read_err || n != cap) {
    free(buf);
    return ngp_error_set(err, NGP_ERR_IO, "%s: read failed after %zu of %zu bytes", path, n, cap);
  }
  buf[n] = '\0';
  *out = buf;
  if (len) *len = n;
  return NGP_OK;
}

/* The temporary file an atomic write is filling, so that a signal handler that must exit at once
 * can remove it (ngp_fs_remove_pending, async-signal-safe). Set only once the name is complete. */
static char g_pending[4096];
static volatile sig_atomic_t g_pending_set = 0;

void ngp_fs_remove_pending(void) {
  if (g_pending_set) unlink(g_pending);
}

static ngp_status write_fail(const char *tmp, int fd, ngp_error *err, const char *what, const char *path, int e) {
  ngp_error_set(err, NGP_ERR_IO, "%s: %s: %s (the previous %s is untouched)", tmp, what, strerror(e), path);
  if (fd >= 0) close(fd);
  unlink(tmp);
  g_pending_set = 0;
  return NGP_ERR_IO;
}

ngp_status ngp_write_file_atomic(const char *path, const void *data, size_t len, ngp_error *err) {
  char tmp[sizeof g_pending];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return ngp_error_set(err, NGP_ERR_IO, "%s: path too long", path);
  g_pending_set = 0;
  memcpy(g_pending, tmp, sizeof tmp);
  g_pending_set = 1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) {
    int e = errno;
    g_pending_set = 0;
    return ngp_error_set(err, NGP_ERR_IO, "%s: cannot create: %s (the previous %s is untouched)", tmp, strerror(e),
                         path);
  }
  const char *p = data;
  size_t left = len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0) {
      if (errno == EINTR) continue;
      return write_fail(tmp, fd, err, "write failed", path, errno);
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0) return write_fail(tmp, fd, err, "flush failed", path, errno);
  if (close(fd) != 0) return write_fail(tmp, -1, err, "flush failed", path, errno);
  if (rename(tmp, path) != 0) return write_fail(tmp, -1, err, "cannot rename into place", path, errno);
  g_pending_set = 0;
  return NGP_OK;
}

bool ngp_path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

bool ngp_path_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool ngp_path_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

ngp_status ngp_mkdir_p(const char *path, ngp_error *err) {
  char *p = ngp_strdup(path);
  if (!p) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  for (char *s = p + 1;; s++) {
    char c = *s;
    if (c == '/' || c == '\0') {
      *s = '\0';
      if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        ngp_error_set(err, NGP_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
        free(p);
        return NGP_ERR_IO;
      }
      *s = c;
      if (c == '\0') break;
    }
  }
  free(p);
  if (!ngp_path_is_dir(path)) return ngp_error_set(err, NGP_ERR_IO, "%s: exists and is not a directory", path);
  return NGP_OK;
}

char *ngp_path_dirname(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return ngp_strdup(".");
  if (slash == path) return ngp_strdup("/");
  size_t n = (size_t)(slash - path);
  char *d = malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, path, n);
  d[n] = '\0';
  return d;
}

char *ngp_path_join(const char *dir, const char *rel) {
  if (rel[0] == '/' || dir[0] == '\0') return ngp_strdup(rel);
  size_t a = strlen(dir), b = strlen(rel);
  char *j = malloc(a + b + 2);
  if (!j) return NULL;
  memcpy(j, dir, a);
  size_t o = a;
  if (a > 0 && dir[a - 1] != '/') j[o++] = '/';
  memcpy(j + o, rel, b + 1);
  return j;
}

const char *ngp_path_basename(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

const char *ngp_path_extension(const char *path) {
  const char *base = ngp_path_basename(path);
  const char *dot = strrchr(base, '.');
  return (dot && dot != base) ? dot : path + strlen(path);
}

int ngp_natcmp(const char *a, const char *b) {
  while (*a && *b) {
    if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
      /* Compare digit runs by value: skip leading zeros, then longer run is larger. */
      const char *a0 = a, *b0 = b;
      while (*a0 == '0')
        a0++;
      while (*b0 == '0')
        b0++;
      const char *a1 = a0, *b1 = b0;
      while (isdigit((unsigned char)*a1))
        a1++;
      while (isdigit((unsigned char)*b1))
        b1++;
      ptrdiff_t la = a1 - a0, lb = b1 - b0;
      if (la != lb) return la < lb ? -1 : 1;
      int c = strncmp(a0, b0, (size_t)la);
      if (c != 0) return c < 0 ? -1 : 1;
      /* Equal values: fewer leading zeros first, for a total order. */
      ptrdiff_t za = a0 - a, zb = b0 - b;
      if (za != zb) return za < zb ? -1 : 1;
      a = a1;
      b = b1;
    } else {
      if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
      a++;
      b++;
    }
  }
  if (*a) return 1;
  if (*b) return -1;
  return 0;
}

static int natcmp_qsort(const void *x, const void *y) {
  return ngp_natcmp(*(const char *const *)x, *(const char *const *)y);
}

void ngp_free_strings(char **strings, int count) {
  if (!strings) return;
  for (int i = 0; i < count; i++)
    free(strings[i]);
  free(strings);
}

ngp_status ngp_list_dir(const char *dir, const char *suffix, char ***names, int *count, ngp_error *err) {
  *names = NULL;
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) return ngp_error_set(err, NGP_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
  size_t slen = strlen(suffix);
  char **list = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (e->d_name[0] == '.' || len < slen || strcmp(e->d_name + len - slen, suffix) != 0) continue;
    char *full = ngp_path_join(dir, e->d_name);
    bool is_file = full && ngp_path_is_file(full);
    free(full);
    if (!is_file) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 8;
      char **grown = realloc(list, (size_t)cap * sizeof *list);
      if (!grown) goto nomem;
      list = grown;
    }
    if (!(list[n] = ngp_strdup(e->d_name))) goto nomem;
    n++;
  }
  closedir(d);
  if (n > 1) qsort(list, (size_t)n, sizeof *list, natcmp_qsort);
  *names = list;
  *count = n;
  return NGP_OK;
nomem:
  closedir(d);
  ngp_free_strings(list, n);
  return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory listing the directory", dir);
}
