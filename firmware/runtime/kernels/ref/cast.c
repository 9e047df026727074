/* CAST: TFLM's copyCast, static_cast per element. Narrowing to a signed type is modulo 2^N in
 * GCC and Clang (C calls it implementation-defined), as in TFLM's own builds. */
#include "kernels/cast.h"

#define MCUFORGE_CAST_DEFINE(from, to, from_t, to_t)                                            \
    void mcuforge_cast_##from##_##to(const mcuforge_cast_params_t *p, const from_t *input,      \
                                     to_t *output) {                                            \
        for (int32_t i = 0; i < p->size; ++i) {                                                 \
            output[i] = (to_t)input[i];                                                         \
        }                                                                                       \
    }
#define MCUFORGE_CAST_ALL(from, from_t)                                                          \
    MCUFORGE_CAST_DEFINE(from, s8, from_t, int8_t)                                               \
    MCUFORGE_CAST_DEFINE(from, s16, from_t, int16_t)                                             \
    MCUFORGE_CAST_DEFINE(from, s32, from_t, int32_t)                                             \
    MCUFORGE_CAST_DEFINE(from, u32, from_t, uint32_t)

MCUFORGE_CAST_ALL(b8, uint8_t)
MCUFORGE_CAST_ALL(s8, int8_t)
MCUFORGE_CAST_ALL(s16, int16_t)
MCUFORGE_CAST_ALL(s32, int32_t)
MCUFORGE_CAST_ALL(u32, uint32_t)
