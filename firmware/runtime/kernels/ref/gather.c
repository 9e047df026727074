/* GATHER: TFLM's Gather (gather.cc), one memcpy per gathered block. */
#include "kernels/gather.h"

#include <stddef.h>
#include <string.h>

void mcuforge_gather(const mcuforge_gather_params_t *p, const void *input, const int32_t *coords,
                     void *output) {
    const uint8_t *in = input;
    uint8_t *out = output;
    const size_t inner = (size_t)p->inner_bytes;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int32_t *index = coords + (size_t)b * (size_t)p->coords;
        for (int32_t o = 0; o < p->outer; ++o) {
            const uint8_t *row = in + ((size_t)b * (size_t)p->outer + (size_t)o) *
                                          (size_t)p->axis_size * inner;
            for (int32_t c = 0; c < p->coords; ++c) {
                const int32_t i = index[c];
                if (i >= 0 && i < p->axis_size) {
                    memcpy(out, row + (size_t)i * inner, inner);
                } else {
                    memset(out, 0, inner);
                }
                out += inner;
            }
        }
    }
}
