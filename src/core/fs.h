/* fs.h (internal): files and paths. Every failure names the file and says why (errno text). */
#ifndef NGP_CORE_FS_H
#define NGP_CORE_FS_H

#include "ngp/common.h"

/* Reads a whole file into a NUL-terminated malloc'd buffer. Files larger than max_bytes are an
 * error (guards against pointing the loader at something absurd). */
ngp_status ngp_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ngp_error *err);
/* Writes `len` bytes to `path` atomically: a temporary file in the same folder, fsync, rename.
 * An existing file at `path` is left intact if anything fails. */
ngp_status ngp_write_file_atomic(const char *path, const void *data, size_t len, ngp_error *err);
/* Removes the temporary file of an atomic write in progress, if any. Async-signal-safe: for a
 * signal handler that exits at once, so no half-written temporary is left behind. */
void ngp_fs_remove_pending(void);

bool ngp_path_exists(const char *path);
bool ngp_path_is_dir(const char *path);
bool ngp_path_is_file(const char *path);
/* Creates a directory and its parents (like mkdir -p). */
ngp_status ngp_mkdir_p(const char *path, ngp_error *err);

/* Path helpers; each returns a malloc'd string (NULL only on allocation failure). */
char *ngp_path_dirname(const char *path);              /* "a/b/c.json" -> "a/b"; "c.json" -> "." */
char *ngp_path_join(const char *dir, const char *rel); /* rel if absolute, else dir/rel */
const char *ngp_path_basename(const char *path);       /* pointer into path */
const char *ngp_path_extension(const char *path);      /* ".json" or "" (after the last '/') */
char *ngp_strdup(const char *s);

/* Natural-order comparison ("img2" < "img10"), as instant-ngp sorts frames by file_path. */
int ngp_natcmp(const char *a, const char *b);

/* Lists the regular files in `dir` whose name ends in `suffix`, sorted by ngp_natcmp.
 * *names is a malloc'd array of malloc'd base names; free with ngp_free_strings. */
ngp_status ngp_list_dir(const char *dir, const char *suffix, char ***names, int *count, ngp_error *err);
void ngp_free_strings(char **strings, int count);

#endif
