/* cuda/cuda_util.h (internal): small device utilities of device.cu that C callers (tests, tools) need:
 * fp32 <-> fp16 conversion of arrays on the device. Device selection, messages and memory
 * helpers are in the public ngp_cuda.h. */
#ifndef NGP_CUDA_UTIL_H
#define NGP_CUDA_UTIL_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* dst[i] = half(src[i]) (round to nearest, saturating at +-65504), i < n. */
void ngp_cuda_f32_to_f16(const float *src, ngp_half *dst, size_t n, ngp_stream stream);
/* dst[i] = float(src[i]), i < n. */
void ngp_cuda_f16_to_f32(const ngp_half *src, float *dst, size_t n, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
