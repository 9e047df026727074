/* CAST between integer types: TFLM's static_cast per element (narrowing wraps modulo 2^bits,
 * widening sign- or zero-extends by the source type). */
#ifndef MCUFORGE_KERNEL_CAST_H
#define MCUFORGE_KERNEL_CAST_H

#include <stdint.h>

typedef struct {
    int32_t size;
} mcuforge_cast_params_t;

#define MCUFORGE_CAST_DECLARE(from, to, from_t, to_t)                                            \
    void mcuforge_cast_##from##_##to(const mcuforge_cast_params_t *p, const from_t *input,      \
                                     to_t *output);
#define MCUFORGE_CAST_TARGETS(from, from_t)                                                      \
    MCUFORGE_CAST_DECLARE(from, s8, from_t, int8_t)                                              \
    MCUFORGE_CAST_DECLARE(from, s16, from_t, int16_t)                                            \
    MCUFORGE_CAST_DECLARE(from, s32, from_t, int32_t)                                            \
    MCUFORGE_CAST_DECLARE(from, u32, from_t, uint32_t)

/* bool is one byte holding 0 or 1, as TFLM stores it. */
MCUFORGE_CAST_TARGETS(b8, uint8_t)
MCUFORGE_CAST_TARGETS(s8, int8_t)
MCUFORGE_CAST_TARGETS(s16, int16_t)
MCUFORGE_CAST_TARGETS(s32, int32_t)
MCUFORGE_CAST_TARGETS(u32, uint32_t)

#endif
