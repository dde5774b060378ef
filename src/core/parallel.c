/* parallel.c: ngp_parallel_for over a persistent pool of pthreads.
 *
 * Each thread that calls ngp_parallel_for owns a pool of its own (thread-local), so the viewer's
 * training and rendering threads never wait for each other's jobs. A pool starts its workers on
 * first use, grows to the largest thread count asked of it, and keeps them waiting on a condition
 * variable between jobs; the pool ends with the thread that owns it. Work items are handed out one
 * at a time through an atomic counter, as before, so the split of work over threads is the same
 * whether a worker is new or reused. A nested call (fn calling ngp_parallel_for on the thread
 * whose pool is running the job) and a pool that cannot grow fall back to threads made for the
 * call. */
#define _POSIX_C_SOURCE 200809L
#include "core/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

int ngp_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* One job: items [0, n) handed out by `next` to threads 0 .. n_threads-1. */
typedef struct pf_job {
  atomic_int next;
  int n, n_threads;
  ngp_parallel_fn fn;
  void *user;
} pf_job;

static void pf_drain(pf_job *job, int thread_index) {
  for (;;) {
    int i = atomic_fetch_add(&job->next, 1);
    if (i >= job->n) break;
    job->fn(i, thread_index, job->user);
  }
}

/* ---- Threads made for one call: the fallback. */

typedef struct {
  pf_job *job;
  int thread_index;
} pf_once_arg;

static void *pf_once_run(void *arg) {
  pf_once_arg *a = arg;
  pf_drain(a->job, a->thread_index);
  return NULL;
}

static void run_with_new_threads(pf_job *job) {
  int n_threads = job->n_threads;
  pf_once_arg *args = calloc((size_t)n_threads, sizeof *args);
  pthread_t *tids = calloc((size_t)n_threads, sizeof *tids);
  int started = 0;
  if (args && tids) {
    for (int t = 1; t < n_threads; t++) {
      args[t].job = job;
      args[t].thread_index = t;
      if (pthread_create(&tids[t], NULL, pf_once_run, &args[t]) != 0) break;
      started = t;
    }
  }
  pf_drain(job, 0);
  for (int t = 1; t <= started; t++)
    pthread_join(tids[t], NULL);
  free(args);
  free(tids);
}

/* ---- The persistent pool. */

typedef struct pf_pool pf_pool;

typedef struct {
  pf_pool *pool;
  int thread_index;        /* 1 .. */
  unsigned long start_gen; /* the pool's generation when the worker was made: it waits for the next */
} pf_worker;

struct pf_pool {
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* a new job or quit */
  pthread_cond_t done_cv; /* the last worker finished the job */
  pthread_t *tids;        /* [cap]; index 0 unused */
  pf_worker **workers;    /* [cap]; each worker's own allocation, so the arrays may grow */
  int cap, n_workers;     /* workers 1 .. n_workers are running */
  unsigned long gen;      /* bumped for every job */
  int pending;            /* workers that have not finished the current job */
  bool quit, busy;
  pf_job *job;
};

static void *pool_worker(void *arg) {
  pf_worker *w = arg;
  pf_pool *p = w->pool;
  pthread_mutex_lock(&p->mu);
  unsigned long seen = w->start_gen;
  for (;;) {
    while (p->gen == seen && !p->quit)
      pthread_cond_wait(&p->work_cv, &p->mu);
    if (p->quit) break;
    seen = p->gen;
    pf_job *job = p->job;
    pthread_mutex_unlock(&p->mu);
    if (w->thread_index < job->n_threads) pf_drain(job, w->thread_index);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done_cv);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_destroy(void *arg) {
  pf_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  p->quit = true;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  for (int t = 1; t <= p->n_workers; t++) {
    pthread_join(p->tids[t], NULL);
    free(p->workers[t]);
  }
  pthread_cond_destroy(&p->work_cv);
  pthread_cond_destroy(&p->done_cv);
  pthread_mutex_destroy(&p->mu);
  free(p->tids);
  free(p->workers);
  free(p);
}

static pthread_key_t g_pool_key;
static bool g_pool_key_ok;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;

static void make_pool_key(void) { g_pool_key_ok = pthread_key_create(&g_pool_key, pool_destroy) == 0; }

/* The calling thread's pool, made on first use; NULL when it cannot be. */
static pf_pool *my_pool(void) {
  pthread_once(&g_pool_once, make_pool_key);
  if (!g_pool_key_ok) return NULL;
  pf_pool *p = pthread_getspecific(g_pool_key);
  if (p) return p;
  p = calloc(1, sizeof *p);
  if (!p) return NULL;
  if (pthread_mutex_init(&p->mu, NULL) != 0) {
    free(p);
    return NULL;
  }
  pthread_cond_init(&p->work_cv, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  if (pthread_setspecific(g_pool_key, p) != 0) {
    pool_destroy(p);
    return NULL;
  }
  return p;
}

/* Grows the pool to n_threads - 1 workers; false when it cannot (the pool stays usable with the
 * workers it has). Called by the owning thread between jobs; workers never read the arrays. */
static bool pool_grow(pf_pool *p, int n_threads) {
  int want = n_threads - 1;
  if (want <= p->n_workers) return true;
  if (want + 1 > p->cap) {
    int cap = want + 1;
    pthread_t *tids = realloc(p->tids, (size_t)cap * sizeof *tids);
    if (!tids) return false;
    p->tids = tids;
    pf_worker **workers = realloc(p->workers, (size_t)cap * sizeof *workers);
    if (!workers) return false;
    p->workers = workers;
    p->cap = cap;
  }
  while (p->n_workers < want) {
    int t = p->n_workers + 1;
    pf_worker *w = malloc(sizeof *w);
    if (!w) return false;
    pthread_mutex_lock(&p->mu);
    *w = (pf_worker){p, t, p->gen};
    pthread_mutex_unlock(&p->mu);
    if (pthread_create(&p->tids[t], NULL, pool_worker, w) != 0) {
      free(w);
      return false;
    }
    p->workers[t] = w;
    p->n_workers = t;
  }
  return true;
}

void ngp_parallel_for(int n, int n_threads, ngp_parallel_fn fn, void *user) {
  if (n <= 0) return;
  if (n_threads <= 0) n_threads = ngp_cpu_count();
  if (n_threads > n) n_threads = n;
  pf_job job;
  atomic_init(&job.next, 0);
  job.n = n;
  job.n_threads = n_threads;
  job.fn = fn;
  job.user = user;
  if (n_threads == 1) {
    pf_drain(&job, 0);
    return;
  }
  pf_pool *p = my_pool();
  if (!p || p->busy || !pool_grow(p, n_threads)) {
    run_with_new_threads(&job);
    return;
  }
  p->busy = true;
  pthread_mutex_lock(&p->mu);
  p->job = &job;
  p->pending = p->n_workers;
  p->gen++;
  pthread_cond_broadcast(&p->work_cv);
  pthread_mutex_unlock(&p->mu);
  pf_drain(&job, 0);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0)
    pthread_cond_wait(&p->done_cv, &p->mu);
  p->job = NULL;
  pthread_mutex_unlock(&p->mu);
  p->busy = false;
}
