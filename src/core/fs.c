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
#include <strings.h> /* strcasecmp */
#include <sys/stat.h>
#include <unistd.h>

char *ngp_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

const char *ngp_fs_kind_name(unsigned mode) {
  if (S_ISREG(mode)) return "a regular file";
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISLNK(mode)) return "a symbolic link";
  return "not a regular file";
}

/* Why stat() failed, in words that name the cause (a loop is not "no such file"). */
static const char *stat_reason(int e) {
  if (e == ELOOP) return "a symbolic link loop (too many levels of symbolic links)";
  if (e == ENOTDIR) return "a part of the path is not a directory";
  if (e == ENAMETOOLONG) return "the name is too long";
  return strerror(e);
}

ngp_status ngp_fs_check_input(const char *path, bool dir_ok, ngp_error *err) {
  struct stat st;
  if (!path[0]) return ngp_error_set(err, NGP_ERR_INVALID, "an empty path was given where a file is expected");
  if (stat(path, &st) != 0) {
    return ngp_error_set(err, NGP_ERR_IO, "%s: cannot open: %s", path, stat_reason(errno));
  }
  if (S_ISREG(st.st_mode) || (dir_ok && S_ISDIR(st.st_mode))) return NGP_OK;
  if (S_ISDIR(st.st_mode)) return ngp_error_set(err, NGP_ERR_IO, "%s: is a directory, expected a file", path);
  return ngp_error_set(err, NGP_ERR_IO, "%s: is %s, not a regular file; give a regular file", path,
                       ngp_fs_kind_name((unsigned)st.st_mode));
}

ngp_status ngp_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ngp_error *err) {
  *out = NULL;
  if (len) *len = 0;
  /* Refused before opening: opening a FIFO for reading blocks until a writer comes, and a device
   * such as /dev/zero never ends. */
  ngp_status st0 = ngp_fs_check_input(path, false, err);
  if (st0 != NGP_OK) return st0;
  /* O_NONBLOCK: should the path have become a FIFO since the check, open returns at once and
   * fstat refuses it. */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return ngp_error_set(err, NGP_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ngp_error_set(err, NGP_ERR_IO, "%s: is not a regular file", path);
  }
  if (st.st_size < 0 || (uint64_t)st.st_size > (uint64_t)max_bytes) {
    close(fd);
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: file is %lld bytes, more than the %zu allowed", path,
                         (long long)st.st_size, max_bytes);
  }
  size_t cap = (size_t)st.st_size;
  char *buf = malloc(cap + 1);
  if (!buf) {
    close(fd);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap);
  }
  size_t n = 0;
  int read_errno = 0;
  while (n < cap) {
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) read_errno = errno;
    if (r <= 0) break;
    n += (size_t)r;
  }
  close(fd);
  if (n != cap) {
    free(buf);
    if (read_errno)
      return ngp_error_set(err, NGP_ERR_IO, "%s: read failed after %zu of %zu bytes: %s", path, n, cap,
                           strerror(read_errno));
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

/* Temporary names: ".<base>.tmp.<pid>.XXXXXX" beside the target. A base too long for that (a
 * legal name near NAME_MAX) is cut and marked with a hash of the whole name, so the temporary's
 * name stays legal and still belongs to one target. */
#define TMP_NAME_MAX 255
static void tmp_stem(const char *base, char *stem, size_t n) {
  size_t blen = strlen(base);
  if (blen + 28 <= TMP_NAME_MAX) {
    snprintf(stem, n, ".%s.tmp.", base);
    return;
  }
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const char *c = base; *c; c++)
    h = (h ^ (uint8_t)*c) * 16777619u;
  snprintf(stem, n, ".%.180s~%08x.tmp.", base, (unsigned)h);
}

