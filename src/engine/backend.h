/* engine/backend.h: the one interface between the engine and a device. Training, snapshots,
 * screenshots, test views, the viewer and the benchmark all go through it; nothing above this
 * header names a device's own functions.
 *
 * A backend instance owns one model on its device: created from a host model (ngp_nerf) and,
 * to train, a scene; it trains, renders and answers density queries on the device, and brings
 * its weights back to the host model when asked (snapshots). Two backends are built in:
 *   cpu   the reference engine (src/nerf), always there;
 *   cuda  src/cuda, in builds with the CUDA backend and where a usable device is present.
 * Others (a test's, a future one) are added with ngp_backend_register.
 *
 *   const ngp_backend_type *type;
 *   char why[1024];
 *   if (ngp_backend_choose("auto", &type, why, sizeof why) != NGP_OK) fail(why);
 *   printf("backend: %s (%s)\n", type->name, why);          // why: the sentence behind the choice
 *   ngp_backend *b;
 *   if (ngp_backend_create(type, &nerf, &scene, &opts, &b, &err) != NGP_OK) fail(err.msg);
 *   while (...) if (ngp_backend_train_step(b, &stats, &err) != NGP_OK) fail(err.msg);
 *   ngp_backend_last_stats(b, &stats, &err);                // the last step's numbers (may be late)
 *   ngp_backend_publish(b, &err);                           // the trained weights to the renderer
 *   ngp_backend_acquire(b);                                 // ... which now renders them
 *   ngp_backend_render(b, &cam, &ro, rgb, &err);
 *   ngp_backend_download(b, &err);                          // EMA weights + grid into nerf: save
 *   ngp_backend_destroy(b);
 *
 * Rendering and training may run on two threads at once (the viewer): training calls train_step
 * and publish; rendering calls acquire and the render functions; each side keeps its own buffers,
 * and the handover is the generation that publish makes and acquire takes. Everything else
 * (create, download, upload, destroy) is called while no other call on the instance runs. */
#ifndef NGP_ENGINE_BACKEND_H
#define NGP_ENGINE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nerf/nerf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A camera to render: camera-to-world in ngp units (3x4 row-major), intrinsics in pixels of the
 * image being rendered, and the lens (NULL fields: pinhole). */
typedef struct ngp_render_camera {
  const float *xform; /* [12] */
  float focal[2];
  float principal[2];
  const ngp_lens *lens; /* NULL: pinhole */
} ngp_render_camera;

typedef struct ngp_backend_opts {
  int n_threads; /* host threads (the CPU backend's compute; <= 0: all cores) */
  /* Used when a scene is given; grid_sample_fraction < 0, target_samples 0 and error_map -1 (the
   * defaults): the backend's own (the CPU's 0.125, NGP_CPU_BATCH_SAMPLES and the error map on;
   * instant-ngp's 1, 2^18 and uniform rays on a GPU, whose trainer refuses error_map 1). */
  ngp_train_opts train;
  /* Renders run on another thread than training (the viewer): publish copies the weights into a
   * second buffer instead of letting the renderer read the host model's. */
  bool concurrent_render;
} ngp_backend_opts;

void ngp_backend_opts_default(ngp_backend_opts *o);

typedef struct ngp_backend ngp_backend;

/* The functions of an instance. Each says what it does in one line; "(optional)" ones may be
 * NULL, and the ngp_backend_* wrapper below then does what the comment says instead. */
