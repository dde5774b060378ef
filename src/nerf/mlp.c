/* mlp.c: the small fully-connected networks (NGP-SPEC §3): no biases, Xavier-uniform init.
 *
 * Two implementations with the same arguments and results (up to float summation order):
 *   - ngp_mlp_forward_ref / ngp_mlp_backward_ref: plain loops, one sample at a time. They are the
 *     specification; read them first.
 *   - ngp_mlp_forward / ngp_mlp_backward: the fast path. Samples are processed in tiles of
 *     TILE rows that stay cache-resident through all layers; each layer is a small matrix product
 *     (forward Y = X W^T, backward dW += G^T X and dX = G W) done by a register-blocked kernel:
 *     AVX-512 (mlp_avx512.c) or AVX2/FMA (mlp_avx2.c) after a run-time CPU check, else a portable
 *     C kernel (the two SIMD kernels give bit-identical results). Tiles are spread over threads
 *     with ngp_parallel_for; each thread accumulates dW privately and the copies are summed at
 *     the end (deterministic for a given thread count and schedule-free: tile -> thread
 *     assignment changes only float summation order).
 *
 * Shape letters: S samples, W width. Per layer l: in = dims[l], out = dims[l+1], weights W_l
 * row-major [out][in] at params + weight_offset[l].
 *
 * acts layout (per sample, sample-major [S][ngp_mlp_acts_per_sample]): for each layer l in
 * order, its dims[l+1] outputs after the activation; a layer whose activation is Sine is followed
 * by its dims[l+1] pre-activations too (sin cannot be inverted from its output). Both forward
 * passes write and both backward passes read this same layout, so they mix freely. */
#include "nerf/mlp.h"
#include "common/ngp_math.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/ngp_activation.h"
#include "core/parallel.h"

/* ---- Structure -------------------------------------------------------------------------------- */

static ngp_activation layer_act(const ngp_mlp *m, int l) {
  return l == m->n_layers - 1 ? m->output_activation : m->activation;
}

/* Offset of layer l's outputs inside a sample's acts record. */
static size_t acts_offset(const ngp_mlp *m, int l) {
  size_t off = 0;
  for (int k = 0; k < l; k++)
    off += (size_t)m->dims[k + 1] * (ngp_act_needs_input(layer_act(m, k)) ? 2u : 1u);
  return off;
}

size_t ngp_mlp_acts_per_sample(const ngp_mlp *m) { return acts_offset(m, m->n_layers); }

static int valid_activation(ngp_activation a) { return (int)a >= (int)NGP_ACT_NONE && (int)a <= (int)NGP_ACT_TANH; }

ngp_status ngp_mlp_init(ngp_mlp *m, int n_in, int width, int n_hidden_layers, int n_out, ngp_activation act,
                        ngp_activation out_act, ngp_error *err) {
  /* An upper bound on a dimension keeps every size product far from int overflow. */
  const int max_dim = 1 << 16;
  if (n_in < 1 || n_in > max_dim)
    return ngp_error_set(err, NGP_ERR_INVALID, "MLP: n_input_dims = %d, expected 1..%d", n_in, max_dim);
  if (n_out < 1 || n_out > max_dim)
    return ngp_error_set(err, NGP_ERR_INVALID, "MLP: n_output_dims = %d, expected 1..%d", n_out, max_dim);
  if (n_hidden_layers < 0 || n_hidden_layers > NGP_MLP_MAX_LAYERS - 1)
    return ngp_error_set(err, NGP_ERR_INVALID, "MLP: n_hidden_layers = %d, expected 0..%d", n_hidden_layers,
                         NGP_MLP_MAX_LAYERS - 1);
  if (n_hidden_layers > 0 && (width < 1 || width > max_dim))
    return ngp_error_set(err, NGP_ERR_INVALID, "MLP: n_neurons = %d, expected 1..%d (64 or 128 are usual)", width,
                         max_dim);
  if (!valid_activation(act))
    return ngp_error_set(err, NGP_ERR_INVALID, "MLP: activation %d is not a known activation", (int)act);
  if (!valid_activation(out_act))
    return ngp_error_set(err, NGP_ERR_INVALID, "MLP: output_activation %d is not a known activation", (int)out_act);
  memset(m, 0, sizeof *m);
  m->n_in = n_in;
  m->width = width;
  m->n_hidden_layers = n_hidden_layers;
  m->n_out = n_out;
  m->activation = act;
  m->output_activation = out_act;
  m->n_layers = n_hidden_layers + 1;
  m->dims[0] = n_in;
  for (int l = 1; l < m->n_layers; l++)
    m->dims[l] = width;
  m->dims[m->n_layers] = n_out;
  size_t off = 0;
  for (int l = 0; l < m->n_layers; l++) {
    m->weight_offset[l] = off;
    off += (size_t)m->dims[l] * (size_t)m->dims[l + 1];
  }
  m->weight_offset[m->n_layers] = off;
  m->n_params = off;
  return NGP_OK;
}

