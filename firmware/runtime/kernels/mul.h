#ifndef MCUFORGE_KERNEL_MUL_H
#define MCUFORGE_KERNEL_MUL_H

#include <stdint.h>

typedef struct {
    int32_t input1_offset, input2_offset, output_offset; /* -zp1, -zp2, +zp_out */
    /* input1_scale * input2_scale / output_scale */
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    /* Element count when both inputs have the output's shape; 0 selects the broadcast loop. */
    int32_t flat_size;
    /* Broadcast: output extents and per-input element strides (0 on broadcast axes), 6-D. */
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
    /* Row broadcast (flat_size 0, row_size > 0): input `vector_input` (1 or 2) holds row_size
     * values that repeat over `rows` rows of the other input, e.g. the [1, 1, 1, C] scale of a
     * squeeze-excite block times [1, H, W, C]. The int8 kernel walks it without the 6-D loop;
     * the int16 kernel leaves these 0. */
    int32_t rows, row_size, vector_input;
} mcuforge_mul_params_t;

void mcuforge_mul_s8(const mcuforge_mul_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output);

#endif
