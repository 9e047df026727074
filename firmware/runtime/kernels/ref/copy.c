/* Strided copy: STRIDED_SLICE, SLICE and TRANSPOSE as TFLM writes them (its SequentialTensorWriter
 * fills the output in order from computed input indices), reduced by the compiler to byte runs. */
#include "kernels/copy.h"

#include <stddef.h>

#include "kernels/bytes.h"

static inline uint8_t *copy_run(uint8_t *out, const uint8_t *in, size_t run) {
    if (run == 1) {
        *out = *in;
    } else {
        mf_copy_bytes(out, in, run);
    }
    return out + run;
}

void mcuforge_copy(const mcuforge_copy_params_t *p, const void *input, void *output) {
    const uint8_t *base = (const uint8_t *)input + p->offset;
    uint8_t *out = output;
    const size_t run = (size_t)p->run_bytes;
    const int32_t *n = p->count;
    const ptrdiff_t s0 = p->step[0], s1 = p->step[1], s2 = p->step[2], s3 = p->step[3],
                    s4 = p->step[4];
    for (int32_t i0 = 0; i0 < n[0]; ++i0) {
        const uint8_t *a0 = base + i0 * s0;
        for (int32_t i1 = 0; i1 < n[1]; ++i1) {
            const uint8_t *a1 = a0 + i1 * s1;
            for (int32_t i2 = 0; i2 < n[2]; ++i2) {
                const uint8_t *a2 = a1 + i2 * s2;
                for (int32_t i3 = 0; i3 < n[3]; ++i3) {
                    const uint8_t *a3 = a2 + i3 * s3;
                    for (int32_t i4 = 0; i4 < n[4]; ++i4) {
                        out = copy_run(out, a3 + i4 * s4, run);
                    }
                }
            }
        }
    }
}
