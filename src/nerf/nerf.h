/* nerf.h (internal): the NeRF model (hash grid, density MLP, SH, colour MLP, occupancy grid),
 * its training step, rendering and snapshots. This is the CPU reference engine; the plain
 * per-op references live beside their fast twins in encoding.c, mlp.c, march.c.
 *
 * Parameter vector (NGP-SPEC §3): [density MLP | colour MLP | hash grid], one flat allocation
 * each for parameters, gradients and the EMA ("inference") weights used for rendering. */
#ifndef NGP_NERF_NERF_H
#define NGP_NERF_NERF_H

#include "nerf/encoding.h"
#include "nerf/mlp.h"
#include "ngp/config.h"
#include "ngp/scene.h"
#include "nerf/occupancy.h"
#include "nerf/optimizer.h"
#include "common/ngp_render_math.h" /* the modes' numbers, NGP_RENDER_MIN_OPACITY */

typedef struct ngp_nerf {
  ngp_config cfg;
  ngp_hashgrid grid;
  ngp_mlp density_mlp; /* L*F -> n_density_outputs */
  ngp_mlp rgb_mlp;     /* n_density_outputs + sh_dims -> 16 (first 3 used) */
  int sh_dims;         /* sh_degree^2 */
  int enc_dims;        /* L*F */
  size_t off_density, off_rgb, off_grid, n_params, n_matrix;
  float *params;    /* training weights */
  float *inference; /* EMA weights for rendering; valid after ngp_nerf_sync_inference */
  ngp_occupancy occ;
  int aabb_scale;
  float aabb_min[3], aabb_max[3];
  float cone_angle;
  int n_threads;
} ngp_nerf;

/* The parameter count a config gives at an aabb_scale, without allocating (ngp_nerf_init's
 * layout): snapshots and memory estimates check sizes before anything is allocated. */
ngp_status ngp_nerf_count_params(const ngp_config *cfg, int aabb_scale, size_t *n, ngp_error *err);
ngp_status ngp_nerf_init(ngp_nerf *n, const ngp_config *cfg, int aabb_scale, uint64_t seed, int n_threads,
                         ngp_error *err);
void ngp_nerf_free(ngp_nerf *n);

/* Positions pos [S][3] in ngp units to the hash grid's input x [S][3] in [0,1]^3 (the scene box). */
void ngp_nerf_warp_positions(const ngp_nerf *n, int S, const float *pos, float *x);

/* Raw density (before exp) at S positions in ngp units, with the given weights. Scratch is
 * allocated per call (used for grid updates and tests, not the training hot path); NGP_ERR_NOMEM
 * when it cannot be. */
ngp_status ngp_nerf_density(const ngp_nerf *n, const float *weights, int S, const float *pos, float *raw_density,
                            ngp_error *err);

/* Colour (sRGB in [0,1], after the sigmoid) at S positions pos [S][3] in ngp units seen along the
 * unit directions dir [S][3] (the direction a ray travels), with the given weights: rgb [S][3].
 * NGP_ERR_NOMEM as ngp_nerf_density. */
ngp_status ngp_nerf_color(const ngp_nerf *n, const float *weights, int S, const float *pos, const float *dir,
                          float *rgb, ngp_error *err);

/* What a render writes into its [H][W][3] output. The values other than shade are
 * opacity-weighted means along the ray (sum w_i x_i / sum w_i), 0 where the ray's opacity
 * sum w_i is below NGP_RENDER_MIN_OPACITY (nothing hit). */
typedef enum ngp_render_mode {
  NGP_RENDER_SHADE = NGP_RMODE_SHADE,         /* sRGB colour in [0,1] over bg */
  NGP_RENDER_DEPTH = NGP_RMODE_DEPTH,         /* distance from the camera along the ray, ngp units, in all 3 channels */
  NGP_RENDER_NORMALS = NGP_RMODE_NORMALS,     /* unit normal -grad(density) (central differences), ngp axes */
  NGP_RENDER_POSITIONS = NGP_RMODE_POSITIONS, /* position, ngp coordinates */
  NGP_RENDER_COST = NGP_RMODE_COST            /* samples marched and evaluated for the pixel, in all 3 channels */
} ngp_render_mode;

/* Rendering options. The fields after seed are zero for the plain render (shade, no near
 * distance, no crop box): a designated initialiser that leaves them out asks for it. */
typedef struct ngp_render_opts {
  int width, height;
  float bg[3];             /* sRGB background */
  float min_transmittance; /* a pixel is done when T falls below this (1e-4 for evaluation) */
  int spp;                 /* jittered ray starts per pixel, averaged */
  uint64_t seed;
  ngp_render_mode mode;
  float near_distance; /* rays start this far from the camera (ngp units); 0: at the scene box */
  bool crop;           /* samples outside [crop_min, crop_max] (ngp units) have no density */
  float crop_min[3], crop_max[3];
  /* Renders read the hash table in fp16, as the CUDA renderer does (half the bytes to fetch):
   * ngp_hashgrid_table_f16 of the weights rendered, made by the caller that renders them many
   * times (the CPU backend's viewer copy), or NULL: each render call makes its own. */
  const uint16_t *grid16;
} ngp_render_opts;

/* Renders a camera (xform: camera-to-world in ngp units) into rgb [H][W][3], sRGB in [0,1],
 * with the weights given (normally n->inference). NGP_ERR_NOMEM when a tile's buffers cannot be
 * allocated (rgb then holds no valid image). */
ngp_status ngp_nerf_render(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                           const float principal[2], const ngp_lens *lens, const ngp_render_opts *o, float *rgb,
                           ngp_error *err);

