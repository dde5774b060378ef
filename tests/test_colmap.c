/* test_colmap.c: COLMAP models to transforms.json (src/colmap/): the pose maths against COLMAP's
 * projection of known points, the round trip of poses, colmap2nerf's normalisation, every camera
 * model's intrinsics, several cameras, text and binary models of the same cameras, sharpness, the
 * paths, and the errors (missing files, unsupported models, non-finite values, truncated files,
 * images that are gone). */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "colmap/colmap.h"
#include "core/fs.h"
#include "core/json_util.h"

#define PI 3.14159265358979323846

static uint64_t g_rng = 0x1234567;
static double urand(void) { /* [0, 1) */
  g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(g_rng >> 11) * (1.0 / 9007199254740992.0);
}
static void random_pose(double q[4], double t[3]) {
  double n = 0;
  for (int k = 0; k < 4; k++) {
    q[k] = urand() * 2 - 1;
    n += q[k] * q[k];
  }
  for (int k = 0; k < 4; k++)
    q[k] /= sqrt(n);
  for (int k = 0; k < 3; k++)
    t[k] = urand() * 10 - 5;
}

static void test_qvec(void **state) {
  (void)state;
  /* 90 degrees about z: x -> y */
  double q[4] = {cos(PI / 4), 0, 0, sin(PI / 4)}, r[9];
  ngp_colmap_qvec_to_rotmat(q, r);
  const double want[9] = {0, -1, 0, 1, 0, 0, 0, 0, 1};
  for (int k = 0; k < 9; k++)
    assert_true(fabs(r[k] - want[k]) < 1e-12);
  /* not normalised: the same rotation */
  double q2[4] = {2 * q[0], 0, 0, 2 * q[3]}, r2[9];
  ngp_colmap_qvec_to_rotmat(q2, r2);
  for (int k = 0; k < 9; k++)
    assert_true(fabs(r2[k] - want[k]) < 1e-12);
}

/* A world point projects (COLMAP: x = R X + t, u = f x/z + cx, v = f y/z + cy) to a pixel; the NeRF
 * camera's ray through that pixel (direction c2w * ((u-cx)/f, -(v-cy)/f, -1)) must pass through
 * the same point, carried into the NeRF world (x <-> y, z negated; or kept). */
static void test_projection_agrees(void **state) {
  (void)state;
  for (int trial = 0; trial < 200; trial++) {
    double q[4], t[3], r[9];
    random_pose(q, t);
    ngp_colmap_qvec_to_rotmat(q, r);
    double X[3] = {urand() * 4 - 2, urand() * 4 - 2, urand() * 4 - 2}, xc[3];
    for (int i = 0; i < 3; i++)
      xc[i] = r[i * 3] * X[0] + r[i * 3 + 1] * X[1] + r[i * 3 + 2] * X[2] + t[i];
    if (xc[2] < 0.1) continue; /* behind the camera */
    const double f = 500, cx = 320, cy = 240;
    double u = f * xc[0] / xc[2] + cx, v = f * xc[1] / xc[2] + cy;
    for (int keep = 0; keep < 2; keep++) {
      double m[12];
      ngp_colmap_pose_to_nerf(q, t, keep, m);
      double dc[3] = {(u - cx) / f, -(v - cy) / f, -1}, d[3], o[3] = {m[3], m[7], m[11]};
      for (int i = 0; i < 3; i++)
        d[i] = m[i * 4] * dc[0] + m[i * 4 + 1] * dc[1] + m[i * 4 + 2] * dc[2];
      double Xn[3] = {X[0], X[1], X[2]};
      if (!keep) Xn[0] = X[1], Xn[1] = X[0], Xn[2] = -X[2];
      /* o + s d = Xn for s = depth (d has unit z in camera space) */
      for (int i = 0; i < 3; i++)
        assert_true(fabs(o[i] + xc[2] * d[i] - Xn[i]) < 1e-9);
    }
  }
}

static void test_pose_round_trip(void **state) {
  (void)state;
  double worst = 0;
  for (int trial = 0; trial < 1000; trial++) {
    double q[4], t[3];
    random_pose(q, t);
    if (trial == 0) q[0] = 1, q[1] = q[2] = q[3] = 0;    /* identity */
    if (trial == 1) q[0] = 0, q[1] = 1, q[2] = q[3] = 0; /* half turn: w = 0 */
    if (q[0] < 0)
      for (int k = 0; k < 4; k++)
        q[k] = -q[k];
    for (int keep = 0; keep < 2; keep++) {
      double m[12], q2[4], t2[3];
      ngp_colmap_pose_to_nerf(q, t, keep, m);
      ngp_colmap_nerf_to_pose(m, keep, q2, t2);
      /* q and -q are the same rotation; with w = 0 either sign may come back */
      double dp = 0, dm = 0;
      for (int k = 0; k < 4; k++) {
        dp = fmax(dp, fabs(q2[k] - q[k]));
        dm = fmax(dm, fabs(q2[k] + q[k]));
      }
      double e = fmin(dp, dm);
      for (int k = 0; k < 3; k++)
        e = fmax(e, fabs(t2[k] - t[k]));
      worst = fmax(worst, e);
    }
  }
  print_message("pose round trip: worst error %.3g\n", worst);
  assert_true(worst < 1e-6);
}

