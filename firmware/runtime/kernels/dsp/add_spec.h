/* ADD, int8, element-wise (no broadcast), Armv7E-M DSP.
 *
 * TFLM's arithmetic (reference_integer_ops::AddFunc) split where it can be: each input's
 * rescaled value, MultiplyByQuantizedMultiplierSmallerThanOneExp((x + offset) << left_shift),
 * depends on one int8 only, so the compiler tabulates it for all 256 values (the tables of the
 * portable kernel, kernels/fast/add.c); the kernel adds the two, requantizes the sum with the
 * output multiplier in the five-instruction form of dsp.h (mf_rq_fast, output zero point
 * folded in: the compiler uses this kernel only where that form is exact), and clamps four
 * outputs at a time. Four elements per step: one word of each input, the table indices from
 * byte extractions (UXTB with rotation), one word stored. The output may be either input
 * (element-wise, each word read before it is written). One shared body per model. */
#ifndef MCUFORGE_DSP_ADD_SPEC_H
#define MCUFORGE_DSP_ADD_SPEC_H

#include <stddef.h>

#include "kernels/dsp/dsp.h"

typedef struct {
    const int32_t *table1, *table2; /* 256 entries each, indexed by x + 128 */
    const int32_t *requant;         /* one fast-form row (dsp.h) */
    int32_t act_min, act_max;
    int32_t size;
} mcuforge_add_dsp_params_t;

/* Byte k of w as an unsigned index (x + 128: the sign bit flipped beforehand). */
#define MF_BYTE(w, k) (((uint32_t)(w) >> (8 * (k))) & 0xffu)

MF_SHARED void mf_add_dsp(const mcuforge_add_dsp_params_t *p, const int8_t *a, const int8_t *b,
                          int8_t *out) {
    const int32_t *t1 = p->table1, *t2 = p->table2;
    const int32_t *rqp = p->requant;
    const mf_rq_row_t r = mf_rq_load(&rqp);
    const mcuforge_dsp_params_t clamp_params = {0, 0, p->act_min, p->act_max, NULL, NULL};
    const mf_epilogue_t e = mf_epilogue(&clamp_params, 1);
    const int32_t n = p->size, n4 = n & ~3;
    for (int32_t i = 0; i < n4; i += 4) {
        const uint32_t x = (uint32_t)mf_read_s32(a + i) ^ 0x80808080u;
        const uint32_t y = (uint32_t)mf_read_s32(b + i) ^ 0x80808080u;
        int32_t v[4];
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) {
            v[k] = mf_rq_with(t1[MF_BYTE(x, k)] + t2[MF_BYTE(y, k)], &r, 1, 0);
        }
        mf_write_u32(out + i, mf_pack_clamp(v[0], v[1], v[2], v[3], &e));
    }
    for (int32_t i = n4; i < n; ++i) {
        int32_t v = mf_rq_with(t1[a[i] + 128] + t2[b[i] + 128], &r, 1, 0);
        v = v < p->act_min ? p->act_min : v;
        out[i] = (int8_t)(v > p->act_max ? p->act_max : v);
    }
}

#undef MF_BYTE

/* Every ADD of a model calls the one shared body; the macro's geometry is unused. */
#define MF_ADD_DSP_SPEC(name, ...)                                                            \
    MF_SPEC void name(const mcuforge_add_dsp_params_t *p, const int8_t *a, const int8_t *b,    \
                      int8_t *out) {                                                          \
        mf_add_dsp(p, a, b, out);                                                             \
    }

#endif
