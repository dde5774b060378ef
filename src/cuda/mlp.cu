/* mlp.cu: the fused MLPs (forward, backward, weight gradients) on tensor cores through WMMA
 * (16x16x16 tiles, fp16 operands, fp32 accumulators). See cuda_mlp.h for the precision and the
 * structure; shapes: S samples, widths padded to multiples of 16, at most 64.
 *
 * Layouts: activations are sample-major [S][pdim] fp16 (a strip of 16 samples is a row-major
 * 16 x pdim matrix). Layer l's weights W_l are [pout][pin] row-major (the CPU layout, padded), so
 *   forward  Y = X W^T: B = W^T, i.e. W read as a column-major [pin][pout] matrix;
 *   backward dX = dZ W: B = W, row-major [pout][pin];
 *   weights  dW = dZ^T X: A = dZ^T, i.e. dZ read as a column-major [pout][S] matrix.
 * Hidden layers apply the activation (forward) or its derivative (backward, times the stored
 * activation loaded as a fragment) on the fp32 accumulator fragments themselves, round them into
 * fp16 accumulator fragments and store those straight to the shared strip: no fp32 round trip.
 * This needs the fp32 and fp16 accumulator fragments to hold the same matrix element at the same
 * index, which the WMMA API does not promise: each warp checks it once per launch
 * (frag_layouts_match) and otherwise takes the general path, which stores the accumulator to a
 * per-warp fp32 scratch tile and applies the same formulas there (as the output layer always
 * does: it writes fp32 outputs with column bounds). Both paths compute the same values with the
 * shared formulas of ngp_activation.h.
 *
 * UNVERIFIED on a device: the tile layouts above, the shared-memory plan and test_gpu_mlp's
 * tolerances were written without a GPU (they compile for sm_75..sm_90 and have never run). */
#include <stdio.h>
#include <mma.h>
#include <string.h>

#include "cuda/cuda_common.cuh"
#include "cuda/mlp.h"
#include "common/ngp_activation.h"

using namespace nvcuda;

enum {
  MLP_WARPS = 4,
  MLP_THREADS = MLP_WARPS * 32,
  MLP_STRIPS = 4,                                  /* strips of 16 samples per warp per block */
  MLP_BLOCK_SAMPLES = MLP_WARPS * MLP_STRIPS * 16, /* 256 */
  ACT_LD = NGP_CUDA_MLP_MAX_DIM + 8,               /* fp16 per strip row (+8: fewer bank conflicts) */
  MAX_TILES = NGP_CUDA_MLP_MAX_DIM / 16,           /* 4 */
  WG_CHUNK = 2048,                                 /* samples per chunk of the weight-gradient GEMM */
  WG_MAX_BLOCKS = 128, /* its blocks per layer (grid stride over the chunks): the partial sums' count */
};

/* ---- Layout ------------------------------------------------------------------------------------- */

static int pad16(int v) { return (v + 15) / 16 * 16; }

extern "C" ngp_status ngp_cuda_mlp_from(ngp_cuda_mlp *d, const ngp_mlp *m, const char *what, ngp_error *err) {
  memset(d, 0, sizeof *d);
  if (m->n_layers > NGP_CUDA_MLP_MAX_LAYERS)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "%s.n_hidden_layers: %d; the CUDA backend's fused MLP supports at most %d hidden layers; use "
                         "--backend cpu or fewer layers",
                         what, m->n_hidden_layers, NGP_CUDA_MLP_MAX_LAYERS - 1);
  for (int l = 0; l <= m->n_layers; l++)
    if (m->dims[l] > NGP_CUDA_MLP_MAX_DIM)
      return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                           "%s: a layer of width %d; the CUDA backend's fused MLP supports widths up to %d (inputs, "
                           "n_neurons and outputs); use --backend cpu or n_neurons 64",
                           what, m->dims[l], NGP_CUDA_MLP_MAX_DIM);
  if (m->activation == NGP_ACT_SINE || m->output_activation == NGP_ACT_SINE)
    return ngp_error_set(err, NGP_ERR_UNSUPPORTED,
                         "%s: Sine activations are not supported by the CUDA backend; use --backend cpu or another "
                         "activation",
                         what);
  d->n_layers = m->n_layers;
  d->activation = (int)m->activation;
  d->output_activation = (int)m->output_activation;
  uint32_t h = 0, a = 0;
  for (int l = 0; l <= m->n_layers; l++) {
    d->dims[l] = m->dims[l];
    d->pdims[l] = pad16(m->dims[l]);
  }
  for (int l = 0; l < m->n_layers; l++) {
    d->w_off[l] = (uint32_t)m->weight_offset[l];
    d->h_off[l] = h;
    d->acts_off[l] = a;
    h += (uint32_t)(d->pdims[l + 1] * d->pdims[l]);
    a += (uint32_t)d->pdims[l + 1];
  }
  d->w_off[m->n_layers] = (uint32_t)m->weight_offset[m->n_layers];
  d->h_off[m->n_layers] = h;
  d->acts_off[m->n_layers] = a;
  return NGP_OK;
}

