/* hashgrid.cu: hash encoding forward and backward (NGP-SPEC §2), one thread per (sample, level)
 * with the level in blockIdx.y, so a block's lookups stay in one level's table (as tiny-cuda-nn
 * does). The forward reads the fp32 table or its fp16 copy (the trainer's, kept by Adam: half the
 * bytes per lookup, as tiny-cuda-nn's half-precision grid), interpolating in fp32 either way; the
 * fp16 encoding is stored a half2 (two features) at a time where F is even. The backward scatters
 * w * dout into the fp32 gradient with atomics.
 * UNVERIFIED on a device: the sm_90 float4/float2 vector atomics (and their speed against scalar
 * ones) have never run. */
#include "cuda/cuda_common.cuh"
#include "cuda/hashgrid.h"
#include "common/ngp_encoding_math.h"

extern "C" ngp_status ngp_cuda_grid_from(ngp_cuda_grid *d, const ngp_hashgrid *g, ngp_error *err) {
  memset(d, 0, sizeof *d);
  if (g->n_levels > NGP_CUDA_MAX_LEVELS)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED, "encoding.n_levels: %d levels; the CUDA backend supports up to %d",
                         g->n_levels, NGP_CUDA_MAX_LEVELS);
  d->n_levels = g->n_levels;
  d->n_features = g->n_features;
  d->interpolation = (int)g->interpolation;
  for (int l = 0; l < g->n_levels; l++) {
    d->scale[l] = g->scale[l];
    d->res[l] = g->res[l];
    d->size[l] = g->size[l];
    d->offset[l] = g->offset[l];
    d->hashed[l] = g->hashed[l] ? 1 : 0;
  }
  return NGP_OK;
}

/* Grids are sized for the capacity (the live count is on the device), at most HASH_MAX_BLOCKS
 * blocks per level: the kernels loop over the samples with a grid stride, so a step with few live
 * samples launches a few thousand blocks instead of one per 128 samples of the capacity. */
enum { HASH_THREADS = 128, MAX_F = 8, HASH_MAX_BLOCKS = 4096 };

static unsigned hash_blocks(uint32_t items) {
  const unsigned b = ngp_cuda_blocks(items, HASH_THREADS);
  return b < (unsigned)HASH_MAX_BLOCKS ? b : (unsigned)HASH_MAX_BLOCKS;
}

/* Sample s (< round_up(n, 16)) at level l. params16: NULL, or the table in fp16 (read instead of
 * params; 4-byte aligned, as cudaMalloc gives). vec_ok: params is 16-byte aligned and F == 4.
 * half2_out: F and ld16 are even, so level l's F features of a row start 4-byte aligned. */
static __device__ __forceinline__ void hash_forward_sample(const ngp_cuda_grid &g, const float *params,
                                                           const __half *params16, uint32_t s, uint32_t n, int l,
                                                           const float *x, __half *out16, int ld16, float *out32,
                                                           int ld32, int vec_ok, int half2_out) {
  const int F = g.n_features, LF = g.n_levels * F, LF16 = (LF + 15) & ~15;
  if (s >= n) { /* whole-tile padding rows read by the fused MLP */
    if (out16)
      for (int f = 0; f < F; f++)
        out16[(size_t)s * ld16 + l * F + f] = __float2half(0.0f);
    if (out16 && l == 0)
      for (int c = LF; c < LF16; c++)
        out16[(size_t)s * ld16 + c] = __float2half(0.0f);
    return;
  }
  const float p[3] = {x[s * 3], x[s * 3 + 1], x[s * 3 + 2]};
  uint32_t idx[8];
  float w[8];
  const int nc = ngp_grid_corners(p, g.scale[l], g.res[l], g.size[l], g.hashed[l], g.interpolation, idx, w);
  float acc[MAX_F];
#pragma unroll
  for (int f = 0; f < MAX_F; f++)
    acc[f] = 0.0f;
  const float *table = params + (size_t)g.offset[l] * F;
  const __half *table16 = params16 ? params16 + (size_t)g.offset[l] * F : NULL;
  for (int k = 0; k < nc; k++) {
    /* forward: o[f] += w[k] * p[f], corners in order as the reference */
    if (table16) {
      const __half *e16 = table16 + (size_t)idx[k] * F;
      if ((F & 1) == 0) {
        /* entry e starts at half (offset + e) * F, F even: 4-byte aligned for half2 */
        const __half2 *e2 = (const __half2 *)e16;
#pragma unroll
        for (int f = 0; f < MAX_F; f += 2) {
          if (f >= F) break;
          const float2 v = __half22float2(__ldg(e2 + f / 2));
          acc[f] += w[k] * v.x;
          acc[f + 1] += w[k] * v.y;
        }
      } else {
#pragma unroll
        for (int f = 0; f < MAX_F; f++)
          if (f < F) acc[f] += w[k] * __half2float(__ldg(e16 + f));
      }
      continue;
    }
    const float *e = table + (size_t)idx[k] * F;
    if (vec_ok && F == 4) {
      const float4 v = __ldg((const float4 *)e);
      acc[0] += w[k] * v.x;
      acc[1] += w[k] * v.y;
      acc[2] += w[k] * v.z;
      acc[3] += w[k] * v.w;
    } else {
#pragma unroll
      for (int f = 0; f < MAX_F; f++)
        if (f < F) acc[f] += w[k] * __ldg(e + f);
    }
  }
  if (out16 && half2_out) {
    /* (s * ld16 + l * F) is even: one 4-byte store per two features */
    __half2 *o2 = (__half2 *)(out16 + (size_t)s * ld16 + l * F);
#pragma unroll
    for (int f = 0; f < MAX_F; f += 2) {
      if (f >= F) break;
      o2[f / 2] = __halves2half2(ngp_half_sat(acc[f]), ngp_half_sat(acc[f + 1]));
    }
  }
#pragma unroll
  for (int f = 0; f < MAX_F; f++) {
    if (f >= F) break;
    if (out16 && !half2_out) out16[(size_t)s * ld16 + l * F + f] = ngp_half_sat(acc[f]);
    if (out32) out32[(size_t)s * ld32 + l * F + f] = acc[f];
  }
  if (out16 && l == 0)
    for (int c = LF; c < LF16; c++)
      out16[(size_t)s * ld16 + c] = __float2half(0.0f);
}

