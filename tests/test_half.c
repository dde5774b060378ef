/* test_half.c: fp16 conversions (src/common/ngp_half.h): every one of the 65536 halves against
 * its value computed in double, the round trip, and the rounding of floats to the nearest half
 * (ties to even) around every half, at the subnormal boundary, near the saturation at 65504 and
 * for NaN. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/ngp_half.h"

/* The value of half bits h, from the IEEE 754 binary16 definition, in double. */
static double half_value(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 31)
    v = m ? NAN : INFINITY;
  else if (e == 0)
    v = ldexp((double)m, -24);
  else
    v = ldexp(1024.0 + (double)m, e - 25);
  return s ? -v : v;
}

static void test_f16_to_f32_every_half(void **state) {
  (void)state;
  for (uint32_t h = 0; h < 65536u; h++) {
    float f = ngp_f16_to_f32((uint16_t)h);
    double want = half_value((uint16_t)h);
    if (isnan(want)) {
      assert_true(isnan(f));
      continue;
    }
    assert_true((double)f == want);
    assert_int_equal(signbit(f) != 0, (h >> 15) != 0);
    if (isfinite(want)) assert_int_equal(ngp_f32_to_f16(f), h); /* the round trip, -0 included */
  }
}

/* The half nearest x by brute force over the finite halves of x's sign (ties to the even one):
 * what ngp_f32_to_f16 must give for |x| <= 65504. */
static uint16_t nearest_half(float x) {
  uint16_t sign = signbit(x) ? 0x8000u : 0u, best = sign;
  double bd = INFINITY;
  for (uint32_t m = 0; m <= 0x7bffu; m++) {
    double d = fabs((double)x - half_value((uint16_t)(sign | m)));
    if (d < bd || (d == bd && (m & 1u) == 0u)) {
      bd = d;
      best = (uint16_t)(sign | m);
    }
  }
  return best;
}

static void test_f32_to_f16_rounding(void **state) {
  (void)state;
  /* Around every 97th positive half h and its negative: h itself, the midpoints to its
   * neighbours, and one float ulp either side of each midpoint. */
  int checked = 0;
  for (uint32_t h = 1; h < 0x7bffu; h += 97u) {
    for (int sign = 0; sign < 2; sign++) {
      double lo = half_value((uint16_t)(h - 1)), mid = half_value((uint16_t)h), hi = half_value((uint16_t)(h + 1));
      float xs[7] = {(float)mid, (float)((lo + mid) / 2), (float)((mid + hi) / 2)};
      xs[3] = nextafterf(xs[1], 0.0f);
      xs[4] = nextafterf(xs[1], INFINITY);
      xs[5] = nextafterf(xs[2], 0.0f);
      xs[6] = nextafterf(xs[2], INFINITY);
      for (int k = 0; k < 7; k++) {
        float x = sign ? -xs[k] : xs[k];
        uint16_t got = ngp_f32_to_f16(x), want = nearest_half(x);
        if (got != want) printf("x = %a: got 0x%04x, want 0x%04x\n", (double)x, got, want);
        assert_int_equal(got, want);
        checked++;
      }
    }
  }
  printf("%d floats rounded to the nearest half\n", checked);
  /* The subnormal range's edges: 2^-25 is a tie between 0 and 2^-24 (even: 0), just above it 1. */
  assert_int_equal(ngp_f32_to_f16(ldexpf(1.0f, -25)), 0);
  assert_int_equal(ngp_f32_to_f16(nextafterf(ldexpf(1.0f, -25), 1.0f)), 1);
  assert_int_equal(ngp_f32_to_f16(ldexpf(1.0f, -26)), 0);
  assert_int_equal(ngp_f32_to_f16(-ldexpf(1.0f, -30)), 0x8000);
  assert_int_equal(ngp_f32_to_f16(1e-40f), 0); /* a float subnormal */
  assert_int_equal(ngp_f32_to_f16(ldexpf(1.0f, -14)), 0x0400);
  assert_int_equal(ngp_f32_to_f16(nextafterf(ldexpf(1.0f, -14), 0.0f)), 0x0400); /* rounds up into the normals */
  assert_int_equal(ngp_f32_to_f16(1.0f), 0x3c00);
  assert_int_equal(ngp_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00); /* tie: to the even 1.0 */
  assert_int_equal(ngp_f32_to_f16(1.0f + 3.0f * ldexpf(1.0f, -11)), 0x3c02);
  assert_int_equal(ngp_f32_to_f16(2047.5f), 0x6800); /* carries into the next binade: 2048 */
  /* Saturation: 65504 is the largest half; larger values, infinities too, clamp to it. */
  assert_int_equal(ngp_f32_to_f16(65504.0f), 0x7bff);
  assert_int_equal(ngp_f32_to_f16(65519.0f), 0x7bff);
  assert_int_equal(ngp_f32_to_f16(1e30f), 0x7bff);
  assert_int_equal(ngp_f32_to_f16(INFINITY), 0x7bff);
  assert_int_equal(ngp_f32_to_f16(-INFINITY), 0xfbff);
  uint16_t nan = ngp_f32_to_f16(NAN);
  assert_true((nan & 0x7c00u) == 0x7c00u && (nan & 0x3ffu) != 0u);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_f16_to_f32_every_half),
      cmocka_unit_test(test_f32_to_f16_rounding),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