extern "C" size_t ngp_cuda_mlp_half_count(const ngp_cuda_mlp *d) { return d->h_off[d->n_layers]; }
extern "C" size_t ngp_cuda_mlp_acts_per_sample(const ngp_cuda_mlp *d) { return d->acts_off[d->n_layers]; }

__global__ void weights_to_half_kernel(ngp_cuda_mlp d, const float *params, __half *w16) {
  const uint32_t e = ngp_thread_index();
  if (e >= d.h_off[d.n_layers]) return;
  int l = 0;
  while (e >= d.h_off[l + 1])
    l++;
  const uint32_t k = e - d.h_off[l], pin = (uint32_t)d.pdims[l];
  const uint32_t o = k / pin, i = k % pin;
  float v = 0.0f;
  if (o < (uint32_t)d.dims[l + 1] && i < (uint32_t)d.dims[l]) v = params[d.w_off[l] + o * (uint32_t)d.dims[l] + i];
  w16[e] = ngp_half_sat(v);
}

extern "C" void ngp_mlp_weights_to_half_cuda(const ngp_cuda_mlp *d, const float *params, ngp_half *w16,
                                             ngp_stream stream) {
  const uint32_t n = d->h_off[d->n_layers];
  weights_to_half_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(*d, params,
                                                                                                (__half *)w16);
}

/* ---- Shared memory of the fused kernels ---------------------------------------------------------- */

/* [weights: each layer's pout rows of pin + W_PAD fp16, rounded up to 128 bytes][per warp: a
 * 16 x ACT_LD fp16 strip][per warp: a 16 x 16 fp32 scratch tile]. The weight rows are padded as
 * the strips are: with pin = 64 every row would start in the same bank and a fragment load of 16
 * rows would conflict 8 ways; 16 bytes more per row spread them. The global fp16 copy (w16) stays
 * unpadded. Alignment: layer offsets and row strides are multiples of 16 fp16 (32 bytes, as wmma
 * loads need) resp. 8 (16 bytes). */
enum { W_PAD = 8 };
static __host__ __device__ uint32_t smem_w_off(const ngp_cuda_mlp &d, int l) {
  uint32_t o = 0;
  for (int j = 0; j < l; j++)
    o += (uint32_t)d.pdims[j + 1] * (uint32_t)(d.pdims[j] + W_PAD);
  return o;
}
static __host__ __device__ size_t weights_bytes(const ngp_cuda_mlp &d) {
  return ((size_t)smem_w_off(d, d.n_layers) * 2 + 127) / 128 * 128;
}
static size_t fused_smem_bytes(const ngp_cuda_mlp *d) {
  return weights_bytes(*d) + (size_t)MLP_WARPS * 16 * ACT_LD * 2 + (size_t)MLP_WARPS * 256 * 4;
}

/* Copies all layers' fp16 weights into shared memory with the padded rows (16-byte vectors; a
 * layer has a multiple of 256 weights, a row a multiple of 16, so a vector never crosses a row). */
static __device__ void load_weights(const ngp_cuda_mlp &d, const __half *w16, __half *w_s) {
  const uint32_t n_vec = d.h_off[d.n_layers] / 8;
  const uint4 *src = (const uint4 *)w16;
  for (uint32_t i = threadIdx.x; i < n_vec; i += blockDim.x) {
    const uint32_t e = i * 8;
    int l = 0;
    while (e >= d.h_off[l + 1])
      l++;
    const uint32_t pin = (uint32_t)d.pdims[l], k = e - d.h_off[l], o = k / pin, c = k % pin;
    *(uint4 *)(w_s + smem_w_off(d, l) + o * (pin + W_PAD) + c) = src[i];
  }
}

/* Loads a strip (16 rows from row0, pdim columns) of a global fp16 matrix into the warp's strip
 * buffer; rows at or past `rows` become zero. */
