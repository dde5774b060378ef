/* display.c: the viewer's OpenGL drawing (see display.h): one texture for the rendered image, a
 * full-screen triangle to show it, and stb_easy_font's quads, indexed as triangles (core profile
 * has no GL_QUADS), for the overlay. */
#include "viewer/display.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb_easy_font.h>

#include "common/ngp_math.h"

static const char *k_image_vs =
    "#version 330 core\n"
    "out vec2 uv;\n"
    "void main() {\n"
    "  /* (-1,-1), (3,-1), (-1,3): one triangle covering the viewport */\n"
    "  vec2 p = vec2(float((gl_VertexID & 1) * 4 - 1), float((gl_VertexID >> 1) * 4 - 1));\n"
    "  /* the image's first row is its top: t = 0 at the top of the window */\n"
    "  uv = vec2(0.5 * (p.x + 1.0), 0.5 * (1.0 - p.y));\n"
    "  gl_Position = vec4(p, 0.0, 1.0);\n"
    "}\n";

static const char *k_image_fs = "#version 330 core\n"
                                "in vec2 uv;\n"
                                "uniform sampler2D image;\n"
                                "out vec4 color;\n"
                                "void main() { color = vec4(texture(image, uv).rgb, 1.0); }\n";

static const char *k_text_vs =
    "#version 330 core\n"
    "layout(location = 0) in vec2 pos;\n"
    "layout(location = 1) in vec4 col;\n"
    "uniform vec2 viewport;\n"
    "out vec4 c;\n"
    "void main() {\n"
    "  c = col;\n"
    "  gl_Position = vec4(pos.x / viewport.x * 2.0 - 1.0, 1.0 - pos.y / viewport.y * 2.0, 0.0, 1.0);\n"
    "}\n";

static const char *k_text_fs = "#version 330 core\n"
                               "in vec4 c;\n"
                               "out vec4 color;\n"
                               "void main() { color = c; }\n";

static GLuint compile(GLenum type, const char *src, char *err, size_t n) {
  GLuint s = glCreateShader(type);
  glShaderSource(s, 1, &src, NULL);
  glCompileShader(s);
  GLint ok = 0;
  glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
  if (!ok) {
    char log[512] = "";
    glGetShaderInfoLog(s, sizeof log, NULL, log);
    snprintf(err, n, "compiling a shader failed: %s", log);
    glDeleteShader(s);
    return 0;
  }
  return s;
}

static GLuint link(const char *vs_src, const char *fs_src, char *err, size_t n) {
  GLuint vs = compile(GL_VERTEX_SHADER, vs_src, err, n);
  if (!vs) return 0;
  GLuint fs = compile(GL_FRAGMENT_SHADER, fs_src, err, n);
  if (!fs) {
    glDeleteShader(vs);
    return 0;
  }
  GLuint p = glCreateProgram();
  glAttachShader(p, vs);
  glAttachShader(p, fs);
  glLinkProgram(p);
  glDeleteShader(vs);
  glDeleteShader(fs);
  GLint ok = 0;
  glGetProgramiv(p, GL_LINK_STATUS, &ok);
  if (!ok) {
    char log[512] = "";
    glGetProgramInfoLog(p, sizeof log, NULL, log);
    snprintf(err, n, "linking a shader program failed: %s", log);
    glDeleteProgram(p);
    return 0;
  }
  return p;
}

