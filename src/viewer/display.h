/* display.h: what the viewer draws with OpenGL 3.3 core (through libepoxy): the rendered image as
 * a texture stretched over the window, and the text overlay (stb_easy_font quads).
 *
 * The image reaches the texture one of two ways, and the overlay says which:
 *  - host memory: ngp_display_upload converts host floats to RGBA8 and sends them with
 *    glTexSubImage2D (every backend; the CPU's images are host memory anyway);
 *  - a pixel buffer: when the backend can reach the window's GL context (the CUDA backend on
 *    the GPU that runs the window), ngp_display_attach registers a GL pixel buffer object with
 *    it; the viewer's images then live in the backend's memory, the backend writes their rows
 *    into the buffer as RGBA8 (ngp_display_upload_image), and the texture is filled from the
 *    buffer on the GPU: no host copy. */
#ifndef NGP_VIEWER_DISPLAY_H
#define NGP_VIEWER_DISPLAY_H

#include <epoxy/gl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/backend.h"

typedef struct ngp_display {
  GLuint image_prog, text_prog;
  GLuint vao_empty; /* the full-screen triangle is generated in the vertex shader */
  GLuint text_vao, text_vbo, text_ibo;
  GLint text_loc_viewport;
  GLuint tex;
  int tex_w, tex_h; /* 0: no image yet */
  uint8_t *rgba;    /* the shown image in RGBA8, top row first (screenshots read it) */
  size_t rgba_cap;
  bool rgba_stale; /* the texture came from the pixel buffer: rgba is read back when needed */
  /* The pixel-buffer path: the buffer, its size, the backend attached to it (NULL: host memory). */
  GLuint pbo;
  size_t pbo_bytes;
  ngp_backend *pbo_backend;
  char path[600]; /* ngp_display_path */
  /* Overlay geometry, rebuilt by ngp_display_text. */
  float *quads; /* stb_easy_font vertices: x, y, z, rgba (16 bytes each) */
  size_t quads_cap, n_quads;
  size_t ibo_quads; /* quads the index buffer covers */
} ngp_display;

/* Needs a current GL 3.3 core context. On failure writes why into err and returns false. */
bool ngp_display_init(ngp_display *d, char *err, size_t err_size);
void ngp_display_free(ngp_display *d);

/* Takes rows [row_begin, row_end) of an sRGB image rgb [h][w][3] (values in [0,1], top row
 * first) into the texture; a new size reallocates it (then pass all rows). */
void ngp_display_upload(ngp_display *d, const float *rgb, int w, int h, int row_begin, int row_end);
/* Tries the pixel-buffer path with backend b for images up to `bytes` RGBA8 bytes: true when b
 * attached the buffer (then render into images from ngp_backend_image_alloc(b, n, true) and show
 * them with ngp_display_upload_image); false when b renders into host memory or cannot reach this
 * GL context, and the path says why. */
bool ngp_display_attach(ngp_display *d, ngp_backend *b, size_t bytes);
/* Back to host memory (before the backend goes). */
void ngp_display_detach(ngp_display *d);
/* ngp_display_upload for an image in the attached backend's memory; false (and err) when the
 * backend's write failed (the texture keeps its previous content). */
bool ngp_display_upload_image(ngp_display *d, const float *img, int w, int h, int row_begin, int row_end,
                              ngp_error *err);
/* The shown image in d->rgba (read back from the texture after pixel-buffer uploads). */
bool ngp_display_read_back(ngp_display *d);
/* How frames reach the texture, for the overlay: "host memory (why)" or "a GL pixel buffer written
 * by the <backend> backend (no host copy)". */
const char *ngp_display_path(const ngp_display *d);
/* Forgets the image (nothing is drawn until the next upload). */
void ngp_display_clear_image(ngp_display *d);

/* Overlay text: lines separated by '\n', drawn at the top-left on a translucent panel, at
 * `scale` pixels per font unit. Empty text: no overlay. */
void ngp_display_text(ngp_display *d, const char *text, float scale);

/* Clears, draws the image stretched over fb_w x fb_h (nearest texels when the sizes match, so
 * the window shows the rendered pixels exactly; linear filtering when upscaling) and the overlay. */
void ngp_display_draw(ngp_display *d, int fb_w, int fb_h, bool overlay);

#endif