static __device__ void load_strip(const __half *src, int ld, uint32_t row0, uint32_t rows, int pdim, __half *strip,
                                  int lane) {
  const int vec_per_row = pdim / 8;
  for (int v = lane; v < 16 * vec_per_row; v += 32) {
    const int r = v / vec_per_row, c = (v % vec_per_row) * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (row0 + (uint32_t)r < rows) val = *(const uint4 *)(src + (size_t)(row0 + r) * ld + c);
    *(uint4 *)(strip + r * ACT_LD + c) = val;
  }
}

typedef wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc_frag;
typedef wmma::fragment<wmma::accumulator, 16, 16, 16, __half> half_acc_frag;

/* Whether element i of an fp32 and of an fp16 accumulator fragment are the same matrix element on
 * this device, for every i (then an element-wise map from one to the other is position-exact).
 * Loads the matrix m[r][c] = 16 r + c (exact in fp16) into both kinds, through the warp's fp32
 * scratch tile and its fp16 strip, and compares. Warp-uniform; the buffers are free afterwards. */
static __device__ bool frag_layouts_match(float *scr, __half *strip, int lane) {
  for (int i = lane; i < 256; i += 32) {
    scr[i] = (float)i;
    strip[(i / 16) * ACT_LD + i % 16] = __float2half_rn((float)i);
  }
  __syncwarp();
  acc_frag f;
  half_acc_frag h;
  wmma::load_matrix_sync(f, scr, 16, wmma::mem_row_major);
  wmma::load_matrix_sync(h, strip, ACT_LD, wmma::mem_row_major);
  bool same = f.num_elements == h.num_elements;
#pragma unroll
  for (int i = 0; i < f.num_elements; i++)
    if (i < h.num_elements) same &= f.x[i] == __half2float(h.x[i]);
  __syncwarp();
  return __all_sync(0xffffffffu, same);
}

__global__ void frag_probe_kernel(int *out) {
  __shared__ __align__(128) float scr[256];
  __shared__ __align__(128) __half strip[16 * ACT_LD];
  const bool same = frag_layouts_match(scr, strip, (int)threadIdx.x);
  if (threadIdx.x == 0) *out = same ? 1 : 0;
}

extern "C" int ngp_mlp_fragment_path_cuda(void) {
  int *d = NULL, h = -1;
  if (cudaMalloc((void **)&d, sizeof *d) != cudaSuccess) {
    (void)cudaGetLastError();
    return -1;
  }
  frag_probe_kernel<<<1, 32>>>(d);
  if (cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost) != cudaSuccess) h = -1;
  (void)cudaFree(d);
  (void)cudaGetLastError();
  return h;
}

/* 16 rows of pdim fp16 columns from the warp's strip to dst (row-major, ld = pdim, 16-byte aligned
 * rows): consecutive lanes write consecutive 16-byte pieces of a row. */
static __device__ void store_strip(const __half *strip, int pdim, __half *dst, int lane) {
  const int vec_per_row = pdim / 8;
  for (int v = lane; v < 16 * vec_per_row; v += 32) {
    const int r = v / vec_per_row, c = (v % vec_per_row) * 8;
    *(uint4 *)(dst + (size_t)r * pdim + c) = *(const uint4 *)(strip + r * ACT_LD + c);
  }
}

/* acc[j] (j < n_out/16) = strip[16 x pin] times the layer's weights: W^T (forward, B column-major
 * [pin][pout] with ld pin) or W (backward, B row-major [pout][pin] with ld pin, K = pout). */
static __device__ void strip_times_weights(const __half *strip, int k_dim, int n_dim, const __half *w, int ld_w,
                                           bool transpose_w, acc_frag *acc) {
#pragma unroll
  for (int j = 0; j < MAX_TILES; j++)
    wmma::fill_fragment(acc[j], 0.0f);
  for (int k = 0; k < k_dim / 16; k++) {
    wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> fa;
    wmma::load_matrix_sync(fa, strip + k * 16, ACT_LD);
#pragma unroll
    for (int j = 0; j < MAX_TILES; j++) {
      if (j >= n_dim / 16) break;
      if (transpose_w) {
        /* B(k', n') = W[j*16 + n'][k*16 + k'] */
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> fb;
        wmma::load_matrix_sync(fb, w + (size_t)(j * 16) * ld_w + k * 16, ld_w);
        wmma::mma_sync(acc[j], fa, fb, acc[j]);
      } else {
        /* B(k', n') = W[k*16 + k'][j*16 + n'] */
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
        wmma::load_matrix_sync(fb, w + (size_t)(k * 16) * ld_w + j * 16, ld_w);
        wmma::mma_sync(acc[j], fa, fb, acc[j]);
      }
    }
  }
}