bool ngp_display_init(ngp_display *d, char *err, size_t err_size) {
  memset(d, 0, sizeof *d);
  if (epoxy_gl_version() < 33) {
    snprintf(err, err_size, "OpenGL 3.3 is needed, the context has %d.%d", epoxy_gl_version() / 10,
             epoxy_gl_version() % 10);
    return false;
  }
  if (!(d->image_prog = link(k_image_vs, k_image_fs, err, err_size))) return false;
  if (!(d->text_prog = link(k_text_vs, k_text_fs, err, err_size))) {
    ngp_display_free(d);
    return false;
  }
  d->text_loc_viewport = glGetUniformLocation(d->text_prog, "viewport");
  glUseProgram(d->image_prog);
  glUniform1i(glGetUniformLocation(d->image_prog, "image"), 0);
  glUseProgram(0);
  glGenVertexArrays(1, &d->vao_empty);
  glGenVertexArrays(1, &d->text_vao);
  glGenBuffers(1, &d->text_vbo);
  glGenBuffers(1, &d->text_ibo);
  glBindVertexArray(d->text_vao);
  glBindBuffer(GL_ARRAY_BUFFER, d->text_vbo);
  glBindBuffer(GL_ELEMENT_ARRAY_BUFFER, d->text_ibo); /* recorded in the VAO */
  glVertexAttribPointer(0, 2, GL_FLOAT, GL_FALSE, 16, (const void *)0);
  glVertexAttribPointer(1, 4, GL_UNSIGNED_BYTE, GL_TRUE, 16, (const void *)12);
  glEnableVertexAttribArray(0);
  glEnableVertexAttribArray(1);
  glBindVertexArray(0);
  snprintf(d->path, sizeof d->path, "host memory");
  glGenTextures(1, &d->tex);
  glBindTexture(GL_TEXTURE_2D, d->tex);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
  glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
  glBindTexture(GL_TEXTURE_2D, 0);
  GLenum e = glGetError();
  if (e != GL_NO_ERROR) {
    snprintf(err, err_size, "setting up OpenGL objects failed (error 0x%x)", (unsigned)e);
    ngp_display_free(d);
    return false;
  }
  return true;
}

void ngp_display_free(ngp_display *d) {
  if (d->image_prog) glDeleteProgram(d->image_prog);
  if (d->text_prog) glDeleteProgram(d->text_prog);
  if (d->vao_empty) glDeleteVertexArrays(1, &d->vao_empty);
  if (d->text_vao) glDeleteVertexArrays(1, &d->text_vao);
  if (d->text_vbo) glDeleteBuffers(1, &d->text_vbo);
  if (d->text_ibo) glDeleteBuffers(1, &d->text_ibo);
  if (d->tex) glDeleteTextures(1, &d->tex);
  ngp_display_detach(d);
  if (d->pbo) glDeleteBuffers(1, &d->pbo);
  free(d->rgba);
  free(d->quads);
  memset(d, 0, sizeof *d);
}

/* The texture's size for a w x h image: a new size reallocates it (all rows come next). */
static bool texture_size(ngp_display *d, int w, int h) {
  if (w == d->tex_w && h == d->tex_h) return false;
  glBindTexture(GL_TEXTURE_2D, d->tex);
  glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
  glBindTexture(GL_TEXTURE_2D, 0);
  d->tex_w = w;
  d->tex_h = h;
  return true;
}

bool ngp_display_attach(ngp_display *d, ngp_backend *b, size_t bytes) {
  ngp_display_detach(d);
  char why[500];
  if (!ngp_backend_has_display(b)) { /* no buffer to make: the frames are host memory already */
    snprintf(d->path, sizeof d->path, "host memory (the %s backend renders into host memory)", ngp_backend_name(b));
    return false;
  }
  if (!d->pbo) glGenBuffers(1, &d->pbo);
  if (bytes < 4) bytes = 4;
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, d->pbo);
  glBufferData(GL_PIXEL_UNPACK_BUFFER, (GLsizeiptr)bytes, NULL, GL_STREAM_DRAW);
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
  if (glGetError() != GL_NO_ERROR) {
    snprintf(d->path, sizeof d->path, "host memory (a %zu-byte GL pixel buffer could not be made)", bytes);
    return false;
  }
  if (!ngp_backend_display_attach(b, d->pbo, bytes, why, sizeof why)) {
    snprintf(d->path, sizeof d->path, "host memory (%s)", why);
    return false;
  }
  d->pbo_bytes = bytes;
  d->pbo_backend = b;
  snprintf(d->path, sizeof d->path, "a GL pixel buffer written by the %s backend (no host copy)", ngp_backend_name(b));
  return true;
}

void ngp_display_detach(ngp_display *d) {
  if (d->pbo_backend) ngp_backend_display_detach(d->pbo_backend);
  d->pbo_backend = NULL;
  d->pbo_bytes = 0;
  snprintf(d->path, sizeof d->path, "host memory");
}

