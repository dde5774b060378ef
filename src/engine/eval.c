/* eval.c: PSNR, SSIM and evaluation on held-out views (see eval.h). */
#include "engine/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "core/progress.h"
#include "core/fs.h"
#include "core/json_util.h"
#include "engine/output.h"

double ngp_psnr(const float *a, const float *b, size_t n_pixels) {
  double se = 0.0;
  for (size_t i = 0; i < n_pixels * 3; i++) {
    double x = a[i] < 0.0f ? 0.0 : (a[i] > 1.0f ? 1.0 : (double)a[i]);
    double y = b[i] < 0.0f ? 0.0 : (b[i] > 1.0f ? 1.0 : (double)b[i]);
    se += (x - y) * (x - y);
  }
  double mse = se / (double)(n_pixels * 3);
  return mse > 0.0 ? -10.0 * log10(mse) : HUGE_VAL;
}

/* scipy.ndimage.convolve1d's default "reflect" mode: (d c b a | a b c d | d c b a). */
static int reflect(int i, int n) {
  while (i < 0 || i >= n)
    i = i < 0 ? -i - 1 : 2 * n - i - 1;
  return i;
}

static void blur(const double *in, double *tmp, double *out, int w, int h) {
  static const double k[5] = {0.120078, 0.233881, 0.292082, 0.233881, 0.120078};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double s = 0.0;
      for (int d = -2; d <= 2; d++)
        s += k[d + 2] * in[(size_t)y * w + reflect(x + d, w)];
      tmp[(size_t)y * w + x] = s;
    }
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double s = 0.0;
      for (int d = -2; d <= 2; d++)
        s += k[d + 2] * tmp[(size_t)reflect(y + d, h) * w + x];
      out[(size_t)y * w + x] = s;
    }
}

double ngp_ssim(const float *a, const float *b, int w, int h) {
  size_t n = (size_t)w * h;
  double *buf = calloc(n * 11, sizeof(double));
  if (!buf) return (double)NAN;
  double *x = buf, *y = x + n, *xx = y + n, *yy = xx + n, *xy = yy + n, *tmp = xy + n;
  double *mx = tmp + n, *my = mx + n, *sxx = my + n, *syy = sxx + n, *sxy = syy + n;
  for (size_t i = 0; i < n; i++) {
    double l[2];
    const float *src[2] = {a + i * 3, b + i * 3};
    for (int k = 0; k < 2; k++) {
      double c[3];
      for (int j = 0; j < 3; j++)
        c[j] = src[k][j] < 0.0f ? 0.0 : (src[k][j] > 1.0f ? 1.0 : (double)src[k][j]);
      l[k] = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    }
    x[i] = l[0];
    y[i] = l[1];
    xx[i] = l[0] * l[0];
    yy[i] = l[1] * l[1];
    xy[i] = l[0] * l[1];
  }
  blur(x, tmp, mx, w, h);
  blur(y, tmp, my, w, h);
  blur(xx, tmp, sxx, w, h);
  blur(yy, tmp, syy, w, h);
  blur(xy, tmp, sxy, w, h);
  const double C1 = 0.01 * 0.01, C2 = 0.03 * 0.03;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    double vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i];
    sum += ((2.0 * mx[i] * my[i] + C1) * (2.0 * cxy + C2)) / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
  }
  free(buf);
  return sum / (double)n;
}

void ngp_reference_image(const ngp_image *img, const float bg[3], float *out) {
  size_t n = (size_t)img->width * (size_t)img->height;
  for (size_t i = 0; i < n; i++) {
    const uint8_t *p = img->rgba + i * 4;
    float a = (float)p[3] / 255.0f;
    for (int c = 0; c < 3; c++)
      out[i * 3 + c] = (float)p[c] / 255.0f * a + (1.0f - a) * bg[c];
  }
}

ngp_status ngp_eval_views(ngp_backend *b, const ngp_scene *views, const float bg[3], int spp, ngp_eval_result *res,
                          ngp_error *err) {
  return ngp_eval_views_each(b, views, bg, spp, NULL, res, NULL, NULL, err);
}

