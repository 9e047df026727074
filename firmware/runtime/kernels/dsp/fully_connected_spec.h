/* Matrix kernel (FULLY_CONNECTED), int8, Armv7E-M DSP.
 *
 * Four output rows per pass, four depth values per step (one LDM of four weight words, the
 * input row sign-extended once per layer when it is short, else per step), two MACs per SMLAD;
 * the four rows'
 * results requantized, clamped four bytes at a time (SSUB8 + SEL) and stored as one word. The
 * input offset is folded into the bias at compile time (bias[o] + input_offset * sum_d
 * w[o][d]): int32 addition wraps the same way in any order, so the sums equal the reference's.
 * Weights: blocks of four rows interleaved four bytes at a time ([o0 d0..3][o1 d0..3][o2 d0..3]
 * [o3 d0..3][o0 d4..7]...), the depth tail column by column; the rows completed to a multiple of
 * four with zero rows (bias 0, a valid requantization row), whose results are not stored.
 *
 * Instructions per MAC on the Cortex-M4 (the limit is SMLAD's 0.5): a step of four rows by four
 * depth values is an LDRD of the pre-extended input (or an LDR and two SXTB16), an LDM of four
 * weight words, eight SXTB16 and eight SMLAD: 1.125 per MAC (1.25 without pre-extension). Each
 * weight is used once, so its sign extension (0.5 per MAC) cannot be shared as in a
 * convolution; each output then costs about 10 (requantization), 10 / depth per MAC.
 *
 * MF_FC_DSP_SPEC makes one copy per shape with every size a compile-time constant;
 * MF_FC_DSP_SHARED a thin wrapper per shape around one shared copy (--opt size). */
#ifndef MCUFORGE_DSP_FULLY_CONNECTED_SPEC_H
#define MCUFORGE_DSP_FULLY_CONNECTED_SPEC_H

#include <stddef.h>

#include "kernels/dsp/dsp.h"

typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t fast_requant;
    int32_t uniform_rq; /* every row has the same requantization (per-tensor weights) */
    int32_t clamp; /* the activation range is narrower than int8 */
} mcuforge_fc_dsp_geo_t;

/* Longest input row the kernel sign-extends once into a stack buffer (int16 pairs), instead of
 * once per block of four rows: at most 1.5 KB of the board's stack, only while it runs. */
#define MF_FC_X16_MAX 768

/* Four depth values of four interleaved rows; the input's int16 pairs from `*x16`, or its four
 * bytes from `*x` sign-extended here when x16 is NULL. */
MF_INLINE void mf_fc_step(const int8_t **x, const int8_t **x16, const int8_t **w,
                          int32_t *acc, int ext) {
#if !MF_HAVE_DSP
    (void)x16, (void)ext;
    const int8_t *xp = *x, *wp = *w;
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) {
        const int32_t xv = xp[k];
        acc[0] += wp[k] * xv;
        acc[1] += wp[4 + k] * xv;
        acc[2] += wp[8 + k] * xv;
        acc[3] += wp[12 + k] * xv;
    }
    *x += 4;
    *w += 16;
    return;
#endif
    int32_t x02, x13;
    if (ext) {
        mf_ldrd_inc(x16, &x02, &x13);
    } else {
        const int32_t xv = mf_read_s32(*x);
        *x += 4;
        x02 = mf_sxtb16(xv), x13 = mf_sxtb16_ror8(xv);
    }
    int32_t w0, w1, w2, w3;
    mf_ldm4_inc(w, &w0, &w1, &w2, &w3);
    acc[0] = mf_smlad(mf_sxtb16(w0), x02, acc[0]);
    acc[0] = mf_smlad(mf_sxtb16_ror8(w0), x13, acc[0]);
    acc[1] = mf_smlad(mf_sxtb16(w1), x02, acc[1]);
    acc[1] = mf_smlad(mf_sxtb16_ror8(w1), x13, acc[1]);
    acc[2] = mf_smlad(mf_sxtb16(w2), x02, acc[2]);
    acc[2] = mf_smlad(mf_sxtb16_ror8(w2), x13, acc[2]);
    acc[3] = mf_smlad(mf_sxtb16(w3), x02, acc[3]);
    acc[3] = mf_smlad(mf_sxtb16_ror8(w3), x13, acc[3]);
    MF_STEP_BARRIER();
}

/* One block of four rows over the whole depth; `ext`: the input is pre-extended in x16. */
MF_INLINE void mf_fc_block(const int8_t *in, const int8_t *x16, const int8_t **w,
                           int32_t depth4, int32_t depth, int32_t *acc, int ext) {
    const int8_t *x = in;
    /* Counted down: the counter then fits the one register the steps leave free. */
    for (int32_t n = depth4 >> 4; n > 0; --n) {
        mf_fc_step(&x, &x16, w, acc, ext);
        mf_fc_step(&x, &x16, w, acc, ext);
        mf_fc_step(&x, &x16, w, acc, ext);
        mf_fc_step(&x, &x16, w, acc, ext);
    }
    for (int32_t n = (depth4 >> 2) & 3; n > 0; --n) {
        mf_fc_step(&x, &x16, w, acc, ext);
    }
    const int8_t *wp = *w;
    for (int32_t d = depth4; d < depth; ++d) {
        const int32_t xv = in[d];
        acc[0] += wp[0] * xv;
        acc[1] += wp[1] * xv;
        acc[2] += wp[2] * xv;
        acc[3] += wp[3] * xv;
        wp += 4;
    }
    *w = wp;
}

