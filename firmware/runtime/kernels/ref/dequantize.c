/* DEQUANTIZE, int8 -> float32.
 *
 * TFLM multiplies in double: (float)((double)scale * (x - zero_point)). The float32 scale has a
 * 24-bit significand and |x - zero_point| <= 255 has 9 bits, so that double product is exact
 * and the only rounding is the final conversion to float. One single-precision multiply of the
 * same exact operands rounds the same exact product once, to the same float: identical bits
 * without double arithmetic (which a Cortex-M4F would emulate in software), and with a single
 * multiply there is nothing for -ffp-contract to fuse. */
#include "kernels/dequantize.h"

void mcuforge_dequantize_s8_f32(const mcuforge_dequantize_params_t *p, const int8_t *input,
                                float *output) {
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = scale * (float)((int32_t)input[i] - p->zero_point);
    }
}

void mcuforge_dequantize_s16_f32(const mcuforge_dequantize_params_t *p, const int16_t *input,
                                 float *output) {
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = scale * (float)((int32_t)input[i] - p->zero_point);
    }
}
