/* Armv8.1-M Helium (MVE) building blocks for the vector kernels (Cortex-M55, M85).
 *
 * Each mf_v* function is one MVE instruction on the device (arm_mve.h, or inline asm where the
 * intrinsic makes GCC emit worse code). On a host build (no __ARM_FEATURE_MVE) the same
 * instruction is emulated lane by lane in portable C, to the bit -- wrapping, saturation,
 * rounding, predicated lanes -- so the vector kernels run in the fast host differential tests
 * too. The only other device-specific code is the matrix core's inner loop (matmul.h). */
#ifndef MCUFORGE_MVE_H
#define MCUFORGE_MVE_H

#include <stdint.h>

#define MF_INLINE static inline __attribute__((always_inline))

/* The specialized kernels (the functions the SPEC macros define). The Cortex-M55's compiler
 * flags (boards/_cpus.toml) keep GCC from scheduling before register allocation -- it would hoist
 * every vector load of an unrolled block ahead of its uses, which needs more than the eight Q
 * registers and spills them (2-3x the instructions of the depthwise kernel) -- and from counting
 * loops in lr (DLS/LE), which takes the eighth even register the matrix core's accumulators need
 * (matmul.h). Not inlined into the model's invoke function, to keep one copy per shape. */
#define MF_MVE_KERNEL static __attribute__((noinline))

/* A body shared by the layers of a model that need it, one copy; unused ones are dropped. */
#define MF_MVE_SHARED static __attribute__((noinline, noclone, unused))

/* What a vector kernel reads at run time; every shape is a compile-time constant of the
 * specialized kernel instead. */
typedef struct {
    int32_t input_zp;      /* the value of taps outside the image (see the kernels) */
    int32_t output_offset; /* output zero point */
    int32_t act_min, act_max;
    const int32_t *rq;     /* requantization blocks, see mf_vrequant */
} mcuforge_mve_params_t;

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#include <arm_mve.h>

typedef int8x16_t mf_s8x16_t;
typedef int16x8_t mf_s16x8_t;
typedef int32x4_t mf_s32x4_t;
typedef mve_pred16_t mf_pred_t;
typedef uint16x8_t mf_u16x8_t;

MF_INLINE mf_pred_t mf_vctp8(uint32_t n) { return vctp8q(n); }
MF_INLINE mf_pred_t mf_vctp16(uint32_t n) { return vctp16q(n); }
MF_INLINE mf_pred_t mf_vctp32(uint32_t n) { return vctp32q(n); }

MF_INLINE mf_s8x16_t mf_vld8(const int8_t *p) { return vldrbq_s8(p); }
MF_INLINE mf_s8x16_t mf_vld8_z(const int8_t *p, mf_pred_t m) { return vldrbq_z_s8(p, m); }
MF_INLINE void mf_vst8(int8_t *p, mf_s8x16_t v) { vstrbq_s8(p, v); }
MF_INLINE void mf_vst8_p(int8_t *p, mf_s8x16_t v, mf_pred_t m) { vstrbq_p_s8(p, v, m); }
MF_INLINE mf_s8x16_t mf_vdup8(int8_t x) { return vdupq_n_s8(x); }

MF_INLINE int32_t mf_vmladav(mf_s8x16_t a, mf_s8x16_t b) { return vmladavq_s8(a, b); }
MF_INLINE int32_t mf_vmladava(int32_t acc, mf_s8x16_t a, mf_s8x16_t b) {
    return vmladavaq_s8(acc, a, b);
}

MF_INLINE mf_s16x8_t mf_vld8to16(const int8_t *p) { return vldrbq_s16(p); }
MF_INLINE mf_s16x8_t mf_vld8to16_z(const int8_t *p, mf_pred_t m) { return vldrbq_z_s16(p, m); }
MF_INLINE mf_s16x8_t mf_vdup16(int16_t x) { return vdupq_n_s16(x); }
MF_INLINE mf_s32x4_t mf_vmullb16(mf_s16x8_t a, mf_s16x8_t b) { return vmullbq_int_s16(a, b); }
MF_INLINE mf_s32x4_t mf_vmullt16(mf_s16x8_t a, mf_s16x8_t b) { return vmulltq_int_s16(a, b); }
MF_INLINE void mf_vst16to8(int8_t *p, mf_s16x8_t v) { vstrbq_s16(p, v); }
MF_INLINE void mf_vst16to8_p(int8_t *p, mf_s16x8_t v, mf_pred_t m) { vstrbq_p_s16(p, v, m); }

