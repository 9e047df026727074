/* FULLY_CONNECTED, int8: TFLM's reference_integer_ops::FullyConnected arithmetic. */
#include "kernels/fully_connected.h"

#include <stddef.h>

#include "quant.h"

void mcuforge_fully_connected_s8(const mcuforge_fc_params_t *p, const int8_t *input,
                                 const int8_t *weights, const int32_t *bias, int8_t *output) {
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)p->accum_depth;
        for (int32_t o = 0; o < p->output_depth; ++o) {
            const int8_t *w = weights + (size_t)o * (size_t)p->accum_depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < p->accum_depth; ++d) {
                acc += (w[d] + p->filter_offset) * (in[d] + p->input_offset);
            }
            if (bias != NULL) {
                acc += bias[o];
            }
            const int32_t q = p->per_channel ? o : 0;
            acc = mf_mbqm(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
            output[(size_t)b * (size_t)p->output_depth + (size_t)o] =
                (int8_t)mf_clamp(acc, p->act_min, p->act_max);
        }
    }
}
