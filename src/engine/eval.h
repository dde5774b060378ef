/* engine/eval.h: image metrics and evaluation on held-out views in the convention of the NeRF
 * literature (NeRF's Blender loader, the papers' tables): the ground truth's 8-bit sRGB values
 * composited over the background in sRGB (rgb * a + bg * (1 - a)), the render quantised to 8 bits
 * as a saved PNG would hold it, PSNR per image over the RGB channels then averaged over the views;
 * SSIM as instant-ngp's run.py computes it (on luminance, with a 5-tap Gaussian). */
#ifndef NGP_ENGINE_EVAL_H
#define NGP_ENGINE_EVAL_H

#include "engine/backend.h"

/* PSNR of two [n][3] images in [0,1]: -10 log10(MSE). Identical images give +inf. */
double ngp_psnr(const float *a, const float *b, size_t n_pixels);
/* SSIM on luminance 0.2126R + 0.7152G + 0.0722B, separable blur [0.120078, 0.233881, 0.292082,
 * 0.233881, 0.120078] with reflected edges, C1 = 0.01^2, C2 = 0.03^2, averaged over the map. */
double ngp_ssim(const float *a, const float *b, int width, int height);

/* A frame's image composited over bg (sRGB) on its 8-bit sRGB values, as NeRF's Blender loader
 * does: out = rgb/255 * a + bg * (1 - a), a = alpha/255, out [H][W][3]. (instant-ngp's run.py
 * blends in linear light instead, which reads about 0.3 dB lower on lego.) */
void ngp_reference_image(const ngp_image *img, const float bg[3], float *out);

typedef struct ngp_eval_result {
  int n_views;
  double psnr_mean, psnr_min, psnr_max, ssim_mean;
} ngp_eval_result;

/* Renders every frame of `views` (images loaded) at its own size with the backend (the
 * generation acquired last), quantises it to 8 bits and compares it with the reference over bg.
 * spp jittered samples per pixel. */
ngp_status ngp_eval_views(ngp_backend *b, const ngp_scene *views, const float bg[3], int spp, ngp_eval_result *res,
                          ngp_error *err);
/* The same, asking stop() (when not NULL) before each view: a non-zero answer ends the loop with
 * NGP_OK and res over the res->n_views views done so far (fewer than views->n_frames); with each
 * view's PSNR and SSIM into view_psnr and view_ssim ([views->n_frames]; either may be NULL). */
ngp_status ngp_eval_views_each(ngp_backend *b, const ngp_scene *views, const float bg[3], int spp, int (*stop)(void),
                               ngp_eval_result *res, double *view_psnr, double *view_ssim, ngp_error *err);

/* Writes the evaluation as JSON, atomically: {"transforms", "convention", "background", "spp",
 * "training_step", "n_views", "psnr_mean", "psnr_min", "psnr_max", "ssim_mean", "views": [{"file_path",
 * "psnr", "ssim"}, ...]} (a PSNR of identical images, +inf, is written as null). */
ngp_status ngp_eval_write_json(const char *path, const char *transforms, const ngp_scene *views,
                               const ngp_eval_result *res, const double *view_psnr, const double *view_ssim,
                               const float bg[3], int spp, int training_step, ngp_error *err);

#endif
