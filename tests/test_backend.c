/* test_backend.c: the backend interface (engine/backend.h) and the session on top of it.
 *  - selection: "cpu" as asked, "auto" says why, an unknown name lists the known ones, a taken
 *    name cannot be registered;
 *  - the CPU backend renders exactly what the reference renderer gives, and density queries are
 *    the reference's;
 *  - with concurrent_render, renders keep the acquired generation until acquire takes a newer
 *    published one;
 *  - the session's steps, test views and screenshots all go through the backend (the counting
 *    backend forwards to the CPU one and counts the calls). */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backend.h"
#include "counting_backend.h"
#include "core/fs.h"
#include "engine/session.h"

static void test_choose(void **state) {
  (void)state;
  const ngp_backend_type *t = NULL;
  char why[1024];
  assert_int_equal(ngp_backend_choose("cpu", &t, why, sizeof why), NGP_OK);
  assert_ptr_equal(t, &ngp_backend_cpu_type);
  assert_string_equal(why, "as asked");
  assert_int_equal(ngp_backend_choose("auto", &t, why, sizeof why), NGP_OK);
  assert_non_null(t);
  assert_true(strncmp(why, "auto: ", 6) == 0);
#ifndef NGP_HAVE_CUDA
  assert_ptr_equal(t, &ngp_backend_cpu_type);
  assert_int_equal(ngp_backend_choose("cuda", &t, why, sizeof why), NGP_ERR_UNSUPPORTED);
  assert_contains(why, "no CUDA backend");
#endif
  assert_int_equal(ngp_backend_choose("tpu", &t, why, sizeof why), NGP_ERR_INVALID);
  assert_null(t);
  assert_contains(why, "unknown backend \"tpu\"");
  assert_contains(why, "cpu");
  assert_contains(why, "counting"); /* registered by main */
  ngp_error err;
  assert_int_equal(ngp_backend_register(&ngp_counting_backend_type, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "taken");
}

static ngp_backend *cpu_backend(ngp_nerf *n, bool concurrent) {
  ngp_backend_opts o;
  ngp_backend_opts_default(&o);
  o.n_threads = 2;
  o.concurrent_render = concurrent;
  ngp_backend *b = NULL;
  ngp_error err;
  if (ngp_backend_create(&ngp_backend_cpu_type, n, NULL, &o, &b, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_false(ngp_backend_can_train(b)); /* no scene */
  return b;
}

static const float k_xform[12] = {1, 0, 0, 0.5f, 0, 1, 0, 0.5f, 0, 0, 1, -1.2f};

/* Hash-grid features far from their tiny initial values, so images vary. */
static void scramble(ngp_nerf *n, uint64_t seed) {
  for (size_t i = n->off_grid; i < n->n_params; i++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    n->inference[i] = (float)((seed >> 40) & 0xffff) / 65536.0f * 4.0f - 2.0f;
  }
}

static void test_cpu_render_and_density(void **state) {
  (void)state;
  ngp_nerf n;
  ngp_test_small_nerf(&n, 1, 2);
  scramble(&n, 3);
  ngp_backend *b = cpu_backend(&n, false);
  assert_string_equal(ngp_backend_name(b), "cpu");
  enum { W = 21, H = 17 };
  ngp_render_opts o = {.width = W, .height = H, .bg = {1, 1, 1}, .min_transmittance = 1e-4f, .spp = 1, .seed = 5};
  ngp_render_camera cam = {k_xform, {20.0f, 20.0f}, {0.5f, 0.5f}, NULL};
  float ref[W * H * 3], got[W * H * 3];
  ngp_error err;
  assert_int_equal(ngp_nerf_render(&n, n.inference, k_xform, cam.focal, cam.principal, NULL, &o, ref, &err), NGP_OK);
  assert_int_equal(ngp_backend_render(b, &cam, &o, got, &err), NGP_OK);
  assert_memory_equal(got, ref, sizeof ref);
  float pos[3 * 4] = {0.5f, 0.5f, 0.5f, 0.1f, 0.2f, 0.3f, 0.9f, 0.4f, 0.6f, 0.0f, 0.0f, 0.0f}, d0[4], d1[4];
  assert_int_equal(ngp_nerf_density(&n, n.inference, 4, pos, d0, &err), NGP_OK);
  assert_int_equal(ngp_backend_density(b, 4, pos, d1, &err), NGP_OK);
  assert_memory_equal(d0, d1, sizeof d0);
  /* An impossible size is refused with the backend's name. */
  ngp_render_opts bad = o;
  bad.width = 0;
  assert_int_equal(ngp_backend_render(b, &cam, &bad, got, &err), NGP_ERR_INVALID);
  assert_contains(err.msg, "cpu backend");
  ngp_backend_destroy(b);
  ngp_nerf_free(&n);
}

static void test_concurrent_generations(void **state) {
  (void)state;
  ngp_nerf n;
  ngp_test_small_nerf(&n, 1, 2);
  scramble(&n, 4);
  ngp_backend *b = cpu_backend(&n, true);
  enum { W = 16, H = 12 };
  ngp_render_opts o = {.width = W, .height = H, .bg = {0, 0, 0}, .min_transmittance = 1e-4f, .spp = 1, .seed = 0};
  ngp_render_camera cam = {k_xform, {16.0f, 16.0f}, {0.5f, 0.5f}, NULL};
  float first[W * H * 3], got[W * H * 3], second[W * H * 3];
  ngp_error err;
  assert_int_equal(ngp_backend_acquire(b), 1u);
  assert_int_equal(ngp_backend_render(b, &cam, &o, first, &err), NGP_OK);
  /* Training changes the host model; publish hands it over; renders keep generation 1 until
   * the render side acquires. (No trainer: publish copies the host model's inference weights.) */
  scramble(&n, 5);
  assert_int_equal(ngp_nerf_render(&n, n.inference, k_xform, cam.focal, cam.principal, NULL, &o, second, &err), NGP_OK);
  assert_true(memcmp(first, second, sizeof first) != 0);
  assert_false(ngp_backend_newer_pending(b));
  assert_int_equal(ngp_backend_publish(b, &err), NGP_OK);
  assert_true(ngp_backend_newer_pending(b));
  assert_int_equal(ngp_backend_render(b, &cam, &o, got, &err), NGP_OK);
  assert_memory_equal(got, first, sizeof got);
  assert_int_equal(ngp_backend_acquire(b), 2u);
  assert_false(ngp_backend_newer_pending(b));
  assert_int_equal(ngp_backend_render(b, &cam, &o, got, &err), NGP_OK);
  assert_memory_equal(got, second, sizeof got);
  ngp_backend_destroy(b);
  ngp_nerf_free(&n);
}

static void test_session_goes_through_backend(void **state) {
  (void)state;
  ngp_scene train, test;
  char *dir = ngp_test_synth_scene("backend_session", 32, 6, 3, -1, &train, &test);
  ngp_scene_free(&train);
  char *cfg = ngp_test_path(dir, "small.json"), *test_json = ngp_test_path(dir, "transforms_test.json");
  char *shots = ngp_test_path(dir, "shots"), *snap = ngp_test_path(dir, "model.ngp");
  ngp_test_write_text(cfg, ngp_test_small_config);
  ngp_session_opts so;
  ngp_session_opts_default(&so);
  so.scene = dir;
  so.config = cfg;
  so.backend = "counting";
  so.threads = 2;
  so.batch_samples = 4096;
  ngp_session s;
  ngp_error err;
  if (ngp_session_open(&s, &so, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_string_equal(ngp_backend_name(s.backend), "counting");
  assert_true(ngp_session_can_train(&s));
  ngp_step_stats st;
  for (int i = 0; i < 3; i++)
    assert_int_equal(ngp_session_step(&s, &st, &err), NGP_OK);
  assert_int_equal(s.meta.training_step, 3);
  assert_int_equal(ngp_counting_backend_calls(s.backend, "train_step"), 3);
  assert_int_equal(ngp_session_save(&s, snap, &err), NGP_OK);
  assert_true(ngp_counting_backend_calls(s.backend, "download") >= 1); /* the EMA came from the backend */
  assert_int_equal(ngp_session_refresh(&s, &err), NGP_OK);
  long renders = ngp_counting_backend_calls(s.backend, "render");
  ngp_eval_result res;
  assert_int_equal(ngp_session_evaluate(&s, test_json, &res, &err), NGP_OK);
  assert_int_equal(res.n_views, test.n_frames);
  assert_int_equal(ngp_counting_backend_calls(s.backend, "render"), renders + test.n_frames);
  assert_int_equal(ngp_session_screenshots(&s, test_json, shots, 20, 10, &err), NGP_OK);
  assert_int_equal(ngp_counting_backend_calls(s.backend, "render"), renders + 2 * test.n_frames);
  for (int i = 0; i < test.n_frames; i++) {
    char name[4300];
    snprintf(name, sizeof name, "%s/%s.png", shots, ngp_path_basename(test.frames[i].file_path));
    ngp_image img;
    if (ngp_image_load(name, &img, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(img.width, 20);
    assert_int_equal(img.height, 10);
    ngp_image_free(&img);
  }
  ngp_session_close(&s);
  ngp_scene_free(&test);
  free(cfg);
  free(test_json);
  free(shots);
  free(snap);
  free(dir);
}

int main(void) {
  ngp_error err;
  if (ngp_backend_register(&ngp_counting_backend_type, &err) != NGP_OK) {
    fprintf(stderr, "%s\n", err.msg);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_choose),
      cmocka_unit_test(test_cpu_render_and_density),
      cmocka_unit_test(test_concurrent_generations),
      cmocka_unit_test(test_session_goes_through_backend),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
