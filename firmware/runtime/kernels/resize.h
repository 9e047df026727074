#ifndef MCUFORGE_KERNEL_RESIZE_H
#define MCUFORGE_KERNEL_RESIZE_H

#include <stdint.h>

/* RESIZE_NEAREST_NEIGHBOR: the source row of each output row and the source column of each
 * output column, computed at compile time with TFLM's float arithmetic; a pure copy of
 * `depth` elements of `elem_size` bytes (int8 or int16). */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, out_h, out_w;
    int32_t depth;
    int32_t elem_size;
    const int16_t *src_y; /* [out_h] */
    const int16_t *src_x; /* [out_w] */
} mcuforge_resize_nearest_params_t;

void mcuforge_resize_nearest(const mcuforge_resize_nearest_params_t *p, const void *input,
                             void *output);

/* RESIZE_BILINEAR, int8: TFLM's ResizeBilinearInteger. Per output row and column: the two source
 * indices and the position in 1/1024 steps relative to the first (`frac`); each output is
 * sum(value * weight_y * weight_x) / 2^20 rounded half away from zero. */
typedef struct {
    int32_t batches;
    int32_t in_h, in_w, out_h, out_w;
    int32_t depth;
    const int16_t *y0, *y1; /* [out_h] */
    const int32_t *fy;      /* [out_h]: input_y - 1024 * y0 */
    const int16_t *x0, *x1; /* [out_w] */
    const int32_t *fx;      /* [out_w] */
} mcuforge_resize_bilinear_params_t;

void mcuforge_resize_bilinear_s8(const mcuforge_resize_bilinear_params_t *p, const int8_t *input,
                                 int8_t *output);

#endif
