/* display.h: what the viewer draws with OpenGL 3.3 core (through libepoxy): the rendered image as
 * a texture stretched over the window, and the text overlay (stb_easy_font quads).
 *
 * The image reaches the texture through ngp_display_upload (host floats, converted to RGBA8 and
 * sent with glTexSubImage2D). It is the one place a device backend plugs in: a CUDA renderer
 * would register the texture once (cudaGraphicsGLRegisterImage) and copy its device image into
 * the mapped array (cudaMemcpy2DToArray) instead, with no host copy; the rest of the viewer only
 * sees "the shown image changed". */
#ifndef NGP_VIEWER_DISPLAY_H
#define NGP_VIEWER_DISPLAY_H

#include <epoxy/gl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ngp_display {
  GLuint image_prog, text_prog;
  GLuint vao_empty; /* the full-screen triangle is generated in the vertex shader */
  GLuint text_vao, text_vbo, text_ibo;
  GLint text_loc_viewport;
  GLuint tex;
  int tex_w, tex_h; /* 0: no image yet */
  uint8_t *rgba;    /* the shown image in RGBA8, top row first (screenshots read it) */
  size_t rgba_cap;
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
/* How frames reach the texture, for the overlay: "host memory" (every backend renders into host
 * memory, and the rows are uploaded with glTexSubImage2D; a CUDA-GL interop path, a pixel buffer
 * written by the render kernel, would go here). */
const char *ngp_display_path(const ngp_display *d);
/* Forgets the image (nothing is drawn until the next upload). */
void ngp_display_clear_image(ngp_display *d);

/* Overlay text: lines separated by '\n', drawn at the top-left on a translucent panel, at
 * `scale` pixels per font unit. Empty text: no overlay. */
void ngp_display_text(ngp_display *d, const char *text, float scale);

/* Clears, draws the image stretched over fb_w x fb_h (nearest texels when the sizes match, so
 * the window shows the rendered pixels exactly; linear filtering when upscaling) and the overlay. */
void ngp_display_draw(ngp_display *d, int fb_w, int fb_h, bool overlay);

/* 8-bit value of an sRGB float, as the upload and the tests convert it. */
static inline uint8_t ngp_display_to_u8(float v) {
  v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  return (uint8_t)(v * 255.0f + 0.5f);
}

#endif
