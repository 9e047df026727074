/* MUL, int8: TFLM's reference_integer_ops::MulElementwise / BroadcastMul6DSlow. The product of
 * the two offset inputs (at most 255 * 255) is requantized with one multiplier. */
#include "kernels/mul.h"

#include <stddef.h>

#include "quant.h"

static inline int8_t mul_one(const mcuforge_mul_params_t *p, int8_t x, int8_t y) {
    const int32_t a = p->input1_offset + x;
    const int32_t b = p->input2_offset + y;
    const int32_t raw = p->output_offset + mf_mbqm(a * b, p->output_multiplier, p->output_shift);
    return (int8_t)mf_clamp(raw, p->act_min, p->act_max);
}

void mcuforge_mul_s8(const mcuforge_mul_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output) {
    if (p->flat_size > 0) {
        for (int32_t i = 0; i < p->flat_size; ++i) {
            output[i] = mul_one(p, input1[i], input2[i]);
        }
        return;
    }
    size_t o = 0;
    for (int32_t i0 = 0; i0 < p->dims[0]; ++i0)
    for (int32_t i1 = 0; i1 < p->dims[1]; ++i1)
    for (int32_t i2 = 0; i2 < p->dims[2]; ++i2)
    for (int32_t i3 = 0; i3 < p->dims[3]; ++i3)
    for (int32_t i4 = 0; i4 < p->dims[4]; ++i4)
    for (int32_t i5 = 0; i5 < p->dims[5]; ++i5) {
        const size_t a = (size_t)(i0 * p->strides1[0] + i1 * p->strides1[1] + i2 * p->strides1[2] +
                                  i3 * p->strides1[3] + i4 * p->strides1[4] + i5 * p->strides1[5]);
        const size_t b = (size_t)(i0 * p->strides2[0] + i1 * p->strides2[1] + i2 * p->strides2[2] +
                                  i3 * p->strides2[3] + i4 * p->strides2[4] + i5 * p->strides2[5]);
        output[o++] = mul_one(p, input1[a], input2[b]);
    }
}
