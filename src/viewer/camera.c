/* camera.c: orbit, pan, zoom and fly for the viewer's camera (see camera.h). Vectors are float[3];
 * the pose's columns are read and written through col()/set_col(). */
#include "viewer/camera.h"

#include <math.h>
#include <string.h>

static void col(const float *m, int c, float v[3]) {
  for (int r = 0; r < 3; r++)
    v[r] = m[r * 4 + c];
}

static void set_col(float *m, int c, const float v[3]) {
  for (int r = 0; r < 3; r++)
    m[r * 4 + c] = v[r];
}

static float dot3(const float a[3], const float b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

static void cross3(const float a[3], const float b[3], float out[3]) {
  float x = a[1] * b[2] - a[2] * b[1], y = a[2] * b[0] - a[0] * b[2], z = a[0] * b[1] - a[1] * b[0];
  out[0] = x;
  out[1] = y;
  out[2] = z;
}

static float norm3(const float a[3]) { return sqrtf(dot3(a, a)); }

static bool normalize3(float a[3]) {
  float n = norm3(a);
  if (!(n > 1e-12f)) return false;
  for (int k = 0; k < 3; k++)
    a[k] /= n;
  return true;
}

/* Rodrigues: v rotated by `angle` radians about the unit axis (right-handed). */
static void rotate3(const float axis[3], float angle, const float v[3], float out[3]) {
  float c = cosf(angle), s = sinf(angle), kv = dot3(axis, v), kxv[3];
  cross3(axis, v, kxv);
  for (int k = 0; k < 3; k++)
    out[k] = v[k] * c + kxv[k] * s + axis[k] * kv * (1.0f - c);
}

/* Position = pivot - distance * forward (the relation every operation keeps). */
static void place_on_pivot(ngp_camera *c) {
  float f[3], p[3];
  col(c->xform, 2, f);
  normalize3(f);
  for (int k = 0; k < 3; k++)
    p[k] = c->pivot[k] - c->distance * f[k];
  set_col(c->xform, 3, p);
}

/* Right-handed camera with y down: right = down x forward, down = forward x right. */
static void basis_from_forward(float xform[12], const float fwd[3], const float up[3]) {
  float f[3] = {fwd[0], fwd[1], fwd[2]}, dn[3] = {-up[0], -up[1], -up[2]}, r[3];
  normalize3(f);
  cross3(dn, f, r);
  if (!normalize3(r)) { /* looking straight along up: any right axis will do */
    float alt[3] = {1.0f, 0.0f, 0.0f};
    if (fabsf(f[0]) > 0.9f) alt[0] = 0.0f, alt[2] = 1.0f;
    cross3(alt, f, r);
    normalize3(r);
  }
  cross3(f, r, dn);
  set_col(xform, 0, r);
  set_col(xform, 1, dn);
  set_col(xform, 2, f);
}

void ngp_camera_init_default(ngp_camera *c) {
  memset(c, 0, sizeof *c);
  c->up[1] = 1.0f;
  for (int k = 0; k < 3; k++)
    c->pivot[k] = 0.5f;
  c->distance = 1.5f;
  float fwd[3] = {-0.55f, -0.35f, -0.76f}; /* from the front-right, a little above */
  basis_from_forward(c->xform, fwd, c->up);
  c->rel_focal = 0.5f / tanf(0.5f * 50.0f * 3.14159265f / 180.0f);
  c->principal[0] = c->principal[1] = 0.5f;
  place_on_pivot(c);
}

void ngp_camera_set_pose(ngp_camera *c, const float xform[12], float rel_focal, const float principal[2],
                         const float target[3]) {
  memcpy(c->xform, xform, sizeof c->xform);
  float f[3], p[3], d[3];
  col(xform, 2, f);
  col(xform, 3, p);
  if (!normalize3(f)) f[2] = 1.0f;
  for (int k = 0; k < 3; k++)
    d[k] = target[k] - p[k];
  float t = dot3(d, f), len = norm3(d);
  c->distance = t > 0.05f ? t : (len > 0.5f ? len : 0.5f);
  for (int k = 0; k < 3; k++)
    c->pivot[k] = p[k] + c->distance * f[k];
  c->rel_focal = rel_focal > 0.0f ? rel_focal : 1.0f;
  c->principal[0] = principal ? principal[0] : 0.5f;
  c->principal[1] = principal ? principal[1] : 0.5f;
}

void ngp_camera_world_up(const float *poses, int n, int stride, const float *scene_up, float up[3]) {
  if (scene_up) {
    memcpy(up, scene_up, 3 * sizeof(float));
    if (normalize3(up)) return;
  }
  up[0] = up[1] = up[2] = 0.0f;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 3; k++)
      up[k] -= poses[(size_t)i * (size_t)stride + (size_t)k * 4 + 1];
  /* Cameras all around a pole (or none) leave no clear mean: take +y, the NeRF-synthetic up. */
  if (n == 0 || norm3(up) < 0.3f * (float)n || !normalize3(up)) {
    up[0] = up[2] = 0.0f;
    up[1] = 1.0f;
  }
}

