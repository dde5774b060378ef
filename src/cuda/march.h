/* cuda/march.h (internal): marching rays through the occupancy bitfield on the GPU
 * (march.c on the CPU; the per-sample rule is ngp_march_next in ngp_march_math.h).
 *
 * Training uses instant-ngp's two passes with compaction: count every ray's samples, prefix-sum
 * the counts (cuda_scan.h) into offsets, then march again writing each ray's samples contiguously
 * at its offset, so samples are in ray order with no gaps and no atomics on the samples.
 * Rendering marches resumable segments of live rays. */
#ifndef NGP_CUDA_MARCH_H
#define NGP_CUDA_MARCH_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The scene box, step rule and occupancy bitfield as the marcher reads them. */
typedef struct ngp_cuda_march {
  float aabb_min[3], aabb_max[3];
  float cone_angle;
  int max_mip;             /* occupancy cascades - 1 */
  const uint8_t *bitfield; /* [cascades][128^3/8] on the device, or NULL: everything occupied */
} ngp_cuda_march;

/* Count pass, per ray r < n (n = min(*d_n_rays, max_rays)): the jittered start t_start[r] and the
 * box exit t_exit[r] (t_start = +inf, t_exit = -1 for a ray that misses the box), and count[r] =
 * the samples ngp_march_ray would take, at most max_samples. origin, dir: [N][3]; jitter: [N]. */
void ngp_march_count_cuda(const ngp_cuda_march *mp, const uint32_t *d_n_rays, uint32_t max_rays, const float *origin,
                          const float *dir, const float *jitter, int max_samples, float *t_start, float *t_exit,
                          uint32_t *count, ngp_stream stream);

/* Write pass: ray r's count[r] samples go to [offset[r], offset[r] + count[r]) when that ends at
 * or before cap; otherwise the ray is dropped: count[r] = 0 and dropped[r] = 1 (dropped may be
 * NULL; it is not cleared for rays that fit). Per sample: x [S][3] the position warped to the
 * box ([0,1]^3, the hash grid's input), dt [S], t [S] (may be NULL) and sample_ray [S] = r (may be
 * NULL). *d_end (zeroed by the caller) becomes the end of the written samples (atomicMax). */
void ngp_march_write_cuda(const ngp_cuda_march *mp, const uint32_t *d_n_rays, uint32_t max_rays, const float *origin,
                          const float *dir, const float *t_start, const float *t_exit, uint32_t *count,
                          const uint32_t *offset, uint32_t cap, uint8_t *dropped, float *x, float *dt, float *t,
                          uint32_t *sample_ray, uint32_t *d_end, ngp_stream stream);

/* Rendering, one segment per live ray: for slot i < n_live (*d_n_live), ray r = live[i] marches up
 * to min(m, max_samples - marched[r]) more samples from t_cur[r] (advanced) into slots
 * [i*m, i*m + len): x [][3] warped, pos [][3] the same positions in ngp units (may be NULL: the
 * render modes, the crop box), dt []; seg_count[i] = len. Slots past len get x (and pos) at the
 * box centre and dt 0 (harmless for the networks, ignored by compositing). march_done[r] becomes 1
 * when the ray left the box or reached max_samples. */
void ngp_march_segment_cuda(const ngp_cuda_march *mp, const uint32_t *d_n_live, uint32_t max_live, const uint32_t *live,
                            const float *origin, const float *dir, float *t_cur, const float *t_exit, uint32_t *marched,
                            uint8_t *march_done, int m, int max_samples, float *x, float *pos, float *dt,
                            uint32_t *seg_count, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
