/* test_viewer_progressive.c: the viewer's render path without a window.
 *  - ngp_nerf_render_pixels, in budget-cut pieces, gives ngp_nerf_render's image bit for bit
 *    (1 and 2 samples per pixel), directly and through the CPU backend;
 *  - progressive scheduling: a new view is first shown at a reduced resolution, refinement
 *    reaches the full-resolution image, equal to ngp_nerf_render of that camera; newer weights
 *    are rendered over it in place (rows reported) and end equal to a fresh render; a moving
 *    view restarts at the moving level; while training, newer weights come at the level the
 *    refresh time affords, then refine once training pauses. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "viewer/camera.h"
#include "nerf/nerf.h"
#include "viewer/progressive.h"

static const char *k_cfg =
    "{\"loss\": {\"otype\": \"Huber\"},"
    " \"optimizer\": {\"otype\": \"Ema\", \"decay\": 0.95, \"nested\": {\"otype\": \"Adam\", \"learning_rate\": 1e-2}},"
    " \"encoding\": {\"otype\": \"HashGrid\", \"n_levels\": 4, \"n_features_per_level\": 2, \"log2_hashmap_size\": 12,"
    "   \"base_resolution\": 4},"
    " \"network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 16, \"n_hidden_layers\": 1},"
    " \"dir_encoding\": {\"otype\": \"SphericalHarmonics\", \"degree\": 2},"
    " \"rgb_network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 16, \"n_hidden_layers\": 1}}";

/* A small model whose images vary from pixel to pixel: hash-grid features far from their tiny
 * initial values, and a sparse occupancy bitfield so rays both skip and sample. */
static void make_nerf(ngp_nerf *n, uint64_t seed) {
  ngp_config cfg;
  ngp_error err;
  assert_int_equal(ngp_config_parse(k_cfg, strlen(k_cfg), "viewer-test", &cfg, &err), NGP_OK);
  if (ngp_nerf_init(n, &cfg, 1, 7, 2, &err) != NGP_OK) fail_msg("%s", err.msg);
  uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = n->off_grid; i < n->n_params; i++) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    n->inference[i] = (float)((s >> 40) & 0xffff) / 65536.0f * 4.0f - 2.0f;
  }
  size_t bytes = (size_t)n->occ.n_cascades * NGP_GRID_CELLS / 8;
  for (size_t i = 0; i < bytes; i++)
    n->occ.bitfield[i] = (uint8_t)((i * 2654435761u) >> 13);
}

static void view_camera(ngp_camera *c) {
  ngp_camera_init_default(c);
  ngp_camera_orbit(c, 30.0f, 10.0f);
}

