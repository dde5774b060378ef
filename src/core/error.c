/* error.c: ngp_error formatting and the log sink. */
#include "ngp/common.h"

#include <stdio.h>
#include <string.h>

ngp_status ngp_error_set(ngp_error *err, ngp_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

void ngp_error_prefix(ngp_error *err, const char *fmt, ...) {
  if (!err) return;
  char prefix[NGP_ERROR_MSG_MAX];
  char old[NGP_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  old[sizeof old - 1] = '\0';
  /* Truncation is fine here: a message is at most NGP_ERROR_MSG_MAX - 1 characters. */
  size_t n = strlen(prefix), m = strlen(old), cap = sizeof err->msg - 1;
  size_t o = 0;
  for (size_t i = 0; i < n && o < cap; i++)
    err->msg[o++] = prefix[i];
  for (size_t i = 0; i < 2 && o < cap; i++)
    err->msg[o++] = ": "[i];
  for (size_t i = 0; i < m && o < cap; i++)
    err->msg[o++] = old[i];
  err->msg[o] = '\0';
}

const char *ngp_status_str(ngp_status status) {
  switch (status) {
  case NGP_OK: return "ok";
  case NGP_ERR_IO: return "i/o error";
  case NGP_ERR_PARSE: return "parse error";
  case NGP_ERR_INVALID: return "invalid input";
  case NGP_ERR_NOMEM: return "out of memory";
  case NGP_ERR_UNSUPPORTED: return "unsupported";
  }
  return "unknown status";
}

static ngp_log_fn g_log_fn = NULL;
static void *g_log_user = NULL;
static ngp_log_level g_log_level = NGP_LOG_INFO;

void ngp_log_set_callback(ngp_log_fn fn, void *user) {
  g_log_fn = fn;
  g_log_user = user;
}

void ngp_log_set_level(ngp_log_level max_level) { g_log_level = max_level; }

void ngp_log(ngp_log_level level, const char *fmt, ...) {
  if (level > g_log_level) return;
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (g_log_fn) {
    g_log_fn(level, msg, g_log_user);
    return;
  }
  static const char *const names[] = {"error: ", "warning: ", "", ""};
  fprintf(stderr, "instant-ngp: %s%s\n", names[level], msg);
}