MF_INLINE mf_s32x4_t mf_vld32(const int32_t *p) { return vldrwq_s32(p); }
MF_INLINE mf_s32x4_t mf_vld8to32(const int8_t *p) { return vldrbq_s32(p); }
MF_INLINE mf_s32x4_t mf_vld8to32_z(const int8_t *p, mf_pred_t m) { return vldrbq_z_s32(p, m); }
/* VLDRW.U32 gather: lane i from base[idx[i]]. */
MF_INLINE mf_s32x4_t mf_vgather32(const int32_t *base, mf_s32x4_t idx) {
    return vldrwq_gather_shifted_offset_s32(base, vreinterpretq_u32_s32(idx));
}
MF_INLINE mf_s16x8_t mf_vaddn16(mf_s16x8_t a, int16_t b) { return vaddq_n_s16(a, b); }
/* 0, step, 2 step, ... in the eight lanes. */
MF_INLINE mf_u16x8_t mf_vidx16(uint16_t step) { return vmulq_n_u16(vidupq_n_u16(0, 1), step); }
/* VSTRB.16 scatter: the low byte of lane i at p + offsets[i], lanes predicated by m. */
MF_INLINE void mf_vst16to8_scatter_p(int8_t *p, mf_u16x8_t offsets, mf_s16x8_t v, mf_pred_t m) {
    vstrbq_scatter_offset_p_s16(p, offsets, v, m);
}
MF_INLINE mf_s32x4_t mf_vdup32(int32_t x) { return vdupq_n_s32(x); }
MF_INLINE mf_s32x4_t mf_vadd32(mf_s32x4_t a, mf_s32x4_t b) { return vaddq_s32(a, b); }
MF_INLINE mf_s32x4_t mf_vaddn32(mf_s32x4_t a, int32_t b) { return vaddq_n_s32(a, b); }
MF_INLINE mf_s32x4_t mf_vand32(mf_s32x4_t a, mf_s32x4_t b) { return vandq_s32(a, b); }
MF_INLINE mf_s32x4_t mf_vsign32(mf_s32x4_t a) { return vshrq_n_s32(a, 31); }
MF_INLINE mf_s32x4_t mf_vshl32(mf_s32x4_t a, mf_s32x4_t s) { return vshlq_s32(a, s); }
MF_INLINE mf_s32x4_t mf_vrshl32(mf_s32x4_t a, mf_s32x4_t s) { return vrshlq_s32(a, s); }
MF_INLINE mf_s32x4_t mf_vqrdmulh32(mf_s32x4_t a, mf_s32x4_t b) { return vqrdmulhq_s32(a, b); }
MF_INLINE void mf_vst32to8(int8_t *p, mf_s32x4_t v) { vstrbq_s32(p, v); }
MF_INLINE void mf_vst32to8_p(int8_t *p, mf_s32x4_t v, mf_pred_t m) { vstrbq_p_s32(p, v, m); }

/* Saturating narrows in place (VQMOVNB/VQMOVNT into the source's own register): the halves they
 * do not write are don't-cares here, and the intrinsics, whose destination is also an input,
 * would make GCC copy the register first. */
