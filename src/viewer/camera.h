/* camera.h: the viewer's free camera, pure maths (no GL, no window), so tests drive it directly.
 *
 * The pose is a camera-to-world matrix in ngp units and axes, 3x4 row-major like
 * ngp_frame.xform: columns right, down, forward (the camera looks along +z, image y points
 * down), position. The camera turns about a pivot point in front of it at `distance`:
 *
 *   ngp_camera cam;
 *   ngp_camera_init_default(&cam);             // or ngp_camera_set_pose(&cam, frame.xform, ...)
 *   ngp_camera_orbit(&cam, dx_pixels, dy_pixels); // left drag: turns about the pivot
 *   ngp_camera_pan(&cam, dx, dy, image_height);   // right drag: the pivot follows the cursor
 *   ngp_camera_zoom(&cam, wheel_steps);           // closer to / farther from the pivot
 *   ngp_camera_fly(&cam, forward, right, up, seconds); // W A S D, Space, C
 *   ngp_camera_intrinsics(&cam, w, h, focal, principal); // for a render of the camera
 */
#ifndef NGP_VIEWER_CAMERA_H
#define NGP_VIEWER_CAMERA_H

#include <stdbool.h>

typedef struct ngp_camera {
  float xform[12];    /* camera-to-world, ngp units: [right | down | forward | position], row-major */
  float pivot[3];     /* the point orbits turn about: position + distance * forward */
  float distance;     /* from the position to the pivot, > 0 */
  float up[3];        /* the world's up (unit): orbits turn about it, Space and C fly along it */
  float rel_focal;    /* focal length as a fraction of the image height (the vertical field of view) */
  float principal[2]; /* principal point as a fraction of the image size */
} ngp_camera;

/* Radians of orbit per pixel of mouse motion. */
#define NGP_CAMERA_ORBIT_RAD_PER_PIXEL 0.005f
/* Distance factor per wheel step (a step towards the pivot divides the distance by it). */
#define NGP_CAMERA_ZOOM_STEP 1.1f

/* No scene: looks at the centre of the unit scene box (0.5, 0.5, 0.5) from a distance of 1.5
 * (about where NeRF-synthetic cameras sit), +y up, a 50-degree vertical field of view. */
void ngp_camera_init_default(ngp_camera *c);

/* Takes a pose exactly (a training view): the up vector is kept; the pivot is the point on the
 * view axis closest to `target` (the scene centre), at least min_distance in front. rel_focal is
 * focal_y / image height of that view. */
void ngp_camera_set_pose(ngp_camera *c, const float xform[12], float rel_focal, const float principal[2],
                         const float target[3]);

/* The world up for a set of camera poses: `scene_up` when given (non-NULL), else the mean of the
 * cameras' up vectors (minus their "down" columns), else +y. n poses of 12 floats, stride floats
 * apart. Writes a unit vector. */
void ngp_camera_world_up(const float *poses, int n, int stride, const float *scene_up, float up[3]);

/* Left drag by (dx, dy) pixels: turns the camera about the pivot, by -dx about the world up and
 * -dy about the camera's right axis. The distance to the pivot is kept; the view keeps looking at
 * the pivot. The pitch is limited so the view never flips over the pole. */
void ngp_camera_orbit(ngp_camera *c, float dx, float dy);
/* Right or middle drag by (dx, dy) pixels in an image `image_height` pixels high: moves the
 * camera and the pivot in the image plane so that the pivot follows the cursor. */
void ngp_camera_pan(ngp_camera *c, float dx, float dy, int image_height);
/* Wheel: `steps` > 0 moves towards the pivot (distance / ZOOM_STEP^steps), < 0 away. */
void ngp_camera_zoom(ngp_camera *c, float steps);
/* Flies camera and pivot together: forward/right/up in [-1, 1] (keys held), for `seconds`, at a
 * speed of `speed` scene units per second. Up is the world up. */
void ngp_camera_fly(ngp_camera *c, float forward, float right, float up, float speed, float seconds);

/* Focal length in pixels and principal point for an image of width x height pixels (square
 * pixels: the vertical field of view is kept, the horizontal one follows the aspect ratio). */
void ngp_camera_intrinsics(const ngp_camera *c, int width, int height, float focal[2], float principal[2]);

/* Whether two cameras give the same image (pose and intrinsics bitwise equal). */
bool ngp_camera_same_view(const ngp_camera *a, const ngp_camera *b);

#endif
