/* Integer ADD, MUL and DIV (int32, no quantization): TFLM's reference_ops Add, Mul and Div and
 * their BroadcastBinaryOpSimple loops, then the activation clamp. TFLM's int32 ADD clamps to
 * the full int32 range whatever the fused activation says; the compiler passes that range. */
#include "kernels/int_arith.h"

#include <stddef.h>
#include <stdint.h>

#include "kernels/broadcast.h"
#include "quant.h"

static inline int32_t add_one(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }
static inline int32_t mul_one(int32_t a, int32_t b) { return (int32_t)((uint32_t)a * (uint32_t)b); }
static inline int32_t div_one(int32_t a, int32_t b) {
    if (b == 0) {
        return 0;
    }
    if (b == -1) {
        return (int32_t)(0u - (uint32_t)a); /* INT32_MIN / -1 wraps to INT32_MIN */
    }
    return a / b;
}

/* The loop over `n` outputs, with the clamp only where the activation range is not all of int32
 * (TFLM's int32 ADD never clamps: the front end's ADDs then run a third faster). */
#define MF_INT_LOOP(n, expr)                                                                   \
    do {                                                                                       \
        if (lo == INT32_MIN && hi == INT32_MAX) {                                              \
            for (int32_t i = 0; i < (n); ++i) {                                                \
                output[i] = (expr);                                                            \
            }                                                                                  \
        } else {                                                                               \
            for (int32_t i = 0; i < (n); ++i) {                                                \
                output[i] = mf_clamp((expr), lo, hi);                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)

/* `linkage`: empty for the public kernels, `static` for one a public kernel wraps. */
#define MCUFORGE_INT_BINARY(linkage, name, op)                                                  \
    linkage void name(const mcuforge_int_arith_params_t *p, const int32_t *input1,              \
                      const int32_t *input2, int32_t *output) {                                 \
        const int32_t lo = p->act_min, hi = p->act_max;                                        \
        if (p->scalar == 1) {                                                                   \
            const int32_t a = input1[0];                                                        \
            MF_INT_LOOP(p->flat_size, op(a, input2[i]));                                        \
            return;                                                                             \
        }                                                                                       \
        if (p->scalar == 2) {                                                                   \
            const int32_t b = input2[0];                                                        \
            MF_INT_LOOP(p->flat_size, op(input1[i], b));                                        \
            return;                                                                             \
        }                                                                                       \
        if (p->flat_size > 0) {                                                                 \
            MF_INT_LOOP(p->flat_size, op(input1[i], input2[i]));                                \
            return;                                                                             \
        }                                                                                       \
        mf_broadcast_t it = {{0, 0, 0, 0, 0, 0}, 0, 0};                                         \
        const size_t n = mf_broadcast_size(p->dims);                                            \
        for (size_t o = 0; o < n; ++o) {                                                        \
            output[o] = mf_clamp(op(input1[it.a], input2[it.b]), lo, hi);                       \
            mf_broadcast_next(&it, p->dims, p->strides1, p->strides2);                          \
        }                                                                                       \
    }

MCUFORGE_INT_BINARY(, mcuforge_add_s32, add_one)
MCUFORGE_INT_BINARY(, mcuforge_mul_s32, mul_one)
MCUFORGE_INT_BINARY(static, div_any, div_one)

/* A constant divisor other than 0 and -1 (the front end's "/ 666") leaves only C's division in
 * the loop; everything else takes div_one's cases per element. */
void mcuforge_div_s32(const mcuforge_int_arith_params_t *p, const int32_t *input1,
                      const int32_t *input2, int32_t *output) {
    if (p->scalar == 2 && input2[0] != 0 && input2[0] != -1) {
        const int32_t b = input2[0], lo = p->act_min, hi = p->act_max;
        MF_INT_LOOP(p->flat_size, input1[i] / b);
        return;
    }
    div_any(p, input1, input2, output);
}
