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

/* Training's progress and its summary, one format for headless runs (app/run.c) and the viewer's
 * terminal (viewer/worker.c). The line is due every 0.25 s on a terminal, every 10 s otherwise
 * (ngp_train_line_due); it goes to stderr, "\r"-updated on a terminal. */
typedef struct ngp_train_line {
  long step;                 /* the step just done (1-based, counting a snapshot's) */
  float loss_ema;            /* smoothed loss; < 0: none yet */
  int n_rays;                /* rays of the last step */
  double samples_per_ray;    /* of the last step */
  double samples_per_s;      /* over the run */
  int skipped;               /* steps skipped for a non-finite loss */
  double elapsed, remaining; /* seconds; remaining < 0: unknown */
} ngp_train_line;
bool ngp_train_line_due(bool tty, double since_last_print);
void ngp_train_line_print(const ngp_train_line *l, bool tty);
/* "trained N steps in T s (X.XXM samples/s on K threads, final loss L)" on stdout, and the
 * skipped-steps warning when some were. */
void ngp_train_summary_print(long steps, double seconds, double samples, int threads, float loss_ema, int skipped);

#endif