ngp_status ngp_eval_views_each(ngp_backend *b, const ngp_scene *views, const float bg[3], int spp, int (*stop)(void),
                               ngp_eval_result *res, double *view_psnr, double *view_ssim, ngp_error *err) {
  memset(res, 0, sizeof *res);
  res->psnr_min = HUGE_VAL;
  res->psnr_max = -HUGE_VAL;
  ngp_progress prog;
  ngp_progress_begin(&prog, "test views", views->n_frames);
  for (int i = 0; i < views->n_frames && !(stop && stop()); i++) {
    const ngp_frame *f = &views->frames[i];
    size_t np = (size_t)f->image.width * (size_t)f->image.height;
    float *img = malloc(np * 3 * sizeof(float)), *ref = malloc(np * 3 * sizeof(float));
    if (!img || !ref) {
      free(img);
      free(ref);
      ngp_progress_end(&prog);
      return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory rendering %s", f->file_path);
    }
    ngp_render_opts o = {.width = f->image.width,
                         .height = f->image.height,
                         .bg = {bg[0], bg[1], bg[2]},
                         .min_transmittance = 1e-4f,
                         .spp = spp,
                         .seed = (uint64_t)i};
    ngp_render_camera cam = {f->xform, {f->focal[0], f->focal[1]}, {f->principal[0], f->principal[1]}, &f->lens};
    ngp_status st = ngp_backend_render(b, &cam, &o, img, err);
    if (st != NGP_OK) {
      free(img);
      free(ref);
      ngp_progress_end(&prog);
      return st;
    }
    /* The render as a saved 8-bit PNG holds it. */
    for (size_t k = 0; k < np * 3; k++)
      img[k] = (float)ngp_unit_to_u8(img[k]) / 255.0f;
    ngp_reference_image(&f->image, bg, ref);
    double p = ngp_psnr(img, ref, np), s = ngp_ssim(img, ref, f->image.width, f->image.height);
    if (view_psnr) view_psnr[i] = p;
    if (view_ssim) view_ssim[i] = s;
    free(img);
    free(ref);
    res->psnr_mean += p;
    res->ssim_mean += s;
    if (p < res->psnr_min) res->psnr_min = p;
    if (p > res->psnr_max) res->psnr_max = p;
    res->n_views++;
    ngp_progress_update(&prog, i + 1);
  }
  ngp_progress_end(&prog);
  if (res->n_views) {
    res->psnr_mean /= res->n_views;
    res->ssim_mean /= res->n_views;
  }
  return NGP_OK;
}

static cJSON *number_or_null(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

ngp_status ngp_eval_write_json(const char *path, const char *transforms, const ngp_scene *views,
                               const ngp_eval_result *res, const double *view_psnr, const double *view_ssim,
                               const float bg[3], int spp, int training_step, ngp_error *err) {
  cJSON *root = cJSON_CreateObject(), *list = cJSON_CreateArray(), *bgj = cJSON_CreateArray();
  bool ok = root && list && bgj;
  if (ok) {
    cJSON_AddItemToObject(root, "transforms", cJSON_CreateString(transforms));
    cJSON_AddItemToObject(root, "convention",
                          cJSON_CreateString("ground truth's 8-bit sRGB composited over the background in sRGB; "
                                             "render quantised to 8 bits; PSNR per view, then the mean; SSIM on "
                                             "luminance (run.py's)"));
    for (int c = 0; c < 3; c++)
      cJSON_AddItemToArray(bgj, cJSON_CreateNumber((double)bg[c]));
    cJSON_AddItemToObject(root, "background", bgj);
    bgj = NULL;
    cJSON_AddNumberToObject(root, "spp", spp);
    cJSON_AddNumberToObject(root, "training_step", training_step);
    cJSON_AddNumberToObject(root, "n_views", res->n_views);
    cJSON_AddItemToObject(root, "psnr_mean", number_or_null(res->psnr_mean));
    cJSON_AddItemToObject(root, "psnr_min", number_or_null(res->psnr_min));
    cJSON_AddItemToObject(root, "psnr_max", number_or_null(res->psnr_max));
    cJSON_AddItemToObject(root, "ssim_mean", number_or_null(res->ssim_mean));
    for (int i = 0; i < res->n_views && i < views->n_frames; i++) {
      cJSON *v = cJSON_CreateObject();
      if (!v) {
        ok = false;
        break;
      }
      cJSON_AddItemToObject(v, "file_path", cJSON_CreateString(views->frames[i].file_path));
      cJSON_AddItemToObject(v, "psnr", number_or_null(view_psnr[i]));
      cJSON_AddItemToObject(v, "ssim", number_or_null(view_ssim[i]));
      cJSON_AddItemToArray(list, v);
    }
    cJSON_AddItemToObject(root, "views", list);
    list = NULL;
  }
  char *text = ok ? cJSON_Print(root) : NULL;
  cJSON_Delete(root);
  cJSON_Delete(list);
  cJSON_Delete(bgj);
  if (!text) return ngp_error_set(err, NGP_ERR_NOMEM, "%s: out of memory writing the metrics", path);
  size_t len = strlen(text);
  text[len] = '\n'; /* over cJSON's closing NUL: the file ends with a newline */
  char *parent = ngp_path_dirname(path);
  ngp_status st = parent ? ngp_mkdir_p(parent, err) : ngp_error_set(err, NGP_ERR_NOMEM, "out of memory");
  free(parent);
  if (st == NGP_OK) st = ngp_write_file_atomic(path, text, len + 1, err);
  free(text);
  return st;
}
