/* CONV_2D, int8, Armv7E-M DSP. Also runs 1x1 convolutions and depthwise convolutions of a
 * single input channel (one filter per output channel).
 *
 * im2col: each output pixel's receptive field is gathered into an int16 column: the raw input
 * values, and the input zero point where the window leaves the image. The input offset is folded
 * into the bias at compile time (bias + input_offset * sum of the filter's weights), so a
 * zero-point tap contributes (zp + input_offset) * w = 0 -- exactly what the reference's skipped
 * tap contributes -- and every other product equals the reference's. Then two output pixels
 * times two output channels per pass, two MACs per SMLAD, each weight word sign-extended once
 * for both pixels; each pixel's two outputs requantized, clamped four bytes at a time (SSUB8 +
 * SEL) and stored as a halfword.
 *
 * Column and weight layouts (chosen by mcuforge/compiler/ops/dsp.py, MF_GATHER_*): with input
 * channels a multiple of 4, or with undilated filter rows padded to a multiple of 4 values, the
 * column holds each group of four values as SXTB16 leaves them, c0 c2 c1 c3, and weights keep
 * their order; otherwise the column is in order and each group of four weights is stored w0 w2
 * w1 w3. Either way SXTB16 of a weight word pairs with the first column word, its rotated form
 * with the second. Weight rows [output_c][col_len], zero-padded to col_len (a multiple of 4), in
 * pairs of rows interleaved four bytes at a time (an odd count gets a zero row).
 *
 * Instructions per MAC on the Cortex-M4 (the limit is SMLAD's 0.5): the core's step -- one LDRD
 * of two weight words, two LDRDs of column words, four SXTB16, eight SMLADs for 16 MACs -- is
 * 0.94 (0.5 SMLAD, 0.25 weight sign extension, 0.19 loads), plus a loop branch per two steps;
 * each output then costs about 11 (two LDRDs of its requantization row, five instructions of
 * requantization, SSAT, and a share of BFI, the SSUB8/SEL clamp and the store): 11 / col_len
 * per MAC; the gather about 1 per input value per pixel: 1 / output_c per MAC.
 *
 * MF_CONV_DSP_SPEC makes one copy per geometry with every size a compile-time constant;
 * MF_CONV_DSP_SHARED a thin wrapper per geometry around one shared copy (--opt size). */
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
    int32_t gather; /* MF_GATHER_* */
    int32_t fast_requant;
    int32_t clamp; /* the activation range is narrower than int8 */
} mcuforge_conv_dsp_geo_t;

/* How a column is gathered (the compiler picks, mcuforge/compiler/ops/dsp.py). */
enum {
    MF_GATHER_ELEM = 0, /* value by value, in order (weights stored w0 w2 w1 w3) */
    MF_GATHER_TAP = 1,  /* input channels a multiple of 4: four at a time, in SXTB16 order */
    MF_GATHER_ROW = 2,  /* undilated filter rows, each padded to a multiple of 4 values: four
                           at a time, in SXTB16 order (the padding meets zero weights) */
};

/* Four input bytes into the column, sign-extended in SXTB16 order (c0 c2 c1 c3). */
MF_INLINE void mf_gather4(int16_t *c, const int8_t *src) {
    const int32_t v = mf_read_s32(src);
    int32_t *c32 = (int32_t *)(void *)c;
    c32[0] = mf_sxtb16(v);
    c32[1] = mf_sxtb16_ror8(v);
}

/* The column of the output pixel whose window starts at (iy0, ix0). `zp` is the input zero
 * point; `zp2` the same in both int16 lanes. `mode` (MF_GATHER_*) is a compile-time constant. */
