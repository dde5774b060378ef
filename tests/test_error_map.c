/* test_error_map.c: the CPU trainer's error map (src/nerf/error_map.c): its size rule, its
 * schedule, the running mean per cell, the distribution it makes and the pixels drawn from it. */
#include "testutil.h"

#include <math.h>
#include <stdlib.h>

#include "nerf/error_map.h"

static void test_side_rule(void **state) {
  (void)state;
  /* 3.5 x the fourth root of the rays an image gets in 128 steps, floored */
  assert_int_equal(ngp_error_map_side(5632, 100, 400), 32); /* 7209 rays: 9.21 x 3.5 = 32.3 */
  assert_int_equal(ngp_error_map_side(4096, 100, 400), 29); /* 5243 rays: 8.51 x 3.5 = 29.8 */
  assert_int_equal(ngp_error_map_side(4096, 45, 1080), 36); /* the fox: 11651 rays */
  assert_int_equal(ngp_error_map_side(1 << 20, 1, 16), 16); /* at most the smaller image side */
  assert_int_equal(ngp_error_map_side(0, 10, 64), 1);
  assert_int_equal(ngp_error_map_side(100, 0, 64), 1);
}

static void test_schedule(void **state) {
  (void)state;
  ngp_error_map m;
  assert_int_equal(ngp_error_map_init(&m, 2, 4, NULL), NGP_OK);
  const int want[] = {128, 320, 608, 1040, 1688}; /* intervals 128, 192, 288, 432, 648 */
  int got[8], n = 0;
  for (int s = 0; s < 2000; s++)
    if (ngp_error_map_due(&m, s)) {
      assert_true(n < 8);
      got[n++] = s;
    }
  assert_int_equal(n, 5);
  for (int i = 0; i < n; i++)
    assert_int_equal(got[i], want[i]);
  ngp_error_map_free(&m);
}

static void test_running_mean(void **state) {
  (void)state;
  ngp_error_map m;
  assert_int_equal(ngp_error_map_init(&m, 3, 2, NULL), NGP_OK);
  const int slot = ngp_error_map_slot(&m, 2, 9, 1, 10, 10); /* image 2, cell (1, 0) */
  assert_int_equal(slot, 2 * 4 + 1);
  for (int k = 0; k < 5; k++)
    ngp_error_map_record(&m, slot, 0.5f);
  assert_float_equal(m.err[slot], 0.5f * (1.0f - powf(0.9f, 5.0f)), 1e-6f);
  const float before = m.err[slot];
  ngp_error_map_record(&m, slot, NAN);
  ngp_error_map_record(&m, slot, INFINITY);
  assert_true(m.err[slot] == before); /* non-finite losses leave the cell alone */
  for (int i = 0; i < 12; i++)
    if (i != slot) assert_true(m.err[i] == 0.0f);
  ngp_error_map_free(&m);
}

/* The cell of a draw: u_cell through the distribution, the pixel back through ngp_error_map_slot. */
static int drawn_cell(const ngp_error_map *m, int img, int w, int h, float u_cell, float ux, float uy) {
  int px = -1, py = -1;
  ngp_error_map_draw(m, img, w, h, 0.0f, u_cell, ux, uy, &px, &py);
  assert_true(px >= 0 && px < w && py >= 0 && py < h);
  return ngp_error_map_slot(m, img, px, py, w, h) - img * m->res * m->res;
}

static void test_uniform_until_ready(void **state) {
  (void)state;
  ngp_error_map m;
  assert_int_equal(ngp_error_map_init(&m, 1, 3, NULL), NGP_OK);
  ngp_error_map_record(&m, 4, 1.0f);
  const float us[] = {0.0f, 0.25f, 0.5f, 0.999f, 0.99999994f};
  for (int a = 0; a < 5; a++)
    for (int b = 0; b < 5; b++) {
      int px, py;
      /* no distribution yet: the uniform draw, whatever `pick` says */
      assert_false(ngp_error_map_draw(&m, 0, 7, 5, 0.0f, 0.5f, us[a], us[b], &px, &py));
      int ex = (int)(us[a] * 7.0f), ey = (int)(us[b] * 5.0f);
      assert_int_equal(px, ex < 7 ? ex : 6);
      assert_int_equal(py, ey < 5 ? ey : 4);
    }
  ngp_error_map_rebuild(&m);
  for (int a = 0; a < 5; a++) { /* with one: the uniform draw when pick >= FOLLOW */
    int px, py;
    assert_false(ngp_error_map_draw(&m, 0, 7, 5, NGP_ERROR_MAP_FOLLOW, 0.5f, us[a], us[a], &px, &py));
    int ex = (int)(us[a] * 7.0f), ey = (int)(us[a] * 5.0f);
    assert_int_equal(px, ex < 7 ? ex : 6);
    assert_int_equal(py, ey < 5 ? ey : 4);
    /* and from the map below FOLLOW: cell 4 (the only one with error) at u_cell = 0.5 */
    assert_true(ngp_error_map_draw(&m, 0, 7, 5, 0.0f, 0.5f, us[a], us[a], &px, &py));
    assert_int_equal(ngp_error_map_slot(&m, 0, px, py, 7, 5), 4);
  }
  ngp_error_map_free(&m);
}

