/* MAXIMUM / MINIMUM: TFLM's MaximumMinimumBroadcastSlow with its MaximumOp (a > b ? a : b) and
 * MinimumOp (a < b ? a : b), on raw values of one integer type. */
#include "kernels/minmax.h"

#include <stddef.h>

#include "kernels/broadcast.h"

/* The flat loop: `a_at` and `b_at` read input 1 and input 2 at output i. */
#define MF_MINMAX_FLAT(type, pick, a_at, b_at)                                                \
    for (int32_t i = 0; i < p->flat_size; ++i) {                                              \
        const type a = (a_at), b = (b_at);                                                    \
        output[i] = pick;                                                                     \
    }

#define MF_MINMAX(name, type, pick)                                                           \
    void name(const mcuforge_minmax_params_t *p, const type *input1, const type *input2,     \
              type *output) {                                                                 \
        /* A single value broadcast (the front end's clamps) is read once, before the loop. */ \
        if (p->scalar == 2) {                                                                 \
            const type only = input2[0];                                                      \
            MF_MINMAX_FLAT(type, pick, input1[i], only)                                       \
            return;                                                                           \
        }                                                                                     \
        if (p->scalar == 1) {                                                                 \
            const type only = input1[0];                                                      \
            MF_MINMAX_FLAT(type, pick, only, input2[i])                                       \
            return;                                                                           \
        }                                                                                     \
        if (p->flat_size > 0) {                                                               \
            MF_MINMAX_FLAT(type, pick, input1[i], input2[i])                                  \
            return;                                                                           \
        }                                                                                     \
        mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};                                       \
        const size_t n = mf_broadcast_size(p->dims);                                          \
        for (size_t o = 0; o < n; ++o) {                                                      \
            const type a = input1[it.a], b = input2[it.b];                                    \
            output[o] = pick;                                                                 \
            mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);                        \
        }                                                                                     \
    }

MF_MINMAX(mcuforge_maximum_s8, int8_t, a > b ? a : b)
MF_MINMAX(mcuforge_minimum_s8, int8_t, a < b ? a : b)
MF_MINMAX(mcuforge_maximum_s16, int16_t, a > b ? a : b)
MF_MINMAX(mcuforge_minimum_s16, int16_t, a < b ? a : b)
MF_MINMAX(mcuforge_maximum_s32, int32_t, a > b ? a : b)
MF_MINMAX(mcuforge_minimum_s32, int32_t, a < b ? a : b)
