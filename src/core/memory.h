/* memory.h (internal): what this process may allocate, so that a size that cannot fit is refused
 * before the allocation (with the sizes and what to lower) instead of ending in the kernel's
 * out-of-memory kill (exit 137, no message) or a machine that swaps itself to a halt. */
#ifndef NGP_CORE_MEMORY_H
#define NGP_CORE_MEMORY_H

#include <stdint.h>

#include "ngp/common.h"

/* Bytes this process may still allocate: the least of physical memory, the address-space and
 * data limits (ulimit -v, -d; prlimit) less what is mapped already, and the cgroup's memory.max.
 * *what (optional) says which limit binds ("of physical memory on this machine", "left under the
 * address-space limit (ulimit -v)", ...). */
uint64_t ngp_memory_limit(const char **what);
/* NGP_OK when `need` bytes fit ngp_memory_limit; else NGP_ERR_NOMEM with "SUBJECT needs X GiB,
 * more than the Y GiB WHAT: out of memory before it starts; HINT". */
ngp_status ngp_memory_check(uint64_t need, const char *subject, const char *hint, ngp_error *err);

#endif
