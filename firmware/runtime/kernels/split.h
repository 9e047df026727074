#ifndef MCUFORGE_KERNEL_SPLIT_H
#define MCUFORGE_KERNEL_SPLIT_H

#include <stdint.h>

/* SPLIT, SPLIT_V and UNPACK of any element type: the input is `outer` rows, each row the
 * outputs' chunks in turn (output i takes chunk_bytes[i] bytes of every row). The
 * `num_outputs` output pointers follow `input`, as `void *`. */
typedef struct {
    int32_t outer;
    int32_t num_outputs;
    const int32_t *chunk_bytes;
} mcuforge_split_params_t;

void mcuforge_split(const mcuforge_split_params_t *p, const void *input, ...);

#endif