MF_INLINE mf_s16x8_t mf_vqmovnb32_self(mf_s32x4_t v) {
    __asm("vqmovnb.s32 %q0, %q0" : "+w"(v));
    return vreinterpretq_s16_s32(v);
}
MF_INLINE mf_s16x8_t mf_vqmovnbt32(mf_s32x4_t even, mf_s32x4_t odd) {
    __asm("vqmovnb.s32 %q0, %q0\n\tvqmovnt.s32 %q0, %q1" : "+&w"(even) : "w"(odd));
    return vreinterpretq_s16_s32(even);
}
MF_INLINE mf_s8x16_t mf_vqmovnb16_self(mf_s16x8_t v) {
    __asm("vqmovnb.s16 %q0, %q0" : "+w"(v));
    return vreinterpretq_s8_s16(v);
}
MF_INLINE mf_s16x8_t mf_vmax16(mf_s16x8_t a, mf_s16x8_t b) { return vmaxq_s16(a, b); }
MF_INLINE mf_s16x8_t mf_vmin16(mf_s16x8_t a, mf_s16x8_t b) { return vminq_s16(a, b); }
MF_INLINE mf_s8x16_t mf_vmax8(mf_s8x16_t a, mf_s8x16_t b) { return vmaxq_s8(a, b); }
MF_INLINE mf_s8x16_t mf_vmin8(mf_s8x16_t a, mf_s8x16_t b) { return vminq_s8(a, b); }
MF_INLINE mf_s16x8_t mf_vs16_from_s8(mf_s8x16_t v) { return vreinterpretq_s16_s8(v); }
MF_INLINE mf_s32x4_t mf_vs32_from_s8(mf_s8x16_t v) { return vreinterpretq_s32_s8(v); }

/* An empty asm that takes the vector and gives it back: GCC no longer sees through it, so it
 * cannot reassociate a chain of accumulations into all-products-first (which runs out of the
 * eight Q registers and spills). */
MF_INLINE mf_s32x4_t mf_vpin32(mf_s32x4_t v) {
    __asm("" : "+w"(v));
    return v;
}

/* Four scalars into the lanes of a vector: two VMOVs, each filling two lanes from two core
 * registers (GCC 12 would spend one instruction per lane on vsetq_lane). */
MF_INLINE mf_s32x4_t mf_vec4(int32_t a, int32_t b, int32_t c, int32_t d) {
    mf_s32x4_t v;
    __asm("vmov %q0[2], %q0[0], %1, %2" : "=w"(v) : "r"(a), "r"(c));
    __asm("vmov %q0[3], %q0[1], %1, %2" : "+w"(v) : "r"(b), "r"(d));
    return v;
}
#else
/* Host emulation: a vector is a struct of lanes, a predicate one bit per byte (as VPR.P0). */
typedef struct {
    int8_t l[16];
} mf_s8x16_t;
typedef struct {
    int16_t l[8];
} mf_s16x8_t;
typedef struct {
    int32_t l[4];
} mf_s32x4_t;
typedef uint16_t mf_pred_t;
typedef struct {
    uint16_t l[8];
} mf_u16x8_t;

/* VCTP: the first n lanes of `bytes` bytes each active (n saturates at the lane count). */
static inline mf_pred_t mf_vctp_bytes(uint32_t n, int bytes) {
    const uint32_t active = n * (uint32_t)bytes >= 16u ? 16u : n * (uint32_t)bytes;
    return (mf_pred_t)((1u << active) - 1u);
}
static inline mf_pred_t mf_vctp8(uint32_t n) { return mf_vctp_bytes(n, 1); }
static inline mf_pred_t mf_vctp16(uint32_t n) { return mf_vctp_bytes(n, 2); }
static inline mf_pred_t mf_vctp32(uint32_t n) { return mf_vctp_bytes(n, 4); }
/* A lane is predicated by the bit of its lowest byte. */
static inline int mf_lane_on(mf_pred_t m, int lane, int bytes) {
    return (m >> (lane * bytes)) & 1;
}

static inline mf_s8x16_t mf_vld8(const int8_t *p) {
    mf_s8x16_t r;
    for (int i = 0; i < 16; ++i) r.l[i] = p[i];
    return r;
}
/* Predicated loads zero the inactive lanes and do not touch their memory. */
static inline mf_s8x16_t mf_vld8_z(const int8_t *p, mf_pred_t m) {
    mf_s8x16_t r;
    for (int i = 0; i < 16; ++i) r.l[i] = mf_lane_on(m, i, 1) ? p[i] : 0;
    return r;
}
static inline void mf_vst8(int8_t *p, mf_s8x16_t v) {
    for (int i = 0; i < 16; ++i) p[i] = v.l[i];
}
static inline void mf_vst8_p(int8_t *p, mf_s8x16_t v, mf_pred_t m) {
    for (int i = 0; i < 16; ++i) {
        if (mf_lane_on(m, i, 1)) p[i] = v.l[i];
    }
}
static inline mf_s8x16_t mf_vdup8(int8_t x) {
    mf_s8x16_t r;
    for (int i = 0; i < 16; ++i) r.l[i] = x;
    return r;
}

