/* engine/video_writer.h: writes a video's frames: H.264 through ffmpeg, or numbered PNGs.
 *
 *   ngp_video_writer *vw;
 *   if (ngp_video_writer_open(&vw, "video.mp4", w, h, 60.0, &err) != NGP_OK) fail(err.msg);
 *   printf("%s\n", ngp_video_writer_describe(vw));    // "H.264 through ffmpeg into video.mp4"
 *   for (...) if (ngp_video_writer_frame(vw, index, rgb8, &err) != NGP_OK) { ngp_video_writer_abort(vw); fail(); }
 *   if (ngp_video_writer_close(vw, &err) != NGP_OK) fail(err.msg);   // video.mp4 appears only now
 *
 * The output decides the form:
 *   - a name ending in '/', or an existing folder: PNGs DIR/0000.png, DIR/0001.png, ... numbered by
 *     frame index (so a part rendered with a frame range keeps its numbers);
 *   - a name with a printf integer conversion (run.py's "video_%04d.png"): PNGs by that pattern;
 *   - any other name: raw RGB frames piped into `ffmpeg` (found on PATH), encoded with libx264 in
 *     yuv420p into a temporary file beside the output, renamed over it once ffmpeg succeeded (an
 *     existing video is never half overwritten). Without ffmpeg on PATH, PNGs go into the folder
 *     named like the output without its extension ("video.mp4" -> "video/"), and the description
 *     says why.
 * H.264 in yuv420p needs an even width and height (ngp_video_needs_even_size). */
#ifndef NGP_ENGINE_VIDEO_WRITER_H
#define NGP_ENGINE_VIDEO_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "ngp/common.h"

typedef struct ngp_video_writer ngp_video_writer;

/* Whether the output names a video file (not PNG frames): then width and height must be even. */
bool ngp_video_output_is_file(const char *output);
/* Checks a frame-name pattern (one integer conversion such as %04d; "%%" for a percent sign).
 * NGP_ERR_INVALID with the reason otherwise. */
ngp_status ngp_video_check_pattern(const char *output, ngp_error *err);
/* Whether `ffmpeg` is an executable on PATH. */
bool ngp_video_have_ffmpeg(void);

ngp_status ngp_video_writer_open(ngp_video_writer **out, const char *output, int width, int height, double fps,
                                 ngp_error *err);
/* One line on where the frames go and how. */
const char *ngp_video_writer_describe(const ngp_video_writer *vw);
/* The video file, the PNG folder or the PNG name pattern. */
const char *ngp_video_writer_output(const ngp_video_writer *vw);
/* Frame `index` (its number for PNGs), rgb [height][width][3] 8-bit, top row first. Frames go to
 * ffmpeg in the order given. */
ngp_status ngp_video_writer_frame(ngp_video_writer *vw, int index, const uint8_t *rgb, ngp_error *err);
/* PNG outputs: the file frame `index` goes to, into path (returns true); an H.264 video: false.
 * (Frames of the render modes other than shade are written there by the screenshots' writer.) */
bool ngp_video_writer_frame_path(const ngp_video_writer *vw, int index, char *path, size_t n);
/* Finishes (waits for ffmpeg, renames its output into place) and frees. */
ngp_status ngp_video_writer_close(ngp_video_writer *vw, ngp_error *err);
/* Stops without a video: ffmpeg's temporary output is removed (PNGs written stay). Frees. */
void ngp_video_writer_abort(ngp_video_writer *vw);

#endif
