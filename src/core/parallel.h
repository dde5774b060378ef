/* parallel.h (internal): a parallel-for over a persistent pool of pthreads (one pool per calling
 * thread, its workers kept between calls). Work items are handed out one at a time through an
 * atomic counter, so uneven items (images of different sizes) balance well. */
#ifndef NGP_CORE_PARALLEL_H
#define NGP_CORE_PARALLEL_H

#include "ngp/common.h"

/* Number of online processors (at least 1). */
int ngp_cpu_count(void);

/* Calls fn(i, thread_index, user) for i in [0, n) on up to n_threads threads (<= 0: all cores).
 * fn must be safe to run concurrently for different i; it may itself call ngp_parallel_for. Falls
 * back to the calling thread alone if threads cannot be created. */
typedef void (*ngp_parallel_fn)(int i, int thread_index, void *user);
void ngp_parallel_for(int n, int n_threads, ngp_parallel_fn fn, void *user);

#endif
