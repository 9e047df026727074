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
