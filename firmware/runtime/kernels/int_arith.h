/* Integer ADD, MUL and DIV without quantization (int32 tensors), with broadcasting: TFLM's
 * reference_ops Add / Mul / Div on int32_t. */
#ifndef MCUFORGE_KERNEL_INT_ARITH_H
#define MCUFORGE_KERNEL_INT_ARITH_H

#include <stdint.h>

typedef struct {
    int32_t act_min, act_max;
    /* Element count when both inputs have the output's shape, or when one of them is a single
     * value (`scalar` 1 or 2 says which); 0 selects the broadcast loop. */
    int32_t flat_size;
    int32_t scalar;
    /* Broadcast: output extents and per-input element strides (0 on broadcast axes), 6-D. */
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
} mcuforge_int_arith_params_t;

/* a + b and a * b wrap modulo 2^32; a / b truncates toward zero, and for the two divisions C
 * leaves undefined gives what Arm's SDIV does: x / 0 = 0 and INT32_MIN / -1 = INT32_MIN. */
void mcuforge_add_s32(const mcuforge_int_arith_params_t *p, const int32_t *input1,
                      const int32_t *input2, int32_t *output);
void mcuforge_mul_s32(const mcuforge_int_arith_params_t *p, const int32_t *input1,
                      const int32_t *input2, int32_t *output);
void mcuforge_div_s32(const mcuforge_int_arith_params_t *p, const int32_t *input1,
                      const int32_t *input2, int32_t *output);

#endif