MF_INLINE void mf_conv_gather(const mcuforge_conv_dsp_geo_t *g, const int8_t *in_b, int32_t zp,
                              int32_t zp2, int32_t iy0, int32_t ix0, int16_t *col, int mode) {
    const int32_t in_c = g->input_c;
    int16_t *c = col;
    if (mode == MF_GATHER_ROW) {
        const int32_t run = g->filter_w * in_c, row4 = (run + 3) & ~3;
        const int8_t *in_end = in_b + (ptrdiff_t)g->input_h * g->input_w * in_c;
        const int h_ok = ix0 >= 0 && ix0 + g->filter_w <= g->input_w;
        for (int32_t fy = 0; fy < g->filter_h; ++fy, c += row4) {
            const int32_t iy = iy0 + fy * g->dilation_h;
            const int8_t *src = in_b + ((ptrdiff_t)iy * g->input_w + ix0) * in_c;
            if (h_ok && iy >= 0 && iy < g->input_h && src + row4 <= in_end) {
                for (int32_t k = 0; k < row4; k += 4) { /* past the run: any bytes */
                    mf_gather4(c + k, src + k);
                }
                continue;
            }
            /* A row at the image's border (or its last bytes): value by value. */
            for (int32_t k = 0; k < row4; ++k) {
                const int32_t ix = ix0 + k / in_c;
                const int inside = k < run && iy >= 0 && iy < g->input_h && ix >= 0 &&
                                   ix < g->input_w;
                const int32_t v = inside ? src[k] : k < run ? zp : 0;
                c[(k & ~3) + ((k & 1) << 1) + ((k & 2) >> 1)] = (int16_t)v;
            }
        }
    } else {
        for (int32_t fy = 0; fy < g->filter_h; ++fy) {
            const int32_t iy = iy0 + fy * g->dilation_h;
            const int row_ok = iy >= 0 && iy < g->input_h;
            for (int32_t fx = 0; fx < g->filter_w; ++fx, c += in_c) {
                const int32_t ix = ix0 + fx * g->dilation_w;
                const int ok = row_ok && ix >= 0 && ix < g->input_w;
                const int8_t *src =
                    in_b + ((ptrdiff_t)iy * g->input_w + (ptrdiff_t)ix) * (ptrdiff_t)in_c;
                if (mode == MF_GATHER_TAP && ok) {
                    for (int32_t k = 0; k < in_c; k += 4) {
                        mf_gather4(c + k, src + k);
                    }
                } else if (mode == MF_GATHER_TAP) {
                    int32_t *c32 = (int32_t *)(void *)c;
                    for (int32_t k = 0; k < in_c; k += 2) {
                        *c32++ = zp2;
                    }
                } else if (ok) {
                    for (int32_t k = 0; k < in_c; ++k) {
                        c[k] = src[k];
                    }
                } else {
                    for (int32_t k = 0; k < in_c; ++k) {
                        c[k] = (int16_t)zp;
                    }
                }
            }
        }
    }
    (void)c; /* col_len - c: the padding, zeroed once per layer (mf_conv_dsp) */
}

/* Four depth values of two weight rows times two columns. */
MF_INLINE void mf_conv_step(const int8_t **w, const int8_t **c0, const int8_t **c1,
                            int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11) {
#if !MF_HAVE_DSP
    /* Column value k pairs with weight byte (0, 2, 1, 3)[k] (both in SXTB16's lane order). */
    const int8_t *wp = *w;
    const int16_t *p0 = (const int16_t *)(const void *)*c0, *p1 = (const int16_t *)(const void *)*c1;
#define MF_CONV_MAC(k, lane)                                                                  \
    do {                                                                                      \
        const int32_t x0 = p0[k], x1 = p1[k], wa = wp[lane], wb = wp[4 + (lane)];            \
        *a00 += wa * x0;                                                                      \
        *a10 += wa * x1;                                                                      \
        *a01 += wb * x0;                                                                      \
        *a11 += wb * x1;                                                                      \
    } while (0)
    MF_CONV_MAC(0, 0);
    MF_CONV_MAC(1, 2);
    MF_CONV_MAC(2, 1);
    MF_CONV_MAC(3, 3);
#undef MF_CONV_MAC
    *w += 8;
    *c0 += 8;
    *c1 += 8;
    return;
#endif
    int32_t wa, wb, p0a, p0b, p1a, p1b;
    mf_ldrd_inc(w, &wa, &wb);
    mf_ldrd_inc(c0, &p0a, &p0b);
    const int32_t wa0 = mf_sxtb16(wa), wa1 = mf_sxtb16_ror8(wa);
    *a00 = mf_smlad(wa0, p0a, *a00);
    *a00 = mf_smlad(wa1, p0b, *a00);
    mf_ldrd_inc(c1, &p1a, &p1b);
    *a10 = mf_smlad(wa0, p1a, *a10);
    *a10 = mf_smlad(wa1, p1b, *a10);
    const int32_t wb0 = mf_sxtb16(wb), wb1 = mf_sxtb16_ror8(wb);
    *a01 = mf_smlad(wb0, p0a, *a01);
    *a01 = mf_smlad(wb1, p0b, *a01);
    *a11 = mf_smlad(wb0, p1a, *a11);
    *a11 = mf_smlad(wb1, p1b, *a11);
}

