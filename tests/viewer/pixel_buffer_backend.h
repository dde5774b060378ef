/* pixel_buffer_backend.h: a test backend, "pixelbuffer", that forwards to the CPU backend and has
 * the display side of engine/backend.h (display_attach, image_alloc, display_write, ...), done with
 * GL calls in the window's context: its "device images" are its own allocations, and it writes
 * their rows into the attached pixel buffer with glBufferSubData, where the CUDA backend runs a
 * kernel on the mapped buffer. So the viewer's pixel-buffer path (images in a backend's memory,
 * the buffer, the texture filled from it, the read-back for screenshots) runs under Xvfb. */
#ifndef NGP_TESTS_PIXEL_BUFFER_BACKEND_H
#define NGP_TESTS_PIXEL_BUFFER_BACKEND_H

#include "engine/backend.h"

extern const ngp_backend_type ngp_pixel_buffer_backend_type;

typedef struct ngp_pixel_buffer_counts {
  long attaches, detaches, writes, rows_written;
  long renders_into_own;  /* render_pixels into one of its images */
  long renders_elsewhere; /* render_pixels into other memory (host arrays) */
  long live_images;       /* allocated and not yet freed */
} ngp_pixel_buffer_counts;

/* The counts of an instance (it must be a pixelbuffer backend). */
ngp_pixel_buffer_counts ngp_pixel_buffer_backend_counts(const ngp_backend *b);

#endif