static void test_rotation_between(void **state) {
  (void)state;
  const double cases[][6] = {{1, 0, 0, 0, 0, 1},      {0, 0, 1, 0, 0, 1},      {0, 0, -1, 0, 0, 1},
                             {0.3, -2, 0.5, 0, 0, 1}, {1, 1e-12, 0, -1, 0, 0}, {-0.2, 0.1, -3, 0, 0, 1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const double *a = cases[c], *b = cases[c] + 3;
    double r[9];
    ngp_colmap_rotation_between(a, b, r);
    double na = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]), ra[3];
    for (int i = 0; i < 3; i++)
      ra[i] = (r[i * 3] * a[0] + r[i * 3 + 1] * a[1] + r[i * 3 + 2] * a[2]) / na;
    double nb = sqrt(b[0] * b[0] + b[1] * b[1] + b[2] * b[2]);
    for (int i = 0; i < 3; i++)
      assert_true(fabs(ra[i] - b[i] / nb) < 1e-9);
    /* a rotation: R R^T = I, det +1 */
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 3; j++) {
        double s = r[i * 3] * r[j * 3] + r[i * 3 + 1] * r[j * 3 + 1] + r[i * 3 + 2] * r[j * 3 + 2];
        assert_true(fabs(s - (i == j)) < 1e-9);
      }
    double det =
        r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6]);
    assert_true(fabs(det - 1) < 1e-9);
  }
}

/* n NeRF cameras on a tilted ring of radius rad about `centre`, each looking at it, with the
 * ring's up `up`: after the normalisation, the mean camera up is +z, every optical axis passes
 * through the origin, the mean distance is 4; the similarity reported maps the old centres. */
static void make_ring(int n, const double centre[3], const double up_in[3], double rad, double *c2w) {
  double up[3], e1[3], e2[3], nu = sqrt(up_in[0] * up_in[0] + up_in[1] * up_in[1] + up_in[2] * up_in[2]);
  for (int i = 0; i < 3; i++)
    up[i] = up_in[i] / nu;
  /* e1 perpendicular to up, e2 = up x e1 */
  double tmp[3] = {1, 0, 0};
  if (fabs(up[0]) > 0.9) tmp[0] = 0, tmp[1] = 1;
  double d = tmp[0] * up[0] + tmp[1] * up[1] + tmp[2] * up[2], ne = 0;
  for (int i = 0; i < 3; i++) {
    e1[i] = tmp[i] - d * up[i];
    ne += e1[i] * e1[i];
  }
  for (int i = 0; i < 3; i++)
    e1[i] /= sqrt(ne);
  e2[0] = up[1] * e1[2] - up[2] * e1[1], e2[1] = up[2] * e1[0] - up[0] * e1[2], e2[2] = up[0] * e1[1] - up[1] * e1[0];
  for (int k = 0; k < n; k++) {
    double a = 2 * PI * k / n, h = 0.3 * rad * (k % 3 - 1);
    double back[3], right[3], cup[3], pos[3];
    for (int i = 0; i < 3; i++) {
      pos[i] = centre[i] + rad * (cos(a) * e1[i] + sin(a) * e2[i]) + h * up[i];
      back[i] = pos[i] - centre[i];
    }
    double nb = sqrt(back[0] * back[0] + back[1] * back[1] + back[2] * back[2]);
    for (int i = 0; i < 3; i++)
      back[i] /= nb;
    right[0] = up[1] * back[2] - up[2] * back[1], right[1] = up[2] * back[0] - up[0] * back[2],
    right[2] = up[0] * back[1] - up[1] * back[0];
    double nr = sqrt(right[0] * right[0] + right[1] * right[1] + right[2] * right[2]);
    for (int i = 0; i < 3; i++)
      right[i] /= nr;
    cup[0] = back[1] * right[2] - back[2] * right[1], cup[1] = back[2] * right[0] - back[0] * right[2],
    cup[2] = back[0] * right[1] - back[1] * right[0];
    for (int i = 0; i < 3; i++) {
      c2w[k * 12 + i * 4 + 0] = right[i];
      c2w[k * 12 + i * 4 + 1] = cup[i];
      c2w[k * 12 + i * 4 + 2] = back[i];
      c2w[k * 12 + i * 4 + 3] = pos[i];
    }
  }
}

static void test_normalise(void **state) {
  (void)state;
  enum { N = 24 };
  double c2w[N * 12], orig[N * 12];
  const double centre[3] = {3, -7, 2}, up[3] = {0.3, -0.5, 1.2};
  make_ring(N, centre, up, 9.5, c2w);
  memcpy(orig, c2w, sizeof c2w);
  double rot[9], cen[3], scale;
  ngp_colmap_normalise(c2w, N, rot, cen, &scale);
  double mean_up[3] = {0, 0, 0}, mean_len = 0;
  for (int k = 0; k < N; k++) {
    const double *m = c2w + k * 12;
    for (int i = 0; i < 3; i++)
      mean_up[i] += m[i * 4 + 1] / N;
    double o[3] = {m[3], m[7], m[11]}, d[3] = {m[2], m[6], m[10]};
    double len = sqrt(o[0] * o[0] + o[1] * o[1] + o[2] * o[2]);
    mean_len += len / N;
    /* the optical axis passes through the origin: o is parallel to the axis d */
    double c[3] = {o[1] * d[2] - o[2] * d[1], o[2] * d[0] - o[0] * d[2], o[0] * d[1] - o[1] * d[0]};
    assert_true(sqrt(c[0] * c[0] + c[1] * c[1] + c[2] * c[2]) < 1e-9 * len);
    /* the similarity reported: new = scale * (R old - centre) */
    const double *p = orig + k * 12;
    for (int i = 0; i < 3; i++) {
      double v = scale * (rot[i * 3] * p[3] + rot[i * 3 + 1] * p[7] + rot[i * 3 + 2] * p[11] - cen[i]);
      assert_true(fabs(v - m[i * 4 + 3]) < 1e-9);
    }
  }
  double nu = sqrt(mean_up[0] * mean_up[0] + mean_up[1] * mean_up[1] + mean_up[2] * mean_up[2]);
  assert_true(fabs(mean_up[0] / nu) < 1e-9 && fabs(mean_up[1] / nu) < 1e-9 && mean_up[2] > 0);
  assert_true(fabs(mean_len - 4) < 1e-9);
}

