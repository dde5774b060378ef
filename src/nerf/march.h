/* march.h (internal): camera rays, ray marching through the occupancy grid with instant-ngp's
 * step rule, and volume rendering forward and backward (NGP-SPEC §1.4, §5, §6). */
#ifndef NGP_NERF_MARCH_H
#define NGP_NERF_MARCH_H

#include "ngp/config.h"
#include "ngp/scene.h"
#include "nerf/occupancy.h"

/* The ray through image position uv in [0,1)^2 (from the top-left corner; a pixel centre is
 * (x+0.5)/W) of a camera: xform is camera-to-world in ngp units (3x4 row-major), focal in
 * pixels, principal point as a fraction, lens as loaded; width/height the image size. Origin in
 * ngp units, direction normalised. Distorted lenses are undistorted by Newton iteration. */
void ngp_camera_ray(const float *xform, const float focal[2], const float principal[2], const ngp_lens *lens, int width,
                    int height, float u, float v, float origin[3], float dir[3]);

/* The cone angle instant-ngp uses for a scene: 0 when aabb_scale <= 1, else 1/256. */
float ngp_cone_angle(int aabb_scale);

/* Marches one ray through the box [aabb_min, aabb_max] and the occupancy grid: the start is the
 * box entry (t >= 0) advanced by jitter (in [0,1)) steps; samples are taken only in occupied
 * cells, empty cells are skipped to their boundary on the step lattice, or that of the empty block
 * around them (ngp_march_next). blocks: g's block summaries (ngp_occupancy_blocks), or NULL (then
 * blocks up to 8^3 only; the same samples up to rounding). Writes at most max_samples samples:
 * pos [k][3] (ngp units), dt [k] (the step at that sample) and t [k]. Returns the count. */
int ngp_march_ray(const ngp_occupancy *g, const uint8_t *blocks, const float aabb_min[3], const float aabb_max[3],
                  float cone_angle, const float origin[3], const float dir[3], float jitter, int max_samples,
                  float *pos, float *dt, float *t);

/* Resumable marching, for rendering: ngp_march_start gives the jittered start and the box exit
 * (false if the ray misses the box); ngp_march_segment then takes up to max_samples samples from
 * *t_io on and leaves *t_io where the next call continues (past t_exit, or INFINITY, when the ray
 * is done). ngp_march_ray is start + one segment. t may be NULL. */
bool ngp_march_start(const float aabb_min[3], const float aabb_max[3], float cone_angle, const float origin[3],
                     const float dir[3], float jitter, float *t_start, float *t_exit);
int ngp_march_segment(const ngp_occupancy *g, const uint8_t *blocks, const float aabb_min[3], const float aabb_max[3],
                      float cone_angle, const float origin[3], const float dir[3], float *t_io, float t_exit,
                      int max_samples, float *pos, float *dt, float *t);

/* Volume rendering of one ray's k samples, in order. raw_rgb [k][3] (before the sigmoid),
 * raw_density [k] (before exp), dt [k], bg [3]. Writes the colour to out[3] and returns the
 * number of samples composited before the transmittance fell below 1e-4 (the rest contribute
 * nothing); *transmittance gets the final T. The background is added only if the ray was not
 * cut off. */
int ngp_composite_forward(int k, const float *raw_rgb, const float *raw_density, const float *dt, const float bg[3],
                          float out[3], float *transmittance);

/* Backward of ngp_composite_forward: given dL/dC (dcolor[3]), writes d raw_rgb [k][3] and
 * d raw_density [k] (overwritten; samples after the cut-off get 0). The density derivative uses
 * exp(clamp(raw, -15, 15)) as instant-ngp does. */
void ngp_composite_backward(int k, const float *raw_rgb, const float *raw_density, const float *dt, const float bg[3],
                            const float dcolor[3], float *draw_rgb, float *draw_density);

/* Per-channel loss of a prediction against a target (NGP-SPEC §6: Huber is delta 0.1 divided
 * by 5, i.e. L2 near zero). Returns the loss summed over 3 channels and writes dL/dpred. */
float ngp_loss_rgb(ngp_loss_type type, const float pred[3], const float target[3], float grad[3]);

#endif