static void test_render_pixels_equals_render(void **state) {
  (void)state;
  ngp_nerf n;
  make_nerf(&n, 1);
  ngp_camera cam;
  view_camera(&cam);
  enum { W = 37, H = 23 }; /* not a multiple of the tile size */
  float focal[2], principal[2];
  ngp_camera_intrinsics(&cam, W, H, focal, principal);
  for (int spp = 1; spp <= 2; spp++) {
    ngp_render_opts o = {
        .width = W, .height = H, .bg = {1.0f, 1.0f, 1.0f}, .min_transmittance = 1e-4f, .spp = spp, .seed = 3};
    float *ref = malloc(W * H * 3 * sizeof(float)), *got = malloc(W * H * 3 * sizeof(float));
    assert_non_null(ref);
    assert_non_null(got);
    assert_int_equal(ngp_nerf_render(&n, n.inference, cam.xform, focal, principal, NULL, &o, ref, NULL), NGP_OK);
    /* Some variation, or the comparison proves little. */
    float lo = 1.0f, hi = 0.0f;
    for (int i = 0; i < W * H * 3; i++)
      lo = fminf(lo, ref[i]), hi = fmaxf(hi, ref[i]);
    assert_true(hi - lo > 0.05f);
    for (int i = 0; i < W * H * 3; i++)
      got[i] = -1.0f;
    /* Pieces from odd starting pixels. */
    int p = 0;
    assert_int_equal(ngp_nerf_render_pixels(&n, n.inference, cam.xform, focal, principal, NULL, &o, 0, 100, NULL, NULL,
                                            &p, got, NULL),
                     NGP_OK);
    assert_int_equal(p, 100);
    assert_true(got[100 * 3] == -1.0f); /* past the range: untouched */
    while (p < W * H) {
      int q = 0;
      assert_int_equal(ngp_nerf_render_pixels(&n, n.inference, cam.xform, focal, principal, NULL, &o, p, W * H, NULL,
                                              NULL, &q, got, NULL),
                       NGP_OK);
      assert_true(q > p);
      p = q;
    }
    assert_memory_equal(got, ref, W * H * 3 * sizeof(float));
    /* The same through the backend interface, in two pieces. */
    ngp_backend_opts bo;
    ngp_backend_opts_default(&bo);
    ngp_backend *b;
    ngp_error err;
    assert_int_equal(ngp_backend_create(&ngp_backend_cpu_type, &n, NULL, &bo, &b, &err), NGP_OK);
    ngp_render_camera rc = {cam.xform, {focal[0], focal[1]}, {principal[0], principal[1]}, NULL};
    for (int i = 0; i < W * H * 3; i++)
      got[i] = -1.0f;
    int mid = 0, end = 0;
    assert_int_equal(ngp_backend_render_pixels(b, &rc, &o, 0, 300, NULL, NULL, &mid, got, &err), NGP_OK);
    assert_int_equal(mid, 300);
    assert_int_equal(ngp_backend_render_pixels(b, &rc, &o, mid, W * H, NULL, NULL, &end, got, &err), NGP_OK);
    assert_int_equal(end, W * H);
    assert_memory_equal(got, ref, W * H * 3 * sizeof(float));
    ngp_backend_destroy(b);
    free(ref);
    free(got);
  }
  ngp_nerf_free(&n);
}

static int g_calls;
static bool stop_after_two(void *user) {
  (void)user;
  return __atomic_fetch_add(&g_calls, 1, __ATOMIC_SEQ_CST) < 2;
}

static void test_render_pixels_stops(void **state) {
  (void)state;
  ngp_nerf n;
  make_nerf(&n, 2);
  n.n_threads = 1; /* one thread: tiles are asked in order, so exactly two are rendered */
  ngp_camera cam;
  view_camera(&cam);
  enum { W = 40, H = 40 };
  float focal[2], principal[2];
  ngp_camera_intrinsics(&cam, W, H, focal, principal);
  ngp_render_opts o = {
      .width = W, .height = H, .bg = {0.0f, 0.0f, 0.0f}, .min_transmittance = 1e-4f, .spp = 1, .seed = 0};
  float *img = calloc(W * H * 3, sizeof(float));
  g_calls = 0;
  int p = 0;
  assert_int_equal(ngp_nerf_render_pixels(&n, n.inference, cam.xform, focal, principal, NULL, &o, 10, W * H,
                                          stop_after_two, NULL, &p, img, NULL),
                   NGP_OK);
  assert_int_equal(p, 10 + 2 * 32); /* two tiles of 32 rays */
  free(img);
  ngp_nerf_free(&n);
}

/* acquire: hands out `next` when it is newer. */
typedef struct {
  ngp_render_model next;
  int calls;
} fake_source;

static void fake_acquire(void *user, ngp_render_model *m) {
  fake_source *f = user;
  f->calls++;
  if (f->next.generation > m->generation) *m = f->next;
}