void ngp_mlp_init_params(const ngp_mlp *m, float *params, uint64_t seed) {
  uint64_t st = seed;
  for (int l = 0; l < m->n_layers; l++) {
    /* Xavier-uniform: U(-s, s), s = sqrt(6 / (fan_in + fan_out)). */
    float s = sqrtf(6.0f / (float)(m->dims[l] + m->dims[l + 1]));
    float *w = params + m->weight_offset[l];
    size_t n = m->weight_offset[l + 1] - m->weight_offset[l];
    for (size_t i = 0; i < n; i++) {
      float u = (float)(ngp_splitmix64(&st) >> 40) * (1.0f / 16777216.0f); /* 24 bits: [0, 1) exactly */
      w[i] = (2.0f * u - 1.0f) * s;
    }
  }
}

/* ---- Reference ---------------------------------------------------------------------------------- */

/* in: [S][n_in], out: [S][n_out] (overwritten), acts: [S][acts_per_sample] (overwritten, or NULL). */
void ngp_mlp_forward_ref(const ngp_mlp *m, const float *params, int S, const float *in, float *out, float *acts) {
  const size_t A = ngp_mlp_acts_per_sample(m);
  float *tmp = acts ? NULL : malloc(A * sizeof(float)); /* one record, reused for every sample */
  if (!acts && !tmp) return;                            /* out of memory: nothing sensible to do */
  for (int s = 0; s < S; s++) {
    float *rec = acts ? acts + (size_t)s * A : tmp;
    const float *x = in + (size_t)s * m->n_in;
    for (int l = 0; l < m->n_layers; l++) {
      const int n_i = m->dims[l], n_o = m->dims[l + 1];
      const ngp_activation a = layer_act(m, l);
      const float *W = params + m->weight_offset[l];
      float *y = rec + acts_offset(m, l);
      for (int o = 0; o < n_o; o++) {
        float z = 0.0f;
        for (int k = 0; k < n_i; k++)
          z += W[(size_t)o * n_i + k] * x[k]; /* z = W x */
        if (ngp_act_needs_input(a)) y[n_o + o] = z;
        y[o] = ngp_act_forward(a, z); /* y = act(z) */
      }
      x = y;
    }
    memcpy(out + (size_t)s * m->n_out, x, (size_t)m->n_out * sizeof(float));
  }
  free(tmp);
}

/* dout: [S][n_out]. dparams: [n_params], accumulated (+=). din: [S][n_in], overwritten (or NULL). */
void ngp_mlp_backward_ref(const ngp_mlp *m, const float *params, int S, const float *in, const float *acts,
                          const float *dout, float *dparams, float *din) {
  const size_t A = ngp_mlp_acts_per_sample(m);
  int maxd = 0;
  for (int l = 0; l <= m->n_layers; l++)
    maxd = m->dims[l] > maxd ? m->dims[l] : maxd;
  float *buf = malloc(2 * (size_t)maxd * sizeof(float));
  if (!buf) return;
  for (int s = 0; s < S; s++) {
    const float *rec = acts + (size_t)s * A;
    float *g = buf, *dx = buf + maxd; /* fixed roles: g = dz of the layer, dx = its input gradient */
    const float *dy = dout + (size_t)s * m->n_out;
    for (int l = m->n_layers - 1; l >= 0; l--) {
      const int n_i = m->dims[l], n_o = m->dims[l + 1];
      const ngp_activation a = layer_act(m, l);
      const float *W = params + m->weight_offset[l];
      float *dW = dparams + m->weight_offset[l];
      const float *y = rec + acts_offset(m, l);
      const float *x = l > 0 ? rec + acts_offset(m, l - 1) : in + (size_t)s * m->n_in;
      /* y = act(z)  ->  dz = dy * act'(z), act' taken from y (or the stored z for Sine) */
      for (int o = 0; o < n_o; o++)
        g[o] = dy[o] * ngp_act_derivative(a, y[o], ngp_act_needs_input(a) ? y[n_o + o] : 0.0f);
      /* z[o] = sum_k W[o][k] x[k]  ->  dW[o][k] += dz[o] x[k],  dx[k] = sum_o dz[o] W[o][k] */
      for (int o = 0; o < n_o; o++)
        for (int k = 0; k < n_i; k++)
          dW[(size_t)o * n_i + k] += g[o] * x[k];
      if (l == 0 && !din) break;
      for (int k = 0; k < n_i; k++) {
        float acc = 0.0f;
        for (int o = 0; o < n_o; o++)
          acc += g[o] * W[(size_t)o * n_i + k];
        dx[k] = acc;
      }
      dy = dx; /* the next layer down reads dx (buf[maxd..]) into g (buf[0..]) before dx is rewritten */
    }
    if (din) memcpy(din + (size_t)s * m->n_in, dy, (size_t)m->n_in * sizeof(float));
  }
  free(buf);
}