/* ngp_nerf_render, and into alpha [H][W] each pixel's accumulated opacity 1 - T (T: the
 * transmittance left at the end of the ray; averaged over spp as rgb is): 0 where the background
 * shows through, 1 on opaque surfaces. rgb is the same image ngp_nerf_render gives; with a black
 * background it is the colour premultiplied by alpha. */
ngp_status ngp_nerf_render_alpha(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                                 const float principal[2], const ngp_lens *lens, const ngp_render_opts *o, float *rgb,
                                 float *alpha, ngp_error *err);

/* Renders pixels [pixel_begin, pixel_end) (row-major: p = y * width + x) of the image that
 * ngp_nerf_render gives for the same arguments, bit for bit, into those pixels of rgb [H][W][3];
 * other pixels are untouched. Work goes in tiles, in order; before each tile keep_going(user) is
 * asked (NULL: always go on; it is called from several threads at once) and the tile is skipped
 * when it returns false, so a caller can bound the time of a call (the viewer's progressive
 * rendering). *next gets p such that [pixel_begin, p) is rendered; continue from there.
 * NGP_ERR_NOMEM as ngp_nerf_render. */
typedef bool (*ngp_render_continue_fn)(void *user);
ngp_status ngp_nerf_render_pixels(const ngp_nerf *n, const float *weights, const float *xform, const float focal[2],
                                  const float principal[2], const ngp_lens *lens, const ngp_render_opts *o,
                                  int pixel_begin, int pixel_end, ngp_render_continue_fn keep_going, void *user,
                                  int *next, float *rgb, ngp_error *err);

/* ---- Training ---------------------------------------------------------------------------------- */
typedef struct ngp_trainer ngp_trainer;

typedef struct ngp_train_opts {
  uint32_t target_samples; /* samples per step after compaction (instant-ngp: 2^18) */
  uint64_t seed;
  int n_threads;
  bool random_bg;             /* random background colours per ray (instant-ngp's default) */
  float near_distance;        /* density penalty near the camera, ngp units (0.1) */
  float grid_sample_fraction; /* occupancy update samples relative to instant-ngp's counts (1: same) */
  /* The forward passes of training (marching's encodings, the occupancy update's density queries)
   * read an fp16 copy of the hash table, as the CUDA trainer's do: half the bytes to fetch. Adam
   * keeps the copy equal to the fp32 weights rounded (ngp_f32_to_f16) as it changes them; the
   * gradients are those of the rounded table's forward, applied to the fp32 weights. Default true;
   * false reads the fp32 table. The CPU trainer's option: the CUDA trainer always reads fp16. */
  bool table_f16;
  /* The MLPs' products of training in bf16 with fp32 sums (nerf/mlp.h, ngp_mlp_forward_mixed),
   * as the CUDA trainer runs them in fp16, where the CPU has AVX512_BF16 and NGP_SIMD does not
   * name an fp32 level. Default true; renders and density queries for meshes stay fp32. */
  bool mlp_bf16;
  /* Half the rays drawn where the training error is high (nerf/error_map.h: per image, a grid of
   * cells keeps the loss of the rays drawn in it; from step 128 on, and then at intervals growing
   * 1.5 times, it becomes the distribution they are drawn from). instant-ngp has it, off by
   * default; on the CPU it reaches a given quality in fewer steps (README, "Measured"). 1 on, 0
   * off, -1 (the default) the backend's: the CPU trainer's is on, the CUDA trainer has none. */
  int error_map;
} ngp_train_opts;

void ngp_train_opts_default(ngp_train_opts *o);

typedef struct ngp_step_stats {
  int step;
  /* Mean per-channel loss over the batch's rays drawn uniformly: all of them, or with the error
   * map (ngp_train_opts.error_map) the half not drawn where the loss is high, so that the figure
   * means the same with and without it. */
  float loss;
  int n_rays;
  uint32_t n_samples;      /* samples marched this step */
  uint32_t n_samples_used; /* samples before early termination */
  float learning_rate;
  bool skipped; /* the loss or a gradient was not finite: nothing was applied */
  /* wall seconds per phase of the step */
  double t_march, t_forward, t_composite, t_backward, t_optimizer, t_grid;
} ngp_step_stats;

ngp_status ngp_trainer_create(ngp_trainer **t, ngp_nerf *n, const ngp_scene *scene, const ngp_train_opts *o,
                              ngp_error *err);
void ngp_trainer_destroy(ngp_trainer *t);
/* One training step: rays, marching, forward, loss, backward, optimizer, occupancy grid.
 * NGP_ERR_NOMEM (nothing applied, the step not counted) when a buffer cannot grow. */
ngp_status ngp_trainer_step(ngp_trainer *t, ngp_step_stats *stats, ngp_error *err);
int ngp_trainer_steps_done(const ngp_trainer *t);
/* Steps skipped because their loss or a gradient was NaN or infinite (weights, Adam state and EMA
 * left as they were; the occupancy grid still updates on its schedule). */
int ngp_trainer_skipped_steps(const ngp_trainer *t);
/* For tests comparing backends: from now on each step also writes its gradients (of the mean
 * loss over its rays, before the optimizer) into grads [n_params] (zero where the step wrote
 * none); NULL stops it. */
void ngp_trainer_capture_grads(ngp_trainer *t, float *grads);
/* Writes the EMA weights into n->inference. */
void ngp_trainer_sync_inference(ngp_trainer *t);
/* After writing n->params other than through ngp_trainer_step (which keeps it current): remakes
 * the trainer's fp16 copy of the hash table (opts.table_f16) from them. */
void ngp_trainer_params_changed(ngp_trainer *t);
/* That copy ([grid.n_params] halves, the weights from n->off_grid on), or NULL without one. */
const uint16_t *ngp_trainer_table_f16(const ngp_trainer *t);

#endif
