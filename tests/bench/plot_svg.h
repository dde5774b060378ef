/* plot_svg.h: one line chart as a standalone SVG file, no dependency (ngp-bench curve --plot).
 *
 *   double t[] = {60, 120, 300}, psnr[] = {24.1, 26.0, 27.9};
 *   ngp_plot_svg("curve.svg", "lego_400, cpu", "training time (s)", "PSNR (dB)", t, psnr, 3, &err);
 *
 * The axes span the data, widened to round tick steps (1, 2 or 5 times a power of ten); each point
 * is a circle with a <title> giving its values; the file is written atomically. */
#ifndef NGP_BENCH_PLOT_SVG_H
#define NGP_BENCH_PLOT_SVG_H

#include "ngp/common.h"

/* Plot area inside the 640x400 picture (the points map x -> [PLOT_X0, PLOT_X1], y -> [PLOT_Y1,
 * PLOT_Y0]: SVG's y grows downwards). */
#define NGP_PLOT_W 640
#define NGP_PLOT_H 400
#define NGP_PLOT_X0 70.0
#define NGP_PLOT_X1 610.0
#define NGP_PLOT_Y0 40.0
#define NGP_PLOT_Y1 340.0

/* The axis range [*lo, *hi] and tick step for data in [min, max] (about 5 ticks). */
void ngp_plot_axis(double min, double max, double *lo, double *hi, double *step);

/* n >= 1 points (x[i], y[i]), all finite; NGP_ERR_INVALID otherwise. */
ngp_status ngp_plot_svg(const char *path, const char *title, const char *xlabel, const char *ylabel, const double *x,
                        const double *y, int n, ngp_error *err);

#endif