/* VMLADAVA.S8: the 16 products summed into a 32-bit accumulator, wrapping. */
static inline int32_t mf_vmladava(int32_t acc, mf_s8x16_t a, mf_s8x16_t b) {
    uint32_t s = (uint32_t)acc;
    for (int i = 0; i < 16; ++i) s += (uint32_t)((int32_t)a.l[i] * (int32_t)b.l[i]);
    return (int32_t)s;
}
static inline int32_t mf_vmladav(mf_s8x16_t a, mf_s8x16_t b) { return mf_vmladava(0, a, b); }

/* VLDRB.S16: eight bytes sign-extended to 16-bit lanes. */
static inline mf_s16x8_t mf_vld8to16(const int8_t *p) {
    mf_s16x8_t r;
    for (int i = 0; i < 8; ++i) r.l[i] = p[i];
    return r;
}
static inline mf_s16x8_t mf_vld8to16_z(const int8_t *p, mf_pred_t m) {
    mf_s16x8_t r;
    for (int i = 0; i < 8; ++i) r.l[i] = (int16_t)(mf_lane_on(m, i, 2) ? p[i] : 0);
    return r;
}
static inline mf_s16x8_t mf_vdup16(int16_t x) {
    mf_s16x8_t r;
    for (int i = 0; i < 8; ++i) r.l[i] = x;
    return r;
}
/* VMULLB/VMULLT.S16: the even (bottom) or odd (top) lanes multiplied into 32-bit lanes. */
static inline mf_s32x4_t mf_vmullb16(mf_s16x8_t a, mf_s16x8_t b) {
    mf_s32x4_t r;
    for (int i = 0; i < 4; ++i) r.l[i] = (int32_t)a.l[2 * i] * b.l[2 * i];
    return r;
}
static inline mf_s32x4_t mf_vmullt16(mf_s16x8_t a, mf_s16x8_t b) {
    mf_s32x4_t r;
    for (int i = 0; i < 4; ++i) r.l[i] = (int32_t)a.l[2 * i + 1] * b.l[2 * i + 1];
    return r;
}
/* VSTRB.16 / VSTRB.32: the low byte of each lane. */
static inline void mf_vst16to8(int8_t *p, mf_s16x8_t v) {
    for (int i = 0; i < 8; ++i) p[i] = (int8_t)(uint8_t)(uint16_t)v.l[i];
}
static inline void mf_vst16to8_p(int8_t *p, mf_s16x8_t v, mf_pred_t m) {
    for (int i = 0; i < 8; ++i) {
        if (mf_lane_on(m, i, 2)) p[i] = (int8_t)(uint8_t)(uint16_t)v.l[i];
    }
}

