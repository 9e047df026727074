/* DEPTHWISE_CONV_2D, int8, depth multiplier 1, Armv7E-M DSP: four channels per pass; the four
 * input bytes of a tap are sign-extended into two int16 pairs (SXTB16), offset (SADD16) and
 * multiplied lane by lane with int16 weights (SMLABB/SMLATT). Same products and sums as
 * kernels/ref/depthwise_conv.c, taps outside the image skipped the same way. */
#include <stddef.h>

#include "kernels/depthwise_conv.h"
#include "kernels/dsp/dsp.h"
#include "quant.h"

static inline int8_t finish(const mcuforge_dw_dsp_params_t *p, int32_t acc, int32_t c) {
    const int32_t q = p->per_channel ? c : 0;
    acc = mf_requant(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
    return (int8_t)mf_clamp(acc, p->act_min, p->act_max);
}

void mcuforge_depthwise_conv2d_s8_dsp(const mcuforge_dw_dsp_params_t *p, const int8_t *input,
                                      const int16_t *weights, int8_t *output) {
    const size_t ch = (size_t)p->channels;
    const size_t ch4 = ch & ~(size_t)3;
    const size_t in_row = (size_t)p->input_w * ch;
    const size_t wstride = (size_t)p->weights_stride;
    const size_t w_row = (size_t)p->filter_w * wstride;
    const int32_t off = p->input_offset;
    const int32_t off2 = (int32_t)(((uint32_t)(uint16_t)(int16_t)off << 16) |
                                   (uint32_t)(uint16_t)(int16_t)off);
    int8_t *out = output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (size_t)b * (size_t)p->input_h * in_row;
        for (int32_t oy = 0; oy < p->output_h; ++oy) {
            const int32_t iy0 = oy * p->stride_h - p->pad_h;
            int32_t fy0, fy1;
            mf_tap_range(iy0, p->dilation_h, p->filter_h, p->input_h, &fy0, &fy1);
            for (int32_t ox = 0; ox < p->output_w; ++ox) {
                const int32_t ix0 = ox * p->stride_w - p->pad_w;
                int32_t fx0, fx1;
                mf_tap_range(ix0, p->dilation_w, p->filter_w, p->input_w, &fx0, &fx1);
                for (size_t c = 0; c < ch4; c += 4) {
                    int32_t acc0 = p->bias[c], acc1 = p->bias[c + 1];
                    int32_t acc2 = p->bias[c + 2], acc3 = p->bias[c + 3];
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const int8_t *x_row =
                            in_b + (size_t)(iy0 + fy * p->dilation_h) * in_row + c;
                        const int16_t *w_row_p = weights + (size_t)fy * w_row + c;
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const int32_t xv = mf_read_s32(
                                x_row + (size_t)(ix0 + fx * p->dilation_w) * ch);
                            const int32_t x02 = mf_sadd16(mf_sxtb16(xv), off2);
                            const int32_t x13 = mf_sadd16(mf_sxtb16_ror8(xv), off2);
                            const int8_t *wp = (const int8_t *)(w_row_p + (size_t)fx * wstride);
                            int32_t w02, w13;
                            mf_ldrd_inc(&wp, &w02, &w13);
                            acc0 = mf_smlabb(x02, w02, acc0);
                            acc2 = mf_smlatt(x02, w02, acc2);
                            acc1 = mf_smlabb(x13, w13, acc1);
                            acc3 = mf_smlatt(x13, w13, acc3);
                        }
                    }
                    out[c] = finish(p, acc0, (int32_t)c);
                    out[c + 1] = finish(p, acc1, (int32_t)c + 1);
                    out[c + 2] = finish(p, acc2, (int32_t)c + 2);
                    out[c + 3] = finish(p, acc3, (int32_t)c + 3);
                }
                for (size_t c = ch4; c < ch; ++c) {
                    int32_t acc = p->bias[c];
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const size_t iy = (size_t)(iy0 + fy * p->dilation_h);
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const size_t ix = (size_t)(ix0 + fx * p->dilation_w);
                            acc += weights[(size_t)fy * w_row + (size_t)fx * wstride + c] *
                                   (in_b[iy * in_row + ix * ch + c] + off);
                        }
                    }
                    out[c] = finish(p, acc, (int32_t)c);
                }
                out += ch;
            }
        }
    }
}
