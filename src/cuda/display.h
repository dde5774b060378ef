/* cuda/display.h (internal): frames from the device to a window without a host copy (CUDA-GL
 * interop). The window's GL pixel buffer object is registered with CUDA; a kernel writes rendered
 * rows into it as RGBA8, and GL takes the texture from it (display.cu). The interop functions are
 * built with the viewer where GL's headers are (NGP_HAVE_CUDA_GL); the backend offers them
 * through engine/backend.h's display functions. The conversion is always built. */
#ifndef NGP_CUDA_DISPLAY_H
#define NGP_CUDA_DISPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "ngp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ngp_cuda_display ngp_cuda_display;

/* Registers the GL buffer object gl_buffer (bytes long) of the GL context current on this thread,
 * after checking that the context runs on the current CUDA device; NGP_ERR_UNSUPPORTED, saying
 * why, when it does not (a software renderer, another GPU) or registration fails. */
ngp_status ngp_cuda_display_attach(unsigned gl_buffer, size_t bytes, ngp_cuda_display **out, ngp_error *err);
void ngp_cuda_display_detach(ngp_cuda_display *d);
/* Rows [row_begin, row_end) of the device image img [..][width][3] into the buffer as RGBA8 at
 * the same rows (ngp_unit_to_u8, alpha 255); waits until done. */
ngp_status ngp_cuda_display_write(ngp_cuda_display *d, const float *img, int width, int row_begin, int row_end,
                                  ngp_error *err);
/* rgba[i] for pixels [0, n) of img [n][3], on the device (the conversion display_write runs; the
 * GPU tests compare it with the host's). */
ngp_status ngp_cuda_image_to_rgba8(const float *img, size_t n, uint8_t *rgba, ngp_error *err);

#ifdef __cplusplus
}
#endif
#endif
