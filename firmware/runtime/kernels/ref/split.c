/* SPLIT / SPLIT_V / UNPACK: TFLM's SplitImpl and UnpackImpl, a copy of the raw values (the
 * outputs keep the input's quantization: no arithmetic). */
#include "kernels/split.h"

#include <stdarg.h>
#include <stddef.h>

#include "kernels/bytes.h"

void mcuforge_split(const mcuforge_split_params_t *p, const void *input, ...) {
    size_t row = 0;
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        row += (size_t)p->chunk_bytes[i];
    }
    const uint8_t *in = input;
    va_list outputs;
    va_start(outputs, input);
    for (int32_t i = 0; i < p->num_outputs; ++i) {
        uint8_t *out = va_arg(outputs, void *);
        const size_t n = (size_t)p->chunk_bytes[i];
        for (size_t k = 0; k < (size_t)p->outer; ++k) {
            mf_copy_bytes(out + k * n, in + k * row, n);
        }
        in += n;
    }
    va_end(outputs);
}
