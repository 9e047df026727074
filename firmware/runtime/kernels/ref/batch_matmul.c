/* BATCH_MATMUL, int8 and int16: TFLM's reference_ops::BatchMatMul (int32 or int64 sums). */
#include "kernels/batch_matmul.h"

#include <stddef.h>

#include "quant.h"

#define MF_BATCH_MATMUL(NAME, T, ACC, REQUANT)                                                 \
    void NAME(const mcuforge_batch_matmul_params_t *p, const T *lhs, const T *rhs, T *output) { \
        T *out = output;                                                                      \
        for (int32_t b0 = 0; b0 < p->batch_dims[0]; ++b0) {                                   \
            for (int32_t b1 = 0; b1 < p->batch_dims[1]; ++b1) {                               \
                for (int32_t b2 = 0; b2 < p->batch_dims[2]; ++b2) {                           \
                    const T *a = lhs + (ptrdiff_t)b0 * p->lhs_batch_strides[0] +              \
                                 (ptrdiff_t)b1 * p->lhs_batch_strides[1] +                    \
                                 (ptrdiff_t)b2 * p->lhs_batch_strides[2];                     \
                    const T *c = rhs + (ptrdiff_t)b0 * p->rhs_batch_strides[0] +              \
                                 (ptrdiff_t)b1 * p->rhs_batch_strides[1] +                    \
                                 (ptrdiff_t)b2 * p->rhs_batch_strides[2];                     \
                    for (int32_t m = 0; m < p->rows; ++m) {                                   \
                        for (int32_t n = 0; n < p->cols; ++n) {                               \
                            ACC total = 0;                                                    \
                            for (int32_t k = 0; k < p->depth; ++k) {                          \
                                const int32_t x = a[(ptrdiff_t)m * p->lhs_row_stride +        \
                                                    (ptrdiff_t)k * p->lhs_depth_stride];      \
                                const int32_t y = c[(ptrdiff_t)k * p->rhs_depth_stride +      \
                                                    (ptrdiff_t)n * p->rhs_col_stride];        \
                                total += (ACC)((x + p->lhs_offset) * (y + p->rhs_offset));    \
                            }                                                                 \
                            const int32_t v = REQUANT + p->output_offset;                     \
                            *out++ = (T)mf_clamp(v, p->act_min, p->act_max);                  \
                        }                                                                     \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
    }

/* uint32_t sums wrap like the reference's int32 accumulator. */
MF_BATCH_MATMUL(mcuforge_batch_matmul_s8, int8_t, uint32_t,
                mf_mbqm((int32_t)total, p->multiplier, p->shift))
MF_BATCH_MATMUL(mcuforge_batch_matmul_s16, int16_t, int64_t,
                mf_mbqm64(total, p->multiplier, p->shift))