/* Every output channel of two pixels (columns c0 and c1, outputs out0 and out1; the odd last
 * pixel of a layer passes its column and its outputs twice). Output channels in pairs: an
 * odd count has a zero weight row, bias and a valid requantization row after the last channel,
 * whose result is not stored. */
MF_INLINE void mf_conv_pixels(const mcuforge_conv_dsp_geo_t *g, const mf_epilogue_t *ep,
                              const int8_t *weights, const int16_t *col0, const int16_t *col1,
                              int8_t *out0, int8_t *out1, int fast) {
    const mf_epilogue_t e = *ep;
    const int32_t len = g->col_len, oc = g->output_c;
    const int32_t *bias = e.bias, *rq = e.rq;
    const int8_t *w = weights;
    for (int32_t o = 0; o < oc; o += 2) {
        int32_t a00 = bias[o], a01 = bias[o + 1];
        int32_t a10 = a00, a11 = a01;
        const int8_t *c0 = (const int8_t *)col0, *c1 = (const int8_t *)col1;
        /* Counted down: the counter then fits the one register the steps leave free. */
        for (int32_t n = len >> 3; n > 0; --n) {
            mf_conv_step(&w, &c0, &c1, &a00, &a01, &a10, &a11);
            mf_conv_step(&w, &c0, &c1, &a00, &a01, &a10, &a11);
        }
        if (len & 4) {
            mf_conv_step(&w, &c0, &c1, &a00, &a01, &a10, &a11);
        }
        /* Bytes 0-1: the first pixel's two channels, 2-3 the second's. */
        const mf_rq_row_t r0 = mf_rq_load(&rq), r1 = mf_rq_load(&rq);
        const uint32_t q = mf_pack_clamp(
            mf_rq_with(a00, &r0, fast, e.out_off), mf_rq_with(a01, &r1, fast, e.out_off),
            mf_rq_with(a10, &r0, fast, e.out_off), mf_rq_with(a11, &r1, fast, e.out_off), &e);
        if (o + 1 < oc) {
            mf_write_u16(out0 + o, q);
            mf_write_u16(out1 + o, q >> 16);
        } else {
            out0[o] = (int8_t)q;
            out1[o] = (int8_t)(q >> 16);
        }
    }
}

/* A gather out of line: the shared bodies call the one the wrapper names (one copy each). */
typedef void (*mf_conv_gather_fn)(const mcuforge_conv_dsp_geo_t *g, const int8_t *in_b,
                                  int32_t zp, int32_t zp2, int32_t iy0, int32_t ix0,
                                  int16_t *col);

#define MF_CONV_GATHER(suffix, mode)                                                          \
    MF_SHARED void mf_conv_gather_##suffix(const mcuforge_conv_dsp_geo_t *g,                   \
                                           const int8_t *in_b, int32_t zp, int32_t zp2,       \
                                           int32_t iy0, int32_t ix0, int16_t *col) {          \
        mf_conv_gather(g, in_b, zp, zp2, iy0, ix0, col, mode);                                \
    }
MF_CONV_GATHER(elem, MF_GATHER_ELEM)
MF_CONV_GATHER(tap, MF_GATHER_TAP)
MF_CONV_GATHER(row, MF_GATHER_ROW)

/* `col` holds two columns (2 * col_len int16). `mode` and `fast`
 * are the geometry's gather and fast_requant as compile-time constants; a shared body passes
 * its gather instead (`gather`, NULL in a specialized copy). */