static inline mf_s32x4_t mf_vld32(const int32_t *p) {
    mf_s32x4_t r;
    for (int i = 0; i < 4; ++i) r.l[i] = p[i];
    return r;
}
/* VLDRB.S32: four bytes sign-extended to 32-bit lanes (zero where predicated off). */
static inline mf_s32x4_t mf_vld8to32_z(const int8_t *p, mf_pred_t m) {
    mf_s32x4_t r;
    for (int i = 0; i < 4; ++i) r.l[i] = mf_lane_on(m, i, 4) ? p[i] : 0;
    return r;
}
static inline mf_s32x4_t mf_vld8to32(const int8_t *p) { return mf_vld8to32_z(p, 0xffff); }
static inline mf_s32x4_t mf_vgather32(const int32_t *base, mf_s32x4_t idx) {
    mf_s32x4_t r;
    for (int i = 0; i < 4; ++i) r.l[i] = base[(uint32_t)idx.l[i]];
    return r;
}
static inline mf_u16x8_t mf_vidx16(uint16_t step) {
    mf_u16x8_t r;
    for (int i = 0; i < 8; ++i) r.l[i] = (uint16_t)(i * step);
    return r;
}
static inline void mf_vst16to8_scatter_p(int8_t *p, mf_u16x8_t offsets, mf_s16x8_t v,
                                         mf_pred_t m) {
    for (int i = 0; i < 8; ++i) {
        if (mf_lane_on(m, i, 2)) p[offsets.l[i]] = (int8_t)(uint8_t)(uint16_t)v.l[i];
    }
}
static inline mf_s16x8_t mf_vaddn16(mf_s16x8_t a, int16_t b) {
    for (int i = 0; i < 8; ++i) a.l[i] = (int16_t)(uint16_t)((uint32_t)a.l[i] + (uint32_t)b);
    return a;
}
static inline mf_s32x4_t mf_vdup32(int32_t x) {
    mf_s32x4_t r;
    for (int i = 0; i < 4; ++i) r.l[i] = x;
    return r;
}
static inline mf_s32x4_t mf_vadd32(mf_s32x4_t a, mf_s32x4_t b) {
    for (int i = 0; i < 4; ++i) a.l[i] = (int32_t)((uint32_t)a.l[i] + (uint32_t)b.l[i]);
    return a;
}
static inline mf_s32x4_t mf_vaddn32(mf_s32x4_t a, int32_t b) {
    return mf_vadd32(a, mf_vdup32(b));
}
static inline mf_s32x4_t mf_vand32(mf_s32x4_t a, mf_s32x4_t b) {
    for (int i = 0; i < 4; ++i) a.l[i] &= b.l[i];
    return a;
}
static inline mf_s32x4_t mf_vsign32(mf_s32x4_t a) {
    for (int i = 0; i < 4; ++i) a.l[i] = a.l[i] < 0 ? -1 : 0;
    return a;
}
/* VSHL / VRSHL (register): shift by the signed low byte of each lane of s, left when positive
 * (bits shifted out are lost), arithmetic right when negative -- VRSHL adding 2^(n-1) first,
 * without intermediate overflow. */
static inline int32_t mf_shift_lane(int32_t x, int32_t s, int rounding) {
    const int32_t n = (int8_t)(uint8_t)(uint32_t)s;
    if (n >= 0) return n >= 32 ? 0 : (int32_t)((uint32_t)x << n);
    const int32_t r = -n;
    if (r > 32) return rounding || x >= 0 ? 0 : -1; /* (x + 2^(r-1)) >> r is 0 there */
    const int64_t add = rounding ? (int64_t)1 << (r - 1) : 0;
    return (int32_t)(((int64_t)x + add) >> r);
}
static inline mf_s32x4_t mf_vshl32(mf_s32x4_t a, mf_s32x4_t s) {
    for (int i = 0; i < 4; ++i) a.l[i] = mf_shift_lane(a.l[i], s.l[i], 0);
    return a;
}
static inline mf_s32x4_t mf_vrshl32(mf_s32x4_t a, mf_s32x4_t s) {
    for (int i = 0; i < 4; ++i) a.l[i] = mf_shift_lane(a.l[i], s.l[i], 1);
    return a;
}
/* VQRDMULH.S32: (2ab + 2^31) >> 32, saturated (only INT32_MIN * INT32_MIN overflows). */
static inline mf_s32x4_t mf_vqrdmulh32(mf_s32x4_t a, mf_s32x4_t b) {
    for (int i = 0; i < 4; ++i) {
        const int64_t p = (int64_t)a.l[i] * b.l[i];
        a.l[i] = p == ((int64_t)1 << 62) ? INT32_MAX : (int32_t)((p + (1LL << 30)) >> 31);
    }
    return a;
}
static inline void mf_vst32to8(int8_t *p, mf_s32x4_t v) {
    for (int i = 0; i < 4; ++i) p[i] = (int8_t)(uint8_t)(uint32_t)v.l[i];
}
static inline void mf_vst32to8_p(int8_t *p, mf_s32x4_t v, mf_pred_t m) {
    for (int i = 0; i < 4; ++i) {
        if (mf_lane_on(m, i, 4)) p[i] = (int8_t)(uint8_t)(uint32_t)v.l[i];
    }
}
static inline mf_s32x4_t mf_vec4(int32_t a, int32_t b, int32_t c, int32_t d) {
    mf_s32x4_t r = {{a, b, c, d}};
    return r;
}
static inline mf_s32x4_t mf_vpin32(mf_s32x4_t v) { return v; }

/* VQMOVNB/VQMOVNT.S32, VQMOVNB.S16 in place: saturated to the narrower type into the even
 * (bottom) or odd (top) narrow lanes of the source's register, the other lanes kept. */
