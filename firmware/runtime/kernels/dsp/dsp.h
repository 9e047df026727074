/* Armv7E-M DSP building blocks for the optimized kernels (Cortex-M4, M7, M33, M55).
 *
 * On a host build (no __ARM_FEATURE_DSP) the same operations are emulated in portable C, so the
 * optimized kernels run in the fast host differential tests too; on the device they are single
 * instructions. */
#ifndef MCUFORGE_DSP_H
#define MCUFORGE_DSP_H

#include <stdint.h>
#include <string.h>

/* What a DSP kernel needs per layer at run time; everything about shapes is a compile-time
 * constant of the specialized kernel instead. */
typedef struct {
    int32_t input_offset;   /* -input zero point (0 when folded into the bias) */
    int32_t output_offset;  /* output zero point */
    int32_t act_min, act_max;
    const int32_t *requant; /* per output channel: (multiplier, shift), or the fast form */
    const int32_t *bias;    /* never NULL */
} mcuforge_dsp_params_t;

#define MF_INLINE static inline __attribute__((always_inline))

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

/* Two int8 lanes (bytes 0 and 2) sign-extended to two int16 lanes. */
static inline int32_t mf_sxtb16(int32_t x) { return (int32_t)__sxtb16(x); }

/* Bytes 1 and 3, sign-extended: one SXTB16 with a rotate (GCC does not fuse __ror). */
static inline int32_t mf_sxtb16_ror8(int32_t x) {
    int32_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}

/* acc + lo(a)*lo(b) + hi(a)*hi(b), int16 lanes. */
static inline int32_t mf_smlad(int32_t a, int32_t b, int32_t acc) {
    return (int32_t)__smlad(a, b, acc);
}

/* acc + lo(a)*lo(b); acc + hi(a)*hi(b). */
static inline int32_t mf_smlabb(int32_t a, int32_t b, int32_t acc) {
    return (int32_t)__smlabb(a, b, acc);
}
static inline int32_t mf_smlatt(int32_t a, int32_t b, int32_t acc) {
    return (int32_t)__smlatt(a, b, acc);
}

/* Lane-wise int16 addition (wrapping). */
static inline int32_t mf_sadd16(int32_t a, int32_t b) { return (int32_t)__sadd16(a, b); }
#else
static inline int32_t mf_lane(int32_t x, int byte) { return (int32_t)(int8_t)((uint32_t)x >> (8 * byte)); }
static inline int32_t mf_pack16(int32_t lo, int32_t hi) {
    return (int32_t)(((uint32_t)(uint16_t)(int16_t)lo) | ((uint32_t)(uint16_t)(int16_t)hi << 16));
}
static inline int32_t mf_sxtb16(int32_t x) { return mf_pack16(mf_lane(x, 0), mf_lane(x, 2)); }
static inline int32_t mf_sxtb16_ror8(int32_t x) { return mf_pack16(mf_lane(x, 1), mf_lane(x, 3)); }
static inline int32_t mf_lo16(int32_t a) { return (int32_t)(int16_t)a; }
static inline int32_t mf_hi16(int32_t a) { return (int32_t)(int16_t)((uint32_t)a >> 16); }
static inline int32_t mf_smlad(int32_t a, int32_t b, int32_t acc) {
    const int32_t lo = mf_lo16(a) * mf_lo16(b);
    const int32_t hi = mf_hi16(a) * mf_hi16(b);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}
static inline int32_t mf_smlabb(int32_t a, int32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(mf_lo16(a) * mf_lo16(b)));
}
static inline int32_t mf_smlatt(int32_t a, int32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(mf_hi16(a) * mf_hi16(b)));
}
static inline int32_t mf_sadd16(int32_t a, int32_t b) {
    return mf_pack16(mf_lo16(a) + mf_lo16(b), mf_hi16(a) + mf_hi16(b));
}
#endif

/* A 32-bit load from any alignment (one LDR on Armv7-M, which allows unaligned LDR). */
static inline int32_t mf_read_s32(const void *p) {
    int32_t v;
    __builtin_memcpy(&v, p, sizeof v); /* inlined even under -ffreestanding */
    return v;
}

/* Two consecutive words from a 4-byte-aligned address, advancing the pointer: one LDRD with
 * post-increment on the device (GCC splits 64-bit loads into two LDRs on its own). */
