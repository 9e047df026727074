/* AVERAGE_POOL_2D and MAX_POOL_2D, int8 and int16: TFLM's reference_integer_ops::AveragePool /
 * MaxPool. The window is clipped to the image, so padding never enters a pool (the average
 * divides by the number of in-image taps, rounding half away from zero with C's truncating
 * division). */
#include "kernels/pooling.h"

#include <stddef.h>

#include "quant.h"

typedef enum { POOL_AVG, POOL_MAX } pool_kind;

#define MF_POOL(NAME, T, LOWEST)                                                                   \
    static void NAME(const mcuforge_pool_params_t *p, const T *input, T *output, pool_kind kind) { \
        const size_t ch = (size_t)p->input_c;                                                      \
        const size_t in_row = (size_t)p->input_w * ch;                                             \
        T *out = output;                                                                           \
        for (int32_t b = 0; b < p->batches; ++b) {                                                 \
            const T *in_b = input + (size_t)b * (size_t)p->input_h * in_row;                       \
            for (int32_t oy = 0; oy < p->output_h; ++oy) {                                         \
                const int32_t iy0 = oy * p->stride_h - p->pad_h;                                   \
                int32_t fy0, fy1;                                                                  \
                mf_tap_range(iy0, 1, p->filter_h, p->input_h, &fy0, &fy1);                         \
                for (int32_t ox = 0; ox < p->output_w; ++ox) {                                     \
                    const int32_t ix0 = ox * p->stride_w - p->pad_w;                               \
                    int32_t fx0, fx1;                                                              \
                    mf_tap_range(ix0, 1, p->filter_w, p->input_w, &fx0, &fx1);                     \
                    const int32_t count = (fy1 - fy0) * (fx1 - fx0);                               \
                    for (size_t c = 0; c < ch; ++c) {                                              \
                        int32_t acc = kind == POOL_AVG ? 0 : LOWEST;                               \
                        for (int32_t fy = fy0; fy < fy1; ++fy) {                                   \
                            const T *row = in_b + (size_t)(iy0 + fy) * in_row + c;                 \
                            for (int32_t fx = fx0; fx < fx1; ++fx) {                               \
                                const int32_t v = row[(size_t)(ix0 + fx) * ch];                    \
                                acc = kind == POOL_AVG ? acc + v : mf_max_i32(acc, v);             \
                            }                                                                      \
                        }                                                                          \
                        if (kind == POOL_AVG && count > 0) {                                       \
                            acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count; \
                        }                                                                          \
                        *out++ = (T)mf_clamp(acc, p->act_min, p->act_max);                         \
                    }                                                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    }

MF_POOL(pool, int8_t, INT8_MIN)
MF_POOL(pool16, int16_t, INT16_MIN)

void mcuforge_avg_pool2d_s8(const mcuforge_pool_params_t *p, const int8_t *input, int8_t *output) {
    pool(p, input, output, POOL_AVG);
}

void mcuforge_max_pool2d_s8(const mcuforge_pool_params_t *p, const int8_t *input, int8_t *output) {
    pool(p, input, output, POOL_MAX);
}

void mcuforge_avg_pool2d_s16(const mcuforge_pool_params_t *p, const int16_t *input,
                             int16_t *output) {
    pool16(p, input, output, POOL_AVG);
}

void mcuforge_max_pool2d_s16(const mcuforge_pool_params_t *p, const int16_t *input,
                             int16_t *output) {
    pool16(p, input, output, POOL_MAX);
}
