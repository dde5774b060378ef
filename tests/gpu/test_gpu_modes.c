/* test_gpu_modes.c: the CUDA backend's render modes (depth, normals, positions, cost), near distance
 * and crop box against ngp_nerf_render (the CPU reference) on a small model trained briefly on
 * the CPU, as test_gpu_render.c does for the shaded image. Both renderers take the per-ray rules
 * from common/ngp_render_math.h; they differ in the networks' precision (fp16 on the GPU), so:
 *   - which pixels hit something (value non-zero) agrees on >= 97% of the pixels (a pixel whose
 *     opacity sits at the 0.01 threshold may flip);
 *   - depth and positions: >= 97% of the pixels both hit are within 0.01 ngp units (+1% of the
 *     value) of the CPU's;
 *   - normals (central differences of an fp16 density: the noise is amplified by 1/2h): the
 *     median angle to the CPU's normal <= 10 degrees and >= 75% of the pixels within 20 degrees;
 *   - cost (samples marched; for images this small the GPU marches segments of 16 as the CPU
 *     does): >= 95% of the pixels equal, mean |difference| <= 2% of the mean cost;
 *   - shade with a near distance and a crop box: PSNR >= 40 dB (test_gpu_render's bound);
 *   - the near distance (the median depth): every GPU depth >= it, and it changes >= a quarter of
 *     the depths seen; the crop box: every GPU position inside it (+0.01);
 *   - a pixel range of a depth render equals the whole render's pixels. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "engine/eval.h"
#include "gpu_test.h"
#include "nerf/nerf.h"

static const char *k_small_cfg =
    "{\"loss\": {\"otype\": \"Huber\"},"
    " \"optimizer\": {\"otype\": \"Ema\", \"decay\": 0.95, \"nested\": {\"otype\": \"Adam\", \"learning_rate\": 1e-2,"
    "   \"beta1\": 0.9, \"beta2\": 0.99, \"epsilon\": 1e-15, \"l2_reg\": 1e-6}},"
    " \"encoding\": {\"otype\": \"HashGrid\", \"n_levels\": 8, \"n_features_per_level\": 2, \"log2_hashmap_size\": 15,"
    "   \"base_resolution\": 16},"
    " \"network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 64, \"n_hidden_layers\": 1},"
    " \"dir_encoding\": {\"otype\": \"SphericalHarmonics\", \"degree\": 4},"
    " \"rgb_network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 64, \"n_hidden_layers\": 2}}";

enum { W = 64, H = 56, NPX = W * H };

static bool hit(const float *v) { return v[0] != 0.0f || v[1] != 0.0f || v[2] != 0.0f; }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Hit masks agree on >= 97%; returns the pixels both hit. */
static int check_hits(const char *what, const float *gpu, const float *cpu) {
  int agree = 0, both = 0;
  for (int p = 0; p < NPX; p++) {
    bool g = hit(gpu + p * 3), c = hit(cpu + p * 3);
    agree += g == c;
    both += g && c;
  }
  print_message("%s: hit masks agree on %d of %d pixels; %d hit in both\n", what, agree, NPX, both);
  assert_true(agree >= NPX * 97 / 100);
  assert_true(both > NPX / 20); /* the view shows the object: the comparison means something */
  return both;
}

/* Depth or positions: >= 97% of the pixels both hit within 0.01 (+1%) per channel. */
static void check_values(const char *what, const float *gpu, const float *cpu) {
  int both = check_hits(what, gpu, cpu), close = 0;
  double worst = 0.0;
  for (int p = 0; p < NPX; p++) {
    if (!hit(gpu + p * 3) || !hit(cpu + p * 3)) continue;
    bool ok = true;
    for (int c = 0; c < 3; c++) {
      double d = fabs((double)gpu[p * 3 + c] - (double)cpu[p * 3 + c]);
      if (d > worst) worst = d;
      ok = ok && d <= 0.01 + 0.01 * fabs((double)cpu[p * 3 + c]);
    }
    close += ok;
  }
  print_message("%s: %d of %d pixels within 0.01 (+1%%) of the CPU's; largest difference %.4g\n", what, close, both,
                worst);
  assert_true(close >= both * 97 / 100);
}

