#ifndef MCUFORGE_KERNEL_PAD_H
#define MCUFORGE_KERNEL_PAD_H

#include <stdint.h>

/* PAD / PADV2 on int8, shapes left-extended to 5-D with size-1 unpadded axes. */
typedef struct {
    int32_t in_dims[5];
    int32_t out_dims[5];
    int32_t before[5];  /* leading padding per axis; trailing = out - in - before */
    int32_t pad_value;  /* raw int8 value: the output zero point or PADV2's constant */
} mcuforge_pad_params_t;

void mcuforge_pad_s8(const mcuforge_pad_params_t *p, const int8_t *input, int8_t *output);

#endif
