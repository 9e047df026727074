/* TRANSPOSE_CONV, int8: TFLM's reference_integer_ops::TransposeConv, computed per output
 * (gather) instead of per input (scatter) so that no int32 buffer of the whole output is needed. */
#include "kernels/transpose_conv.h"

#include <stddef.h>

#include "quant.h"

/* The input coordinate whose tap `k` lands on output coordinate `o`, or -1. */
static int32_t source(int32_t o, int32_t k, int32_t pad, int32_t stride, int32_t size) {
    const int32_t t = o + pad - k;
    if (t < 0 || t % stride != 0 || t / stride >= size) {
        return -1;
    }
    return t / stride;
}

void mcuforge_transpose_conv_s8(const mcuforge_transpose_conv_params_t *p, const int8_t *input,
                                const int8_t *weights, const int32_t *bias, int8_t *output) {
    const size_t ic_n = (size_t)p->input_c;
    int8_t *out = output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image =
            input + (size_t)b * (size_t)p->input_h * (size_t)p->input_w * ic_n;
        for (int32_t oy = 0; oy < p->output_h; ++oy) {
            for (int32_t ox = 0; ox < p->output_w; ++ox) {
                for (int32_t oc = 0; oc < p->output_c; ++oc) {
                    uint32_t acc = 0; /* int32 arithmetic with the reference's wrap-around */
                    for (int32_t ky = 0; ky < p->filter_h; ++ky) {
                        const int32_t iy = source(oy, ky, p->pad_h, p->stride_h, p->input_h);
                        if (iy < 0) {
                            continue;
                        }
                        for (int32_t kx = 0; kx < p->filter_w; ++kx) {
                            const int32_t ix =
                                source(ox, kx, p->pad_w, p->stride_w, p->input_w);
                            if (ix < 0) {
                                continue;
                            }
                            const int8_t *x = image + ((size_t)iy * (size_t)p->input_w +
                                                       (size_t)ix) * ic_n;
                            const int8_t *w =
                                weights + (((size_t)oc * (size_t)p->filter_h + (size_t)ky) *
                                               (size_t)p->filter_w + (size_t)kx) * ic_n;
                            for (size_t c = 0; c < ic_n; ++c) {
                                acc += (uint32_t)(((int32_t)x[c] + p->input_offset) *
                                                  (int32_t)w[c]);
                            }
                        }
                    }
                    if (bias != NULL) {
                        acc += (uint32_t)bias[oc];
                    }
                    const int32_t q = p->per_channel ? oc : 0;
                    const int32_t v =
                        mf_mbqm((int32_t)acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                    *out++ = (int8_t)mf_clamp(v, p->act_min, p->act_max);
                }
            }
        }
    }
}
