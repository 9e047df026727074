/* Armv7E-M DSP building blocks for the optimized kernels (Cortex-M4, M7, M33, M55).
 *
 * On a host build (no __ARM_FEATURE_DSP) the same operations are emulated in portable C, so the
 * optimized kernels run in the fast host differential tests too; on the device they are single
 * instructions. */
#ifndef MCUFORGE_DSP_H
#define MCUFORGE_DSP_H

#include <stddef.h>
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

/* MF_HAVE_DSP: the kernels' inner steps work on packed int16 lanes (SXTB16, SMLAD...). On a
 * CPU without the DSP instructions (Cortex-M3, RISC-V) they are plain scalar multiply-accumulates
 * over the same data layouts instead (emulating the packed instructions costs more there). A
 * host build runs the packed steps with the instructions emulated in C, as the Cortex-M4 does,
 * or the scalar ones with -DMF_SCALAR_STEPS, as the Cortex-M3 does: the tests check both. */
#if defined(MF_SCALAR_STEPS)
#define MF_HAVE_DSP 0
#elif (defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP) || (!defined(__arm__) && !defined(__riscv))
#define MF_HAVE_DSP 1
#else
#define MF_HAVE_DSP 0
#endif

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

/* Two words to a 4-byte-aligned address, advancing the pointer: one STRD with post-increment. */
static inline void mf_strd_inc(int8_t **p, int32_t lo, int32_t hi) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    __asm("strd %2, %3, [%0], #8" : "+r"(*p), "=m"(*(int64_t *)*p) : "r"(lo), "r"(hi));
#else
    __builtin_memcpy(*p, &lo, 4);
    __builtin_memcpy(*p + 4, &hi, 4);
    *p += 8;
#endif
}

/* n bytes (a multiple of 4) between 4-byte-aligned addresses, 16 per step (two LDRD/STRD). */
static inline void mf_copy_aligned(int8_t *dst, const int8_t *src, ptrdiff_t n) {
    ptrdiff_t k = n;
    for (; k >= 16; k -= 16) {
        int32_t a, b, c, d;
        mf_ldrd_inc(&src, &a, &b);
        mf_ldrd_inc(&src, &c, &d);
        mf_strd_inc(&dst, a, b);
        mf_strd_inc(&dst, c, d);
    }
    for (; k > 0; k -= 4, src += 4, dst += 4) {
        __builtin_memcpy(dst, src, 4);
    }
}

/* The same from an int32 table (requantization rows). */
static inline void mf_ldrd_inc32(const int32_t **p, int32_t *lo, int32_t *hi) {
#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
    int32_t a, b;
    __asm("ldrd %0, %1, [%2], #8" : "=r"(a), "=r"(b), "+r"(*p) : "m"(*(const int64_t *)*p));
    *lo = a;
    *hi = b;
#else
    *lo = (*p)[0];
    *hi = (*p)[1];
    *p += 2;
#endif
}

/* Four consecutive words, advancing the pointer: one LDM on the device (the registers are fixed
 * because LDM's register list is part of the instruction). */