/* ---- Fast path: kernels ----------------------------------------------------------------------- */

/* GEMM on tiles (see mlp_avx2.c for the AVX2 twin; the flags are shared):
 *   C[i][j] (+)= sum_p A[i*a_rs + p*a_cs] * B[p*ldb + j],   i < M, j < N (N % 8 == 0), p < P. */
#define GEMM_ACC 1       /* C += product (else C = product) */
#define GEMM_RELU 2      /* C = max(C, 0) after the product */
#define GEMM_RELU_MASK 4 /* C = C where Y > 0, else 0 */

typedef void (*gemm_fn)(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                        ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);

#if defined(__x86_64__) || defined(_M_X64)
#define NGP_HAVE_AVX2_KERNEL 1
void ngp_mlp_gemm_avx2(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);
void ngp_mlp_gemm_avx512(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                         ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);
void ngp_mlp_gemm_bf16(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                       ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy);
#endif

/* Portable kernel: 4 x 8 blocks with the accumulators in a local array, which compilers keep in
 * (SSE/NEON) registers; same blocking idea as the AVX2 kernel, without intrinsics. */
static void gemm_portable(int M, int N, int P, const float *A, ptrdiff_t a_rs, ptrdiff_t a_cs, const float *B,
                          ptrdiff_t ldb, float *C, ptrdiff_t ldc, int flags, const float *Y, ptrdiff_t ldy) {
  enum { PMR = 4, PNR = 8 };
  for (int j = 0; j < N; j += PNR) {
    for (int i0 = 0; i0 < M; i0 += PMR) {
      int mr = M - i0 < PMR ? M - i0 : PMR;
      float acc[PMR][PNR] = {{0.0f}};
      for (int p = 0; p < P; p++) {
        const float *b = B + (ptrdiff_t)p * ldb + j;
        const float *a = A + (ptrdiff_t)i0 * a_rs + (ptrdiff_t)p * a_cs;
        for (int i = 0; i < mr; i++) {
          float av = a[i * a_rs];
          for (int q = 0; q < PNR; q++)
            acc[i][q] += av * b[q];
        }
      }
      for (int i = 0; i < mr; i++) {
        float *c = C + (ptrdiff_t)(i0 + i) * ldc + j;
        const float *y = Y ? Y + (ptrdiff_t)(i0 + i) * ldy + j : NULL;
        for (int q = 0; q < PNR; q++) {
          float r = acc[i][q];
          if (flags & GEMM_ACC) r += c[q];
          if (flags & GEMM_RELU) r = r > 0.0f ? r : 0.0f;
          if (flags & GEMM_RELU_MASK) r = y[q] > 0.0f ? r : 0.0f;
          c[q] = r;
        }
      }
    }
  }
}

/* SIMD levels, lowest first. The CPU check is done once; the environment override
 * (NGP_SIMD=scalar|avx2|avx512|avx512bf16) is read per call (cheap, and lets tests switch paths
 * within one process). A forced level the CPU lacks falls back to the best one below it.
 * avx512bf16 (mlp_bf16.c: bf16 products, fp32 sums; not bit-identical to the others) is only ever
 * used when asked for: without NGP_SIMD the best fp32 level runs. */
enum { SIMD_SCALAR, SIMD_AVX2, SIMD_AVX512, SIMD_AVX512BF16 };

static int cpu_simd_level(void) {
#ifdef NGP_HAVE_AVX2_KERNEL
  static int cached = -1; /* a benign race: every thread computes the same value */
  int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
  if (v < 0) {
    __builtin_cpu_init();
    v = SIMD_SCALAR;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
      v = SIMD_AVX2;
      /* libgcc's check includes the OS saving the zmm registers (XGETBV). */
      if (__builtin_cpu_supports("avx512f")) v = SIMD_AVX512;
      if (v == SIMD_AVX512 && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16"))
        v = SIMD_AVX512BF16;
    }
    __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
  }
  return v;
#else
  return SIMD_SCALAR;
#endif
}

/* allow_bf16: the caller allows bf16 products (the _mixed calls), so they are the default level
 * where the CPU has them. */
