/* rays.cu: training rays (trainer.c ray_setup): pixel choice, camera ray with lens undistortion,
 * random background, the linear-light target, and the jitter, from the shared per-ray maths. */
#include "cuda/cuda_common.cuh"
#include "cuda/rays.h"
#include "common/ngp_march_math.h"

__global__ void rays_train_kernel(const ngp_cuda_frame *frames, int n_frames, const uint8_t *pixels,
                                  const uint32_t *d_n_rays, uint32_t max_rays, uint64_t seed, uint32_t step,
                                  int random_bg, float *origin, float *dir, float *bg, float *target, float *jitter,
                                  uint32_t *d_n_rays_out) {
  const uint32_t n = ngp_dev_count(d_n_rays, max_rays);
  const uint32_t i = ngp_thread_index();
  if (i == 0 && d_n_rays_out) *d_n_rays_out = n;
  if (i >= n) return;
  /* rotated per step: the suffix a full buffer drops is not always the last images */
  const ngp_cuda_frame *f = &frames[ngp_train_ray_image_rotated((int)i, (int)n, n_frames, step)];
  const int w = f->width, h = f->height;
  int px = (int)(ngp_train_rand01(seed, step, i, 0) * (float)w),
      py = (int)(ngp_train_rand01(seed, step, i, 1) * (float)h);
  if (px >= w) px = w - 1;
  if (py >= h) py = h - 1;
  const float u = ((float)px + 0.5f) / (float)w, v = ((float)py + 0.5f) / (float)h;
  float o[3], d[3], b[3], tg[3];
  ngp_camera_ray_at(f->xform, f->focal, f->principal, f->lens_mode, f->lens_params, w, h, u, v, o, d);
  for (int c = 0; c < 3; c++)
    b[c] = random_bg ? ngp_train_rand01(seed, step, i, 2 + (uint64_t)c) : 0.0f;
  ngp_train_target(pixels + f->pixel_offset + ((size_t)py * (size_t)w + (size_t)px) * 4, b, tg);
  for (int c = 0; c < 3; c++) {
    origin[i * 3 + c] = o[c];
    dir[i * 3 + c] = d[c];
    bg[i * 3 + c] = b[c];
    target[i * 3 + c] = tg[c];
  }
  jitter[i] = ngp_train_rand01(seed, step, i, 5);
}

extern "C" void ngp_rays_train_cuda(const ngp_cuda_frame *frames, int n_frames, const uint8_t *pixels,
                                    const uint32_t *d_n_rays, uint32_t max_rays, uint64_t seed, uint32_t step,
                                    int random_bg, float *origin, float *dir, float *bg, float *target, float *jitter,
                                    uint32_t *d_n_rays_out, ngp_stream stream) {
  rays_train_kernel<<<ngp_cuda_blocks(max_rays, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      frames, n_frames, pixels, d_n_rays, max_rays, seed, step, random_bg, origin, dir, bg, target, jitter,
      d_n_rays_out);
}
