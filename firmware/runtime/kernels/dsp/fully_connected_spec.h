/* Matrix kernel (FULLY_CONNECTED, and 1x1 stride-1 CONV_2D with one row per pixel), int8,
 * Armv7E-M DSP, specialized per shape: model.c expands MF_FC_DSP_SPEC once per distinct shape.
 *
 * Four output rows per pass, four depth values per step, two MACs per SMLAD. The input offset
 * is folded into the bias at compile time (bias[o] + input_offset * sum_d w[o][d]): int32
 * addition wraps the same way in any order, so the sums equal the reference's. Weights: blocks
 * of four rows interleaved four bytes at a time ([o0 d0..3][o1 d0..3][o2 d0..3][o3 d0..3]
 * [o0 d4..7]...), the depth tail column by column, remaining rows in plain order. */
#ifndef MCUFORGE_DSP_FULLY_CONNECTED_SPEC_H
#define MCUFORGE_DSP_FULLY_CONNECTED_SPEC_H

#include <stddef.h>

#include "kernels/dsp/dsp.h"

typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t fast_requant;
} mcuforge_fc_dsp_geo_t;

MF_INLINE void mf_fc_dsp(const mcuforge_fc_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                         const int8_t *input, const int8_t *weights, int8_t *output) {
    const int32_t depth = g->accum_depth;
    const int32_t depth4 = depth & ~3;
    const int32_t blocks = g->output_depth / 4;
    const int fast = g->fast_requant;
    const int32_t *bias = p->bias, *rq = p->requant;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)depth;
        int8_t *out = output + (size_t)b * (size_t)g->output_depth;
        const int8_t *w = weights;
        for (int32_t blk = 0; blk < blocks; ++blk) {
            const int32_t o = blk * 4;
            int32_t acc0 = bias[o], acc1 = bias[o + 1], acc2 = bias[o + 2], acc3 = bias[o + 3];
            const int8_t *x = in;
            for (int32_t d = 0; d < depth4; d += 4) {
                const int32_t xv = mf_read_s32(x);
                x += 4;
                const int32_t x02 = mf_sxtb16(xv), x13 = mf_sxtb16_ror8(xv);
                int32_t w0, w1, w2, w3;
                /* The interleaved weights of a block are 16-byte aligned: two LDRDs. */
                mf_ldrd_inc(&w, &w0, &w1);
                mf_ldrd_inc(&w, &w2, &w3);
                acc0 = mf_smlad(mf_sxtb16(w0), x02, acc0);
                acc0 = mf_smlad(mf_sxtb16_ror8(w0), x13, acc0);
                acc1 = mf_smlad(mf_sxtb16(w1), x02, acc1);
                acc1 = mf_smlad(mf_sxtb16_ror8(w1), x13, acc1);
                acc2 = mf_smlad(mf_sxtb16(w2), x02, acc2);
                acc2 = mf_smlad(mf_sxtb16_ror8(w2), x13, acc2);
                acc3 = mf_smlad(mf_sxtb16(w3), x02, acc3);
                acc3 = mf_smlad(mf_sxtb16_ror8(w3), x13, acc3);
            }
            for (int32_t d = depth4; d < depth; ++d) {
                const int32_t xv = in[d];
                acc0 += w[0] * xv;
                acc1 += w[1] * xv;
                acc2 += w[2] * xv;
                acc3 += w[3] * xv;
                w += 4;
            }
            out[o] = mf_finish_q(acc0, rq, o, fast, out_off, lo, hi);
            out[o + 1] = mf_finish_q(acc1, rq, o + 1, fast, out_off, lo, hi);
            out[o + 2] = mf_finish_q(acc2, rq, o + 2, fast, out_off, lo, hi);
            out[o + 3] = mf_finish_q(acc3, rq, o + 3, fast, out_off, lo, hi);
        }
        for (int32_t o = blocks * 4; o < g->output_depth; ++o) {
            int32_t acc = bias[o];
            int32_t d = 0;
            for (; d < depth4; d += 4) {
                const int32_t xv = mf_read_s32(in + d);
                const int32_t wv = mf_read_s32(w);
                w += 4;
                acc = mf_smlad(mf_sxtb16(wv), mf_sxtb16(xv), acc);
                acc = mf_smlad(mf_sxtb16_ror8(wv), mf_sxtb16_ror8(xv), acc);
            }
            for (; d < depth; ++d) {
                acc += *w++ * in[d];
            }
            out[o] = mf_finish_q(acc, rq, o, fast, out_off, lo, hi);
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy, which
 * lets the compiler fold the address arithmetic and unroll the short loops. */
#define MF_FC_DSP_SPEC(name, ...)                                                             \
    static void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output) {                                 \
        static const mcuforge_fc_dsp_geo_t g = __VA_ARGS__;                                   \
        mf_fc_dsp(&g, p, input, weights, output);                                             \
    }

#endif
