/* ngp_cuda.h: the CUDA backend's C API (present when the library is built with NGP_HAVE_CUDA).
 * Plain C, includable from the application; the same model (ngp_nerf), options and statistics as
 * the CPU trainer, so choosing a backend is a few lines:
 *
 *   #ifdef NGP_HAVE_CUDA
 *   #include "ngp_cuda.h"
 *   #endif
 *   ...
 *   int dev = -1;                       // -1: the first usable device
 *   char why[512];
 *   if (ngp_cuda_select_device(&dev, why, sizeof why) != NGP_OK) {
 *     fprintf(stderr, "instant-ngp: using the CPU: %s\n", why);   // --backend auto
 *   } else {
 *     ngp_cuda_trainer *t;
 *     if (ngp_cuda_trainer_create(&t, &nerf, &scene, &opts, &err) != NGP_OK) { puts(err.msg); ... }
 *     while (...) if (ngp_cuda_trainer_step(t, &stats, &err) != NGP_OK) { puts(err.msg); ... }
 *     ngp_cuda_trainer_sync_inference(t, &err);   // nerf.inference, nerf.params, nerf.occ filled
 *     ngp_snapshot_save(path, &nerf, nerf.inference, &meta, &err);   // the CPU snapshot code
 *     ngp_cuda_render(&nerf, nerf.inference, xform, focal, principal, &lens, &ro, rgb, &err);
 *     ngp_cuda_trainer_destroy(t);
 *   }
 *
 * Snapshots are interchangeable with the CPU backend's: the device keeps the fp32 master weights,
 * the EMA and the occupancy densities in the CPU layout ([density MLP | colour MLP | hash grid],
 * Morton-ordered cascades), and sync_inference copies them back into the ngp_nerf.
 *
 * Threads: one trainer or renderer per thread at a time; the render cache (see ngp_cuda_render)
 * is process-wide. Every failure is one line in err->msg (or `why`) saying what was looked for
 * and the fix. */
#ifndef NGP_CUDA_H
#define NGP_CUDA_H

#include <stddef.h>

#include "ngp/common.h"
#include "ngp/scene.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "nerf.h"

/* CUDART_VERSION the library was built with (e.g. 13000 for 13.0). */
int ngp_cuda_runtime_version(void);

/* The CUDA driver's version (cudaDriverGetVersion), or 0 when no driver can be loaded. */
int ngp_cuda_driver_version(void);

/* The architectures the library carries code for, as CMAKE_CUDA_ARCHITECTURES gave them,
 * comma-separated, e.g. "75,80,86,89,90" ("90-real" = machine code only, "90-virtual" = PTX only,
 * plain "90" = both). */
const char *ngp_cuda_architectures(void);

/* Whether the library has code that runs on a device of compute capability major.minor: machine
 * code for exactly that architecture, or PTX for an architecture at or below it (which the driver
 * compiles at first use). */
bool ngp_cuda_arch_supported(int major, int minor);

/* Finds a usable device and makes it current. *device: the device to use, or -1 for the first
 * usable one (written back). On failure returns NGP_ERR_UNSUPPORTED and writes one line into
 * why[n] naming the cause and the fix: no NVIDIA driver (libcuda.so.1 not found, with where the
 * loader looked), a driver older than this build's runtime, no device, no code for the device's
 * compute capability, or a device that cannot be used (busy, prohibited mode). */
ngp_status ngp_cuda_select_device(int *device, char *why, size_t n);

/* One line about the current device: name, compute capability, memory, driver and runtime. */
void ngp_cuda_device_describe(char *out, size_t n);
/* Free and total memory of the current device (cudaMemGetInfo); zeros without a device. */
void ngp_cuda_memory_info(size_t *free_bytes, size_t *total_bytes);

