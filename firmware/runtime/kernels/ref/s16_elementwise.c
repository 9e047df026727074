/* int16 ADD, MUL, LOGISTIC, TANH and SOFTMAX of 16x8 models: TFLM's int16 reference arithmetic. */
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

/* TFLM's LUTLookup: the top 9 bits pick a segment, the low 7 interpolate linearly. */
static int16_t lut_lookup(int16_t value, const int16_t *lut) {
    const uint16_t index = (uint16_t)(256 + (value >> 7));
    const int32_t offset = value & 0x7f;
    const int32_t base = lut[index];
    const int32_t slope = (int32_t)lut[index + 1] - base;
    return (int16_t)(base + ((slope * offset + 64) >> 7));
}

static int clz32(uint32_t x) {
    int n = 0;
    if (x == 0) {
        return 32;
    }
    while (!(x & 0x80000000u)) {
        x <<= 1;
        ++n;
    }
    return n;
}

void mcuforge_softmax_s16(const mcuforge_softmax16_params_t *p, const int16_t *input,
                          int16_t *output) {
    for (int32_t i = 0; i < p->outer_size; ++i) {
        const int16_t *in = input + (size_t)i * (size_t)p->depth;
        int16_t *out = output + (size_t)i * (size_t)p->depth;
        int16_t max_in_row = INT16_MIN;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in_row = in[c] > max_in_row ? in[c] : max_in_row;
        }
        int32_t sum_of_exps = 0;
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)in[c] - max_in_row;
            const int32_t scaled = mf_mbqm(diff, p->input_multiplier, p->input_left_shift);
            out[c] = lut_lookup((int16_t)mf_clamp(scaled + 32767, INT16_MIN, INT16_MAX),
                                p->exp_lut);
            sum_of_exps += out[c];
        }
        const int headroom_plus_one = clz32((uint32_t)sum_of_exps);
        const int32_t shifted_sum =
            (int32_t)((((int64_t)sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        const int16_t reciprocal = lut_lookup(
            (int16_t)mf_clamp(shifted_sum - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX),
            p->recip_lut);
        const int right_shift = 31 - headroom_plus_one;
        const int64_t round = (int64_t)1 << (right_shift - 1);
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t v = (int32_t)(((int64_t)out[c] * reciprocal + round) >> right_shift);
            out[c] = (int16_t)mf_clamp(v, 0, INT16_MAX);
        }
    }
}
