#ifndef MCUFORGE_KERNEL_GATHER_H
#define MCUFORGE_KERNEL_GATHER_H

#include <stdint.h>

/* GATHER of any element type: for each of `batches` x `outer` rows of the input (axis_size
 * blocks of inner_bytes each), the blocks named by that batch's `coords` indices, in order. */
typedef struct {
    int32_t batches;
    int32_t outer;
    int32_t coords; /* indices per batch */
    int32_t axis_size;
    int32_t inner_bytes;
} mcuforge_gather_params_t;

/* An index outside [0, axis_size) (TFLM reads outside the input there) gives a block of zero
 * bytes, so that the kernel never reads out of bounds. */
void mcuforge_gather(const mcuforge_gather_params_t *p, const void *input, const int32_t *coords,
                     void *output);

#endif
