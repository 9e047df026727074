/* DEPTHWISE_CONV_2D, int8: TFLM's reference_integer_ops::DepthwiseConvPerChannel arithmetic. */
#include "kernels/depthwise_conv.h"

#include <stddef.h>

#include "quant.h"

void mcuforge_depthwise_conv2d_s8(const mcuforge_dw_conv_params_t *p, const int8_t *input,
                                  const int8_t *weights, const int32_t *bias, int8_t *output) {
    const size_t in_c = (size_t)p->input_c;
    const size_t out_c = (size_t)p->output_c;
    const size_t in_row = (size_t)p->input_w * in_c;
    const size_t w_row = (size_t)p->filter_w * out_c;
    const size_t dm = (size_t)p->depth_multiplier;
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
                /* Output channels in memory order: oc = ic * depth_multiplier + m. */
                for (size_t oc = 0; oc < out_c; ++oc) {
                    const size_t ic = oc / dm;
                    const int8_t *x = in_b + ic;
                    const int8_t *w = weights + oc;
                    int32_t acc = 0;
                    for (int32_t fy = fy0; fy < fy1; ++fy) {
                        const size_t iy = (size_t)(iy0 + fy * p->dilation_h);
                        for (int32_t fx = fx0; fx < fx1; ++fx) {
                            const size_t ix = (size_t)(ix0 + fx * p->dilation_w);
                            acc += w[(size_t)fy * w_row + (size_t)fx * out_c] *
                                   (x[iy * in_row + ix * in_c] + p->input_offset);
                        }
                    }
                    if (bias != NULL) {
                        acc += bias[oc];
                    }
                    const size_t q = p->per_channel ? oc : 0;
                    acc = mf_mbqm(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
                    *out++ = (int8_t)mf_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
