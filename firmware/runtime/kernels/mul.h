#ifndef MCUFORGE_KERNEL_MUL_H
#define MCUFORGE_KERNEL_MUL_H

#include <stdint.h>

typedef struct {
    int32_t input1_offset, input2_offset, output_offset; /* -zp1, -zp2, +zp_out */
    /* input1_scale * input2_scale / output_scale */
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    /* Element count when both inputs have the output's shape; 0 selects the broadcast loop. */
    int32_t flat_size;
    /* Broadcast: output extents and per-input element strides (0 on broadcast axes), 6-D. */
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
} mcuforge_mul_params_t;

void mcuforge_mul_s8(const mcuforge_mul_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output);

#endif