/* ---- Forward ---------------------------------------------------------------------------------------- */

struct mlp_fwd_args {
  ngp_cuda_mlp d;
  const __half *w16;
  const uint32_t *d_count;
  uint32_t max;
  const __half *in;
  int ld_in;
  __half *acts;
  uint32_t s_cap;
  float *out32;
  int ld_out32, n_out32;
  __half *out16;
  int ld_out16, n_out16;
};

__global__ void __launch_bounds__(MLP_THREADS) mlp_forward_kernel(mlp_fwd_args a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const ngp_cuda_mlp &d = a.d;
  const uint32_t n = ngp_dev_count(a.d_count, a.max);
  const uint32_t first = blockIdx.x * MLP_BLOCK_SAMPLES, stride = gridDim.x * MLP_BLOCK_SAMPLES;
  if (first >= n) return; /* the whole block leaves before any barrier */
  __half *w_s = (__half *)smem;
  load_weights(d, a.w16, w_s);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const size_t wb = weights_bytes(d);
  __half *strip = (__half *)(smem + wb) + warp * 16 * ACT_LD;
  float *scr = (float *)(smem + wb + (size_t)MLP_WARPS * 16 * ACT_LD * 2) + warp * 256;
  const bool direct = frag_layouts_match(scr, strip, lane);
  acc_frag acc[MAX_TILES];
  for (uint32_t block0 = first; block0 < n; block0 += stride) { /* grid stride: chunks of 256 samples */
    for (int st = 0; st < MLP_STRIPS; st++) {
      const uint32_t row0 = block0 + (uint32_t)(st * MLP_WARPS + warp) * 16;
      if (row0 >= n) break; /* warp-uniform */
      load_strip(a.in, a.ld_in, row0, n, d.pdims[0], strip, lane);
      __syncwarp();
      for (int l = 0; l < d.n_layers; l++) {
        const int pin = d.pdims[l], pout = d.pdims[l + 1];
        const bool last = l == d.n_layers - 1;
        const ngp_activation act = (ngp_activation)(last ? d.output_activation : d.activation);
        /* z = W x (per sample), all of the strip's inputs read before any output is written back */
        strip_times_weights(strip, pin, pout, w_s + smem_w_off(d, l), pin + W_PAD, true, acc);
        __syncwarp();
        __half *acts_l = a.acts ? a.acts + (size_t)a.s_cap * d.acts_off[l] : NULL;
        if (direct && !last) {
          /* y = act(z) on the fragments, rounded into fp16 fragments, stored as the next input */
#pragma unroll
          for (int j = 0; j < MAX_TILES; j++) {
            if (j >= pout / 16) break;
            half_acc_frag h;
#pragma unroll
            for (int i = 0; i < h.num_elements; i++)
              h.x[i] = ngp_half_sat(ngp_act_forward(act, acc[j].x[i]));
            wmma::store_matrix_sync(strip + j * 16, h, ACT_LD, wmma::mem_row_major);
          }
          __syncwarp();
          if (acts_l) store_strip(strip, pout, acts_l + (size_t)row0 * pout, lane);
          __syncwarp();
          continue;
        }
#pragma unroll
        for (int j = 0; j < MAX_TILES; j++) {
          if (j >= pout / 16) break;
          wmma::store_matrix_sync(scr, acc[j], 16, wmma::mem_row_major);
          __syncwarp();
          /* Lane: row r, 8 columns from c0 of this tile. y = act(z) */
          const int r = lane >> 1, c0 = (lane & 1) * 8, col = j * 16 + c0;
          const uint32_t row = row0 + (uint32_t)r;
          float y[8];
          __align__(16) __half h[8];
#pragma unroll
          for (int q = 0; q < 8; q++) {
            y[q] = ngp_act_forward(act, scr[r * 16 + c0 + q]);
            h[q] = ngp_half_sat(y[q]);
          }
          *(uint4 *)(strip + r * ACT_LD + col) = *(const uint4 *)h; /* the next layer's input */
          if (acts_l) *(uint4 *)(acts_l + (size_t)row * pout + col) = *(const uint4 *)h;
          if (last) {
            if (a.out32 && row < n)
#pragma unroll
              for (int q = 0; q < 8; q++)
                if (col + q < a.n_out32) a.out32[(size_t)row * a.ld_out32 + col + q] = y[q];
            if (a.out16)
#pragma unroll
              for (int q = 0; q < 8; q++)
                if (col + q < a.n_out16) a.out16[(size_t)row * a.ld_out16 + col + q] = h[q];
          }
          __syncwarp();
        }
      }
    }
  }
}

