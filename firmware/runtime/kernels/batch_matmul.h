#ifndef MCUFORGE_KERNEL_BATCH_MATMUL_H
#define MCUFORGE_KERNEL_BATCH_MATMUL_H

#include <stdint.h>

/* BATCH_MATMUL: out[b][m][n] = requant(sum_k (lhs[b][m][k] + lhs_offset) *
 * (rhs[b][k][n] + rhs_offset)). Up to 3 broadcast batch dimensions; element (i, j) of a matrix is
 * at i * row_stride + j * col_stride, so transposed operands (adj_x / adj_y) need no copy. */
typedef struct {
    int32_t batch_dims[3];
    int32_t lhs_batch_strides[3]; /* 0 along a broadcast dimension */
    int32_t rhs_batch_strides[3];
    int32_t rows, cols, depth;    /* m, n, k */
    int32_t lhs_row_stride, lhs_depth_stride;
    int32_t rhs_depth_stride, rhs_col_stride;
    int32_t lhs_offset, rhs_offset, output_offset;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
} mcuforge_batch_matmul_params_t;

void mcuforge_batch_matmul_s8(const mcuforge_batch_matmul_params_t *p, const int8_t *lhs,
                              const int8_t *rhs, int8_t *output);
/* int16 (16x8 models): zero offsets, int64 sums, TFLM's int64 requantization. */
void mcuforge_batch_matmul_s16(const mcuforge_batch_matmul_params_t *p, const int16_t *lhs,
                               const int16_t *rhs, int16_t *output);

#endif
