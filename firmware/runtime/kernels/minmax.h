#ifndef MCUFORGE_KERNEL_MINMAX_H
#define MCUFORGE_KERNEL_MINMAX_H

#include <stdint.h>

/* MAXIMUM / MINIMUM of raw values, element-wise or broadcast (6-D), as TFLM compares them: no
 * requantization (the converter gives both inputs the output's quantization). */
typedef struct {
    /* Element count when both inputs have the output's shape, or when one of them is a single
     * value (`scalar` 1 or 2 says which: the front end's clamps); 0 selects the broadcast loop. */
    int32_t flat_size;
    int32_t scalar;
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
} mcuforge_minmax_params_t;

void mcuforge_maximum_s8(const mcuforge_minmax_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
void mcuforge_minimum_s8(const mcuforge_minmax_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
void mcuforge_maximum_s16(const mcuforge_minmax_params_t *p, const int16_t *input1,
                          const int16_t *input2, int16_t *output);
void mcuforge_minimum_s16(const mcuforge_minmax_params_t *p, const int16_t *input1,
                          const int16_t *input2, int16_t *output);
void mcuforge_maximum_s32(const mcuforge_minmax_params_t *p, const int32_t *input1,
                          const int32_t *input2, int32_t *output);
void mcuforge_minimum_s32(const mcuforge_minmax_params_t *p, const int32_t *input1,
                          const int32_t *input2, int32_t *output);

#endif
