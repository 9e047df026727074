/* RELU, RELU6 and LEAKY_RELU, int8, as TFLM's reference kernels compute them. All three are
 * element-wise and safe in place. */
#include "kernels/relu.h"

#include "quant.h"

void mcuforge_relu_s8(const mcuforge_relu_params_t *p, const int8_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        const int32_t y =
            p->output_zero_point + mf_mbqm(x, p->output_multiplier, p->output_shift);
        output[i] = (int8_t)mf_clamp(y, p->act_min, p->act_max);
    }
}

void mcuforge_relu6_s8(const mcuforge_relu6_params_t *p, const int8_t *input, int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int8_t)mf_clamp(input[i], p->lower, p->upper);
    }
}

void mcuforge_leaky_relu_s8(const mcuforge_leaky_relu_params_t *p, const int8_t *input,
                            int8_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = (int32_t)input[i] - p->input_zero_point;
        int32_t y = p->output_zero_point;
        if (x >= 0) {
            y += mf_mbqm(x, p->identity_multiplier, p->identity_shift);
        } else {
            const int32_t scaled = mf_mbqm(x, p->alpha_multiplier, p->alpha_shift);
            y += p->alpha_negative ? -scaled : scaled;
        }
        output[i] = (int8_t)mf_clamp(y, INT8_MIN, INT8_MAX);
    }
}
