/* ngp/image.h: 8-bit RGBA images, read with stb_image (PNG, JPEG, BMP, TGA, PNM; grey, grey+alpha,
 * RGB, RGBA, 16-bit and palette PNGs are all converted to 8-bit RGBA) and written as PNG. */
#ifndef NGP_IMAGE_H
#define NGP_IMAGE_H

#include "ngp/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Images larger than this on either side, or with more pixels than NGP_IMAGE_MAX_PIXELS, are
 * rejected before decoding: they are almost certainly a mistake, and would exhaust memory. */
#define NGP_IMAGE_MAX_DIM 32768
#define NGP_IMAGE_MAX_PIXELS ((int64_t)1 << 28)

typedef struct ngp_image {
  int width, height;
  int source_channels; /* channels in the file: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
  uint8_t *rgba;       /* width*height*4 bytes, rows from the top, straight (not premultiplied) alpha */
} ngp_image;

ngp_status ngp_image_load(const char *path, ngp_image *out, ngp_error *err);
/* Reads only the header: size and channel count. */
ngp_status ngp_image_info(const char *path, int *width, int *height, int *channels, ngp_error *err);
/* Writes an RGBA PNG atomically (temporary name, then rename). */
ngp_status ngp_image_write_png(const char *path, const ngp_image *img, ngp_error *err);
void ngp_image_free(ngp_image *img);

#ifdef __cplusplus
}
#endif
#endif
