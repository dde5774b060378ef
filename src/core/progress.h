/* progress.h (internal): progress of a long phase on stderr, with the time left. On a terminal one
 * line updated in place (at most 4 times a second), otherwise a plain line every 10 s and at the
 * end, so logs stay short. Training's own line (app/run.c) uses the same duration format. */
#ifndef NGP_CORE_PROGRESS_H
#define NGP_CORE_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ngp_progress {
  const char *what; /* e.g. "screenshots" */
  int total;
  double t0, last_print;
  bool tty, printed;
} ngp_progress;

/* "12.3s", "4m05s", "1h02m". */
void ngp_format_duration(double seconds, char *buf, size_t n);

void ngp_progress_begin(ngp_progress *p, const char *what, int total);
/* done of total finished; prints when due (always at done == total). */
void ngp_progress_update(ngp_progress *p, int done);
/* Ends the in-place line, if one was printed. */
void ngp_progress_end(ngp_progress *p);

#endif
