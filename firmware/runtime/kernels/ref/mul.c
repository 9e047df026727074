/* MUL, int8: TFLM's reference_integer_ops::MulElementwise / BroadcastMul6DSlow. The product of
 * the two offset inputs (at most 255 * 255) is requantized with one multiplier. */
#include "kernels/mul.h"

#include <stddef.h>

#include "kernels/broadcast.h"
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
    mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};
    const size_t n = mf_broadcast_size(p->dims);
    for (size_t o = 0; o < n; ++o) {
        output[o] = mul_one(p, input1[it.a], input2[it.b]);
        mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);
    }
}
