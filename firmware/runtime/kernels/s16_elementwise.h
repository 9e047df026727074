#ifndef MCUFORGE_KERNEL_S16_ELEMENTWISE_H
#define MCUFORGE_KERNEL_S16_ELEMENTWISE_H

#include <stdint.h>

#include "kernels/add.h"
#include "kernels/mul.h"

/* 16x8 element-wise kernels: TFLM's int16 ADD (the general rescaling with a left shift of 15),
 * MUL (zero points 0), LOGISTIC and TANH (table interpolation, kernels/sigmoid16.h) and SOFTMAX.
 * ADD and MUL take the int8 kernels' params structs. */
void mcuforge_add_s16(const mcuforge_add_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output);
void mcuforge_mul_s16(const mcuforge_mul_params_t *p, const int16_t *input1,
                      const int16_t *input2, int16_t *output);

typedef struct {
    int32_t size;
    int32_t input_multiplier; /* 0: power-of-two input scale */
    int32_t input_left_shift;
} mcuforge_lut16_params_t;

void mcuforge_logistic_s16(const mcuforge_lut16_params_t *p, const int16_t *input,
                           int16_t *output);
void mcuforge_tanh_s16(const mcuforge_lut16_params_t *p, const int16_t *input, int16_t *output);

/* SOFTMAX int16 -> int16 over the last axis (output scale 1/32768): TFLM's SoftmaxInt16 with its
 * two 513-entry interpolation tables, computed by the compiler. */
typedef struct {
    int32_t outer_size, depth;
    int32_t input_multiplier, input_left_shift; /* beta * scale into [-65535, 0] steps */
    const int16_t *exp_lut;   /* exp(x) for x in [-10, 0] */
    const int16_t *recip_lut; /* 1 / (1 + x) for x in [0, 1] */
} mcuforge_softmax16_params_t;

void mcuforge_softmax_s16(const mcuforge_softmax16_params_t *p, const int16_t *input,
                          int16_t *output);

#endif
