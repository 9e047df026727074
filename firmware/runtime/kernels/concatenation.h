#ifndef MCUFORGE_KERNEL_CONCATENATION_H
#define MCUFORGE_KERNEL_CONCATENATION_H

#include <stdint.h>

/* CONCATENATION and PACK of any element type: the output is `outer` rows, each row the inputs'
 * chunks in turn (input i gives chunk_bytes[i] contiguous bytes per row: its extent along the
 * axis times everything inside it). The `num_inputs` input pointers follow `output`, as
 * `const void *`. */
typedef struct {
    int32_t outer;
    int32_t num_inputs;
    const int32_t *chunk_bytes;
} mcuforge_concat_params_t;

void mcuforge_concatenation(const mcuforge_concat_params_t *p, void *output, ...);

#endif