/* ---- Models on disk ------------------------------------------------------------------------------- */

typedef struct {
  const char *model;
  int w, h;
  double p[8];
  int np;
} cam_def;

/* One camera of each model transforms.json can express, then one it cannot. */
static const cam_def k_cams[] = {
    {"SIMPLE_PINHOLE", 64, 48, {70, 31.5, 23.5}, 3},
    {"PINHOLE", 64, 48, {70, 72, 32.5, 24.25}, 4},
    {"SIMPLE_RADIAL", 64, 48, {71, 32, 24, 0.01}, 4},
    {"RADIAL", 64, 48, {72, 32, 24, 0.02, -0.003}, 5},
    {"OPENCV", 80, 40, {73, 74, 40.5, 19.5, 0.03, -0.004, 0.001, -0.002}, 8},
    {"OPENCV_FISHEYE", 64, 64, {40, 41, 32, 32, 0.1, -0.02, 0.003, -0.0004}, 8},
    {"SIMPLE_RADIAL_FISHEYE", 64, 48, {42, 32, 24, 0.05}, 4},
    {"RADIAL_FISHEYE", 64, 48, {43, 32, 24, 0.06, 0.007}, 5},
};
#define N_CAMS ((int)(sizeof k_cams / sizeof k_cams[0]))

typedef struct {
  double q[4], t[3];
  int cam; /* camera id - 1 */
  char name[32];
} img_def;

static void make_images(img_def *im, int n, int n_cams) {
  for (int i = 0; i < n; i++) {
    random_pose(im[i].q, im[i].t);
    if (im[i].q[0] < 0)
      for (int k = 0; k < 4; k++)
        im[i].q[k] = -im[i].q[k];
    im[i].cam = i % n_cams;
    snprintf(im[i].name, sizeof im[i].name, "img_%02d.png", i);
  }
}

static void write_text_model(const char *dir, const img_def *im, int n, int n_cams) {
  char *p = ngp_test_path(dir, "cameras.txt");
  FILE *f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f, "# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n");
  for (int c = 0; c < n_cams; c++) {
    fprintf(f, "%d %s %d %d", c + 1, k_cams[c].model, k_cams[c].w, k_cams[c].h);
    for (int k = 0; k < k_cams[c].np; k++)
      fprintf(f, " %.17g", k_cams[c].p[k]);
    fprintf(f, "\n");
  }
  fclose(f);
  free(p);
  p = ngp_test_path(dir, "images.txt");
  f = fopen(p, "w");
  assert_non_null(f);
  fprintf(f, "# Image list with two lines of data per image:\n#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, "
             "NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n");
  for (int i = 0; i < n; i++) {
    /* ids out of order (COLMAP's are not contiguous after a merge); every other image has no points */
    fprintf(f, "%d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %d %s\n", 100 - i, im[i].q[0], im[i].q[1], im[i].q[2],
            im[i].q[3], im[i].t[0], im[i].t[1], im[i].t[2], im[i].cam + 1, im[i].name);
    fprintf(f, i % 2 ? "\n" : "12.5 7.25 -1 3.5 9 17\n");
  }
  fclose(f);
  free(p);
}

static void put(FILE *f, const void *v, size_t n) { assert_int_equal(fwrite(v, 1, n, f), n); }

static void write_binary_model(const char *dir, const img_def *im, int n, int n_cams) {
  char *p = ngp_test_path(dir, "cameras.bin");
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  uint64_t count = (uint64_t)n_cams;
  put(f, &count, 8);
  for (int c = 0; c < n_cams; c++) {
    int32_t id = c + 1, model = ngp_colmap_model_from_name(k_cams[c].model);
    uint64_t w = (uint64_t)k_cams[c].w, h = (uint64_t)k_cams[c].h;
    put(f, &id, 4), put(f, &model, 4), put(f, &w, 8), put(f, &h, 8);
    put(f, k_cams[c].p, 8 * (size_t)k_cams[c].np);
  }
  fclose(f);
  free(p);
  p = ngp_test_path(dir, "images.bin");
  f = fopen(p, "wb");
  assert_non_null(f);
  count = (uint64_t)n;
  put(f, &count, 8);
  for (int i = 0; i < n; i++) {
    uint32_t id = (uint32_t)(100 - i), cam = (uint32_t)im[i].cam + 1;
    put(f, &id, 4), put(f, im[i].q, 32), put(f, im[i].t, 24), put(f, &cam, 4);
    put(f, im[i].name, strlen(im[i].name) + 1);
    uint64_t np = (uint64_t)(i % 3);
    put(f, &np, 8);
    for (uint64_t k = 0; k < np; k++) {
      double xy[2] = {1.5, 2.5};
      int64_t pid = (int64_t)k - 1;
      put(f, xy, 16), put(f, &pid, 8);
    }
  }
  fclose(f);
  free(p);
}

