/* loss.cu: the per-channel losses of NGP-SPEC §6 (Huber = delta 0.1 divided by 5, L2, L1, ...),
 * one thread per prediction, from ngp_nerf_math.h's ngp_loss_channel. */
#include "cuda/cuda_common.cuh"
#include "cuda/loss.h"
#include "common/ngp_nerf_math.h"

__global__ void loss_rgb_kernel(int type, uint32_t n, const float *pred, const float *target, float *loss,
                                float *grad) {
  const uint32_t i = ngp_thread_index();
  if (i >= n) return;
  float l = 0.0f;
  for (int c = 0; c < 3; c++) {
    float g;
    l += ngp_loss_channel((ngp_loss_type)type, pred[i * 3 + c], target[i * 3 + c], &g);
    if (grad) grad[i * 3 + c] = g;
  }
  if (loss) loss[i] = l;
}

extern "C" void ngp_loss_rgb_cuda(int type, uint32_t n, const float *pred, const float *target, float *loss,
                                  float *grad, ngp_stream stream) {
  if (n == 0) return;
  loss_rgb_kernel<<<ngp_cuda_blocks(n, NGP_CUDA_THREADS), NGP_CUDA_THREADS, 0, stream>>>(type, n, pred, target, loss,
                                                                                         grad);
}
