/* REDUCE_MAX and REDUCE_MIN, int8: TFLM's reference_ops::ReduceGeneric with the type's lowest
 * (highest) value as the start, so an empty reduction gives -128 (127). */
#include "kernels/reduce.h"

#include <stddef.h>

static int8_t reduce_one(const mcuforge_reduce_params_t *p, const int8_t *base) {
    const int32_t *d = p->reduced_dims;
    const int32_t *s = p->reduced_strides;
    int8_t acc = p->is_min ? INT8_MAX : INT8_MIN;
    for (int32_t i0 = 0; i0 < d[0]; ++i0) {
        const int8_t *x0 = base + (size_t)i0 * (size_t)s[0];
        for (int32_t i1 = 0; i1 < d[1]; ++i1) {
            const int8_t *x1 = x0 + (size_t)i1 * (size_t)s[1];
            for (int32_t i2 = 0; i2 < d[2]; ++i2) {
                const int8_t *x2 = x1 + (size_t)i2 * (size_t)s[2];
                for (int32_t i3 = 0; i3 < d[3]; ++i3) {
                    const int8_t v = x2[(size_t)i3 * (size_t)s[3]];
                    if (p->is_min ? v < acc : v > acc) {
                        acc = v;
                    }
                }
            }
        }
    }
    return acc;
}

void mcuforge_reduce_minmax_s8(const mcuforge_reduce_params_t *p, const int8_t *input,
                               int8_t *output) {
    const int32_t *d = p->kept_dims;
    const int32_t *s = p->kept_strides;
    int8_t *out = output;
    for (int32_t k0 = 0; k0 < d[0]; ++k0) {
        const int8_t *x0 = input + (size_t)k0 * (size_t)s[0];
        for (int32_t k1 = 0; k1 < d[1]; ++k1) {
            const int8_t *x1 = x0 + (size_t)k1 * (size_t)s[1];
            for (int32_t k2 = 0; k2 < d[2]; ++k2) {
                const int8_t *x2 = x1 + (size_t)k2 * (size_t)s[2];
                for (int32_t k3 = 0; k3 < d[3]; ++k3) {
                    *out++ = reduce_one(p, x2 + (size_t)k3 * (size_t)s[3]);
                }
            }
        }
    }
}
