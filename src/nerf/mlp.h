/* mlp.h (internal): the small fully-connected networks (NGP-SPEC §3): no biases, hidden layers of
 * width W with an activation, an output layer with its own activation.
 *
 * Layout: weights row-major [n_out][n_in] per layer, layers first to last, back to back in one
 * flat array (the optimizer and snapshots see one vector). Activations are sample-major [S][dim].
 * Layer dims: in -> W (n_hidden_layers times W -> W after the first) -> n_out; with 0 hidden
 * layers a single in -> n_out matrix. */
#ifndef NGP_NERF_MLP_H
#define NGP_NERF_MLP_H

#include "ngp/config.h"

#define NGP_MLP_MAX_LAYERS 16

typedef struct ngp_mlp {
  int n_in, width, n_hidden_layers, n_out;
  ngp_activation activation, output_activation;
  int n_layers;                                 /* n_hidden_layers + 1 weight matrices */
  int dims[NGP_MLP_MAX_LAYERS + 1];             /* dims[0] = n_in, ..., dims[n_layers] = n_out */
  size_t weight_offset[NGP_MLP_MAX_LAYERS + 1]; /* into params; weight_offset[n_layers] = n_params */
  size_t n_params;
} ngp_mlp;

ngp_status ngp_mlp_init(ngp_mlp *m, int n_in, int width, int n_hidden_layers, int n_out, ngp_activation act,
                        ngp_activation out_act, ngp_error *err);
/* Xavier-uniform per matrix: U(-s, s), s = sqrt(6 / (fan_in + fan_out)), from a seed. */
void ngp_mlp_init_params(const ngp_mlp *m, float *params, uint64_t seed);

/* Floats of workspace per sample that forward stores for backward: every layer's output. */
size_t ngp_mlp_acts_per_sample(const ngp_mlp *m);

/* in: [S][n_in]. out: [S][n_out] (overwritten; after the output activation). acts: [S][...]
 * workspace of ngp_mlp_acts_per_sample floats per sample (may be NULL for inference). */
void ngp_mlp_forward_ref(const ngp_mlp *m, const float *params, int S, const float *in, float *out, float *acts);
/* dout: [S][n_out] gradient w.r.t. out. dparams += gradient w.r.t. weights. din: [S][n_in]
 * gradient w.r.t. in, overwritten (NULL to skip). `in` and `acts` as given to forward. */
void ngp_mlp_backward_ref(const ngp_mlp *m, const float *params, int S, const float *in, const float *acts,
                          const float *dout, float *dparams, float *din);
/* Fast twins (tiles of samples, SIMD chosen at run time, n_threads threads; <= 0: all cores). */
void ngp_mlp_forward(const ngp_mlp *m, const float *params, int S, const float *in, float *out, float *acts,
                     int n_threads);
void ngp_mlp_backward(const ngp_mlp *m, const float *params, int S, const float *in, const float *acts,
                      const float *dout, float *dparams, float *din, int n_threads);
/* The same, where the caller allows bf16 products (with fp32 sums, mlp_bf16.c) as the CUDA trainer
 * runs its MLPs in fp16: with bf16 true they are used where the CPU has AVX512_BF16, unless
 * NGP_SIMD names an fp32 level (scalar, avx2, avx512); with false these are the calls above. */
void ngp_mlp_forward_mixed(const ngp_mlp *m, const float *params, int S, const float *in, float *out, float *acts,
                           int n_threads, bool bf16);
void ngp_mlp_backward_mixed(const ngp_mlp *m, const float *params, int S, const float *in, const float *acts,
                            const float *dout, float *dparams, float *din, int n_threads, bool bf16);
/* Whether ngp_mlp_*_mixed with bf16 true run bf16 products on this CPU under this NGP_SIMD. */
bool ngp_mlp_bf16_available(void);
/* Tests: 1 makes the fast twins copy every input, activation record and gradient through their
 * padded tile buffers (the earlier way); 0 (default) reads and writes unpadded ones in place. The
 * results are the same bit for bit; process-wide, not for use while other threads run MLPs. */
void ngp_mlp_set_staged(int staged);

/* The SIMD level the fast path uses on this CPU ("avx512", "avx2+fma", "scalar"). NGP_SIMD=scalar,
 * avx2 or avx512 in the environment forces a level (one the CPU lacks: the best one below it);
 * NGP_SIMD=avx512bf16 asks for the bf16 GEMM (mlp_bf16.c: bf16 products, fp32 sums, not
 * bit-identical to the fp32 levels), never chosen without being asked for (or allowed, by the
 * _mixed calls). */
const char *ngp_simd_level(void);

#endif