static int simd_level_for(bool allow_bf16) {
  int cpu = cpu_simd_level();
  const char *e = getenv("NGP_SIMD");
  int want = allow_bf16 ? cpu : cpu < SIMD_AVX512 ? cpu : SIMD_AVX512; /* else bf16: only on request */
  if (e && strcmp(e, "scalar") == 0)
    want = SIMD_SCALAR;
  else if (e && strcmp(e, "avx2") == 0)
    want = SIMD_AVX2;
  else if (e && strcmp(e, "avx512") == 0)
    want = SIMD_AVX512;
  else if (e && strcmp(e, "avx512bf16") == 0)
    want = SIMD_AVX512BF16;
  return want < cpu ? want : cpu;
}

static int simd_level(void) { return simd_level_for(false); }

bool ngp_mlp_bf16_available(void) { return simd_level_for(true) == SIMD_AVX512BF16; }

const char *ngp_simd_level(void) {
  static const char *const names[] = {"scalar", "avx2+fma", "avx512", "avx512bf16"};
  return names[simd_level()];
}

static gemm_fn pick_gemm(bool allow_bf16) {
#ifdef NGP_HAVE_AVX2_KERNEL
  switch (simd_level_for(allow_bf16)) {
  case SIMD_AVX512BF16: return ngp_mlp_gemm_bf16;
  case SIMD_AVX512: return ngp_mlp_gemm_avx512;
  case SIMD_AVX2: return ngp_mlp_gemm_avx2;
  default: break;
  }
#endif
  (void)allow_bf16;
  return gemm_portable;
}

/* ---- Fast path: scratch ----------------------------------------------------------------------- */

/* Scratch blocks come from a process-wide free list guarded by a mutex: a call takes what it
 * needs and gives it back, growing a block only when a bigger shape shows up. So the hot path
 * allocates nothing in steady state, and concurrent calls (training + a viewer) are safe. Blocks
 * stay reachable from the list until exit (not a leak). */
typedef struct scratch_block {
  struct scratch_block *next;
  size_t cap; /* floats */
  float *p;   /* 64-byte aligned */
} scratch_block;

static pthread_mutex_t g_scratch_mu = PTHREAD_MUTEX_INITIALIZER;
static scratch_block *g_scratch_free;

static scratch_block *scratch_get(size_t floats) {
  pthread_mutex_lock(&g_scratch_mu);
  scratch_block *b = g_scratch_free, **prev = &g_scratch_free;
  scratch_block *best = NULL, **best_prev = NULL;
  /* The smallest block that fits; if none fits, the largest (to be grown). */
  for (; b; prev = &b->next, b = b->next) {
    int better = !best || (b->cap >= floats ? (best->cap < floats || b->cap < best->cap)
                                            : (best->cap < floats && b->cap > best->cap));
    if (better) {
      best = b;
      best_prev = prev;
    }
  }
  if (best) *best_prev = best->next;
  pthread_mutex_unlock(&g_scratch_mu);
  if (!best) {
    best = calloc(1, sizeof *best);
    if (!best) return NULL;
  }
  if (best->cap < floats) {
    size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
    if (!p) {
      free(best->p);
      free(best);
      return NULL;
    }
    free(best->p);
    best->p = p;
    best->cap = bytes / sizeof(float);
  }
  return best;
}

static void scratch_put(scratch_block *b) {
  if (!b) return;
  pthread_mutex_lock(&g_scratch_mu);
  b->next = g_scratch_free;
  g_scratch_free = b;
  pthread_mutex_unlock(&g_scratch_mu);
}

/* ---- Fast path: tiles ------------------------------------------------------------------------- */

#define TILE 128 /* samples per tile: a colour-MLP tile's activations (~150 KB) sit in L2 */
#define MAX_THREADS 256

static int pad8(int n) { return (n + 7) & ~7; }

/* Everything a call shares between its tiles. Widths are padded to multiples of 8 (the kernels'
 * vector width) with zeros in the padded weights, so padded columns stay exactly 0. */
typedef struct plan {
  const ngp_mlp *m;
  int S, n_threads, n_tiles;
  const float *in;
  float *out, *acts;           /* forward */
  const float *acts_in, *dout; /* backward */
  float *din;
  size_t A;                                    /* acts floats per sample */
  int pd[NGP_MLP_MAX_LAYERS + 1];              /* padded dims */
  size_t aoff[NGP_MLP_MAX_LAYERS];             /* acts_offset per layer */
  const float *Wt[NGP_MLP_MAX_LAYERS];         /* forward: W^T packed [pd_in][pd_out] */
  const float *Wp[NGP_MLP_MAX_LAYERS];         /* backward: W padded [pd_out][pd_in] */
  size_t dw_off[NGP_MLP_MAX_LAYERS + 1];       /* padded dW accumulators, per thread */
  size_t tile_off[2 * NGP_MLP_MAX_LAYERS + 4]; /* per-thread tile buffers (see plan_layout) */
  size_t per_thread;                           /* floats of scratch per thread */
  float *thr[MAX_THREADS];
  gemm_fn gemm;
  int direct; /* buffers without padding are used in place (see in_place) */
} plan;

