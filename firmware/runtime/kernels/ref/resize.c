/* RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR (int8): the index and weight tables come from the
 * compiler, so the kernels only gather and, for bilinear, interpolate in integers. */
#include "kernels/resize.h"

#include <stddef.h>
#include <string.h>

void mcuforge_resize_nearest(const mcuforge_resize_nearest_params_t *p, const void *input,
                             void *output) {
    const size_t pixel = (size_t)p->depth * (size_t)p->elem_size;
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const uint8_t *image = in + (size_t)b * (size_t)p->in_h * (size_t)p->in_w * pixel;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const uint8_t *row = image + (size_t)p->src_y[y] * (size_t)p->in_w * pixel;
            for (int32_t x = 0; x < p->out_w; ++x) {
                memcpy(out, row + (size_t)p->src_x[x] * pixel, pixel);
                out += pixel;
            }
        }
    }
}

void mcuforge_resize_bilinear_s8(const mcuforge_resize_bilinear_params_t *p, const int8_t *input,
                                 int8_t *output) {
    const size_t depth = (size_t)p->depth;
    const size_t row_len = (size_t)p->in_w * depth;
    int8_t *out = output;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)p->in_h * row_len;
        for (int32_t y = 0; y < p->out_h; ++y) {
            const int8_t *r0 = image + (size_t)p->y0[y] * row_len;
            const int8_t *r1 = image + (size_t)p->y1[y] * row_len;
            const int64_t wy1 = p->fy[y];
            const int64_t wy0 = 1024 - wy1;
            for (int32_t x = 0; x < p->out_w; ++x) {
                const size_t c0 = (size_t)p->x0[x] * depth;
                const size_t c1 = (size_t)p->x1[x] * depth;
                const int64_t wx1 = p->fx[x];
                const int64_t wx0 = 1024 - wx1;
                for (size_t c = 0; c < depth; ++c) {
                    const int64_t v = r0[c0 + c] * wy0 * wx0 + r1[c0 + c] * wy1 * wx0 +
                                      r0[c1 + c] * wy0 * wx1 + r1[c1 + c] * wy1 * wx1;
                    const int64_t round = v > 0 ? (1 << 19) : -(1 << 19);
                    *out++ = (int8_t)((v + round) / (1 << 20));
                }
            }
        }
    }
}
