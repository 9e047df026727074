#ifndef MCUFORGE_KERNEL_SQUARED_DIFFERENCE_H
#define MCUFORGE_KERNEL_SQUARED_DIFFERENCE_H

#include <stdint.h>

/* SQUARED_DIFFERENCE, int8 / int16, element-wise or broadcast (6-D): both inputs rescaled to a
 * common scale after a left shift (7 bits for int8, none for int16), subtracted, squared,
 * requantized and clamped to the output type. */
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
} mcuforge_squared_difference_params_t;

void mcuforge_squared_difference_s8(const mcuforge_squared_difference_params_t *p,
                                    const int8_t *input1, const int8_t *input2, int8_t *output);
void mcuforge_squared_difference_s16(const mcuforge_squared_difference_params_t *p,
                                     const int16_t *input1, const int16_t *input2,
                                     int16_t *output);

#endif
