/* optimizer.c: tiny-cuda-nn's optimizer chain as instant-ngp configures it (NGP-SPEC §7):
 * Ema(ExponentialDecay(Adam)), with Adam's sparse behaviour on hash-table entries.
 *
 * Per step t (1-based, after the increment):
 *   lr     = learning_rate * lr_factor, lr_factor *= decay_base when the step count before the
 *            increment is >= decay_start, a multiple of decay_interval past it, and <= decay_end;
 *   g      = grad / loss_scale (+ l2_reg * w for matrix params only);
 *            a non-matrix param with g == 0 is skipped entirely (moments, counter, weight);
 *   m, v   = beta1 m + (1-beta1) g,  beta2 v + (1-beta2) g^2;  k = ++t_i (the param's own count)
 *   w     -= lr * sqrt(1-beta2^k)/(1-beta1^k) * m / (sqrt(v) + epsilon);
 *   EMA    A_t = d A_{t-1} + (1-d) w_t, read as A_t / (1 - d^t) (tcnn's debiased EMA, A_0 = 0).
 *
 * The EMA is lazy for hash entries: a weight nobody touches stays constant, and over constant w
 * the recursion has the closed form A_t = d^(t-s) A_s + (1 - d^(t-s)) w. So ema[i] holds A at
 * step ema_step[i], an entry is caught up just before Adam changes its weight, and
 * ngp_optimizer_ema() catches everything up. A step then costs the matrix params plus what the
 * batch touched, not the 11.7M-entry table. */
#include "nerf/optimizer.h"

#include "common/ngp_half.h"
#include "common/ngp_optimizer_math.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "nerf/mlp.h"
#include "nerf/optimizer_simd.h"

/* Tables indexed by a step count k <= step: Adam's bias correction sqrt(1-b2^k)/(1-b1^k) and
 * the EMA's d^k. Per-parameter counters make these per-parameter powf calls otherwise (two per
 * parameter per step); a table grown by one entry per step replaces them. Computed in double. */
typedef struct opt_impl {
  float *bias_corr; /* [cap] */
  double *ema_pow;  /* [cap] d^k */
  size_t cap;
} opt_impl;

static int impl_reserve(ngp_optimizer *o, size_t k) {
  opt_impl *im = o->impl;
  if (k < im->cap) return 1;
  size_t cap = im->cap ? im->cap : 1024;
  while (cap <= k)
    cap *= 2;
  float *bc = realloc(im->bias_corr, cap * sizeof *bc);
  if (!bc) return 0;
  im->bias_corr = bc;
  double *ep = realloc(im->ema_pow, cap * sizeof *ep);
  if (!ep) return 0;
  im->ema_pow = ep;
  const double d = (double)o->cfg.ema_decay;
  for (size_t i = im->cap; i < cap; i++) {
    bc[i] = ngp_adam_bias_correction(o->cfg.beta1, o->cfg.beta2, (uint32_t)i);
    ep[i] = pow(d, (double)i);
  }
  im->cap = cap;
  return 1;
}

/* Table lookups, with a direct computation past the table (only if growing it failed). */
static float bias_corr(const ngp_optimizer *o, uint32_t k) {
  const opt_impl *im = o->impl;
  if (k < im->cap) return im->bias_corr[k];
  return ngp_adam_bias_correction(o->cfg.beta1, o->cfg.beta2, k);
}

static double ema_pow(const ngp_optimizer *o, uint32_t n) {
  const opt_impl *im = o->impl;
  return n < im->cap ? im->ema_pow[n] : pow((double)o->cfg.ema_decay, (double)n);
}

