#ifndef MCUFORGE_KERNEL_REDUCE_H
#define MCUFORGE_KERNEL_REDUCE_H

#include <stdint.h>

/* REDUCE_MAX / REDUCE_MIN on int8 (TFLM requires the output to keep the input's quantization,
 * so no requantization). Loops as for MEAN: at most 4 kept loops in output order and 4 reduced
 * loops, each (extent, input element stride), padded with extent 1. */
typedef struct {
    int32_t kept_dims[4];
    int32_t kept_strides[4];
    int32_t reduced_dims[4];
    int32_t reduced_strides[4];
    int32_t is_min; /* 0: maximum, 1: minimum */
} mcuforge_reduce_params_t;

void mcuforge_reduce_minmax_s8(const mcuforge_reduce_params_t *p, const int8_t *input,
                               int8_t *output);

#endif
