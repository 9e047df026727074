/* Fixed-point helpers shared by all kernels: TFLM's reference arithmetic (gemmlowp rounding,
 * double-rounding MultiplyByQuantizedMultiplier), written once so that every kernel rounds the
 * same way the reference interpreter does. */
#ifndef MCUFORGE_QUANT_H
#define MCUFORGE_QUANT_H

#include <stdint.h>

static inline int32_t mf_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t mf_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t mf_clamp(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/* (a * b * 2) >> 32 with round-to-nearest and saturation of the one overflowing case. */
static inline int32_t mf_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1LL << 30) : (1 - (1LL << 30));
    /* Division, not a shift: gemmlowp truncates toward zero here. */
    return (int32_t)((ab + nudge) / (1LL << 31));
}

/* x / 2^exponent, rounding half away from zero. */
static inline int32_t mf_rdbpot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)((1LL << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift, multiplier in Q31; shift > 0 is a left shift. */
static inline int32_t mf_mbqm(int32_t x, int32_t multiplier, int shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    /* Wrapping left shift, as the reference's int32 multiply by (1 << left). */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return mf_rdbpot(mf_srdhm(shifted, multiplier), right);
}

#endif
