/* test_viewer_camera.c: the viewer's camera maths (src/viewer/camera.c), without a window:
 * orbit keeps the distance to the pivot and keeps looking at it, zoom changes only the distance,
 * pan moves pivot and camera together, fly follows the axes, training poses are taken exactly,
 * and the basis stays orthonormal over many small moves. */
#include "testutil.h"

#include <math.h>
#include <string.h>

#include "viewer/camera.h"

static void col(const float *m, int c, float v[3]) {
  for (int r = 0; r < 3; r++)
    v[r] = m[r * 4 + c];
}

static float dist3(const float a[3], const float b[3]) {
  float d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
  return sqrtf(d0 * d0 + d1 * d1 + d2 * d2);
}

static float dot3(const float a[3], const float b[3]) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }

/* Columns 0..2 orthonormal and right-handed with y down: right x down = forward. */
static void assert_orthonormal(const ngp_camera *c) {
  float a[3][3];
  for (int i = 0; i < 3; i++)
    col(c->xform, i, a[i]);
  for (int i = 0; i < 3; i++)
    for (int j = 0; j < 3; j++)
      assert_float_equal(dot3(a[i], a[j]), i == j ? 1.0f : 0.0f, 1e-4);
  float x[3] = {a[0][1] * a[1][2] - a[0][2] * a[1][1], a[0][2] * a[1][0] - a[0][0] * a[1][2],
                a[0][0] * a[1][1] - a[0][1] * a[1][0]};
  for (int k = 0; k < 3; k++)
    assert_float_equal(x[k], a[2][k], 1e-4);
}

/* The pivot is where the camera looks: position + distance * forward. */
static void assert_looks_at_pivot(const ngp_camera *c) {
  float p[3], f[3];
  col(c->xform, 3, p);
  col(c->xform, 2, f);
  assert_float_equal(dist3(p, c->pivot), c->distance, 1e-4 * c->distance);
  for (int k = 0; k < 3; k++)
    assert_float_equal(p[k] + c->distance * f[k], c->pivot[k], 1e-4);
}

static void test_default(void **state) {
  (void)state;
  ngp_camera c;
  ngp_camera_init_default(&c);
  assert_orthonormal(&c);
  assert_looks_at_pivot(&c);
  for (int k = 0; k < 3; k++)
    assert_float_equal(c.pivot[k], 0.5f, 1e-6);
  /* +y is up: the camera's down column points against it. */
  float dn[3];
  col(c.xform, 1, dn);
  assert_true(dot3(dn, c.up) < -0.5f);
}

static void test_orbit_keeps_distance(void **state) {
  (void)state;
  ngp_camera c;
  ngp_camera_init_default(&c);
  float pivot[3], p0[3], p1[3];
  memcpy(pivot, c.pivot, sizeof pivot);
  float d0 = c.distance;
  col(c.xform, 3, p0);
  ngp_camera_orbit(&c, 40.0f, -25.0f);
  col(c.xform, 3, p1);
  assert_true(dist3(p0, p1) > 0.1f);              /* it moved */
  assert_float_equal(c.distance, d0, 0.0);        /* same distance */
  assert_float_equal(dist3(p1, pivot), d0, 1e-4); /* ... measured, too */
  for (int k = 0; k < 3; k++)
    assert_float_equal(c.pivot[k], pivot[k], 0.0);
  assert_orthonormal(&c);
  assert_looks_at_pivot(&c);
  /* A pure horizontal drag turns about the world up: the height along up is kept. */
  float h0 = dot3(p1, c.up);
  ngp_camera_orbit(&c, 100.0f, 0.0f);
  col(c.xform, 3, p1);
  assert_float_equal(dot3(p1, c.up), h0, 1e-4);
  /* 2 pi of yaw (in pixels) comes back to the start. */
  ngp_camera a;
  ngp_camera_init_default(&a);
  float start[3], back[3];
  col(a.xform, 3, start);
  float full = 2.0f * 3.14159265f / NGP_CAMERA_ORBIT_RAD_PER_PIXEL;
  for (int i = 0; i < 100; i++)
    ngp_camera_orbit(&a, full / 100.0f, 0.0f);
  col(a.xform, 3, back);
  assert_true(dist3(start, back) < 1e-3f);
  assert_orthonormal(&a);
}

static void test_orbit_never_flips(void **state) {
  (void)state;
  ngp_camera c;
  ngp_camera_init_default(&c);
  /* Drag far upwards: the pitch stops short of the pole instead of turning the view over. */
  for (int i = 0; i < 200; i++)
    ngp_camera_orbit(&c, 0.0f, 20.0f);
  float f[3], dn[3];
  col(c.xform, 2, f);
  col(c.xform, 1, dn);
  assert_true(fabsf(dot3(f, c.up)) <= 0.99985f);
  assert_true(dot3(dn, c.up) <= 1e-3f); /* still upright, never upside down */
  assert_orthonormal(&c);
  assert_looks_at_pivot(&c);
}

