/* cuda/rays.h (internal): training rays from the scene's images, uploaded once as RGBA8
 * (trainer.c ray_setup on the GPU: the same counter-based randomness, so both backends draw the
 * same pixels, backgrounds and jitters for a given seed and step). */
#ifndef NGP_CUDA_RAYS_H
#define NGP_CUDA_RAYS_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One training camera as the kernels read it (from ngp_frame). */
typedef struct ngp_cuda_frame {
  float xform[12];    /* camera-to-world, ngp units, 3x4 row-major */
  float focal[2];     /* pixels */
  float principal[2]; /* fraction of the image size */
  float lens_params[4];
  int lens_mode; /* ngp_lens_mode */
  int width, height;
  int pad_;
  uint64_t pixel_offset; /* byte offset of its RGBA8 rows in the uploaded pixel blob */
} ngp_cuda_frame;

/* Per ray i < n (n = *d_n_rays): image ngp_train_ray_image_rotated(i, n, n_frames, step) (floor(i
 * n_frames / n) after a per-step rotation; at step 0 unrotated), a random pixel snapped to its centre,
 * the camera ray (origin [N][3], unit dir [N][3]), the background bg [N][3] (uniform random sRGB
 * when random_bg, else black), the target [N][3] (the pixel over bg in linear light, as sRGB) and
 * the marching jitter [N]. `step` is the training step (part of the random counter). Thread 0
 * also copies n into *d_n_rays_out when that is not NULL (for the step's statistics). */
void ngp_rays_train_cuda(const ngp_cuda_frame *frames, int n_frames, const uint8_t *pixels, const uint32_t *d_n_rays,
                         uint32_t max_rays, uint64_t seed, uint32_t step, int random_bg, float *origin, float *dir,
                         float *bg, float *target, float *jitter, uint32_t *d_n_rays_out, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
