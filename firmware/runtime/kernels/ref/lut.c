/* Table lookup for int8 element-wise functions; safe in place (output i depends on input i). */
#include "kernels/lut.h"

void mcuforge_lut_s8(const mcuforge_lut_params_t *p, const int8_t *input, int8_t *output) {
    const int8_t *table = p->table;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = table[(uint8_t)input[i]];
    }
}
