/* engine/video.h: videos of a session's model along a camera path (run.py's --video_* options).
 *
 *   ngp_video_opts vo;
 *   ngp_video_opts_default(&vo);
 *   vo.camera_path = "base_cam.json";                 // or a transforms .json, or vo.orbit_turns = 1
 *   ngp_video_plan plan;
 *   if (ngp_video_prepare(&vo, NULL, &plan, &err) != NGP_OK) fail(err.msg);   // before training
 *   ...
 *   if (ngp_session_video(&session, &plan, &err) != NGP_OK) fail(err.msg);
 *   ngp_video_plan_free(&plan);
 *
 * Frame i of n (n = seconds x fps, truncated as instant-ngp does) shows the path at play time
 * ngp_camera_path_frame_time(i, n), or with smoothing the camera smoothed from frame 0 on (so a
 * frame is the same whether the video is rendered whole or from a frame range). Frames are
 * rendered through the session's backend with seed = the frame's index: deterministic. */
#ifndef NGP_ENGINE_VIDEO_H
#define NGP_ENGINE_VIDEO_H

#include <stdbool.h>

#include "engine/camera_path.h"
#include "engine/session.h"

typedef struct ngp_video_opts {
  const char *camera_path;  /* instant-ngp camera path or transforms .json; NULL with orbit_turns */
  double orbit_turns;       /* > 0: a generated orbit, this many turns over the video */
  const char *orbit_scene;  /* scene whose cameras place the orbit when the session has none loaded */
  double n_seconds;         /* <= 0: the path's duration_seconds when it has one, else 1 (run.py) */
  double fps;               /* 60 */
  int spp;                  /* 8 */
  int width, height;        /* 1920 x 1080 */
  int first, last;          /* frames to render, inclusive; -1: from the start / to the end */
  bool smoothing;           /* instant-ngp's camera smoothing */
  const char *output;       /* "video.mp4" (see video_writer.h for folders and patterns) */
  int (*interrupted)(void); /* polled between frames; non-zero stops the video (NULL: never) */
} ngp_video_opts;

void ngp_video_opts_default(ngp_video_opts *o);

typedef struct ngp_video_plan {
  ngp_video_opts opts;
  ngp_camera_path path; /* empty for an orbit */
  bool have_orbit;
  ngp_orbit orbit;
  int n_frames;
  int first, last;  /* resolved range */
  char source[200]; /* what the cameras follow, for the summary line */
} ngp_video_plan;

/* Reads the camera path (or places the orbit, from `cams` when given, else from opts.orbit_scene's
 * cameras) and counts the frames. Errors name the file and the field. */
ngp_status ngp_video_prepare(const ngp_video_opts *o, const ngp_scene *cams, ngp_video_plan *plan, ngp_error *err);
/* Whether the options fit the path: at least one frame, a frame range within the video. NGP_ERR_INVALID
 * naming the option otherwise. (ngp_session_video checks it too.) */
ngp_status ngp_video_plan_check(const ngp_video_plan *plan, ngp_error *err);
void ngp_video_plan_free(ngp_video_plan *plan);

/* The camera of frame i: camera-to-world (ngp units) and vertical field of view in degrees. */
void ngp_video_frame_camera(const ngp_video_plan *plan, int i, float xform[12], float *fov_deg);

/* Renders the planned frames through the session's backend and writes them; prints a line on what
 * it makes, progress with the time left on stderr, and "video saved: ..." at the end. */
ngp_status ngp_session_video(ngp_session *s, const ngp_video_plan *plan, ngp_error *err);

#endif