static void test_progressive_refines_to_full_render(void **state) {
  (void)state;
  ngp_nerf a, b;
  make_nerf(&a, 3);
  make_nerf(&b, 4);
  enum { W = 48, H = 32 };
  const float bg[3] = {1.0f, 1.0f, 1.0f};
  ngp_progressive p;
  ngp_progressive_init(&p, bg);
  p.pixels_per_s = 200.0; /* a slow machine: the first image is small */
  ngp_progressive_view v = {.width = W, .height = H, .final_div = 1};
  view_camera(&v.cam);
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  ngp_backend *ba, *bb;
  ngp_error err;
  assert_int_equal(ngp_backend_create(&ngp_backend_cpu_type, &a, NULL, &bo, &ba, &err), NGP_OK);
  assert_int_equal(ngp_backend_create(&ngp_backend_cpu_type, &b, NULL, &bo, &bb, &err), NGP_OK);
  fake_source src = {{ba, 1}, 0};
  ngp_render_model m = {0};
  int prev_div = 1 << 20, steps = 0, first_div = 0;
  while (!ngp_progressive_refined(&p, &v, m.generation)) {
    ngp_shown_change ch = ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, NULL, NULL);
    if (ch == NGP_SHOWN_NEW) {
      if (!first_div) first_div = p.shown_div;
      assert_true(p.shown_div < prev_div); /* each new image is finer */
      prev_div = p.shown_div;
    }
    assert_true(++steps < 10000);
  }
  assert_true(first_div > 1); /* shown at reduced resolution first */
  assert_int_equal(p.shown_w, W);
  assert_int_equal(p.shown_h, H);
  ngp_render_opts o;
  ngp_progressive_render_opts(&p, W, H, &o);
  float focal[2], principal[2];
  ngp_camera_intrinsics(&v.cam, W, H, focal, principal);
  float *ref = malloc(W * H * 3 * sizeof(float));
  assert_int_equal(ngp_nerf_render(&a, a.inference, v.cam.xform, focal, principal, NULL, &o, ref, NULL), NGP_OK);
  assert_memory_equal(p.shown_rgb, ref, W * H * 3 * sizeof(float));
  /* Nothing to do: a step changes nothing. */
  assert_int_equal(ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.01, NULL, NULL), NGP_SHOWN_SAME);

  /* Newer weights: rendered over the full image in place, rows reported in order. */
  src.next = (ngp_render_model){bb, 2};
  int next_row = 0;
  while (!ngp_progressive_refined(&p, &v, 2)) {
    int rb = -1, re = -1;
    ngp_shown_change ch = ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, &rb, &re);
    assert_int_not_equal(ch, NGP_SHOWN_NEW); /* never back to a coarse image */
    if (ch == NGP_SHOWN_ROWS) {
      assert_true(rb <= next_row && re > rb && re <= H);
      next_row = re;
    }
    assert_true(++steps < 20000);
  }
  assert_int_equal(next_row, H);
  assert_int_equal(p.shown_div, 1);
  assert_int_equal(ngp_nerf_render(&b, b.inference, v.cam.xform, focal, principal, NULL, &o, ref, NULL), NGP_OK);
  assert_memory_equal(p.shown_rgb, ref, W * H * 3 * sizeof(float));

  /* The camera moves: the next image is coarse again, and of the new view. */
  p.pixels_per_s = 200.0;
  ngp_camera_orbit(&v.cam, 5.0f, 0.0f);
  for (int i = 0; i < 1000 && !(p.shown_valid && ngp_camera_same_view(&p.shown_view.cam, &v.cam)); i++)
    ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, NULL, NULL);
  assert_true(ngp_camera_same_view(&p.shown_view.cam, &v.cam));
  assert_true(p.shown_div > 1);
  /* A render scale of 1/2: refinement stops at half size. */
  v.final_div = 2;
  for (int i = 0; i < 10000 && !ngp_progressive_refined(&p, &v, m.generation); i++)
    ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, NULL, NULL);
  assert_true(ngp_progressive_refined(&p, &v, m.generation));
  assert_int_equal(p.shown_w, W / 2);
  assert_int_equal(p.shown_h, H / 2);
  free(ref);
  ngp_progressive_free(&p);
  ngp_backend_destroy(ba);
  ngp_backend_destroy(bb);
  ngp_nerf_free(&a);
  ngp_nerf_free(&b);
}

/* While training, a refresh that would take longer than refresh_render_s gives way to the newest
 * weights at the finest level that fits; once no newer weights come, the picture refines to the
 * full-resolution render of the newest ones. The throughput estimate is pinned before each step
 * (a real one changes with the machine). */
