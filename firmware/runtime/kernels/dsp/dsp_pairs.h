/* Armv7E-M SIMD on pairs of int16 (a complex value: real in the low half, imaginary in the
 * high half), for the signal kernels. One instruction each on a DSP core; portable C with the
 * same results elsewhere (host tests, Cortex-M3, RISC-V). Lane arithmetic wraps, as the ARM
 * instructions do (none of these saturate). */
#ifndef MCUFORGE_DSP_PAIRS_H
#define MCUFORGE_DSP_PAIRS_H

#include <stdint.h>

/* Word access to int16 arrays without breaking C's aliasing rules: one LDR / STR. */
static inline uint32_t mf_ld32(const void *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}
static inline void mf_st32(void *p, uint32_t v) { __builtin_memcpy(p, &v, sizeof v); }

/* A word of a word-aligned int16 array, read or written directly (GCC may then pair the
 * accesses into LDRD / STRD): may_alias keeps the aliasing rules intact. */
typedef uint32_t mf_w32 __attribute__((may_alias, aligned(4)));

static inline int32_t mf_lo(uint32_t x) { return (int16_t)(uint16_t)x; }
static inline int32_t mf_hi(uint32_t x) { return (int16_t)(uint16_t)(x >> 16); }
/* (lo, hi) from two ints, each truncated to 16 bits. */
static inline uint32_t mf_pair(int32_t lo, int32_t hi) {
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#include <arm_acle.h>

static inline uint32_t mf_sadd16_u(uint32_t a, uint32_t b) { return __sadd16(a, b); }
static inline uint32_t mf_ssub16_u(uint32_t a, uint32_t b) { return __ssub16(a, b); }
/* lo = a.lo + b.hi, hi = a.hi - b.lo */
static inline uint32_t mf_ssax(uint32_t a, uint32_t b) { return __ssax(a, b); }
/* lo = a.lo - b.hi, hi = a.hi + b.lo */
static inline uint32_t mf_sasx(uint32_t a, uint32_t b) { return __sasx(a, b); }
/* (a + b) >> 1 and (a - b) >> 1 per lane, exact */
static inline uint32_t mf_shadd16(uint32_t a, uint32_t b) { return __shadd16(a, b); }
static inline uint32_t mf_shsub16(uint32_t a, uint32_t b) { return __shsub16(a, b); }
/* acc + a.lo*b.lo - a.hi*b.hi */
static inline int32_t mf_smlsd(uint32_t a, uint32_t b, int32_t acc) {
    return __smlsd((int32_t)a, (int32_t)b, acc);
}
/* acc + a.lo*b.hi + a.hi*b.lo */
static inline int32_t mf_smladx(uint32_t a, uint32_t b, int32_t acc) {
    return __smladx((int32_t)a, (int32_t)b, acc);
}
/* a.lo*a.lo + a.hi*a.hi (wraps past 2^31 like the instruction) */
static inline uint32_t mf_smuad_self(uint32_t a) { return (uint32_t)__smuad((int32_t)a, (int32_t)a); }
static inline int32_t mf_smlabb_u(uint32_t a, uint32_t b, int32_t acc) {
    return __smlabb((int32_t)a, (int32_t)b, acc);
}
static inline int32_t mf_smlatt_u(uint32_t a, uint32_t b, int32_t acc) {
    return __smlatt((int32_t)a, (int32_t)b, acc);
}
/* GCC's arm_acle.h has no SMULxy or PKHxx intrinsics, and GCC does not always find them in
 * plain C: inline assembly, one instruction each. */
static inline int32_t mf_smulbb_u(uint32_t a, uint32_t b) {
    int32_t r;
    __asm("smulbb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline int32_t mf_smultb_u(uint32_t a, uint32_t b) {
    int32_t r;
    __asm("smultb %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
static inline int32_t mf_smultt_u(uint32_t a, uint32_t b) {
    int32_t r;
    __asm("smultt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* (low half of a, high half of b) */
static inline uint32_t mf_pkhbt(uint32_t a, uint32_t b) {
    uint32_t r;
    __asm("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* (low half of a, low half of b): two 16-bit results in one word */
static inline uint32_t mf_pack_lo(int32_t a, int32_t b) {
    uint32_t r;
    __asm("pkhbt %0, %1, %2, lsl #16" : "=r"(r) : "r"(a), "r"(b));
    return r;
}
/* (bits 15..30 of lo, high half of hi): a Q15 result from each 32-bit sum */
static inline uint32_t mf_pack_q15(int32_t lo, int32_t hi) {
    uint32_t r;
    __asm("pkhtb %0, %1, %2, asr #15" : "=r"(r) : "r"(hi), "r"(lo));
    return r;
}
/* Per-lane signed max and min into an accumulator, each one SSUB16 + SEL kept together (SEL
 * reads the GE flags the SSUB16 just set, which the compiler must not separate). */
static inline uint32_t mf_max16(uint32_t m, uint32_t x) {
    uint32_t t;
    __asm("ssub16 %0, %1, %2\n\tsel %1, %1, %2" : "=&r"(t), "+r"(m) : "r"(x) : "cc");
    (void)t;
    return m;
}
static inline uint32_t mf_min16(uint32_t m, uint32_t x) {
    uint32_t t;
    __asm("ssub16 %0, %2, %1\n\tsel %1, %1, %2" : "=&r"(t), "+r"(m) : "r"(x) : "cc");
    (void)t;
    return m;
}
#else
static inline uint32_t mf_sadd16_u(uint32_t a, uint32_t b) {
    return mf_pair(mf_lo(a) + mf_lo(b), mf_hi(a) + mf_hi(b));
}
static inline uint32_t mf_ssub16_u(uint32_t a, uint32_t b) {
    return mf_pair(mf_lo(a) - mf_lo(b), mf_hi(a) - mf_hi(b));
}
static inline uint32_t mf_ssax(uint32_t a, uint32_t b) {
    return mf_pair(mf_lo(a) + mf_hi(b), mf_hi(a) - mf_lo(b));
}
static inline uint32_t mf_sasx(uint32_t a, uint32_t b) {
    return mf_pair(mf_lo(a) - mf_hi(b), mf_hi(a) + mf_lo(b));
}
static inline uint32_t mf_shadd16(uint32_t a, uint32_t b) {
    return mf_pair((mf_lo(a) + mf_lo(b)) >> 1, (mf_hi(a) + mf_hi(b)) >> 1);
}
static inline uint32_t mf_shsub16(uint32_t a, uint32_t b) {
    return mf_pair((mf_lo(a) - mf_lo(b)) >> 1, (mf_hi(a) - mf_hi(b)) >> 1);
}
static inline int32_t mf_smlsd(uint32_t a, uint32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(mf_lo(a) * mf_lo(b)) -
                     (uint32_t)(mf_hi(a) * mf_hi(b)));
}
static inline int32_t mf_smladx(uint32_t a, uint32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(mf_lo(a) * mf_hi(b)) +
                     (uint32_t)(mf_hi(a) * mf_lo(b)));
}
static inline uint32_t mf_smuad_self(uint32_t a) {
    return (uint32_t)(mf_lo(a) * mf_lo(a)) + (uint32_t)(mf_hi(a) * mf_hi(a));
}
static inline int32_t mf_smlabb_u(uint32_t a, uint32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(mf_lo(a) * mf_lo(b)));
}
static inline int32_t mf_smlatt_u(uint32_t a, uint32_t b, int32_t acc) {
    return (int32_t)((uint32_t)acc + (uint32_t)(mf_hi(a) * mf_hi(b)));
}
static inline int32_t mf_smulbb_u(uint32_t a, uint32_t b) { return mf_lo(a) * mf_lo(b); }
static inline int32_t mf_smultb_u(uint32_t a, uint32_t b) { return mf_hi(a) * mf_lo(b); }
static inline int32_t mf_smultt_u(uint32_t a, uint32_t b) { return mf_hi(a) * mf_hi(b); }
static inline uint32_t mf_pkhbt(uint32_t a, uint32_t b) {
    return (a & 0xFFFFu) | (b & 0xFFFF0000u);
}
static inline uint32_t mf_pack_lo(int32_t a, int32_t b) { return mf_pair(a, b); }
static inline uint32_t mf_pack_q15(int32_t lo, int32_t hi) {
    return ((uint32_t)hi & 0xFFFF0000u) | (((uint32_t)(lo >> 15)) & 0xFFFFu);
}
static inline uint32_t mf_max16(uint32_t a, uint32_t b) {
    return mf_pair(mf_lo(a) > mf_lo(b) ? mf_lo(a) : mf_lo(b),
                   mf_hi(a) > mf_hi(b) ? mf_hi(a) : mf_hi(b));
}
static inline uint32_t mf_min16(uint32_t a, uint32_t b) {
    return mf_pair(mf_lo(a) < mf_lo(b) ? mf_lo(a) : mf_lo(b),
                   mf_hi(a) < mf_hi(b) ? mf_hi(a) : mf_hi(b));
}
#endif

#endif