bool ngp_fs_is_temp_of(const char *name, const char *base, long *pid) {
  char stem[TMP_NAME_MAX + 1];
  tmp_stem(base, stem, sizeof stem);
  size_t sl = strlen(stem);
  if (strncmp(name, stem, sl) != 0) return false;
  char *end = NULL;
  long p = strtol(name + sl, &end, 10);
  if (end == name + sl || *end != '.' || strlen(end + 1) != 6) return false;
  if (pid) *pid = p;
  return true;
}

/* Removes temporaries of `path` left by a save that was killed (its process is gone). A live
 * process's temporary (a save running beside us) is left alone. */
static void remove_stale_temps(const char *path) {
  char *dir = ngp_path_dirname(path);
  DIR *d = dir ? opendir(dir) : NULL;
  if (!d) {
    free(dir);
    return;
  }
  const char *base = ngp_path_basename(path);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    long pid = 0;
    if (!ngp_fs_is_temp_of(e->d_name, base, &pid)) continue;
    if (pid > 0 && pid != (long)getpid() && kill((pid_t)pid, 0) == 0) continue; /* still saving */
    char *full = ngp_path_join(dir, e->d_name);
    struct stat st;
    if (full && lstat(full, &st) == 0 && S_ISREG(st.st_mode)) unlink(full);
    free(full);
  }
  closedir(d);
  free(dir);
}

static ngp_status write_fail(const char *tmp, int fd, ngp_error *err, const char *what, const char *path, int e) {
  ngp_error_set(err, NGP_ERR_IO, "%s: %s: %s (the previous %s is untouched)", tmp, what, strerror(e), path);
  if (fd >= 0) close(fd);
  unlink(tmp);
  g_pending_set = 0;
  return NGP_ERR_IO;
}