static inline int32_t mf_sat(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : x > hi ? hi : x;
}
static inline mf_s16x8_t mf_vs16_from_s32(mf_s32x4_t v) {
    mf_s16x8_t r;
    __builtin_memcpy(&r, &v, sizeof r);
    return r;
}
static inline mf_s16x8_t mf_vqmovnbt32(mf_s32x4_t even, mf_s32x4_t odd) {
    mf_s16x8_t d = mf_vs16_from_s32(even);
    for (int i = 0; i < 4; ++i) {
        d.l[2 * i] = (int16_t)mf_sat(even.l[i], INT16_MIN, INT16_MAX);
        d.l[2 * i + 1] = (int16_t)mf_sat(odd.l[i], INT16_MIN, INT16_MAX);
    }
    return d;
}
static inline mf_s16x8_t mf_vqmovnb32_self(mf_s32x4_t v) {
    mf_s16x8_t d = mf_vs16_from_s32(v);
    for (int i = 0; i < 4; ++i) d.l[2 * i] = (int16_t)mf_sat(v.l[i], INT16_MIN, INT16_MAX);
    return d;
}
static inline mf_s8x16_t mf_vqmovnb16_self(mf_s16x8_t v) {
    mf_s8x16_t d;
    __builtin_memcpy(&d, &v, sizeof d);
    for (int i = 0; i < 8; ++i) d.l[2 * i] = (int8_t)mf_sat(v.l[i], INT8_MIN, INT8_MAX);
    return d;
}
static inline mf_s16x8_t mf_vmax16(mf_s16x8_t a, mf_s16x8_t b) {
    for (int i = 0; i < 8; ++i) a.l[i] = a.l[i] > b.l[i] ? a.l[i] : b.l[i];
    return a;
}
static inline mf_s16x8_t mf_vmin16(mf_s16x8_t a, mf_s16x8_t b) {
    for (int i = 0; i < 8; ++i) a.l[i] = a.l[i] < b.l[i] ? a.l[i] : b.l[i];
    return a;
}
static inline mf_s8x16_t mf_vmax8(mf_s8x16_t a, mf_s8x16_t b) {
    for (int i = 0; i < 16; ++i) a.l[i] = a.l[i] > b.l[i] ? a.l[i] : b.l[i];
    return a;
}
static inline mf_s8x16_t mf_vmin8(mf_s8x16_t a, mf_s8x16_t b) {
    for (int i = 0; i < 16; ++i) a.l[i] = a.l[i] < b.l[i] ? a.l[i] : b.l[i];
    return a;
}
/* Reinterpretations: the same 16 bytes, little-endian lanes (as on the device). */
static inline mf_s16x8_t mf_vs16_from_s8(mf_s8x16_t v) {
    mf_s16x8_t r;
    __builtin_memcpy(&r, &v, sizeof r);
    return r;
}
static inline mf_s32x4_t mf_vs32_from_s8(mf_s8x16_t v) {
    mf_s32x4_t r;
    __builtin_memcpy(&r, &v, sizeof r);
    return r;
}
#endif

/* TFLM's requantization (MultiplyByQuantizedMultiplier, double rounding) of four accumulators,
 * plus the output zero point; the activation clamp comes with the narrowing store. `blk` is the
 * lanes' block of the compiler's table (mcuforge/compiler/ops/mve.py): bias, multiplier, -right
 * shift, then for the general form left shift and rounding mask, four lanes each.
 *  - VSHL by the left shift wraps like the reference's x * (1 << left);
 *  - VQRDMULH is gemmlowp's SaturatingRoundingDoublingHighMul: both are floor((x*m + 2^30)
 *    / 2^31) (gemmlowp's sign-dependent nudge with a truncating division comes to the same),
 *    saturating only for INT32_MIN * INT32_MIN, which a positive multiplier excludes;
 *  - RoundingDivideByPOT rounds half away from zero, VRSHL half up: subtracting 1 from a
 *    negative h first makes them agree, floor((h - 1 + 2^(r-1)) / 2^r), for r >= 1. With r = 0
 *    there is nothing to round and h must stay as it is: the mask (-1 where r >= 1, else 0)
 *    drops the correction. The fast form (`general` = 0) is for tables where every lane has
 *    r >= 1 and no left shift (the compiler checks), three instructions shorter.
 * h - 1 cannot wrap: a multiplier below 2^31 keeps h above INT32_MIN. */
