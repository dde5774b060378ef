/* test_gpu_render.c: the CUDA backend's renders against ngp_nerf_render on a small model trained briefly on
 * the CPU (so the weights and the occupancy grid are not trivial), for one and two samples per
 * pixel and two termination thresholds: PSNR of the GPU image against the CPU one >= 40 dB. The
 * GPU evaluates the MLPs in fp16 (colour differences of ~1e-3, i.e. ~60 dB); 40 dB leaves room
 * for the few pixels whose marching differs by an ulp at a cell boundary (the renderer also reads
 * the hash table as fp16: relative 2^-11 per entry, of the order of the MLPs' rounding). Also: the
 * backend uses weights changed on the host (MLP and hash table) once they are uploaded, renders
 * pixel ranges exactly, renders into device images (the viewer's, display.h) the same pixels, and
 * converts them to RGBA8 on the device exactly as the host does. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_math.h"
#include "cuda/display.h"
#include "cuda/ngp_cuda.h"
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

static void test_render_matches_cpu(void **state) {
  (void)state;
  char *dir = ngp_test_tmpdir("gpu_render");
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
  enum { W = 64, H = 56 };
  ngp_render_camera cam = {
      f->xform,
      {f->focal[0] * (float)W / (float)f->image.width, f->focal[1] * (float)H / (float)f->image.height},
      {f->principal[0], f->principal[1]},
      &f->lens};
  static float cpu[W * H * 3], gpu[W * H * 3], again[W * H * 3];
  ngp_backend_opts bo;
  ngp_backend_opts_default(&bo);
  ngp_backend *b;
  if (ngp_backend_create(&ngp_backend_cuda_type, &n, NULL, &bo, &b, &err) != NGP_OK) fail_msg("%s", err.msg);
  const float min_t[2] = {1e-4f, 0.01f};
  for (int spp = 1; spp <= 2; spp++)
    for (int k = 0; k < 2; k++) {
      ngp_render_opts o = {
          .width = W, .height = H, .bg = {1.0f, 1.0f, 1.0f}, .min_transmittance = min_t[k], .spp = spp, .seed = 42};
      assert_int_equal(ngp_nerf_render(&n, n.inference, f->xform, cam.focal, cam.principal, &f->lens, &o, cpu, NULL),
                       NGP_OK);
      if (ngp_backend_render(b, &cam, &o, gpu, &err) != NGP_OK) fail_msg("%s", err.msg);
      double p = ngp_psnr(gpu, cpu, W * H);
      print_message("spp %d, min transmittance %g: GPU vs CPU render PSNR %.2f dB\n", spp, (double)min_t[k], p);
      assert_true(p >= 40.0);
    }
  /* The same call again gives the same image; pixel ranges equal the whole image's pixels. */
  ngp_render_opts o = {
      .width = W, .height = H, .bg = {0.0f, 0.0f, 0.0f}, .min_transmittance = 1e-4f, .spp = 1, .seed = 7};
  assert_int_equal(ngp_backend_render(b, &cam, &o, gpu, &err), NGP_OK);
  assert_int_equal(ngp_backend_render(b, &cam, &o, again, &err), NGP_OK);
  assert_memory_equal(gpu, again, sizeof gpu);
  memset(again, 0, sizeof again);
  int next = 0;
  assert_int_equal(ngp_backend_render_pixels(b, &cam, &o, 100, W * H, NULL, NULL, &next, again, &err), NGP_OK);
  assert_int_equal(next, W * H);
  assert_memory_equal(gpu + 300, again + 300, sizeof gpu - 300 * sizeof(float));
  /* The viewer's device images (display.h): render_pixels into device memory gives the same
   * pixels, and their RGBA8 conversion on the device is the host's byte for byte, clamping, NaN
   * and the rounding boundaries included. */
  float *d_img = NULL;
  uint8_t *d_rgba = NULL;
  if (ngp_cuda_alloc((void **)&d_img, sizeof gpu, "a device image", &err) != NGP_OK ||
      ngp_cuda_alloc((void **)&d_rgba, (size_t)W * H * 4, "RGBA8 pixels", &err) != NGP_OK)
    fail_msg("%s", err.msg);
  next = 0;
  assert_int_equal(ngp_backend_render_pixels(b, &cam, &o, 0, W * H, NULL, NULL, &next, d_img, &err), NGP_OK);
  assert_int_equal(next, W * H);
  assert_int_equal(ngp_cuda_download(again, d_img, sizeof gpu, &err), NGP_OK);
  assert_memory_equal(gpu, again, sizeof gpu);
  memcpy(again, gpu, sizeof gpu);
  const float special[] = {-1.0f,
                           0.0f,
                           NAN,
                           1.0f,
                           2.0f,
                           INFINITY,
                           -INFINITY,
                           0.5f / 255.0f,
                           1.5f / 255.0f,
                           nextafterf(0.5f / 255.0f, 0.0f),
                           254.5f / 255.0f,
                           nextafterf(254.5f / 255.0f, 1.0f)};
  memcpy(again, special, sizeof special);
  static uint8_t rgba[W * H * 4];
  assert_int_equal(ngp_cuda_upload(d_img, again, sizeof gpu, &err), NGP_OK);
  if (ngp_cuda_image_to_rgba8(d_img, (size_t)W * H, d_rgba, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(ngp_cuda_download(rgba, d_rgba, sizeof rgba, &err), NGP_OK);
  for (size_t i = 0; i < (size_t)W * H; i++) {
    for (int c = 0; c < 3; c++)
      if (rgba[i * 4 + (size_t)c] != ngp_unit_to_u8(again[i * 3 + (size_t)c]))
        fail_msg("pixel %zu channel %d: device %d, host %d (value %.9g)", i, c, rgba[i * 4 + (size_t)c],
                 ngp_unit_to_u8(again[i * 3 + (size_t)c]), (double)again[i * 3 + (size_t)c]);
    assert_int_equal(rgba[i * 4 + 3], 255);
  }
  ngp_cuda_free(d_img);
  ngp_cuda_free(d_rgba);
  /* Weights changed on the host and uploaded are used: the backend owns its copy. */
  for (size_t i = n.off_rgb; i < n.off_grid; i++)
    n.inference[i] *= -1.0f; /* colours change */
  assert_int_equal(ngp_backend_render(b, &cam, &o, again, &err), NGP_OK);
  assert_memory_equal(gpu, again, sizeof gpu); /* not uploaded yet: the old model */
  assert_int_equal(ngp_backend_upload(b, &err), NGP_OK);
  assert_int_equal(ngp_backend_render(b, &cam, &o, again, &err), NGP_OK);
  assert_int_equal(ngp_nerf_render(&n, n.inference, f->xform, cam.focal, cam.principal, &f->lens, &o, cpu, NULL),
                   NGP_OK);
  assert_true(ngp_psnr(again, cpu, W * H) >= 40.0);
  assert_true(ngp_psnr(again, gpu, W * H) < 40.0);
  /* ... the hash table too (the renderer reads its fp16 copy, remade from what was uploaded). */
  memcpy(gpu, again, sizeof gpu);
  for (size_t i = n.off_grid; i < n.n_params; i++)
    n.inference[i] *= -1.0f;
  assert_int_equal(ngp_backend_upload(b, &err), NGP_OK);
  assert_int_equal(ngp_backend_render(b, &cam, &o, again, &err), NGP_OK);
  assert_int_equal(ngp_nerf_render(&n, n.inference, f->xform, cam.focal, cam.principal, &f->lens, &o, cpu, NULL),
                   NGP_OK);
  print_message("hash table negated: GPU vs CPU %.2f dB, GPU vs the GPU's previous render %.2f dB\n",
                ngp_psnr(again, cpu, W * H), ngp_psnr(again, gpu, W * H));
  assert_true(ngp_psnr(again, cpu, W * H) >= 40.0);
  assert_true(ngp_psnr(again, gpu, W * H) < 40.0);
  ngp_backend_destroy(b);

  ngp_trainer_destroy(tr);
  ngp_nerf_free(&n);
  ngp_scene_free(&scene);
  ngp_scene_free(&test);
  free(json), free(test_json), free(dir);
}

int main(void) {
  gpu_require_device("test_gpu_render");
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_render_matches_cpu)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
