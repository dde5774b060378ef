/* ngp_cuda.h: the CUDA backend's own C API (present when the library is built with NGP_HAVE_CUDA):
 * device selection, the trainer and the renderer that the CUDA backend (backend_cuda.c) puts
 * behind the engine's backend interface (engine/backend.h), and device memory for the tests.
 * Nothing above the engine calls these: the application, the viewer and the benchmark go through
 * the interface (the doctor may still probe devices).
 *
 * Snapshots are interchangeable with the CPU backend's: the device keeps the fp32 master weights,
 * the EMA and the occupancy densities in the CPU layout ([density MLP | colour MLP | hash grid],
 * Morton-ordered cascades), and sync_inference copies them back into the ngp_nerf.
 *
 * Threads: one trainer per thread at a time; a renderer's render calls on one thread, its
 * publish on another only when it was created concurrent. Every failure is one line in err->msg
 * (or `why`) saying what was looked for and the fix. */
#ifndef NGP_CUDA_H
#define NGP_CUDA_H

#include <stddef.h>

#include "ngp/common.h"
#include "ngp/scene.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "nerf/nerf.h"

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
 * schedule. All device memory is allocated by create; a step allocates nothing and never waits for
 * its own work: it queues the step, then waits for the previous step to end (the device stays busy
 * with the new one) and reports that step's numbers, copied to pinned host memory as it ended.
 *
 * Differences from the CPU trainer that do not change the method: the MLPs run in fp16 on tensor
 * cores with fp32 accumulation and fp32 master weights (as tiny-cuda-nn does), the encoding reads
 * an fp16 copy of the hash table that Adam keeps beside the fp32 master (renders, snapshots and
 * the EMA use the fp32 weights), and rays are marched
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
/* Queues one training step and waits for the step before it. stats (may be NULL) gets the numbers
 * of that previous step, one call late: stats->step is the step they are of (-1 after the first
 * call, all else zero). The t_* fields are device times per phase measured with events. */
ngp_status ngp_cuda_trainer_step(ngp_cuda_trainer *t, ngp_step_stats *stats, ngp_error *err);
/* Waits for the last step queued and writes its numbers into stats, exactly as the next step call
 * would report them (stats->step = -1 before any step). For the end of training and snapshots. */
ngp_status ngp_cuda_trainer_last_stats(ngp_cuda_trainer *t, ngp_step_stats *stats, ngp_error *err);
int ngp_cuda_trainer_steps_done(const ngp_cuda_trainer *t);
/* Steps not applied because their loss or a gradient was NaN or infinite (stats->skipped says it
 * per step): nothing changed but the gradients' reset, as on the CPU (ngp_trainer_skipped_steps).
 * Waits for the device. */
ngp_status ngp_cuda_trainer_skipped_steps(ngp_cuda_trainer *t, int *skipped, ngp_error *err);
/* For tests comparing backends (ngp_trainer_capture_grads): from now on each step also writes its
 * gradients (of the mean loss over its rays, before the optimizer; fp32, the loss scale divided
 * out) into grads [n_params] (host memory), waiting for the device; NULL stops it. */
void ngp_cuda_trainer_capture_grads(ngp_cuda_trainer *t, float *grads);
/* Downloads the EMA weights into n->inference, the training weights into n->params and the
 * occupancy grid (densities, bitfield, mean, counts) into n->occ, so the CPU code (snapshots)
 * sees the trained model. */
ngp_status ngp_cuda_trainer_sync_inference(ngp_cuda_trainer *t, ngp_error *err);
void ngp_cuda_trainer_destroy(ngp_cuda_trainer *t);

/* The debiased EMA weights (the training weights before the first step) into weights [n_params]
 * and the occupancy bitfield into bitfield, both device memory, and waits for them. */
ngp_status ngp_cuda_trainer_export_model(ngp_cuda_trainer *t, float *weights, uint8_t *bitfield, ngp_error *err);

/* ---- Rendering ---------------------------------------------------------------------------------
 * The semantics of ngp_nerf_render: rgb [H][W][3] on the host, sRGB in [0,1], background o->bg, a
 * pixel done when its transmittance falls below o->min_transmittance, o->spp jittered starts
 * averaged, the same jitter sequence from o->seed; o->mode, o->near_distance and the crop box as
 * ngp_nerf_render takes them. A renderer owns its model on the device (fp32
 * weights, their fp16 copy, the bitfield) and its work buffers; nothing is cached process-wide. */
typedef struct ngp_cuda_renderer ngp_cuda_renderer;

/* A renderer for models of n's layout (n must outlive it; its weights are loaded separately).
 * concurrent: a second weights/bitfield pair takes publish's handover while renders go on. */
ngp_status ngp_cuda_renderer_create(ngp_cuda_renderer **r, const ngp_nerf *n, bool concurrent, ngp_error *err);
void ngp_cuda_renderer_destroy(ngp_cuda_renderer *r);
/* Loads weights [n_params] and bitfield (host or device memory) as what renders use, generation
 * `generation`. Not while another thread renders or publishes. */
ngp_status ngp_cuda_renderer_load(ngp_cuda_renderer *r, const float *weights, const uint8_t *bitfield,
                                  uint64_t generation, ngp_error *err);
/* The trainer's current EMA weights and bitfield as generation `generation`: straight into what
 * renders use, or (concurrent) into the handover pair that acquire takes. */
ngp_status ngp_cuda_renderer_publish(ngp_cuda_renderer *r, ngp_cuda_trainer *t, uint64_t generation, ngp_error *err);
/* Render side: takes the handover pair if it is newer (never blocks); returns the generation used. */
uint64_t ngp_cuda_renderer_acquire(ngp_cuda_renderer *r);
bool ngp_cuda_renderer_newer_pending(ngp_cuda_renderer *r);
/* Renders pixels [pixel_begin, pixel_end) into those of rgb (host or device memory; the whole
 * image: 0 and W*H), in waves
 * of rays; before each wave but the first keep_going(user) is asked (NULL: always go on); *next:
 * the end of what was rendered. */
ngp_status ngp_cuda_renderer_render(ngp_cuda_renderer *r, const float *xform, const float focal[2],
                                    const float principal[2], const ngp_lens *lens, const ngp_render_opts *o,
                                    uint64_t pixel_begin, uint64_t pixel_end, bool (*keep_going)(void *), void *user,
                                    uint64_t *next, float *rgb, ngp_error *err);

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
