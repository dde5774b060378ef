/* cuda/scan.h (internal): exclusive prefix sums of uint32 counts on the device, the offsets of
 * instant-ngp's two-pass compaction (count per ray, prefix sum, write per ray). */
#ifndef NGP_CUDA_SCAN_H
#define NGP_CUDA_SCAN_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Elements per block of the first pass; max / NGP_SCAN_BLOCK blocks' sums are scanned by one block. */
#define NGP_SCAN_BLOCK 1024

/* uint32 scratch elements ngp_scan_exclusive_cuda needs for up to max items. */
size_t ngp_scan_tmp_elems(uint32_t max);

/* out[i] = in[0] + ... + in[i-1] for i < n, n = min(*d_count, max) (max without d_count), and
 * *d_total = the sum of all n (may be NULL). out may alias in. tmp: ngp_scan_tmp_elems(max)
 * elements. Sums wrap modulo 2^32 (the callers' totals are far below). */
void ngp_scan_exclusive_cuda(const uint32_t *in, uint32_t *out, const uint32_t *d_count, uint32_t max,
                             uint32_t *d_total, uint32_t *tmp, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
