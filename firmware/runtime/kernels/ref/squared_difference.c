/* SQUARED_DIFFERENCE: TFLM's quantized SquaredDifference (squared_difference.cc). */
#include "kernels/squared_difference.h"

#include <stddef.h>

#include "kernels/broadcast.h"
#include "quant.h"

static inline int32_t squared_difference(const mcuforge_squared_difference_params_t *p,
                                         int32_t x, int32_t y) {
    const int32_t a = (int32_t)((uint32_t)(p->input1_offset + x) << p->left_shift);
    const int32_t b = (int32_t)((uint32_t)(p->input2_offset + y) << p->left_shift);
    const int32_t sa = mf_mbqm(a, p->input1_multiplier, p->input1_shift);
    const int32_t sb = mf_mbqm(b, p->input2_multiplier, p->input2_shift);
    /* |sa - sb| <= 2^15 for both types (each scaled input is at most half its shifted value),
     * so the square fits in int32 as it does in the reference. */
    const int32_t d = sa - sb;
    const int32_t raw = mf_mbqm(d * d, p->output_multiplier, p->output_shift) + p->output_offset;
    return mf_clamp(raw, p->act_min, p->act_max);
}

#define MF_SQUARED_DIFFERENCE(name, type)                                                      \
    void name(const mcuforge_squared_difference_params_t *p, const type *input1,              \
              const type *input2, type *output) {                                              \
        if (p->flat_size > 0) {                                                                \
            for (int32_t i = 0; i < p->flat_size; ++i) {                                       \
                output[i] = (type)squared_difference(p, input1[i], input2[i]);                 \
            }                                                                                  \
            return;                                                                            \
        }                                                                                      \
        mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};                                        \
        const size_t n = mf_broadcast_size(p->dims);                                           \
        for (size_t o = 0; o < n; ++o) {                                                       \
            output[o] = (type)squared_difference(p, input1[it.a], input2[it.b]);               \
            mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);                         \
        }                                                                                      \
    }

MF_SQUARED_DIFFERENCE(mcuforge_squared_difference_s8, int8_t)
MF_SQUARED_DIFFERENCE(mcuforge_squared_difference_s16, int16_t)
