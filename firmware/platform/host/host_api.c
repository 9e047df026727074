/* Host build of generated models (a shared library loaded with ctypes): flat accessors so the
 * Python side needs no knowledge of struct layouts. Used for fast differential tests. */
#include <stddef.h>
#include <stdint.h>

#include "mcuforge.h"

void mcuforge_step_hook(uint32_t step) { (void)step; }

static const mcuforge_model_t *model_at(uint32_t m) {
    return m < mcuforge_num_models ? mcuforge_models[m] : NULL;
}

uint32_t mf_num_tensors(uint32_t m, int kind) {
    const mcuforge_model_t *model = model_at(m);
    if (model == NULL) {
        return 0u;
    }
    return kind == 0 ? model->num_inputs : kind == 1 ? model->num_outputs
                                                     : model->num_debug_tensors;
}

static const mcuforge_tensor_t *table(uint32_t m, int kind, uint32_t i) {
    if (i >= mf_num_tensors(m, kind)) {
        return NULL;
    }
    const mcuforge_model_t *model = model_at(m);
    return kind == 0 ? &model->inputs[i] : kind == 1 ? &model->outputs[i]
                                                     : &model->debug_tensors[i];
}

void *mf_tensor_data(uint32_t m, int kind, uint32_t i) {
    const mcuforge_tensor_t *t = table(m, kind, i);
    return t != NULL ? t->data : NULL;
}

uint32_t mf_tensor_bytes(uint32_t m, int kind, uint32_t i) {
    const mcuforge_tensor_t *t = table(m, kind, i);
    return t != NULL ? t->bytes : 0u;
}

int mf_invoke(uint32_t m) {
    const mcuforge_model_t *model = model_at(m);
    return model != NULL ? model->invoke() : -1;
}

void mf_reset(uint32_t m) {
    const mcuforge_model_t *model = model_at(m);
    if (model != NULL) {
        model->reset();
    }
}

uint32_t mf_arena_bytes(uint32_t m) {
    const mcuforge_model_t *model = model_at(m);
    return model != NULL ? model->arena_bytes : 0u;
}
