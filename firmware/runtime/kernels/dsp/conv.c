/* CONV_2D, int8, Armv7E-M DSP: im2col into an int16 column per output pixel, then four output
 * channels per pass against it, two MACs per SMLAD. Bit-exact with kernels/ref/conv.c: each
 * product is (x + input_offset) * w exactly as there, taps outside the image contribute zero
 * as skipped taps do, and the requantization is the same function. */
#include <stddef.h>

#include "kernels/conv.h"
#include "kernels/dsp/dsp.h"
#include "quant.h"

static inline int8_t finish(const mcuforge_conv_dsp_params_t *p, int32_t acc, int32_t o) {
    const int32_t q = p->per_channel ? o : 0;
    acc = mf_requant(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
    return (int8_t)mf_clamp(acc, p->act_min, p->act_max);
}

static void gather(const mcuforge_conv_dsp_params_t *p, const int8_t *in_b, int32_t iy0,
                   int32_t ix0, int16_t *col) {
    const size_t in_c = (size_t)p->input_c;
    int16_t *c = col;
    for (int32_t fy = 0; fy < p->filter_h; ++fy) {
        const int32_t iy = iy0 + fy * p->dilation_h;
        const int row_ok = iy >= 0 && iy < p->input_h;
        for (int32_t fx = 0; fx < p->filter_w; ++fx) {
            const int32_t ix = ix0 + fx * p->dilation_w;
            if (row_ok && ix >= 0 && ix < p->input_w) {
                const int8_t *src = in_b + ((size_t)iy * (size_t)p->input_w + (size_t)ix) * in_c;
                for (size_t k = 0; k < in_c; ++k) {
                    c[k] = (int16_t)(src[k] + p->input_offset);
                }
            } else {
                for (size_t k = 0; k < in_c; ++k) {
                    c[k] = 0;
                }
            }
            c += in_c;
        }
    }
    for (int16_t *end = col + p->col_len; c < end; ++c) {
        *c = 0;
    }
}

void mcuforge_conv2d_s8_dsp(const mcuforge_conv_dsp_params_t *p, const int8_t *input,
                            const int8_t *weights, int8_t *output, int16_t *col) {
    const int32_t depth = p->col_len;
    const int32_t blocks = p->output_c / 4;
    int8_t *out = output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in_b =
            input + (size_t)b * (size_t)p->input_h * (size_t)p->input_w * (size_t)p->input_c;
        for (int32_t oy = 0; oy < p->output_h; ++oy) {
            for (int32_t ox = 0; ox < p->output_w; ++ox) {
                gather(p, in_b, oy * p->stride_h - p->pad_h, ox * p->stride_w - p->pad_w, col);
                const int8_t *w = weights;
                for (int32_t blk = 0; blk < blocks; ++blk) {
                    const int32_t o = blk * 4;
                    int32_t acc0 = p->bias[o], acc1 = p->bias[o + 1];
                    int32_t acc2 = p->bias[o + 2], acc3 = p->bias[o + 3];
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
                    out[o] = finish(p, acc0, o);
                    out[o + 1] = finish(p, acc1, o + 1);
                    out[o + 2] = finish(p, acc2, o + 2);
                    out[o + 3] = finish(p, acc3, o + 3);
                }
                for (int32_t o = blocks * 4; o < p->output_c; ++o) {
                    int32_t acc = p->bias[o];
                    const int8_t *c = (const int8_t *)col;
                    for (int32_t d = 0; d < depth; d += 4) {
                        int32_t c01, c23;
                        mf_ldrd_inc(&c, &c01, &c23);
                        const int32_t wv = mf_read_s32(w);
                        w += 4;
                        acc = mf_smlad(mf_sxtb16(wv), c01, acc);
                        acc = mf_smlad(mf_sxtb16_ror8(wv), c23, acc);
                    }
                    out[o] = finish(p, acc, o);
                }
                out += p->output_c;
            }
        }
    }
}
