/* ngp/image.h: 8-bit RGBA images, read with stb_image (PNG, JPEG, BMP, TGA, PNM; grey, grey+alpha,
 * RGB, RGBA, 16-bit and palette PNGs are all converted to 8-bit RGBA); written as PNG or JPEG as the
 * file's name says, and 16-bit PNG or PFM (floats) for values such as depth. */
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

/* The format a file name asks for, by its extension (case-insensitive). */
typedef enum {
  NGP_IMAGE_FORMAT_UNKNOWN = 0,
  NGP_IMAGE_FORMAT_PNG,  /* .png */
  NGP_IMAGE_FORMAT_JPEG, /* .jpg, .jpeg */
  NGP_IMAGE_FORMAT_PFM,  /* .pfm: 32-bit floats, 1 or 3 channels */
  NGP_IMAGE_FORMAT_EXR   /* .exr: recognised, not written by this version */
} ngp_image_format;
ngp_image_format ngp_image_format_of(const char *path);
/* NGP_OK when `path` names a format that ngp_image_write can write; otherwise NGP_ERR_INVALID with
 * a line naming the file and the formats that can be written. */
ngp_status ngp_image_check_writable(const char *path, ngp_error *err);
/* Writes img (RGBA; PNG keeps the alpha, JPEG drops it, quality 95) atomically in the format its
 * name asks for (ngp_image_check_writable); PFM gets the RGB values / 255. */
ngp_status ngp_image_write(const char *path, const ngp_image *img, ngp_error *err);
/* A 16-bit grey (channels 1) or RGB (3) PNG, samples [h][w][channels], rows from the top; text
 * (may be NULL) goes into a tEXt chunk "Comment". Written atomically. */
ngp_status ngp_image_write_png16(const char *path, int width, int height, int channels, const uint16_t *samples,
                                 const char *text, ngp_error *err);
/* A PFM (Portable Float Map): 1 channel ("Pf") or 3 ("PF"), values [h][w][channels], rows from the
 * top (the file stores them from the bottom, little-endian). Written atomically. */
ngp_status ngp_image_write_pfm(const char *path, int width, int height, int channels, const float *values,
                               ngp_error *err);

#ifdef __cplusplus
}
#endif
#endif