MF_INLINE mf_s32x4_t mf_vrequant(mf_s32x4_t acc, const int32_t *blk, int general,
                                 int32_t out_off) {
    mf_s32x4_t x = mf_vadd32(acc, mf_vld32(blk));
    if (general) {
        x = mf_vshl32(x, mf_vld32(blk + 12));
    }
    const mf_s32x4_t h = mf_vqrdmulh32(x, mf_vld32(blk + 4));
    mf_s32x4_t neg = mf_vsign32(h);
    if (general) {
        neg = mf_vand32(neg, mf_vld32(blk + 16));
    }
    const mf_s32x4_t q = mf_vrshl32(mf_vadd32(h, neg), mf_vld32(blk + 8));
    return mf_vaddn32(q, out_off);
}

/* The activation range as int8 lanes, for kernels whose range is not all of int8 (`clamp`). */
typedef struct {
    mf_s8x16_t lo, hi;
} mf_clamp8_t;

MF_INLINE mf_clamp8_t mf_clamp8(const mcuforge_mve_params_t *p) {
    const mf_clamp8_t c = {mf_vdup8((int8_t)p->act_min), mf_vdup8((int8_t)p->act_max)};
    return c;
}

/* Four requantized lanes to four bytes: saturated to int16 then int8 (VQMOVNB twice, which
 * leaves lane i's byte at byte 4i), clamped to the activation range if `clamp`, and stored by
 * VSTRB.32 (the low byte of each 32-bit lane), predicated to the first `n` if n < 4.
 * Saturating first and clamping after equals clamping the int32 values, the range being inside
 * int8. */
MF_INLINE void mf_vstore4(int8_t *out, mf_s32x4_t v, int clamp, const mf_clamp8_t *c,
                          int32_t n) {
    mf_s8x16_t b = mf_vqmovnb16_self(mf_vqmovnb32_self(v));
    if (clamp) {
        b = mf_vmin8(mf_vmax8(b, c->lo), c->hi);
    }
    if (n < 4) {
        mf_vst32to8_p(out, mf_vs32_from_s8(b), mf_vctp32((uint32_t)n));
    } else {
        mf_vst32to8(out, mf_vs32_from_s8(b));
    }
}

/* Eight channels from the even lanes' and the odd lanes' results: saturated into 16-bit lanes
 * in channel order (VQMOVNB / VQMOVNT), then to int8 or clamped to the activation range (inside
 * int8; `lo` and `hi` its bounds in 16-bit lanes), stored by VSTRB.16, predicated to the first
 * `n` if n < 8. */
MF_INLINE void mf_vstore8(int8_t *out, mf_s32x4_t even, mf_s32x4_t odd, int clamp,
                          mf_s16x8_t lo, mf_s16x8_t hi, int32_t n) {
    mf_s16x8_t h = mf_vqmovnbt32(even, odd);
    if (clamp) {
        h = mf_vmin16(mf_vmax16(h, lo), hi);
    } else {
        h = mf_vs16_from_s8(mf_vqmovnb16_self(h));
    }
    if (n < 8) {
        mf_vst16to8_p(out, h, mf_vctp16((uint32_t)n));
    } else {
        mf_vst16to8(out, h);
    }
}

/* mf_vstore8 with lane i's byte stored at out + offsets[i] (VSTRB.16 scatter). */
MF_INLINE void mf_vstore8_scatter(int8_t *out, mf_u16x8_t offsets, mf_s32x4_t even,
                                  mf_s32x4_t odd, int clamp, mf_s16x8_t lo, mf_s16x8_t hi,
                                  int32_t n) {
    mf_s16x8_t h = mf_vqmovnbt32(even, odd);
    if (clamp) {
        h = mf_vmin16(mf_vmax16(h, lo), hi);
    } else {
        h = mf_vs16_from_s8(mf_vqmovnb16_self(h));
    }
    mf_vst16to8_scatter_p(out, offsets, h, mf_vctp16((uint32_t)n));
}

/* Words per four-lane block of the requantization table. */
#define MF_RQ_BLOCK(general) ((general) ? 20 : 12)

#endif
