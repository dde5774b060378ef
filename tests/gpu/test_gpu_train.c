/* test_gpu_train.c: the CUDA trainer end to end. The same generated scene, initial weights, seed,
 * options and step count on the CPU trainer and on the CUDA one; both models are evaluated the same
 * way (the CPU renderer on held-out views, white background) and must reach PSNRs within 0.5 dB.
 * The two step sequences are not identical (fp16 MLPs, rays marched whole before the cut-off,
 * other buffer limits in the first steps), so equal quality, not equal weights, is the claim.
 * Also: the statistics of a step (reported one step late: a step call gives the previous step's
 * numbers, ngp_cuda_trainer_last_stats the last one's), and the model read back by sync_inference
 * (EMA weights, occupancy grid) saving and loading as a snapshot the CPU renders identically. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eval.h"
#include "gpu_test.h"
#include "nerf/nerf.h"
#include "nerf/snapshot.h"

enum { STEPS = 300 };

static void options(ngp_train_opts *to) {
  ngp_train_opts_default(to);
  to->target_samples = 1 << 13;
  to->seed = 7;
  to->grid_sample_fraction = 1.0f / 16.0f;
}

static void test_parity_and_snapshot(void **state) {
  (void)state;
  ngp_scene scene, test;
  char *dir = ngp_test_synth_scene("gpu_train", 48, 24, 4, 3, &scene, &test);
  ngp_error err;
  const float white[3] = {1, 1, 1};
  ngp_train_opts to;
  options(&to);

  /* CPU */
  ngp_nerf cn;
  ngp_test_small_nerf(&cn, scene.aabb_scale, 0);
  ngp_trainer *ct;
  assert_int_equal(ngp_trainer_create(&ct, &cn, &scene, &to, &err), NGP_OK);
  ngp_step_stats st;
  double cpu_loss = 0.0;
  for (int i = 0; i < STEPS; i++) {
    assert_int_equal(ngp_trainer_step(ct, &st, NULL), NGP_OK);
    if (i >= STEPS - 20) cpu_loss += (double)st.loss / 20.0;
  }
  ngp_trainer_sync_inference(ct);
  ngp_eval_result cr;
  assert_int_equal(ngp_test_eval_views(&cn, &test, white, 1, &cr, &err), NGP_OK);

  /* CUDA */
  ngp_nerf gn;
  ngp_test_small_nerf(&gn, scene.aabb_scale, 0);
  ngp_cuda_trainer *gt;
  if (ngp_cuda_trainer_create(&gt, &gn, &scene, &to, &err) != NGP_OK) fail_msg("%s", err.msg);
  double gpu_loss = 0.0;
  for (int i = 0; i <= STEPS; i++) {
    /* Step call i reports step i - 1; after the last, last_stats reports step STEPS - 1. */
    const bool want = i % 10 == 1 || i > STEPS - 20;
    if (i < STEPS) {
      if (ngp_cuda_trainer_step(gt, want ? &st : NULL, &err) != NGP_OK) fail_msg("%s", err.msg);
    } else if (ngp_cuda_trainer_last_stats(gt, &st, &err) != NGP_OK) {
      fail_msg("%s", err.msg);
    }
    if (i == 0 || !want) continue;
    assert_int_equal(st.step, i - 1);
    assert_true(isfinite(st.loss));
    assert_true(st.n_rays >= 256 && st.n_samples_used > 0 && st.n_samples_used <= st.n_samples);
    if (i % 100 == 1)
      print_message("GPU step %d: loss %.5f, %d rays, %u marched, %u used, lr %g, %.3f ms\n", st.step, (double)st.loss,
                    st.n_rays, st.n_samples, st.n_samples_used, (double)st.learning_rate,
                    1e3 * (st.t_march + st.t_forward + st.t_composite + st.t_backward + st.t_optimizer + st.t_grid));
    if (i > STEPS - 20) gpu_loss += (double)st.loss / 20.0;
  }
  assert_int_equal(ngp_cuda_trainer_steps_done(gt), STEPS);
  if (ngp_cuda_trainer_sync_inference(gt, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_eval_result gr;
  assert_int_equal(ngp_test_eval_views(&gn, &test, white, 1, &gr, &err), NGP_OK);
  print_message("after %d steps: CPU PSNR %.2f dB (loss %.5f), CUDA PSNR %.2f dB (loss %.5f); %zu / %zu occupied\n",
                STEPS, cr.psnr_mean, cpu_loss, gr.psnr_mean, gpu_loss, cn.occ.n_occupied, gn.occ.n_occupied);
  assert_true(cr.psnr_mean > 21.0); /* the CPU run itself learnt (test_nerf's floor) */
  assert_true(fabs(gr.psnr_mean - cr.psnr_mean) <= 0.5);

  /* The CUDA model as a snapshot: loads back and renders as the CPU renders it. */
  char *path = ngp_test_path(dir, "gpu.ngp");
  ngp_snapshot_meta meta = {STEPS, scene.scale, {scene.offset[0], scene.offset[1], scene.offset[2]}, (float)gpu_loss};
  assert_int_equal(ngp_snapshot_save(path, &gn, gn.inference, &meta, &err), NGP_OK);
  ngp_nerf ln;
  assert_int_equal(ngp_snapshot_load(path, &ln, NULL, 0, &err), NGP_OK);
  ngp_eval_result lr;
  assert_int_equal(ngp_test_eval_views(&ln, &test, white, 1, &lr, &err), NGP_OK);
  assert_true(fabs(lr.psnr_mean - gr.psnr_mean) < 0.01); /* the bitfield is rebuilt from the densities on load */
  assert_true(gn.occ.n_occupied > 0 && gn.occ.n_updates > 0);

  ngp_nerf_free(&ln);
  ngp_cuda_trainer_destroy(gt);
  ngp_trainer_destroy(ct);
  ngp_nerf_free(&gn);
  ngp_nerf_free(&cn);
  ngp_scene_free(&scene);
  ngp_scene_free(&test);
  free(path), free(dir);
}

/* One group's gradients, GPU against CPU: the relative L2 error and the ratio of the norms. */
static void compare_group(const char *cfg, const char *group, const float *gpu, const float *cpu, size_t n,
                          double max_rel, double max_scale_err) {
  double d2 = 0.0, c2 = 0.0, g2 = 0.0;
  size_t nonzero = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = (double)gpu[i] - (double)cpu[i];
    if (!isfinite(gpu[i])) fail_msg("%s %s: gradient %zu is %g on the GPU", cfg, group, i, (double)gpu[i]);
    d2 += d * d;
    c2 += (double)cpu[i] * (double)cpu[i];
    g2 += (double)gpu[i] * (double)gpu[i];
    nonzero += cpu[i] != 0.0f;
  }
  const double rel = sqrt(d2 / c2), ratio = sqrt(g2 / c2);
  print_message("%s %s: %zu values (%zu non-zero on the CPU), |g_cpu| %.4g, relative L2 error %.4f (<= %.2f), "
                "|g_gpu| / |g_cpu| %.4f (1 +- %.2f)\n",
                cfg, group, n, nonzero, sqrt(c2), rel, max_rel, ratio, max_scale_err);
  assert_true(c2 > 0.0 && nonzero > 0);
  assert_true(rel <= max_rel);
  assert_true(fabs(ratio - 1.0) <= max_scale_err);
}

