/* CONV_2D, int8, Armv7E-M DSP, specialized per geometry: model.c expands MF_CONV_DSP_SPEC once
 * per distinct shape.
 *
 * im2col: per output pixel the receptive field is gathered into `col` (int16, input offset
 * added, zero where the window leaves the image -- the contribution of a skipped tap --,
 * zero-padded to col_len, a multiple of 4); then four output channels per pass take a dot
 * product with it, two MACs per SMLAD. Weights: rows [output_c][col_len] (taps in [fy][fx][c]
 * order, zero-padded), each group of four bytes stored as w0 w2 w1 w3 so that SXTB16 yields
 * (w0, w1) and its rotated form (w2, w3); blocks of four rows interleaved four bytes at a time,
 * remaining rows in plain order. */
#ifndef MCUFORGE_DSP_CONV_SPEC_H
#define MCUFORGE_DSP_CONV_SPEC_H

#include <stddef.h>

#include "kernels/dsp/dsp.h"

typedef struct {
    int32_t batches;
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w, output_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t col_len;
    int32_t fast_requant;
} mcuforge_conv_dsp_geo_t;

MF_INLINE void mf_conv_gather(const mcuforge_conv_dsp_geo_t *g, const int8_t *in_b,
                              int32_t offset, int32_t iy0, int32_t ix0, int16_t *col) {
    const int32_t in_c = g->input_c;
    int16_t *c = col;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        const int row_ok = iy >= 0 && iy < g->input_h;
        for (int32_t fx = 0; fx < g->filter_w; ++fx) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            if (row_ok && ix >= 0 && ix < g->input_w) {
                const int8_t *src = in_b + ((size_t)iy * (size_t)g->input_w + (size_t)ix) *
                                               (size_t)in_c;
                for (int32_t k = 0; k < in_c; ++k) {
                    c[k] = (int16_t)(src[k] + offset);
                }
            } else {
                for (int32_t k = 0; k < in_c; ++k) {
                    c[k] = 0;
                }
            }
            c += in_c;
        }
    }
    for (int16_t *end = col + g->col_len; c < end; ++c) {
        *c = 0;
    }
}

MF_INLINE void mf_conv_dsp(const mcuforge_conv_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                           const int8_t *input, const int8_t *weights, int8_t *output,
                           int16_t *col) {
    const int32_t depth = g->col_len;
    const int32_t blocks = g->output_c / 4;
    const int fast = g->fast_requant;
    const int32_t *bias = p->bias, *rq = p->requant;
    const int32_t in_off = p->input_offset;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    int8_t *out = output;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b =
            input + (size_t)b * (size_t)g->input_h * (size_t)g->input_w * (size_t)g->input_c;
        for (int32_t oy = 0; oy < g->output_h; ++oy) {
            for (int32_t ox = 0; ox < g->output_w; ++ox) {
                mf_conv_gather(g, in_b, in_off, oy * g->stride_h - g->pad_h,
                               ox * g->stride_w - g->pad_w, col);
                const int8_t *w = weights;
                for (int32_t blk = 0; blk < blocks; ++blk) {
                    const int32_t o = blk * 4;
                    int32_t acc0 = bias[o], acc1 = bias[o + 1];
                    int32_t acc2 = bias[o + 2], acc3 = bias[o + 3];
                    const int8_t *c = (const int8_t *)col;
                    for (int32_t d = 0; d < depth; d += 4) {
                        int32_t c01, c23, w0, w1, w2, w3;
                        mf_ldrd_inc(&c, &c01, &c23);
                        mf_ldrd_inc(&w, &w0, &w1);
                        mf_ldrd_inc(&w, &w2, &w3);
                        acc0 = mf_smlad(mf_sxtb16(w0), c01, acc0);
                        acc0 = mf_smlad(mf_sxtb16_ror8(w0), c23, acc0);
                        acc1 = mf_smlad(mf_sxtb16(w1), c01, acc1);
                        acc1 = mf_smlad(mf_sxtb16_ror8(w1), c23, acc1);
                        acc2 = mf_smlad(mf_sxtb16(w2), c01, acc2);
                        acc2 = mf_smlad(mf_sxtb16_ror8(w2), c23, acc2);
                        acc3 = mf_smlad(mf_sxtb16(w3), c01, acc3);
                        acc3 = mf_smlad(mf_sxtb16_ror8(w3), c23, acc3);
                    }
                    out[o] = mf_finish_q(acc0, rq, o, fast, out_off, lo, hi);
                    out[o + 1] = mf_finish_q(acc1, rq, o + 1, fast, out_off, lo, hi);
                    out[o + 2] = mf_finish_q(acc2, rq, o + 2, fast, out_off, lo, hi);
                    out[o + 3] = mf_finish_q(acc3, rq, o + 3, fast, out_off, lo, hi);
                }
                for (int32_t o = blocks * 4; o < g->output_c; ++o) {
                    int32_t acc = bias[o];
                    const int8_t *c = (const int8_t *)col;
                    for (int32_t d = 0; d < depth; d += 4) {
                        int32_t c01, c23;
                        mf_ldrd_inc(&c, &c01, &c23);
                        const int32_t wv = mf_read_s32(w);
                        w += 4;
                        acc = mf_smlad(mf_sxtb16(wv), c01, acc);
                        acc = mf_smlad(mf_sxtb16_ror8(wv), c23, acc);
                    }
                    out[o] = mf_finish_q(acc, rq, o, fast, out_off, lo, hi);
                }
                out += g->output_c;
            }
        }
    }
}

#define MF_CONV_DSP_SPEC(name, ...)                                                           \
    static void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output, void *scratch) {                  \
        static const mcuforge_conv_dsp_geo_t g = __VA_ARGS__;                                \
        mf_conv_dsp(&g, p, input, weights, output, (int16_t *)scratch);                       \
    }

#endif