__global__ void hash_forward_kernel(ngp_cuda_grid g, const float *params, const __half *params16,
                                    const uint32_t *d_count, uint32_t max, const float *x, __half *out16, int ld16,
                                    float *out32, int ld32, int vec_ok, int half2_out) {
  const uint32_t n = ngp_dev_count(d_count, max), n16 = (n + 15u) & ~15u;
  for (uint32_t s = ngp_thread_index(); s < n16; s += gridDim.x * blockDim.x)
    hash_forward_sample(g, params, params16, s, n, (int)blockIdx.y, x, out16, ld16, out32, ld32, vec_ok, half2_out);
}

/* Sample s (< n) at level l. */
static __device__ __forceinline__ void hash_backward_sample(const ngp_cuda_grid &g, uint32_t s, int l, const float *x,
                                                            const float *dout, int ld, float *dparams, int vec_ok) {
  const int F = g.n_features;
  float d[MAX_F];
  bool any = false;
#pragma unroll
  for (int f = 0; f < MAX_F; f++) {
    d[f] = f < F ? dout[(size_t)s * ld + l * F + f] : 0.0f;
    any |= d[f] != 0.0f;
  }
  if (!any) return; /* nothing to add (samples past a ray's end, untouched levels) */
  const float p[3] = {x[s * 3], x[s * 3 + 1], x[s * 3 + 2]};
  uint32_t idx[8];
  float w[8];
  const int nc = ngp_grid_corners(p, g.scale[l], g.res[l], g.size[l], g.hashed[l], g.interpolation, idx, w);
  float *table = dparams + (size_t)g.offset[l] * F;
  for (int k = 0; k < nc; k++) {
    float *e = table + (size_t)idx[k] * F;
    /* forward: o[f] += w[k] * p[f]  =>  dp[f] += w[k] * do[f] */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (vec_ok && F == 4) {
      atomicAdd((float4 *)e, make_float4(w[k] * d[0], w[k] * d[1], w[k] * d[2], w[k] * d[3]));
      continue;
    }
    if (vec_ok && F == 2) {
      atomicAdd((float2 *)e, make_float2(w[k] * d[0], w[k] * d[1]));
      continue;
    }
#endif
#pragma unroll
    for (int f = 0; f < MAX_F; f++)
      if (f < F) atomicAdd(e + f, w[k] * d[f]);
  }
}

__global__ void hash_backward_kernel(ngp_cuda_grid g, const uint32_t *d_count, uint32_t max, const float *x,
                                     const float *dout, int ld, float *dparams, int vec_ok) {
  const uint32_t n = ngp_dev_count(d_count, max);
  for (uint32_t s = ngp_thread_index(); s < n; s += gridDim.x * blockDim.x)
    hash_backward_sample(g, s, (int)blockIdx.y, x, dout, ld, dparams, vec_ok);
}

extern "C" void ngp_hashgrid_forward_cuda(const ngp_cuda_grid *g, const float *params, const ngp_half *params16,
                                          const uint32_t *d_count, uint32_t max, const float *x, ngp_half *out16,
                                          int ld16, float *out32, int ld32, ngp_stream stream) {
  if (max == 0) return;
  const int F = g->n_features;
  /* float4 loads need 16-byte aligned entries: F == 4 and an aligned table; scalar loads otherwise. */
  const int vec_ok = F == 4 && ((uintptr_t)params & 15u) == 0;
  /* half2 loads of the fp16 table need F even and a 4-byte aligned table (each entry then is);
   * otherwise the fp32 table is read (params is always given). */
  if (params16 && (F & 1) == 0 && ((uintptr_t)params16 & 3u) != 0) params16 = NULL;
  /* half2 stores: F and ld16 even, out16 4-byte aligned. */
  const int half2_out = out16 && (F & 1) == 0 && (ld16 & 1) == 0 && ((uintptr_t)out16 & 3u) == 0;
  dim3 grid(hash_blocks(ngp_round_up(max, 16)), (unsigned)g->n_levels);
  hash_forward_kernel<<<grid, HASH_THREADS, 0, stream>>>(*g, params, (const __half *)params16, d_count, max, x,
                                                         (__half *)out16, ld16, out32, ld32, vec_ok, half2_out);
}

extern "C" void ngp_hashgrid_backward_cuda(const ngp_cuda_grid *g, const uint32_t *d_count, uint32_t max,
                                           const float *x, const float *dout, int ld, float *dparams,
                                           ngp_stream stream) {
  if (max == 0) return;
  const int F = g->n_features;
  const int vec_ok = (F == 2 || F == 4) && ((uintptr_t)dparams % (uintptr_t)(F * sizeof(float))) == 0;
  dim3 grid(hash_blocks(max), (unsigned)g->n_levels);
  hash_backward_kernel<<<grid, HASH_THREADS, 0, stream>>>(*g, d_count, max, x, dout, ld, dparams, vec_ok);
}