/* The raw gradients of one whole training step (step 0: the same rays on both, the same marched
 * samples and the same initial weights) on the GPU against the CPU trainer's, per parameter group.
 * A parity test on PSNR cannot see a wrong gradient scale (Adam is almost scale-invariant); this
 * can. Tolerances: relative L2 error <= 5% per group (the GPU's MLPs run in fp16: ~1e-3 per value,
 * and the transmittance cut may differ by a sample where a density rounds across it) and the norm
 * within 5% of the CPU's (a wrong loss-scale or 1/n_rays factor is off by 2x or more). The small
 * test config, and at full size (2^19 entries per level) the app's default base.json and paper.json
 * (16 levels). */
static void step_gradients_case(const char *name, const char *config) {
  ngp_scene scene, test;
  char *dir = ngp_test_synth_scene(config ? "gpu_grad_full" : "gpu_grad_small", 32, 6, 1, 5, &scene, &test);
  ngp_error err;
  ngp_train_opts to;
  options(&to);
  /* Step 0 has 4096 rays on both. No ray may be dropped on either side, or the two would train on
   * different rays: a buffer of 2^21 target samples holds every ray whole (4096 rays x at most
   * NGP_MAX_SAMPLES_PER_RAY = 1024 samples <= the CUDA trainer's 2T kept, 8T marched, and the
   * CPU's 4T). */
  to.target_samples = 1u << 21;
  /* The CPU side is the reference: its MLPs multiply in fp32 (the tolerance is for the GPU's fp16
   * alone); it reads the hash table in fp16 as the GPU does (the default), so both see one table. */
  to.mlp_bf16 = false;
  ngp_nerf cn, gn;
  if (config) {
    /* configs/nerf/<config>.json at full size */
    const char *src = getenv("NGP_SOURCE_DIR");
    assert_non_null(src);
    char path[4096];
    snprintf(path, sizeof path, "%s/configs/nerf/%s.json", src, config);
    ngp_config cfg;
    if (ngp_config_load(path, &cfg, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(cfg.encoding.log2_hashmap_size, 19);
    assert_int_equal(ngp_nerf_init(&cn, &cfg, scene.aabb_scale, 42, 0, &err), NGP_OK);
    assert_int_equal(ngp_nerf_init(&gn, &cfg, scene.aabb_scale, 42, 0, &err), NGP_OK);
  } else {
    ngp_test_small_nerf(&cn, scene.aabb_scale, 0);
    ngp_test_small_nerf(&gn, scene.aabb_scale, 0);
  }
  assert_memory_equal(cn.params, gn.params, cn.n_params * sizeof(float));
  const size_t np = cn.n_params;
  float *gc = calloc(np, sizeof *gc), *gg = calloc(np, sizeof *gg);
  assert_true(gc && gg);

  ngp_trainer *ct;
  assert_int_equal(ngp_trainer_create(&ct, &cn, &scene, &to, &err), NGP_OK);
  ngp_trainer_capture_grads(ct, gc);
  ngp_step_stats cs, gs;
  assert_int_equal(ngp_trainer_step(ct, &cs, NULL), NGP_OK);
  ngp_cuda_trainer *gt;
  if (ngp_cuda_trainer_create(&gt, &gn, &scene, &to, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_cuda_trainer_capture_grads(gt, gg);
  if (ngp_cuda_trainer_step(gt, &gs, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(gs.step, -1); /* a step call reports the previous step: none */
  if (ngp_cuda_trainer_last_stats(gt, &gs, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(gs.step, 0);
  print_message("%s step 0: CPU %d rays, %u samples used, loss %.5f; GPU %d rays, %u used, loss %.5f\n", name,
                cs.n_rays, cs.n_samples_used, (double)cs.loss, gs.n_rays, gs.n_samples_used, (double)gs.loss);
  assert_int_equal(gs.n_rays, cs.n_rays);
  assert_false(cs.skipped || gs.skipped);
  assert_true(fabs((double)gs.loss - (double)cs.loss) <= 1e-2 * (double)cs.loss);

  compare_group(name, "hash table", gg + cn.off_grid, gc + cn.off_grid, np - cn.off_grid, 0.05, 0.05);
  compare_group(name, "density MLP", gg + cn.off_density, gc + cn.off_density, cn.density_mlp.n_params, 0.05, 0.05);
  compare_group(name, "colour MLP", gg + cn.off_rgb, gc + cn.off_rgb, cn.rgb_mlp.n_params, 0.05, 0.05);

  ngp_cuda_trainer_destroy(gt);
  ngp_trainer_destroy(ct);
  ngp_nerf_free(&gn);
  ngp_nerf_free(&cn);
  ngp_scene_free(&scene);
  ngp_scene_free(&test);
  free(gc), free(gg), free(dir);
}

static void test_step_gradients_small(void **state) {
  (void)state;
  step_gradients_case("small config", NULL);
}

static void test_step_gradients_default_full_size(void **state) {
  (void)state;
  step_gradients_case("base.json (the default: 8 levels x 4 features)", "base");
  step_gradients_case("paper.json (16 levels x 2 features)", "paper");
}

static void assert_stats_equal(const ngp_step_stats *a, const ngp_step_stats *b) {
  assert_int_equal(a->step, b->step);
  assert_true(a->loss == b->loss);
  assert_int_equal(a->n_rays, b->n_rays);
  assert_int_equal(a->n_samples, b->n_samples);
  assert_int_equal(a->n_samples_used, b->n_samples_used);
  assert_true(a->learning_rate == b->learning_rate);
  assert_int_equal(a->skipped, b->skipped);
  assert_true(a->t_march == b->t_march && a->t_forward == b->t_forward && a->t_composite == b->t_composite);
  assert_true(a->t_backward == b->t_backward && a->t_optimizer == b->t_optimizer && a->t_grid == b->t_grid);
}

/* The statistics one step late: step call k reports exactly what ngp_cuda_trainer_last_stats,
 * waiting for the device right after call k - 1, read for step k - 1 (the pinned slot of a step is
 * not overwritten before the next call has read it), across the occupancy updates (steps 0-16 on
 * instant-ngp's schedule); and the numbers are a real step's. */
static void test_stats_one_step_late(void **state) {
  (void)state;
  ngp_scene scene, test;
  char *dir = ngp_test_synth_scene("gpu_train_late", 24, 16, 2, 1, &scene, &test);
  ngp_error err;
  ngp_train_opts to;
  options(&to);
  ngp_nerf n;
  ngp_test_small_nerf(&n, scene.aabb_scale, 0);
  ngp_cuda_trainer *t;
  if (ngp_cuda_trainer_create(&t, &n, &scene, &to, &err) != NGP_OK) fail_msg("%s", err.msg);
  ngp_step_stats exact, late;
  if (ngp_cuda_trainer_last_stats(t, &exact, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(exact.step, -1); /* no step yet */
  enum { N = 24 };
  for (int k = 0; k < N; k++) {
    ngp_step_stats prev = exact;
    if (ngp_cuda_trainer_step(t, &late, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_stats_equal(&late, &prev); /* k = 0: both say "none" (-1) */
    if (ngp_cuda_trainer_last_stats(t, &exact, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(exact.step, k);
    assert_true(isfinite(exact.loss) && exact.loss > 0.0f);
    assert_true(exact.n_rays >= 256 && exact.n_samples_used > 0 && exact.n_samples_used <= exact.n_samples);
    assert_true(exact.t_march > 0.0 && exact.t_optimizer > 0.0);
  }
  /* the same run's numbers without the waits in between come one call late all the same */
  if (ngp_cuda_trainer_step(t, &late, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_stats_equal(&late, &exact);
  if (ngp_cuda_trainer_step(t, NULL, &err) != NGP_OK) fail_msg("%s", err.msg);
  if (ngp_cuda_trainer_step(t, &late, &err) != NGP_OK) fail_msg("%s", err.msg);
  assert_int_equal(late.step, N + 1);
  assert_true(late.n_rays >= 256 && late.n_samples_used > 0);
  ngp_cuda_trainer_destroy(t);
  ngp_nerf_free(&n);
  ngp_scene_free(&scene);
  ngp_scene_free(&test);
  free(dir);
}

/* The non-finite guard (trainer.c optimize on the CPU): a NaN weight in the colour MLP makes every
 * step's loss NaN; the steps are skipped and counted, and the training weights, Adam's moments
 * (seen through the weights of later steps) and the EMA stay exactly as they were. */
static void test_nonfinite_steps_skipped(void **state) {
  (void)state;
  ngp_scene scene, test;
  char *dir = ngp_test_synth_scene("gpu_train_nan", 24, 16, 2, 1, &scene, &test);
  ngp_error err;
  ngp_train_opts to;
  options(&to);
  ngp_nerf n;
  ngp_test_small_nerf(&n, scene.aabb_scale, 0);
  n.params[n.off_rgb + 3] = NAN;
  const size_t np = n.n_params;
  float *before = malloc(np * sizeof *before);
  assert_non_null(before);
  memcpy(before, n.params, np * sizeof *before);
  ngp_cuda_trainer *t;
  if (ngp_cuda_trainer_create(&t, &n, &scene, &to, &err) != NGP_OK) fail_msg("%s", err.msg);
  enum { N = 5 };
  for (int i = 0; i < N; i++) {
    ngp_step_stats st;
    if (ngp_cuda_trainer_step(t, &st, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(st.step, i - 1);
    assert_true(i == 0 || st.skipped);
    if (ngp_cuda_trainer_last_stats(t, &st, &err) != NGP_OK) fail_msg("%s", err.msg);
    assert_int_equal(st.step, i);
    assert_true(st.skipped);
    assert_false(isfinite(st.loss));
    assert_true(st.learning_rate > 0.0f); /* the rate it would have used, as the CPU reports */
  }
  int skipped = -1;
  assert_int_equal(ngp_cuda_trainer_skipped_steps(t, &skipped, &err), NGP_OK);
  assert_int_equal(skipped, N);
  if (ngp_cuda_trainer_sync_inference(t, &err) != NGP_OK) fail_msg("%s", err.msg);
  /* bit for bit: nothing was applied (the NaN compares unequal as a float, equal as bytes) */
  assert_memory_equal(n.params, before, np * sizeof *before);
  /* no optimizer step counted: the EMA read-out is the training weights themselves */
  assert_memory_equal(n.inference, before, np * sizeof *before);
  ngp_cuda_trainer_destroy(t);
  ngp_nerf_free(&n);
  ngp_scene_free(&scene);
  ngp_scene_free(&test);
  free(before), free(dir);
}

static void test_unsupported_config(void **state) {
  (void)state;
  /* A config the fused MLP cannot run: a clear error naming the network and the fix. */
  const char *wide = "{\"network\": {\"otype\": \"FullyFusedMLP\", \"n_neurons\": 128, \"n_hidden_layers\": 1},"
                     " \"encoding\": {\"otype\": \"HashGrid\", \"n_levels\": 4, \"log2_hashmap_size\": 12}}";
  ngp_config cfg;
  ngp_error err;
  assert_int_equal(ngp_config_parse(wide, strlen(wide), "wide", &cfg, &err), NGP_OK);
  char *dir = ngp_test_tmpdir("gpu_train_wide");
  ngp_synth_options so;
  ngp_synth_options_default(&so);
  so.width = so.height = 16;
  so.n_train = 2;
  so.n_test = 1;
  assert_int_equal(ngp_synth_write_scene(dir, &so, &err), NGP_OK);
  char *json = ngp_test_path(dir, "transforms_train.json");
  ngp_scene scene;
  assert_int_equal(ngp_scene_load(json, NULL, &scene, &err), NGP_OK);
  ngp_nerf n;
  assert_int_equal(ngp_nerf_init(&n, &cfg, scene.aabb_scale, 1, 0, &err), NGP_OK);
  ngp_train_opts to;
  options(&to);
  ngp_cuda_trainer *t = NULL;
  assert_int_equal(ngp_cuda_trainer_create(&t, &n, &scene, &to, &err), NGP_ERR_UNSUPPORTED);
  assert_null(t);
  assert_contains(err.msg, "network");
  assert_contains(err.msg, "--backend cpu");
  ngp_nerf_free(&n);
  ngp_scene_free(&scene);
  free(json), free(dir);
}

int main(void) {
  gpu_require_device("test_gpu_train");
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_parity_and_snapshot),
                                     cmocka_unit_test(test_step_gradients_small),
                                     cmocka_unit_test(test_step_gradients_default_full_size),
                                     cmocka_unit_test(test_nonfinite_steps_skipped),
                                     cmocka_unit_test(test_stats_one_step_late),
                                     cmocka_unit_test(test_unsupported_config)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
