/* DEPTHWISE_CONV_2D, int8, any depth multiplier, Helium (MVE), specialized per geometry.
 *
 * Channels in vector lanes, eight per pass: a tap's eight input bytes are loaded sign-extended
 * to 16-bit lanes (VLDRB.S16) and multiplied by the tap's weights into 32-bit products, the even
 * channels by VMULLB, the odd ones by VMULLT (|x * w| <= 2^14, exact), summed in two vectors of
 * four 32-bit accumulators. Requantized in those lanes, narrowed back into channel order by
 * VQMOVNB/VQMOVNT and stored eight bytes at a time; a channel tail is predicated. With a depth
 * multiplier M the pass repeats for each of the M outputs of an input channel (weights and
 * requantization blocks laid out in that order), and the eight outputs, M bytes apart, are
 * stored by one scatter store (VSTRB.16 with an offset vector).
 *
 * The input offset is folded into the bias at compile time (bias - zp * sum of the channel's
 * taps), so products are of raw input values, and a tap outside the image must contribute
 * zp * w: border pixels read such taps from a scratch row holding the zero point in every byte.
 * Pixels whose window lies inside the image take a path with every tap at a constant offset.
 * Pixels are computed one by one in output order (row-streaming, see plan.streaming_lag). */
#ifndef MCUFORGE_MVE_DEPTHWISE_CONV_SPEC_H
#define MCUFORGE_MVE_DEPTHWISE_CONV_SPEC_H

#include <stddef.h>

#include "kernels/mve/mve.h"
#include "quant.h"

/* Weights: int8, per group of eight channels (the last zero padded) the taps' eight bytes in
 * tap order, [group][fh][fw][8]. Requantization table: per group, the block of the even
 * channels then the block of the odd ones. */
typedef struct {
    int32_t batches;
    int32_t input_h, input_w, channels;
    int32_t output_h, output_w;
    int32_t mult; /* depth multiplier: output channel c * mult + m */
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t weights_stride; /* channels rounded up to 8 */
    int32_t general;        /* requantization table form (mf_vrequant) */
    int32_t clamp;          /* the activation range is not all of int8 */
} mcuforge_dw_mve_geo_t;

#define MF_DW_MAX_TAPS 64

/* Outputs [*lo, *hi) along one axis whose window, starting at o * stride - pad and reaching
 * `reach` further, lies inside [0, size). */
MF_INLINE void mf_inside_range(int32_t pad, int32_t stride, int32_t reach, int32_t size,
                               int32_t outputs, int32_t *lo, int32_t *hi) {
    const int32_t last = size - 1 - reach + pad; /* the largest inside window start + pad */
    int32_t h = last >= 0 ? last / stride + 1 : 0;
    h = h > outputs ? outputs : h;
    int32_t l = (pad + stride - 1) / stride;
    *lo = l > h ? h : l;
    *hi = h;
}

/* One output pixel, every channel. Tap t is read at `origin` + its offset in the image, or,
 * when `taps` is given (border pixels), at taps[t]. */
MF_INLINE void mf_dw_pixel(const mcuforge_dw_mve_geo_t *g, const mcuforge_mve_params_t *p,
                           const int8_t *origin, const int8_t *const *taps,
                           const int8_t *weights, int8_t *out) {
    const int32_t ch = g->channels;
    const ptrdiff_t tap_dy = (ptrdiff_t)g->dilation_h * g->input_w * ch;
    const ptrdiff_t tap_dx = (ptrdiff_t)g->dilation_w * ch;
    const int32_t off = p->output_offset;
    const mf_s16x8_t lo = mf_vdup16((int16_t)p->act_min), hi = mf_vdup16((int16_t)p->act_max);
    const int32_t blk = MF_RQ_BLOCK(g->general);
    const int8_t *w = weights;
    const int32_t *rq = p->rq;
    const int32_t mult = g->mult;
    for (int32_t mi = 0; mi < mult; ++mi) {
        for (int32_t c = 0; c < ch; c += 8) {
            const int tail = c + 8 > ch;
            const mf_pred_t m = mf_vctp16((uint32_t)(ch - c));
            mf_s32x4_t acc_e = mf_vdup32(0), acc_o = mf_vdup32(0);
            /* Taps unrolled: their offsets become constants. The pins keep each sum a running
             * chain, so only the two accumulators and one tap's operands are live. */
#pragma GCC unroll 16
            for (int32_t fy = 0; fy < g->filter_h; ++fy) {
#pragma GCC unroll 16
                for (int32_t fx = 0; fx < g->filter_w; ++fx) {
                    const int32_t t = fy * g->filter_w + fx;
                    const int8_t *src =
                        taps ? taps[t] + c : origin + fy * tap_dy + fx * tap_dx + c;
                    const mf_s16x8_t x = tail ? mf_vld8to16_z(src, m) : mf_vld8to16(src);
                    const mf_s16x8_t wt = mf_vld8to16(w + 8 * t);
                    if (t == 0) {
                        acc_e = mf_vmullb16(x, wt);
                        acc_o = mf_vmullt16(x, wt);
                    } else {
                        acc_e = mf_vpin32(mf_vadd32(acc_e, mf_vmullb16(x, wt)));
                        acc_o = mf_vpin32(mf_vadd32(acc_o, mf_vmullt16(x, wt)));
                    }
                }
            }
            w += 8 * g->filter_h * g->filter_w;
            const mf_s32x4_t r_e = mf_vrequant(acc_e, rq, g->general, off);
            const mf_s32x4_t r_o = mf_vrequant(acc_o, rq + blk, g->general, off);
            rq += 2 * blk;
            if (mult == 1) {
                mf_vstore8(out + c, r_e, r_o, g->clamp, lo, hi, tail ? ch - c : 8);
            } else { /* lane i's output mult bytes after lane i - 1's: a scatter store */
                mf_vstore8_scatter(out + c * mult + mi, mf_vidx16((uint16_t)mult), r_e, r_o,
                                   g->clamp, lo, hi, tail ? ch - c : 8);
            }
        }
    }
}

