/* clock.h (internal): wall time for progress lines, budgets and benchmarks. */
#ifndef NGP_CORE_CLOCK_H
#define NGP_CORE_CLOCK_H

/* Seconds on the monotonic clock (arbitrary origin; only differences mean something). */
double ngp_seconds(void);

#endif
