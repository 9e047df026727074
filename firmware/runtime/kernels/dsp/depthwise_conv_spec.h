/* DEPTHWISE_CONV_2D, int8, any depth multiplier, Armv7E-M DSP.
 *
 * Four input channels per pass: a tap's four input bytes are sign-extended into two int16 pairs
 * (SXTB16 and its rotated form) and multiplied lane by lane with int16 weights (SMLABB/SMLATT),
 * two instructions per MAC; the taps are unrolled when the filter size is a compile-time
 * constant. With a depth multiplier M the pass repeats for each of the M outputs of an input
 * channel (weights, bias and requantization tables are laid out in that order).
 *
 * The input offset is folded into the bias at compile time (bias - zp * sum of the channel's
 * taps), so products are of raw input values and a tap outside the image must contribute zp * w:
 * a pixel whose window leaves the image first copies its window into a column holding the zero
 * point where the window is outside, then takes the same path as the pixels inside, with the
 * column's row stride. Same products and sums as kernels/ref/depthwise_conv.c (int32 addition
 * wraps the same in any order), same requantization. Pixels are written in output order, each
 * after its window is read (row-streaming, plan.streaming_lag).
 *
 * Instructions per MAC on the Cortex-M4 (the limit is SMLAD's 0.5): a tap of four channels is
 * an LDR, two SXTB16, an LDRD of the int16 weights and four SMLABB/SMLATT, 2.0 per MAC -- one
 * multiply per MAC, since pairing two taps for SMLAD costs two PKHBT/PKHTB per pair, as much as
 * it saves; each output then costs about 10 (requantization as in conv_spec.h), 10 / taps per
 * MAC (1.1 for 3x3); border pixels add their window's copy, about 2 per byte.
 *
 * Two ways to instantiate it: MF_DW_DSP_SPEC, one copy per geometry with every size a
 * compile-time constant; MF_DW_DSP_SHARED, a thin wrapper per geometry around one shared copy
 * (the code of --opt size). Both run the same body. */
#ifndef MCUFORGE_DSP_DEPTHWISE_CONV_SPEC_H
#define MCUFORGE_DSP_DEPTHWISE_CONV_SPEC_H

#include <stddef.h>

#include "kernels/dsp/dsp.h"
#include "quant.h"

/* Weights: int16, per output block (multiplier index m, then the input channels): each group of
 * four channels as [tap][4] stored w0 w2 w1 w3 (matching SXTB16 of four input bytes), then each
 * channel of the tail (channels % 4) as [tap], then zeros up to a multiple of four (so that
 * every group starts 8-byte aligned for LDRD). Bias and requantization rows follow the same
 * channel order. The column (scratch) holds filter_h * filter_w * dilation_w * channels bytes. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, channels; /* input channels */
    int32_t output_h, output_w;
    int32_t mult; /* depth multiplier: output channel c * mult + m */
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t fast_requant;
    int32_t clamp; /* the activation range is narrower than int8 */
} mcuforge_dw_dsp_geo_t;

/* Four channels at one pixel: `x` points at the first channel of tap (0, 0), taps `dx` apart
 * along a row and `dy` apart between rows; `w` at the group's [tap][4] weights. */
MF_INLINE void mf_dw_quad(const int8_t *x, ptrdiff_t dy, ptrdiff_t dx, const int16_t *w,
                          int32_t fh, int32_t fw, int32_t *acc) {
    int32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3];
    const int8_t *wp = (const int8_t *)w;
#pragma GCC unroll 16
    for (int32_t fy = 0; fy < fh; ++fy) {
        const int8_t *row = x + fy * dy;
        MF_PIN(row);
#pragma GCC unroll 16
        for (int32_t fx = 0; fx < fw; ++fx) {
#if MF_HAVE_DSP
            const int32_t xv = mf_read_s32(row + fx * dx);
            const int32_t x02 = mf_sxtb16(xv), x13 = mf_sxtb16_ror8(xv);
            int32_t w02, w13;
            mf_ldrd_inc(&wp, &w02, &w13);
            a0 = mf_smlabb(x02, w02, a0);
            a2 = mf_smlatt(x02, w02, a2);
            a1 = mf_smlabb(x13, w13, a1);
            a3 = mf_smlatt(x13, w13, a3);
            MF_STEP_BARRIER();
#else
            const int8_t *xp = row + fx * dx;
            const int16_t *w4 = (const int16_t *)(const void *)wp; /* w0 w2 w1 w3 */
            a0 += xp[0] * w4[0];
            a1 += xp[1] * w4[2];
            a2 += xp[2] * w4[1];
            a3 += xp[3] * w4[3];
            wp += 8;
#endif
        }
    }
    acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3;
}

/* The tail channels (channels % 4) of multiplier index m at one pixel, one by one: rare, so
 * one out-of-line copy per model. */