/* A pixel whose window leaves the image: the taps outside read the zero-point row `zp_row`. */
MF_INLINE void mf_dw_border(const mcuforge_dw_mve_geo_t *g, const mcuforge_mve_params_t *p,
                            const int8_t *in_b, int32_t iy0, int32_t ix0, const int8_t *zp_row,
                            const int8_t *weights, int8_t *out) {
    const int8_t *taps[MF_DW_MAX_TAPS];
    const ptrdiff_t ch = g->channels;
    int32_t t = 0;
    for (int32_t fy = 0; fy < g->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        for (int32_t fx = 0; fx < g->filter_w; ++fx, ++t) {
            const int32_t ix = ix0 + fx * g->dilation_w;
            const int ok = iy >= 0 && iy < g->input_h && ix >= 0 && ix < g->input_w;
            taps[t] = ok ? in_b + ((ptrdiff_t)iy * g->input_w + ix) * ch : zp_row;
        }
    }
    mf_dw_pixel(g, p, NULL, taps, weights, out);
}

/* `scratch` holds weights_stride bytes. */
MF_INLINE void mf_dw_mve(const mcuforge_dw_mve_geo_t *g, const mcuforge_mve_params_t *p,
                         const int8_t *input, const int8_t *weights, int8_t *output,
                         int8_t *scratch) {
    const ptrdiff_t ch = g->channels;
    const ptrdiff_t in_row = (ptrdiff_t)g->input_w * ch;
    for (int32_t c = 0; c < g->weights_stride; c += 8) {
        mf_vst16to8(scratch + c, mf_vdup16((int16_t)p->input_zp));
    }
    /* Output rows [oy_lo, oy_hi) and columns [ox_lo, ox_hi) have every tap inside the image. */
    int32_t oy_lo, oy_hi, ox_lo, ox_hi;
    mf_inside_range(g->pad_h, g->stride_h, (g->filter_h - 1) * g->dilation_h, g->input_h,
                    g->output_h, &oy_lo, &oy_hi);
    mf_inside_range(g->pad_w, g->stride_w, (g->filter_w - 1) * g->dilation_w, g->input_w,
                    g->output_w, &ox_lo, &ox_hi);
    int8_t *out = output;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b = input + (ptrdiff_t)b * g->input_h * in_row;
        for (int32_t oy = 0; oy < g->output_h; ++oy) {
            const int32_t iy0 = oy * g->stride_h - g->pad_h;
            const int row_inside = oy >= oy_lo && oy < oy_hi;
            for (int32_t ox = 0; ox < g->output_w; ++ox) {
                const int32_t ix0 = ox * g->stride_w - g->pad_w;
                if (row_inside && ox >= ox_lo && ox < ox_hi) {
                    mf_dw_pixel(g, p, in_b + iy0 * in_row + ix0 * ch, NULL, weights, out);
                } else {
                    mf_dw_border(g, p, in_b, iy0, ix0, scratch, weights, out);
                }
                out += ch * g->mult;
            }
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy, which
 * lets the compiler fold the address arithmetic and unroll the taps. */
#define MF_DW_MVE_SPEC(name, ...)                                                          \
    MF_MVE_KERNEL void name(const mcuforge_mve_params_t *p, const int8_t *input,           \
                            const int8_t *weights, int8_t *output, void *scratch) {        \
        static const mcuforge_dw_mve_geo_t g = __VA_ARGS__;                                \
        mf_dw_mve(&g, p, input, weights, output, (int8_t *)scratch);                       \
    }

#endif
