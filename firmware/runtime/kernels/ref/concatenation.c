/* CONCATENATION and PACK: TFLM's reference_ops::Concatenation and PackImpl, a copy of the raw
 * values (int8 inputs share the output's scale and zero point: TFLM refuses anything else for
 * CONCATENATION, and so does the compiler; PACK never requantizes). */
#include "kernels/concatenation.h"

#include <stdarg.h>
#include <stddef.h>

#include "kernels/bytes.h"

void mcuforge_concatenation(const mcuforge_concat_params_t *p, void *output, ...) {
    size_t row = 0;
    for (int32_t i = 0; i < p->num_inputs; ++i) {
        row += (size_t)p->chunk_bytes[i];
    }
    uint8_t *out = output;
    va_list inputs;
    va_start(inputs, output);
    for (int32_t i = 0; i < p->num_inputs; ++i) {
        const uint8_t *in = va_arg(inputs, const void *);
        const size_t n = (size_t)p->chunk_bytes[i];
        for (size_t k = 0; k < (size_t)p->outer; ++k) {
            mf_copy_bytes(out + k * row, in + k * n, n);
        }
        out += n;
    }
    va_end(inputs);
}
