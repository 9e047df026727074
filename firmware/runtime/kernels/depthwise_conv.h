#ifndef MCUFORGE_KERNEL_DEPTHWISE_CONV_H
#define MCUFORGE_KERNEL_DEPTHWISE_CONV_H

#include <stdint.h>

/* DEPTHWISE_CONV_2D geometry and requantization. Tensors are NHWC, weights
 * [1][filter_h][filter_w][output_c] with output channel = input channel * depth_multiplier + m. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w, output_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t depth_multiplier;
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    int32_t act_min, act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
} mcuforge_dw_conv_params_t;

/* bias may be NULL. */
void mcuforge_depthwise_conv2d_s8(const mcuforge_dw_conv_params_t *p, const int8_t *input,
                                  const int8_t *weights, const int32_t *bias, int8_t *output);

#endif

/* ---- Armv7E-M DSP variant (kernels/dsp/depthwise_conv.c), depth multiplier 1 ----
 * Four channels per pass, one MAC per SMLABB/SMLATT on int16 lanes. Weights pre-extended to
 * int16 at compile time, per tap [fy][fx] `weights_stride` entries (the channel count rounded
 * up to a multiple of four, so that every group is 8-byte aligned for LDRD): the channels in
 * groups of four stored as w0 w2 w1 w3 (matching SXTB16 of four input bytes), the tail in
 * order. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, channels;
    int32_t output_h, output_w;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias; /* never NULL */
    int32_t weights_stride;
} mcuforge_dw_dsp_params_t;

void mcuforge_depthwise_conv2d_s8_dsp(const mcuforge_dw_dsp_params_t *p, const int8_t *input,
                                      const int16_t *weights, int8_t *output);