bool ngp_display_upload_image(ngp_display *d, const float *img, int w, int h, int row_begin, int row_end,
                              ngp_error *err) {
  ngp_backend *b = d->pbo_backend;
  if (!b) {
    ngp_error_set(err, NGP_ERR_INVALID, "display: no pixel buffer attached");
    return false;
  }
  size_t need = (size_t)w * (size_t)h * 4;
  if (need > d->pbo_bytes) { /* a larger window: a larger buffer, registered again */
    ngp_backend_display_detach(b);
    d->pbo_backend = NULL;
    if (!ngp_display_attach(d, b, need + need / 2)) {
      ngp_error_set(err, NGP_ERR_UNSUPPORTED, "display: %s", d->path);
      return false;
    }
  }
  if (texture_size(d, w, h)) {
    row_begin = 0;
    row_end = h;
  }
  if (row_begin < 0) row_begin = 0;
  if (row_end > h) row_end = h;
  if (row_end <= row_begin) return true;
  if (ngp_backend_display_write(b, img, w, row_begin, row_end, err) != NGP_OK) return false;
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, d->pbo);
  glBindTexture(GL_TEXTURE_2D, d->tex);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  glTexSubImage2D(GL_TEXTURE_2D, 0, 0, row_begin, w, row_end - row_begin, GL_RGBA, GL_UNSIGNED_BYTE,
                  (const void *)((size_t)row_begin * (size_t)w * 4));
  glBindTexture(GL_TEXTURE_2D, 0);
  glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
  d->rgba_stale = true;
  return true;
}

bool ngp_display_read_back(ngp_display *d) {
  if (!d->rgba_stale || d->tex_w == 0) return d->tex_w > 0;
  size_t need = (size_t)d->tex_w * (size_t)d->tex_h * 4;
  if (need > d->rgba_cap) {
    uint8_t *q = realloc(d->rgba, need);
    if (!q) return false;
    d->rgba = q;
    d->rgba_cap = need;
  }
  glBindTexture(GL_TEXTURE_2D, d->tex);
  glPixelStorei(GL_PACK_ALIGNMENT, 4);
  glGetTexImage(GL_TEXTURE_2D, 0, GL_RGBA, GL_UNSIGNED_BYTE, d->rgba);
  glBindTexture(GL_TEXTURE_2D, 0);
  d->rgba_stale = false;
  return true;
}

void ngp_display_upload(ngp_display *d, const float *rgb, int w, int h, int row_begin, int row_end) {
  size_t need = (size_t)w * (size_t)h * 4;
  bool resized = w != d->tex_w || h != d->tex_h;
  if (need > d->rgba_cap) {
    uint8_t *q = realloc(d->rgba, need);
    if (!q) return; /* keeps the old image */
    d->rgba = q;
    d->rgba_cap = need;
  }
  if (resized) {
    row_begin = 0;
    row_end = h;
  }
  if (row_begin < 0) row_begin = 0;
  if (row_end > h) row_end = h;
  if (row_end <= row_begin) return;
  for (size_t i = (size_t)row_begin * (size_t)w; i < (size_t)row_end * (size_t)w; i++) {
    for (int c = 0; c < 3; c++)
      d->rgba[i * 4 + (size_t)c] = ngp_unit_to_u8(rgb[i * 3 + (size_t)c]);
    d->rgba[i * 4 + 3] = 255;
  }
  glBindTexture(GL_TEXTURE_2D, d->tex);
  glPixelStorei(GL_UNPACK_ALIGNMENT, 4);
  if (resized) {
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, w, h, 0, GL_RGBA, GL_UNSIGNED_BYTE, d->rgba);
    d->tex_w = w;
    d->tex_h = h;
  } else {
    glTexSubImage2D(GL_TEXTURE_2D, 0, 0, row_begin, w, row_end - row_begin, GL_RGBA, GL_UNSIGNED_BYTE,
                    d->rgba + (size_t)row_begin * (size_t)w * 4);
  }
  glBindTexture(GL_TEXTURE_2D, 0);
  d->rgba_stale = false;
}

void ngp_display_clear_image(ngp_display *d) { d->tex_w = d->tex_h = 0; }

/* One stb_easy_font vertex. */
static void put_vertex(float *v, float x, float y, const uint8_t rgba[4]) {
  v[0] = x;
  v[1] = y;
  v[2] = 0.0f;
  memcpy(&v[3], rgba, 4);
}