/* Blocks of the fused kernels: sized for the capacity (the live count is on the device), at most
 * MLP_MAX_BLOCKS; each block loads the weights once and then takes chunks of MLP_BLOCK_SAMPLES
 * with a grid stride, so a step with few live samples launches hundreds of blocks instead of one
 * per 256 samples of the capacity (8192 for the density inference at 2^18 target samples). */
enum { MLP_MAX_BLOCKS = 1024 };
static unsigned mlp_blocks(uint32_t max) {
  const unsigned b = ngp_cuda_blocks(max, MLP_BLOCK_SAMPLES);
  return b < (unsigned)MLP_MAX_BLOCKS ? b : (unsigned)MLP_MAX_BLOCKS;
}

static void set_smem_limit(const void *kernel, size_t bytes) {
  /* Above 48 KiB a kernel must opt in (sm_75 allows 64 KiB, sm_80+ more). A refusal is said here,
   * and the launch then fails at the next check. */
  if (bytes > 48 * 1024 &&
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) != cudaSuccess)
    fprintf(stderr,
            "instant-ngp: error: the fused MLP needs %zu bytes of shared memory per block, which this device "
            "refuses (%s); the launch that follows fails\n",
            bytes, cudaGetErrorString(cudaGetLastError()));
}

extern "C" void ngp_mlp_forward_cuda(const ngp_cuda_mlp *d, const ngp_half *w16, const uint32_t *d_count, uint32_t max,
                                     const ngp_half *in, int ld_in, ngp_half *acts, uint32_t s_cap, float *out32,
                                     int ld_out32, int n_out32, ngp_half *out16, int ld_out16, int n_out16,
                                     ngp_stream stream) {
  if (max == 0) return;
  mlp_fwd_args a;
  a.d = *d;
  a.w16 = (const __half *)w16;
  a.d_count = d_count;
  a.max = max;
  a.in = (const __half *)in;
  a.ld_in = ld_in;
  a.acts = (__half *)acts;
  a.s_cap = s_cap;
  a.out32 = out32;
  a.ld_out32 = ld_out32;
  a.n_out32 = n_out32;
  a.out16 = (__half *)out16;
  a.ld_out16 = ld_out16;
  a.n_out16 = n_out16;
  const size_t smem = fused_smem_bytes(d);
  set_smem_limit((const void *)mlp_forward_kernel, smem);
  mlp_forward_kernel<<<mlp_blocks(max), MLP_THREADS, smem, stream>>>(a);
}

/* ---- Backward ---------------------------------------------------------------------------------------- */

struct mlp_bwd_args {
  ngp_cuda_mlp d;
  const __half *w16;
  const uint32_t *d_count;
  uint32_t max;
  const float *dout;
  int ld_dout, n_dout;
  const float *dout_add0;
  float loss_scale;
  const float *d_loss_scale; /* NULL: loss_scale */
  const __half *acts;
  uint32_t s_cap;
  __half *dz;
  float *din;
  int ld_din;
  int acts_aligned; /* acts 32-byte aligned: then so is every 16 x 16 tile of it (wmma loads) */
};

