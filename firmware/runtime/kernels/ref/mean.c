/* MEAN and SUM, int8 and int16: TFLM's reference_ops::QuantizedMeanOrSum (a MEAN's multiplier
 * arrives already divided by the count, so this is one requantization per output). */
#include "kernels/mean.h"

#include <stddef.h>

#include "quant.h"

/* Sum of the reduced elements starting at `base` (int32, wrapping like the reference's
 * AddTensorValuesWithExpectedOverflow); then the requantized output and the outer loops. */
#define MF_MEAN_IMPL(NAME, T, LO, HI)                                                          \
    static int32_t NAME##_sum(const mcuforge_mean_params_t *p, const T *base) {              \
        const int32_t *d = p->reduced_dims;                                                  \
        const int32_t *s = p->reduced_strides;                                               \
        uint32_t acc = 0;                                                                    \
        for (int32_t i0 = 0; i0 < d[0]; ++i0) {                                              \
            const T *x0 = base + (size_t)i0 * (size_t)s[0];                                  \
            for (int32_t i1 = 0; i1 < d[1]; ++i1) {                                          \
                const T *x1 = x0 + (size_t)i1 * (size_t)s[1];                                \
                for (int32_t i2 = 0; i2 < d[2]; ++i2) {                                      \
                    const T *x2 = x1 + (size_t)i2 * (size_t)s[2];                            \
                    for (int32_t i3 = 0; i3 < d[3]; ++i3) {                                  \
                        acc += (uint32_t)(int32_t)x2[(size_t)i3 * (size_t)s[3]];             \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        return (int32_t)acc;                                                                 \
    }                                                                                        \
    void NAME(const mcuforge_mean_params_t *p, const T *input, T *output) {                  \
        const int32_t *d = p->kept_dims;                                                     \
        const int32_t *s = p->kept_strides;                                                  \
        T *out = output;                                                                     \
        for (int32_t k0 = 0; k0 < d[0]; ++k0) {                                              \
            const T *x0 = input + (size_t)k0 * (size_t)s[0];                                 \
            for (int32_t k1 = 0; k1 < d[1]; ++k1) {                                          \
                const T *x1 = x0 + (size_t)k1 * (size_t)s[1];                                \
                for (int32_t k2 = 0; k2 < d[2]; ++k2) {                                      \
                    const T *x2 = x1 + (size_t)k2 * (size_t)s[2];                            \
                    for (int32_t k3 = 0; k3 < d[3]; ++k3) {                                  \
                        const int32_t sum = NAME##_sum(p, x2 + (size_t)k3 * (size_t)s[3]);   \
                        const int32_t centered = (int32_t)((int64_t)sum - p->zp_count);      \
                        const int32_t v = mf_mbqm(centered, p->multiplier, p->shift) +       \
                                          p->output_offset;                                  \
                        *out++ = (T)mf_clamp(v, LO, HI);                                     \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

MF_MEAN_IMPL(mcuforge_mean_s8, int8_t, INT8_MIN, INT8_MAX)
MF_MEAN_IMPL(mcuforge_mean_s16, int16_t, INT16_MIN, INT16_MAX)
