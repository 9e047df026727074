#ifndef MCUFORGE_KERNEL_FULLY_CONNECTED_H
#define MCUFORGE_KERNEL_FULLY_CONNECTED_H

#include <stdint.h>

typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t input_offset;  /* -input zero point */
    int32_t filter_offset; /* -weights zero point */
    int32_t output_offset; /* output zero point */
    int32_t act_min;
    int32_t act_max;
    /* Per-channel weights: one (multiplier, shift) per output channel; per-tensor: one. */
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
} mcuforge_fc_params_t;

/* out[b][o] = clamp(requant(sum_d (in[b][d] + input_offset) * (w[o][d] + filter_offset) + bias[o]))
 * bias may be NULL. */
void mcuforge_fully_connected_s8(const mcuforge_fc_params_t *p, const int8_t *input,
                                 const int8_t *weights, const int32_t *bias, int8_t *output);

#endif

/* ---- Armv7E-M DSP variant (kernels/dsp/fully_connected.c) ----
 * Compile-time preparation: weights zero point 0; the input offset folded into the bias
 * (bias[o] + input_offset * sum_d w[o][d]); weights of each block of four output rows
 * interleaved four bytes at a time ([o0 d0..3][o1 d0..3][o2 d0..3][o3 d0..3][o0 d4..7]...),
 * remainder rows and the depth tail kept in order. */
typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
    int32_t per_channel;
    const int32_t *multiplier;
    const int32_t *shift;
    const int32_t *bias; /* folded, never NULL */
} mcuforge_fc_dsp_params_t;

void mcuforge_fully_connected_s8_dsp(const mcuforge_fc_dsp_params_t *p, const int8_t *input,
                                     const int8_t *weights, int8_t *output);
