/* Byte copy between tensors: READ_VARIABLE / ASSIGN_VARIABLE where the state planner could not
 * alias the variable's memory. */
#ifndef MCUFORGE_KERNELS_COPY_H
#define MCUFORGE_KERNELS_COPY_H

#include <stdint.h>

typedef struct {
    uint32_t bytes;
} mcuforge_copy_params_t;

void mcuforge_copy(const mcuforge_copy_params_t *p, const void *src, void *dst);

#endif
