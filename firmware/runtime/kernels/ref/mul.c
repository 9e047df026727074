/* MUL, int8: TFLM's reference_integer_ops::MulElementwise / BroadcastMul6DSlow. The product of
 * the two offset inputs (at most 255 * 255) is requantized with one multiplier. A vector
 * repeated over rows (a per-channel scale) skips the 6-D broadcast loop: the same products in
 * the same order, a fifth fewer instructions on a Cortex-M4 (the requantization is the rest). */
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
    if (p->row_size > 0) {
        /* The product commutes: the vector's offset goes with the vector, whichever input. */
        const int first = p->vector_input == 1;
        const int8_t *vec = first ? input1 : input2, *full = first ? input2 : input1;
        const int32_t vec_offset = first ? p->input1_offset : p->input2_offset;
        const int32_t full_offset = first ? p->input2_offset : p->input1_offset;
        for (int32_t r = 0; r < p->rows; ++r) {
            for (int32_t c = 0; c < p->row_size; ++c) {
                const int32_t prod = (full_offset + full[c]) * (vec_offset + vec[c]);
                const int32_t raw = p->output_offset +
                                    mf_mbqm(prod, p->output_multiplier, p->output_shift);
                output[c] = (int8_t)mf_clamp(raw, p->act_min, p->act_max);
            }
            full += p->row_size;
            output += p->row_size;
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
