#ifndef MCUFORGE_KERNEL_QUANTIZE_H
#define MCUFORGE_KERNEL_QUANTIZE_H

#include <stdint.h>

/* QUANTIZE float32 -> int8: clamp(round_half_away(x / scale) + zero_point). */
typedef struct {
    int32_t size;
    float scale; /* the output's float32 scale: divided by, never multiplied by its inverse */
    int32_t zero_point;
} mcuforge_quantize_params_t;

/* QUANTIZE int8 -> int8 (requantize): clamp(requant(x - input_zp) + output_zp). */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier, shift; /* input_scale / output_scale */
} mcuforge_requantize_params_t;

void mcuforge_quantize_f32_s8(const mcuforge_quantize_params_t *p, const float *input,
                              int8_t *output);
void mcuforge_requantize_s8(const mcuforge_requantize_params_t *p, const int8_t *input,
                            int8_t *output);
/* 16x8 models: float32 -> int16, and requantization between int8 and int16 either way. */
void mcuforge_quantize_f32_s16(const mcuforge_quantize_params_t *p, const float *input,
                               int16_t *output);
void mcuforge_requantize_s8_s16(const mcuforge_requantize_params_t *p, const int8_t *input,
                                int16_t *output);
void mcuforge_requantize_s16_s8(const mcuforge_requantize_params_t *p, const int16_t *input,
                                int8_t *output);
void mcuforge_requantize_s16_s16(const mcuforge_requantize_params_t *p, const int16_t *input,
                                 int16_t *output);

#endif
