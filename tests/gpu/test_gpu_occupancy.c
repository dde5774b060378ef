/* test_gpu_occupancy.c: the occupancy-grid update on the GPU against occupancy.c's
 * ngp_occupancy_update, given the same densities: an analytic raw density f(position) evaluated on
 * the CPU at the positions each side drew. Two updates (uniform samples only, then uniform and
 * non-uniform), on two cascades with masked cells.
 *
 * Checked: the sample positions (the same counter-based draws: 1e-6 absolute, FMA contraction
 * aside), the blended densities (1e-7 + 1e-5|ref|), the cascade-0 mean (1e-5 relative), and the
 * bitfield with its mip pooling (at most 1e-4 of the bits may differ, for densities within float
 * rounding of the threshold). */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/occupancy.h"
#include "gpu_test.h"
#include "common/ngp_march_math.h"
#include "nerf/occupancy.h"

static float field(const float *p) { return 3.0f * sinf(5.0f * p[0]) + 2.0f * cosf(3.0f * p[1]) - 4.0f * p[2]; }

typedef struct {
  float *pos; /* every position the CPU update asked for, in order */
  size_t n, cap;
} recorder;

static void record_cb(int S, const float *pos, float *raw, void *user) {
  recorder *r = user;
  assert_true(r->n + (size_t)S <= r->cap);
  memcpy(r->pos + r->n * 3, pos, (size_t)S * 3 * sizeof(float));
  r->n += (size_t)S;
  for (int i = 0; i < S; i++)
    raw[i] = field(pos + (size_t)i * 3);
}

static void test_update(void **state) {
  (void)state;
  const int NC = 2;
  const size_t cells = (size_t)NC * NGP_GRID_CELLS;
  ngp_occupancy g;
  ngp_error err;
  assert_int_equal(ngp_occupancy_init(&g, NC, &err), NGP_OK);
  for (size_t i = 0; i < cells; i++)
    g.density[i] = (i % 11 == 0) ? -1.0f : gpu_rand(0.0f, 0.03f);
  ngp_occupancy_update(&g, 0, 0, 1.0f, 0, NULL, NULL, 1); /* bitfield and mean of these densities */
  const float bmin[3] = {-0.5f, -0.5f, -0.5f}, bmax[3] = {1.5f, 1.5f, 1.5f};
  float *d_density = gpu_upload_f(g.density, cells), *d_tmp = gpu_alloc(cells * sizeof(float));
  uint8_t *d_bits = gpu_alloc(cells / 8);
  float *d_mean = gpu_alloc(sizeof(float));
  uint32_t *d_occ = gpu_alloc(sizeof(uint32_t));
  double *d_partial = gpu_alloc(ngp_occupancy_partials() * sizeof(double));
  const uint32_t BATCH = 100000, uni[2] = {300000, 200000}, non[2] = {0, 150000};
  recorder rec = {malloc((size_t)(uni[0] + non[1] + uni[1]) * 3 * sizeof(float)), 0, (size_t)uni[0] + uni[1] + non[1]};
  float *pos = malloc((size_t)BATCH * 3 * sizeof(float)), *raw = malloc(BATCH * sizeof(float));
  float *d_pos = gpu_alloc((size_t)BATCH * 3 * sizeof(float)), *d_raw = gpu_alloc(BATCH * sizeof(float));
  uint32_t *d_idx = gpu_alloc(BATCH * sizeof(uint32_t));
  assert_true(rec.pos && pos && raw);
  for (int u = 0; u < 2; u++) {
    const uint64_t seed = 1234 + (uint64_t)u;
    const uint32_t update_index = g.n_updates;
    rec.n = 0;
    ngp_occupancy_update(&g, uni[u], non[u], 0.95f, seed, record_cb, &rec, 1);
    ngp_cuda_memset(d_tmp, 0, cells * sizeof(float), &err);
    size_t k = 0; /* position in the CPU's record */
    for (int set = 0; set < 2; set++) {
      const uint32_t total = set ? non[u] : uni[u];
      const uint64_t set_seed = ngp_grid_set_seed(seed, set);
      for (uint32_t first = 0; first < total; first += BATCH) {
        const uint32_t cnt = total - first < BATCH ? total - first : BATCH;
        ngp_occupancy_samples_cuda(d_density, NC, first, cnt, total, update_index, set ? 0.01f : -0.01f, set_seed, bmin,
                                   bmax, d_pos, NULL, d_idx, NULL);
        gpu_download(pos, d_pos, (size_t)cnt * 3 * sizeof(float));
        char what[64];
        snprintf(what, sizeof what, "update %d set %d positions from %u", u, set, first);
        assert_int_equal(gpu_compare(what, pos, rec.pos + k * 3, (size_t)cnt * 3, 1e-6, 0.0), 0);
        k += cnt;
        for (uint32_t i = 0; i < cnt; i++)
          raw[i] = field(pos + (size_t)i * 3);
        assert_int_equal(ngp_cuda_upload(d_raw, raw, cnt * sizeof(float), &err), NGP_OK);
        ngp_occupancy_splat_cuda(d_idx, d_raw, cnt, d_tmp, NULL);
      }
    }
    assert_int_equal(k, rec.n);
    ngp_occupancy_finish_cuda(d_density, d_tmp, NC, 0.95f, d_bits, d_mean, d_occ, d_partial, NULL);
    float *dens = malloc(cells * sizeof(float));
    uint8_t *bits = malloc(cells / 8);
    float mean = 0.0f;
    uint32_t occupied = 0;
    gpu_download(dens, d_density, cells * sizeof(float));
    gpu_download(bits, d_bits, cells / 8);
    gpu_download(&mean, d_mean, sizeof mean);
    gpu_download(&occupied, d_occ, sizeof occupied);
    char what[64];
    snprintf(what, sizeof what, "update %d densities", u);
    assert_int_equal(gpu_compare(what, dens, g.density, cells, 1e-7, 1e-5), 0);
    print_message("update %d: mean %.7g (cpu %.7g), %u occupied (cpu %zu)\n", u, (double)mean, (double)g.mean, occupied,
                  g.n_occupied);
    assert_true(fabsf(mean - g.mean) <= 1e-5f * g.mean + 1e-9f);
    size_t diff = 0;
    for (size_t i = 0; i < cells / 8; i++)
      diff += (size_t)__builtin_popcount((unsigned)(bits[i] ^ g.bitfield[i]));
    print_message("update %d: %zu of %zu bits differ\n", u, diff, cells);
    assert_true(diff <= cells / 10000);
    assert_true(llabs((long long)occupied - (long long)g.n_occupied) <= (long long)(cells / 10000));
    free(dens);
    free(bits);
  }
  gpu_free(d_density), gpu_free(d_tmp), gpu_free(d_bits), gpu_free(d_mean), gpu_free(d_occ), gpu_free(d_partial);
  gpu_free(d_pos), gpu_free(d_raw), gpu_free(d_idx);
  free(rec.pos), free(pos), free(raw);
  ngp_occupancy_free(&g);
}

int main(void) {
  gpu_require_device("test_gpu_occupancy");
  gpu_rand_seed(5);
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_update)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
