/* memory.c: the memory a process may use (memory.h). Linux: sysconf, getrlimit, /proc/self/statm
 * and cgroup v2's memory.max; elsewhere physical memory and the rlimits only. */
#define _POSIX_C_SOURCE 200809L
#include "core/memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

/* Bytes mapped now (the first field of /proc/self/statm, in pages); 0 when unknown. */
static uint64_t mapped_now(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long pages = 0;
  int ok = fscanf(f, "%llu", &pages);
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return ok == 1 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

/* cgroup v2: the memory.max of this process's group ("max" or absent: no limit). */
static uint64_t cgroup_max(void) {
  FILE *f = fopen("/sys/fs/cgroup/memory.max", "r");
  if (!f) return UINT64_MAX;
  unsigned long long v = 0;
  int ok = fscanf(f, "%llu", &v);
  fclose(f);
  return ok == 1 ? (uint64_t)v : UINT64_MAX;
}

uint64_t ngp_memory_limit(const char **what) {
  uint64_t best = UINT64_MAX;
  const char *name = "no known limit";
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) {
    best = (uint64_t)pages * (uint64_t)page;
    name = "of physical memory on this machine";
  }
  struct rlimit rl;
  uint64_t mapped = mapped_now();
  if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    uint64_t left = (uint64_t)rl.rlim_cur > mapped ? (uint64_t)rl.rlim_cur - mapped : 0;
    if (left < best) {
      best = left;
      name = "left under the address-space limit (ulimit -v)";
    }
  }
#ifdef RLIMIT_DATA
  if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && (uint64_t)rl.rlim_cur < best) {
    best = (uint64_t)rl.rlim_cur;
    name = "under the data-size limit (ulimit -d)";
  }
#endif
  uint64_t cg = cgroup_max();
  if (cg < best) {
    best = cg;
    name = "under this control group's memory.max";
  }
  if (what) *what = name;
  return best;
}

ngp_status ngp_memory_check(uint64_t need, const char *subject, const char *hint, ngp_error *err) {
  const char *what = NULL;
  uint64_t limit = ngp_memory_limit(&what);
  if (need <= limit) return NGP_OK;
  return ngp_error_set(err, NGP_ERR_NOMEM,
                       "%s needs %.2f GiB, more than the %.2f GiB %s: out of memory before it starts; %s", subject,
                       (double)need / 1073741824.0, (double)limit / 1073741824.0, what, hint);
}
