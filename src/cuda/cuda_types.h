/* cuda/cuda_types.h (internal): what the CUDA op headers (cuda/<op>.h) share, in plain C so that C
 * code (the trainer's tests, the benchmark) can call the launchers without CUDA headers:
 * fp16 storage, the stream type, device-side counts, and the layouts of the hash grid and the
 * MLPs as the kernels see them.
 *
 * Conventions of every launcher:
 *   - Pointers are device pointers unless named h_*; arrays are sample-major [S][dim] like the
 *     CPU engine's, fp16 matrices have a leading dimension `ld` (elements per row, a multiple of 8
 *     so rows are 16-byte aligned).
 *   - A sample count is given as (d_count, max): the kernels work on min(*d_count, max) items
 *     when d_count is not NULL, else on max. The count lives on the device, so a training step
 *     never waits for the host; grids are sized for max and surplus blocks return at once.
 *   - Launchers only enqueue work on `stream` and never synchronise; errors surface at the next
 *     synchronising call (see ngp_cuda_sync).
 * Shape letters as in the CPU engine: N rays, S samples, L levels, F features per level, W width. */
#ifndef NGP_CUDA_TYPES_H
#define NGP_CUDA_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "ngp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* IEEE binary16 storage (the kernels read it as __half). */
typedef uint16_t ngp_half;

/* The CUDA runtime's stream type without its header: cudaStream_t is `struct CUstream_st *`. NULL
 * is the legacy default stream. */
struct CUstream_st;
typedef struct CUstream_st *ngp_stream;

/* ---- Hash grid, as the kernels see it (built from the CPU's ngp_hashgrid) ---------------------- */
#define NGP_CUDA_MAX_LEVELS 64 /* = NGP_MAX_LEVELS */

typedef struct ngp_cuda_grid {
  int n_levels;      /* L */
  int n_features;    /* F: 1, 2, 4 or 8 */
  int interpolation; /* NGP_ENC_INTERP_* */
  float scale[NGP_CUDA_MAX_LEVELS];
  uint32_t res[NGP_CUDA_MAX_LEVELS];
  uint32_t size[NGP_CUDA_MAX_LEVELS];
  uint32_t offset[NGP_CUDA_MAX_LEVELS]; /* first entry of each level */
  uint8_t hashed[NGP_CUDA_MAX_LEVELS];
} ngp_cuda_grid;

/* ---- Fused MLP layout ---------------------------------------------------------------------------
 * The CPU layout of the fp32 master weights is kept (row-major [out][in] per layer, layers back to
 * back, no biases). The kernels use an fp16 copy padded to multiples of 16 in both dimensions
 * (zero rows and columns), so any width up to NGP_CUDA_MLP_MAX_DIM runs on 16x16x16 tensor-core
 * tiles. Activations stored for the backward pass are fp16, layer-major: layer l's outputs are an
 * [S_cap][pdims[l+1]] matrix at acts + S_cap * acts_off[l]. */
#define NGP_CUDA_MLP_MAX_DIM 64
#define NGP_CUDA_MLP_MAX_LAYERS 5 /* weight matrices: up to 4 hidden layers */

typedef struct ngp_cuda_mlp {
  int n_layers;                                   /* weight matrices = hidden layers + 1 */
  int dims[NGP_CUDA_MLP_MAX_LAYERS + 1];          /* as the CPU: dims[0] = n_in ... dims[n_layers] = n_out */
  int pdims[NGP_CUDA_MLP_MAX_LAYERS + 1];         /* dims rounded up to a multiple of 16 */
  int activation, output_activation;              /* ngp_activation */
  uint32_t w_off[NGP_CUDA_MLP_MAX_LAYERS + 1];    /* layer l's fp32 weights at params + w_off[l] */
  uint32_t h_off[NGP_CUDA_MLP_MAX_LAYERS + 1];    /* layer l's padded fp16 weights at w16 + h_off[l] */
  uint32_t acts_off[NGP_CUDA_MLP_MAX_LAYERS + 1]; /* columns before layer l's outputs (per sample) */
} ngp_cuda_mlp;

#ifdef __cplusplus
}
#endif
#endif
