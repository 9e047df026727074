#ifndef MCUFORGE_KERNEL_CONCATENATION_H
#define MCUFORGE_KERNEL_CONCATENATION_H

#include <stdint.h>

/* TFLM's kMaxInputNum: the kernel takes this many input pointers, unused ones NULL. */
#define MCUFORGE_CONCAT_MAX_INPUTS 10

/* CONCATENATION of any element type: for each of `outer` steps, each input in turn contributes
 * chunk_bytes[i] contiguous bytes (its extent along the axis times everything inside it). */
typedef struct {
    int32_t outer;
    int32_t num_inputs;
    int32_t chunk_bytes[MCUFORGE_CONCAT_MAX_INPUTS];
} mcuforge_concat_params_t;

void mcuforge_concatenation(const mcuforge_concat_params_t *p, const void *in0, const void *in1,
                            const void *in2, const void *in3, const void *in4, const void *in5,
                            const void *in6, const void *in7, const void *in8, const void *in9,
                            void *output);

#endif
