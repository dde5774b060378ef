/* parallel.c: ngp_parallel_for with C11 atomics and pthreads. */
#define _POSIX_C_SOURCE 200809L
#include "core/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

int ngp_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

typedef struct {
  atomic_int next;
  int n;
  ngp_parallel_fn fn;
  void *user;
} pf_shared;

typedef struct {
  pf_shared *shared;
  int thread_index;
} pf_worker;

static void *pf_run(void *arg) {
  pf_worker *w = arg;
  pf_shared *s = w->shared;
  for (;;) {
    int i = atomic_fetch_add(&s->next, 1);
    if (i >= s->n) break;
    s->fn(i, w->thread_index, s->user);
  }
  return NULL;
}

void ngp_parallel_for(int n, int n_threads, ngp_parallel_fn fn, void *user) {
  if (n <= 0) return;
  if (n_threads <= 0) n_threads = ngp_cpu_count();
  if (n_threads > n) n_threads = n;
  pf_shared s;
  atomic_init(&s.next, 0);
  s.n = n;
  s.fn = fn;
  s.user = user;
  pf_worker *workers = calloc((size_t)n_threads, sizeof *workers);
  pthread_t *tids = calloc((size_t)n_threads, sizeof *tids);
  int started = 0;
  if (workers && tids) {
    for (int t = 1; t < n_threads; t++) {
      workers[t].shared = &s;
      workers[t].thread_index = t;
      if (pthread_create(&tids[t], NULL, pf_run, &workers[t]) != 0) break;
      started = t;
    }
  }
  pf_worker self = {&s, 0};
  pf_run(&self);
  for (int t = 1; t <= started; t++)
    pthread_join(tids[t], NULL);
  free(workers);
  free(tids);
}