static void test_zoom(void **state) {
  (void)state;
  ngp_camera c;
  ngp_camera_init_default(&c);
  float d0 = c.distance, f0[3], f1[3], pivot[3];
  memcpy(pivot, c.pivot, sizeof pivot);
  col(c.xform, 2, f0);
  ngp_camera_zoom(&c, 2.0f);
  assert_float_equal(c.distance, d0 / (NGP_CAMERA_ZOOM_STEP * NGP_CAMERA_ZOOM_STEP), 1e-5);
  col(c.xform, 2, f1);
  for (int k = 0; k < 3; k++) {
    assert_float_equal(f1[k], f0[k], 0.0); /* same direction */
    assert_float_equal(c.pivot[k], pivot[k], 0.0);
  }
  assert_looks_at_pivot(&c);
  ngp_camera_zoom(&c, -2.0f);
  assert_float_equal(c.distance, d0, 1e-5);
  ngp_camera_zoom(&c, -1000.0f); /* clamped, finite */
  assert_true(isfinite(c.distance) && c.distance <= 1e3f);
}

static void test_pan_and_fly(void **state) {
  (void)state;
  ngp_camera c;
  ngp_camera_init_default(&c);
  float r[3], dn[3], f[3], p0[3], p1[3], q0[3];
  col(c.xform, 0, r);
  col(c.xform, 1, dn);
  col(c.xform, 2, f);
  col(c.xform, 3, p0);
  memcpy(q0, c.pivot, sizeof q0);
  /* Dragging right by one focal length's worth of pixels moves the camera left by `distance`. */
  int H = 500;
  float px = c.rel_focal * (float)H;
  ngp_camera_pan(&c, px, 0.0f, H);
  col(c.xform, 3, p1);
  for (int k = 0; k < 3; k++) {
    assert_float_equal(p1[k], p0[k] - c.distance * r[k], 1e-4);
    assert_float_equal(c.pivot[k] - q0[k], p1[k] - p0[k], 1e-5);
  }
  assert_looks_at_pivot(&c);
  /* Fly: 2 s forward at 0.25 units/s moves 0.5 along the view, with the pivot. */
  col(c.xform, 3, p0);
  ngp_camera_fly(&c, 1.0f, 0.0f, 0.0f, 0.25f, 2.0f);
  col(c.xform, 3, p1);
  for (int k = 0; k < 3; k++)
    assert_float_equal(p1[k], p0[k] + 0.5f * f[k], 1e-5);
  assert_looks_at_pivot(&c);
  /* Up flies along the world's up, not the camera's. */
  col(c.xform, 3, p0);
  ngp_camera_fly(&c, 0.0f, 0.0f, 1.0f, 1.0f, 0.5f);
  col(c.xform, 3, p1);
  for (int k = 0; k < 3; k++)
    assert_float_equal(p1[k], p0[k] + 0.5f * c.up[k], 1e-5);
  (void)dn;
}

static void test_set_pose_and_up(void **state) {
  (void)state;
  /* A NeRF-synthetic-like camera: at (0.5, 0.9, 1.8) looking at the centre, upright (+y up). */
  float pos[3] = {0.5f, 0.9f, 1.8f}, fwd[3] = {0.0f, -0.4f, -1.3f};
  float n = sqrtf(dot3(fwd, fwd));
  for (int k = 0; k < 3; k++)
    fwd[k] /= n;
  float dn[3] = {0.0f, -fwd[2], fwd[1]}; /* perpendicular to fwd, pointing down */
  if (dn[1] > 0.0f)
    for (int k = 0; k < 3; k++)
      dn[k] = -dn[k];
  float r[3] = {dn[1] * fwd[2] - dn[2] * fwd[1], dn[2] * fwd[0] - dn[0] * fwd[2], dn[0] * fwd[1] - dn[1] * fwd[0]};
  float xf[12];
  for (int k = 0; k < 3; k++) {
    xf[k * 4 + 0] = r[k];
    xf[k * 4 + 1] = dn[k];
    xf[k * 4 + 2] = fwd[k];
    xf[k * 4 + 3] = pos[k];
  }
  float up[3];
  ngp_camera_world_up(xf, 1, 12, NULL, up);
  assert_true(up[1] > 0.9f);
  float scene_up[3] = {0.0f, 0.0f, 2.0f};
  ngp_camera_world_up(xf, 1, 12, scene_up, up); /* the scene's "up" wins, normalised */
  assert_float_equal(up[2], 1.0f, 1e-6);

  ngp_camera c;
  ngp_camera_init_default(&c);
  const float centre[3] = {0.5f, 0.5f, 0.5f}, principal[2] = {0.5f, 0.5f};
  ngp_camera_set_pose(&c, xf, 1.2f, principal, centre);
  assert_memory_equal(c.xform, xf, sizeof xf); /* exactly the pose */
  assert_float_equal(c.rel_focal, 1.2f, 0.0);
  assert_looks_at_pivot(&c);
  /* The pivot is the point of the view axis nearest the centre. */
  float d[3] = {centre[0] - pos[0], centre[1] - pos[1], centre[2] - pos[2]};
  assert_float_equal(c.distance, dot3(d, fwd), 1e-5);
  float focal[2], pp[2];
  ngp_camera_intrinsics(&c, 640, 480, focal, pp);
  assert_float_equal(focal[0], 1.2f * 480.0f, 1e-3);
  assert_float_equal(focal[1], focal[0], 0.0);
  ngp_camera other = c;
  assert_true(ngp_camera_same_view(&c, &other));
  ngp_camera_orbit(&other, 1.0f, 0.0f);
  assert_false(ngp_camera_same_view(&c, &other));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_default),           cmocka_unit_test(test_orbit_keeps_distance),
      cmocka_unit_test(test_orbit_never_flips), cmocka_unit_test(test_zoom),
      cmocka_unit_test(test_pan_and_fly),       cmocka_unit_test(test_set_pose_and_up),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
