/* MEAN, int8: TFLM's reference_ops::QuantizedMeanOrSum (the multiplier arrives already divided
 * by the count, so this is one requantization per output). */
#include "kernels/mean.h"

#include <stddef.h>

#include "quant.h"

/* Sum of the reduced elements starting at `base` (int32, wrapping like the reference's
 * AddTensorValuesWithExpectedOverflow). */
static int32_t reduced_sum(const mcuforge_mean_params_t *p, const int8_t *base) {
    const int32_t *d = p->reduced_dims;
    const int32_t *s = p->reduced_strides;
    uint32_t acc = 0;
    for (int32_t i0 = 0; i0 < d[0]; ++i0) {
        const int8_t *x0 = base + (size_t)i0 * (size_t)s[0];
        for (int32_t i1 = 0; i1 < d[1]; ++i1) {
            const int8_t *x1 = x0 + (size_t)i1 * (size_t)s[1];
            for (int32_t i2 = 0; i2 < d[2]; ++i2) {
                const int8_t *x2 = x1 + (size_t)i2 * (size_t)s[2];
                for (int32_t i3 = 0; i3 < d[3]; ++i3) {
                    acc += (uint32_t)(int32_t)x2[(size_t)i3 * (size_t)s[3]];
                }
            }
        }
    }
    return (int32_t)acc;
}

static int8_t mean_of(const mcuforge_mean_params_t *p, int32_t sum) {
    const int32_t centered = (int32_t)((int64_t)sum - p->zp_count);
    const int32_t v = mf_mbqm(centered, p->multiplier, p->shift) + p->output_offset;
    return (int8_t)mf_clamp(v, INT8_MIN, INT8_MAX);
}

void mcuforge_mean_s8(const mcuforge_mean_params_t *p, const int8_t *input, int8_t *output) {
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
                    *out++ = mean_of(p, reduced_sum(p, x2 + (size_t)k3 * (size_t)s[3]));
                }
            }
        }
    }
}
