#ifndef MCUFORGE_KERNEL_SUB_H
#define MCUFORGE_KERNEL_SUB_H

#include <stdint.h>

/* SUB, element-wise or broadcast (6-D). int8/int16: TFLM's quantized path (both inputs rescaled
 * to a common scale after a left shift of 20 or 15 bits, subtracted, requantized, clamped).
 * int32: a plain difference (wrapping), clamped by the fused activation; the multipliers,
 * shifts and offsets are unused. */
typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    /* Element count when both inputs have the output's shape; 0 selects the broadcast loop. */
    int32_t flat_size;
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
} mcuforge_sub_params_t;

void mcuforge_sub_s8(const mcuforge_sub_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output);
void mcuforge_sub_s16(const mcuforge_sub_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output);
void mcuforge_sub_s32(const mcuforge_sub_params_t *p, const int32_t *input1,
                      const int32_t *input2, int32_t *output);

#endif
