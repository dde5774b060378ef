/* error_map.c: the CPU trainer's error map (error_map.h). */
#include "nerf/error_map.h"

#include <math.h>
#include <stdlib.h>

int ngp_error_map_side(int rays_per_step, int n_images, int min_image_side) {
  double per_image = n_images > 0 ? (double)rays_per_step * NGP_ERROR_MAP_FIRST / (double)n_images : 0.0;
  int side = (int)(sqrt(sqrt(per_image)) * 3.5);
  if (side > min_image_side) side = min_image_side;
  return side < 1 ? 1 : side;
}

ngp_status ngp_error_map_init(ngp_error_map *m, int n_images, int res, ngp_error *err) {
  const size_t n = (size_t)n_images * (size_t)res * (size_t)res;
  m->n_images = n_images;
  m->res = res;
  m->err = calloc(n ? n : 1, sizeof *m->err);
  m->cdf = calloc(n ? n : 1, sizeof *m->cdf);
  m->ready = false;
  m->next = NGP_ERROR_MAP_FIRST;
  m->every = NGP_ERROR_MAP_FIRST;
  if (!m->err || !m->cdf) {
    ngp_error_map_free(m);
    return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the error map (%d images of %dx%d cells)", n_images,
                         res, res);
  }
  return NGP_OK;
}

void ngp_error_map_free(ngp_error_map *m) {
  free(m->err);
  free(m->cdf);
  m->err = m->cdf = NULL;
}

bool ngp_error_map_due(ngp_error_map *m, int steps) {
  if (steps < m->next) return false;
  m->every = m->every + m->every / 2;
  m->next = steps + m->every;
  return true;
}

void ngp_error_map_rebuild(ngp_error_map *m) {
  const int C = m->res * m->res;
  for (int i = 0; i < m->n_images; i++) {
    const float *e = m->err + (size_t)i * (size_t)C;
    float *cdf = m->cdf + (size_t)i * (size_t)C;
    double sum = 0.0;
    for (int k = 0; k < C; k++)
      sum += (double)e[k];
    const bool flat = !(sum > 0.0); /* nothing recorded yet (record keeps every value finite) */
    const double floor_w = (double)NGP_ERROR_MAP_FLOOR * sum / (double)C;
    double acc = 0.0, total = flat ? (double)C : sum * (1.0 + (double)NGP_ERROR_MAP_FLOOR);
    for (int k = 0; k < C; k++) {
      acc += flat ? 1.0 : (double)e[k] + floor_w;
      cdf[k] = (float)(acc / total);
    }
    cdf[C - 1] = 1.0f;
  }
  m->ready = true;
}

int ngp_error_map_slot(const ngp_error_map *m, int img, int px, int py, int w, int h) {
  int cx = (int)((long long)px * m->res / w), cy = (int)((long long)py * m->res / h);
  return (img * m->res + cy) * m->res + cx;
}

void ngp_error_map_record(ngp_error_map *m, int slot, float loss) {
  if (!isfinite(loss)) return; /* such a step is skipped whole; its loss says nothing of the cell */
  float *e = m->err + slot;
  *e += NGP_ERROR_MAP_RATE * (loss - *e);
}

/* The first pixel of cell c along a side of n pixels cut into res cells: ceil(c * n / res), so
 * that ngp_error_map_slot maps every pixel of [first(c), first(c + 1)) back to c. */
static int first_pixel(int c, int n, int res) { return (int)(((long long)c * n + res - 1) / res); }

bool ngp_error_map_draw(const ngp_error_map *m, int img, int w, int h, float pick, float u_cell, float ux, float uy,
                        int *px, int *py) {
  int x, y;
  const bool mapped = m->ready && pick < NGP_ERROR_MAP_FOLLOW;
  if (mapped) {
    const int C = m->res * m->res;
    const float *cdf = m->cdf + (size_t)img * (size_t)C;
    int lo = 0, hi = C - 1; /* the first cell whose cumulative weight exceeds u_cell */
    while (lo < hi) {
      int mid = lo + (hi - lo) / 2;
      if (cdf[mid] > u_cell)
        hi = mid;
      else
        lo = mid + 1;
    }
    const int cx = lo % m->res, cy = lo / m->res;
    const int x0 = first_pixel(cx, w, m->res), x1 = first_pixel(cx + 1, w, m->res);
    const int y0 = first_pixel(cy, h, m->res), y1 = first_pixel(cy + 1, h, m->res);
    x = x0 + (int)(ux * (float)(x1 - x0));
    y = y0 + (int)(uy * (float)(y1 - y0));
    if (x >= x1) x = x1 - 1;
    if (y >= y1) y = y1 - 1;
  } else {
    x = (int)(ux * (float)w);
    y = (int)(uy * (float)h);
  }
  *px = x < w ? x : w - 1;
  *py = y < h ? y : h - 1;
  return mapped;
}