/* The image files (small PNGs) the model names, in dir. */
static void write_image_files(const char *dir, const img_def *im, int n) {
  for (int i = 0; i < n; i++) {
    char *p = ngp_test_path(dir, im[i].name);
    ngp_test_write_png(p, k_cams[im[i].cam].w, k_cams[im[i].cam].h, 3, i);
    free(p);
  }
}

static void assert_models_equal(const ngp_colmap_model *a, const ngp_colmap_model *b) {
  assert_int_equal(a->n_cameras, b->n_cameras);
  assert_int_equal(a->n_images, b->n_images);
  for (int c = 0; c < a->n_cameras; c++) {
    assert_int_equal(a->cameras[c].id, b->cameras[c].id);
    assert_int_equal(a->cameras[c].model, b->cameras[c].model);
    assert_int_equal(a->cameras[c].width, b->cameras[c].width);
    assert_int_equal(a->cameras[c].n_params, b->cameras[c].n_params);
    for (int k = 0; k < a->cameras[c].n_params; k++)
      assert_true(a->cameras[c].params[k] == b->cameras[c].params[k]);
  }
  for (int i = 0; i < a->n_images; i++) {
    assert_int_equal(a->images[i].id, b->images[i].id);
    assert_string_equal(a->images[i].name, b->images[i].name);
    for (int k = 0; k < 4; k++)
      assert_true(a->images[i].q[k] == b->images[i].q[k]);
    for (int k = 0; k < 3; k++)
      assert_true(a->images[i].t[k] == b->images[i].t[k]);
  }
}