ngp_status ngp_optimizer_init(ngp_optimizer *o, const ngp_optimizer_config *cfg, size_t n_matrix, size_t n_params,
                              int entry_size, const float *params, ngp_error *err) {
  (void)params; /* A_0 = 0 whatever the weights: the debiased EMA reads w itself until updated */
  memset(o, 0, sizeof *o);
  if (n_matrix > n_params)
    return ngp_error_set(err, NGP_ERR_INVALID, "optimizer: %zu matrix parameters but only %zu parameters in all",
                         n_matrix, n_params);
  if (entry_size < 1 || (n_params - n_matrix) % (size_t)entry_size != 0)
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "optimizer: %zu non-matrix parameters are not whole entries of %d floats; pass the hash "
                         "grid's n_features as entry_size",
                         n_params - n_matrix, entry_size);
  if (!(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f) || !(cfg->beta2 >= 0.0f && cfg->beta2 < 1.0f))
    return ngp_error_set(err, NGP_ERR_INVALID, "optimizer: Adam beta1 = %g, beta2 = %g; both must be in [0, 1)",
                         (double)cfg->beta1, (double)cfg->beta2);
  if (cfg->decay_enabled && (cfg->decay_interval < 1 || cfg->decay_start < 0))
    return ngp_error_set(err, NGP_ERR_INVALID,
                         "optimizer: ExponentialDecay decay_interval = %d, decay_start = %d; the interval must be "
                         ">= 1 and the start >= 0",
                         cfg->decay_interval, cfg->decay_start);
  if (cfg->ema_enabled && !(cfg->ema_decay >= 0.0f && cfg->ema_decay < 1.0f))
    return ngp_error_set(err, NGP_ERR_INVALID, "optimizer: Ema decay = %g, must be in [0, 1) (instant-ngp uses 0.95)",
                         (double)cfg->ema_decay);
  o->cfg = *cfg;
  o->n_params = n_params;
  o->n_matrix = n_matrix;
  o->entry_size = entry_size;
  o->lr_factor = 1.0f;
  size_t n = n_params ? n_params : 1;
  o->m = calloc(n, sizeof *o->m);
  o->v = calloc(n, sizeof *o->v);
  o->t = calloc(n, sizeof *o->t);
  o->impl = calloc(1, sizeof(opt_impl));
  int ok = o->m && o->v && o->t && o->impl;
  if (ok && cfg->ema_enabled) {
    o->ema = calloc(n, sizeof *o->ema);
    o->ema_step = calloc(n, sizeof *o->ema_step);
    ok = o->ema && o->ema_step;
  }
  if (ok) ok = impl_reserve(o, 1024);
  if (!ok) {
    ngp_optimizer_free(o);
    return ngp_error_set(err, NGP_ERR_NOMEM,
                         "optimizer: out of memory for the Adam/EMA state of %zu parameters (%zu MB); use a smaller "
                         "log2_hashmap_size",
                         n_params, n_params * 20 / 1000000);
  }
  return NGP_OK;
}

void ngp_optimizer_free(ngp_optimizer *o) {
  if (!o) return;
  free(o->m);
  free(o->v);
  free(o->t);
  free(o->ema);
  free(o->ema_step);
  opt_impl *im = o->impl;
  if (im) {
    free(im->bias_corr);
    free(im->ema_pow);
    free(im);
  }
  memset(o, 0, sizeof *o);
}

/* ExponentialDecay's rule, applied before the step counted by `step` (0-based) runs. */
static int decays_at(const ngp_optimizer_config *c, int step) {
  return ngp_lr_decays_at(c->decay_enabled, c->decay_start, c->decay_interval, c->decay_end, step);
}

float ngp_optimizer_learning_rate(const ngp_optimizer *o) {
  float f = o->lr_factor;
  if (decays_at(&o->cfg, o->step)) f *= o->cfg.decay_base;
  return o->cfg.learning_rate * f;
}

typedef struct step_ctx {
  ngp_optimizer *o;
  float *params, *grads;
  const uint32_t *list; /* touched entries, or NULL for all */
  size_t n_entries;
  const uint64_t *bits; /* or the touched bitmap, swept in address order */
  size_t n_words;
  float inv_scale, lr;
  uint32_t t;           /* this step, 1-based */
  ngp_adam_sweep sweep; /* the bitmap sweep's vectorised twin, when sweep.bits is set */
  void (*sweep_fn)(const ngp_adam_sweep *, size_t, size_t);
} step_ctx;

#define ENTRY_CHUNK 8192 /* touched entries per parallel work item */

