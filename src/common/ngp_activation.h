/* ngp_activation.h: the MLP activation functions and their derivatives, as tiny-cuda-nn defines
 * them (tcnn common_device.h: warp_activation, warp_activation_backward[_in]).
 *
 * One copy of the maths for the CPU reference, the fast CPU path and the CUDA kernels: every
 * function is `static inline` under NGP_HD, so this header compiles as C11 and as CUDA C++.
 *
 * Facts carried over from tcnn:
 *   - LeakyReLU has slope 0.01 below zero.
 *   - Squareplus and Softplus are sharpened by K = 10: squareplus(x) = (kx + sqrt((kx)^2 + 4)) / (2k),
 *     softplus(x) = log(1 + exp(kx)) / k.
 *   - The backward pass of tcnn's MLPs works from the layer's OUTPUT y (the pre-activation is not
 *     stored), so the derivatives below are written in terms of y where the activation is
 *     invertible: ReLU/LeakyReLU y > 0, Exponential y, Sigmoid y(1-y), Tanh 1-y^2,
 *     Squareplus (ky)^2/((ky)^2+1), Softplus 1-exp(-ky). Sine is not invertible from its output
 *     (tcnn leaves it unimplemented there); ngp_act_derivative_in gives cos(x) from the input, and
 *     our MLP stores Sine layers' pre-activations for it (see mlp.h / ngp_mlp_acts_per_sample).
 *   - The ReLU derivative at exactly 0 is 0 (tcnn tests `> 0`). */
#ifndef NGP_ACTIVATION_H
#define NGP_ACTIVATION_H

#include "ngp/config.h"
#include "common/ngp_math.h"

/* tcnn's K_ACT: the sharpness of Squareplus and Softplus. */
#define NGP_ACT_K 10.0f
#define NGP_LEAKY_RELU_SLOPE 0.01f

static inline NGP_HD float ngp_act_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* y = act(x). An activation outside the enum acts as None. */
static inline NGP_HD float ngp_act_forward(ngp_activation a, float x) {
  switch (a) {
  case NGP_ACT_RELU: return x > 0.0f ? x : 0.0f;
  case NGP_ACT_LEAKY_RELU: return x > 0.0f ? x : x * NGP_LEAKY_RELU_SLOPE;
  case NGP_ACT_EXPONENTIAL: return expf(x);
  case NGP_ACT_SINE: return sinf(x);
  case NGP_ACT_SIGMOID: return ngp_act_sigmoid(x);
  case NGP_ACT_SQUAREPLUS: {
    float kx = x * NGP_ACT_K;
    return 0.5f * (kx + sqrtf(kx * kx + 4.0f)) / NGP_ACT_K;
  }
  case NGP_ACT_SOFTPLUS: return logf(expf(x * NGP_ACT_K) + 1.0f) / NGP_ACT_K;
  case NGP_ACT_TANH: return tanhf(x);
  case NGP_ACT_NONE:
  default: return x;
  }
}

/* dy/dx from the output y = act(x) (tcnn warp_activation_backward). Not valid for Sine (returns
 * 0 there: use ngp_act_derivative_in); every other activation is invertible. */
static inline NGP_HD float ngp_act_derivative_out(ngp_activation a, float y) {
  switch (a) {
  case NGP_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
  case NGP_ACT_LEAKY_RELU: return y > 0.0f ? 1.0f : NGP_LEAKY_RELU_SLOPE;
  case NGP_ACT_EXPONENTIAL: return y;
  case NGP_ACT_SINE: return 0.0f;
  case NGP_ACT_SIGMOID: return y * (1.0f - y);
  case NGP_ACT_SQUAREPLUS: {
    /* ky solves (ky)^2 - kx*ky - 1 = 0, so d/dx = (ky)^2 / ((ky)^2 + 1). */
    float ky = y * NGP_ACT_K;
    return ky * ky / (ky * ky + 1.0f);
  }
  case NGP_ACT_SOFTPLUS: return 1.0f - expf(-y * NGP_ACT_K); /* = e^{kx} / (e^{kx} + 1) */
  case NGP_ACT_TANH: return 1.0f - y * y;
  case NGP_ACT_NONE:
  default: return 1.0f;
  }
}

/* dy/dx from the input x (tcnn warp_activation_backward_in). */
static inline NGP_HD float ngp_act_derivative_in(ngp_activation a, float x) {
  switch (a) {
  case NGP_ACT_RELU: return x > 0.0f ? 1.0f : 0.0f;
  case NGP_ACT_LEAKY_RELU: return x > 0.0f ? 1.0f : NGP_LEAKY_RELU_SLOPE;
  case NGP_ACT_EXPONENTIAL: return expf(x);
  case NGP_ACT_SINE: return cosf(x);
  case NGP_ACT_SIGMOID: {
    float s = ngp_act_sigmoid(x);
    return s * (1.0f - s);
  }
  case NGP_ACT_SQUAREPLUS: {
    float kx = x * NGP_ACT_K;
    float ky = 0.5f * (kx + sqrtf(kx * kx + 4.0f));
    return ky * ky / (ky * ky + 1.0f);
  }
  case NGP_ACT_SOFTPLUS: {
    float e = expf(x * NGP_ACT_K);
    return e / (e + 1.0f);
  }
  case NGP_ACT_TANH: {
    float t = tanhf(x);
    return 1.0f - t * t;
  }
  case NGP_ACT_NONE:
  default: return 1.0f;
  }
}

/* Whether the backward pass needs the pre-activation x (the derivative cannot be had from y). */
static inline NGP_HD int ngp_act_needs_input(ngp_activation a) { return a == NGP_ACT_SINE; }

/* The derivative the MLP backward uses: from the output y, or from the stored pre-activation x
 * for activations that need it (x is ignored otherwise). */
static inline NGP_HD float ngp_act_derivative(ngp_activation a, float y, float x) {
  return ngp_act_needs_input(a) ? ngp_act_derivative_in(a, x) : ngp_act_derivative_out(a, y);
}

#endif /* NGP_ACTIVATION_H */