static inline void mf_ldrd_inc(const int8_t **p, int32_t *lo, int32_t *hi) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t a, b;
    __asm("ldrd %0, %1, [%2], #8" : "=r"(a), "=r"(b), "+r"(*p) : "m"(*(const int64_t *)*p));
    *lo = a;
    *hi = b;
#else
    *lo = mf_read_s32(*p);
    *hi = mf_read_s32(*p + 4);
    *p += 8;
#endif
}

/* TFLM's requantization (double rounding), in its cheapest exact form:
 *  - the gemmlowp high multiply as (a*b + 2^30) >> 31, equal to gemmlowp's sign-dependent nudge
 *    and truncating division for every input but a == b == INT32_MIN, which a positive
 *    multiplier rules out;
 *  - the rounding shift with 32-bit masks and the sign bit added to the threshold, branch-free.
 * `rq` points at one channel's (multiplier, shift) pair: one LDRD. */
static inline int32_t mf_requant(int32_t x, int32_t multiplier, int32_t shift) {
    const int32_t left = shift & ~(shift >> 31); /* max(shift, 0) */
    const int32_t right = left - shift;           /* max(-shift, 0) */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    const int32_t high = (int32_t)(((int64_t)shifted * multiplier + (1LL << 30)) >> 31);
    const uint32_t mask = ~(~0u << right);
    const int32_t remainder = (int32_t)((uint32_t)high & mask);
    const int32_t threshold = (int32_t)(mask >> 1) + (int32_t)((uint32_t)high >> 31);
    return (high >> right) + (remainder > threshold ? 1 : 0);
}

/* The same requantization in five instructions, for channels whose compile-time parameters
 * allow it (checked by the compiler, mcuforge/compiler/ops/dsp.py: no left shift, a right shift
 * r >= 2, 2^30 < multiplier < 2^31). The two roundings of TFLM's double-rounding form,
 *     h = floor((x*m + 2^30) / 2^31),  result = floor((h + 2^(r-1) - [h < 0]) / 2^r),
 * nest into one: result = floor((x*m + 2^30 + 2^(30+r) - [x < 0] * 2^31) / 2^(31+r)), since
 * floor(floor(a / b) / c) = floor(a / (b*c)) and, with m > 2^30, h < 0 exactly when x < 0. The
 * 64-bit constant's high word is 2^(r-2), its low word 2^30 (minus 2^31 with a borrow when
 * x < 0); the quotient is the high word of the sum shifted right by r - 1.
 * `rq` points at (multiplier, 2^(r-2), r-1, 0) for the channel. */
static inline int32_t mf_requant_fast(int32_t x, const int32_t *rq) {
    const int32_t sign = x >> 31;
    const uint32_t lo = 0x40000000u ^ ((uint32_t)sign << 31);
    const uint32_t hi = (uint32_t)(rq[1] + sign);
    const int64_t sum = (int64_t)(((uint64_t)hi << 32) | lo) + (int64_t)x * rq[0];
    return (int32_t)(sum >> 32) >> rq[2];
}

/* Requantize, add the output zero point, clamp to the activation range. `fast` is a
 * compile-time constant in specialized kernels: the table holds 4 words per channel for the fast
 * form, 2 (multiplier, shift) for the general one. */
static inline int8_t mf_finish_q(int32_t acc, const int32_t *rq_table, int32_t channel, int fast,
                                 int32_t output_offset, int32_t act_min, int32_t act_max) {
    int32_t v = fast ? mf_requant_fast(acc, rq_table + 4 * channel)
                     : mf_requant(acc, rq_table[2 * channel], rq_table[2 * channel + 1]);
    v += output_offset;
    v = v < act_min ? act_min : v;
    return (int8_t)(v > act_max ? act_max : v);
}

/* Requantize, add the output zero point, clamp to the activation range, for one channel whose
 * (multiplier, shift) pair `rq` points at. */
static inline int8_t mf_finish(int32_t acc, const int32_t *rq, int32_t output_offset,
                               int32_t act_min, int32_t act_max) {
    int32_t v = mf_requant(acc, rq[0], rq[1]) + output_offset;
    v = v < act_min ? act_min : v;
    return (int8_t)(v > act_max ? act_max : v);
}

#endif