void ngp_display_text(ngp_display *d, const char *text, float scale) {
  d->n_quads = 0;
  size_t len = strlen(text);
  if (len == 0) return;
  char *buf = malloc(len + 1);
  if (!buf) return;
  memcpy(buf, text, len + 1);
  /* stb_easy_font uses ~270 bytes per character on average; this leaves room for dense text. */
  size_t bytes = 16 * 4 + len * 640, floats = bytes / sizeof(float);
  if (floats > d->quads_cap) {
    float *q = realloc(d->quads, floats * sizeof *q);
    if (!q) {
      free(buf);
      return;
    }
    d->quads = q;
    d->quads_cap = floats;
  }
  const float pad = 4.0f;
  float tw = (float)stb_easy_font_width(buf), th = (float)stb_easy_font_height(buf);
  static const uint8_t panel[4] = {0, 0, 0, 150};
  float *v = d->quads;
  put_vertex(v + 0, 0.0f, 0.0f, panel);
  put_vertex(v + 4, tw + 2.0f * pad, 0.0f, panel);
  put_vertex(v + 8, tw + 2.0f * pad, th + 2.0f * pad, panel);
  put_vertex(v + 12, 0.0f, th + 2.0f * pad, panel);
  unsigned char white[4] = {255, 255, 255, 255};
  int n = stb_easy_font_print(pad, pad, buf, white, d->quads + 16, (int)(bytes - 64));
  free(buf);
  d->n_quads = 1 + (size_t)(n > 0 ? n : 0);
  for (size_t i = 0; i < d->n_quads * 4; i++) {
    d->quads[i * 4 + 0] *= scale;
    d->quads[i * 4 + 1] *= scale;
  }
}

static void draw_text(ngp_display *d, int fb_w, int fb_h) {
  if (d->n_quads == 0) return;
  glBindVertexArray(d->text_vao);
  if (d->n_quads > d->ibo_quads) { /* quad q -> triangles (4q, 4q+1, 4q+2), (4q, 4q+2, 4q+3) */
    size_t nq = d->n_quads + 256;
    uint32_t *idx = malloc(nq * 6 * sizeof *idx);
    if (!idx) {
      glBindVertexArray(0);
      return;
    }
    for (size_t q = 0; q < nq; q++) {
      uint32_t b = (uint32_t)(q * 4);
      uint32_t t[6] = {b, b + 1, b + 2, b, b + 2, b + 3};
      memcpy(idx + q * 6, t, sizeof t);
    }
    glBufferData(GL_ELEMENT_ARRAY_BUFFER, (GLsizeiptr)(nq * 6 * sizeof *idx), idx, GL_STATIC_DRAW);
    free(idx);
    d->ibo_quads = nq;
  }
  glBindBuffer(GL_ARRAY_BUFFER, d->text_vbo);
  glBufferData(GL_ARRAY_BUFFER, (GLsizeiptr)(d->n_quads * 64), d->quads, GL_STREAM_DRAW);
  glUseProgram(d->text_prog);
  glUniform2f(d->text_loc_viewport, (float)fb_w, (float)fb_h);
  glEnable(GL_BLEND);
  glBlendFunc(GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);
  glDrawElements(GL_TRIANGLES, (GLsizei)(d->n_quads * 6), GL_UNSIGNED_INT, (const void *)0);
  glDisable(GL_BLEND);
  glBindVertexArray(0);
  glBindBuffer(GL_ARRAY_BUFFER, 0);
}

void ngp_display_draw(ngp_display *d, int fb_w, int fb_h, bool overlay) {
  glViewport(0, 0, fb_w, fb_h);
  glClearColor(0.1f, 0.1f, 0.12f, 1.0f);
  glClear(GL_COLOR_BUFFER_BIT);
  if (d->tex_w > 0) {
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, d->tex);
    GLint filter = (d->tex_w == fb_w && d->tex_h == fb_h) ? GL_NEAREST : GL_LINEAR;
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, filter);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, filter);
    glUseProgram(d->image_prog);
    glBindVertexArray(d->vao_empty);
    glDrawArrays(GL_TRIANGLES, 0, 3);
    glBindVertexArray(0);
    glBindTexture(GL_TEXTURE_2D, 0);
  }
  if (overlay) draw_text(d, fb_w, fb_h);
  glUseProgram(0);
}

const char *ngp_display_path(const ngp_display *d) { return d->path; }
