/* test_output.c: what renders become (engine/output.h, ngp/image.h writers), the test PSNR's
 * convention against a computation of its own, and the render modes against the exact geometry of
 * ngp-synth's scene: depth, normals, positions, cost, the crop box and the near distance. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "core/fs.h"
#include "engine/backend.h"
#include "engine/eval.h"
#include "engine/output.h"
#include "nerf/march.h"
#include "ngp/image.h"
#include "ngp/synth.h"

/* stb_image's 16-bit decoder, compiled into the library (io/stb_impl.c): the test reads back the
 * 16-bit PNGs with a decoder that is not the writer's. */
unsigned short *stbi_load_16_from_memory(const unsigned char *buffer, int len, int *x, int *y, int *channels_in_file,
                                         int desired_channels);
void stbi_image_free(void *retval_from_stbi_load);

static unsigned char *slurp(const char *path, size_t *len) {
  char *buf = NULL;
  ngp_error err;
  if (ngp_read_file(path, 1 << 26, &buf, len, &err) != NGP_OK) fail_msg("%s", err.msg);
  return (unsigned char *)buf;
}

/* ---- Formats by name -------------------------------------------------------------------------- */
static void test_formats_by_name(void **state) {
  (void)state;
  assert_int_equal(ngp_image_format_of("a/b.png"), NGP_IMAGE_FORMAT_PNG);
  assert_int_equal(ngp_image_format_of("0001.JPG"), NGP_IMAGE_FORMAT_JPEG);
  assert_int_equal(ngp_image_format_of("x.jpeg"), NGP_IMAGE_FORMAT_JPEG);
  assert_int_equal(ngp_image_format_of("d.pfm"), NGP_IMAGE_FORMAT_PFM);
  assert_int_equal(ngp_image_format_of("e.exr"), NGP_IMAGE_FORMAT_EXR);
  assert_int_equal(ngp_image_format_of("dir.png/noext"), NGP_IMAGE_FORMAT_UNKNOWN);
  ngp_error err;
  assert_int_equal(ngp_image_check_writable("out/e.exr", &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "out/e.exr: this version cannot write .exr; name the file .pfm");
  assert_int_equal(ngp_image_check_writable("f.webp", &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "f.webp: unknown image format '.webp'");
  assert_int_equal(ngp_output_check("d.jpg", NGP_RENDER_DEPTH, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "d.jpg: a depth render needs more than JPEG's 8 bits");
  assert_int_equal(ngp_output_check("d.jpg", NGP_RENDER_NORMALS, &err), NGP_OK);

  char *dir = ngp_test_tmpdir("output_formats");
  enum { W = 5, H = 3 };
  uint8_t px[W * H * 4];
  for (int i = 0; i < W * H * 4; i++)
    px[i] = (uint8_t)(i * 17);
  ngp_image img = {W, H, 4, px};
  static const struct {
    const char *name;
    const char *magic;
    size_t n;
  } cases[] = {
      {"a.jpg", "\xff\xd8\xff", 3}, {"b.JPEG", "\xff\xd8\xff", 3}, {"c.png", "\x89PNG", 4}, {"d.pfm", "PF\n5 3\n", 7}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    char *p = ngp_test_path(dir, cases[k].name);
    assert_int_equal(ngp_image_write(p, &img, &err), NGP_OK);
    size_t len;
    unsigned char *b = slurp(p, &len);
    if (len < cases[k].n || memcmp(b, cases[k].magic, cases[k].n) != 0) fail_msg("%s: wrong format", cases[k].name);
    free(b);
    free(p);
  }
  /* JPEG decodes back to about the same colours (lossy, quality 95). */
  char *jp = ngp_test_path(dir, "a.jpg");
  ngp_image back;
  assert_int_equal(ngp_image_load(jp, &back, &err), NGP_OK);
  assert_int_equal(back.width, W);
  assert_int_equal(back.height, H);
  ngp_image_free(&back);
  free(jp);
  char *bad = ngp_test_path(dir, "e.exr");
  assert_int_equal(ngp_image_write(bad, &img, &err), NGP_ERR_INVALID);
  assert_false(ngp_path_exists(bad));
  free(bad);
  free(dir);
}

static void test_png16_and_pfm(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("output_png16");
  enum { W = 7, H = 4 };
  uint16_t s[W * H];
  float f[W * H];
  for (int i = 0; i < W * H; i++) {
    s[i] = (uint16_t)(i * 2347 + 11);
    f[i] = (float)i * 0.25f - 1.0f;
  }
  ngp_error err;
  char *p = ngp_test_path(dir, "g.png");
  assert_int_equal(ngp_image_write_png16(p, W, H, 1, s, "depth: 1 = 0.001 scene units", &err), NGP_OK);
  size_t len;
  unsigned char *b = slurp(p, &len);
  int w = 0, h = 0, c = 0;
  unsigned short *d = stbi_load_16_from_memory(b, (int)len, &w, &h, &c, 1);
  assert_non_null(d);
  assert_int_equal(w, W);
  assert_int_equal(h, H);
  assert_int_equal(c, 1);
  for (int i = 0; i < W * H; i++)
    if (d[i] != s[i]) fail_msg("16-bit PNG sample %d: %u, wrote %u", i, d[i], s[i]);
  stbi_image_free(d);
  static const char chunk[] = "tEXtComment\0depth: 1 = 0.001";
  bool found = false;
  for (size_t i = 0; i + sizeof chunk - 1 <= len && !found; i++)
    found = memcmp(b + i, chunk, sizeof chunk - 1) == 0;
  assert_true(found);
  free(b);
  free(p);

  p = ngp_test_path(dir, "h.pfm");
  assert_int_equal(ngp_image_write_pfm(p, W, H, 1, f, &err), NGP_OK);
  b = slurp(p, &len);
  static const char head[] = "Pf\n7 4\n-1.0\n";
  assert_int_equal(len, sizeof head - 1 + W * H * 4);
  assert_memory_equal(b, head, sizeof head - 1);
  /* Rows from the bottom, little-endian. */
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const unsigned char *q = b + sizeof head - 1 + ((size_t)(H - 1 - y) * W + x) * 4;
      uint32_t u = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
      float v;
      memcpy(&v, &u, 4);
      assert_float_equal(v, f[y * W + x], 0.0);
    }
  free(b);
  free(p);
  free(dir);
}

/* Depth through ngp_output_write: scene units (ngp / scale) at the stated unit. */
static void test_depth_file_units(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("output_depth_units");
  enum { W = 4, H = 2 };
  float v[W * H * 3];
  const float depth_scene[W * H] = {0.0f, 1.0f, 2.5f, 3.999f, 4.0005f, 10.0f, 0.25f, 60.0f};
  const float scale = 0.33f;
  for (int i = 0; i < W * H; i++)
    v[i * 3] = v[i * 3 + 1] = v[i * 3 + 2] = depth_scene[i] * scale; /* the renderer's ngp units */
  ngp_output_frame fr = {scale, {0.5f, 0.5f, 0.5f}, {0, 0, 0}, {1, 1, 1}};
  char note[128];
  ngp_error err;
  char *p = ngp_test_path(dir, "d.png");
  assert_int_equal(ngp_output_write(p, NGP_RENDER_DEPTH, W, H, v, &fr, note, sizeof note, &err), NGP_OK);
  assert_string_equal(note, "depth, 16-bit, 1 = 0.001 scene units");
  size_t len;
  unsigned char *b = slurp(p, &len);
  int w, h, c;
  unsigned short *d = stbi_load_16_from_memory(b, (int)len, &w, &h, &c, 1);
  assert_non_null(d);
  for (int i = 0; i < W * H; i++)
    if (fabs(d[i] * 0.001 - (double)depth_scene[i]) > 0.0006)
      fail_msg("pixel %d: %u mm, depth %g", i, d[i], (double)depth_scene[i]);
  stbi_image_free(d);
  free(b);
  free(p);
  /* Farther than 65.535 units: the unit grows to 0.01. */
  v[0] = v[1] = v[2] = 100.0f * scale;
  p = ngp_test_path(dir, "far.png");
  assert_int_equal(ngp_output_write(p, NGP_RENDER_DEPTH, W, H, v, &fr, note, sizeof note, &err), NGP_OK);
  assert_string_equal(note, "depth, 16-bit, 1 = 0.01 scene units");
  free(p);
  free(dir);
}

static void test_postprocess(void **state) {
  (void)state;
  float rgb[3 * 3 * 3];
  for (int i = 0; i < 27; i++)
    rgb[i] = 0.5f;
  ngp_error err;
  /* One stop up doubles the linear value. */
  assert_int_equal(ngp_output_postprocess(rgb, 3, 3, 1.0f, 0.0f, &err), NGP_OK);
  assert_float_equal(rgb[0], ngp_linear_to_srgb(2.0f * ngp_srgb_to_linear(0.5f)), 1e-6);
  /* A flat image stays flat when sharpened; a bright centre gets brighter, its neighbours darker. */
  for (int i = 0; i < 27; i++)
    rgb[i] = 0.5f;
  assert_int_equal(ngp_output_postprocess(rgb, 3, 3, 0.0f, 1.0f, &err), NGP_OK);
  assert_float_equal(rgb[13], 0.5f, 1e-6);
  rgb[4 * 3] = 0.6f;
  assert_int_equal(ngp_output_postprocess(rgb, 3, 3, 0.0f, 0.5f, &err), NGP_OK);
  assert_float_equal(rgb[4 * 3], 0.6f + 0.5f * (4.0f * 0.6f - 4.0f * 0.5f), 1e-6);
  assert_float_equal(rgb[1 * 3], 0.5f + 0.5f * (4.0f * 0.5f - (0.5f + 0.5f + 0.5f + 0.6f)), 1e-6);
}

/* ---- The test PSNR's convention ----------------------------------------------------------------- */

/* A backend whose renders are a fixed pattern, off the 8-bit grid and partly outside [0, 1]. */
static float pattern(int p, int c, uint64_t seed) {
  return fmodf(0.3711f * (float)p + 0.1093f * (float)c + 0.0517f * (float)seed, 1.0f) * 1.1f - 0.05f;
}
static void fx_describe(ngp_backend *b, char *out, size_t n) {
  (void)b;
  snprintf(out, n, "fixed pattern");
}
static void fx_destroy(ngp_backend *b) { (void)b; }
static ngp_status fx_render(ngp_backend *b, const ngp_render_camera *cam, const ngp_render_opts *o, float *rgb,
                            ngp_error *err) {
  (void)b, (void)cam, (void)err;
  for (int p = 0; p < o->width * o->height; p++)
    for (int c = 0; c < 3; c++)
      rgb[p * 3 + c] = pattern(p, c, o->seed);
  return NGP_OK;
}
static const ngp_backend_i fx_iface = {.describe = fx_describe, .destroy = fx_destroy, .render = fx_render};
static const ngp_backend_type fx_type = {"fixed", NULL, NULL};

static void test_psnr_convention(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("output_psnr");
  enum { W = 9, H = 7, N = 3 };
  uint8_t px[N][W * H * 4];
  char text[2048] = "{\"camera_angle_x\": 0.8, \"frames\": [";
  for (int v = 0; v < N; v++) {
    for (int i = 0; i < W * H; i++) {
      px[v][i * 4 + 0] = (uint8_t)(i * 37 + v * 11);
      px[v][i * 4 + 1] = (uint8_t)(i * 91 + 5);
      px[v][i * 4 + 2] = (uint8_t)(255 - i * 13);
      px[v][i * 4 + 3] = (uint8_t)(i % 4 == 0 ? 255 : i % 4 == 1 ? 0 : i * 29 + v); /* opaque, clear, partial */
    }
    char name[32];
    snprintf(name, sizeof name, "v%d.png", v);
    char *p = ngp_test_path(dir, name);
    ngp_image img = {W, H, 4, px[v]};
    ngp_error err;
    assert_int_equal(ngp_image_write_png(p, &img, &err), NGP_OK);
    free(p);
    size_t used = strlen(text);
    snprintf(text + used, sizeof text - used,
             "%s{\"file_path\": \"v%d.png\", \"transform_matrix\": [[1,0,0,0],[0,1,0,0],[0,0,1,%d],[0,0,0,1]]}",
             v ? ", " : "", v, 3 + v);
  }
  strcat(text, "]}");
  char *tf = ngp_test_path(dir, "transforms.json");
  ngp_test_write_text(tf, text);
  ngp_scene views;
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  ngp_error err;
  assert_int_equal(ngp_scene_load(tf, &so, &views, &err), NGP_OK);
  assert_int_equal(views.n_frames, N);

  ngp_backend b = {&fx_iface, &fx_type, NULL, NULL, NULL};
  const float bg[3] = {0.2f, 0.45f, 0.9f};
  ngp_eval_result res;
  double vp[N], vs[N];
  assert_int_equal(ngp_eval_views_each(&b, &views, bg, 1, NULL, &res, vp, vs, &err), NGP_OK);

  /* The literature's convention, computed here in double: 8-bit sRGB over the background in sRGB,
   * the render rounded to 8 bits, PSNR per view, mean of the PSNRs. Also the convention this
   * replaced (linear-light compositing, unquantised render), which must come out apart. */
  double mean = 0.0, mean_old = 0.0;
  for (int v = 0; v < N; v++) {
    const uint8_t *g = NULL;
    for (int k = 0; k < N; k++) { /* the loader may sort the frames */
      char name[32];
      snprintf(name, sizeof name, "v%d.png", k);
      if (strstr(views.frames[v].file_path, name)) g = px[k];
    }
    assert_non_null(g);
    double se = 0.0, se_old = 0.0;
    for (int i = 0; i < W * H; i++)
      for (int c = 0; c < 3; c++) {
        double a = g[i * 4 + 3] / 255.0, ref = g[i * 4 + c] / 255.0 * a + (double)bg[c] * (1.0 - a);
        double r = (double)pattern(i, c, (uint64_t)v), rc = r < 0.0 ? 0.0 : r > 1.0 ? 1.0 : r;
        double r8 = floor(rc * 255.0 + 0.5) / 255.0;
        se += (r8 - ref) * (r8 - ref);
        double ref_old =
            (double)ngp_linear_to_srgb((float)((double)ngp_srgb_to_linear((float)(g[i * 4 + c] / 255.0)) * a +
                                               (double)ngp_srgb_to_linear(bg[c]) * (1.0 - a)));
        se_old += (rc - ref_old) * (rc - ref_old);
      }
    double p = -10.0 * log10(se / (W * H * 3)), p_old = -10.0 * log10(se_old / (W * H * 3));
    if (fabs(vp[v] - p) > 1e-4) fail_msg("view %d: PSNR %.6f, computed here %.6f", v, vp[v], p);
    mean += p / N;
    mean_old += p_old / N;
  }
  print_message("PSNR %.4f dB (computed here %.4f; the old convention %.4f)\n", res.psnr_mean, mean, mean_old);
  assert_float_equal(res.psnr_mean, mean, 1e-4);
  assert_true(fabs(mean - mean_old) > 0.01); /* the check tells the two conventions apart */
  ngp_scene_free(&views);
  free(tf);
  free(dir);
}

/* ---- Render modes against ngp-synth's exact geometry --------------------------------------------- */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

enum { GEO_STEPS = 300, GEO_SIZE = 48 };

typedef struct {
  ngp_scene train, test;
  ngp_nerf n;
  char *dir;
} geo_state;

static int geo_setup(void **state) {
  geo_state *g = calloc(1, sizeof *g);
  g->dir = ngp_test_synth_scene("output_geometry", GEO_SIZE, 24, 2, 3, &g->train, &g->test);
  ngp_test_small_nerf(&g->n, g->train.aabb_scale, 2);
  ngp_train_opts to;
  ngp_train_opts_default(&to);
  to.target_samples = 1 << 13;
  to.n_threads = 2;
  to.seed = 11;
  to.grid_sample_fraction = 1.0f / 16.0f;
  ngp_trainer *tr;
  ngp_error err;
  if (ngp_trainer_create(&tr, &g->n, &g->train, &to, &err) != NGP_OK) return -1;
  for (int i = 0; i < GEO_STEPS; i++)
    if (ngp_trainer_step(tr, NULL, &err) != NGP_OK) return -1;
  ngp_trainer_sync_inference(tr);
  ngp_trainer_destroy(tr);
  *state = g;
  return 0;
}

static int geo_teardown(void **state) {
  geo_state *g = *state;
  ngp_nerf_free(&g->n);
  ngp_scene_free(&g->train);
  ngp_scene_free(&g->test);
  free(g->dir);
  free(g);
  return 0;
}

static void render_mode(geo_state *g, const ngp_frame *f, ngp_render_mode mode, const ngp_render_opts *base,
                        float *out) {
  ngp_render_opts o = *base;
  o.mode = mode;
  ngp_error err;
  if (ngp_nerf_render(&g->n, g->n.inference, f->xform, f->focal, f->principal, &f->lens, &o, out, &err) != NGP_OK)
    fail_msg("%s", err.msg);
}

/* The NeRF-space ray of pixel (x, y) of a test frame, as the renderer casts it. */
static void nerf_ray(const ngp_scene *sc, const ngp_frame *f, int x, int y, float o[3], float d[3]) {
  float ongp[3], dngp[3];
  ngp_camera_ray(f->xform, f->focal, f->principal, &f->lens, f->image.width, f->image.height,
                 ((float)x + 0.5f) / (float)f->image.width, ((float)y + 0.5f) / (float)f->image.height, ongp, dngp);
  for (int r = 0; r < 3; r++) { /* ngp[r] = nerf[(r + 1) % 3] * scale + offset[(r + 1) % 3] */
    int a = (r + 1) % 3;
    o[a] = (ongp[r] - sc->offset[a]) / sc->scale;
    d[a] = dngp[r];
  }
}

static void test_depth_against_geometry(void **state) {
  geo_state *g = *state;
  const ngp_frame *f = &g->test.frames[0];
  int W = f->image.width, H = f->image.height;
  float *depth = malloc((size_t)W * H * 3 * sizeof(float)), *pos = malloc((size_t)W * H * 3 * sizeof(float));
  float *nrm = malloc((size_t)W * H * 3 * sizeof(float)), *cost = malloc((size_t)W * H * 3 * sizeof(float));
  ngp_render_opts o = {.width = W, .height = H, .bg = {1, 1, 1}, .min_transmittance = 1e-4f, .spp = 1, .seed = 0};
  render_mode(g, f, NGP_RENDER_DEPTH, &o, depth);
  render_mode(g, f, NGP_RENDER_POSITIONS, &o, pos);
  render_mode(g, f, NGP_RENDER_NORMALS, &o, nrm);
  render_mode(g, f, NGP_RENDER_COST, &o, cost);
  double *errs = malloc((size_t)W * H * sizeof(double));
  int n_hit = 0, n_close = 0, n_facing = 0, n_normal = 0, n_pos = 0, n_miss = 0, n_miss_empty = 0;
  double sum_err = 0.0, sum_gt = 0.0, sum_gt2 = 0.0, sum_signed = 0.0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      int p = y * W + x;
      float ro[3], rd[3];
      nerf_ray(&g->test, f, x, y, ro, rd);
      float gt = ngp_synth_trace(ro, rd, NULL); /* NeRF units along the unit direction */
      float d = depth[p * 3] / g->test.scale;   /* the render, in scene units */
      assert_float_equal(depth[p * 3], depth[p * 3 + 1], 0.0);
      assert_true(cost[p * 3] >= 0.0f && cost[p * 3] == floorf(cost[p * 3]));
      if (gt < 0.0f) {
        n_miss++;
        n_miss_empty += d == 0.0f;
        continue;
      }
      n_hit++;
      double e = fabs((double)d - (double)gt);
      errs[n_hit - 1] = e;
      sum_signed += (double)d - (double)gt;
      sum_err += e;
      sum_gt += (double)gt;
      sum_gt2 += (double)gt * (double)gt;
      n_close += e < 0.1;
      /* Positions are the same expectation as depth: origin + depth * direction (ngp units). */
      float ongp[3], dngp[3];
      ngp_camera_ray(f->xform, f->focal, f->principal, &f->lens, W, H, ((float)x + 0.5f) / (float)W,
                     ((float)y + 0.5f) / (float)H, ongp, dngp);
      if (d > 0.0f) {
        double pe = 0.0;
        for (int k = 0; k < 3; k++)
          pe += fabs(pos[p * 3 + k] - (ongp[k] + depth[p * 3] * dngp[k]));
        n_pos += pe < 0.02;
      }
      float len = sqrtf(nrm[p * 3] * nrm[p * 3] + nrm[p * 3 + 1] * nrm[p * 3 + 1] + nrm[p * 3 + 2] * nrm[p * 3 + 2]);
      n_normal += fabsf(len - 1.0f) < 1e-3f;
      n_facing += nrm[p * 3] * dngp[0] + nrm[p * 3 + 1] * dngp[1] + nrm[p * 3 + 2] * dngp[2] < 0.0f;
      assert_true(cost[p * 3] >= 1.0f); /* a ray that hit something was sampled */
    }
  double mean_gt = sum_gt / n_hit, spread = sqrt(sum_gt2 / n_hit - mean_gt * mean_gt);
  qsort(errs, (size_t)n_hit, sizeof *errs, cmp_double);
  double median = errs[n_hit / 2];
  print_message(
      "depth: %d of %d pixels hit; error median %.4f, mean %.4f (signed %.4f) scene units (true depths %.3f "
      "+- %.3f); %d "
      "within 0.1; normals unit %d, facing the camera %d; positions on the ray %d; misses with depth 0: %d of "
      "%d\n",
      n_hit, W * H, median, sum_err / n_hit, sum_signed / n_hit, mean_gt, spread, n_close, n_normal, n_facing, n_pos,
      n_miss_empty, n_miss);
  assert_true(n_hit > W * H / 10 && n_miss > W * H / 10);
  /* The bounds, for a small model trained briefly (edges, where a pixel's centre hits but its
   * footprint is half background, are the worst): a depth that ignored the geometry (a constant at
   * the mean depth) would be off by about the spread; a depth in ngp units, or from the box entry,
   * by more than a scene unit. Measured: median 0.039, mean 0.078 (a little nearer than the
   * surface: density builds up just in front of it), true depths 3.77 +- 0.27. */
  assert_true(median < 0.08);
  assert_true(sum_err / n_hit < 0.5 * spread);
  assert_true(n_close > n_hit * 7 / 10);
  free(errs);
  assert_true(n_pos > n_hit * 9 / 10);
  assert_true(n_normal > n_hit * 9 / 10);
  assert_true(n_facing > n_hit * 8 / 10);
  assert_true(n_miss_empty > n_miss * 8 / 10);
  free(depth);
  free(pos);
  free(nrm);
  free(cost);
}

static void test_crop_and_near(void **state) {
  geo_state *g = *state;
  const ngp_frame *f = &g->test.frames[1];
  int W = f->image.width, H = f->image.height;
  size_t n = (size_t)W * H * 3;
  float *plain = malloc(n * sizeof(float)), *img = malloc(n * sizeof(float));
  ngp_render_opts o = {
      .width = W, .height = H, .bg = {0.25f, 0.5f, 0.75f}, .min_transmittance = 1e-4f, .spp = 1, .seed = 0};
  render_mode(g, f, NGP_RENDER_SHADE, &o, plain);
  /* A crop box holding the whole scene box changes nothing; an empty corner leaves the background. */
  ngp_render_opts c = o;
  c.crop = true;
  memcpy(c.crop_min, g->n.aabb_min, sizeof c.crop_min);
  memcpy(c.crop_max, g->n.aabb_max, sizeof c.crop_max);
  render_mode(g, f, NGP_RENDER_SHADE, &c, img);
  assert_memory_equal(img, plain, n * sizeof(float));
  for (int k = 0; k < 3; k++) {
    c.crop_min[k] = g->n.aabb_min[k];
    c.crop_max[k] = g->n.aabb_min[k] + 0.01f;
  }
  render_mode(g, f, NGP_RENDER_SHADE, &c, img);
  size_t differs = 0;
  for (size_t i = 0; i < n; i += 3)
    for (int k = 0; k < 3; k++) {
      assert_float_equal(img[i + k], o.bg[k], 1e-6);
      differs += fabsf(plain[i + k] - o.bg[k]) > 0.05f;
    }
  assert_true(differs > 0); /* the uncropped view showed the scene */
  /* Half the scene box, cut at its middle along x: every position seen lies in that half. */
  memcpy(c.crop_min, g->n.aabb_min, sizeof c.crop_min);
  memcpy(c.crop_max, g->n.aabb_max, sizeof c.crop_max);
  c.crop_max[0] = 0.5f * (g->n.aabb_min[0] + g->n.aabb_max[0]);
  render_mode(g, f, NGP_RENDER_POSITIONS, &c, img);
  for (size_t i = 0; i < n; i += 3)
    if (img[i] != 0.0f || img[i + 1] != 0.0f || img[i + 2] != 0.0f) assert_true(img[i] <= c.crop_max[0] + 0.02f);
  /* A near distance past the whole scene box: nothing but background. */
  ngp_render_opts nd = o;
  nd.near_distance = 100.0f;
  render_mode(g, f, NGP_RENDER_SHADE, &nd, img);
  for (size_t i = 0; i < n; i += 3)
    for (int k = 0; k < 3; k++)
      assert_float_equal(img[i + k], o.bg[k], 1e-6);
  render_mode(g, f, NGP_RENDER_COST, &nd, img);
  for (size_t i = 0; i < n; i++)
    assert_float_equal(img[i], 0.0f, 0.0);
  free(plain);
  free(img);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formats_by_name),  cmocka_unit_test(test_png16_and_pfm),
      cmocka_unit_test(test_depth_file_units), cmocka_unit_test(test_postprocess),
      cmocka_unit_test(test_psnr_convention),
  };
  const struct CMUnitTest geo[] = {
      cmocka_unit_test(test_depth_against_geometry),
      cmocka_unit_test(test_crop_and_near),
  };
  int rc = cmocka_run_group_tests_name("output", tests, NULL, NULL);
  return rc | cmocka_run_group_tests_name("render modes on ngp-synth's scene", geo, geo_setup, geo_teardown);
}
