#ifndef MCUFORGE_KERNEL_CONV_H
#define MCUFORGE_KERNEL_CONV_H

#include <stdint.h>

/* CONV_2D geometry and requantization; all compile-time constants of one node. Tensors are NHWC,
 * weights [output_c][filter_h][filter_w][input_c]. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w, output_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w; /* top/left padding (TFLM's ComputePaddingHeightWidth) */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    int32_t act_min, act_max;
    /* Per-channel weights: one (multiplier, shift) per output channel; per-tensor: one. */
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
} mcuforge_conv_params_t;

/* out[b][y][x][o] = clamp(requant_o(sum (in + input_offset) * w + bias[o]) + output_offset),
 * taps outside the input skipped. bias may be NULL. */
void mcuforge_conv2d_s8(const mcuforge_conv_params_t *p, const int8_t *input,
                        const int8_t *weights, const int32_t *bias, int8_t *output);

#endif
