/* engine/trainlog.h: the training log (--log FILE): one row per progress update, as CSV (.csv) or
 * JSON Lines (.jsonl, .ndjson), with the columns
 *   step, seconds, loss, psnr, rays, samples, samples_per_s, learning_rate, skipped
 * (loss: the running mean the progress line shows; psnr: its estimate -10 log10(loss); samples:
 * the last step's; samples_per_s: since training began; skipped: non-finite steps so far). The rows
 * go to FILE.tmp, flushed as they come, and FILE takes its place when the log is closed, so an
 * earlier log is kept until a new one is complete. */
#ifndef NGP_ENGINE_TRAINLOG_H
#define NGP_ENGINE_TRAINLOG_H

#include <stdbool.h>

#include "ngp/common.h"

typedef enum { NGP_TRAIN_LOG_UNKNOWN = 0, NGP_TRAIN_LOG_CSV, NGP_TRAIN_LOG_JSONL } ngp_train_log_format;

/* The format the name asks for; NGP_TRAIN_LOG_UNKNOWN for another extension. */
ngp_train_log_format ngp_train_log_format_of(const char *path);

typedef struct ngp_train_log_row {
  long step;
  double seconds, loss, psnr;
  int rays;
  double samples, samples_per_s, learning_rate;
  int skipped;
} ngp_train_log_row;

typedef struct ngp_train_log ngp_train_log;

/* Opens FILE.tmp (the folder is created); NGP_ERR_INVALID for a name of no known format. */
ngp_status ngp_train_log_open(const char *path, ngp_train_log **out, ngp_error *err);
ngp_status ngp_train_log_write(ngp_train_log *log, const ngp_train_log_row *row, ngp_error *err);
/* Closes the log and renames it into place (NULL: nothing); frees it whatever happens. */
ngp_status ngp_train_log_close(ngp_train_log *log, ngp_error *err);

#endif
