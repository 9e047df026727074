/* CONCATENATION: TFLM's reference_ops::Concatenation, a copy of the raw values (int8 inputs share
 * the output's scale and zero point: TFLM refuses anything else, and so does the compiler). */
#include "kernels/concatenation.h"

#include <stddef.h>
#include <string.h>

void mcuforge_concatenation(const mcuforge_concat_params_t *p, const void *in0, const void *in1,
                            const void *in2, const void *in3, const void *in4, const void *in5,
                            const void *in6, const void *in7, const void *in8, const void *in9,
                            void *output) {
    const uint8_t *in[MCUFORGE_CONCAT_MAX_INPUTS] = {in0, in1, in2, in3, in4,
                                                     in5, in6, in7, in8, in9};
    uint8_t *out = output;
    for (size_t k = 0; k < (size_t)p->outer; ++k) {
        for (size_t i = 0; i < (size_t)p->num_inputs; ++i) {
            const size_t n = (size_t)p->chunk_bytes[i];
            memcpy(out, in[i] + k * n, n);
            out += n;
        }
    }
}
