/* ngp/common.h: status codes, error messages and logging shared by the whole library.
 *
 * Library functions never exit and never print errors themselves: they return an ngp_status and
 * fill an ngp_error whose message names the file and the field at fault and ends with a hint of
 * the fix, e.g.
 *   "scene/transforms.json: frames[3].transform_matrix: row 2 has 3 numbers, expected 4".
 * Warnings (a skipped frame, an unknown key) go through ngp_log(), which writes to stderr unless a
 * callback is installed. */
#ifndef NGP_COMMON_H
#define NGP_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NGP_PRINTF(fmt_idx, arg_idx) __attribute__((format(printf, fmt_idx, arg_idx)))
#else
#define NGP_PRINTF(fmt_idx, arg_idx)
#endif

typedef enum ngp_status {
  NGP_OK = 0,
  NGP_ERR_IO,          /* a file could not be opened, read or written */
  NGP_ERR_PARSE,       /* malformed JSON, or image data that does not decode */
  NGP_ERR_INVALID,     /* well-formed input with a wrong type or an impossible value */
  NGP_ERR_NOMEM,       /* an allocation failed */
  NGP_ERR_UNSUPPORTED, /* valid input this build does not implement (an otype, a lens model) */
} ngp_status;

#define NGP_ERROR_MSG_MAX 1024

typedef struct ngp_error {
  ngp_status status;
  char msg[NGP_ERROR_MSG_MAX];
} ngp_error;

/* Fills *err (which may be NULL) and returns `status`, so callers can write
 * `return ngp_error_set(err, NGP_ERR_INVALID, "%s: %s: ...", file, field);`. */
ngp_status ngp_error_set(ngp_error *err, ngp_status status, const char *fmt, ...) NGP_PRINTF(3, 4);
/* Prepends "prefix: " to an existing message (used to add context as an error travels up). */
void ngp_error_prefix(ngp_error *err, const char *fmt, ...) NGP_PRINTF(2, 3);
const char *ngp_status_str(ngp_status status);

typedef enum ngp_log_level {
  NGP_LOG_ERROR = 0,
  NGP_LOG_WARN = 1,
  NGP_LOG_INFO = 2,
  NGP_LOG_DEBUG = 3,
} ngp_log_level;

typedef void (*ngp_log_fn)(ngp_log_level level, const char *msg, void *user);

/* Installs a log sink (NULL restores the default, which writes "instant-ngp: warning: ..." lines
 * to stderr). Messages above the current level (default NGP_LOG_INFO) are dropped. */
void ngp_log_set_callback(ngp_log_fn fn, void *user);
void ngp_log_set_level(ngp_log_level max_level);
void ngp_log(ngp_log_level level, const char *fmt, ...) NGP_PRINTF(2, 3);

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *ngp_version(void);

#ifdef __cplusplus
}
#endif
#endif /* NGP_COMMON_H */
