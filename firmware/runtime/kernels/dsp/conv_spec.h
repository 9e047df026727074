/* CONV_2D, int8, Armv7E-M DSP, specialized per geometry: model.c expands MF_CONV_DSP_SPEC once
 * per distinct shape. Also runs 1x1 convolutions.
 *
 * im2col: each output pixel's receptive field is gathered into an int16 column: the raw input
 * values, and the input zero point where the window leaves the image. The input offset is folded
 * into the bias at compile time (bias + input_offset * sum of the filter's weights), so a
 * zero-point tap contributes (zp + input_offset) * w = 0 -- exactly what the reference's skipped
 * tap contributes -- and every other product equals the reference's. Then two output pixels
 * times two output channels per pass, two MACs per SMLAD, each weight word sign-extended once
 * for both pixels.
 *
 * Column and weight layouts (chosen by mcuforge/compiler/ops/dsp.py): with vector_gather (input
 * channels a multiple of 4) the column holds each group of four channels as SXTB16 leaves them,
 * c0 c2 c1 c3, and weights keep their order; otherwise the column is in order and each group of
 * four weights is stored w0 w2 w1 w3. Either way SXTB16 of a weight word pairs with the first
 * column word, its rotated form with the second. Weight rows [output_c][col_len], zero-padded to
 * col_len (a multiple of 4), in pairs of rows interleaved four bytes at a time, the odd last row
 * in order. */
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
    int32_t vector_gather;
    int32_t fast_requant;
} mcuforge_conv_dsp_geo_t;

/* The column of the output pixel whose window starts at (iy0, ix0). `zp` is the input zero
 * point; `zp2` the same in both int16 lanes. */
MF_INLINE void mf_conv_gather(const mcuforge_conv_dsp_geo_t *g, const int8_t *in_b, int32_t zp,
                              int32_t zp2, int32_t iy0, int32_t ix0, int16_t *col) {
    const int32_t in_c = g->input_c;
    int16_t *c = col;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        const int row_ok = iy >= 0 && iy < g->input_h;
        for (int32_t fx = 0; fx < g->filter_w; ++fx) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            const int ok = row_ok && ix >= 0 && ix < g->input_w;
            const int8_t *src =
                in_b + ((ptrdiff_t)iy * g->input_w + (ptrdiff_t)ix) * (ptrdiff_t)in_c;
            if (g->vector_gather) {
                int32_t *c32 = (int32_t *)(void *)c;
                for (int32_t k = 0; k < in_c; k += 4) {
                    if (ok) {
                        const int32_t v = mf_read_s32(src + k);
                        c32[0] = mf_sxtb16(v);
                        c32[1] = mf_sxtb16_ror8(v);
                    } else {
                        c32[0] = zp2;
                        c32[1] = zp2;
                    }
                    c32 += 2;
                }
            } else {
                for (int32_t k = 0; k < in_c; ++k) {
                    c[k] = (int16_t)(ok ? src[k] : zp);
                }
            }
            c += in_c;
        }
    }
    for (int16_t *end = col + g->col_len; c < end; ++c) {
        *c = 0; /* the weights are zero there too */
    }
}

/* Output channels [o, o + 2) of one or two pixels. */
MF_INLINE void mf_conv_pair(const mcuforge_conv_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                            const int8_t *w, const int16_t *col0, const int16_t *col1,
                            int8_t *out0, int8_t *out1, int32_t o, int two_pixels) {
    const int32_t *bias = p->bias, *rq = p->requant;
    int32_t a00 = bias[o], a01 = bias[o + 1];
    int32_t a10 = a00, a11 = a01;
    const int8_t *c0 = (const int8_t *)col0;
    const int8_t *c1 = (const int8_t *)col1;
    for (int32_t d = 0; d < g->col_len; d += 4) {
        int32_t wa, wb, p0a, p0b;
        mf_ldrd_inc(&w, &wa, &wb);
        mf_ldrd_inc(&c0, &p0a, &p0b);
        const int32_t wa0 = mf_sxtb16(wa), wa1 = mf_sxtb16_ror8(wa);
        const int32_t wb0 = mf_sxtb16(wb), wb1 = mf_sxtb16_ror8(wb);
        a00 = mf_smlad(wa0, p0a, a00);
        a00 = mf_smlad(wa1, p0b, a00);
        a01 = mf_smlad(wb0, p0a, a01);
        a01 = mf_smlad(wb1, p0b, a01);
        if (two_pixels) {
            int32_t p1a, p1b;
            mf_ldrd_inc(&c1, &p1a, &p1b);
            a10 = mf_smlad(wa0, p1a, a10);
            a10 = mf_smlad(wa1, p1b, a10);
            a11 = mf_smlad(wb0, p1a, a11);
            a11 = mf_smlad(wb1, p1b, a11);
        }
    }
    const int fast = g->fast_requant;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    out0[o] = mf_finish_q(a00, rq, o, fast, off, lo, hi);
    out0[o + 1] = mf_finish_q(a01, rq, o + 1, fast, off, lo, hi);
    if (two_pixels) {
        out1[o] = mf_finish_q(a10, rq, o, fast, off, lo, hi);
        out1[o + 1] = mf_finish_q(a11, rq, o + 1, fast, off, lo, hi);
    }
}

