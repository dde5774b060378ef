/* cuda/mlp.h (internal): the fused MLPs on the GPU, twins of mlp.h's ngp_mlp_forward_ref /
 * ngp_mlp_backward_ref (no biases, hidden activation, output activation).
 *
 * Precision (as tiny-cuda-nn's FullyFusedMLP, except the accumulation): weights, inputs and
 * activations in fp16, products on tensor cores (WMMA 16x16x16) accumulated in fp32; the fp32
 * master weights and their gradients stay in the CPU layout. Expect forward outputs within about
 * 1e-2 (absolute, for inputs and weights of order 1) of the fp32 reference: every fp16 operand
 * carries a relative rounding error of up to 2^-11, and a layer sums 64 such products.
 *
 * Structure: a block of 4 warps takes 256 samples; each warp runs strips of 16 samples through all
 * layers with the strip's activations in shared memory and the (padded fp16) weights of every layer
 * in shared memory, so a sample's activations never leave the SM between layers. The backward pass
 * runs the strips back through the layers the same way, storing each layer's gradient dz (fp16);
 * the weight gradients dW = dz^T x are then one tensor-core GEMM over all samples per layer (split
 * over blocks of samples, each writing its partial sums, then one reduction into the gradient). */
#ifndef NGP_CUDA_MLP_H
#define NGP_CUDA_MLP_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif
#include "nerf/mlp.h"

/* The kernels' layout of a CPU MLP; NGP_ERR_UNSUPPORTED (naming the limit) if a layer is wider
 * than NGP_CUDA_MLP_MAX_DIM, it has more than NGP_CUDA_MLP_MAX_LAYERS - 1 hidden layers, or an
 * activation is Sine (whose derivative needs the pre-activation, which these kernels do not keep).
 * `what` names the network in messages ("network", "rgb_network"). */
ngp_status ngp_cuda_mlp_from(ngp_cuda_mlp *d, const ngp_mlp *m, const char *what, ngp_error *err);
/* fp16 weights of the padded layout. */
size_t ngp_cuda_mlp_half_count(const ngp_cuda_mlp *d);
/* fp16 activations stored per sample by the training forward (and dz per sample by backward). */
size_t ngp_cuda_mlp_acts_per_sample(const ngp_cuda_mlp *d);

/* Whether the fused kernels apply the hidden layers' activations on the accumulator fragments on
 * the current device (its fp32 and fp16 WMMA accumulator fragments hold the same elements at the
 * same indices, which each kernel checks per warp; mlp.cu): 1 yes, 0 no (the fp32 scratch path,
 * same results, slower), -1 the check could not run. Launches one warp and waits (tests). */
int ngp_mlp_fragment_path_cuda(void);

/* w16 [ngp_cuda_mlp_half_count] = the fp32 weights params (CPU layout) in fp16, zero-padded. */
void ngp_mlp_weights_to_half_cuda(const ngp_cuda_mlp *d, const float *params, ngp_half *w16, ngp_stream stream);

/* Forward on S = min(*d_count, max) samples. in: [S][ld_in] fp16 with at least pdims[0] columns
 * (padding columns finite; their weights are zero) and rows up to round_up(S, 16) finite (as the
 * encoders write them). acts (may be NULL: inference): [ngp_cuda_mlp_acts_per_sample][s_cap] fp16,
 * layer-major, for backward. Outputs after the output activation: out32 [S][ld_out32] fp32, its
 * first n_out32 columns (may be NULL); out16 [.][ld_out16] fp16, the first n_out16 columns, for
 * every row of round_up(S, 16) (may be NULL). */
void ngp_mlp_forward_cuda(const ngp_cuda_mlp *d, const ngp_half *w16, const uint32_t *d_count, uint32_t max,
                          const ngp_half *in, int ld_in, ngp_half *acts, uint32_t s_cap, float *out32, int ld_out32,
                          int n_out32, ngp_half *out16, int ld_out16, int n_out16, ngp_stream stream);

/* Backward of the training forward (same in/acts/s_cap). dout: [S][ld_dout] fp32, the gradient
 * w.r.t. the outputs, its first n_dout columns (the others count as 0); dout_add0 (may be NULL):
 * [S] fp32 added to column 0. Gradients are multiplied by loss_scale (or *d_loss_scale, a device
 * scalar, when not NULL: the trainer's ngp_loss_scale_for) before they are rounded to fp16 (fp16
 * flushes below 6e-8; above 65504 a gradient becomes infinite, not clipped, so that a non-finite
 * guard sees it) and divided by it again in din and in ngp_mlp_weight_grad_cuda's scale. dz: same shape as acts,
 * written. din (may be NULL): [S][ld_din] fp32, the gradient w.r.t. the input (first dims[0] columns), overwritten. */
void ngp_mlp_backward_cuda(const ngp_cuda_mlp *d, const ngp_half *w16, const uint32_t *d_count, uint32_t max,
                           const float *dout, int ld_dout, int n_dout, const float *dout_add0, float loss_scale,
                           const float *d_loss_scale, const ngp_half *acts, uint32_t s_cap, ngp_half *dz, float *din,
                           int ld_din, ngp_stream stream);

/* dparams (fp32, CPU layout) += scale / *d_div * dz^T x for every layer (d_div NULL: 1), over the S
 * samples (x: the input `in` for layer 0, stored activations above). Blocks of samples write
 * partial sums into work [ngp_mlp_weight_grad_work(d, max)] (fp32, device, 32-byte aligned; its
 * contents are scratch), then one pass adds their sum to dparams, summed in a fixed order: no
 * atomics, the same result every run. Pass scale = 1 / loss_scale, or scale = 1 and d_div = the
 * device loss scale, to get the true gradient. Calls on one stream may share work. */
size_t ngp_mlp_weight_grad_work(const ngp_cuda_mlp *d, uint32_t max);
void ngp_mlp_weight_grad_cuda(const ngp_cuda_mlp *d, const uint32_t *d_count, uint32_t max, const ngp_half *in,
                              int ld_in, const ngp_half *acts, const ngp_half *dz, uint32_t s_cap, float *dparams,
                              float scale, const float *d_div, float *work, ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