/* Per-thread buffers, TILE rows each: X0 (pd[0]), then per layer Y_l (pd[l+1]) and, for Sine
 * layers, Z_l (pre-activations), then two gradient buffers of the widest padded dim, then the
 * padded dW accumulators (backward only). tile_off[0] = X0, [1 + 2l] = Y_l, [2 + 2l] = Z_l,
 * [2L+1], [2L+2] = G buffers, [2L+3] = dW. */
static void plan_layout(plan *p, int with_dw) {
  const ngp_mlp *m = p->m;
  int maxp = 0;
  for (int l = 0; l <= m->n_layers; l++) {
    p->pd[l] = pad8(m->dims[l]);
    maxp = p->pd[l] > maxp ? p->pd[l] : maxp;
  }
  size_t off = 0;
  p->tile_off[0] = off;
  off += (size_t)TILE * p->pd[0];
  for (int l = 0; l < m->n_layers; l++) {
    p->aoff[l] = acts_offset(m, l);
    p->tile_off[1 + 2 * l] = off;
    off += (size_t)TILE * p->pd[l + 1];
    p->tile_off[2 + 2 * l] = off;
    if (ngp_act_needs_input(layer_act(m, l))) off += (size_t)TILE * p->pd[l + 1];
  }
  p->tile_off[2 * m->n_layers + 1] = off;
  off += (size_t)TILE * maxp;
  p->tile_off[2 * m->n_layers + 2] = off;
  off += (size_t)TILE * maxp;
  p->tile_off[2 * m->n_layers + 3] = off;
  size_t dw = 0;
  for (int l = 0; l < m->n_layers; l++) {
    p->dw_off[l] = dw;
    dw += (size_t)p->pd[l + 1] * p->pd[l];
  }
  p->dw_off[m->n_layers] = dw;
  if (with_dw) off += dw;
  p->per_thread = off;
}

/* Packs the weights once per call (10k floats for the NeRF MLPs: negligible next to the tiles). */
static size_t pack_floats(const plan *p) {
  size_t n = 0;
  for (int l = 0; l < p->m->n_layers; l++)
    n += (size_t)p->pd[l] * p->pd[l + 1];
  return n;
}

static void pack_weights(plan *p, const float *params, float *dst, int transpose) {
  const ngp_mlp *m = p->m;
  for (int l = 0; l < m->n_layers; l++) {
    const int n_i = m->dims[l], n_o = m->dims[l + 1], pi = p->pd[l], po = p->pd[l + 1];
    const float *W = params + m->weight_offset[l];
    memset(dst, 0, (size_t)pi * po * sizeof(float));
    if (transpose) {
      for (int o = 0; o < n_o; o++)
        for (int k = 0; k < n_i; k++)
          dst[(size_t)k * po + o] = W[(size_t)o * n_i + k];
      p->Wt[l] = dst;
    } else {
      for (int o = 0; o < n_o; o++)
        memcpy(dst + (size_t)o * pi, W + (size_t)o * n_i, (size_t)n_i * sizeof(float));
      p->Wp[l] = dst;
    }
    dst += (size_t)pi * po;
  }
}

/* Copies n rows of `cols` floats (source stride ld) into a tile buffer of stride pcols, zeroing
 * the padding columns. */
static void load_rows(float *dst, int pcols, const float *src, size_t ld, int n, int cols) {
  if (pcols == cols && ld == (size_t)cols) { /* contiguous and unpadded: one copy */
    memcpy(dst, src, (size_t)n * (size_t)cols * sizeof(float));
    return;
  }
  for (int r = 0; r < n; r++) {
    memcpy(dst + (size_t)r * pcols, src + (size_t)r * ld, (size_t)cols * sizeof(float));
    for (int c = cols; c < pcols; c++)
      dst[(size_t)r * pcols + c] = 0.0f;
  }
}

static void store_rows(float *dst, size_t ld, const float *src, int pcols, int n, int cols) {
  if (pcols == cols && ld == (size_t)cols) {
    memcpy(dst, src, (size_t)n * (size_t)cols * sizeof(float));
    return;
  }
  for (int r = 0; r < n; r++)
    memcpy(dst + (size_t)r * ld, src + (size_t)r * pcols, (size_t)cols * sizeof(float));
}

/* In place (the default): where a buffer needs no padding (its width a multiple of 8) the kernels
 * read the caller's rows and write the activation records directly, with their row strides, instead
 * of copying them through the tile buffers; the arithmetic is the same, so the results are too
 * (tests/test_mlp.c compares both ways bit for bit). */