/* One parameter's Adam update (with the EMA kept current around it). g already unscaled. */
static inline void adam_one(const step_ctx *c, size_t i, float g) {
  ngp_optimizer *o = c->o;
  const ngp_optimizer_config *cfg = &o->cfg;
  float w = c->params[i];
  if (o->ema) {
    /* Catch up to step t-1 over the constant old weight: A = d^n A + (1 - d^n) w. */
    uint32_t n = c->t - 1 - o->ema_step[i];
    if (n > 0) {
      double dn = ema_pow(o, n);
      o->ema[i] = (float)(dn * (double)o->ema[i] + (1.0 - dn) * (double)w);
    }
  }
  uint32_t k = ++o->t[i];
  w = ngp_adam_update(w, g, &o->m[i], &o->v[i], cfg->beta1, cfg->beta2, c->lr, bias_corr(o, k), cfg->epsilon);
  c->params[i] = w;
  if (o->half && i >= o->n_matrix) o->half[i - o->n_matrix] = ngp_f32_to_f16(w);
  if (o->ema) {
    o->ema[i] = ngp_ema_update(o->ema[i], w, cfg->ema_decay);
    o->ema_step[i] = c->t;
  }
}

/* One hash entry: its F parameters, each skipped if its gradient is exactly zero. */
static inline void step_entry(const step_ctx *c, size_t entry) {
  const ngp_optimizer *o = c->o;
  const int F = o->entry_size;
  size_t base = o->n_matrix + entry * (size_t)F;
  for (int j = 0; j < F; j++) {
    size_t i = base + (size_t)j;
    float g = c->grads[i] * c->inv_scale;
    c->grads[i] = 0.0f;      /* consumed */
    if (g == 0.0f) continue; /* tcnn skip_zero_grad for non-matrix params: nothing changes */
    adam_one(c, i, g);
  }
}

/* Touched entries visited through the bitmap, in address order: the list is in sample order,
 * i.e. random, and seven arrays are read per parameter, so sequential access matters a lot. */
#define WORD_CHUNK 1024 /* bitmap words (64 entries each) per parallel work item */
static void step_bitmap(int chunk, int thread, void *user) {
  (void)thread;
  const step_ctx *c = user;
  size_t w0 = (size_t)chunk * WORD_CHUNK, w1 = w0 + WORD_CHUNK < c->n_words ? w0 + WORD_CHUNK : c->n_words;
#if defined(__x86_64__) || defined(_M_X64)
  if (c->sweep.bits) {
    c->sweep_fn(&c->sweep, w0, w1);
    return;
  }
#endif
  for (size_t w = w0; w < w1; w++) {
    uint64_t bits = c->bits[w];
    while (bits) {
      int b = __builtin_ctzll(bits);
      bits &= bits - 1;
      step_entry(c, w * 64 + (size_t)b);
    }
  }
}

/* The vectorised sweep, where the CPU has AVX-512F or AVX2 (and NGP_SIMD allows it: the MLPs'
 * switch, see nerf/mlp.h), a vector holds whole entries (16 % F == 0, 8 % F == 0) and the tables
 * cover this step (they do unless growing them failed). It gives the scalar sweep's results bit for
 * bit. */
static void sweep_setup(step_ctx *c) {
#if defined(__x86_64__) || defined(_M_X64)
  ngp_optimizer *o = c->o;
  const opt_impl *im = o->impl;
  const char *lvl = ngp_simd_level();
  if (im->cap <= (size_t)c->t) return;
  if (strncmp(lvl, "avx512", 6) == 0 && 16 % o->entry_size == 0)
    c->sweep_fn = ngp_adam_sweep_avx512;
  else if (strncmp(lvl, "avx", 3) == 0 && 8 % o->entry_size == 0)
    c->sweep_fn = ngp_adam_sweep_avx2;
  else
    return;
  ngp_adam_sweep *a = &c->sweep;
  a->params = c->params, a->grads = c->grads, a->m = o->m, a->v = o->v, a->t = o->t;
  a->ema = o->ema, a->ema_step = o->ema_step;
  a->bias_corr = im->bias_corr, a->ema_pow = im->ema_pow;
  a->n_matrix = o->n_matrix, a->F = o->entry_size;
  a->inv_scale = c->inv_scale, a->lr = c->lr;
  a->beta1 = o->cfg.beta1, a->beta2 = o->cfg.beta2, a->eps = o->cfg.epsilon, a->ema_decay = o->cfg.ema_decay;
  a->t_now = c->t;
  a->bits = c->bits;
  a->half = o->half;
#else
  (void)c;
#endif
}

static void step_entries(int chunk, int thread, void *user) {
  (void)thread;
  const step_ctx *c = user;
  const size_t e0 = (size_t)chunk * ENTRY_CHUNK;
  const size_t e1 = e0 + ENTRY_CHUNK < c->n_entries ? e0 + ENTRY_CHUNK : c->n_entries;
  for (size_t e = e0; e < e1; e++)
    step_entry(c, c->list ? c->list[e] : e);
}

