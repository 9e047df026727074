/* SOFTMAX, int8: TFLM's reference int8 -> int8 path (gemmlowp fixed point, no lookup table).
 *
 * Per row: x - max(x) is scaled by beta * input_scale into Q5.26, exp() of it is evaluated in
 * Q0.31 and summed in Q12.19; the reciprocal of the sum scales each exp into 1/256 steps. Each
 * output depends only on its own input and on row-wide values computed before any output is
 * written, so the kernel may run in place. */
#include "kernels/softmax.h"

/* Compiled for size: SOFTMAX runs once per inference over a few values, and its fixed-point
 * exp() is long (2 KB at -O2, 0.5 KB at -Os). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("Os")
#endif

#include <stddef.h>

#include "quant.h"

enum {
    SCALED_DIFF_INTEGER_BITS = 5,  /* exp() input format */
    ACCUMULATION_INTEGER_BITS = 12 /* sum of exps format */
};

static inline int32_t softmax_exp(const mcuforge_softmax_params_t *p, int32_t input_diff) {
    /* MultiplyByQuantizedMultiplierGreaterThanOne: left shift then one rounding high multiply;
     * |input_diff| <= -diff_min keeps the shifted value inside int32. */
    const int32_t rescaled =
        mf_srdhm((int32_t)((uint32_t)input_diff << p->input_left_shift), p->input_multiplier);
    return mf_exp_on_negative_values(rescaled, SCALED_DIFF_INTEGER_BITS);
}

void mcuforge_softmax_s8(const mcuforge_softmax_params_t *p, const int8_t *input, int8_t *output) {
    for (int32_t row = 0; row < p->outer_size; ++row) {
        const int8_t *in = input + (size_t)row * (size_t)p->depth;
        int8_t *out = output + (size_t)row * (size_t)p->depth;

        int32_t max_in_row = INT8_MIN;
        for (int32_t c = 0; c < p->depth; ++c) {
            max_in_row = mf_max_i32(max_in_row, in[c]);
        }

        int32_t sum_of_exps = 0; /* Q12.19 */
        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t input_diff = (int32_t)in[c] - max_in_row;
            if (input_diff >= p->diff_min) {
                const int32_t e = softmax_exp(p, input_diff);
                sum_of_exps = mf_wrap_add(sum_of_exps, mf_rdbpot(e, ACCUMULATION_INTEGER_BITS));
            }
        }

        int num_bits_over_unit = 0;
        const int32_t shifted_scale =
            mf_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS, &num_bits_over_unit);
        /* 31 fractional bits of the Q0.31 probability down to the 8 bits of the output. */
        const int exponent = num_bits_over_unit + 31 - 8;

        for (int32_t c = 0; c < p->depth; ++c) {
            const int32_t input_diff = (int32_t)in[c] - max_in_row;
            int32_t q = INT8_MIN;
            if (input_diff >= p->diff_min) {
                const int32_t e = softmax_exp(p, input_diff);
                const int32_t unsat = mf_rdbpot(mf_srdhm(shifted_scale, e), exponent);
                q = mf_clamp(unsat + INT8_MIN, INT8_MIN, INT8_MAX);
            }
            out[c] = (int8_t)q;
        }
    }
}