static void check_normals(const float *gpu, const float *cpu) {
  int both = check_hits("normals", gpu, cpu), k = 0, within = 0;
  double *ang = malloc((size_t)NPX * sizeof *ang);
  assert_non_null(ang);
  for (int p = 0; p < NPX; p++) {
    if (!hit(gpu + p * 3) || !hit(cpu + p * 3)) continue;
    const float *g = gpu + p * 3, *c = cpu + p * 3;
    double g0 = g[0], g1 = g[1], g2 = g[2];
    double lg = sqrt(g0 * g0 + g1 * g1 + g2 * g2);
    assert_true(fabs(lg - 1.0) < 1e-3); /* unit normals */
    double dot = (g0 * (double)c[0] + g1 * (double)c[1] + g2 * (double)c[2]) / lg;
    ang[k] = acos(dot > 1.0 ? 1.0 : (dot < -1.0 ? -1.0 : dot)) * 180.0 / 3.14159265358979;
    within += ang[k] <= 20.0;
    k++;
  }
  qsort(ang, (size_t)k, sizeof *ang, cmp_double);
  double median = ang[k / 2];
  print_message("normals: median angle to the CPU's %.2f degrees, %d of %d pixels within 20 degrees\n", median, within,
                both);
  assert_true(median <= 10.0);
  assert_true(within >= both * 3 / 4);
  free(ang);
}

static void check_cost(const float *gpu, const float *cpu) {
  int equal = 0;
  double diff = 0.0, total = 0.0;
  for (int p = 0; p < NPX; p++) {
    assert_true(gpu[p * 3] == gpu[p * 3 + 1] && gpu[p * 3] == gpu[p * 3 + 2]);
    assert_true(gpu[p * 3] == floorf(gpu[p * 3]) && gpu[p * 3] >= 0.0f); /* whole samples (spp 1) */
    equal += gpu[p * 3] == cpu[p * 3];
    diff += fabs((double)gpu[p * 3] - (double)cpu[p * 3]);
    total += (double)cpu[p * 3];
  }
  print_message("cost: %d of %d pixels equal, mean |difference| %.3f samples, mean cost %.2f samples\n", equal, NPX,
                diff / NPX, total / NPX);
  assert_true(total > 0.0);
  assert_true(equal >= NPX * 95 / 100);
  assert_true(diff <= 0.02 * total);
}

