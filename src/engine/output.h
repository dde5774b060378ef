/* engine/output.h: what a render becomes on disk. The file's name says the format (.png, .jpg,
 * .jpeg, .pfm; .exr is refused with the alternatives); the render mode says what the values are:
 *
 *   shade      8-bit sRGB (PNG, JPEG), or linear floats (PFM);
 *   depth      distance from the camera along the ray in scene (transforms.json) units: a 16-bit
 *              grey PNG whose unit is stated (a power of ten, 0.001 scene units unless the depth
 *              needs a coarser one; also in the PNG's Comment), or PFM floats;
 *   cost       samples per pixel: a 16-bit grey PNG of the counts, or PFM floats;
 *   normals    unit normals in scene axes: 8-bit n*0.5+0.5 (PNG, JPEG), or PFM floats;
 *   positions  scene coordinates: 8-bit, the scene box mapped to [0,1] (PNG, JPEG), or PFM floats.
 *
 * Pixels where nothing was hit (opacity below NGP_RENDER_MIN_OPACITY) are 0 in every mode but
 * shade and cost. Shaded renders can be post-processed as instant-ngp's run.py does: exposure
 * (stops) and sharpening. */
#ifndef NGP_ENGINE_OUTPUT_H
#define NGP_ENGINE_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "nerf/nerf.h"

/* How the renderer's ngp units map to the scene's: scene = (ngp - offset) / scale, axes permuted
 * (ngp_math.h); box: the scene box in ngp units (positions' 8-bit range). */
typedef struct ngp_output_frame {
  float scale, offset[3];
  float box_min[3], box_max[3];
} ngp_output_frame;

/* "shade", "depth", ... -> the mode; false for an unknown name. */
bool ngp_render_mode_parse(const char *name, ngp_render_mode *mode);
const char *ngp_render_mode_name(ngp_render_mode mode);

/* Whether mode can be written to path (format by name); else a line naming the file and the
 * formats that fit. */
ngp_status ngp_output_check(const char *path, ngp_render_mode mode, ngp_error *err);

/* A shaded render, in place: linear colour times 2^exposure, then an unsharp mask of the given
 * amount in [0, 1] (centre weight 4 + 1/amount against the 4 neighbours, normalised: value +
 * amount * (4 value - neighbours)), clamped to [0, 1]. NGP_ERR_NOMEM when scratch cannot be had. */
ngp_status ngp_output_postprocess(float *rgb, int width, int height, float exposure, float sharpen, ngp_error *err);

/* A render of `mode` (values [n][3] as the renderer gave them) as 8-bit RGB [n][3], for the frames
 * of an H.264 video: shade and normals and positions as their 8-bit screenshots (PNG, JPEG) have
 * them; depth as grey 255 * depth / depth_far (both in ngp units, so the scale of the 16-bit
 * PNGs: proportional to the distance, 0 = nothing hit; clamped at depth_far); cost as grey, one
 * level per sample, clamped at 255. */
void ngp_output_rgb8(ngp_render_mode mode, size_t n, const float *values, const ngp_output_frame *frame,
                     float depth_far, uint8_t *rgb);

/* Writes a render of `mode` (values [h][w][3] as the renderer gave them, ngp units) to path.
 * note (may be NULL) gets what a reader needs to know, e.g. "16-bit, 1 = 0.001 scene units". */
ngp_status ngp_output_write(const char *path, ngp_render_mode mode, int width, int height, const float *values,
                            const ngp_output_frame *frame, char *note, size_t note_size, ngp_error *err);

#endif