MF_SHARED void mf_dw_tail(const mcuforge_dw_dsp_geo_t *g, const mf_epilogue_t *e,
                          const int8_t *x, ptrdiff_t dy, ptrdiff_t dx, const int16_t *w,
                          const int32_t *bias, const int32_t *rq, int8_t *out, int32_t m,
                          int fast) {
    const int32_t ch = g->channels, mult = g->mult;
    for (int32_t c = ch & ~3; c < ch; ++c) {
        int32_t acc = *bias++;
        for (int32_t fy = 0; fy < g->filter_h; ++fy) {
            for (int32_t fx = 0; fx < g->filter_w; ++fx) {
                acc += *w++ * x[fy * dy + fx * dx + c];
            }
        }
        out[(ptrdiff_t)c * mult + m] = mf_finish1(acc, rq, fast, e);
        rq += 4;
    }
}

/* Every output channel of one pixel. `x` as in mf_dw_quad; `out` the pixel's outputs. The
 * filter size, the multiplier, whether there is a channel tail and the requantization form are
 * passed apart from g so that a shared body can have them as compile-time constants. */
MF_INLINE void mf_dw_pixel(const mcuforge_dw_dsp_geo_t *g, const mf_epilogue_t *ep,
                           const int8_t *x, ptrdiff_t dy, ptrdiff_t dx, const int16_t *weights,
                           int8_t *out, int32_t fh, int32_t fw, int32_t mult, int has_tail,
                           int fast) {
    const mf_epilogue_t e = *ep;
    const int32_t ch = g->channels, ch4 = ch & ~3, tail = has_tail ? ch - ch4 : 0;
    const int32_t taps = fh * fw;
    const int32_t *bias = e.bias, *rq = e.rq;
    const int16_t *w = weights;
    for (int32_t m = 0; m < mult; ++m) {
        for (int32_t c = 0; c < ch4; c += 4) {
            int32_t acc[4] = {bias[0], bias[1], bias[2], bias[3]};
            mf_dw_quad(x + c, dy, dx, w, fh, fw, acc);
            const uint32_t q = mf_finish4(acc[0], acc[1], acc[2], acc[3], &rq, fast, &e);
            if (mult == 1) {
                mf_write_u32(out + c, q);
            } else {
                int8_t *o = out + (ptrdiff_t)c * mult + m;
                o[0] = (int8_t)q;
                o[mult] = (int8_t)(q >> 8);
                o[2 * mult] = (int8_t)(q >> 16);
                o[3 * mult] = (int8_t)(q >> 24);
            }
            w += 4 * taps;
            bias += 4;
        }
        if (tail) {
            mf_dw_tail(g, &e, x, dy, dx, w, bias, rq, out, m, fast);
            w += tail * taps + ((-tail * taps) & 3);
            bias += tail;
            rq += 4 * tail;
        }
    }
}

/* The window of the pixel whose taps start at (iy0, ix0), into `col` with rows fw * dx apart:
 * the input where it is inside the image, the zero point elsewhere. Border pixels only: one
 * out-of-line copy per model. */
MF_SHARED void mf_dw_gather(const mcuforge_dw_dsp_geo_t *g, const int8_t *in_b, int32_t zp,
                            int32_t iy0, int32_t ix0, int8_t *col) {
    const ptrdiff_t ch = g->channels, dx = ch * g->dilation_w, ch4 = ch & ~3;
    const uint32_t zp4 = mf_bytes4(zp);
    int8_t *c = col;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        for (int32_t fx = 0; fx < g->filter_w; ++fx, c += dx) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            if (iy >= 0 && iy < g->input_h && ix >= 0 && ix < g->input_w) {
                const int8_t *src = in_b + ((ptrdiff_t)iy * g->input_w + ix) * ch;
                ptrdiff_t k = 0;
                if (ch4 == ch && (((uintptr_t)src | (uintptr_t)c) & 3) == 0) {
                    mf_copy_aligned(c, src, ch);
                    k = ch;
                }
                for (; k < ch4; k += 4) {
                    mf_write_u32(c + k, (uint32_t)mf_read_s32(src + k));
                }
                for (; k < ch; ++k) {
                    c[k] = src[k];
                }
            } else {
                ptrdiff_t k = 0;
                if ((((uintptr_t)c) & 3) == 0) {
                    for (int8_t *d = c; k + 8 <= ch4; k += 8) {
                        mf_strd_inc(&d, (int32_t)zp4, (int32_t)zp4);
                    }
                }
                for (; k < ch4; k += 4) {
                    mf_write_u32(c + k, zp4);
                }
                for (k = ch4; k < ch; ++k) {
                    c[k] = (int8_t)zp;
                }
            }
        }
    }
}

/* Outputs [*lo, *hi) along one axis whose window, starting at o * stride - pad and reaching
 * `reach` further, lies inside [0, size). */
