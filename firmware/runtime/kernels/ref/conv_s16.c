/* 16x8 CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: TFLM's int16 reference arithmetic, once
 * per bias width (the accumulator type and the requantization follow it). */
#include "kernels/conv_s16.h"

#include <stddef.h>

#include "quant.h"

#define MF_REQUANT_B64(acc, m, s) mf_mbqm64((acc), (m), (s))
#define MF_REQUANT_B32(acc, m, s) mf_mbqm((int32_t)(acc), (m), (s))

#define MF_CONV_S16(NAME, BIAS_T, ACC_T, REQUANT)                                              \
    void NAME(const mcuforge_conv_params_t *p, const int16_t *input, const int8_t *weights,   \
              const BIAS_T *bias, int16_t *output) {                                          \
        const size_t in_c = (size_t)p->input_c;                                               \
        const size_t in_row = (size_t)p->input_w * in_c;                                      \
        const size_t w_row = (size_t)p->filter_w * in_c;                                      \
        const size_t w_filter = (size_t)p->filter_h * w_row;                                  \
        int16_t *out = output;                                                                \
        for (int32_t b = 0; b < p->batches; ++b) {                                            \
            const int16_t *in_b = input + (size_t)b * (size_t)p->input_h * in_row;            \
            for (int32_t oy = 0; oy < p->output_h; ++oy) {                                    \
                const int32_t iy0 = oy * p->stride_h - p->pad_h;                              \
                int32_t fy0, fy1;                                                             \
                mf_tap_range(iy0, p->dilation_h, p->filter_h, p->input_h, &fy0, &fy1);        \
                for (int32_t ox = 0; ox < p->output_w; ++ox) {                                \
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;                          \
                    int32_t fx0, fx1;                                                         \
                    mf_tap_range(ix0, p->dilation_w, p->filter_w, p->input_w, &fx0, &fx1);    \
                    for (int32_t oc = 0; oc < p->output_c; ++oc) {                            \
                        const int8_t *w_oc = weights + (size_t)oc * w_filter;                 \
                        ACC_T acc = 0;                                                        \
                        for (int32_t fy = fy0; fy < fy1; ++fy) {                              \
                            const size_t iy = (size_t)(iy0 + fy * p->dilation_h);             \
                            for (int32_t fx = fx0; fx < fx1; ++fx) {                          \
                                const size_t ix = (size_t)(ix0 + fx * p->dilation_w);         \
                                const int16_t *x = in_b + iy * in_row + ix * in_c;            \
                                const int8_t *w = w_oc + (size_t)fy * w_row + (size_t)fx * in_c; \
                                for (size_t c = 0; c < in_c; ++c) {                           \
                                    acc += (ACC_T)((int32_t)w[c] * (int32_t)x[c]);            \
                                }                                                             \
                            }                                                                 \
                        }                                                                     \
                        if (bias != NULL) {                                                   \
                            acc += (ACC_T)bias[oc];                                           \
                        }                                                                     \
                        const int32_t q = p->per_channel ? oc : 0;                            \
                        const int32_t v = REQUANT(acc, p->multiplier[q], p->shift[q]);        \
                        *out++ = (int16_t)mf_clamp(v, p->act_min, p->act_max);                \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }

#define MF_DW_S16(NAME, BIAS_T, ACC_T, REQUANT)                                                \
    void NAME(const mcuforge_dw_conv_params_t *p, const int16_t *input, const int8_t *weights, \
              const BIAS_T *bias, int16_t *output) {                                          \
        const size_t in_c = (size_t)p->input_c;                                               \
        const size_t out_c = (size_t)p->output_c;                                             \
        const size_t in_row = (size_t)p->input_w * in_c;                                      \
        const size_t w_row = (size_t)p->filter_w * out_c;                                     \
        const size_t dm = (size_t)p->depth_multiplier;                                        \
        int16_t *out = output;                                                                \
        for (int32_t b = 0; b < p->batches; ++b) {                                            \
            const int16_t *in_b = input + (size_t)b * (size_t)p->input_h * in_row;            \
            for (int32_t oy = 0; oy < p->output_h; ++oy) {                                    \
                const int32_t iy0 = oy * p->stride_h - p->pad_h;                              \
                int32_t fy0, fy1;                                                             \
                mf_tap_range(iy0, p->dilation_h, p->filter_h, p->input_h, &fy0, &fy1);        \
                for (int32_t ox = 0; ox < p->output_w; ++ox) {                                \
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;                          \
                    int32_t fx0, fx1;                                                         \
                    mf_tap_range(ix0, p->dilation_w, p->filter_w, p->input_w, &fx0, &fx1);    \
                    for (size_t oc = 0; oc < out_c; ++oc) {                                   \
                        const int16_t *x = in_b + oc / dm;                                    \
                        const int8_t *w = weights + oc;                                       \
                        ACC_T acc = 0;                                                        \
                        for (int32_t fy = fy0; fy < fy1; ++fy) {                              \
                            const size_t iy = (size_t)(iy0 + fy * p->dilation_h);             \
                            for (int32_t fx = fx0; fx < fx1; ++fx) {                          \
                                const size_t ix = (size_t)(ix0 + fx * p->dilation_w);         \
                                acc += (ACC_T)((int32_t)w[(size_t)fy * w_row +                \
                                                          (size_t)fx * out_c] *               \
                                               (int32_t)x[iy * in_row + ix * in_c]);          \
                            }                                                                 \
                        }                                                                     \
                        if (bias != NULL) {                                                   \
                            acc += (ACC_T)bias[oc];                                           \
                        }                                                                     \
                        const size_t q = p->per_channel ? oc : 0;                             \
                        const int32_t v = REQUANT(acc, p->multiplier[q], p->shift[q]);        \
                        *out++ = (int16_t)mf_clamp(v, p->act_min, p->act_max);                \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }

#define MF_FC_S16(NAME, BIAS_T, ACC_T, REQUANT)                                                \
    void NAME(const mcuforge_fc_params_t *p, const int16_t *input, const int8_t *weights,     \
              const BIAS_T *bias, int16_t *output) {                                          \
        for (int32_t b = 0; b < p->batches; ++b) {                                            \
            const int16_t *in = input + (size_t)b * (size_t)p->accum_depth;                   \
            for (int32_t o = 0; o < p->output_depth; ++o) {                                   \
                const int8_t *w = weights + (size_t)o * (size_t)p->accum_depth;               \
                ACC_T acc = 0;                                                                \
                for (int32_t d = 0; d < p->accum_depth; ++d) {                                \
                    acc += (ACC_T)((int32_t)w[d] * (int32_t)in[d]);                           \
                }                                                                             \
                if (bias != NULL) {                                                           \
                    acc += (ACC_T)bias[o];                                                    \
                }                                                                             \
                const int32_t q = p->per_channel ? o : 0;                                     \
                const int32_t v = REQUANT(acc, p->multiplier[q], p->shift[q]);                \
                output[(size_t)b * (size_t)p->output_depth + (size_t)o] =                     \
                    (int16_t)mf_clamp(v, p->act_min, p->act_max);                             \
            }                                                                                 \
        }                                                                                     \
    }

/* int32 sums go through uint32_t: the reference's int32 accumulator wraps the same way. */
MF_CONV_S16(mcuforge_conv2d_s16, int64_t, int64_t, MF_REQUANT_B64)
MF_CONV_S16(mcuforge_conv2d_s16_b32, int32_t, uint32_t, MF_REQUANT_B32)
MF_DW_S16(mcuforge_depthwise_conv2d_s16, int64_t, int64_t, MF_REQUANT_B64)
MF_DW_S16(mcuforge_depthwise_conv2d_s16_b32, int32_t, uint32_t, MF_REQUANT_B32)
MF_FC_S16(mcuforge_fully_connected_s16, int64_t, int64_t, MF_REQUANT_B64)
MF_FC_S16(mcuforge_fully_connected_s16_b32, int32_t, uint32_t, MF_REQUANT_B32)