static int g_staged; /* tests: 1 copies every buffer through the tile buffers, as before */

void ngp_mlp_set_staged(int staged) { __atomic_store_n(&g_staged, staged, __ATOMIC_RELAXED); }

static int in_place(void) { return !__atomic_load_n(&g_staged, __ATOMIC_RELAXED); }

/* Whether layer l's outputs can live in the caller's acts record: no padding, and no
 * pre-activations to keep beside them (Sine). */
static int layer_in_place(const plan *p, int l) {
  return p->direct && p->pd[l + 1] == p->m->dims[l + 1] && !ngp_act_needs_input(layer_act(p->m, l));
}

static void forward_tile(int tile, int thread, void *user) {
  plan *p = user;
  const ngp_mlp *m = p->m;
  float *t = p->thr[thread];
  const int s0 = tile * TILE, n = p->S - s0 < TILE ? p->S - s0 : TILE;
  /* X: the layer's input rows, xs their stride. */
  const float *X;
  ptrdiff_t xs = p->pd[0];
  if (p->direct && p->pd[0] == m->n_in) {
    X = p->in + (size_t)s0 * m->n_in;
  } else {
    float *X0 = t + p->tile_off[0];
    load_rows(X0, p->pd[0], p->in + (size_t)s0 * m->n_in, (size_t)m->n_in, n, m->n_in);
    X = X0;
  }
  for (int l = 0; l < m->n_layers; l++) {
    const int po = p->pd[l + 1], n_o = m->dims[l + 1];
    const ngp_activation a = layer_act(m, l);
    float *dst = p->acts ? p->acts + (size_t)s0 * p->A + p->aoff[l] : NULL;
    const int direct = dst && layer_in_place(p, l);
    float *Y = direct ? dst : t + p->tile_off[1 + 2 * l];
    const ptrdiff_t ys = direct ? (ptrdiff_t)p->A : po;
    /* Y = act(X W^T): ReLU is fused into the kernel's store; other activations act on the real
     * columns afterwards (the padding stays 0). */
    p->gemm(n, po, p->pd[l], X, xs, 1, p->Wt[l], po, Y, ys, a == NGP_ACT_RELU ? GEMM_RELU : 0, NULL, 0);
    if (a != NGP_ACT_RELU && a != NGP_ACT_NONE) {
      float *Z = t + p->tile_off[2 + 2 * l];
      int keep_z = ngp_act_needs_input(a);
      for (int r = 0; r < n; r++)
        for (int c = 0; c < n_o; c++) {
          float z = Y[(size_t)r * ys + c];
          if (keep_z) Z[(size_t)r * po + c] = z;
          Y[(size_t)r * ys + c] = ngp_act_forward(a, z);
        }
    }
    if (dst && !direct) {
      store_rows(dst, p->A, Y, po, n, n_o);
      if (ngp_act_needs_input(a)) store_rows(dst + n_o, p->A, t + p->tile_off[2 + 2 * l], po, n, n_o);
    }
    X = Y;
    xs = ys;
  }
  store_rows(p->out + (size_t)s0 * m->n_out, (size_t)m->n_out, X, (int)xs, n, m->n_out);
}

static int clamp_threads(int n_threads, int n_tiles) {
  if (n_threads <= 0) n_threads = ngp_cpu_count();
  if (n_threads > n_tiles) n_threads = n_tiles;
  if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
  return n_threads < 1 ? 1 : n_threads;
}

/* Takes the shared block (packed weights) and one block per thread; 0 on allocation failure. */
static int plan_acquire(plan *p, scratch_block **blocks, size_t shared) {
  for (int i = 0; i <= p->n_threads; i++)
    blocks[i] = NULL;
  blocks[0] = scratch_get(shared);
  if (!blocks[0]) return 0;
  for (int i = 0; i < p->n_threads; i++) {
    blocks[i + 1] = scratch_get(p->per_thread);
    if (!blocks[i + 1]) return 0;
    p->thr[i] = blocks[i + 1]->p;
  }
  return 1;
}

static void plan_release(const plan *p, scratch_block **blocks) {
  for (int i = 0; i <= p->n_threads; i++)
    scratch_put(blocks[i]);
}

/* The parts of a plan forward and backward share; plan_layout needs nothing else. */
static void plan_init(plan *p, const ngp_mlp *m, int S, const float *in, int n_threads, int n_tiles, int backward,
                      bool bf16) {
  memset(p, 0, sizeof *p);
  p->m = m;
  p->S = S;
  p->in = in;
  p->A = ngp_mlp_acts_per_sample(m);
  p->n_threads = clamp_threads(n_threads, n_tiles);
  p->gemm = pick_gemm(bf16);
  p->direct = in_place();
  plan_layout(p, backward);
}

