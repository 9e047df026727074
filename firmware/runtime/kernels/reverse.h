#ifndef MCUFORGE_KERNEL_REVERSE_H
#define MCUFORGE_KERNEL_REVERSE_H

#include <stdint.h>

/* REVERSE_V2 over contiguous axes: viewed as [outer][mid][inner] elements of elem_size bytes,
 * out[o][m][i] = in[o][mid - 1 - m][i]. */
typedef struct {
    int32_t outer, mid, inner, elem_size;
} mcuforge_reverse_params_t;

void mcuforge_reverse(const mcuforge_reverse_params_t *p, const void *input, void *output);

#endif
