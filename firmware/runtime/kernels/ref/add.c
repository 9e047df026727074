/* ADD, int8: TFLM's reference_integer_ops::AddFunc, element-wise or broadcast (6-D). */
#include "kernels/add.h"

#include <stddef.h>

#include "kernels/broadcast.h"
#include "quant.h"

static inline int8_t add_one(const mcuforge_add_params_t *p, int8_t x, int8_t y) {
    const int32_t a = (int32_t)((uint32_t)(p->input1_offset + x) << p->left_shift);
    const int32_t b = (int32_t)((uint32_t)(p->input2_offset + y) << p->left_shift);
    const int32_t sa = mf_mbqm(a, p->input1_multiplier, p->input1_shift);
    const int32_t sb = mf_mbqm(b, p->input2_multiplier, p->input2_shift);
    const int32_t raw = mf_mbqm(sa + sb, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)mf_clamp(raw, p->act_min, p->act_max);
}

void mcuforge_add_s8(const mcuforge_add_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output) {
    if (p->flat_size > 0) {
        for (int32_t i = 0; i < p->flat_size; ++i) {
            output[i] = add_one(p, input1[i], input2[i]);
        }
        return;
    }
    mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};
    const size_t n = mf_broadcast_size(p->dims);
    for (size_t o = 0; o < n; ++o) {
        output[o] = add_one(p, input1[it.a], input2[it.b]);
        mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);
    }
}
