/* CONV_2D, int8, Helium (MVE), specialized per geometry: model.c expands MF_CONV_MVE_SPEC once
 * per distinct shape. Also runs depthwise convolutions of a single input channel (a plain
 * convolution with one filter per output channel).
 *
 * im2col: each output pixel's receptive field is copied, 16 bytes per vector load/store, into an
 * int8 column of raw input values, holding the input zero point where the window leaves the
 * image and zeros from the last tap to a whole number of 16-byte steps (matched by zero
 * weights). The input offset is folded into the bias (bias - zp * sum of the filter), so a
 * zero-point tap contributes (zp - zp) * w = 0 -- exactly the reference's skipped tap -- and
 * every other product equals the reference's. A 1x1 filter without padding needs no copy: the
 * column is the input pixel itself (`direct`). Then the matrix core (matmul.h): two pixels times
 * four output channels per pass, 16 MACs per VMLADAVA.
 *
 * Output order: pixels in pairs in output order, each pair written after both its columns are
 * read, so output row oy is written while input rows from oy * stride - pad on may still be
 * read, as the planner's overlap declaration requires (plan.streaming_lag). */
#ifndef MCUFORGE_MVE_CONV_SPEC_H
#define MCUFORGE_MVE_CONV_SPEC_H

#include <stddef.h>

#include "kernels/mve/matmul.h"
#include "quant.h"

typedef struct {
    int32_t batches;
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w, output_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t dilation_h, dilation_w;
    int32_t pad_h, pad_w;
    int32_t col_len; /* filter_h * filter_w * input_c rounded up to 16 */
    int32_t direct;  /* 1x1 filter, no padding: columns are read in place */
    int32_t general; /* requantization table form (mf_vrequant) */
    int32_t clamp;   /* the activation range is not all of int8 */
} mcuforge_conv_mve_geo_t;

/* n bytes from src to dst, n a compile-time constant in the specialized kernels: up to 8 bytes
 * in core registers (unaligned LDR/STR: fewer instructions than a predicated vector copy), else
 * whole vectors then a predicated one. */
MF_INLINE void mf_copy_bytes(int8_t *dst, const int8_t *src, int32_t n) {
    if (n <= 8) {
        __builtin_memcpy(dst, src, (size_t)n);
        return;
    }
    int32_t k = 0;
#pragma GCC unroll 8
    for (; k + 16 <= n; k += 16) {
        mf_vst8(dst + k, mf_vld8(src + k));
    }
    if (k < n) {
        const mf_pred_t m = mf_vctp8((uint32_t)(n - k));
        mf_vst8_p(dst + k, mf_vld8_z(src + k, m), m);
    }
}

/* n bytes of the zero point (`zpv` in every lane, `zp8` in every byte). */
MF_INLINE void mf_fill_bytes(int8_t *dst, mf_s8x16_t zpv, uint64_t zp8, int32_t n) {
    if (n <= 8) {
        __builtin_memcpy(dst, &zp8, (size_t)n);
        return;
    }
    int32_t k = 0;
#pragma GCC unroll 8
    for (; k + 16 <= n; k += 16) {
        mf_vst8(dst + k, zpv);
    }
    if (k < n) {
        mf_vst8_p(dst + k, zpv, mf_vctp8((uint32_t)(n - k)));
    }
}

/* A run of n bytes whose length is only known at run time (border pixels), 16 at a time. */
MF_INLINE void mf_copy_run(int8_t *dst, const int8_t *src, int32_t n) {
    for (int32_t k = 0; k < n; k += 16) {
        const mf_pred_t m = mf_vctp8((uint32_t)(n - k));
        mf_vst8_p(dst + k, mf_vld8_z(src + k, m), m);
    }
}

/* The column of the output pixel whose window starts at (iy0, ix0). A filter row inside the
 * image is one contiguous run of filter_w * input_c bytes in the input and in the column when
 * its taps are undilated; at the left or right border its taps inside the image are still one
 * run, after the row is filled with the zero point. */
MF_INLINE void mf_conv_gather(const mcuforge_conv_mve_geo_t *g, const int8_t *in_b,
                              mf_s8x16_t zpv, uint64_t zp8, int32_t iy0, int32_t ix0,
                              int8_t *col) {
    const int32_t in_c = g->input_c;
    const int32_t row_len = g->filter_w * in_c;
    const ptrdiff_t in_row = (ptrdiff_t)g->input_w * in_c;
    const int h_inside = ix0 >= 0 && ix0 + (g->filter_w - 1) * g->dilation_w < g->input_w;
    if (h_inside && g->dilation_w == 1 && iy0 >= 0 &&
        iy0 + (g->filter_h - 1) * g->dilation_h < g->input_h) {
        /* The whole window inside the image (most pixels): rows copied at constant offsets. */
        const int8_t *src = in_b + iy0 * in_row + (ptrdiff_t)ix0 * in_c;
#pragma GCC unroll 16
        for (int32_t fy = 0; fy < g->filter_h; ++fy) {
            mf_copy_bytes(col + fy * row_len, src + fy * g->dilation_h * in_row, row_len);
        }
        return;
    }
    int32_t fx0, fx1;
    mf_tap_range(ix0, g->dilation_w, g->filter_w, g->input_w, &fx0, &fx1);
    int8_t *c = col;
    for (int32_t fy = 0; fy < g->filter_h; ++fy, c += row_len) {
        const int32_t iy = iy0 + fy * g->dilation_h;
        if (iy < 0 || iy >= g->input_h) {
            mf_fill_bytes(c, zpv, zp8, row_len);
            continue;
        }
        const int8_t *row = in_b + iy * in_row;
        if (h_inside && g->dilation_w == 1) {
            mf_copy_bytes(c, row + (ptrdiff_t)ix0 * in_c, row_len);
        } else if (g->dilation_w == 1) {
            mf_fill_bytes(c, zpv, zp8, row_len);
            mf_copy_run(c + fx0 * in_c, row + (ptrdiff_t)(ix0 + fx0) * in_c,
                        (fx1 - fx0) * in_c);
        } else {
            for (int32_t fx = 0; fx < g->filter_w; ++fx) {
                const int32_t ix = ix0 + fx * g->dilation_w;
                if (ix >= 0 && ix < g->input_w) {
                    mf_copy_bytes(c + fx * in_c, row + (ptrdiff_t)ix * in_c, in_c);
                } else {
                    mf_fill_bytes(c + fx * in_c, zpv, zp8, in_c);
                }
            }
        }
    }
}

