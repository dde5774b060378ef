/* encoding_simd.h (internal): the fp16 hash table's x86 kernels (encoding_f16c.c), which
 * encoding_fast.c calls where the CPU has F16C and AVX2 (and NGP_SIMD allows vector code: see
 * nerf/mlp.h). Each gives the portable code's bits. */
#ifndef NGP_NERF_ENCODING_SIMD_H
#define NGP_NERF_ENCODING_SIMD_H

#include <stddef.h>
#include <stdint.h>

/* dst[i] = ngp_f32_to_f16(src[i]), i < n (NaNs stay NaNs, perhaps with other payload bits). */
void ngp_f16_from_f32_f16c(const float *src, size_t n, uint16_t *dst);

/* For each sample i < n and feature f < F: out[i * out_stride + f] = the sum over corners
 * k = 0..7, in order from 0, of w[i][k] * P[idx[i][k] * F + f] (fp16 entries of F features).
 * Returns 0, having done nothing, for an F other than 2, 4 or 8. */
int ngp_hashgrid_gather_f16c(const uint16_t *P, const uint32_t (*idx)[8], const float (*w)[8], int n, int F, float *out,
                             ptrdiff_t out_stride);

#endif
