/* FULLY_CONNECTED, int8, Helium (MVE), specialized per shape: model.c expands MF_FC_MVE_SPEC
 * once per distinct shape. The matrix core (matmul.h) with each batch's input row as the column,
 * read in place (the last 16-value step predicated), two batches times four outputs per pass.
 * The input offset is folded into the bias at compile time. */
#ifndef MCUFORGE_MVE_FULLY_CONNECTED_SPEC_H
#define MCUFORGE_MVE_FULLY_CONNECTED_SPEC_H

#include <stddef.h>

#include "kernels/mve/matmul.h"

typedef struct {
    int32_t batches;
    int32_t accum_depth;
    int32_t output_depth;
    int32_t general; /* requantization table form (mf_vrequant) */
    int32_t clamp;   /* the activation range is not all of int8 */
} mcuforge_fc_mve_geo_t;

MF_INLINE void mf_fc_mve(const mcuforge_fc_mve_geo_t *g, const mcuforge_mve_params_t *p,
                         const int8_t *input, const int8_t *weights, int8_t *output) {
    const mf_mm_shape_t s = {
        .chunks = (g->accum_depth + 15) / 16,
        .tail = g->accum_depth % 16,
        .rows = g->output_depth,
        .general = g->general,
        .clamp = g->clamp,
    };
    const ptrdiff_t depth = g->accum_depth, rows = g->output_depth;
    int32_t b = 0;
    for (; b + 1 < g->batches; b += 2) {
        mf_mm_cols(&s, p, weights, input + b * depth, input + (b + 1) * depth,
                   output + b * rows, output + (b + 1) * rows, 1);
    }
    if (b < g->batches) {
        mf_mm_cols(&s, p, weights, input + b * depth, input + b * depth, output + b * rows,
                   output + b * rows, 0);
    }
}

/* One copy per distinct shape: every size is a compile-time constant of the copy. */
#define MF_FC_MVE_SPEC(name, ...)                                                          \
    MF_MVE_KERNEL void name(const mcuforge_mve_params_t *p, const int8_t *input,           \
                            const int8_t *weights, int8_t *output) {                       \
        static const mcuforge_fc_mve_geo_t g = __VA_ARGS__;                                \
        mf_fc_mve(&g, p, input, weights, output);                                          \
    }

#endif
