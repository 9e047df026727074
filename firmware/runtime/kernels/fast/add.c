/* ADD, int8, table-driven: bit-exact with kernels/ref/add.c because the tables hold exactly the
 * values the reference computes per input, and the output requantization is the same function
 * (mf_requant, the shift-based form of mf_mbqm). */
#include <stddef.h>

#include "kernels/add.h"
#include "kernels/dsp/dsp.h"
#include "quant.h"

static inline int8_t add_one(const mcuforge_add_lut_params_t *p, int8_t x, int8_t y) {
    const int32_t sum = p->table1[x + 128] + p->table2[y + 128];
    const int32_t raw = mf_requant(sum, p->output_multiplier, p->output_shift) + p->output_offset;
    return (int8_t)mf_clamp(raw, p->act_min, p->act_max);
}

void mcuforge_add_s8_lut(const mcuforge_add_lut_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output) {
    if (p->flat_size > 0) {
        for (int32_t i = 0; i < p->flat_size; ++i) {
            output[i] = add_one(p, input1[i], input2[i]);
        }
        return;
    }
    size_t o = 0;
    for (int32_t i0 = 0; i0 < p->dims[0]; ++i0)
    for (int32_t i1 = 0; i1 < p->dims[1]; ++i1)
    for (int32_t i2 = 0; i2 < p->dims[2]; ++i2)
    for (int32_t i3 = 0; i3 < p->dims[3]; ++i3)
    for (int32_t i4 = 0; i4 < p->dims[4]; ++i4)
    for (int32_t i5 = 0; i5 < p->dims[5]; ++i5) {
        const size_t a = (size_t)(i0 * p->strides1[0] + i1 * p->strides1[1] + i2 * p->strides1[2] +
                                  i3 * p->strides1[3] + i4 * p->strides1[4] + i5 * p->strides1[5]);
        const size_t b = (size_t)(i0 * p->strides2[0] + i1 * p->strides2[1] + i2 * p->strides2[2] +
                                  i3 * p->strides2[3] + i4 * p->strides2[4] + i5 * p->strides2[5]);
        output[o++] = add_one(p, input1[a], input2[b]);
    }
}
