#ifndef MCUFORGE_KERNEL_LUT_H
#define MCUFORGE_KERNEL_LUT_H

#include <stdint.h>

/* An int8 -> int8 element-wise function as a 256-entry table computed at compile time
 * (LOGISTIC, TANH): table[(uint8_t)x] is the output for input x, i.e. the table is ordered
 * 0, 1, ..., 127, -128, ..., -1. */
typedef struct {
    int32_t size; /* element count */
    const int8_t *table;
} mcuforge_lut_params_t;

void mcuforge_lut_s8(const mcuforge_lut_params_t *p, const int8_t *input, int8_t *output);

#endif