__global__ void __launch_bounds__(MLP_THREADS) mlp_backward_kernel(mlp_bwd_args a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const ngp_cuda_mlp &d = a.d;
  const uint32_t n = ngp_dev_count(a.d_count, a.max);
  const uint32_t first = blockIdx.x * MLP_BLOCK_SAMPLES, stride = gridDim.x * MLP_BLOCK_SAMPLES;
  if (first >= n) return;
  __half *w_s = (__half *)smem;
  load_weights(d, a.w16, w_s);
  __syncthreads();
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const size_t wb = weights_bytes(d);
  __half *g = (__half *)(smem + wb) + warp * 16 * ACT_LD; /* the strip's current dz */
  float *scr = (float *)(smem + wb + (size_t)MLP_WARPS * 16 * ACT_LD * 2) + warp * 256;
  /* the fragment path loads stored activations as fragments: 32-byte aligned tiles (acts_aligned) */
  const bool direct = frag_layouts_match(scr, g, lane) && a.acts_aligned;
  const int L = d.n_layers;
  const int r = lane >> 1, c0 = (lane & 1) * 8;
  const float loss_scale = a.d_loss_scale ? *a.d_loss_scale : a.loss_scale;
  acc_frag acc[MAX_TILES];
  for (uint32_t block0 = first; block0 < n; block0 += stride) { /* grid stride: chunks of 256 samples */
    for (int st = 0; st < MLP_STRIPS; st++) {
      const uint32_t row0 = block0 + (uint32_t)(st * MLP_WARPS + warp) * 16;
      if (row0 >= n) break;
      const uint32_t row = row0 + (uint32_t)r;
      const bool valid = row < n;
      /* Output layer: y = act(z) -> dz = dy * act'(y), from the stored output y. */
      {
        const int pout = d.pdims[L];
        const __half *y_s = a.acts + (size_t)a.s_cap * d.acts_off[L - 1];
        __half *dz_l = a.dz + (size_t)a.s_cap * d.acts_off[L - 1];
        for (int j = 0; j < pout / 16; j++) {
          const int col = j * 16 + c0;
          __align__(16) __half y[8];
          __align__(16) __half h[8];
          *(uint4 *)y = *(const uint4 *)(y_s + (size_t)row * pout + col);
#pragma unroll
          for (int q = 0; q < 8; q++) {
            float v = 0.0f;
            if (valid) {
              if (col + q < a.n_dout) v = a.dout[(size_t)row * a.ld_dout + col + q];
              if (col + q == 0 && a.dout_add0) v += a.dout_add0[row];
            }
            v *= loss_scale * ngp_act_derivative_out((ngp_activation)d.output_activation, __half2float(y[q]));
            /* Not saturated: an overflow becomes infinite, and the trainer's non-finite guard
             * skips the step instead of training on a clipped gradient. */
            h[q] = __float2half_rn(v);
          }
          *(uint4 *)(g + r * ACT_LD + col) = *(const uint4 *)h;
          *(uint4 *)(dz_l + (size_t)row * pout + col) = *(const uint4 *)h;
        }
      }
      __syncwarp();
      for (int l = L - 1; l >= 0; l--) {
        const int pin = d.pdims[l], pout = d.pdims[l + 1];
        /* z[o] = sum_k W[o][k] x[k]  ->  dx[k] = sum_o dz[o] W[o][k] */
        strip_times_weights(g, pout, pin, w_s + smem_w_off(d, l), pin + W_PAD, false, acc);
        __syncwarp();
        const __half *y_prev = l > 0 ? a.acts + (size_t)a.s_cap * d.acts_off[l - 1] : NULL;
        __half *dz_prev = l > 0 ? a.dz + (size_t)a.s_cap * d.acts_off[l - 1] : NULL;
        if (direct && l > 0) {
          /* x = act(z_prev) -> dz_prev = dx * act'(x) on the fragments, x loaded as a fragment */
#pragma unroll
          for (int j = 0; j < MAX_TILES; j++) {
            if (j >= pin / 16) break;
            half_acc_frag y, h;
            wmma::load_matrix_sync(y, y_prev + (size_t)row0 * pin + j * 16, pin, wmma::mem_row_major);
#pragma unroll
            for (int i = 0; i < h.num_elements; i++)
              h.x[i] = __float2half_rn(acc[j].x[i] *
                                       ngp_act_derivative_out((ngp_activation)d.activation, __half2float(y.x[i])));
            wmma::store_matrix_sync(g + j * 16, h, ACT_LD, wmma::mem_row_major);
          }
          __syncwarp();
          store_strip(g, pin, dz_prev + (size_t)row0 * pin, lane);
          __syncwarp();
          continue;
        }
#pragma unroll
        for (int j = 0; j < MAX_TILES; j++) {
          if (j >= pin / 16) break;
          wmma::store_matrix_sync(scr, acc[j], 16, wmma::mem_row_major);
          __syncwarp();
          const int col = j * 16 + c0;
          if (l > 0) {
            /* x = act(z_prev) -> dz_prev = dx * act'(x), from the stored x */
            __align__(16) __half y[8];
            __align__(16) __half h[8];
            *(uint4 *)y = *(const uint4 *)(y_prev + (size_t)row * pin + col);
#pragma unroll
            for (int q = 0; q < 8; q++)
              h[q] = __float2half_rn(scr[r * 16 + c0 + q] *
                                     ngp_act_derivative_out((ngp_activation)d.activation, __half2float(y[q])));
            *(uint4 *)(g + r * ACT_LD + col) = *(const uint4 *)h;
            *(uint4 *)(dz_prev + (size_t)row * pin + col) = *(const uint4 *)h;
          } else if (a.din && valid) {
            const float inv = 1.0f / loss_scale;
#pragma unroll
            for (int q = 0; q < 8; q++)
              if (col + q < d.dims[0]) a.din[(size_t)row * a.ld_din + col + q] = scr[r * 16 + c0 + q] * inv;
          }
          __syncwarp();
        }
      }
    }
  }
}

