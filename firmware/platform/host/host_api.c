/* Host build of a generated model (a shared library loaded with ctypes): flat accessors so the
 * Python side needs no knowledge of struct layouts. Used for fast differential tests. */
#include <stddef.h>
#include <stdint.h>

#include "mcuforge.h"

void mcuforge_step_hook(uint32_t step) { (void)step; }

uint32_t mf_num_tensors(int kind) {
    return kind == 0 ? mcuforge_num_inputs : kind == 1 ? mcuforge_num_outputs
                                                      : mcuforge_num_debug_tensors;
}

static const mcuforge_tensor_t *table(int kind, uint32_t i) {
    if (i >= mf_num_tensors(kind)) {
        return NULL;
    }
    return kind == 0 ? &mcuforge_inputs[i] : kind == 1 ? &mcuforge_outputs[i]
                                                      : &mcuforge_debug_tensors[i];
}

void *mf_tensor_data(int kind, uint32_t i) {
    const mcuforge_tensor_t *t = table(kind, i);
    return t != NULL ? t->data : NULL;
}

uint32_t mf_tensor_bytes(int kind, uint32_t i) {
    const mcuforge_tensor_t *t = table(kind, i);
    return t != NULL ? t->bytes : 0u;
}

uint32_t mf_arena_bytes(void) { return mcuforge_arena_bytes; }
