/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, Armv7E-M DSP, specialized per geometry.
 *
 * Four channels per pass: the four input bytes of a tap are sign-extended into two int16 pairs
 * (SXTB16), offset (SADD16) and multiplied lane by lane with int16 weights (SMLABB/SMLATT).
 * Output pixels whose window lies inside the image take a path with every tap unrolled at
 * constant offsets (the geometry is a compile-time constant); border pixels loop over their
 * valid taps. Same products and sums as kernels/ref/depthwise_conv.c, taps outside the image
 * skipped the same way, same requantization. */
#ifndef MCUFORGE_DSP_DEPTHWISE_CONV_SPEC_H
#define MCUFORGE_DSP_DEPTHWISE_CONV_SPEC_H

#include <stddef.h>

#include "kernels/dsp/dsp.h"
#include "quant.h"

/* Weights pre-extended to int16 at compile time, per tap [fy][fx] `weights_stride` entries (the
 * channel count rounded up to a multiple of four, so that every group is 8-byte aligned for
 * LDRD): the channels in groups of four stored as w0 w2 w1 w3 (matching SXTB16 of four input
 * bytes), the tail in order. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, channels;
    int32_t output_h, output_w;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t weights_stride;
    int32_t fast_requant;
} mcuforge_dw_dsp_geo_t;

/* One output pixel, all channels, taps [fy0, fy1) x [fx0, fx1). `origin` is the index in `in`
 * of tap (0, 0), possibly outside the image: only valid taps are read. */
MF_INLINE void mf_dw_pixel(const mcuforge_dw_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                           const int8_t *in, ptrdiff_t origin, const int16_t *weights,
                           int8_t *out, int32_t fy0, int32_t fy1, int32_t fx0, int32_t fx1) {
    const int32_t ch = g->channels;
    const int32_t ch4 = ch & ~3;
    const ptrdiff_t tap_dy = (ptrdiff_t)g->dilation_h * g->input_w * ch;
    const ptrdiff_t tap_dx = (ptrdiff_t)g->dilation_w * ch;
    const int32_t off = p->input_offset;
    const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)(int16_t)off << 16) |
                                   (uint32_t)(uint16_t)(int16_t)off);
    const int32_t *bias = p->bias;
    const int32_t *rq = p->requant;
    const int32_t out_off = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int fast = g->fast_requant;
    for (int32_t c = 0; c < ch4; c += 4) {
        int32_t acc0 = bias[c], acc1 = bias[c + 1], acc2 = bias[c + 2], acc3 = bias[c + 3];
        for (int32_t fy = fy0; fy < fy1; ++fy) {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
                const int32_t xv = mf_read_s32(in + (origin + fy * tap_dy + fx * tap_dx + c));
                const int32_t x02 = mf_sadd16(mf_sxtb16(xv), off2);
                const int32_t x13 = mf_sadd16(mf_sxtb16_ror8(xv), off2);
                const int8_t *wp = (const int8_t *)(weights + (fy * g->filter_w + fx) *
                                                                  g->weights_stride + c);
                int32_t w02, w13;
                mf_ldrd_inc(&wp, &w02, &w13);
                acc0 = mf_smlabb(x02, w02, acc0);
                acc2 = mf_smlatt(x02, w02, acc2);
                acc1 = mf_smlabb(x13, w13, acc1);
                acc3 = mf_smlatt(x13, w13, acc3);
            }
        }
        out[c] = mf_finish_q(acc0, rq, c, fast, out_off, lo, hi);
        out[c + 1] = mf_finish_q(acc1, rq, c + 1, fast, out_off, lo, hi);
        out[c + 2] = mf_finish_q(acc2, rq, c + 2, fast, out_off, lo, hi);
        out[c + 3] = mf_finish_q(acc3, rq, c + 3, fast, out_off, lo, hi);
    }
    for (int32_t c = ch4; c < ch; ++c) {
        int32_t acc = bias[c];
        for (int32_t fy = fy0; fy < fy1; ++fy) {
            for (int32_t fx = fx0; fx < fx1; ++fx) {
                acc += weights[(fy * g->filter_w + fx) * g->weights_stride + c] *
                       (in[origin + fy * tap_dy + fx * tap_dx + c] + off);
            }
        }
        out[c] = mf_finish_q(acc, rq, c, fast, out_off, lo, hi);
    }
}

/* Border pixels: rare, so one out-of-line copy per geometry rather than unrolled code. */
static __attribute__((noinline)) void mf_dw_border(const mcuforge_dw_dsp_geo_t *g,
                                                   const mcuforge_dsp_params_t *p,
                                                   const int8_t *in, ptrdiff_t origin,
                                                   const int16_t *weights, int8_t *out,
                                                   int32_t fy0, int32_t fy1, int32_t fx0,
                                                   int32_t fx1) {
    mf_dw_pixel(g, p, in, origin, weights, out, fy0, fy1, fx0, fx1);
}

MF_INLINE void mf_dw_dsp(const mcuforge_dw_dsp_geo_t *g, const mcuforge_dsp_params_t *p,
                         const int8_t *input, const int16_t *weights, int8_t *output) {
    const ptrdiff_t ch = g->channels;
    const ptrdiff_t in_row = (ptrdiff_t)g->input_w * ch;
    /* Output columns [ox_lo, ox_hi) have every tap inside the image horizontally. */
    const int32_t reach_w = (g->filter_w - 1) * g->dilation_w;
    int32_t ox_lo = (g->pad_w + g->stride_w - 1) / g->stride_w;
    int32_t ox_hi = (g->input_w - 1 - reach_w + g->pad_w) >= 0
                        ? (g->input_w - 1 - reach_w + g->pad_w) / g->stride_w + 1
                        : 0;
    ox_hi = ox_hi > g->output_w ? g->output_w : ox_hi;
    ox_lo = ox_lo > ox_hi ? ox_hi : ox_lo;
    int8_t *out = output;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + (ptrdiff_t)b * g->input_h * in_row;
        for (int32_t oy = 0; oy < g->output_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            int32_t fy0, fy1;
            mf_tap_range(iy0, g->dilation_h, g->filter_h, g->input_h, &fy0, &fy1);
            const int full_rows = fy0 == 0 && fy1 == g->filter_h;
            for (int32_t ox = 0; ox < g->output_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                const ptrdiff_t origin = iy0 * in_row + ix0 * ch;
                if (full_rows && ox >= ox_lo && ox < ox_hi) {
                    mf_dw_pixel(g, p, in_b, origin, weights, out, 0, g->filter_h, 0, g->filter_w);
                } else {
                    int32_t fx0, fx1;
                    mf_tap_range(ix0, g->dilation_w, g->filter_w, g->input_w, &fx0, &fx1);
                    mf_dw_border(g, p, in_b, origin, weights, out, fy0, fy1, fx0, fx1);
                }
                out += ch;
            }
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy, which
 * lets the compiler fold the address arithmetic and unroll the short loops. */
#define MF_DW_DSP_SPEC(name, ...)                                                             \
    static void name(const mcuforge_dsp_params_t *p, const int8_t *input,                     \
                     const int16_t *weights, int8_t *output) {                                \
        static const mcuforge_dw_dsp_geo_t g = __VA_ARGS__;                                   \
        mf_dw_dsp(&g, p, input, weights, output);                                             \
    }

#endif