extern "C" void ngp_mlp_backward_cuda(const ngp_cuda_mlp *d, const ngp_half *w16, const uint32_t *d_count, uint32_t max,
                                      const float *dout, int ld_dout, int n_dout, const float *dout_add0,
                                      float loss_scale, const float *d_loss_scale, const ngp_half *acts, uint32_t s_cap,
                                      ngp_half *dz, float *din, int ld_din, ngp_stream stream) {
  if (max == 0) return;
  mlp_bwd_args a;
  a.d = *d;
  a.w16 = (const __half *)w16;
  a.d_count = d_count;
  a.max = max;
  a.dout = dout;
  a.ld_dout = ld_dout;
  a.n_dout = n_dout;
  a.dout_add0 = dout_add0;
  a.loss_scale = loss_scale;
  a.d_loss_scale = d_loss_scale;
  a.acts = (const __half *)acts;
  a.s_cap = s_cap;
  a.dz = (__half *)dz;
  a.din = din;
  a.ld_din = ld_din;
  /* acts_off are multiples of 16, rows and tiles too: with a 32-byte aligned base every tile is */
  a.acts_aligned = ((uintptr_t)acts & 31u) == 0;
  const size_t smem = fused_smem_bytes(d);
  set_smem_limit((const void *)mlp_backward_kernel, smem);
  mlp_backward_kernel<<<mlp_blocks(max), MLP_THREADS, smem, stream>>>(a);
}

/* ---- Weight gradients ------------------------------------------------------------------------------ */

struct mlp_wgrad_args {
  ngp_cuda_mlp d;
  const uint32_t *d_count;
  uint32_t max;
  const __half *in;
  int ld_in;
  const __half *acts, *dz;
  uint32_t s_cap;
  float *partial; /* [gridDim.x][h_off[n_layers]] fp32 */
};

/* Block (b, layer l = blockIdx.y): P_b,l = dz_l^T x_l over the chunks of WG_CHUNK samples b, b + G,
 * b + 2G, ... (G = gridDim.x), written (not added) to the block's partial sums in the padded
 * [pout][pin] layout of layer l (offset h_off[l] of its slot). The layer's (pout/16) x (pin/16)
 * output tiles are dealt to the 4 warps (at most 4 each), so every tile is written. Rows S ..
 * round_up(S, 16) are included: their dz is zero and their inputs finite. A block with no chunk
 * writes nothing: the reduction reads only the blocks that had one (wgrad_active_blocks). */
__global__ void __launch_bounds__(MLP_THREADS) mlp_weight_grad_kernel(mlp_wgrad_args a) {
  const ngp_cuda_mlp &d = a.d;
  const uint32_t n = ngp_dev_count(a.d_count, a.max), n16 = (n + 15u) & ~15u;
  const int l = blockIdx.y;
  if (blockIdx.x * WG_CHUNK >= n16) return;
  const int pin = d.pdims[l], pout = d.pdims[l + 1], ti = pin / 16, n_tiles = (pout / 16) * ti;
  const __half *x = l == 0 ? a.in : a.acts + (size_t)a.s_cap * d.acts_off[l - 1];
  const int ld_x = l == 0 ? a.ld_in : pin;
  const __half *dzl = a.dz + (size_t)a.s_cap * d.acts_off[l];
  const int warp = threadIdx.x >> 5;
  acc_frag acc[MAX_TILES];
#pragma unroll
  for (int q = 0; q < MAX_TILES; q++)
    wmma::fill_fragment(acc[q], 0.0f);
  for (uint32_t c0 = blockIdx.x * WG_CHUNK; c0 < n16; c0 += gridDim.x * WG_CHUNK) {
    const uint32_t c1 = c0 + WG_CHUNK < n16 ? c0 + WG_CHUNK : n16;
    for (uint32_t s = c0; s < c1; s += 16) {
#pragma unroll
      for (int q = 0; q < MAX_TILES; q++) {
        const int t = warp + q * MLP_WARPS;
        if (t >= n_tiles) break;
        const int o = t / ti, i = t % ti;
        /* A(m, k) = dz[s + k][o*16 + m]: column-major with ld pout */
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::col_major> fa;
        wmma::load_matrix_sync(fa, dzl + (size_t)s * pout + o * 16, pout);
        /* B(k, n) = x[s + k][i*16 + n]: row-major with ld ld_x */
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> fb;
        wmma::load_matrix_sync(fb, x + (size_t)s * ld_x + i * 16, ld_x);
        wmma::mma_sync(acc[q], fa, fb, acc[q]);
      }
    }
  }
  /* z[o] = sum_k W[o][k] x[k]  ->  dW[o][k] += dz[o] x[k]: tile (o, i) of the padded [pout][pin]
   * matrix. Offsets: slot b * h_off[L] and h_off[l] are multiples of 256 floats, a tile's start a
   * multiple of 16: 64-byte aligned, as wmma stores need (32). */
  float *P = a.partial + (size_t)blockIdx.x * d.h_off[d.n_layers] + d.h_off[l];
#pragma unroll
  for (int q = 0; q < MAX_TILES; q++) {
    const int t = warp + q * MLP_WARPS;
    if (t >= n_tiles) break;
    const int o = t / ti, i = t % ti;
    wmma::store_matrix_sync(P + (size_t)(o * 16) * pin + i * 16, acc[q], pin, wmma::mem_row_major);
  }
}

