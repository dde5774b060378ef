/* engine/camera_path.h: camera paths for videos, in instant-ngp's format and with its splines.
 *
 *   ngp_camera_path path;
 *   if (ngp_camera_path_load("base_cam.json", &path, &err) != NGP_OK) fail(err.msg);
 *   for (int i = 0; i < n_frames; i++) {
 *     ngp_path_key k = ngp_camera_path_eval(&path, ngp_camera_path_frame_time(&path, i, n_frames));
 *     float xform[12];
 *     ngp_path_key_to_xform(&k, xform);         // camera-to-world, ngp units, like ngp_frame.xform
 *     ... render xform with a vertical field of view of k.fov degrees ...
 *   }
 *   ngp_camera_path_free(&path);
 *
 * The file (instant-ngp's base_cam.json, written by its GUI and by this program's viewer):
 *   { "path": [ { "R": [x, y, z, w], "T": [x, y, z], "fov": 50.6, "scale": 1.5, "slice": 0,
 *                 "aperture_size": 0, "timestamp": 0.5 }, ... ],
 *     "loop": false, "time": 0, "duration_seconds": 1, "spline_order": 3 }
 * R is the camera's rotation as a quaternion (x, y, z, w), whose matrix has the camera's right,
 * down and forward axes as columns; T its position; both in ngp units and axes (what instant-ngp
 * calls m_camera). fov is the vertical field of view in degrees; scale the distance to the point
 * the camera looks at; slice and aperture_size (or "dof") instant-ngp's slice plane and depth of
 * field, kept but not rendered here. Keyframe i's timestamp ends the segment that starts at it;
 * timestamps that do not increase are replaced by equidistant ones, (i + 1) / n, as instant-ngp
 * does. spline_order 0 (nearest keyframe), 1 (linear), 2 (quadratic B-spline), 3 (cubic B-spline,
 * the default): the B-splines smooth the path and, as in instant-ngp, do not pass through their
 * keyframes unless a keyframe is repeated. A path made from a transforms file's frames uses a
 * Catmull-Rom spline instead (the quaternions slerped), which passes through every frame. */
#ifndef NGP_ENGINE_CAMERA_PATH_H
#define NGP_ENGINE_CAMERA_PATH_H

#include <stdbool.h>

#include "ngp/common.h"
#include "ngp/scene.h"

/* Not an instant-ngp spline_order: Catmull-Rom through the keyframes (transforms files). */
#define NGP_SPLINE_CATMULL_ROM 4

typedef struct ngp_path_key {
  float R[4]; /* rotation quaternion x, y, z, w: columns right, down, forward in ngp axes */
  float T[3]; /* position, ngp units */
  float slice, scale, fov, aperture_size, timestamp;
} ngp_path_key;

typedef struct ngp_camera_path {
  ngp_path_key *keys;
  int n_keys, cap;
  bool loop;              /* the last keyframe leads back to the first */
  float time;             /* instant-ngp's play position in [0, 1] (kept for saving) */
  float duration_seconds; /* the path's length in seconds; 0: not given */
  int spline_order;       /* 0..3 as instant-ngp, or NGP_SPLINE_CATMULL_ROM */
} ngp_camera_path;

/* An empty path: cubic spline, no loop. */
void ngp_camera_path_init(ngp_camera_path *p);
void ngp_camera_path_free(ngp_camera_path *p);

/* Reads instant-ngp's camera path file. Errors name the file and the field ("base_cam.json:
 * path[2].R: expected an array of 4 numbers, found a string"). The path holds >= 1 keyframe. */
ngp_status ngp_camera_path_load(const char *file, ngp_camera_path *p, ngp_error *err);
/* Writes the path in instant-ngp's format, atomically. */
ngp_status ngp_camera_path_save(const char *file, const ngp_camera_path *p, ngp_error *err);
/* A path through the frames of a transforms file, in the file's order (frames listed in several
 * files of a scene folder: file by file), with a Catmull-Rom spline; each keyframe's fov is its
 * frame's vertical field of view. The images need not exist. */
ngp_status ngp_camera_path_from_transforms(const char *file, ngp_camera_path *p, ngp_error *err);
/* Whether a .json file is a transforms file (has "frames") rather than a camera path. */
bool ngp_camera_path_is_transforms(const char *file);

/* Appends a keyframe for a camera (xform: camera-to-world in ngp units, vertical field of view in
 * degrees, distance to the point it looks at) and makes the timestamps equidistant, as instant-ngp's
 * "Add from cam" does. */
ngp_status ngp_camera_path_add(ngp_camera_path *p, const float xform[12], float fov_deg, float scale, ngp_error *err);
void ngp_camera_path_clear(ngp_camera_path *p);

/* The camera at play time t in [0, 1] (instant-ngp's eval_camera_path): the keyframes' spline. */
ngp_path_key ngp_camera_path_eval(const ngp_camera_path *p, float t);
/* Play time of frame i of n: i / (n - 1) for an open path, so that the first and the last frames are
 * the path's ends (run.py stops one frame short of the end: i / n), and i / n for a loop, whose frame
 * n would be frame 0 again. */
float ngp_camera_path_frame_time(const ngp_camera_path *p, int i, int n);

/* A keyframe's camera-to-world matrix (3x4 row-major, the quaternion normalised), and back. */
void ngp_path_key_to_xform(const ngp_path_key *k, float xform[12]);
void ngp_path_key_from_xform(const float xform[12], ngp_path_key *k);
/* Focal length in pixels (x = y) for an image `height` pixels high at a vertical fov in degrees. */
float ngp_path_fov_to_focal(float fov_deg, int height);

/* instant-ngp's camera smoothing (--video-camera-smoothing): moves `state` towards `target` by the
 * fraction alpha along the rigid motion between them (camera_log_lerp: exp(alpha log(B A^-1)) A). */
void ngp_camera_log_lerp(float state[12], const float target[12], float alpha);
/* The smoothing fraction per frame at fps frames per second: 1 - 0.02^(1/fps) (instant-ngp's decay). */
float ngp_camera_smoothing_alpha(double fps);

/* A generated orbit (--video-orbit): around the scene box's centre, at the training cameras' mean
 * distance from it and mean elevation above the plane across the scene's up vector, starting at
 * the first camera's azimuth, looking at the centre, with their mean vertical field of view. */
typedef struct ngp_orbit {
  float centre[3], up[3], start_dir[3];
  float distance, elevation; /* radians */
  float fov_deg;
} ngp_orbit;
/* From a scene's cameras (images not needed). NGP_ERR_INVALID when they are degenerate (all at
 * the centre). */
ngp_status ngp_orbit_from_scene(const ngp_scene *cams, ngp_orbit *o, ngp_error *err);
/* The camera after `turns` turns (fractions too) about the up vector. */
void ngp_orbit_xform(const ngp_orbit *o, double turns, float xform[12]);

#endif