MF_INLINE void mf_dw_inside(int32_t pad, int32_t stride, int32_t reach, int32_t size,
                            int32_t outputs, int32_t *lo, int32_t *hi) {
    const int32_t last = size - 1 - reach + pad;
    int32_t h = last >= 0 ? last / stride + 1 : 0;
    h = h > outputs ? outputs : h;
    const int32_t l = (pad + stride - 1) / stride;
    *lo = l > h ? h : l;
    *hi = h;
}

/* `col` holds the window of one border pixel; the last five arguments as in mf_dw_pixel. */
MF_INLINE void mf_dw_dsp(const mcuforge_dw_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                         const int8_t *input, const int16_t *weights, int8_t *output,
                         int8_t *col, int32_t fh, int32_t fw, int32_t mult, int has_tail,
                         int fast) {
    const ptrdiff_t ch = g->channels, oc = ch * mult;
    const ptrdiff_t in_row = (ptrdiff_t)g->input_w * ch;
    const ptrdiff_t dx = ch * g->dilation_w, dy = in_row * g->dilation_h, col_dy = fw * dx;
    int32_t oy_lo, oy_hi, ox_lo, ox_hi;
    mf_dw_inside(g->pad_h, g->stride_h, (fh - 1) * g->dilation_h, g->input_h, g->output_h,
                 &oy_lo, &oy_hi);
    mf_dw_inside(g->pad_w, g->stride_w, (fw - 1) * g->dilation_w, g->input_w, g->output_w,
                 &ox_lo, &ox_hi);
    const mf_epilogue_t e = mf_epilogue(p, g->clamp);
    const int32_t zp = -p->input_offset;
    int8_t *out = output;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + (ptrdiff_t)b * g->input_h * in_row;
        for (int32_t oy = 0; oy < g->output_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            const int row_inside = oy >= oy_lo && oy < oy_hi;
            for (int32_t ox = 0; ox < g->output_w; ++ox, out += oc) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                const int8_t *x;
                ptrdiff_t step;
                if (row_inside && ox >= ox_lo && ox < ox_hi) {
                    x = in_b + iy0 * in_row + ix0 * ch;
                    step = dy;
                } else {
                    mf_dw_gather(g, in_b, zp, iy0, ix0, col);
                    x = col;
                    step = col_dy;
                }
                mf_dw_pixel(g, &e, x, step, dx, weights, out, fh, fw, mult, has_tail, fast);
            }
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy. */
#define MF_DW_DSP_SPEC(name, ...)                                                             \
    MF_SPEC void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int16_t *weights, int8_t *output, void *scratch) {                 \
        static const mcuforge_dw_dsp_geo_t g = __VA_ARGS__;                                   \
        mf_dw_dsp(&g, p, input, weights, output, (int8_t *)scratch, g.filter_h, g.filter_w,   \
                  g.mult, g.channels % 4 != 0, g.fast_requant);                               \
    }

/* Shared bodies: the common case -- 3x3 filter, multiplier 1, channels a multiple of four, as
 * in MobileNets and DS-CNNs -- with the taps unrolled, and everything else with the taps
 * looped; each in both requantization forms. A model links the ones its wrappers name. */
#define MF_DW_DSP_BODY(suffix, fast)                                                          \
    MF_SHARED void mf_dw_dsp_3x3##suffix(const mcuforge_dw_dsp_geo_t *g,                       \
                                         const mcuforge_dsp_params_t *p, const int8_t *input, \
                                         const int16_t *weights, int8_t *output, void *col) { \
        mf_dw_dsp(g, p, input, weights, output, (int8_t *)col, 3, 3, 1, 0, fast);             \
    }                                                                                         \
    MF_SHARED void mf_dw_dsp_any##suffix(const mcuforge_dw_dsp_geo_t *g,                       \
                                         const mcuforge_dsp_params_t *p, const int8_t *input, \
                                         const int16_t *weights, int8_t *output, void *col) { \
        mf_dw_dsp(g, p, input, weights, output, (int8_t *)col, g->filter_h, g->filter_w,      \
                  g->mult, 1, fast);                                                          \
    }
MF_DW_DSP_BODY(f, 1)
MF_DW_DSP_BODY(g, 0)

/* The geometry is the layer's data (model data, with the weights), `name##_g`. */
#define MF_DW_DSP_SHARED(name, ...)                                                           \
    static const mcuforge_dw_dsp_geo_t name##_g = __VA_ARGS__;                                \
    MF_SPEC void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int16_t *weights, int8_t *output, void *scratch) {                 \
        const mcuforge_dw_dsp_geo_t *g = &name##_g;                                           \
        const int simple = g->filter_h == 3 && g->filter_w == 3 && g->mult == 1 &&            \
                           g->channels % 4 == 0;                                              \
        (simple ? (g->fast_requant ? mf_dw_dsp_3x3f : mf_dw_dsp_3x3g)                         \
                : (g->fast_requant ? mf_dw_dsp_anyf : mf_dw_dsp_anyg))(                       \
            g, p, input, weights, output, scratch);                                           \
    }

#endif
