/* Armv7E-M DSP building blocks for the optimized kernels (Cortex-M4, M7, M33, M55).
 *
 * On a host build (no __ARM_FEATURE_DSP) the same operations are emulated in portable C, so the
 * optimized kernels run in the fast host differential tests too; on the device they are single
 * instructions. */
#ifndef MCUFORGE_DSP_H
#define MCUFORGE_DSP_H

#include <stdint.h>
#include <string.h>

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

/* TFLM's requantization (double rounding), with the gemmlowp high multiply written as
 * (a*b + 2^30) >> 31: equal to gemmlowp's sign-dependent nudge and truncating division for every
 * input except a == b == INT32_MIN, which a positive multiplier rules out. */
static inline int32_t mf_requant(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    const int32_t high = (int32_t)(((int64_t)shifted * multiplier + (1LL << 30)) >> 31);
    const int32_t mask = (int32_t)((1LL << right) - 1);
    const int32_t remainder = high & mask;
    const int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    return (high >> right) + (remainder > threshold ? 1 : 0);
}

#endif
