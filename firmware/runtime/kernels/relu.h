#ifndef MCUFORGE_KERNEL_RELU_H
#define MCUFORGE_KERNEL_RELU_H

#include <stdint.h>

/* RELU, int8: requantizes from the input to the output quantization, then clamps at the
 * output's zero (TFLM's ReluQuantized). */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t output_multiplier, output_shift; /* input_scale / output_scale */
    int32_t act_min, act_max;
} mcuforge_relu_params_t;

/* RELU6, int8: a clamp of the raw input to [quantized 0, quantized 6] in the *input*
 * quantization, with no requantization (TFLM's Relu6Quantized). */
typedef struct {
    int32_t size;
    int32_t lower, upper;
} mcuforge_relu6_params_t;

/* LEAKY_RELU, int8: input >= zero point requantized by the identity multiplier, below it by
 * alpha * input_scale / output_scale (applied as a magnitude and a sign). */
typedef struct {
    int32_t size;
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t identity_multiplier, identity_shift;
    int32_t alpha_multiplier, alpha_shift; /* magnitude, >= 0 */
    int32_t alpha_negative;                /* 1 when alpha < 0 */
} mcuforge_leaky_relu_params_t;

void mcuforge_relu_s8(const mcuforge_relu_params_t *p, const int8_t *input, int8_t *output);
void mcuforge_relu6_s8(const mcuforge_relu6_params_t *p, const int8_t *input, int8_t *output);
void mcuforge_leaky_relu_s8(const mcuforge_leaky_relu_params_t *p, const int8_t *input,
                            int8_t *output);

#endif
