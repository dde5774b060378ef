/* display.cu: the viewer's frames on the device (display.h): the RGBA8 conversion, and CUDA-GL
 * interop: the window's pixel buffer is mapped for each write, filled by the conversion kernel
 * from the rendered device image, and unmapped, which orders the write before GL's next use of
 * the buffer. */
#include "cuda/cuda_common.cuh"
#include "cuda/display.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/ngp_math.h"

/* The window's pixels, host and device alike: RGBA8 from [0,1] floats. */
static __global__ void rgba8_kernel(const float *img, size_t n, uchar4 *out) {
  const size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float *p = img + i * 3;
  out[i] = make_uchar4(ngp_unit_to_u8(p[0]), ngp_unit_to_u8(p[1]), ngp_unit_to_u8(p[2]), 255);
}

extern "C" ngp_status ngp_cuda_image_to_rgba8(const float *img, size_t n, uint8_t *rgba, ngp_error *err) {
  if (n == 0) return NGP_OK;
  rgba8_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS>>>(img, n, (uchar4 *)rgba);
  NGP_CUDA_CHECK_LAUNCH(err);
  NGP_CUDA_TRY(cudaDeviceSynchronize(), err);
  return NGP_OK;
}

#ifdef NGP_HAVE_CUDA_GL
#include <GL/gl.h> /* GLuint, for cuda_gl_interop.h (header only: nothing links libGL) */
#include <cuda_gl_interop.h>

struct ngp_cuda_display {
  cudaGraphicsResource_t res;
  size_t bytes;
  cudaStream_t stream;
};

extern "C" ngp_status ngp_cuda_display_attach(unsigned gl_buffer, size_t bytes, ngp_cuda_display **out,
                                              ngp_error *err) {
  *out = NULL;
  int device = -1;
  NGP_CUDA_TRY(cudaGetDevice(&device), err);
  /* The devices that run the current GL context: none for a software renderer (Mesa) or another
   * vendor's GPU, then frames go through host memory. */
  unsigned count = 0;
  int devices[16];
  cudaError_t e = cudaGLGetDevices(&count, devices, 16, cudaGLDeviceListAll);
  if (e != cudaSuccess || count == 0) {
    (void)cudaGetLastError();
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "the window's OpenGL context is not on a CUDA device (%s)",
                         e != cudaSuccess ? cudaGetErrorString(e) : "no device drives it");
  }
  bool ours = false;
  for (unsigned i = 0; i < count && i < 16; i++)
    ours = ours || devices[i] == device;
  if (!ours)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "the window's OpenGL context runs on another GPU than CUDA device %d", device);
  ngp_cuda_display *d = (ngp_cuda_display *)calloc(1, sizeof *d);
  if (!d) return ngp_error_set(err, NGP_ERR_NOMEM, "out of memory for the display");
  d->bytes = bytes;
  e = cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking);
  if (e == cudaSuccess)
    e = cudaGraphicsGLRegisterBuffer(&d->res, (GLuint)gl_buffer, cudaGraphicsRegisterFlagsWriteDiscard);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    if (d->stream) cudaStreamDestroy(d->stream);
    free(d);
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "registering the window's pixel buffer with CUDA failed: %s",
                         cudaGetErrorString(e));
  }
  *out = d;
  return NGP_OK;
}

extern "C" void ngp_cuda_display_detach(ngp_cuda_display *d) {
  if (!d) return;
  cudaGraphicsUnregisterResource(d->res);
  cudaStreamDestroy(d->stream);
  free(d);
}

extern "C" ngp_status ngp_cuda_display_write(ngp_cuda_display *d, const float *img, int width, int row_begin,
                                             int row_end, ngp_error *err) {
  if (width < 1 || row_begin < 0 || row_end <= row_begin) return NGP_OK;
  const size_t first = (size_t)row_begin * (size_t)width, n = (size_t)(row_end - row_begin) * (size_t)width;
  if ((first + n) * 4 > d->bytes)
    return ngp_error_set(err, NGP_ERR_INVALID, "display: rows %d..%d of width %d do not fit the %zu-byte pixel buffer",
                         row_begin, row_end, width, d->bytes);
  NGP_CUDA_TRY(cudaGraphicsMapResources(1, &d->res, d->stream), err);
  void *ptr = NULL;
  size_t size = 0;
  cudaError_t e = cudaGraphicsResourceGetMappedPointer(&ptr, &size, d->res);
  if (e == cudaSuccess && size < (first + n) * 4) e = cudaErrorInvalidValue;
  if (e == cudaSuccess) {
    rgba8_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, d->stream>>>(img + first * 3, n,
                                                                                           (uchar4 *)ptr + first);
    e = cudaGetLastError();
  }
  cudaError_t u = cudaGraphicsUnmapResources(1, &d->res, d->stream);
  if (e == cudaSuccess) e = u;
  if (e == cudaSuccess) e = cudaStreamSynchronize(d->stream);
  return e == cudaSuccess ? NGP_OK : ngp_cuda_error(err, e, "writing the window's pixel buffer", __FILE__, __LINE__);
}
#endif /* NGP_HAVE_CUDA_GL */
