#ifndef MCUFORGE_KERNEL_CONV_S16_H
#define MCUFORGE_KERNEL_CONV_S16_H

#include <stdint.h>

#include "kernels/conv.h"
#include "kernels/depthwise_conv.h"
#include "kernels/fully_connected.h"

/* 16x8 (int16 activations, int8 weights) CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED: TFLM's
 * int16 reference kernels. No zero points (int16 is symmetric); the accumulator has the bias's
 * width -- int64 with TFLM's int64 requantization (the converter's default bias), or int32 with
 * the int32 one. The params structs are the int8 kernels'; their offsets are 0. */
void mcuforge_conv2d_s16(const mcuforge_conv_params_t *p, const int16_t *input,
                         const int8_t *weights, const int64_t *bias, int16_t *output);
void mcuforge_conv2d_s16_b32(const mcuforge_conv_params_t *p, const int16_t *input,
                             const int8_t *weights, const int32_t *bias, int16_t *output);
void mcuforge_depthwise_conv2d_s16(const mcuforge_dw_conv_params_t *p, const int16_t *input,
                                   const int8_t *weights, const int64_t *bias, int16_t *output);
void mcuforge_depthwise_conv2d_s16_b32(const mcuforge_dw_conv_params_t *p, const int16_t *input,
                                       const int8_t *weights, const int32_t *bias,
                                       int16_t *output);
void mcuforge_fully_connected_s16(const mcuforge_fc_params_t *p, const int16_t *input,
                                  const int8_t *weights, const int64_t *bias, int16_t *output);
void mcuforge_fully_connected_s16_b32(const mcuforge_fc_params_t *p, const int16_t *input,
                                      const int8_t *weights, const int32_t *bias,
                                      int16_t *output);

#endif
