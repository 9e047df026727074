/* PAD / PADV2, int8: TFLM's reference_ops::Pad -- input values copied unchanged, every other
 * element set to the pad value. Rows of the innermost axis are filled with memset/memcpy. */
#include "kernels/pad.h"

#include <stddef.h>
#include <string.h>

void mcuforge_pad_s8(const mcuforge_pad_params_t *p, const int8_t *input, int8_t *output) {
    const int32_t *od = p->out_dims;
    const int32_t *id = p->in_dims;
    const int32_t *lo = p->before;
    const size_t row_out = (size_t)od[4];
    const size_t row_in = (size_t)id[4];
    const size_t head = (size_t)lo[4];
    const size_t tail = row_out - row_in - head;
    const int pad = (int)(uint8_t)(int8_t)p->pad_value;
    int8_t *out = output;
    for (int32_t a = 0; a < od[0]; ++a) {
        const int32_t ia = a - lo[0];
        for (int32_t b = 0; b < od[1]; ++b) {
            const int32_t ib = b - lo[1];
            for (int32_t c = 0; c < od[2]; ++c) {
                const int32_t ic = c - lo[2];
                for (int32_t d = 0; d < od[3]; ++d, out += row_out) {
                    const int32_t idd = d - lo[3];
                    if (ia < 0 || ia >= id[0] || ib < 0 || ib >= id[1] || ic < 0 ||
                        ic >= id[2] || idd < 0 || idd >= id[3]) {
                        memset(out, pad, row_out);
                        continue;
                    }
                    const size_t row =
                        (((size_t)ia * (size_t)id[1] + (size_t)ib) * (size_t)id[2] + (size_t)ic) *
                            (size_t)id[3] + (size_t)idd;
                    memset(out, pad, head);
                    memcpy(out + head, input + row * row_in, row_in);
                    memset(out + head + row_in, pad, tail);
                }
            }
        }
    }
}
