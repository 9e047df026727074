#ifndef MCUFORGE_KERNEL_POOLING_H
#define MCUFORGE_KERNEL_POOLING_H

#include <stdint.h>

/* AVERAGE_POOL_2D / MAX_POOL_2D on NHWC int8; input and output share scale and zero point. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w;
    int32_t act_min, act_max;
} mcuforge_pool_params_t;

/* Mean of the window's in-image values, rounded half away from zero, clamped. */
void mcuforge_avg_pool2d_s8(const mcuforge_pool_params_t *p, const int8_t *input, int8_t *output);

/* Maximum of the window's in-image values, clamped. */
void mcuforge_max_pool2d_s8(const mcuforge_pool_params_t *p, const int8_t *input, int8_t *output);
/* The same on int16 (16x8 models). */
void mcuforge_avg_pool2d_s16(const mcuforge_pool_params_t *p, const int16_t *input,
                             int16_t *output);
void mcuforge_max_pool2d_s16(const mcuforge_pool_params_t *p, const int16_t *input,
                             int16_t *output);

#endif
