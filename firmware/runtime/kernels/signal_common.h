/* Helpers the reference and the DSP signal kernels share: TFLM's own bit tricks, in one place. */
#ifndef MCUFORGE_KERNEL_SIGNAL_COMMON_H
#define MCUFORGE_KERNEL_SIGNAL_COMMON_H

#include <stdint.h>

/* TFLM's MostSignificantBit32 as its GCC builds compile it: the bit length, and 32 for 0. */
static inline uint32_t mf_msb32(uint32_t x) { return x ? 32u - (uint32_t)__builtin_clz(x) : 32u; }
static inline uint32_t mf_msb64(uint64_t x) {
    return x ? 64u - (uint32_t)__builtin_clzll(x) : 64u;
}

/* TFLM's MaxAbs16: the running maximum is an int16, so -(-32768) wraps to -32768, and every
 * later value then exceeds it. Reproduced, since FftAutoScale's shift follows from it. */
static inline int16_t mf_tflm_max_abs16(const int16_t *input, int32_t size) {
    int16_t max = 0;
    for (int32_t i = 0; i < size; ++i) {
        const int32_t v = input[i];
        if (v > max) {
            max = (int16_t)v;
        } else if (-v > max) {
            max = (int16_t)(uint16_t)(uint32_t)(-v);
        }
    }
    return max;
}

/* FftAutoScale's shift for that maximum: 16 - MostSignificantBit32(max) - 1, at least 0. */
static inline int32_t mf_fft_scale_bits(int16_t max) {
    const int32_t scale = 15 - (int32_t)mf_msb32((uint32_t)(int32_t)max);
    return scale < 0 ? 0 : scale;
}

#endif
