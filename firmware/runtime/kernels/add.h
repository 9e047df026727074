#ifndef MCUFORGE_KERNEL_ADD_H
#define MCUFORGE_KERNEL_ADD_H

#include <stdint.h>

typedef struct {
    int32_t input1_offset, input2_offset, output_offset;
    int32_t left_shift;
    int32_t input1_multiplier, input1_shift;
    int32_t input2_multiplier, input2_shift;
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
    /* Element count when both inputs have the output's shape; 0 selects the broadcast loop. */
    int32_t flat_size;
    /* Broadcast: output extents and per-input element strides (0 on broadcast axes), 6-D. */
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
} mcuforge_add_params_t;

void mcuforge_add_s8(const mcuforge_add_params_t *p, const int8_t *input1, const int8_t *input2,
                     int8_t *output);

#endif

/* ---- table-driven variant (kernels/fast/add.c, portable C for every CPU) ----
 * Each input's scaled value, mbqm((x + offset) << left_shift, multiplier, shift), is tabulated
 * at compile time for all 256 int8 values; the kernel only adds, requantizes and clamps. */
typedef struct {
    const int32_t *table1; /* 256 entries, indexed by x + 128 */
    const int32_t *table2;
    int32_t output_multiplier, output_shift, output_offset;
    int32_t act_min, act_max;
    int32_t flat_size;
    int32_t dims[6];
    int32_t strides1[6];
    int32_t strides2[6];
} mcuforge_add_lut_params_t;

void mcuforge_add_s8_lut(const mcuforge_add_lut_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);