typedef struct ngp_backend_i {
  /* One line on the device: "2 threads, SIMD avx2", or the GPU's name, memory and driver. */
  void (*describe)(ngp_backend *b, char *out, size_t n);
  /* Frees everything the instance allocated (the host model and the scene stay the caller's). */
  void (*destroy)(ngp_backend *b);
  /* One training step; st (may be NULL) gets the numbers of a step: this one's, or, on a backend
   * that queues steps on a device (cuda), the previous one's, so that the device never waits for
   * the host: st->step says which step they are of (-1: none yet, every number zero). Fails with
   * NGP_ERR_INVALID without a scene, NGP_ERR_NOMEM when memory runs out, or a device error.
   * (optional: no training) */
  ngp_status (*train_step)(ngp_backend *b, ngp_step_stats *st, ngp_error *err);
  /* Waits for the steps queued and writes the last one's numbers into st (st->step = -1 before
   * any step): the numbers train_step reports one call late, exact at the end of training and
   * before a snapshot. (optional: train_step's numbers are its own step's; st->step = -1) */
  ngp_status (*last_stats)(ngp_backend *b, ngp_step_stats *st, ngp_error *err);
  /* The model on the device into the host model: EMA weights into nerf->inference, training
   * weights into nerf->params, the occupancy grid into nerf->occ (for snapshots). (optional:
   * the host model is always current) */
  ngp_status (*download)(ngp_backend *b, ngp_error *err);
  /* The host model onto the device, after the caller changed it (a snapshot loaded into it).
   * (optional: the backend reads the host model directly) */
  ngp_status (*upload)(ngp_backend *b, ngp_error *err);
  /* Training side: the current EMA weights and occupancy grid become the next generation for
   * the renderer. */
  ngp_status (*publish)(ngp_backend *b, ngp_error *err);
  /* Rendering side: switches to the newest published generation if one waits (never blocks on
   * training) and returns the generation the render functions now use (1: the initial model). */
  uint64_t (*acquire)(ngp_backend *b);
  /* Whether a generation newer than the acquired one waits (never blocks; false when unsure). */
  bool (*newer_pending)(ngp_backend *b);
  /* Renders cam into rgb [H][W][3] (host memory) with the acquired generation: what o->mode asks
   * (ngp_render_mode, nerf/nerf.h: shade is sRGB in [0,1]; depth, normals, positions and cost are
   * in ngp units), from o->near_distance on, seeing only what lies in o->crop_min..crop_max when
   * o->crop. A backend that cannot do a mode, the near distance or the crop box fails with
   * NGP_ERR_UNSUPPORTED and names it, never ignores it. */
  ngp_status (*render)(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                       ngp_error *err);
  /* Renders pixels [begin, end) (p = y * width + x) of the image render gives, equal to it, into
   * those pixels of rgb; asks keep_going(user) (NULL: always) before each piece of work and stops
   * when it says no; *next: the end of the rendered prefix. (optional: the whole image is
   * rendered and the range copied) */
  ngp_status (*render_pixels)(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin,
                              int end, ngp_render_continue_fn keep_going, void *user, int *next, float *rgb,
                              ngp_error *err);
  /* render, and into alpha [H][W] (host memory) each pixel's accumulated opacity, 0 where the
   * background shows through to 1 on opaque surfaces (transparent PNGs). (optional: fails with
   * NGP_ERR_UNSUPPORTED, "this backend renders no alpha") */
  ngp_status (*render_alpha)(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                             float *alpha, ngp_error *err);
  /* Rendering side: host threads the render functions use from now on (n <= 0: as created); the
   * viewer renders with fewer while training runs. (optional: ignored, e.g. a device renders) */
  void (*set_render_threads)(ngp_backend *b, int n);
  /* Waits until the device has done all the work queued on it (timing). (optional: calls return
   * when their work is done) */
  ngp_status (*synchronize)(ngp_backend *b, ngp_error *err);
  /* Raw density (before the activation) at S positions pos [S][3] in ngp units, with the
   * acquired generation's weights. (optional: the CPU reference on the host model, after a
   * download) */
  ngp_status (*density)(ngp_backend *b, int S, const float *pos, float *raw_density, ngp_error *err);
  /* Colour (sRGB in [0,1]) at S positions pos [S][3] in ngp units seen along unit directions dir
   * [S][3], with the acquired generation's weights (meshes' vertex colours). (optional: the CPU
   * reference on the host model, after a download) */
  ngp_status (*color)(ngp_backend *b, int S, const float *pos, const float *dir, float *rgb, ngp_error *err);

  /* The display side: a window whose GL context is current on the calling thread (the
   * viewer's render thread) shows the frames without a host copy. All four or none. (optional:
   * frames go through host memory) */
  /* Makes the GL pixel buffer object gl_buffer (bytes long, in the current context) the target of
   * display_write; fails, saying why, when the device cannot reach that context (another GPU, a
   * software renderer). Calling it again replaces the target. */
  ngp_status (*display_attach)(ngp_backend *b, unsigned gl_buffer, size_t bytes, ngp_error *err);
  /* Forgets the attached buffer (before the GL buffer is deleted or resized). */
  void (*display_detach)(ngp_backend *b);
  /* An image of `floats` floats in the backend's memory, for render_pixels to write instead of
   * host memory (NULL when it runs out); freed with image_free. */
  float *(*image_alloc)(ngp_backend *b, size_t floats);
  void (*image_free)(ngp_backend *b, float *img);
  /* Rows [row_begin, row_end) of img (from image_alloc, [..][width][3]) into the attached
   * buffer as RGBA8 (ngp_unit_to_u8, alpha 255) at the same rows, done before it returns. */
  ngp_status (*display_write)(ngp_backend *b, const float *img, int width, int row_begin, int row_end, ngp_error *err);
} ngp_backend_i;

struct ngp_backend {
  const ngp_backend_i *iface;
  const struct ngp_backend_type *type;
  ngp_nerf *model;        /* the host model (the caller's) */
  const ngp_scene *scene; /* NULL: renders only */
  void *context;          /* the backend's own state */
};

