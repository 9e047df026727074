#ifndef MCUFORGE_KERNEL_DEQUANTIZE_H
#define MCUFORGE_KERNEL_DEQUANTIZE_H

#include <stdint.h>

/* DEQUANTIZE int8 -> float32: scale * (x - zero_point). */
typedef struct {
    int32_t size;
    float scale;
    int32_t zero_point;
} mcuforge_dequantize_params_t;

void mcuforge_dequantize_s8_f32(const mcuforge_dequantize_params_t *p, const int8_t *input,
                                float *output);
/* int16 -> float32 (16x8 models): |x - zero_point| < 2^17, so the product is still exact. */
void mcuforge_dequantize_s16_f32(const mcuforge_dequantize_params_t *p, const int16_t *input,
                                 float *output);

#endif