/* Where pixel k's column is: gathered into `col`, or (direct) the input pixel it reads. */
MF_INLINE const int8_t *mf_conv_column(const mcuforge_conv_mve_geo_t *g, const int8_t *in_b,
                                       mf_s8x16_t zpv, uint64_t zp8, int32_t k, int8_t *col) {
    const int32_t oy = k / g->output_w, ox = k % g->output_w;
    const int32_t iy0 = oy * g->stride_h - g->pad_h, ix0 = ox * g->stride_w - g->pad_w;
    if (g->direct) {
        return in_b + ((ptrdiff_t)iy0 * g->input_w + ix0) * g->input_c;
    }
    mf_conv_gather(g, in_b, zpv, zp8, iy0, ix0, col);
    return col;
}

/* `col` holds two columns of col_len bytes (direct kernels only use the first, see below). */
MF_INLINE void mf_conv_mve(const mcuforge_conv_mve_geo_t *g, const mcuforge_mve_params_t *p,
                           const int8_t *input, const int8_t *weights, int8_t *output,
                           int8_t *col) {
    const int32_t depth = g->filter_h * g->filter_w * g->input_c;
    const mf_mm_shape_t s = {
        .chunks = (depth + 15) / 16,
        .tail = g->direct ? depth % 16 : 0,
        .rows = g->output_c,
        .general = g->general,
        .clamp = g->clamp,
    };
    const mf_s8x16_t zpv = mf_vdup8((int8_t)p->input_zp);
    const uint64_t zp8 = (uint64_t)(uint8_t)p->input_zp * 0x0101010101010101ull;
    int8_t *col0 = col, *col1 = col + g->col_len;
    if (!g->direct && depth < g->col_len) {
        /* The steps' padding: never written by the gathers, zero for every pixel. */
        mf_fill_bytes(col0 + depth, mf_vdup8(0), 0, g->col_len - depth);
        mf_fill_bytes(col1 + depth, mf_vdup8(0), 0, g->col_len - depth);
    }
    const int32_t pixels = g->output_h * g->output_w;
    const int32_t oc = g->output_c;
    for (int32_t b = 0; b < g->batches; ++b) {
        const int8_t *in_b =
            input + (ptrdiff_t)b * g->input_h * g->input_w * (ptrdiff_t)g->input_c;
        int8_t *out_b = output + (ptrdiff_t)b * pixels * oc;
        int32_t k = 0;
        for (; k + 1 < pixels; k += 2) {
            const int8_t *c0 = mf_conv_column(g, in_b, zpv, zp8, k, col0);
            const int8_t *c1 = mf_conv_column(g, in_b, zpv, zp8, k + 1, col1);
            if (g->direct && (k + 1) % g->output_w == 0) {
                /* A pair across two output rows, read in place: the first group's outputs of
                 * the second pixel may land on the first pixel's input (the planner only keeps
                 * output row oy + 1 clear of the input rows from (oy + 1) * stride - pad on),
                 * which the next groups still read. A copy of that column is safe. */
                mf_copy_bytes(col0, c0, g->input_c);
                c0 = col0;
            }
            mf_mm_cols(&s, p, weights, c0, c1, out_b + k * oc, out_b + (k + 1) * oc, 1);
        }
        if (k < pixels) {
            const int8_t *c0 = mf_conv_column(g, in_b, zpv, zp8, k, col0);
            mf_mm_cols(&s, p, weights, c0, c0, out_b + k * oc, out_b + k * oc, 0);
        }
    }
}

/* One copy per distinct geometry: every size is a compile-time constant of the copy, which
 * lets the compiler fold the address arithmetic and unroll the short loops. */
#define MF_CONV_MVE_SPEC(name, ...)                                                        \
    MF_MVE_KERNEL void name(const mcuforge_mve_params_t *p, const int8_t *input,           \
                            const int8_t *weights, int8_t *output, void *scratch) {        \
        static const mcuforge_conv_mve_geo_t g = __VA_ARGS__;                              \
        mf_conv_mve(&g, p, input, weights, output, (int8_t *)scratch);                     \
    }


#endif
