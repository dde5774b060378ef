/* cuda/hashgrid.h (internal): the multiresolution hash encoding on the GPU, twin of encoding.h's
 * ngp_hashgrid_forward_ref / ngp_hashgrid_backward_ref (same per-sample maths,
 * ngp_encoding_math.h's ngp_grid_corners). Parameters stay fp32 (the master weights), read as such or
 * from an fp16 copy; the encoding is written as fp16 for the fused MLP and optionally as fp32. */
#ifndef NGP_CUDA_HASHGRID_H
#define NGP_CUDA_HASHGRID_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "nerf/encoding.h"

/* The kernels' view of a grid; NGP_ERR_UNSUPPORTED if it has more than NGP_CUDA_MAX_LEVELS levels. */
ngp_status ngp_cuda_grid_from(ngp_cuda_grid *d, const ngp_hashgrid *g, ngp_error *err);

/* x: [S][3] in [0,1]^3, S = min(*d_count, max). params: the grid's fp32 table (entry e's F floats at
 * params + e*F). params16 (may be NULL): the same table in fp16, read instead of params when given
 * (the trainer's copy, kept by Adam; the interpolation stays fp32, so the result is the fp32
 * forward of the table rounded to fp16); for an even F it must be 4-byte aligned, else params is
 * read. out16 (may be NULL): [S][ld16] fp16, level l's F features at columns l*F..; columns
 * L*F .. round_up(L*F, 16) are zeroed, and so are the rows S .. round_up(S, 16) (the fused MLP reads
 * whole tiles of 16: the buffer must have those rows). out32 (may be NULL): [S][ld32] fp32. */
void ngp_hashgrid_forward_cuda(const ngp_cuda_grid *g, const float *params, const ngp_half *params16,
                               const uint32_t *d_count, uint32_t max, const float *x, ngp_half *out16, int ld16,
                               float *out32, int ld32, ngp_stream stream);

/* dout: [S][ld] fp32, gradient w.r.t. the encoding. dparams += gradient w.r.t. the table, by
 * atomic adds (4- or 2-float vector atomics on sm_90 when F is 4 or 2 and dparams is aligned to
 * an entry, scalar ones otherwise), so the summation order varies between runs. */
void ngp_hashgrid_backward_cuda(const ngp_cuda_grid *g, const uint32_t *d_count, uint32_t max, const float *x,
                                const float *dout, int ld, float *dparams, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