void ngp_optimizer_keep_f16(ngp_optimizer *o, uint16_t *half) { o->half = half; }

/* params/grads: [n_params]; touched: the hash entries the batch touched (NULL: visit every entry,
 * still skipping zero gradients). grads of the matrix params and of the visited entries are
 * reset to 0. */
void ngp_optimizer_step(ngp_optimizer *o, float *params, float *grads, const ngp_touched *touched, float loss_scale,
                        int n_threads) {
  if (decays_at(&o->cfg, o->step)) o->lr_factor *= o->cfg.decay_base;
  step_ctx c;
  memset(&c, 0, sizeof c);
  c.o = o;
  c.params = params;
  c.grads = grads;
  c.inv_scale = 1.0f / loss_scale;
  c.lr = o->cfg.learning_rate * o->lr_factor;
  c.t = (uint32_t)++o->step;
  /* Counters only grow to the global step, so the tables need step + 1 entries (doubling: a
   * reallocation every power of two). If that fails the lookups compute directly. */
  (void)impl_reserve(o, (size_t)c.t);
  /* Matrix params: dense, every step, L2 on the weights (tiny: ~10k floats, one thread). */
  for (size_t i = 0; i < o->n_matrix; i++) {
    float g = grads[i] * c.inv_scale + o->cfg.l2_reg * params[i];
    grads[i] = 0.0f;
    adam_one(&c, i, g);
  }
  /* Hash entries: only the touched ones; distinct entries, so chunks run in parallel safely. */
  const size_t n_all = o->entry_size ? (o->n_params - o->n_matrix) / (size_t)o->entry_size : 0;
  c.list = touched ? touched->list : NULL;
  c.n_entries = touched ? touched->count : n_all;
  if (touched && touched->bits && touched->count > touched->n_entries / 256) {
    /* Many entries: sweep the bitmap in address order (a sparse batch keeps the list). */
    c.bits = touched->bits;
    c.n_words = (touched->n_entries + 63) / 64;
    sweep_setup(&c);
    ngp_parallel_for((int)((c.n_words + WORD_CHUNK - 1) / WORD_CHUNK), n_threads, step_bitmap, &c);
    return;
  }
  size_t n_chunks = (c.n_entries + ENTRY_CHUNK - 1) / ENTRY_CHUNK;
  if (n_chunks == 1)
    step_entries(0, 0, &c);
  else if (n_chunks > 1)
    ngp_parallel_for((int)n_chunks, n_threads, step_entries, &c);
}

typedef struct ema_ctx {
  ngp_optimizer *o;
  const float *params;
  float *out;
  size_t n;
  double debias; /* 1 / (1 - d^t) */
} ema_ctx;

#define EMA_CHUNK 65536

static void ema_chunk(int chunk, int thread, void *user) {
  (void)thread;
  const ema_ctx *c = user;
  ngp_optimizer *o = c->o;
  const uint32_t t = (uint32_t)o->step;
  size_t i0 = (size_t)chunk * EMA_CHUNK, i1 = i0 + EMA_CHUNK < c->n ? i0 + EMA_CHUNK : c->n;
  for (size_t i = i0; i < i1; i++) {
    uint32_t n = t - o->ema_step[i];
    if (n > 0) {
      double dn = ema_pow(o, n);
      o->ema[i] = (float)(dn * (double)o->ema[i] + (1.0 - dn) * (double)c->params[i]);
      o->ema_step[i] = t;
    }
    c->out[i] = (float)((double)o->ema[i] * c->debias);
  }
}

void ngp_optimizer_ema(ngp_optimizer *o, const float *params, float *out) {
  /* params, out: [n_params]. Without an Ema in the chain, or before the first step, the weights
   * themselves. */
  if (!o->ema || o->step == 0) {
    if (out != params) memcpy(out, params, o->n_params * sizeof(float));
    return;
  }
  ema_ctx c = {o, params, out, o->n_params, 1.0 / (1.0 - ema_pow(o, (uint32_t)o->step))};
  int n_chunks = (int)((o->n_params + EMA_CHUNK - 1) / EMA_CHUNK);
  ngp_parallel_for(n_chunks, 0, ema_chunk, &c);
}
