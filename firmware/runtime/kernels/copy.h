#ifndef MCUFORGE_KERNEL_COPY_H
#define MCUFORGE_KERNEL_COPY_H

#include <stdint.h>

#define MCUFORGE_COPY_DIMS 5

/* A strided gather of bytes, the one kernel behind STRIDED_SLICE, SLICE and TRANSPOSE: the
 * output is written in order, `run_bytes` contiguous bytes at a time, read from
 *     input + offset + i0*step[0] + ... + i4*step[4]   for i_k in [0, count[k]).
 * Steps are in bytes and may be negative (reversed axes) or zero; the compiler checks that every
 * byte read lies inside the input and that the output receives exactly its size. */
typedef struct {
    int32_t offset;
    int32_t run_bytes;
    int32_t count[MCUFORGE_COPY_DIMS];
    int32_t step[MCUFORGE_COPY_DIMS];
} mcuforge_copy_params_t;

void mcuforge_copy(const mcuforge_copy_params_t *p, const void *input, void *output);

#endif
