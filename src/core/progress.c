/* progress.c: see progress.h. */
#define _POSIX_C_SOURCE 200809L
#include "core/progress.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include "core/clock.h"

void ngp_format_duration(double s, char *buf, size_t n) {
  if (s < 60.0)
    snprintf(buf, n, "%.1fs", s);
  else if (s < 3600.0)
    snprintf(buf, n, "%dm%02ds", (int)(s / 60.0), (int)fmod(s, 60.0));
  else
    snprintf(buf, n, "%dh%02dm", (int)(s / 3600.0), (int)fmod(s / 60.0, 60.0));
}

void ngp_progress_begin(ngp_progress *p, const char *what, int total) {
  p->what = what;
  p->total = total;
  p->t0 = p->last_print = ngp_seconds();
  p->tty = isatty(STDERR_FILENO);
  p->printed = false;
}

void ngp_progress_update(ngp_progress *p, int done) {
  double now = ngp_seconds(), el = now - p->t0;
  bool last = done >= p->total;
  if (!last && now - p->last_print < (p->tty ? 0.25 : 10.0)) return;
  p->last_print = now;
  char e[32], r[32];
  ngp_format_duration(el, e, sizeof e);
  double remaining = done > 0 ? el / done * (p->total - done) : -1.0;
  if (remaining >= 0.0)
    ngp_format_duration(remaining, r, sizeof r);
  else
    snprintf(r, sizeof r, "?");
  fprintf(stderr, "%s%s %d/%d (%.0f%%) elapsed %s remaining %s%s", p->tty ? "\r" : "", p->what, done, p->total,
          p->total ? 100.0 * done / p->total : 100.0, e, r, p->tty ? "\033[K" : "\n");
  p->printed = true;
}

void ngp_progress_end(ngp_progress *p) {
  if (p->tty && p->printed) fprintf(stderr, "\n");
  p->printed = false;
}

bool ngp_train_line_due(bool tty, double since_last_print) { return since_last_print > (tty ? 0.25 : 10.0); }

void ngp_train_line_print(const ngp_train_line *l, bool tty) {
  char e[32], r[32] = "?", skipped[48] = "";
  ngp_format_duration(l->elapsed, e, sizeof e);
  if (l->remaining >= 0.0) ngp_format_duration(l->remaining, r, sizeof r);
  if (l->skipped) snprintf(skipped, sizeof skipped, " skipped %d", l->skipped);
  double psnr = l->loss_ema > 0.0f ? -10.0 * log10((double)l->loss_ema) : 0.0;
  fprintf(stderr, "%sstep %ld loss %.5f psnr~%.2f rays %d samples/ray %.1f samples/s %.2fM%s elapsed %s remaining %s%s",
          tty ? "\r" : "", l->step, (double)l->loss_ema, psnr, l->n_rays, l->samples_per_ray, l->samples_per_s / 1e6,
          skipped, e, r, tty ? "\033[K" : "\n");
}

void ngp_train_summary_print(long steps, double seconds, double samples, int threads, float loss_ema, int skipped) {
  printf("trained %ld steps in %.1f s (%.2fM samples/s on %d thread%s, final loss %.5f)\n", steps, seconds,
         seconds > 0 ? samples / seconds / 1e6 : 0.0, threads, threads == 1 ? "" : "s", (double)loss_ema);
  if (skipped)
    printf("warning: %d of %ld steps skipped: their loss or gradients were not finite (NaN or infinity); the weights "
           "were left as they were\n",
           skipped, steps);
}
