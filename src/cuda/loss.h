/* cuda/loss.h (internal): the per-channel training loss on its own (the training batch computes it
 * inside ngp_composite_train_cuda with the same shared ngp_loss_channel). */
#ifndef NGP_CUDA_LOSS_H
#define NGP_CUDA_LOSS_H

#include "cuda/cuda_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* For i < n: loss[i] = sum over 3 channels of the loss of pred [n][3] against target [n][3]
 * (ngp_loss_rgb), grad [n][3] = dL/dpred. type: ngp_loss_type. */
void ngp_loss_rgb_cuda(int type, uint32_t n, const float *pred, const float *target, float *loss, float *grad,
                       ngp_stream stream);

#ifdef __cplusplus
}
#endif
#endif