/* The blocks of the weight-gradient GEMM that had a chunk (the others wrote no partial sums). */
static __device__ __forceinline__ uint32_t wgrad_active_blocks(uint32_t n16, uint32_t grid) {
  const uint32_t chunks = (n16 + WG_CHUNK - 1) / WG_CHUNK;
  return chunks < grid ? chunks : grid;
}

/* One thread per padded weight e (all layers): dparams[real index] += scale / *d_div * (sum of the
 * active blocks' partial sums at e), summed in block order (deterministic). Padding is skipped. */
__global__ void mlp_weight_grad_reduce_kernel(ngp_cuda_mlp d, const uint32_t *d_count, uint32_t max,
                                              const float *partial, uint32_t grid, float *dparams, float scale,
                                              const float *d_div) {
  const uint32_t H = d.h_off[d.n_layers];
  const uint32_t e = ngp_thread_index();
  if (e >= H) return;
  int l = 0;
  while (e >= d.h_off[l + 1])
    l++;
  const uint32_t pin = (uint32_t)d.pdims[l], k = e - d.h_off[l], o = k / pin, i = k % pin;
  const int n_in = d.dims[l], n_out = d.dims[l + 1];
  if ((int)o >= n_out || (int)i >= n_in) return;
  const uint32_t n = ngp_dev_count(d_count, max), n16 = (n + 15u) & ~15u;
  const uint32_t active = wgrad_active_blocks(n16, grid);
  float sum = 0.0f;
  for (uint32_t b = 0; b < active; b++)
    sum += partial[(size_t)b * H + e];
  const float sc = d_div ? scale / *d_div : scale;
  dparams[d.w_off[l] + (size_t)o * n_in + i] += sum * sc;
}

static unsigned wgrad_blocks(uint32_t max) {
  const unsigned b = ngp_cuda_blocks(ngp_round_up(max, 16), WG_CHUNK);
  return b < (unsigned)WG_MAX_BLOCKS ? b : (unsigned)WG_MAX_BLOCKS;
}

extern "C" size_t ngp_mlp_weight_grad_work(const ngp_cuda_mlp *d, uint32_t max) {
  return max == 0 ? 0 : (size_t)wgrad_blocks(max) * d->h_off[d->n_layers];
}

extern "C" void ngp_mlp_weight_grad_cuda(const ngp_cuda_mlp *d, const uint32_t *d_count, uint32_t max,
                                         const ngp_half *in, int ld_in, const ngp_half *acts, const ngp_half *dz,
                                         uint32_t s_cap, float *dparams, float scale, const float *d_div, float *work,
                                         ngp_stream stream) {
  if (max == 0) return;
  mlp_wgrad_args a;
  a.d = *d;
  a.d_count = d_count;
  a.max = max;
  a.in = (const __half *)in;
  a.ld_in = ld_in;
  a.acts = (const __half *)acts;
  a.dz = (const __half *)dz;
  a.s_cap = s_cap;
  a.partial = work;
  const unsigned G = wgrad_blocks(max);
  mlp_weight_grad_kernel<<<dim3(G, (unsigned)d->n_layers), MLP_THREADS, 0, stream>>>(a);
  const uint32_t H = d->h_off[d->n_layers];
  mlp_weight_grad_reduce_kernel<<<ngp_cuda_blocks(H, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(
      *d, d_count, max, work, G, dparams, scale, d_div);
}
