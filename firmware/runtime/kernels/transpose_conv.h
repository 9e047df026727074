#ifndef MCUFORGE_KERNEL_TRANSPOSE_CONV_H
#define MCUFORGE_KERNEL_TRANSPOSE_CONV_H

#include <stdint.h>

typedef struct {
    int32_t batches;
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w, output_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
} mcuforge_transpose_conv_params_t;

/* TRANSPOSE_CONV, int8: each output is the sum of the input pixels whose scattered filter taps
 * land on it (TFLM scatters into an int32 buffer; integer sums do not depend on the order), then
 * bias, per-channel requantization and the clamp. weights [out_c][h][w][in_c]; bias may be
 * NULL. */
void mcuforge_transpose_conv_s8(const mcuforge_transpose_conv_params_t *p, const int8_t *input,
                                const int8_t *weights, const int32_t *bias, int8_t *output);

#endif