static void test_modes_match_cpu(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("gpu_modes");
  ngp_synth_options so;
  ngp_synth_options_default(&so);
  so.width = so.height = 40;
  so.n_train = 12;
  so.n_test = 2;
  ngp_error err;
  assert_int_equal(ngp_synth_write_scene(dir, &so, &err), NGP_OK);
  char *json = ngp_test_path(dir, "transforms_train.json"), *test_json = ngp_test_path(dir, "transforms_test.json");
  ngp_scene scene, test;
  assert_int_equal(ngp_scene_load(json, NULL, &scene, &err), NGP_OK);
  assert_int_equal(ngp_scene_load(test_json, NULL, &test, &err), NGP_OK);
  ngp_config cfg;
  assert_int_equal(ngp_config_parse(k_small_cfg, strlen(k_small_cfg), "small", &cfg, &err), NGP_OK);
  ngp_nerf n;
  assert_int_equal(ngp_nerf_init(&n, &cfg, scene.aabb_scale, 11, 0, &err), NGP_OK);
  ngp_train_opts to;
  ngp_train_opts_default(&to);
  to.target_samples = 1 << 13;
  to.seed = 3;
  ngp_trainer *tr;
  assert_int_equal(ngp_trainer_create(&tr, &n, &scene, &to, &err), NGP_OK);
  ngp_step_stats st;
  for (int i = 0; i < 60; i++)
    assert_int_equal(ngp_trainer_step(tr, &st, NULL), NGP_OK);
  ngp_trainer_sync_inference(tr);
  print_message("trained 60 CPU steps: loss %.4f, %zu occupied cells\n", (double)st.loss, n.occ.n_occupied);

  const ngp_frame *f = &test.frames[0];
  ngp_render_camera cam = {
      f->xform,
      {f->focal[0] * (float)W / (float)f->image.width, f->focal[1] * (float)H / (float)f->image.height},
      {f->principal[0], f->principal[1]},
      &f->lens};
  static float cpu[NPX * 3], gpu[NPX * 3], part[NPX * 3];
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  ngp_backend *b;
  if (ngp_backend_create(&ngp_backend_cuda_type, &n, NULL, &bo, &b, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_render_opts base = {
      .width = W, .height = H, .bg = {1.0f, 1.0f, 1.0f}, .min_transmittance = 1e-4f, .spp = 1, .seed = 42};
#define RENDER_BOTH(opts)                                                                                              \
  do {                                                                                                                 \
    assert_int_equal(                                                                                                  \
        ngp_nerf_render(&n, n.inference, f->xform, cam.focal, cam.principal, &f->lens, &(opts), cpu, NULL), NGP_OK);   \
    if (ngp_backend_render(b, &cam, &(opts), gpu, &err) != NGP_OK) fail_msg("%s", err.msg);                            \
  } while (0)

  ngp_render_opts o = base;
  o.mode = NGP_RENDER_DEPTH;
  RENDER_BOTH(o);
  check_values("depth", gpu, cpu);
  /* The median depth seen, for the near distance below; and the depths, to see it change them. */
  static float depth0[NPX * 3];
  memcpy(depth0, cpu, sizeof depth0);
  double *ds = malloc((size_t)NPX * sizeof *ds);
  assert_non_null(ds);
  int nds = 0;
  for (int p = 0; p < NPX; p++)
    if (hit(cpu + p * 3)) ds[nds++] = cpu[p * 3];
  assert_true(nds > 0);
  qsort(ds, (size_t)nds, sizeof *ds, cmp_double);
  const float dmed = (float)ds[nds / 2];
  free(ds);
  /* A pixel range of a depth render equals the whole render's pixels. */
  memset(part, 0, sizeof part);
  int next = 0;
  assert_int_equal(ngp_backend_render_pixels(b, &cam, &o, 100, NPX, NULL, NULL, &next, part, &err), NGP_OK);
  assert_int_equal(next, NPX);
  assert_memory_equal(gpu + 300, part + 300, sizeof gpu - 300 * sizeof(float));

  o.mode = NGP_RENDER_POSITIONS;
  RENDER_BOTH(o);
  check_values("positions", gpu, cpu);
  o.mode = NGP_RENDER_NORMALS;
  RENDER_BOTH(o);
  check_normals(gpu, cpu);
  o.mode = NGP_RENDER_COST;
  RENDER_BOTH(o);
  check_cost(gpu, cpu);

  /* A near distance at the median depth: depths start there, and half the surfaces seen are cut. */
  o = base;
  o.mode = NGP_RENDER_DEPTH;
  o.near_distance = dmed;
  RENDER_BOTH(o);
  check_values("depth with a near distance", gpu, cpu);
  int changed = 0;
  for (int p = 0; p < NPX; p++) {
    if (hit(gpu + p * 3)) assert_true(gpu[p * 3] >= o.near_distance - 1e-4f); /* samples from there on */
    changed += fabsf(gpu[p * 3] - depth0[p * 3]) > 0.01f;
  }
  print_message("depth with a near distance: %d pixels changed\n", changed);
  assert_true(changed >= nds / 4);
  /* The crop box: the scene box's lower half along x. */
  o = base;
  o.mode = NGP_RENDER_POSITIONS;
  o.crop = true;
  for (int k = 0; k < 3; k++) {
    o.crop_min[k] = n.aabb_min[k];
    o.crop_max[k] = n.aabb_max[k];
  }
  o.crop_max[0] = 0.5f * (n.aabb_min[0] + n.aabb_max[0]);
  RENDER_BOTH(o);
  check_values("positions in a crop box", gpu, cpu);
  for (int p = 0; p < NPX; p++)
    if (hit(gpu + p * 3)) assert_true(gpu[p * 3] <= o.crop_max[0] + 0.01f);
  /* Shaded with both, two samples per pixel. */
  o.mode = NGP_RENDER_SHADE;
  o.near_distance = dmed;
  o.spp = 2;
  RENDER_BOTH(o);
  double p = ngp_psnr(gpu, cpu, NPX);
  print_message("shade with a near distance and a crop box, spp 2: GPU vs CPU PSNR %.2f dB\n", p);
  assert_true(p >= 40.0);
#undef RENDER_BOTH
  ngp_backend_destroy(b);
  ngp_trainer_destroy(tr);
  ngp_nerf_free(&n);
  ngp_scene_free(&scene);
  ngp_scene_free(&test);
  free(json), free(test_json), free(dir);
}

int main(void) {
  gpu_require_device("test_gpu_modes");
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_modes_match_cpu)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
