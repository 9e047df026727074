#ifndef MCUFORGE_KERNEL_ABS_H
#define MCUFORGE_KERNEL_ABS_H

#include <stdint.h>

/* ABS of int16 values (int8 ABS is a table: kernels/lut.h). Quantized int16 has zero points 0. */
enum {
    MCUFORGE_ABS_PLAIN = 0,   /* no quantization: |x| narrowed to int16 (|-32768| wraps) */
    MCUFORGE_ABS_CLAMP = 1,   /* equal scales: |x| clamped to int16 */
    MCUFORGE_ABS_RESCALE = 2, /* |x| * input_scale / output_scale, clamped */
};

typedef struct {
    int32_t size;
    int32_t mode;
    int32_t multiplier, shift;
} mcuforge_abs_params_t;

void mcuforge_abs_s16(const mcuforge_abs_params_t *p, const int16_t *input, int16_t *output);

#endif
