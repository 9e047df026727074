#ifndef MCUFORGE_KERNEL_MEAN_H
#define MCUFORGE_KERNEL_MEAN_H

#include <stdint.h>

/* MEAN or SUM on int8 / int16, requantized as TFLM's QuantizedMeanOrSum. The compiler merges neighbouring axes
 * into at most 4 kept loops (in output order) and 4 reduced loops, each (extent, input element
 * stride), padded with extent 1. */
typedef struct {
    int32_t kept_dims[4];
    int32_t kept_strides[4];
    int32_t reduced_dims[4];
    int32_t reduced_strides[4];
    int32_t count;          /* elements averaged into each output */
    int64_t zp_count;       /* input zero point * count */
    int32_t multiplier;     /* requantization, already divided by count (QuantizedMeanOrSum) */
    int32_t shift;
    int32_t output_offset;
} mcuforge_mean_params_t;

void mcuforge_mean_s8(const mcuforge_mean_params_t *p, const int8_t *input, int8_t *output);
/* The same on int16 (MEAN and SUM of 16x8 models). SUM passes the undivided multiplier. */
void mcuforge_mean_s16(const mcuforge_mean_params_t *p, const int16_t *input, int16_t *output);

#endif
