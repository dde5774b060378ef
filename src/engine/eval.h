/* engine/eval.h: image metrics and evaluation on held-out views, as instant-ngp's run.py
 * measures them (NGP-SPEC §8): renders and references in sRGB clipped to [0,1], PSNR per image
 * over the RGB channels then averaged, and SSIM on luminance with a 5-tap Gaussian. */
#ifndef NGP_ENGINE_EVAL_H
#define NGP_ENGINE_EVAL_H

#include "engine/backend.h"

/* PSNR of two [n][3] images in [0,1]: -10 log10(MSE). Identical images give +inf. */
double ngp_psnr(const float *a, const float *b, size_t n_pixels);
/* SSIM on luminance 0.2126R + 0.7152G + 0.0722B, separable blur [0.120078, 0.233881, 0.292082,
 * 0.233881, 0.120078] with reflected edges, C1 = 0.01^2, C2 = 0.03^2, averaged over the map. */
double ngp_ssim(const float *a, const float *b, int width, int height);

/* A frame's image composited over bg (sRGB) as instant-ngp does: alpha blending in linear light,
 * result in sRGB: out [H][W][3]. */
void ngp_reference_image(const ngp_image *img, const float bg[3], float *out);

typedef struct ngp_eval_result {
  int n_views;
  double psnr_mean, psnr_min, psnr_max, ssim_mean;
} ngp_eval_result;

/* Renders every frame of `views` (images loaded) at its own size with the backend (the
 * generation acquired last) and compares it with the reference over bg. spp jittered samples per
 * pixel. */
ngp_status ngp_eval_views(ngp_backend *b, const ngp_scene *views, const float bg[3], int spp, ngp_eval_result *res,
                          ngp_error *err);
/* The same, asking stop() (when not NULL) before each view: a non-zero answer ends the loop with
 * NGP_OK and res over the res->n_views views done so far (fewer than views->n_frames). */
ngp_status ngp_eval_views_until(ngp_backend *b, const ngp_scene *views, const float bg[3], int spp, int (*stop)(void),
                                ngp_eval_result *res, ngp_error *err);

#endif