/* The odd last output channel of one or two pixels. */
MF_INLINE void mf_conv_last(const mcuforge_conv_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                            const int8_t *w, const int16_t *col0, const int16_t *col1,
                            int8_t *out0, int8_t *out1, int32_t o, int two_pixels) {
    int32_t a0 = p->bias[o], a1 = p->bias[o];
    const int8_t *c0 = (const int8_t *)col0;
    const int8_t *c1 = (const int8_t *)col1;
    for (int32_t d = 0; d < g->col_len; d += 4) {
        const int32_t wv = mf_read_s32(w);
        w += 4;
        const int32_t w0 = mf_sxtb16(wv), w1 = mf_sxtb16_ror8(wv);
        int32_t pa, pb;
        mf_ldrd_inc(&c0, &pa, &pb);
        a0 = mf_smlad(w0, pa, a0);
        a0 = mf_smlad(w1, pb, a0);
        if (two_pixels) {
            mf_ldrd_inc(&c1, &pa, &pb);
            a1 = mf_smlad(w0, pa, a1);
            a1 = mf_smlad(w1, pb, a1);
        }
    }
    const int fast = g->fast_requant;
    const int32_t off = p->output_offset, lo = p->act_min, hi = p->act_max;
    out0[o] = mf_finish_q(a0, p->requant, o, fast, off, lo, hi);
    if (two_pixels) {
        out1[o] = mf_finish_q(a1, p->requant, o, fast, off, lo, hi);
    }
}

MF_INLINE void mf_conv_pixels(const mcuforge_conv_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                              const int8_t *weights, const int16_t *col0, const int16_t *col1,
                              int8_t *out0, int8_t *out1, int two_pixels) {
    const int32_t pairs = g->output_c / 2;
    const int8_t *w = weights;
    for (int32_t k = 0; k < pairs; ++k) {
        mf_conv_pair(g, p, w, col0, col1, out0, out1, 2 * k, two_pixels);
        w += 2 * g->col_len;
    }
    if (g->output_c & 1) {
        mf_conv_last(g, p, w, col0, col1, out0, out1, g->output_c - 1, two_pixels);
    }
}

/* `col` holds two columns (2 * col_len int16). */
MF_INLINE void mf_conv_dsp(const mcuforge_conv_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                           const int8_t *input, const int8_t *weights, int8_t *output,
                           int16_t *col) {
    const int32_t zp = -p->input_offset;
    const int32_t zp2 = (int32_t)(((uint32_t)(uint16_t)(int16_t)zp << 16) |
                                  (uint32_t)(uint16_t)(int16_t)zp);
    int16_t *col0 = col, *col1 = col + g->col_len;
    const int32_t pixels = g->output_h * g->output_w;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b =
            input + (ptrdiff_t)b * g->input_h * g->input_w * (ptrdiff_t)g->input_c;
        int8_t *out_b = output + (ptrdiff_t)b * pixels * g->output_c;
        /* Pixels in pairs, in output order (a pair may span two rows). */
        for (int32_t k = 0; k < pixels; k += 2) {
            const int two = k + 1 < pixels;
            const int32_t oy0 = k / g->output_w, ox0 = k % g->output_w;
            mf_conv_gather(g, in_b, zp, zp2, oy0 * g->stride_h - g->pad_h,
                           ox0 * g->stride_w - g->pad_w, col0);
            if (two) {
                const int32_t oy1 = (k + 1) / g->output_w, ox1 = (k + 1) % g->output_w;
                mf_conv_gather(g, in_b, zp, zp2, oy1 * g->stride_h - g->pad_h,
                               ox1 * g->stride_w - g->pad_w, col1);
                mf_conv_pixels(g, p, weights, col0, col1, out_b + k * g->output_c,
                               out_b + (k + 1) * g->output_c, 1);
            } else {
                mf_conv_pixels(g, p, weights, col0, col1, out_b + k * g->output_c,
                               out_b + k * g->output_c, 0);
            }
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy, which
 * lets the compiler fold the address arithmetic and unroll the short loops. */
#define MF_CONV_DSP_SPEC(name, ...)                                                           \
    static void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output, void *scratch) {                  \
        static const mcuforge_conv_dsp_geo_t g = __VA_ARGS__;                                 \
        mf_conv_dsp(&g, p, input, weights, output, (int16_t *)scratch);                       \
    }

#endif