void ngp_mlp_forward(const ngp_mlp *m, const float *params, int S, const float *in, float *out, float *acts,
                     int n_threads) {
  ngp_mlp_forward_mixed(m, params, S, in, out, acts, n_threads, false);
}

void ngp_mlp_forward_mixed(const ngp_mlp *m, const float *params, int S, const float *in, float *out, float *acts,
                           int n_threads, bool bf16) {
  /* in: [S][n_in], out: [S][n_out] overwritten, acts: [S][acts_per_sample] overwritten (or NULL). */
  if (S <= 0) return;
  const int n_tiles = (S + TILE - 1) / TILE;
  plan p;
  plan_init(&p, m, S, in, n_threads, n_tiles, 0, bf16);
  p.out = out;
  p.acts = acts;
  scratch_block *blocks[MAX_THREADS + 1];
  if (!plan_acquire(&p, blocks, pack_floats(&p))) {
    /* Out of memory for a few hundred KB: fall back to the reference, which needs almost none. */
    plan_release(&p, blocks);
    ngp_mlp_forward_ref(m, params, S, in, out, acts);
    return;
  }
  pack_weights(&p, params, blocks[0]->p, 1);
  ngp_parallel_for(n_tiles, p.n_threads, forward_tile, &p);
  plan_release(&p, blocks);
}

static void backward_tile(int tile, int thread, void *user) {
  plan *p = user;
  const ngp_mlp *m = p->m;
  const int L = m->n_layers;
  float *t = p->thr[thread];
  float *dW = t + p->tile_off[2 * L + 3];
  const int s0 = tile * TILE, n = p->S - s0 < TILE ? p->S - s0 : TILE;
  /* The tile's inputs and every layer's stored outputs: in place where unpadded (see in_place),
   * else copied into padded tile buffers. Xl[l]: the input rows of layer l (Xl[l + 1]: its
   * outputs), xs[l] their stride. */
  const float *Xl[NGP_MLP_MAX_LAYERS + 1];
  ptrdiff_t xs[NGP_MLP_MAX_LAYERS + 1];
  if (p->direct && p->pd[0] == m->n_in) {
    Xl[0] = p->in + (size_t)s0 * m->n_in;
    xs[0] = m->n_in;
  } else {
    float *X0 = t + p->tile_off[0];
    load_rows(X0, p->pd[0], p->in + (size_t)s0 * m->n_in, (size_t)m->n_in, n, m->n_in);
    Xl[0] = X0;
    xs[0] = p->pd[0];
  }
  const float *rec = p->acts_in + (size_t)s0 * p->A;
  for (int l = 0; l < L; l++) {
    if (layer_in_place(p, l)) {
      Xl[l + 1] = rec + p->aoff[l];
      xs[l + 1] = (ptrdiff_t)p->A;
      continue;
    }
    load_rows(t + p->tile_off[1 + 2 * l], p->pd[l + 1], rec + p->aoff[l], p->A, n, m->dims[l + 1]);
    if (ngp_act_needs_input(layer_act(m, l)))
      load_rows(t + p->tile_off[2 + 2 * l], p->pd[l + 1], rec + p->aoff[l] + m->dims[l + 1], p->A, n, m->dims[l + 1]);
    Xl[l + 1] = t + p->tile_off[1 + 2 * l];
    xs[l + 1] = p->pd[l + 1];
  }
  float *G = t + p->tile_off[2 * L + 1], *Gn = t + p->tile_off[2 * L + 2];
  load_rows(G, p->pd[L], p->dout + (size_t)s0 * m->n_out, (size_t)m->n_out, n, m->n_out);
  /* y = act(z) for the output layer  ->  dz = dy * act'(y) (a Sine layer is never in place, so its
   * Z sits in the tile buffer with Y's stride) */
  {
    const ngp_activation a = layer_act(m, L - 1);
    if (a != NGP_ACT_NONE) {
      const int po = p->pd[L];
      const float *Y = Xl[L], *Z = t + p->tile_off[2 * L];
      const ptrdiff_t ys = xs[L];
      for (int r = 0; r < n; r++)
        for (int c = 0; c < m->n_out; c++) {
          size_t i = (size_t)r * po + c, j = (size_t)r * ys + c;
          G[i] *= ngp_act_derivative(a, Y[j], ngp_act_needs_input(a) ? Z[j] : 0.0f);
        }
    }
  }
  for (int l = L - 1; l >= 0; l--) {
    const int pi = p->pd[l], po = p->pd[l + 1];
    const float *X = Xl[l];
    const ptrdiff_t ls = xs[l];
    /* z = X W^T  ->  dW += G^T X  (A(i=o, p=s) = G[s][o]: row stride 1, column stride po) */
    p->gemm(po, pi, n, G, 1, po, X, ls, dW + p->dw_off[l], pi, GEMM_ACC, NULL, 0);
    if (l == 0 && !p->din) break;
    /* dX = G W; through the layer below's activation y = act(z): dz = dX * act'(y) (ReLU fused
     * into the kernel's store as a mask on y > 0). The input gradient of layer 0 goes straight
     * to din where it needs no padding. */
    const ngp_activation a = l > 0 ? layer_act(m, l - 1) : NGP_ACT_NONE;
    const int to_din = l == 0 && p->direct && pi == m->n_in;
    float *D = to_din ? p->din + (size_t)s0 * m->n_in : Gn;
    p->gemm(n, pi, po, G, po, 1, p->Wp[l], pi, D, pi, a == NGP_ACT_RELU ? GEMM_RELU_MASK : 0, X, ls);
    if (to_din) return;
    if (a != NGP_ACT_RELU && a != NGP_ACT_NONE) {
      const float *Z = t + p->tile_off[2 + 2 * (l - 1)];
      for (int r = 0; r < n; r++)
        for (int c = 0; c < m->dims[l]; c++) {
          size_t i = (size_t)r * pi + c, j = (size_t)r * ls + c;
          Gn[i] *= ngp_act_derivative(a, X[j], ngp_act_needs_input(a) ? Z[j] : 0.0f);
        }
    }
    float *tmp = G;
    G = Gn;
    Gn = tmp;
  }
  if (p->din) store_rows(p->din + (size_t)s0 * m->n_in, (size_t)m->n_in, G, p->pd[0], n, m->n_in);
}

