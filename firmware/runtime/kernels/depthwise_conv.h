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
