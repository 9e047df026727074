#ifndef MCUFORGE_KERNEL_QUANTIZE_H
#define MCUFORGE_KERNEL_QUANTIZE_H

#include <stdint.h>

/* QUANTIZE float32 -> int8 / int16: clamp(round_half_away(x / scale) + zero_point). */
typedef struct {
    int32_t size;
    float scale; /* the output's float32 scale: divided by, never multiplied by its inverse */
    int32_t zero_point;
} mcuforge_quantize_params_t;

/* QUANTIZE between integer types (requantize): clamp(requant(x - input_zp) + output_zp) to the
 * output type, TFLM's reference_ops::Requantize. */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier, shift; /* input_scale / output_scale */
} mcuforge_requantize_params_t;

void mcuforge_quantize_f32_s8(const mcuforge_quantize_params_t *p, const float *input,
                              int8_t *output);
void mcuforge_quantize_f32_s16(const mcuforge_quantize_params_t *p, const float *input,
                               int16_t *output);

/* The input -> output pairs TFLM's QUANTIZE has (s = signed, u = unsigned, bits). */
void mcuforge_requantize_s8(const mcuforge_requantize_params_t *p, const int8_t *input,
                            int8_t *output);
void mcuforge_requantize_s8_u8(const mcuforge_requantize_params_t *p, const int8_t *input,
                               uint8_t *output);
void mcuforge_requantize_s8_s16(const mcuforge_requantize_params_t *p, const int8_t *input,
                                int16_t *output);
void mcuforge_requantize_s8_s32(const mcuforge_requantize_params_t *p, const int8_t *input,
                                int32_t *output);
void mcuforge_requantize_u8_s8(const mcuforge_requantize_params_t *p, const uint8_t *input,
                               int8_t *output);
void mcuforge_requantize_s16_s8(const mcuforge_requantize_params_t *p, const int16_t *input,
                                int8_t *output);
void mcuforge_requantize_s16_s16(const mcuforge_requantize_params_t *p, const int16_t *input,
                                 int16_t *output);
void mcuforge_requantize_s16_s32(const mcuforge_requantize_params_t *p, const int16_t *input,
                                 int32_t *output);
void mcuforge_requantize_s32_s8(const mcuforge_requantize_params_t *p, const int32_t *input,
                                int8_t *output);
void mcuforge_requantize_s32_s16(const mcuforge_requantize_params_t *p, const int32_t *input,
                                 int16_t *output);

#endif
