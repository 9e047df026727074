/* ADD and MUL, int8, element-wise (no broadcast), Helium (MVE). Bit-exact with TFLM's
 * reference_integer_ops::AddFunc / MulElementwise.
 *
 * ADD: each input's rescaled value, MultiplyByQuantizedMultiplierSmallerThanOneExp((x + offset)
 * << left_shift), depends on one int8 only, so the compiler tabulates it for all 256 values (the
 * portable kernel's tables, kernels/fast/add.c); four elements per pass: the bytes loaded
 * sign-extended into 32-bit lanes, offset to table indices, the two tables read by gather loads
 * (VLDRW.U32 with scaled offsets), summed, requantized with the output multiplier (mf_vrequant,
 * TFLM's double rounding), narrowed, clamped, stored.
 * MUL: eight elements per pass: the bytes loaded into 16-bit lanes, offset (|x + offset| <= 255),
 * multiplied into two vectors of 32-bit products (VMULLB / VMULLT, exact), requantized,
 * narrowed back into element order (mf_vstore8).
 * Tails are predicated. The output may be either input (each vector read before it is written).
 * One shared body per model and combination of the two flags (requantization form, clamp). */
#ifndef MCUFORGE_MVE_ELEMENTWISE_SPEC_H
#define MCUFORGE_MVE_ELEMENTWISE_SPEC_H

#include <stddef.h>

#include "kernels/mve/mve.h"

typedef struct {
    const int32_t *table1, *table2; /* ADD: 256 entries each, indexed by x + 128 */
    const int32_t *rq;              /* one mf_vrequant block, the same in every lane */
    int32_t input1_offset, input2_offset; /* MUL: -zero points */
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t size;
} mcuforge_eltwise_mve_params_t;

MF_INLINE mf_clamp8_t mf_eltwise_clamp(const mcuforge_eltwise_mve_params_t *p) {
    const mf_clamp8_t c = {mf_vdup8((int8_t)p->act_min), mf_vdup8((int8_t)p->act_max)};
    return c;
}

MF_INLINE void mf_add_mve(const mcuforge_eltwise_mve_params_t *p, const int8_t *a,
                          const int8_t *b, int8_t *out, int general, int clamp) {
    const int32_t *t1 = p->table1, *t2 = p->table2, *rq = p->rq;
    const int32_t off = p->output_offset, n = p->size;
    const mf_clamp8_t c = mf_eltwise_clamp(p);
    for (int32_t i = 0; i < n; i += 4) {
        const int32_t left = n - i;
        mf_s32x4_t x, y;
        if (left >= 4) {
            x = mf_vld8to32(a + i), y = mf_vld8to32(b + i);
        } else { /* lanes past the end read index 128, a valid entry, and are not stored */
            const mf_pred_t m = mf_vctp32((uint32_t)left);
            x = mf_vld8to32_z(a + i, m), y = mf_vld8to32_z(b + i, m);
        }
        const mf_s32x4_t sum = mf_vadd32(mf_vgather32(t1, mf_vaddn32(x, 128)),
                                         mf_vgather32(t2, mf_vaddn32(y, 128)));
        mf_vstore4(out + i, mf_vrequant(sum, rq, general, off), clamp, &c, left < 4 ? left : 4);
    }
}

MF_INLINE void mf_mul_mve(const mcuforge_eltwise_mve_params_t *p, const int8_t *a,
                          const int8_t *b, int8_t *out, int general, int clamp) {
    const int32_t *rq = p->rq;
    const int32_t off = p->output_offset, n = p->size;
    const int16_t off1 = (int16_t)p->input1_offset, off2 = (int16_t)p->input2_offset;
    const mf_s16x8_t lo = mf_vdup16((int16_t)p->act_min), hi = mf_vdup16((int16_t)p->act_max);
    for (int32_t i = 0; i < n; i += 8) {
        const int32_t left = n - i;
        mf_s16x8_t x, y;
        if (left >= 8) {
            x = mf_vld8to16(a + i), y = mf_vld8to16(b + i);
        } else {
            const mf_pred_t m = mf_vctp16((uint32_t)left);
            x = mf_vld8to16_z(a + i, m), y = mf_vld8to16_z(b + i, m);
        }
        x = mf_vaddn16(x, off1), y = mf_vaddn16(y, off2);
        const mf_s32x4_t even = mf_vrequant(mf_vmullb16(x, y), rq, general, off);
        const mf_s32x4_t odd = mf_vrequant(mf_vmullt16(x, y), rq, general, off);
        mf_vstore8(out + i, even, odd, clamp, lo, hi, left < 8 ? left : 8);
    }
}

#define MF_ELTWISE_MVE_BODY(op, general, clamp)                                               \
    MF_MVE_SHARED void mf_##op##_mve_##general##clamp(const mcuforge_eltwise_mve_params_t *p, \
                                                      const int8_t *a, const int8_t *b,       \
                                                      int8_t *out) {                          \
        mf_##op##_mve(p, a, b, out, general, clamp);                                          \
    }
MF_ELTWISE_MVE_BODY(add, 0, 0)
MF_ELTWISE_MVE_BODY(add, 0, 1)
MF_ELTWISE_MVE_BODY(add, 1, 0)
MF_ELTWISE_MVE_BODY(add, 1, 1)
MF_ELTWISE_MVE_BODY(mul, 0, 0)
MF_ELTWISE_MVE_BODY(mul, 0, 1)
MF_ELTWISE_MVE_BODY(mul, 1, 0)
MF_ELTWISE_MVE_BODY(mul, 1, 1)

/* A wrapper per (op, general, clamp) naming the one body it needs. */
#define MF_ELTWISE_MVE_SPEC(name, ...)                                                        \
    static const struct {                                                                     \
        int32_t op, general, clamp; /* op: 0 ADD, 1 MUL */                                    \
    } name##_g = __VA_ARGS__;                                                                 \
    MF_MVE_KERNEL void name(const mcuforge_eltwise_mve_params_t *p, const int8_t *a,          \
                            const int8_t *b, int8_t *out) {                                   \
        (name##_g.op ? (name##_g.general ? (name##_g.clamp ? mf_mul_mve_11 : mf_mul_mve_10)   \
                                         : (name##_g.clamp ? mf_mul_mve_01 : mf_mul_mve_00))  \
                     : (name##_g.general ? (name##_g.clamp ? mf_add_mve_11 : mf_add_mve_10)   \
                                         : (name##_g.clamp ? mf_add_mve_01 : mf_add_mve_00)))( \
            p, a, b, out);                                                                    \
    }

#endif