static void test_text_and_binary_agree(void **state) {
  (void)state;
  enum { N = 13 };
  img_def im[N];
  make_images(im, N, N_CAMS);
  char *dir = ngp_test_tmpdir("colmap_both");
  char *tdir = ngp_test_path(dir, "text"), *bdir = ngp_test_path(dir, "bin");
  ngp_error err;
  assert_int_equal(ngp_mkdir_p(tdir, &err), NGP_OK);
  assert_int_equal(ngp_mkdir_p(bdir, &err), NGP_OK);
  write_text_model(tdir, im, N, N_CAMS);
  write_binary_model(bdir, im, N, N_CAMS);
  ngp_colmap_model mt, mb;
  if (ngp_colmap_read(tdir, &mt, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_colmap_read(bdir, &mb, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_false(mt.binary);
  assert_true(mb.binary);
  assert_models_equal(&mt, &mb);
  /* and what was written */
  for (int i = 0; i < N; i++) {
    assert_string_equal(mt.images[i].name, im[i].name);
    for (int k = 0; k < 4; k++)
      assert_true(mt.images[i].q[k] == im[i].q[k]);
  }
  ngp_colmap_model_free(&mt);
  ngp_colmap_model_free(&mb);
  free(tdir);
  free(bdir);
  free(dir);
}

/* Every model's intrinsics in the json, per frame (several cameras), and the poses as our own
 * scene loader reads them back. */
static void test_convert_every_model(void **state) {
  (void)state;
  enum { N = 16 };
  img_def im[N];
  make_images(im, N, N_CAMS);
  char *dir = ngp_test_tmpdir("colmap_models");
  char *mdir = ngp_test_path(dir, "sparse"), *idir = ngp_test_path(dir, "images"),
       *out = ngp_test_path(dir, "o/t.json");
  ngp_error err;
  assert_int_equal(ngp_mkdir_p(mdir, &err), NGP_OK);
  assert_int_equal(ngp_mkdir_p(idir, &err), NGP_OK);
  char *odir = ngp_test_path(dir, "o");
  assert_int_equal(ngp_mkdir_p(odir, &err), NGP_OK);
  write_binary_model(mdir, im, N, N_CAMS);
  write_image_files(idir, im, N);
  ngp_colmap_model m;
  if (ngp_colmap_read(mdir, &m, &err) != NGP_OK) fail_msg("%s", err.msg);
  for (int keep = 0; keep < 2; keep++) {
    ngp_colmap_options o;
    ngp_colmap_options_default(&o);
    o.images_dir = idir;
    o.out_path = out;
    o.keep_coords = keep;
    o.aabb_scale = 4;
    ngp_colmap_result r;
    if (ngp_colmap_convert(&m, &o, &r, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(r.n_frames, N);
    assert_true(r.per_frame_intrinsics);
    if (ngp_colmap_write_json(&r, out, &err) != NGP_OK) fail_msg("%s", err.msg);
    cJSON *root;
    if (ngp_json_load_file(out, &root, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(cJSON_GetObjectItem(root, "aabb_scale")->valueint, 4);
    assert_null(cJSON_GetObjectItem(root, "fl_x")); /* per frame */
    const cJSON *frames = cJSON_GetObjectItem(root, "frames");
    assert_int_equal(cJSON_GetArraySize(frames), N);
    for (int i = 0; i < N; i++) {
      const cJSON *f = cJSON_GetArrayItem(frames, i);
      char want_path[64];
      snprintf(want_path, sizeof want_path, "../images/%s", im[i].name);
      assert_string_equal(cJSON_GetObjectItem(f, "file_path")->valuestring, want_path);
      const cam_def *c = &k_cams[im[i].cam];
      const double *p = c->p;
      double fx = p[0], fy = p[0], cx = p[1], cy = p[2], k[4] = {0}, pp[2] = {0};
      bool fish = strstr(c->model, "FISHEYE") != NULL;
      if (!strcmp(c->model, "PINHOLE") || !strcmp(c->model, "OPENCV") || !strcmp(c->model, "OPENCV_FISHEYE"))
        fy = p[1], cx = p[2], cy = p[3];
      if (!strcmp(c->model, "SIMPLE_RADIAL") || !strcmp(c->model, "SIMPLE_RADIAL_FISHEYE")) k[0] = p[3];
      if (!strcmp(c->model, "RADIAL") || !strcmp(c->model, "RADIAL_FISHEYE")) k[0] = p[3], k[1] = p[4];
      if (!strcmp(c->model, "OPENCV")) k[0] = p[4], k[1] = p[5], pp[0] = p[6], pp[1] = p[7];
      if (!strcmp(c->model, "OPENCV_FISHEYE")) k[0] = p[4], k[1] = p[5], k[2] = p[6], k[3] = p[7];
      assert_true(cJSON_GetObjectItem(f, "fl_x")->valuedouble == fx);
      assert_true(cJSON_GetObjectItem(f, "fl_y")->valuedouble == fy);
      assert_true(cJSON_GetObjectItem(f, "cx")->valuedouble == cx);
      assert_true(cJSON_GetObjectItem(f, "cy")->valuedouble == cy);
      assert_int_equal(cJSON_GetObjectItem(f, "w")->valueint, c->w);
      assert_int_equal(cJSON_GetObjectItem(f, "h")->valueint, c->h);
      assert_true(fabs(cJSON_GetObjectItem(f, "camera_angle_x")->valuedouble - 2 * atan(c->w / (2 * fx))) < 1e-15);
      assert_true(fabs(cJSON_GetObjectItem(f, "camera_angle_y")->valuedouble - 2 * atan(c->h / (2 * fy))) < 1e-15);
      assert_true(cJSON_GetObjectItem(f, "k1")->valuedouble == k[0]);
      assert_true(cJSON_GetObjectItem(f, "k2")->valuedouble == k[1]);
      if (fish) {
        assert_true(cJSON_IsTrue(cJSON_GetObjectItem(f, "is_fisheye")));
        assert_true(cJSON_GetObjectItem(f, "k3")->valuedouble == k[2]);
        assert_true(cJSON_GetObjectItem(f, "k4")->valuedouble == k[3]);
      } else {
        assert_null(cJSON_GetObjectItem(f, "is_fisheye"));
        assert_true(cJSON_GetObjectItem(f, "p1")->valuedouble == pp[0]);
        assert_true(cJSON_GetObjectItem(f, "p2")->valuedouble == pp[1]);
      }
      assert_true(cJSON_GetObjectItem(f, "sharpness")->valuedouble >= 0);
      /* the pose, back to COLMAP's through the normalisation's inverse, within 1e-6 */
      const cJSON *tm = cJSON_GetObjectItem(f, "transform_matrix");
      double mat[12], q[4], t[3];
      for (int rr = 0; rr < 3; rr++)
        for (int cc = 0; cc < 4; cc++)
          mat[rr * 4 + cc] = cJSON_GetArrayItem(cJSON_GetArrayItem(tm, rr), cc)->valuedouble;
      if (!keep) { /* undo x' = s (R x - c): x = R^T (x'/s + c), rotation R^T M */
        double un[12];
        for (int rr = 0; rr < 3; rr++)
          for (int cc = 0; cc < 4; cc++) {
            double v = 0;
            for (int l = 0; l < 3; l++) {
              double src = cc < 3 ? mat[l * 4 + cc] : mat[l * 4 + 3] / r.norm_scale + r.norm_centre[l];
              v += r.norm_rot[l * 3 + rr] * src;
            }
            un[rr * 4 + cc] = v;
          }
        memcpy(mat, un, sizeof un);
      }
      ngp_colmap_nerf_to_pose(mat, keep, q, t);
      double e = 0;
      for (int kk = 0; kk < 4; kk++)
        e = fmax(e, fabs(q[kk] - im[i].q[kk]));
      for (int kk = 0; kk < 3; kk++)
        e = fmax(e, fabs(t[kk] - im[i].t[kk]));
      assert_true(e < 1e-6);
    }
    cJSON_Delete(root);
    /* our loader takes it: frames, focal lengths, fisheye lenses */
    ngp_scene_options so;
    ngp_scene_options_default(&so);
    so.load_images = false;
    ngp_scene sc;
    if (ngp_scene_load(out, &so, &sc, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(sc.n_frames, N);
    assert_int_equal(sc.aabb_scale, 4);
    for (int i = 0; i < N; i++) {
      const ngp_frame *fr = &sc.frames[i];
      const cam_def *c = &k_cams[im[i].cam];
      assert_true(fabs((double)fr->focal[0] - c->p[0]) < 1e-3);
      if (strstr(c->model, "FISHEYE")) assert_int_equal(fr->lens.mode, NGP_LENS_OPENCV_FISHEYE);
      for (int kk = 0; kk < 12; kk++)
        assert_true(fabs((double)fr->xform_nerf[kk] - r.frames[i].c2w[kk]) < 1e-5 * (1 + fabs(r.frames[i].c2w[kk])));
    }
    ngp_scene_free(&sc);
    ngp_colmap_result_free(&r);
  }
  ngp_colmap_model_free(&m);
  free(mdir), free(idir), free(out), free(odir), free(dir);
}

static void test_single_camera_top_level(void **state) {
  (void)state;
  enum { N = 5 };
  img_def im[N];
  make_images(im, N, 1);
  char *dir = ngp_test_tmpdir("colmap_single");
  write_text_model(dir, im, N, 1);
  write_image_files(dir, im, N);
  ngp_colmap_model m;
  ngp_error err;
  if (ngp_colmap_read(dir, &m, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_colmap_options o;
  ngp_colmap_options_default(&o);
  o.images_dir = dir;
  char *out = ngp_test_path(dir, "transforms.json");
  o.out_path = out;
  ngp_colmap_result r;
  if (ngp_colmap_convert(&m, &o, &r, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_false(r.per_frame_intrinsics);
  assert_int_equal(ngp_colmap_write_json(&r, out, &err), NGP_OK);
  cJSON *root;
  assert_int_equal(ngp_json_load_file(out, &root, &err), NGP_OK);
  assert_true(cJSON_GetObjectItem(root, "fl_x")->valuedouble == k_cams[0].p[0]);
  assert_int_equal(cJSON_GetObjectItem(root, "aabb_scale")->valueint, 32);
  const cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "frames"), 0);
  assert_null(cJSON_GetObjectItem(f0, "fl_x"));
  assert_string_equal(cJSON_GetObjectItem(f0, "file_path")->valuestring, "img_00.png");
  cJSON_Delete(root);
  /* skip_early: in name order */
  ngp_colmap_result_free(&r);
  o.skip_early = 2;
  assert_int_equal(ngp_colmap_convert(&m, &o, &r, &err), NGP_OK);
  assert_int_equal(r.n_frames, N - 2);
  assert_int_equal(r.n_early, 2);
  assert_string_equal(r.frames[0].file_path, "img_02.png");
  ngp_colmap_result_free(&r);
  ngp_colmap_model_free(&m);
  free(out);
  free(dir);
}

/* ---- Sharpness ------------------------------------------------------------------------------------ */

static void test_sharpness(void **state) {
  (void)state;
  enum { W = 10, H = 8 };
  uint8_t img[W * H * 4];
  for (int i = 0; i < W * H; i++)
    img[i * 4] = img[i * 4 + 1] = img[i * 4 + 2] = 77, img[i * 4 + 3] = 255;
  assert_true(ngp_colmap_sharpness(img, W, H) == 0.0);
  /* a one-pixel checker of 0 and 255: every Laplacian is +-1020 (the mirrored border keeps the
   * pattern), mean 0, variance 1020^2 */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < 3; c++)
        img[(y * W + x) * 4 + c] = (x + y) % 2 ? 255 : 0;
  assert_true(fabs(ngp_colmap_sharpness(img, W, H) - 1020.0 * 1020.0) < 1e-6);
  /* one bright pixel in the middle of black: Laplacians -4v there, v at its 4 neighbours */
  memset(img, 0, sizeof img);
  for (int c = 0; c < 3; c++)
    img[(4 * W + 5) * 4 + c] = 100;
  double n = W * H, mean = 0, want = (16.0 * 1e4 + 4 * 1e4) / n - mean * mean;
  assert_true(fabs(ngp_colmap_sharpness(img, W, H) - want) < 1e-9);
  /* OpenCV's luma weights: pure green counts most */
  uint8_t g[4] = {0, 255, 0, 255}, r[4] = {255, 0, 0, 255};
  uint8_t two[2 * 4 * 4];
  for (int i = 0; i < 8; i++)
    memcpy(two + i * 4, i % 2 ? g : r, 4);
  uint8_t two_b[2 * 4 * 4];
  for (int i = 0; i < 8; i++)
    memcpy(two_b + i * 4, i % 2 ? g : (uint8_t[4]){0, 0, 0, 255}, 4);
  assert_true(ngp_colmap_sharpness(two, 4, 2) < ngp_colmap_sharpness(two_b, 4, 2));
}

static void test_skip_blurry(void **state) {
  (void)state;
  enum { N = 6 };
  img_def im[N];
  make_images(im, N, 1);
  char *dir = ngp_test_tmpdir("colmap_blurry");
  write_text_model(dir, im, N, 1);
  /* images 0, 2, 4 flat (sharpness 0), the others textured */
  for (int i = 0; i < N; i++) {
    char *p = ngp_test_path(dir, im[i].name);
    if (i % 2) {
      ngp_test_write_png(p, 64, 48, 3, i);
    } else {
      ngp_image flat = {64, 48, 4, calloc(64 * 48, 4)};
      ngp_error e;
      assert_int_equal(ngp_image_write_png(p, &flat, &e), NGP_OK);
      free(flat.rgba);
    }
    free(p);
  }
  ngp_colmap_model m;
  ngp_error err;
  if (ngp_colmap_read(dir, &m, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_colmap_options o;
  ngp_colmap_options_default(&o);
  o.images_dir = dir;
  char *out = ngp_test_path(dir, "t.json");
  o.out_path = out;
  o.skip_blurry = 0.5;
  ngp_colmap_result r;
  if (ngp_colmap_convert(&m, &o, &r, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(r.n_frames, 3);
  assert_int_equal(r.n_blurry, 3);
  for (int i = 0; i < 3; i++) {
    assert_true(r.frames[i].sharpness > 0);
    char want[32];
    snprintf(want, sizeof want, "img_%02d.png", 2 * i + 1);
    assert_string_equal(r.frames[i].file_path, want);
  }
  ngp_colmap_result_free(&r);
  ngp_colmap_model_free(&m);
  free(out);
  free(dir);
}

/* ---- Errors --------------------------------------------------------------------------------------- */

static void expect_read_error(const char *dir, ngp_status want, const char *needle) {
  ngp_colmap_model m;
  ngp_error err;
  ngp_status st = ngp_colmap_read(dir, &m, &err);
  if (st == NGP_OK) fail_msg("%s: read, expected an error containing '%s'", dir, needle);
  assert_int_equal(st, want);
  assert_contains(err.msg, needle);
  assert_null(strchr(err.msg, '\n'));
}

static void test_read_errors(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("colmap_errors");
  char *p;
  expect_read_error(dir, NGP_ERR_IO, "no COLMAP model here");
  ngp_test_write_text(p = ngp_test_path(dir, "cameras.txt"), "1 PINHOLE 64 48 70 70 32 24\n");
  free(p);
  expect_read_error(dir, NGP_ERR_IO, "images.txt: missing; a COLMAP model needs both cameras.txt and images.txt");
  p = ngp_test_path(dir, "images.txt");
  ngp_test_write_text(p, "1 1 0 0 0 0 0 0 1 a.png\n\n");
  ngp_colmap_model m;
  ngp_error err;
  assert_int_equal(ngp_colmap_read(dir, &m, &err), NGP_OK);
  ngp_colmap_model_free(&m);
  ngp_test_write_text(p, "1 nan 0 0 0 0 0 0 1 a.png\n\n");
  expect_read_error(dir, NGP_ERR_INVALID, "images.txt: line 1 (a.png): quaternion component 1 is not a finite number");
  ngp_test_write_text(p, "1 1 0 0 0 0 inf 0 1 a.png\n\n");
  expect_read_error(dir, NGP_ERR_INVALID, "translation component 2 is not a finite number");
  ngp_test_write_text(p, "1 0 0 0 0 0 0 0 1 a.png\n\n");
  expect_read_error(dir, NGP_ERR_INVALID, "the rotation quaternion is zero");
  ngp_test_write_text(p, "# c\n1 1 0 0 0 0 0 0 7 a.png\n\n");
  expect_read_error(dir, NGP_ERR_INVALID, "images.txt: image 1 (a.png): camera 7 is not in");
  ngp_test_write_text(p, "1 1 0 0 0 0 0 0 1\n\n");
  expect_read_error(dir, NGP_ERR_PARSE, "images.txt: line 1: expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME");
  ngp_test_write_text(p, "1 1 0 0 0 0 0 0 1 a.png\n\n1 1 0 0 0 0 0 0 1 b.png\n");
  expect_read_error(dir, NGP_ERR_INVALID, "line 3: image id 1 appears twice");
  ngp_test_write_text(p, "# nothing registered\n");
  expect_read_error(dir, NGP_ERR_INVALID, "no registered image");
  ngp_test_write_text(p, "1 1 0 0 0 0 0 0 1 a.png\n\n");
  free(p);
  p = ngp_test_path(dir, "cameras.txt");
  ngp_test_write_text(p, "1 PINHOLE 64 48 70 70 32\n");
  expect_read_error(dir, NGP_ERR_PARSE, "cameras.txt: line 1: PINHOLE takes 4 parameters, found 3");
  ngp_test_write_text(p, "1 PINHOLE 64 48 70 70 32 24 5\n");
  expect_read_error(dir, NGP_ERR_PARSE, "PINHOLE takes 4 parameters, found more than 4");
  ngp_test_write_text(p, "1 PINHOLE 64 48 70 nan 32 24\n");
  expect_read_error(dir, NGP_ERR_INVALID, "cameras.txt: line 1: parameter 2 is not a finite number");
  ngp_test_write_text(p, "1 PINHOLE 0 48 70 70 32 24\n");
  expect_read_error(dir, NGP_ERR_INVALID, "image size 0x48 is not positive");
  ngp_test_write_text(p, "1 BROWN 64 48 70 70 32 24\n");
  expect_read_error(dir, NGP_ERR_PARSE, "'BROWN' is not a COLMAP camera model");
  ngp_test_write_text(p, "1 PINHOLE 64 48 70 x 32 24\n");
  expect_read_error(dir, NGP_ERR_PARSE, "parameter 2 'x' is not a number");
  free(p);
  free(dir);
}

static void test_binary_errors(void **state) {
  (void)state;
  enum { N = 3 };
  img_def im[N];
  make_images(im, N, 2);
  char *dir = ngp_test_tmpdir("colmap_bin_errors");
  write_binary_model(dir, im, N, 2);
  char *cp = ngp_test_path(dir, "cameras.bin"), *ip = ngp_test_path(dir, "images.bin");
  char *data;
  size_t len;
  ngp_error err;
  assert_int_equal(ngp_read_file(ip, 1 << 20, &data, &len, &err), NGP_OK);
  /* every truncation is an error, never a crash */
  for (size_t cut = 0; cut < len; cut += 7) {
    ngp_test_write_bytes(ip, data, cut);
    expect_read_error(dir, NGP_ERR_PARSE, "images.bin: ");
  }
  /* a huge count */
  char *big = malloc(len);
  memcpy(big, data, len);
  uint64_t huge = (uint64_t)1 << 60;
  memcpy(big, &huge, 8);
  ngp_test_write_bytes(ip, big, len);
  expect_read_error(dir, NGP_ERR_PARSE, "claims 1152921504606846976 images");
  /* a NaN in the first image's tx (offset 8 + 4 + 32) */
  memcpy(big, data, len);
  double nan_v = NAN;
  memcpy(big + 8 + 4 + 32, &nan_v, 8);
  ngp_test_write_bytes(ip, big, len);
  expect_read_error(dir, NGP_ERR_INVALID, "images.bin: image 0 (img_00.png): translation component 1 is not a finite");
  ngp_test_write_bytes(ip, data, len);
  free(big);
  free(data);
  /* cameras.bin: an unknown model id, and trailing bytes */
  assert_int_equal(ngp_read_file(cp, 1 << 20, &data, &len, &err), NGP_OK);
  big = calloc(1, len + 3);
  memcpy(big, data, len);
  int32_t bad_model = 42;
  memcpy(big + 12, &bad_model, 4);
  ngp_test_write_bytes(cp, big, len);
  expect_read_error(dir, NGP_ERR_PARSE, "cameras.bin: camera 0: model id 42 is not a COLMAP camera model");
  memcpy(big, data, len);
  ngp_test_write_bytes(cp, big, len + 3);
  expect_read_error(dir, NGP_ERR_PARSE, "3 bytes after the last camera");
  free(big);
  free(data);
  free(cp);
  free(ip);
  free(dir);
}

static void test_convert_errors(void **state) {
  (void)state;
  enum { N = 4 };
  img_def im[N];
  make_images(im, N, 1);
  char *dir = ngp_test_tmpdir("colmap_convert_errors");
  write_text_model(dir, im, N, 1);
  write_image_files(dir, im, N);
  char *gone = ngp_test_path(dir, im[2].name);
  remove(gone);
  ngp_colmap_model m;
  ngp_error err;
  assert_int_equal(ngp_colmap_read(dir, &m, &err), NGP_OK);
  ngp_colmap_options o;
  ngp_colmap_options_default(&o);
  o.images_dir = dir;
  char *out = ngp_test_path(dir, "t.json");
  o.out_path = out;
  ngp_colmap_result r;
  assert_int_equal(ngp_colmap_convert(&m, &o, &r, &err), NGP_ERR_IO);
  assert_contains(err.msg,
                  "1 of the 4 images COLMAP registered is missing: img_02.png; restore them, or pass --skip_missing");
  o.skip_missing = true;
  ngp_test_log_begin();
  assert_int_equal(ngp_colmap_convert(&m, &o, &r, &err), NGP_OK);
  ngp_test_log_end();
  assert_int_equal(ngp_test_log_count(), 1);
  assert_contains(ngp_test_log_text(), "1 of the 4 images COLMAP registered is missing and left out: img_02.png");
  assert_int_equal(r.n_frames, 3);
  assert_int_equal(r.n_missing, 1);
  ngp_colmap_result_free(&r);
  /* a wrong image folder: every image missing */
  o.images_dir = "/nonexistent-folder";
  assert_int_equal(ngp_colmap_convert(&m, &o, &r, &err), NGP_ERR_IO);
  assert_contains(err.msg, "/nonexistent-folder: no such image folder");
  o.images_dir = dir;
  o.aabb_scale = 3;
  assert_int_equal(ngp_colmap_convert(&m, &o, &r, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "aabb_scale 3 is not a power of two");
  ngp_colmap_model_free(&m);
  /* a model transforms.json cannot express */
  char *p = ngp_test_path(dir, "cameras.txt");
  ngp_test_write_text(p, "1 FULL_OPENCV 64 48 70 70 32 24 0 0 0 0 0 0 0 0\n");
  assert_int_equal(ngp_colmap_read(dir, &m, &err), NGP_OK);
  o.aabb_scale = 1;
  assert_int_equal(ngp_colmap_convert(&m, &o, &r, &err), NGP_ERR_UNSUPPORTED);
  assert_contains(err.msg, "camera 1: camera model FULL_OPENCV cannot be written to transforms.json");
  ngp_colmap_model_free(&m);
  free(p);
  free(gone);
  free(out);
  free(dir);
}

static void test_relative_path(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("colmap_rel");
  char *a = ngp_test_path(dir, "x/images"), *b = ngp_test_path(dir, "x/out/deeper"), *c = ngp_test_path(dir, "xy");
  ngp_error err;
  assert_int_equal(ngp_mkdir_p(a, &err), NGP_OK);
  assert_int_equal(ngp_mkdir_p(b, &err), NGP_OK);
  assert_int_equal(ngp_mkdir_p(c, &err), NGP_OK);
  char *img = ngp_test_path(a, "p.png"), *r;
  assert_string_equal(r = ngp_colmap_relative_path(img, b), "../../images/p.png");
  free(r);
  assert_string_equal(r = ngp_colmap_relative_path(img, a), "p.png");
  free(r);
  assert_string_equal(r = ngp_colmap_relative_path(img, dir), "x/images/p.png");
  free(r);
  assert_string_equal(r = ngp_colmap_relative_path(img, c), "../x/images/p.png"); /* "x" vs "xy": no false prefix */
  free(r);
  char *sub = ngp_test_path(a, "s/q.png"), *s = ngp_test_path(a, "s");
  assert_int_equal(ngp_mkdir_p(s, &err), NGP_OK);
  assert_string_equal(r = ngp_colmap_relative_path(sub, b), "../../images/s/q.png");
  free(r);
  free(sub), free(s), free(img), free(a), free(b), free(c), free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qvec),
      cmocka_unit_test(test_projection_agrees),
      cmocka_unit_test(test_pose_round_trip),
      cmocka_unit_test(test_rotation_between),
      cmocka_unit_test(test_normalise),
      cmocka_unit_test(test_text_and_binary_agree),
      cmocka_unit_test(test_convert_every_model),
      cmocka_unit_test(test_single_camera_top_level),
      cmocka_unit_test(test_sharpness),
      cmocka_unit_test(test_skip_blurry),
      cmocka_unit_test(test_read_errors),
      cmocka_unit_test(test_binary_errors),
      cmocka_unit_test(test_convert_errors),
      cmocka_unit_test(test_relative_path),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