void ngp_camera_orbit(ngp_camera *c, float dx, float dy) {
  float yaw = -dx * NGP_CAMERA_ORBIT_RAD_PER_PIXEL, pitch = -dy * NGP_CAMERA_ORBIT_RAD_PER_PIXEL;
  float axes[3][3], out[3][3];
  for (int i = 0; i < 3; i++)
    col(c->xform, i, axes[i]);
  /* Pitch about the camera's right axis, unless it would take the view within ~1 degree of the
   * up or down pole, where the yaw axis and the view axis meet and the image would spin. */
  float f_new[3];
  normalize3(axes[0]);
  rotate3(axes[0], pitch, axes[2], f_new);
  normalize3(f_new);
  if (fabsf(dot3(f_new, c->up)) > 0.9998f) pitch = 0.0f;
  for (int i = 0; i < 3; i++) {
    float tmp[3];
    rotate3(axes[0], pitch, axes[i], tmp);
    rotate3(c->up, yaw, tmp, out[i]);
  }
  /* Gram-Schmidt against drift over many small rotations. */
  normalize3(out[2]);
  float k = dot3(out[0], out[2]);
  for (int j = 0; j < 3; j++)
    out[0][j] -= k * out[2][j];
  normalize3(out[0]);
  cross3(out[2], out[0], out[1]);
  for (int i = 0; i < 3; i++)
    set_col(c->xform, i, out[i]);
  place_on_pivot(c);
}

void ngp_camera_pan(ngp_camera *c, float dx, float dy, int image_height) {
  float r[3], dn[3], p[3];
  col(c->xform, 0, r);
  col(c->xform, 1, dn);
  col(c->xform, 3, p);
  normalize3(r);
  normalize3(dn);
  /* One pixel at the pivot's depth is distance / focal_pixels scene units. */
  float s = c->distance / (c->rel_focal * (float)(image_height > 0 ? image_height : 1));
  for (int k = 0; k < 3; k++) {
    float d = -(dx * r[k] + dy * dn[k]) * s;
    p[k] += d;
    c->pivot[k] += d;
  }
  set_col(c->xform, 3, p);
}

void ngp_camera_zoom(ngp_camera *c, float steps) {
  float d = c->distance / powf(NGP_CAMERA_ZOOM_STEP, steps);
  c->distance = d < 1e-3f ? 1e-3f : (d > 1e3f ? 1e3f : d);
  place_on_pivot(c);
}

void ngp_camera_fly(ngp_camera *c, float forward, float right, float up, float speed, float seconds) {
  float f[3], r[3], p[3];
  col(c->xform, 2, f);
  col(c->xform, 0, r);
  col(c->xform, 3, p);
  normalize3(f);
  normalize3(r);
  float s = speed * seconds;
  for (int k = 0; k < 3; k++) {
    float d = (forward * f[k] + right * r[k] + up * c->up[k]) * s;
    p[k] += d;
    c->pivot[k] += d;
  }
  set_col(c->xform, 3, p);
}

void ngp_camera_intrinsics(const ngp_camera *c, int width, int height, float focal[2], float principal[2]) {
  (void)width;
  focal[0] = focal[1] = c->rel_focal * (float)height;
  principal[0] = c->principal[0];
  principal[1] = c->principal[1];
}

bool ngp_camera_same_view(const ngp_camera *a, const ngp_camera *b) {
  return memcmp(a->xform, b->xform, sizeof a->xform) == 0 && a->rel_focal == b->rel_focal &&
         a->principal[0] == b->principal[0] && a->principal[1] == b->principal[1];
}