/* ---- Training ---------------------------------------------------------------------------------
 * The same step as the CPU trainer (NGP-SPEC §5-§7) as a fixed sequence of kernels on one stream:
 * rays from the images (uploaded once as RGBA8), marching with compaction (count, prefix sum,
 * write), density inference, transmittance compaction, hash encoding, fused MLPs, SH,
 * compositing + loss and their backward, Adam + EMA, and the occupancy grid on instant-ngp's
 * schedule. All device memory is allocated by create; a step allocates nothing and waits for the
 * device only to read back the few numbers of ngp_step_stats (not at all when stats is NULL).
 *
 * Differences from the CPU trainer that do not change the method: the MLPs run in fp16 on tensor
 * cores with fp32 accumulation and fp32 master weights (as tiny-cuda-nn does), and rays are marched
 * to their end before the transmittance cut (instant-ngp's order) instead of in rounds. The
 * occupancy update uses opts->grid_sample_fraction as given: pass 1 for instant-ngp's sample
 * counts (the CPU default 0.125 exists because a CPU is slow at it). */
typedef struct ngp_cuda_trainer ngp_cuda_trainer;

/* Uploads the model (n->params), the scene's images and the occupancy grid (marked from the
 * training cameras on the CPU, as ngp_trainer_create does), and allocates every buffer. The
 * trainer keeps pointers to n and scene: they must outlive it. Fails with one line for an
 * unsupported config (the fused MLP needs every layer width <= 64 and at most 4 hidden layers;
 * hash encoding L*F <= 64), no usable device, or not enough device memory (what, how much, free
 * and total, and the hint: a smaller --batch-size or config). */
ngp_status ngp_cuda_trainer_create(ngp_cuda_trainer **t, ngp_nerf *n, const ngp_scene *scene, const ngp_train_opts *o,
                                   ngp_error *err);
/* One training step. stats (may be NULL) gets this step's numbers (the device is waited for); the
 * t_* fields are device times per phase measured with events. */
ngp_status ngp_cuda_trainer_step(ngp_cuda_trainer *t, ngp_step_stats *stats, ngp_error *err);
int ngp_cuda_trainer_steps_done(const ngp_cuda_trainer *t);
/* Downloads the EMA weights into n->inference, the training weights into n->params and the
 * occupancy grid (densities, bitfield, mean, counts) into n->occ, so the CPU code (snapshots,
 * ngp_nerf_render, evaluation) sees the trained model. Also invalidates the render cache. */
ngp_status ngp_cuda_trainer_sync_inference(ngp_cuda_trainer *t, ngp_error *err);
void ngp_cuda_trainer_destroy(ngp_cuda_trainer *t);

/* ---- Rendering ---------------------------------------------------------------------------------
 * The semantics of ngp_nerf_render (same arguments plus err): rgb [H][W][3] on the host, sRGB in
 * [0,1], background o->bg, a pixel done when its transmittance falls below o->min_transmittance,
 * o->spp jittered starts averaged, the same jitter sequence from o->seed.
 *
 * The model (weights: n_params floats on the host, normally n->inference; n->occ's densities and
 * bitfield) is uploaded on first use into a process-wide cache and re-uploaded when anything in
 * its key changes: the ngp_nerf and weights pointers, the parameter count, a generation counter,
 * and a checksum of 4096 weights and of the bitfield sampled at fixed strides (so a model loaded
 * into a freed-and-reused allocation is noticed). The generation counter moves with
 * ngp_cuda_trainer_sync_inference and ngp_cuda_render_invalidate: call the latter after changing
 * weights in place by other means. */
ngp_status ngp_cuda_render(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                           const float principal[2], const ngp_lens *lens, const ngp_render_opts *o, float *rgb,
                           ngp_error *err);
void ngp_cuda_render_invalidate(void);
/* Frees the render cache's device memory (it is rebuilt on the next render). */
void ngp_cuda_render_release(void);

/* ---- Device memory for tests and tools (C callers cannot include the CUDA runtime) ------------- */
/* cudaMalloc with the backend's out-of-memory message ("what" names the buffer). */
ngp_status ngp_cuda_alloc(void **ptr, size_t bytes, const char *what, ngp_error *err);
void ngp_cuda_free(void *ptr);
ngp_status ngp_cuda_upload(void *dst, const void *src, size_t bytes, ngp_error *err);
ngp_status ngp_cuda_download(void *dst, const void *src, size_t bytes, ngp_error *err);
ngp_status ngp_cuda_memset(void *dst, int value, size_t bytes, ngp_error *err);
/* Waits for the device and reports any pending error (a failed kernel) with the hint. */
ngp_status ngp_cuda_sync(ngp_error *err);

#ifdef __cplusplus
}
#endif
#endif