static inline void mf_ldm4_inc(const int8_t **p, int32_t *a, int32_t *b, int32_t *c, int32_t *d) {
#if defined(__arm__) && defined(__thumb2__) && defined(__OPTIMIZE__)
    register int32_t r4 __asm("r4"), r5 __asm("r5"), r6 __asm("r6"), r8 __asm("r8");
    __asm("ldm %4!, {r4, r5, r6, r8}"
          : "=r"(r4), "=r"(r5), "=r"(r6), "=r"(r8), "+r"(*p)
          : "m"(*(const int8_t(*)[16]) * p));
    *a = r4, *b = r5, *c = r6, *d = r8;
#else
    *a = mf_read_s32(*p);
    *b = mf_read_s32(*p + 4);
    *c = mf_read_s32(*p + 8);
    *d = mf_read_s32(*p + 12);
    *p += 16;
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

/* Requantization tables of the DSP kernels (built by mcuforge/compiler/ops/dsp.py), four words
 * per output channel, in the order the kernel produces the channels:
 *  - fast form: (multiplier, k_hi, r - 1, k_lo), for channels with no left shift and a right
 *    shift r >= 1 (and a multiplier of 0 or at least 2^30, as TFLM's QuantizeMultiplier makes).
 *    TFLM's two roundings, h = floor((x*m + 2^30) / 2^31) then floor((h + 2^(r-1) - [h < 0]) /
 *    2^r), nest into one, floor((x*m + 2^30 + 2^(30+r) - [x < 0] * 2^31) / 2^(31+r)), since
 *    floor(floor(a / b) / c) = floor(a / (b*c)), and h < 0 exactly when x < 0 except for x = -1
 *    with m = 2^30, where both forms give 0. The output zero point z joins the sum as
 *    z * 2^(31+r), exactly. k = 2^30 + 2^(30+r) + z * 2^(31+r) is the 64-bit constant for
 *    x >= 0; for x < 0 the kernel adds -2^31, i.e. 2^31 to the low word (ADDS) and -1 to the
 *    high word (ADC of x >> 31). The result is the high word of the sum with x*m (SMLAL),
 *    shifted right by r - 1: five instructions. The compiler checks |k_hi| < 2^30 - 1, so that
 *    the sum's high word cannot leave int32 (|x*m| < 2^62).
 *  - general form: (multiplier, shift, 0, 0), TFLM's arithmetic as written (mf_requant), the
 *    zero point added after. */
MF_INLINE int32_t mf_rq_fast(int32_t x, int32_t m, int32_t k_hi, int32_t s, int32_t k_lo) {
#if defined(__arm__) && defined(__thumb2__)
    uint32_t lo;
    int32_t hi;
    __asm("and %0, %2, #0x80000000\n\t"
          "adds %0, %0, %3\n\t"
          "adc %1, %4, %2, asr #31\n\t"
          "smlal %0, %1, %2, %5"
          : "=&r"(lo), "=&r"(hi)
          : "r"(x), "r"(k_lo), "r"(k_hi), "r"(m)
          : "cc");
    (void)lo;
    return hi >> s;
#else
    const uint64_t k = (((uint64_t)(uint32_t)k_hi << 32) | (uint32_t)k_lo) +
                       ((uint32_t)x & 0x80000000u) - (x < 0 ? (1ull << 32) : 0);
    const int64_t sum = (int64_t)k + (int64_t)x * m;
    return (int32_t)(sum >> 32) >> s;
#endif
}

/* A kernel body shared by every layer of a model that uses it (--opt size / balanced): one
 * out-of-line copy, not cloned per constant argument. */
#define MF_SHARED static __attribute__((noinline, noclone, unused))

/* The general form, out of line: rare (a left shift, or no right shift), and long. */
MF_SHARED int32_t mf_rq_general(int32_t x, int32_t multiplier, int32_t shift, int32_t offset) {
    return mf_requant(x, multiplier, shift) + offset;
}

/* One channel's requantized value plus the output zero point, before the activation clamp.
 * `fast` is a compile-time constant in specialized kernels, a per-layer flag in shared ones. */
MF_INLINE int32_t mf_rq(int32_t x, const int32_t *rq, int fast, int32_t output_offset) {
    return fast ? mf_rq_fast(x, rq[0], rq[1], rq[2], rq[3])
                : mf_rq_general(x, rq[0], rq[1], output_offset);
}

/* The same from the table row `*rq` points at, moving past it (two LDRDs with write-back). */
MF_INLINE int32_t mf_rq_next(int32_t x, const int32_t **rq, int fast, int32_t output_offset) {
    int32_t m, k_hi, s, k_lo;
    mf_ldrd_inc32(rq, &m, &k_hi);
    mf_ldrd_inc32(rq, &s, &k_lo);
    return fast ? mf_rq_fast(x, m, k_hi, s, k_lo) : mf_rq_general(x, m, k_hi, output_offset);
}

/* A table row loaded into registers (two LDRDs), `*rq` moved past it, and requantizations with
 * it: for kernels that requantize several accumulators of one channel. */
typedef struct {
    int32_t m, k_hi, s, k_lo;
} mf_rq_row_t;

MF_INLINE mf_rq_row_t mf_rq_load(const int32_t **rq) {
    mf_rq_row_t r;
    mf_ldrd_inc32(rq, &r.m, &r.k_hi);
    mf_ldrd_inc32(rq, &r.s, &r.k_lo);
    return r;
}

MF_INLINE int32_t mf_rq_with(int32_t x, const mf_rq_row_t *r, int fast, int32_t output_offset) {
    return fast ? mf_rq_fast(x, r->m, r->k_hi, r->s, r->k_lo)
                : mf_rq_general(x, r->m, r->k_hi, output_offset);
}

/* What every DSP kernel's epilogue needs, read once from the layer's parameters (output stores
 * through int8_t * could alias them, so reading them in the loops would reload them). */
typedef struct {
    const int32_t *rq, *bias;
    int32_t out_off;
    int32_t lo, hi;    /* the activation range */
    uint32_t lo4, hi4; /* the same in every byte */
    int clamp;         /* the range is narrower than int8 (a compile-time constant if it can) */
} mf_epilogue_t;

static inline uint32_t mf_bytes4(int32_t v) { return (uint32_t)(uint8_t)v * 0x01010101u; }

MF_INLINE mf_epilogue_t mf_epilogue(const mcuforge_dsp_params_t *p, int clamp) {
    const mf_epilogue_t e = {p->requant, p->bias, p->output_offset, p->act_min, p->act_max,
                             mf_bytes4(p->act_min), mf_bytes4(p->act_max), clamp};
    return e;
}

/* Byte b of w replaced by the low byte of v: one BFI (Armv7-M has it with or without DSP). */
#if defined(__arm__) && defined(__thumb2__)
#define MF_BFI8(w, v, b) __asm("bfi %0, %1, #" #b ", #8" : "+r"(w) : "r"(v))
#else
#define MF_BFI8(w, v, b) ((w) = ((w) & ~(0xffu << (b))) | (((uint32_t)(v) & 0xffu) << (b)))
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
/* Four values saturated to int8 (SSAT), packed (BFI) and, if the activation range is narrower,
 * clamped to it four bytes at a time (SSUB8 sets the GE flags, SEL picks). */
MF_INLINE uint32_t mf_pack_clamp(int32_t v0, int32_t v1, int32_t v2, int32_t v3,
                                 const mf_epilogue_t *e) {
    uint32_t w = (uint32_t)__ssat(v0, 8);
    MF_BFI8(w, __ssat(v1, 8), 8);
    MF_BFI8(w, __ssat(v2, 8), 16);
    MF_BFI8(w, __ssat(v3, 8), 24);
    if (!e->clamp) {
        return w;
    }
    uint32_t t;
    __asm("ssub8 %1, %0, %2\n\tsel %0, %0, %2\n\tssub8 %1, %3, %0\n\tsel %0, %0, %3"
          : "+&r"(w), "=&r"(t) : "r"(e->lo4), "r"(e->hi4) : "cc");
    return w;
}
#else
/* Without the DSP extension: each value clamped (the range is inside int8), then packed. */
MF_INLINE int32_t mf_clamp1(int32_t v, const mf_epilogue_t *e) {
    v = v < e->lo ? e->lo : v;
    return v > e->hi ? e->hi : v;
}
MF_INLINE uint32_t mf_pack_clamp(int32_t v0, int32_t v1, int32_t v2, int32_t v3,
                                 const mf_epilogue_t *e) {
    uint32_t w = (uint32_t)mf_clamp1(v0, e);
    MF_BFI8(w, mf_clamp1(v1, e), 8);
    MF_BFI8(w, mf_clamp1(v2, e), 16);
    MF_BFI8(w, mf_clamp1(v3, e), 24);
    return w;
}
#endif

/* A 32-bit store to any alignment (one STR on Armv7-M). */
static inline void mf_write_u32(void *p, uint32_t v) { __builtin_memcpy(p, &v, sizeof v); }
static inline void mf_write_u16(void *p, uint32_t v) {
    const uint16_t h = (uint16_t)v;
    __builtin_memcpy(p, &h, sizeof h);
}

/* Four channels' accumulators requantized with the next four table rows, clamped, packed. */
MF_INLINE uint32_t mf_finish4(int32_t a0, int32_t a1, int32_t a2, int32_t a3,
                              const int32_t **rq, int fast, const mf_epilogue_t *e) {
    const int32_t v0 = mf_rq_next(a0, rq, fast, e->out_off);
    const int32_t v1 = mf_rq_next(a1, rq, fast, e->out_off);
    const int32_t v2 = mf_rq_next(a2, rq, fast, e->out_off);
    const int32_t v3 = mf_rq_next(a3, rq, fast, e->out_off);
    return mf_pack_clamp(v0, v1, v2, v3, e);
}

/* One channel requantized and clamped, out of line (channel tails). */
MF_SHARED int8_t mf_finish1(int32_t a, const int32_t *rq, int fast, const mf_epilogue_t *e) {
    int32_t v = mf_rq(a, rq, fast, e->out_off);
    v = v < e->lo ? e->lo : v;
    return (int8_t)(v > e->hi ? e->hi : v);
}

/* An empty asm that takes a pointer and gives it back: GCC materializes it in a register and
 * addresses the loads through it (immediate offsets), instead of folding its arithmetic into
 * offsets it then keeps on the stack, and cannot hoist the loads above the point where it is
 * pinned (which makes it spill the loaded values when it schedules before register allocation). */
#define MF_PIN(p) __asm("" : "+r"(p))

/* A compiler barrier between the steps of an unrolled loop: no load moves across it, so GCC
 * cannot hoist every step's loads to the top, where they outnumber the registers and spill. */
#define MF_STEP_BARRIER() __asm volatile("" ::: "memory")

/* A kernel specialized for one geometry (the functions the SPEC macros define), and the thin
 * per-geometry wrappers of the SHARED macros: kept out of line, one call per layer. */
#define MF_SPEC static __attribute__((noinline))

#endif