/* Whether the kernel pre-extends the input row (it pays from two blocks of rows on). */
#define MF_FC_EXT(g) (MF_HAVE_DSP && ((g)->accum_depth & ~3) <= MF_FC_X16_MAX && (g)->output_depth > 4)

/* `fast`, `ext` (MF_FC_EXT) and `uniform` (g->uniform_rq) are compile-time constants. */
MF_INLINE void mf_fc_dsp(const mcuforge_fc_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                         const int8_t *input, const int8_t *weights, int8_t *output, int fast,
                         int ext, int uniform) {
    const int32_t depth = g->accum_depth;
    const int32_t depth4 = depth & ~3;
    const int32_t rows = g->output_depth;
    int32_t x16[MF_FC_X16_MAX / 2];
    const mf_epilogue_t e = mf_epilogue(p, g->clamp);
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)depth;
        int8_t *out = output + (size_t)b * (size_t)rows;
        if (ext) {
            for (int32_t d = 0; d < depth4; d += 4) {
                const int32_t xv = mf_read_s32(in + d);
                x16[d / 2] = mf_sxtb16(xv);
                x16[d / 2 + 1] = mf_sxtb16_ror8(xv);
            }
        }
        const int8_t *w = weights;
        const int32_t *bias = e.bias, *rq = e.rq;
        for (int32_t o = 0; o < rows; o += 4) {
            int32_t acc[4] = {bias[0], bias[1], bias[2], bias[3]};
            if (ext) {
                mf_fc_block(in, (const int8_t *)x16, &w, depth4, depth, acc, 1);
            } else {
                mf_fc_block(in, NULL, &w, depth4, depth, acc, 0);
            }
            uint32_t q;
            if (uniform) { /* one table row, loaded once per block */
                const int32_t *r = e.rq;
                const mf_rq_row_t row = mf_rq_load(&r);
                q = mf_pack_clamp(mf_rq_with(acc[0], &row, fast, e.out_off),
                                  mf_rq_with(acc[1], &row, fast, e.out_off),
                                  mf_rq_with(acc[2], &row, fast, e.out_off),
                                  mf_rq_with(acc[3], &row, fast, e.out_off), &e);
            } else {
                q = mf_finish4(acc[0], acc[1], acc[2], acc[3], &rq, fast, &e);
            }
            if (o + 4 <= rows) {
                mf_write_u32(out + o, q);
            } else {
                for (int32_t k = 0; o + k < rows; ++k) {
                    out[o + k] = (int8_t)(q >> (8 * k));
                }
            }
            bias += 4;
        }
    }
}

/* One copy per distinct shape: every size is a compile-time constant of the copy. */
#define MF_FC_DSP_SPEC(name, ...)                                                             \
    MF_SPEC void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output) {                                 \
        static const mcuforge_fc_dsp_geo_t g = __VA_ARGS__;                                   \
        mf_fc_dsp(&g, p, input, weights, output, g.fast_requant, MF_FC_EXT(&g),               \
                  g.uniform_rq);                                                              \
    }

/* Shared bodies, one per combination of the flags that change the code (requantization form,
 * pre-extended input, one requantization row); a model links the ones its wrappers name. */
#define MF_FC_DSP_BODY(fast, ext, uniform)                                                    \
    MF_SHARED void mf_fc_dsp_##fast##ext##uniform(                                             \
        const mcuforge_fc_dsp_geo_t *g, const mcuforge_dsp_params_t *p, const int8_t *input,  \
        const int8_t *weights, int8_t *output) {                                              \
        mf_fc_dsp(g, p, input, weights, output, fast, ext, uniform);                          \
    }
MF_FC_DSP_BODY(0, 0, 0)
MF_FC_DSP_BODY(0, 0, 1)
MF_FC_DSP_BODY(0, 1, 0)
MF_FC_DSP_BODY(0, 1, 1)
MF_FC_DSP_BODY(1, 0, 0)
MF_FC_DSP_BODY(1, 0, 1)
MF_FC_DSP_BODY(1, 1, 0)
MF_FC_DSP_BODY(1, 1, 1)

#define MF_FC_DSP_PICK(f, e, u)                                                               \
    ((f) ? ((e) ? ((u) ? mf_fc_dsp_111 : mf_fc_dsp_110) : ((u) ? mf_fc_dsp_101 : mf_fc_dsp_100)) \
         : ((e) ? ((u) ? mf_fc_dsp_011 : mf_fc_dsp_010) : ((u) ? mf_fc_dsp_001 : mf_fc_dsp_000)))

/* The shape is the layer's data (model data, with the weights), `name##_g`. */
#define MF_FC_DSP_SHARED(name, ...)                                                           \
    static const mcuforge_fc_dsp_geo_t name##_g = __VA_ARGS__;                                \
    MF_SPEC void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output) {                                 \
        MF_FC_DSP_PICK(name##_g.fast_requant, MF_FC_EXT(&name##_g), name##_g.uniform_rq)(     \
            &name##_g, p, input, weights, output);                                            \
    }

#endif
