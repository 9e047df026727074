/* REVERSE_V2: a copy with the middle block's order reversed (TFLM's reference_ops::Reverse). */
#include "kernels/reverse.h"

#include <stddef.h>
#include <string.h>

void mcuforge_reverse(const mcuforge_reverse_params_t *p, const void *input, void *output) {
    const size_t block = (size_t)p->inner * (size_t)p->elem_size;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t o = 0; o < p->outer; ++o) {
        const uint8_t *src = in + (size_t)o * (size_t)p->mid * block;
        for (int32_t m = p->mid - 1; m >= 0; --m) {
            memcpy(out, src + (size_t)m * block, block);
            out += block;
        }
    }
}
