/* trainlog.c: the training log file (see trainlog.h). */
#define _POSIX_C_SOURCE 200809L
#include "engine/trainlog.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

struct ngp_train_log {
  FILE *f;
  ngp_train_log_format format;
  char *path, *tmp;
};

ngp_train_log_format ngp_train_log_format_of(const char *path) {
  if (ngp_path_has_extension(path, ".csv")) return NGP_TRAIN_LOG_CSV;
  if (ngp_path_has_extension(path, ".jsonl") || ngp_path_has_extension(path, ".ndjson")) return NGP_TRAIN_LOG_JSONL;
  return NGP_TRAIN_LOG_UNKNOWN;
}

static void log_free(ngp_train_log *l) {
  if (!l) return;
  if (l->f) fclose(l->f);
  free(l->path);
  free(l->tmp);
  free(l);
}

ngp_status ngp_train_log_open(const char *path, ngp_train_log **out, ngp_error *err) {
  *out = NULL;
  ngp_train_log_format fmt = ngp_train_log_format_of(path);
  if (fmt == NGP_TRAIN_LOG_UNKNOWN)
    return ngp_error_set(err, NGP_ERR_INVALID, "%s: unknown log format; name the file .csv or .jsonl (JSON Lines)",
                         path);
  ngp_train_log *l = calloc(1, sizeof *l);
  char *parent = ngp_path_dirname(path);
  if (!l || !parent) {
    free(l);
    free(parent);
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  }
  ngp_status st = ngp_mkdir_p(parent, err);
  free(parent);
  if (st != NGP_OK) {
    free(l);
    return st;
  }
  l->format = fmt;
  l->path = ngp_strdup(path);
  size_t n = strlen(path) + 5;
  l->tmp = malloc(n);
  if (!l->path || !l->tmp) {
    log_free(l);
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  }
  snprintf(l->tmp, n, "%s.tmp", path);
  l->f = fopen(l->tmp, "w");
  if (!l->f) {
    st = ngp_error_set(err, NGP_ERR_IO, "%s: cannot write the log: %s", l->tmp, strerror(errno));
    log_free(l);
    return st;
  }
  if (fmt == NGP_TRAIN_LOG_CSV)
    fprintf(l->f, "step,seconds,loss,psnr,rays,samples,samples_per_s,learning_rate,skipped\n");
  *out = l;
  return NGP_OK;
}

ngp_status ngp_train_log_write(ngp_train_log *l, const ngp_train_log_row *r, ngp_error *err) {
  /* JSON has no infinity or NaN: a loss that is not finite is written as null there. */
  char loss[32] = "null", psnr[32] = "null";
  if (isfinite(r->loss)) snprintf(loss, sizeof loss, "%.6g", r->loss);
  if (isfinite(r->psnr)) snprintf(psnr, sizeof psnr, "%.4f", r->psnr);
  int rc;
  if (l->format == NGP_TRAIN_LOG_CSV)
    rc = fprintf(l->f, "%ld,%.3f,%s,%s,%d,%.0f,%.0f,%.6g,%d\n", r->step, r->seconds, isfinite(r->loss) ? loss : "nan",
                 isfinite(r->psnr) ? psnr : "nan", r->rays, r->samples, r->samples_per_s, r->learning_rate, r->skipped);
  else
    rc = fprintf(l->f,
                 "{\"step\":%ld,\"seconds\":%.3f,\"loss\":%s,\"psnr\":%s,\"rays\":%d,\"samples\":%.0f,"
                 "\"samples_per_s\":%.0f,\"learning_rate\":%.6g,\"skipped\":%d}\n",
                 r->step, r->seconds, loss, psnr, r->rays, r->samples, r->samples_per_s, r->learning_rate, r->skipped);
  if (rc < 0 || fflush(l->f) != 0)
    return ngp_error_set(err, NGP_ERR_IO, "%s: cannot write the log: %s", l->tmp, strerror(errno));
  return NGP_OK;
}

ngp_status ngp_train_log_close(ngp_train_log *l, ngp_error *err) {
  if (!l) return NGP_OK;
  ngp_status st = NGP_OK;
  int rc = fclose(l->f);
  l->f = NULL;
  if (rc != 0)
    st = ngp_error_set(err, NGP_ERR_IO, "%s: cannot write the log: %s", l->tmp, strerror(errno));
  else if (rename(l->tmp, l->path) != 0)
    st = ngp_error_set(err, NGP_ERR_IO, "%s: cannot rename the log into place: %s", l->path, strerror(errno));
  log_free(l);
  return st;
}
