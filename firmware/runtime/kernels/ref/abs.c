/* ABS, int16: TFLM's AbsEval (elementwise.cc), its unquantized AbsHelper and its quantized
 * AbsEvalQuantized. Safe in place: output i depends on input i only. */
#include "kernels/abs.h"

#include "quant.h"

void mcuforge_abs_s16(const mcuforge_abs_params_t *p, const int16_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        const int32_t x = input[i];
        const int32_t a = x < 0 ? -x : x;
        int32_t y;
        if (p->mode == MCUFORGE_ABS_PLAIN) {
            y = a == 32768 ? INT16_MIN : a;
        } else if (p->mode == MCUFORGE_ABS_CLAMP) {
            y = mf_clamp(a, INT16_MIN, INT16_MAX);
        } else {
            y = mf_clamp(mf_mbqm(a, p->multiplier, p->shift), INT16_MIN, INT16_MAX);
        }
        output[i] = (int16_t)y;
    }
}
