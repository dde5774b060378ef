/* error_map.h (internal): where the CPU trainer draws its rays, following the training error
 * (NGP-SPEC §6: instant-ngp's error-map importance sampling, there off by default).
 *
 * Each training image is cut into res x res cells (N images, C = res^2 cells each). A cell keeps a
 * running mean of the loss of the rays drawn in it. Every so often (ngp_error_map_due) each
 * image's cells become a cumulative distribution; from then on a ray of that image comes from a
 * cell drawn in proportion to its error (with a floor, so no cell starves) with probability
 * NGP_ERROR_MAP_FOLLOW, else uniformly from the whole image, as without the map. Which image a
 * ray belongs to does not change (every batch still covers every image equally), and the
 * gradients are not reweighted (as instant-ngp's are not): the loss simply looks harder where it
 * is high. */
#ifndef NGP_NERF_ERROR_MAP_H
#define NGP_NERF_ERROR_MAP_H

#include <stdbool.h>
#include <stdint.h>

#include "ngp/common.h" /* ngp_status, ngp_error */

#define NGP_ERROR_MAP_FOLLOW 0.5f /* the fraction of rays drawn from the map */
#define NGP_ERROR_MAP_RATE 0.1f   /* a ray's weight in its cell's running mean */
#define NGP_ERROR_MAP_FLOOR 0.1f  /* every cell weighs at least this times its image's mean error */
#define NGP_ERROR_MAP_FIRST 128   /* steps before the first distribution */

typedef struct ngp_error_map {
  int n_images, res;
  float *err; /* [N][C] running mean loss per cell, row-major cells (cy * res + cx) */
  float *cdf; /* [N][C] per image: cumulative weights over its cells, the last 1 */
  bool ready; /* a distribution has been made (before it, every ray is uniform) */
  int next;   /* the trainer's step count at which the next distribution is due */
  int every;  /* the current interval: NGP_ERROR_MAP_FIRST, then 1.5 times longer each time */
} ngp_error_map;

/* Cells per side: about 3.5 times the fourth root of the rays an image gets between two
 * distributions (instant-ngp's rule, so a cell sees a few rays per interval), at least 1, at most
 * the smaller image side. */
int ngp_error_map_side(int rays_per_step, int n_images, int min_image_side);

ngp_status ngp_error_map_init(ngp_error_map *m, int n_images, int res, ngp_error *err);
void ngp_error_map_free(ngp_error_map *m);

/* Whether the trainer's step count `steps` (0-based, steps this trainer has taken) makes a new
 * distribution; when it does, it also schedules the next one. */
bool ngp_error_map_due(ngp_error_map *m, int steps);

/* Each image's cells into a distribution: weight = err + FLOOR * (the image's mean err), or all
 * equal where an image has no error recorded yet. */
void ngp_error_map_rebuild(ngp_error_map *m);

/* Where pixel (px, py) of image img (w x h) keeps its error: img * res^2 + its cell. */
int ngp_error_map_slot(const ngp_error_map *m, int img, int px, int py, int w, int h);

/* One ray's loss into its slot (ngp_error_map_slot); a non-finite loss is ignored. */
void ngp_error_map_record(ngp_error_map *m, int slot, float loss);

/* A pixel of image img (w x h) from four uniform numbers in [0, 1): `pick` < FOLLOW (and a
 * distribution made) draws the cell by `u_cell` and the pixel inside it by (ux, uy); otherwise
 * the pixel is (ux * w, uy * h), the uniform draw. Always inside the image. Returns whether the
 * pixel came from the map (false: the uniform draw). */
bool ngp_error_map_draw(const ngp_error_map *m, int img, int w, int h, float pick, float u_cell, float ux, float uy,
                        int *px, int *py);

#endif
