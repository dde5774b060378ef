/* app.c: signals, the error line and the command line's session options (app.h). */
#define _POSIX_C_SOURCE 200809L
#include "app/app.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"

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

void ngp_app_session_opts(const ngp_cli *cli, bool train, ngp_session_opts *o) {
  ngp_session_opts_default(o);
  o->scene = cli->scene;
  o->snapshot = cli->load_snapshot;
  o->config = cli->config;
  o->backend = cli->backend == NGP_BACKEND_CPU ? "cpu" : cli->backend == NGP_BACKEND_CUDA ? "cuda" : "auto";
  o->threads = cli->threads;
  if (cli->has_seed) o->seed = cli->seed;
  if (cli->has_background) memcpy(o->bg, cli->background, sizeof o->bg);
  o->transparent = cli->transparent;
  if (cli->spp > 0) o->spp = cli->spp;
  o->batch_samples = cli->batch_samples;
  o->train = train;
}