MF_INLINE void mf_conv_dsp(const mcuforge_conv_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                           const int8_t *input, const int8_t *weights, int8_t *output,
                           int16_t *col, int mode, int fast, mf_conv_gather_fn gather) {
    const int32_t zp = -p->input_offset;
    const int32_t zp2 = (int32_t)(((uint32_t)(uint16_t)(int16_t)zp << 16) |
                                  (uint32_t)(uint16_t)(int16_t)zp);
    int16_t *col0 = col, *col1 = col + g->col_len;
    /* The columns' padding after the last tap (zero weights there): never written by the
     * gathers, zeroed once. */
    const int32_t taps = g->gather == MF_GATHER_ROW
                             ? g->filter_h * ((g->filter_w * g->input_c + 3) & ~3)
                             : g->filter_h * g->filter_w * g->input_c;
    for (int32_t k = taps; k < g->col_len; ++k) {
        col0[k] = 0;
        col1[k] = 0;
    }
    const mf_epilogue_t e = mf_epilogue(p, g->clamp);
    const int32_t pixels = g->output_h * g->output_w;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b =
            input + (ptrdiff_t)b * g->input_h * g->input_w * (ptrdiff_t)g->input_c;
        int8_t *out_b = output + (ptrdiff_t)b * pixels * g->output_c;
        /* Pixels in pairs, in output order (a pair may span two rows). */
        int32_t oy = 0, ox = 0;
        for (int32_t k = 0; k < pixels; k += 2) {
            /* The odd last pixel goes through as a pair with itself (same column, same
             * outputs, written twice). */
            int8_t *out0 = out_b + (ptrdiff_t)k * g->output_c, *out1 = out0;
            const int16_t *c1 = col0;
            for (int32_t i = 0; i < 2 && k + i < pixels; ++i) {
                int16_t *c = i ? col1 : col0;
                const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
                if (gather) {
                    gather(g, in_b, zp, zp2, iy0, ix0, c);
                } else {
                    mf_conv_gather(g, in_b, zp, zp2, iy0, ix0, c, mode);
                }
                if (++ox == g->output_w) {
                    ox = 0, ++oy;
                }
                if (i) {
                    c1 = col1, out1 = out0 + g->output_c;
                }
            }
            mf_conv_pixels(g, &e, weights, col0, c1, out0, out1, fast);
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy. */
#define MF_CONV_DSP_SPEC(name, ...)                                                           \
    MF_SPEC void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output, void *scratch) {                  \
        static const mcuforge_conv_dsp_geo_t g = __VA_ARGS__;                                 \
        mf_conv_dsp(&g, p, input, weights, output, (int16_t *)scratch, g.gather,              \
                    g.fast_requant, NULL);                                                    \
    }

/* Shared bodies, one per requantization form, each calling the gather its wrapper names; a
 * model links the ones its wrappers name. */
#define MF_CONV_DSP_BODY(fast)                                                                \
    MF_SHARED void mf_conv_dsp_##fast(const mcuforge_conv_dsp_geo_t *g,                        \
                                      const mcuforge_dsp_params_t *p, const int8_t *input,    \
                                      const int8_t *weights, int8_t *output, void *col,       \
                                      mf_conv_gather_fn gather) {                             \
        mf_conv_dsp(g, p, input, weights, output, (int16_t *)col, MF_GATHER_ELEM, fast,       \
                    gather);                                                                  \
    }
MF_CONV_DSP_BODY(0)
MF_CONV_DSP_BODY(1)

/* The geometry is the layer's data (model data, with the weights), `name##_g`. */
#define MF_CONV_DSP_SHARED(name, ...)                                                         \
    static const mcuforge_conv_dsp_geo_t name##_g = __VA_ARGS__;                              \
    MF_SPEC void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int8_t *weights, int8_t *output, void *scratch) {                  \
        const int32_t m = name##_g.gather;                                                    \
        (name##_g.fast_requant ? mf_conv_dsp_1 : mf_conv_dsp_0)(                              \
            &name##_g, p, input, weights, output, scratch,                                    \
            m == MF_GATHER_TAP   ? mf_conv_gather_tap                                         \
            : m == MF_GATHER_ROW ? mf_conv_gather_row                                         \
                                 : mf_conv_gather_elem);                                      \
    }

#endif
