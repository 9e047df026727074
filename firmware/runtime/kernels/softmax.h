#ifndef MCUFORGE_KERNEL_SOFTMAX_H
#define MCUFORGE_KERNEL_SOFTMAX_H

#include <stdint.h>

/* SOFTMAX over the last axis, int8 in, int8 out with scale 1/256 and zero point -128. */
typedef struct {
    int32_t outer_size; /* product of all but the last dimension */
    int32_t depth;      /* last dimension */
    /* beta * input_scale as a Q31 multiplier and left shift into Q5.26 (PreprocessSoftmaxScaling) */
    int32_t input_multiplier;
    int32_t input_left_shift;
    /* input differences from the row maximum below this contribute exactly zero */
    int32_t diff_min;
} mcuforge_softmax_params_t;

void mcuforge_softmax_s8(const mcuforge_softmax_params_t *p, const int8_t *input, int8_t *output);

#endif