/* Block b of n_threads: a contiguous range of tiles, accumulating into scratch b. */
static void backward_block(int b, int thread, void *user) {
  (void)thread;
  plan *p = user;
  int t0 = (int)((int64_t)b * p->n_tiles / p->n_threads), t1 = (int)((int64_t)(b + 1) * p->n_tiles / p->n_threads);
  for (int tile = t0; tile < t1; tile++)
    backward_tile(tile, b, p);
}

void ngp_mlp_backward(const ngp_mlp *m, const float *params, int S, const float *in, const float *acts,
                      const float *dout, float *dparams, float *din, int n_threads) {
  ngp_mlp_backward_mixed(m, params, S, in, acts, dout, dparams, din, n_threads, false);
}

void ngp_mlp_backward_mixed(const ngp_mlp *m, const float *params, int S, const float *in, const float *acts,
                            const float *dout, float *dparams, float *din, int n_threads, bool bf16) {
  /* dout: [S][n_out]; dparams: [n_params] accumulated (+=); din: [S][n_in] overwritten (or NULL). */
  if (S <= 0) return;
  const int n_tiles = (S + TILE - 1) / TILE;
  plan p;
  plan_init(&p, m, S, in, n_threads, n_tiles, 1, bf16);
  p.acts_in = acts;
  p.dout = dout;
  p.din = din;
  scratch_block *blocks[MAX_THREADS + 1];
  if (!plan_acquire(&p, blocks, pack_floats(&p))) {
    plan_release(&p, blocks);
    ngp_mlp_backward_ref(m, params, S, in, acts, dout, dparams, din);
    return;
  }
  pack_weights(&p, params, blocks[0]->p, 0);
  const size_t dw_n = p.dw_off[m->n_layers];
  for (int i = 0; i < p.n_threads; i++)
    memset(p.thr[i] + p.tile_off[2 * m->n_layers + 3], 0, dw_n * sizeof(float));
  /* Tiles go to accumulators in fixed contiguous blocks (not to whichever thread is free), so the
   * sums, and so training, repeat exactly for a given thread count. */
  p.n_tiles = n_tiles;
  ngp_parallel_for(p.n_threads, p.n_threads, backward_block, &p);
  /* Reduce the per-thread padded accumulators into dparams (+=), dropping the padding. */
  for (int l = 0; l < m->n_layers; l++) {
    const int n_i = m->dims[l], n_o = m->dims[l + 1], pi = p.pd[l];
    float *dst = dparams + m->weight_offset[l];
    for (int i = 0; i < p.n_threads; i++) {
      const float *src = p.thr[i] + p.tile_off[2 * m->n_layers + 3] + p.dw_off[l];
      for (int o = 0; o < n_o; o++)
        for (int k = 0; k < n_i; k++)
          dst[(size_t)o * n_i + k] += src[(size_t)o * pi + k];
    }
  }
  plan_release(&p, blocks);
}