static void test_refresh_at_affordable_level(void **state) {
  (void)state;
  ngp_nerf a, b;
  make_nerf(&a, 6);
  make_nerf(&b, 7);
  enum { W = 48, H = 32 };
  const float bg[3] = {1.0f, 1.0f, 1.0f};
  ngp_progressive p;
  ngp_progressive_init(&p, bg);
  ngp_progressive_view v = {.width = W, .height = H, .final_div = 1};
  view_camera(&v.cam);
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  ngp_backend *ba, *bb;
  ngp_error err;
  assert_int_equal(ngp_backend_create(&ngp_backend_cpu_type, &a, NULL, &bo, &ba, &err), NGP_OK);
  assert_int_equal(ngp_backend_create(&ngp_backend_cpu_type, &b, NULL, &bo, &bb, &err), NGP_OK);
  fake_source src = {{ba, 1}, 0};
  ngp_render_model m = {0};
  for (int i = 0; i < 10000 && !ngp_progressive_refined(&p, &v, m.generation); i++)
    ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, NULL, NULL);
  assert_true(ngp_progressive_refined(&p, &v, 1));
  assert_int_equal(p.shown_div, 1);

  /* 400 pixels in a second of rendering: 24x16 (divisor 2) fits, 48x32 does not. */
  p.refresh_render_s = 1.0;
  src.next = (ngp_render_model){bb, 2};
  ngp_shown_change ch = NGP_SHOWN_SAME;
  for (int i = 0; i < 10000 && ch != NGP_SHOWN_NEW; i++) {
    p.pixels_per_s = 400.0;
    ch = ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, NULL, NULL);
    assert_int_not_equal(ch, NGP_SHOWN_ROWS); /* no slow refresh at full size */
  }
  assert_int_equal(ch, NGP_SHOWN_NEW);
  assert_int_equal(p.shown_div, 2);
  assert_int_equal(p.shown_generation, 2);
  float focal[2], principal[2];
  ngp_render_opts o;
  float *ref = malloc(W * H * 3 * sizeof(float));
  ngp_progressive_render_opts(&p, W / 2, H / 2, &o);
  ngp_camera_intrinsics(&v.cam, W / 2, H / 2, focal, principal);
  assert_int_equal(ngp_nerf_render(&b, b.inference, v.cam.xform, focal, principal, NULL, &o, ref, NULL), NGP_OK);
  assert_memory_equal(p.shown_rgb, ref, (W / 2) * (H / 2) * 3 * sizeof(float));

  /* No newer weights: the picture refines to the full render of generation 2. */
  for (int i = 0; i < 10000 && !ngp_progressive_refined(&p, &v, 2); i++) {
    p.pixels_per_s = 400.0;
    ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.0, NULL, NULL);
  }
  assert_true(ngp_progressive_refined(&p, &v, 2));
  assert_int_equal(p.shown_div, 1);
  ngp_progressive_render_opts(&p, W, H, &o);
  ngp_camera_intrinsics(&v.cam, W, H, focal, principal);
  assert_int_equal(ngp_nerf_render(&b, b.inference, v.cam.xform, focal, principal, NULL, &o, ref, NULL), NGP_OK);
  assert_memory_equal(p.shown_rgb, ref, W * H * 3 * sizeof(float));
  free(ref);
  ngp_progressive_free(&p);
  ngp_backend_destroy(ba);
  ngp_backend_destroy(bb);
  ngp_nerf_free(&a);
  ngp_nerf_free(&b);
}

static void test_moving_level_follows_throughput(void **state) {
  (void)state;
  ngp_nerf a;
  make_nerf(&a, 5);
  const float bg[3] = {0.0f, 0.0f, 0.0f};
  ngp_progressive p;
  ngp_progressive_init(&p, bg);
  ngp_progressive_view v = {.width = 800, .height = 800, .final_div = 1};
  view_camera(&v.cam);
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  ngp_backend *ba;
  ngp_error err;
  assert_int_equal(ngp_backend_create(&ngp_backend_cpu_type, &a, NULL, &bo, &ba, &err), NGP_OK);
  fake_source src = {{ba, 1}, 0};
  ngp_render_model m = {0};
  /* 1e5 pixels/s and a 30 ms budget: at most 2400 pixels, so 800/d squared <= 2400: d >= 17. */
  p.pixels_per_s = 1e5;
  p.moving_div = 0;
  ngp_progressive_step(&p, &v, &m, fake_acquire, &src, 0.03, NULL, NULL);
  assert_int_equal(p.moving_div, 17);
  ngp_progressive_free(&p);
  ngp_backend_destroy(ba);
  ngp_nerf_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render_pixels_equals_render),        cmocka_unit_test(test_render_pixels_stops),
      cmocka_unit_test(test_progressive_refines_to_full_render), cmocka_unit_test(test_moving_level_follows_throughput),
      cmocka_unit_test(test_refresh_at_affordable_level),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
