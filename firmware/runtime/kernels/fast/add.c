/* ADD, int8, table-driven: bit-exact with kernels/ref/add.c because the tables hold exactly the
 * values the reference computes per input, and the output requantization is the same function
 * (mf_requant, the shift-based form of mf_mbqm). */
#include <stddef.h>

#include "kernels/add.h"
#include "kernels/dsp/dsp.h"
#include "kernels/broadcast.h"
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
    mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};
    const size_t n = mf_broadcast_size(p->dims);
    for (size_t o = 0; o < n; ++o) {
        output[o] = add_one(p, input1[it.a], input2[it.b]);
        mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);
    }
}
