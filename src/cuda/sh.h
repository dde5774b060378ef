/* cuda/sh.h (internal): the spherical-harmonics direction encoding on the GPU, twin of
 * encoding.h's ngp_sh_forward (the basis from ngp_encoding_math.h). */
#ifndef NGP_CUDA_SH_H
#define NGP_CUDA_SH_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For samples s < S (S = min(*d_count, max)): the direction is dirs[r] with r = sample_ray[s / div]
 * (sample_ray NULL: r = s), unit, ngp axes. Writes the degree^2 SH values as fp16 into
 * out16[s][col0 ..] (ld16 per row) and 1 into the padding columns up to pad_to (tiny-cuda-nn pads
 * SH with 1; the fused MLP gives padding columns zero weight anyway); rows S .. round_up(S, 16) get
 * zeros in columns [0, pad_to). out32 (may be NULL): [S][degree^2] fp32. degree 1..8. */
void ngp_sh_forward_cuda(int degree, const uint32_t *d_count, uint32_t max, const float *dirs,
                         const uint32_t *sample_ray, uint32_t div, ngp_half *out16, int ld16, int col0, int pad_to,
                         float *out32, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
