/* session.c: loading a model and a scene, choosing the backend, training steps and saving; the
 * part of a run that the headless path (run.c) and the viewer share. */
#define _POSIX_C_SOURCE 200809L
#include "session.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "fs.h"
#include "mlp.h"
#include "ngp/ngp.h"
#include "parallel.h"
#ifdef NGP_HAVE_CUDA
#include "ngp_cuda.h"
#endif

extern const char ngp_default_config_json[];
extern const size_t ngp_default_config_json_len;

static volatile sig_atomic_t g_interrupt = 0;

static void on_interrupt(int sig) {
  if (g_interrupt) {
    /* The second interrupt: leave now. Only async-signal-safe calls here. */
    static const char msg[] = "\ninstant-ngp: interrupted again: exiting at once (existing files untouched)\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
    ngp_fs_remove_pending();
    _exit(NGP_EXIT_INTERRUPTED);
  }
  g_interrupt = sig;
}

void ngp_app_catch_interrupts(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int ngp_app_interrupted(void) { return (int)g_interrupt; }

int ngp_app_fail(const char *msg) {
  fprintf(stderr, "instant-ngp: error: %s\n", msg);
  return NGP_EXIT_FAILURE;
}

static ngp_status load_config(const ngp_cli *cli, ngp_config *cfg, char *label, size_t n, ngp_error *err) {
  if (!cli->config) {
    snprintf(label, n, "base.json (built in)");
    return ngp_config_parse(ngp_default_config_json, ngp_default_config_json_len, "base.json (built in)", cfg, err);
  }
  char *path = ngp_cli_find_config(cli->config);
  if (!path)
    return ngp_error_set(err, NGP_ERR_IO, "%s: config not found (looked as given, in $NGP_CONFIG_DIR and in the "
                                          "installed configs/nerf folder)", cli->config);
  snprintf(label, n, "%s", path);
  ngp_status st = ngp_config_load(path, cfg, err);
  free(path);
  return st;
}

/* --backend: cpu as asked; cuda or an error saying why not; auto: cuda when a usable device is
 * there, else the CPU, saying which and why. */
static int choose_backend(ngp_session *s, ngp_backend_choice want) {
  char why[2048] = "this build has no CUDA backend (configured without CUDA)";
  bool cuda = false;
#ifdef NGP_HAVE_CUDA
  int device = -1;
  if (want != NGP_BACKEND_CPU) cuda = ngp_cuda_select_device(&device, why, sizeof why) == NGP_OK;
#endif
  if (want == NGP_BACKEND_CUDA && !cuda) {
    char msg[2200];
    snprintf(msg, sizeof msg, "--backend cuda: %s", why);
    return ngp_app_fail(msg);
  }
  if (cuda) {
    s->backend = NGP_BACKEND_CUDA;
#ifdef NGP_HAVE_CUDA
    char desc[512];
    ngp_cuda_device_describe(desc, sizeof desc);
    printf("backend: cuda (%s): %s\n", want == NGP_BACKEND_AUTO ? "auto: a usable device is present" : "as asked", desc);
#endif
    return NGP_EXIT_OK;
  }
  s->backend = NGP_BACKEND_CPU;
  printf("backend: cpu (%s%s), %d thread%s, SIMD %s\n", want == NGP_BACKEND_AUTO ? "auto: " : "as asked",
         want == NGP_BACKEND_AUTO ? why : "", s->threads, s->threads == 1 ? "" : "s", ngp_simd_level());
  return NGP_EXIT_OK;
}

int ngp_session_open(ngp_session *s, const ngp_cli *cli, bool train) {
  memset(s, 0, sizeof *s);
  ngp_error err;
  s->threads = cli->threads > 0 ? cli->threads : ngp_cpu_count();
  if (choose_backend(s, cli->backend) != NGP_EXIT_OK) return NGP_EXIT_FAILURE;
  s->seed = cli->has_seed ? cli->seed : 1337;
  s->bg[0] = s->bg[1] = s->bg[2] = 1.0f;
  if (cli->has_background) memcpy(s->bg, cli->background, sizeof s->bg);
  s->spp = cli->spp > 0 ? cli->spp : 1;
  s->meta = (ngp_snapshot_meta){0, 0.33f, {0.5f, 0.5f, 0.5f}, 0.0f};

  if (cli->load_snapshot) {
    if (ngp_snapshot_load(cli->load_snapshot, &s->nerf, &s->meta, s->threads, &err) != NGP_OK)
      return ngp_app_fail(err.msg);
    printf("snapshot: %s (step %d)\n", cli->load_snapshot, s->meta.training_step);
    snprintf(s->config_label, sizeof s->config_label, "from %s", cli->load_snapshot);
    s->have_model = true;
  }
  if (!cli->scene || !train) {
    if (!s->have_model) return ngp_app_fail("nothing to do: give a scene to train on, or a snapshot to render");
    return NGP_EXIT_OK;
  }
  ngp_scene_options so;
  ngp_scene_options_default(&so);
  so.n_threads = s->threads;
  double t0 = ngp_seconds();
  int rc = NGP_EXIT_OK;
  if (ngp_scene_load(cli->scene, &so, &s->scene, &err) != NGP_OK) {
    rc = ngp_app_fail(err.msg);
    goto fail;
  }
  s->have_scene = true;
  printf("scene: %s: %d frames (%d skipped), %dx%d, aabb_scale %d, loaded in %.1f s\n", cli->scene, s->scene.n_frames,
         s->scene.n_skipped, s->scene.frames[0].image.width, s->scene.frames[0].image.height, s->scene.aabb_scale,
         ngp_seconds() - t0);
  for (int i = 0; i < s->scene.n_sources; i++) printf("  loaded:     %s\n", s->scene.sources[i]);
  for (int i = 0; i < s->scene.n_ignored; i++) printf("  not loaded: %s\n", s->scene.ignored[i]);
  if (!s->have_model) {
    ngp_config cfg;
    if (load_config(cli, &cfg, s->config_label, sizeof s->config_label, &err) != NGP_OK ||
        ngp_nerf_init(&s->nerf, &cfg, s->scene.aabb_scale, s->seed, s->threads, &err) != NGP_OK) {
      rc = ngp_app_fail(err.msg);
      goto fail;
    }
    s->have_model = true;
    printf("config: %s (%zu parameters)\n", s->config_label, s->nerf.n_params);
  } else if (s->nerf.aabb_scale != s->scene.aabb_scale) {
    rc = ngp_app_fail("the snapshot was trained with another aabb_scale than this scene's");
    goto fail;
  }
  s->meta.scale = s->scene.scale;
  memcpy(s->meta.offset, s->scene.offset, sizeof s->meta.offset);
  ngp_train_opts to;
  ngp_train_opts_default(&to);
  to.seed = s->seed;
  to.n_threads = s->threads;
  if (cli->batch_samples > 0) to.target_samples = (uint32_t)cli->batch_samples;
  ngp_status st;
#ifdef NGP_HAVE_CUDA
  if (s->backend == NGP_BACKEND_CUDA) {
    to.grid_sample_fraction = 1.0f; /* instant-ngp's occupancy sample counts: cheap on a GPU */
    st = ngp_cuda_trainer_create(&s->cuda_trainer, &s->nerf, &s->scene, &to, &err);
    if (st != NGP_OK) s->cuda_trainer = NULL;
  } else
#endif
  {
    st = ngp_trainer_create(&s->trainer, &s->nerf, &s->scene, &to, &err);
    if (st != NGP_OK) s->trainer = NULL;
  }
  if (st != NGP_OK) {
    rc = ngp_app_fail(err.msg);
    goto fail;
  }
  return NGP_EXIT_OK;
fail:
  ngp_session_close(s);
  return rc;
}

bool ngp_session_can_train(const ngp_session *s) { return (s->trainer || s->cuda_trainer) && !s->step_failed; }

bool ngp_session_step(ngp_session *s, ngp_step_stats *st) {
#ifdef NGP_HAVE_CUDA
  if (s->cuda_trainer) {
    ngp_error err;
    if (ngp_cuda_trainer_step(s->cuda_trainer, st, &err) != NGP_OK) {
      ngp_app_fail(err.msg);
      s->step_failed = true;
      return false;
    }
  } else
#endif
    ngp_trainer_step(s->trainer, st);
  s->meta.training_step++;
  if (st->skipped)
    s->skipped_steps++;
  else
    s->meta.loss = st->loss;
  return true;
}

bool ngp_session_render(ngp_session *s, const float *xform, const float focal[2], const float principal[2],
                        const ngp_lens *lens, const ngp_render_opts *o, float *rgb) {
#ifdef NGP_HAVE_CUDA
  if (s->backend == NGP_BACKEND_CUDA) {
    ngp_error err;
    if (ngp_cuda_render(&s->nerf, s->nerf.inference, xform, focal, principal, lens, o, rgb, &err) != NGP_OK) {
      ngp_app_fail(err.msg);
      return false;
    }
    return true;
  }
#endif
  ngp_nerf_render(&s->nerf, s->nerf.inference, xform, focal, principal, lens, o, rgb);
  return true;
}

void ngp_session_sync(ngp_session *s) {
#ifdef NGP_HAVE_CUDA
  if (s->cuda_trainer) {
    ngp_error err;
    if (ngp_cuda_trainer_sync_inference(s->cuda_trainer, &err) != NGP_OK) ngp_app_fail(err.msg);
  }
#endif
  if (s->trainer) ngp_trainer_sync_inference(s->trainer);
}

int ngp_session_save(ngp_session *s, const char *path) {
  ngp_error err;
  ngp_session_sync(s);
  char *parent = ngp_path_dirname(path);
  ngp_status st = parent ? ngp_mkdir_p(parent, &err) : ngp_error_set(&err, NGP_ERR_NOMEM, "out of memory");
  free(parent);
  if (st != NGP_OK || ngp_snapshot_save(path, &s->nerf, s->nerf.inference, &s->meta, &err) != NGP_OK)
    return ngp_app_fail(err.msg);
  printf("snapshot saved: %s (step %d)\n", path, s->meta.training_step);
  return NGP_EXIT_OK;
}

void ngp_session_close(ngp_session *s) {
#ifdef NGP_HAVE_CUDA
  if (s->cuda_trainer) ngp_cuda_trainer_destroy(s->cuda_trainer);
#endif
  s->cuda_trainer = NULL;
  if (s->trainer) ngp_trainer_destroy(s->trainer);
  if (s->have_scene) ngp_scene_free(&s->scene);
  if (s->have_model) ngp_nerf_free(&s->nerf);
  s->trainer = NULL;
  s->have_scene = s->have_model = false;
}