ngp_status ngp_write_file_atomic(const char *path, const void *data, size_t len, ngp_error *err) {
  if (!path[0]) return ngp_error_set(err, NGP_ERR_INVALID, "an empty path was given where a file name is expected");
  char *dir = ngp_path_dirname(path);
  if (!dir) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", path);
  char stem[TMP_NAME_MAX + 1];
  tmp_stem(ngp_path_basename(path), stem, sizeof stem);
  char tmp[sizeof g_pending];
  int w0 = snprintf(tmp, sizeof tmp, "%s/%s%ld.XXXXXX", dir, stem, (long)getpid());
  free(dir);
  if (w0 < 0 || w0 >= (int)sizeof tmp) return ngp_error_set(err, NGP_ERR_INVALID, "%s: path too long", path);
  remove_stale_temps(path);
  /* The mode the result gets: that of the file it replaces, else what the umask leaves of 0666. */
  struct stat old;
  mode_t mode;
  if (stat(path, &old) == 0 && S_ISREG(old.st_mode)) {
    mode = old.st_mode & 07777;
  } else {
    mode_t mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  /* mkstemp creates with O_CREAT|O_EXCL under a fresh random name: an existing file or link of
   * that name makes it try another, never follow the link. SIGINT/SIGTERM wait until the name is
   * recorded, so an immediate exit always finds the file to remove. */
  sigset_t block, prev;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  sigprocmask(SIG_BLOCK, &block, &prev);
  int fd = mkstemp(tmp);
  int e = errno;
  if (fd >= 0) {
    g_pending_set = 0;
    memcpy(g_pending, tmp, sizeof tmp);
    g_pending_set = 1;
  }
  sigprocmask(SIG_SETMASK, &prev, NULL);
  if (fd < 0)
    return ngp_error_set(err, NGP_ERR_IO,
                         "%s: cannot create a temporary file beside it: %s (the previous %s is "
                         "untouched)",
                         path, strerror(e), path);
  if (fchmod(fd, mode) != 0) return write_fail(tmp, fd, err, "cannot set its permissions", path, errno);
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

bool ngp_fs_same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Creates and removes a temporary file in `dir`: the one sure test that a file can be made there
 * (permissions, read-only mounts, ACLs, and /proc-like folders that refuse new files). */
static int probe_dir(const char *dir) {
  char probe[4200];
  if (snprintf(probe, sizeof probe, "%s/.ngp-write-test.XXXXXX", dir) >= (int)sizeof probe) return ENAMETOOLONG;
  int fd = mkstemp(probe);
  if (fd < 0) return errno;
  close(fd);
  unlink(probe);
  return 0;
}

ngp_status ngp_fs_check_output(const char *what, const char *path, ngp_output_kind kind, ngp_error *err) {
  const char *noun = kind == NGP_OUTPUT_DIR ? "folder" : "file";
  if (!path[0]) return ngp_error_set(err, NGP_ERR_INVALID, "%s: an empty name; give a %s name", what, noun);
  size_t len = strlen(path);
  if (kind == NGP_OUTPUT_FILE && path[len - 1] == '/')
    return ngp_error_set(err, NGP_ERR_INVALID, "%s %s: ends in '/'; give a file name, not a folder", what, path);
  if (len > 4000)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: the path is %zu bytes long, more than 4000", what, len);
  for (const char *c = path; *c;) {
    size_t n = strcspn(c, "/");
    if (n > TMP_NAME_MAX)
      return ngp_error_set(err, NGP_ERR_INVALID, "%s %.40s...: a name in the path is %zu bytes long, more than 255",
                           what, path, n);
    c += n;
    while (*c == '/')
      c++;
  }
  struct stat st;
  if (stat(path, &st) == 0) {
    if (kind == NGP_OUTPUT_DIR && !S_ISDIR(st.st_mode))
      return ngp_error_set(err, NGP_ERR_IO, "%s %s: is %s, not a folder", what, path,
                           ngp_fs_kind_name((unsigned)st.st_mode));
    if (kind == NGP_OUTPUT_FILE && !S_ISREG(st.st_mode))
      return ngp_error_set(err, NGP_ERR_IO, "%s %s: is %s; give the name of a regular file", what, path,
                           ngp_fs_kind_name((unsigned)st.st_mode));
  } else if (errno != ENOENT && errno != ENOTDIR) { /* ENOTDIR: the walk below names the file in the way */
    return ngp_error_set(err, NGP_ERR_IO, "%s %s: %s", what, path, stat_reason(errno));
  }
  /* The folder the file goes into (or the folder itself), else its nearest existing ancestor, which
   * must be a folder where files can be made. */
  char *dir = kind == NGP_OUTPUT_DIR ? ngp_strdup(path) : ngp_path_dirname(path);
  if (!dir) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory", what);
  for (;;) {
    if (stat(dir, &st) == 0) break;
    if (errno != ENOENT && errno != ENOTDIR) {
      ngp_error_set(err, NGP_ERR_IO, "%s %s: %s: %s", what, path, dir, stat_reason(errno));
      free(dir);
      return NGP_ERR_IO;
    }
    char *up = ngp_path_dirname(dir);
    if (!up || strcmp(up, dir) == 0) {
      free(up);
      break;
    }
    free(dir);
    dir = up;
  }
  ngp_status rc = NGP_OK;
  if (!S_ISDIR(st.st_mode)) {
    rc = ngp_error_set(err, NGP_ERR_IO, "%s %s: %s is %s, not a folder", what, path, dir,
                       ngp_fs_kind_name((unsigned)st.st_mode));
  } else {
    int e = probe_dir(dir);
    if (e)
      rc = ngp_error_set(err, NGP_ERR_IO, "%s %s: cannot write in the folder %s: %s; choose another place", what, path,
                         dir, strerror(e));
  }
  free(dir);
  return rc;
}

bool ngp_path_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

bool ngp_fs_is_link_loop(const char *path) {
  struct stat st;
  return stat(path, &st) != 0 && errno == ELOOP;
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
  /* An empty name is no folder (and the loop below starts at its second character). */
  if (!path[0]) return ngp_error_set(err, NGP_ERR_INVALID, "an empty path was given where a folder name is expected");
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

bool ngp_path_has_extension(const char *path, const char *ext) {
  return strcasecmp(ngp_path_extension(path), ext) == 0;
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