/* A kind of backend: how to find out whether it can run here, and how to make an instance. */
typedef struct ngp_backend_type {
  const char *name; /* "cpu", "cuda", ... as --backend takes it */
  /* Whether it can run on this machine; when not, one line on why and the fix. */
  bool (*available)(char *why, size_t n);
  /* An instance over the host model n (and scene: may be NULL, then it renders only). n and
   * scene must outlive it. */
  ngp_status (*create)(ngp_nerf *n, const ngp_scene *scene, const ngp_backend_opts *o, ngp_backend **out,
                       ngp_error *err);
} ngp_backend_type;

/* The built-in types ("cpu", and "cuda" in builds that have it), then the registered ones. */
int ngp_backend_count(void);
const ngp_backend_type *ngp_backend_get(int i);
/* Adds a type (a test's forwarding backend, ...); fails when the name is taken or the table is
 * full. The type must stay valid for the life of the program. */
ngp_status ngp_backend_register(const ngp_backend_type *type, ngp_error *err);

/* The first clause of a backend's reason for being unavailable ("no NVIDIA driver" of "no NVIDIA
 * driver: libcuda.so.1 was not found (...). Fix: ..."), followed by "; instant-ngp doctor says
 * why": the one line a CPU run prints, where the full text belongs to the doctor. */
void ngp_backend_short_reason(const char *why, char *out, size_t n);
/* The one place a backend is chosen. want: "cpu", "cuda", "auto" (cuda when a usable device is
 * there, else cpu) or a registered name. Returns NGP_OK with *out and, in why, the sentence that
 * says why this one ("as asked", "auto: a usable device is present", "auto: no NVIDIA driver
 * found ..."); NGP_ERR_UNSUPPORTED with why saying what is missing and the fix when the asked-for
 * backend cannot run; NGP_ERR_INVALID for an unknown name (why lists the known ones). */
ngp_status ngp_backend_choose(const char *want, const ngp_backend_type **out, char *why, size_t n);

ngp_status ngp_backend_create(const ngp_backend_type *type, ngp_nerf *n, const ngp_scene *scene,
                              const ngp_backend_opts *o, ngp_backend **out, ngp_error *err);
void ngp_backend_destroy(ngp_backend *b);
const char *ngp_backend_name(const ngp_backend *b);
void ngp_backend_describe(ngp_backend *b, char *out, size_t n);
/* Whether train_step can be called: the instance has a scene and a step function. */
bool ngp_backend_can_train(const ngp_backend *b);
ngp_status ngp_backend_train_step(ngp_backend *b, ngp_step_stats *st, ngp_error *err);
ngp_status ngp_backend_last_stats(ngp_backend *b, ngp_step_stats *st, ngp_error *err);
ngp_status ngp_backend_download(ngp_backend *b, ngp_error *err);
ngp_status ngp_backend_upload(ngp_backend *b, ngp_error *err);
ngp_status ngp_backend_publish(ngp_backend *b, ngp_error *err);
uint64_t ngp_backend_acquire(ngp_backend *b);
bool ngp_backend_newer_pending(ngp_backend *b);
ngp_status ngp_backend_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                              ngp_error *err);
ngp_status ngp_backend_render_pixels(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, int begin,
                                     int end, ngp_render_continue_fn keep_going, void *user, int *next, float *rgb,
                                     ngp_error *err);
ngp_status ngp_backend_render_alpha(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                                    float *alpha, ngp_error *err);
void ngp_backend_set_render_threads(ngp_backend *b, int n);
ngp_status ngp_backend_density(ngp_backend *b, int S, const float *pos, float *raw_density, ngp_error *err);
ngp_status ngp_backend_color(ngp_backend *b, int S, const float *pos, const float *dir, float *rgb, ngp_error *err);
ngp_status ngp_backend_synchronize(ngp_backend *b, ngp_error *err);
/* The display side (see display_attach): false, with why, when the backend has none or cannot
 * reach the current GL context; then images are host memory and frames go through it. */
/* Whether the backend has the display side at all (before making a buffer for it). */
bool ngp_backend_has_display(const ngp_backend *b);
bool ngp_backend_display_attach(ngp_backend *b, unsigned gl_buffer, size_t bytes, char *why, size_t n);
void ngp_backend_display_detach(ngp_backend *b);
/* An image render_pixels writes: the backend's memory after a successful display_attach, else
 * host memory (malloc). Free it with ngp_backend_image_free on the same backend. */
float *ngp_backend_image_alloc(ngp_backend *b, size_t floats, bool device);
void ngp_backend_image_free(ngp_backend *b, float *img, bool device);
ngp_status ngp_backend_display_write(ngp_backend *b, const float *img, int width, int row_begin, int row_end,
                                     ngp_error *err);

/* The CPU backend's type (always built). */
extern const ngp_backend_type ngp_backend_cpu_type;
#ifdef NGP_HAVE_CUDA
/* The CUDA backend's type (src/cuda/backend_cuda.c). */
extern const ngp_backend_type ngp_backend_cuda_type;
#endif

#ifdef __cplusplus
}
#endif
#endif