static void test_distribution(void **state) {
  (void)state;
  enum { RES = 3, C = RES * RES, U = 100000 };
  ngp_error_map m;
  assert_int_equal(ngp_error_map_init(&m, 2, RES, NULL), NGP_OK);
  /* image 1: error in cell 5 only; image 0: none recorded */
  for (int k = 0; k < 20; k++)
    ngp_error_map_record(&m, 1 * C + 5, 0.25f);
  ngp_error_map_rebuild(&m);
  int count[2][C] = {{0}};
  for (int i = 0; i < U; i++) {
    const float u = ((float)i + 0.5f) / (float)U;
    for (int img = 0; img < 2; img++)
      count[img][drawn_cell(&m, img, 40, 30, u, 0.5f, 0.5f)]++;
  }
  for (int c = 0; c < C; c++) /* no error: every cell equally */
    assert_true(fabs((double)count[0][c] / U - 1.0 / C) < 1e-3);
  /* cell 5 weighs e + 0.1 mean(e), the others 0.1 mean(e), out of 1.1 e in all */
  const double share5 = (1.0 + 0.1 / C) / 1.1, other = (0.1 / C) / 1.1;
  for (int c = 0; c < C; c++) {
    double got = (double)count[1][c] / U, want = c == 5 ? share5 : other;
    if (fabs(got - want) > 1e-3) fail_msg("cell %d: share %.5f, want %.5f", c, got, want);
  }
  ngp_error_map_free(&m);
}

/* Every pixel drawn in a cell maps back to it, and every pixel of the image can be drawn from its
 * own cell, on sides that the cells do not divide evenly. */
static void test_pixels_in_cells(void **state) {
  (void)state;
  const int sizes[][3] = {{7, 5, 3}, {400, 400, 29}, {1080, 1920, 36}, {3, 3, 3}};
  for (int s = 0; s < 4; s++) {
    const int w = sizes[s][0], h = sizes[s][1], res = sizes[s][2], C = res * res;
    ngp_error_map m;
    assert_int_equal(ngp_error_map_init(&m, 1, res, NULL), NGP_OK);
    ngp_error_map_rebuild(&m); /* flat: u_cell = (c + 0.5) / C is cell c */
    for (int c = 0; c < C; c++) {
      const float u = ((float)c + 0.5f) / (float)C;
      const float edges[] = {0.0f, 0.5f, 0.99999994f};
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
          if (drawn_cell(&m, 0, w, h, u, edges[a], edges[b]) != c)
            fail_msg("%dx%d, %d cells per side: a draw in cell %d landed elsewhere", w, h, res, c);
    }
    /* each pixel lies in the range its cell draws from: the first and last pixel of every cell */
    for (int x = 0; x < w; x++) {
      const int c = ngp_error_map_slot(&m, 0, x, 0, w, h);
      int lo = w, hi = -1;
      for (int k = 0; k <= 64; k++) {
        int px, py;
        ngp_error_map_draw(&m, 0, w, h, 0.0f, ((float)c + 0.5f) / (float)C, (float)k / 64.0f * 0.99999994f, 0.0f, &px,
                           &py);
        lo = px < lo ? px : lo;
        hi = px > hi ? px : hi;
      }
      assert_true(lo <= x && x <= hi);
    }
    ngp_error_map_free(&m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_side_rule),    cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_running_mean), cmocka_unit_test(test_uniform_until_ready),
      cmocka_unit_test(test_distribution), cmocka_unit_test(test_pixels_in_cells),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
