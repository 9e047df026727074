/* int16 ADD, MUL, LOGISTIC and TANH of 16x8 models: TFLM's int16 reference arithmetic. */
#include "kernels/s16_elementwise.h"

#include <stddef.h>

#include "kernels/broadcast.h"
#include "kernels/sigmoid16.h"
#include "quant.h"

static inline int16_t add_one(const mcuforge_add_params_t *p, int16_t x, int16_t y) {
    const int32_t a = (int32_t)((uint32_t)(p->input1_offset + x) << p->left_shift);
    const int32_t b = (int32_t)((uint32_t)(p->input2_offset + y) << p->left_shift);
    const int32_t sa = mf_mbqm(a, p->input1_multiplier, p->input1_shift);
    const int32_t sb = mf_mbqm(b, p->input2_multiplier, p->input2_shift);
    const int32_t raw = mf_mbqm(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int16_t)mf_clamp(raw, p->act_min, p->act_max);
}

static inline int16_t mul_one(const mcuforge_mul_params_t *p, int16_t x, int16_t y) {
    const int32_t a = p->input1_offset + x;
    const int32_t b = p->input2_offset + y;
    const int32_t raw = p->output_offset + mf_mbqm(a * b, p->output_multiplier, p->output_shift);
    return (int16_t)mf_clamp(raw, p->act_min, p->act_max);
}

#define MF_BINARY_S16(NAME, PARAMS, ONE)                                                       \
    void NAME(const PARAMS *p, const int16_t *input1, const int16_t *input2, int16_t *output) { \
        if (p->flat_size > 0) {                                                               \
            for (int32_t i = 0; i < p->flat_size; ++i) {                                      \
                output[i] = ONE(p, input1[i], input2[i]);                                     \
            }                                                                                 \
            return;                                                                           \
        }                                                                                     \
        mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};                                       \
        const size_t n = mf_broadcast_size(p->dims);                                          \
        for (size_t o = 0; o < n; ++o) {                                                      \
            output[o] = ONE(p, input1[it.a], input2[it.b]);                                   \
            mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);                        \
        }                                                                                     \
    }

MF_BINARY_S16(mcuforge_add_s16, mcuforge_add_params_t, add_one)
MF_BINARY_S16(mcuforge_mul_s16, mcuforge_mul_params_t, mul_one)

void mcuforge_logistic_s16(const mcuforge_lut16_params_t *p, const int16_t *input,
                           int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = mf_sigmoid_s16(input[i], p->input_multiplier, p->input_left_shift);
    }
}

void mcuforge_tanh_s16(const mcuforge_lut16_params_t *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = mf_tanh_s16(input[i], p->input_multiplier, p->input_left_shift);
    }
}
