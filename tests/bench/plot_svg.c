/* plot_svg.c: a line chart as SVG text (see plot_svg.h). */
#include "plot_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"

typedef struct {
  char *s;
  size_t len, cap;
  bool failed;
} text_buf;

static void put(text_buf *b, const char *fmt, ...) NGP_PRINTF(2, 3);
static void put(text_buf *b, const char *fmt, ...) {
  if (b->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->failed = true;
      return;
    }
    if (b->s && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap <= b->len + (size_t)n)
      cap *= 2;
    char *grown = realloc(b->s, cap);
    if (!grown) {
      b->failed = true;
      return;
    }
    b->s = grown;
    b->cap = cap;
  }
}

/* Text for XML: &, < and > escaped. */
static void put_text(text_buf *b, const char *t) {
  for (; *t; t++) {
    if (*t == '&')
      put(b, "&amp;");
    else if (*t == '<')
      put(b, "&lt;");
    else if (*t == '>')
      put(b, "&gt;");
    else
      put(b, "%c", *t);
  }
}

void ngp_plot_axis(double min, double max, double *lo, double *hi, double *step) {
  if (!(max > min)) { /* one value: a unit around it */
    min -= 0.5;
    max += 0.5;
  }
  double raw = (max - min) / 5.0, p = pow(10.0, floor(log10(raw))), f = raw / p;
  *step = (f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0) * p;
  *lo = floor(min / *step) * *step;
  *hi = ceil(max / *step) * *step;
}

ngp_status ngp_plot_svg(const char *path, const char *title, const char *xlabel, const char *ylabel, const double *x,
                        const double *y, int n, ngp_error *err) {
  if (n < 1) return ngp_error_set(err, NGP_ERR_INVALID, "%s: nothing to plot (no points)", path);
  double xmin = x[0], xmax = x[0], ymin = y[0], ymax = y[0];
  for (int i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i]))
      return ngp_error_set(err, NGP_ERR_INVALID, "%s: point %d (%g, %g) is not finite", path, i, x[i], y[i]);
    xmin = fmin(xmin, x[i]);
    xmax = fmax(xmax, x[i]);
    ymin = fmin(ymin, y[i]);
    ymax = fmax(ymax, y[i]);
  }
  double x0, x1, xs, y0, y1, ys;
  ngp_plot_axis(xmin < 0.0 ? xmin : 0.0, xmax, &x0, &x1, &xs); /* time axes start at 0 */
  ngp_plot_axis(ymin, ymax, &y0, &y1, &ys);
#define PX(v) (NGP_PLOT_X0 + ((v)-x0) / (x1 - x0) * (NGP_PLOT_X1 - NGP_PLOT_X0))
#define PY(v) (NGP_PLOT_Y1 - ((v)-y0) / (y1 - y0) * (NGP_PLOT_Y1 - NGP_PLOT_Y0))
  text_buf b = {0};
  put(&b,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
      NGP_PLOT_W, NGP_PLOT_H, NGP_PLOT_W, NGP_PLOT_H);
  put(&b, "<text x=\"%d\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">", NGP_PLOT_W / 2);
  put_text(&b, title);
  put(&b, "</text>\n<g stroke=\"#ddd\">\n");
  for (double v = x0; v <= x1 + 0.5 * xs; v += xs)
    put(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", PX(v), NGP_PLOT_Y0, PX(v), NGP_PLOT_Y1);
  for (double v = y0; v <= y1 + 0.5 * ys; v += ys)
    put(&b, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>\n", NGP_PLOT_X0, PY(v), NGP_PLOT_X1, PY(v));
  put(&b, "</g>\n<g text-anchor=\"middle\">\n");
  for (double v = x0; v <= x1 + 0.5 * xs; v += xs)
    put(&b, "<text x=\"%.2f\" y=\"%.2f\">%g</text>\n", PX(v), NGP_PLOT_Y1 + 16.0, fabs(v) < 1e-12 * xs ? 0.0 : v);
  put(&b, "</g>\n<g text-anchor=\"end\">\n");
  for (double v = y0; v <= y1 + 0.5 * ys; v += ys)
    put(&b, "<text x=\"%.2f\" y=\"%.2f\">%g</text>\n", NGP_PLOT_X0 - 6.0, PY(v) + 4.0, fabs(v) < 1e-12 * ys ? 0.0 : v);
  put(&b, "</g>\n<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"black\"/>\n",
      NGP_PLOT_X0, NGP_PLOT_Y0, NGP_PLOT_X1 - NGP_PLOT_X0, NGP_PLOT_Y1 - NGP_PLOT_Y0);
  put(&b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", 0.5 * (NGP_PLOT_X0 + NGP_PLOT_X1), NGP_PLOT_H - 20);
  put_text(&b, xlabel);
  put(&b, "</text>\n<text transform=\"translate(18 %.1f) rotate(-90)\" text-anchor=\"middle\">",
      0.5 * (NGP_PLOT_Y0 + NGP_PLOT_Y1));
  put_text(&b, ylabel);
  put(&b, "</text>\n<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"");
  for (int i = 0; i < n; i++)
    put(&b, "%s%.2f,%.2f", i ? " " : "", PX(x[i]), PY(y[i]));
  put(&b, "\"/>\n<g fill=\"#1f77b4\">\n");
  for (int i = 0; i < n; i++)
    put(&b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\"><title>%g, %g</title></circle>\n", PX(x[i]), PY(y[i]), x[i],
        y[i]);
  put(&b, "</g>\n</svg>\n");
#undef PX
#undef PY
  if (b.failed) {
    free(b.s);
    return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory drawing the plot", path);
  }
  ngp_status st = ngp_write_file_atomic(path, b.s, b.len, err);
  free(b.s);
  return st;
}
