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

/* gemmlowp fixed-point helpers */
/* A raw int32 value x with N integer bits stands for x / 2^(31 - N) (gemmlowp's
 * FixedPoint<int32_t, N>). The int8 SOFTMAX kernel evaluates exp and the reciprocal at run time;
 * int8 LOGISTIC and TANH are 256-entry tables the compiler fills with the same arithmetic in
 * Python (mcuforge/compiler/fixedpoint.py), which tests check against mf_logistic / mf_tanh
 * here raw value for raw value. */

/* a + b with two's complement wrap-around: the reference adds raw values with plain int
 * arithmetic, which wraps on every target it runs on; unsigned addition keeps that defined. */
static inline int32_t mf_wrap_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* x * 2^exponent for 0 <= exponent < 31, saturating at the int32 limits (gemmlowp's
 * SaturatingRoundingMultiplyByPOT with a non-negative exponent; also Rescale to fewer
 * integer bits). */
static inline int32_t mf_sat_shl(int32_t x, int exponent) {
    if (exponent == 0) {
        return x;
    }
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* (a + b) / 2 rounded half away from zero, computed without overflow (RoundingHalfSum). */
static inline int32_t mf_rounding_half_sum(int32_t a, int32_t b) {
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* exp(a) for a in [-1/4, 0), Q0.31 in and out: a 4th-order Taylor expansion around -1/8. */
static inline int32_t mf_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0.31 */
    const int32_t one_third = 715827883;              /* 1/3 in Q0.31 */
    const int32_t x = a + (1 << 28);                  /* a + 1/8 */
    const int32_t x2 = mf_srdhm(x, x);
    const int32_t x3 = mf_srdhm(x2, x);
    const int32_t x4 = mf_srdhm(x2, x2);
    const int32_t x4_over_4 = mf_rdbpot(x4, 2);
    const int32_t x4_over_24_plus_x3_over_6_plus_x2_over_2 =
        mf_rdbpot(mf_srdhm(x4_over_4 + x3, one_third) + x2, 1);
    return exp_minus_one_eighth +
           mf_srdhm(exp_minus_one_eighth, x + x4_over_24_plus_x3_over_6_plus_x2_over_2);
}

/* exp(a) for a <= 0 given with integer_bits integer bits (1..6); result in Q0.31. The input is
 * split into a multiple of 1/4 and a remainder in [-1/4, 0); exp of the multiple is a product of
 * the constants exp(-2^k) selected by its bits. */
static inline int32_t mf_exp_on_negative_values(int32_t a, int integer_bits) {
    static const int32_t exp_minus_pow2[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1) */
        290630308,  /* exp(-2) */
        39332535,   /* exp(-4) */
        720401,     /* exp(-8) */
        242,        /* exp(-16) */
    };
    const int fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = mf_exp_on_interval_between_negative_one_quarter_and_0_excl(
        mf_sat_shl(a_mod_quarter_minus_one_quarter, integer_bits));
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    for (int k = 0; k < 7; ++k) {
        const int exponent = k - 2; /* this constant is exp(-2^exponent) */
        if (integer_bits > exponent &&
            (remainder & ((int32_t)1 << (fractional_bits + exponent))) != 0) {
            result = mf_srdhm(result, exp_minus_pow2[k]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0; /* below -32: exp underflows Q0.31 */
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / d for d = (1 + a) / 2, a in [0, 1) in Q0.31, as a Q2.29 value: three Newton-Raphson
 * steps starting from 48/17 - 32/17 * d. */
static inline int32_t mf_newton_raphson_reciprocal_of_half_denominator(int32_t a) {
    const int32_t half_denominator = mf_rounding_half_sum(a, INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;     /* Q2.29 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2.29 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = constant_48_over_17 + mf_srdhm(half_denominator, constant_neg_32_over_17);
    for (int i = 0; i < 3; ++i) {
        const int32_t half_denominator_times_x = mf_srdhm(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = one_q2 - half_denominator_times_x;
        /* x (2 integer bits) * (1 - d*x) (2 integer bits) has 4 integer bits: back to 2. */
        x = x + mf_sat_shl(mf_srdhm(x, one_minus_half_denominator_times_x), 2);
    }
    return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t mf_one_over_one_plus_x_for_x_in_0_1(int32_t a) {
    /* 1/d halved: the same raw value read with 1 integer bit, rescaled to 0 integer bits. */
    return mf_sat_shl(mf_newton_raphson_reciprocal_of_half_denominator(a), 1);
}

/* (1 - a) / (1 + a) for a in [0, 1), Q0.31 in and out. */
static inline int32_t mf_one_minus_x_over_one_plus_x_for_x_in_0_1(int32_t a) {
    const int32_t x = mf_newton_raphson_reciprocal_of_half_denominator(a);
    return mf_sat_shl(x - ((int32_t)1 << 29), 2); /* 2/(1+a) - 1, Q2.29 to Q0.31 */
}

/* logistic(a) = 1 / (1 + exp(-a)), a with integer_bits integer bits, Q0.31 result. */
static inline int32_t mf_logistic(int32_t a, int integer_bits) {
    if (a == 0) {
        return (int32_t)1 << 30; /* 0.5 */
    }
    const int32_t abs_a = a > 0 ? a : (int32_t)(0u - (uint32_t)a);
    const int32_t positive = mf_one_over_one_plus_x_for_x_in_0_1(
        mf_exp_on_negative_values((int32_t)(0u - (uint32_t)abs_a), integer_bits));
    return a > 0 ? positive : INT32_MAX - positive;
}

/* tanh(a), a with integer_bits integer bits (at most 5), Q0.31 result: (1 - e) / (1 + e) with
 * e = exp(-2|a|), where 2|a| is the same raw value read with one more integer bit. */
static inline int32_t mf_tanh(int32_t a, int integer_bits) {
    if (a == 0) {
        return 0;
    }
    const int32_t n = a < 0 ? a : (int32_t)(0u - (uint32_t)a);
    const int32_t t =
        mf_one_minus_x_over_one_plus_x_for_x_in_0_1(mf_exp_on_negative_values(n, integer_bits + 1));
    return a < 0 ? (int32_t)(0u - (uint32_t)t) : t;
}

/* 1 / x for a positive x with x_integer_bits integer bits, as TFLM's GetReciprocal: returns
 * the Q0.31 reciprocal of x scaled into [1, 2) and the power of two it was scaled by. */
static inline int32_t mf_reciprocal(int32_t x, int x_integer_bits, int *num_bits_over_unit) {
    int headroom_plus_one = 0; /* leading zeros of x; portable, and called once per row */
    while (headroom_plus_one < 32 && ((uint32_t)x & (0x80000000u >> headroom_plus_one)) == 0) {
        ++headroom_plus_one;
    }
    *num_bits_over_unit = x_integer_bits - headroom_plus_one;
    const uint32_t shifted = headroom_plus_one >= 32 ? 0u : (uint32_t)x << headroom_plus_one;
    const int32_t shifted_sum_minus_one = (int32_t)(shifted - (1u << 31));
    return mf_one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);
}

/* conv helpers */

/* The taps [*first, *end) of a filter row whose input coordinate origin + tap * dilation falls
 * inside [0, size). The reference kernels skip taps outside the image (implicit padding: such a
 * tap would contribute (zero_point + input_offset) * w = 0); computing the range once per output
 * row or column gives the same sums without a bounds test per tap. */
static inline void mf_tap_range(int32_t origin, int32_t dilation, int32_t taps, int32_t size,
                                int32_t *first, int32_t *end) {
    int32_t lo = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    int32_t hi = size > origin ? (size - origin - 1) / dilation + 1 : 0;
    if (hi > taps) {
        hi = taps;
    }
    if (lo > hi) {
        lo = hi;
    }
    *first = lo;
    *end = hi;
}

/* TFLM's MultiplyByQuantizedMultiplier for an int64 accumulator (16x8 kernels): the multiplier
 * is first rounded to 16 bits, then one rounding shift (not the int32 version's two). */
static inline int32_t mf_mbqm64(int64_t x, int32_t multiplier, int shift) {
    const int32_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int total_shift = 15 - shift;
    const int64_t round = (int64_t)1 << (total_shift - 1);
    return (int32_t)((x * (int64_t)reduced + round) >> total_shift);
}

#endif
