/* fs.h (internal): files and paths. Every failure names the file and says why (errno text). */
#ifndef NGP_CORE_FS_H
#define NGP_CORE_FS_H

#include "ngp/common.h"

/* Refuses, before anything opens it, an input that is not a regular file (or, with dir_ok, a
 * folder): a FIFO would block the reader forever and a device never end. The message names the
 * file and what it is ("is a FIFO (named pipe)", "a symbolic link loop", "no such file or
 * directory"). NGP_ERR_INVALID for an empty path, NGP_ERR_IO otherwise. */
ngp_status ngp_fs_check_input(const char *path, bool dir_ok, ngp_error *err);
/* What a stat mode is, in words: "a FIFO (named pipe)", "a character device", ... */
const char *ngp_fs_kind_name(unsigned mode);

/* Whether an output can be written, checked before the work that produces it (a run's snapshot,
 * screenshot folder, log, mesh or video), so that a bad place fails at once instead of after
 * hours of training. NGP_OUTPUT_FILE: `path` will be written atomically (missing parent folders
 * are created then); NGP_OUTPUT_DIR: `path` is a folder files go into (created if missing).
 * Returns NGP_ERR_INVALID for a name that can never work (empty, a file name ending in '/', a
 * component longer than 255 bytes): a bad command-line value; NGP_ERR_IO with the reason for a
 * place that cannot be written now (no permission, a read-only file system, a parent that is a
 * file, a folder or a FIFO where a file goes). `what` names the output in the message, e.g.
 * "--save-snapshot". Leaves nothing behind (it probes the nearest existing folder with a
 * temporary file that it removes). */
typedef enum { NGP_OUTPUT_FILE, NGP_OUTPUT_DIR } ngp_output_kind;
ngp_status ngp_fs_check_output(const char *what, const char *path, ngp_output_kind kind, ngp_error *err);
/* Whether two paths name the same existing file (device and inode). */
bool ngp_fs_same_file(const char *a, const char *b);

/* Reads a whole file into a NUL-terminated malloc'd buffer. Files larger than max_bytes are an
 * error (guards against pointing the loader at something absurd). */
ngp_status ngp_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ngp_error *err);
/* Writes `len` bytes to `path` atomically: a temporary file in the same folder, fsync, rename.
 * An existing file at `path` is left intact if anything fails. The temporary is created with
 * O_CREAT|O_EXCL under a random name (mkstemp; never through an existing link) and named
 * ".<name>.tmp.<pid>.XXXXXX" (the name cut and hashed when it is near the 255-byte limit); the
 * result keeps the permissions of the file it replaces (a new file gets 0666 less the umask).
 * Temporaries of `path` left by a killed save (whose process is gone) are removed first. */
ngp_status ngp_write_file_atomic(const char *path, const void *data, size_t len, ngp_error *err);
/* Removes the temporary file of an atomic write in progress, if any. Async-signal-safe: for a
 * signal handler that exits at once, so no half-written temporary is left behind. */
void ngp_fs_remove_pending(void);
/* Whether a folder entry `name` is a temporary of an atomic write to a file named `base`; *pid
 * (optional) gets the process that wrote it. */
bool ngp_fs_is_temp_of(const char *name, const char *base, long *pid);

bool ngp_path_exists(const char *path);
bool ngp_path_is_dir(const char *path);
bool ngp_path_is_file(const char *path);
/* Whether resolving `path` fails on a loop of symbolic links (ELOOP). */
bool ngp_fs_is_link_loop(const char *path);
/* Creates a directory and its parents (like mkdir -p). */
ngp_status ngp_mkdir_p(const char *path, ngp_error *err);

/* Path helpers; each returns a malloc'd string (NULL only on allocation failure). */
char *ngp_path_dirname(const char *path);                       /* "a/b/c.json" -> "a/b"; "c.json" -> "." */
char *ngp_path_join(const char *dir, const char *rel);          /* rel if absolute, else dir/rel */
const char *ngp_path_basename(const char *path);                /* pointer into path */
const char *ngp_path_extension(const char *path);               /* ".json" or "" (after the last '/') */
bool ngp_path_has_extension(const char *path, const char *ext); /* ext as ".png", any letter case */
char *ngp_strdup(const char *s);

/* Natural-order comparison ("img2" < "img10"), as instant-ngp sorts frames by file_path. */
int ngp_natcmp(const char *a, const char *b);

/* Lists the regular files in `dir` whose name ends in `suffix`, sorted by ngp_natcmp.
 * *names is a malloc'd array of malloc'd base names; free with ngp_free_strings. */
ngp_status ngp_list_dir(const char *dir, const char *suffix, char ***names, int *count, ngp_error *err);
void ngp_free_strings(char **strings, int count);

#endif
