/* The matrix core of the Helium convolution and fully connected kernels: int8 columns (an
 * im2col column, an input pixel, an input row) times int8 weight rows, four output channels and
 * one or two columns per pass, 16 MACs per VMLADAVA.S8; requantized four channels at a time in
 * vector lanes (mf_vrequant).
 *
 * Weights (laid out by mcuforge/compiler/ops/mve.py): output channels in groups of four, the
 * last group padded with zero rows; per group and per 16-value step of the column, the four
 * rows' 16 bytes in turn ([group][step][row][16]): the order a pass reads them in, through one
 * post-incremented pointer. Columns are zero-padded to whole steps with zero weights (tail = 0), or --
 * when the column is the input itself and must not be read past its end -- the last step is a
 * predicated load of `tail` values (zeroing the other lanes, which meet zero weights). The
 * input offset is folded into the bias at compile time, so the products are of raw values. */
#ifndef MCUFORGE_MVE_MATMUL_H
#define MCUFORGE_MVE_MATMUL_H

#include "kernels/mve/mve.h"

typedef struct {
    int32_t chunks;  /* 16-value steps per column */
    int32_t tail;    /* values in the last step if it is loaded predicated, else 0 */
    int32_t rows;    /* output channels */
    int32_t general; /* requantization table form (mf_vrequant) */
    int32_t clamp;   /* the activation range is not all of int8 */
} mf_mm_shape_t;

/* Sums of one or two columns with four weight rows. */
typedef struct {
    int32_t a[4], b[4];
} mf_mm_acc_t;

/* One 16-value step in C (the host's, and the reference for the device's asm below): the
 * columns' next 16 values (predicated to `n` if n < 16) times the four rows' next 16 weights;
 * the pointers move on. `first` starts the sums (VMLADAV), saving the accumulators' zeroing. */
MF_INLINE void mf_mm_step(mf_mm_acc_t *acc, const int8_t **wp, const int8_t **p0,
                          const int8_t **p1, int two, int first, int32_t n) {
    const mf_pred_t m = mf_vctp8((uint32_t)n);
    const mf_s8x16_t x0 = n < 16 ? mf_vld8_z(*p0, m) : mf_vld8(*p0);
    const mf_s8x16_t x1 = !two ? x0 : n < 16 ? mf_vld8_z(*p1, m) : mf_vld8(*p1);
    *p0 += 16;
    *p1 += 16;
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
        const mf_s8x16_t w = mf_vld8(*wp);
        *wp += 16;
        acc->a[r] = first ? mf_vmladav(x0, w) : mf_vmladava(acc->a[r], x0, w);
        if (two) {
            acc->b[r] = first ? mf_vmladav(x1, w) : mf_vmladava(acc->b[r], x1, w);
        }
    }
}

/* `full` whole steps then, if `tail`, a predicated one of `tail` values; the first of them
 * starts the sums. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && defined(__OPTIMIZE__)
/* On the device the steps are one asm block: VMLADAVA's accumulator must be an even register
 * (r0, r2, ..., r14), and eight of them are all there are. Left to itself, GCC counts the loop
 * in lr with a low-overhead loop and then shuffles an accumulator through an odd register and
 * the stack on every step (24 instructions a step instead of 16). Here the accumulators stay
 * put and the loop counts in an odd register. (Unoptimized builds keep r7 as the frame pointer
 * and cannot find the registers: they take the C steps.) */
#define MF_MM_ROW(op, r)                                                                       \
    "vldrb.8 %q[w], [%[wp]], #16\n\t" op " %[a" #r "], %q[x0], %q[w]\n\t"
#define MF_MM_ROW2(op, r) MF_MM_ROW(op, r) op " %[b" #r "], %q[x1], %q[w]\n\t"
#define MF_MM_STEP1(op)                                                                        \
    "vldrb.8 %q[x0], [%[p0]], #16\n\t" MF_MM_ROW(op, 0) MF_MM_ROW(op, 1) MF_MM_ROW(op, 2)       \
        MF_MM_ROW(op, 3)
#define MF_MM_STEP2(op)                                                                        \
    "vldrb.8 %q[x0], [%[p0]], #16\n\tvldrb.8 %q[x1], [%[p1]], #16\n\t" MF_MM_ROW2(op, 0)     \
        MF_MM_ROW2(op, 1) MF_MM_ROW2(op, 2) MF_MM_ROW2(op, 3)
/* The first step starts the sums (VMLADAV), the others (if any) accumulate, in one block: the
 * accumulators are outputs only, which leaves the register allocator the most freedom. A
 * predicated last step loads `t` column values and zeroes the other lanes (VPST + VLDRBT);
 * "p0" is GCC's name for VPR, which VCTP sets. */
#define MF_MM_STEPS(step)                                                                      \
    step("vmladav.s8") "cmp %[n], #0\n\tbeq 2f\n\t1:\n\t" step("vmladava.s8")                \
        "subs %[n], %[n], #1\n\tbne 1b\n\t2:\n\t"
#define MF_MM_TAIL1(op)                                                                        \
    "vctp.8 %[t]\n\tvpst\n\tvldrbt.8 %q[x0], [%[p0]]\n\t" MF_MM_ROW(op, 0) MF_MM_ROW(op, 1)   \
        MF_MM_ROW(op, 2) MF_MM_ROW(op, 3)
#define MF_MM_TAIL2(op)                                                                        \
    "vctp.8 %[t]\n\tvpstt\n\tvldrbt.8 %q[x0], [%[p0]]\n\tvldrbt.8 %q[x1], [%[p1]]\n\t"       \
        MF_MM_ROW2(op, 0) MF_MM_ROW2(op, 1) MF_MM_ROW2(op, 2) MF_MM_ROW2(op, 3)
#define MF_MM_OUT1                                                                             \
    [a0] "=&Te"(acc->a[0]), [a1] "=&Te"(acc->a[1]), [a2] "=&Te"(acc->a[2]),                    \
        [a3] "=&Te"(acc->a[3]), [p0] "+r"(*p0), [wp] "+r"(*wp), [n] "+r"(n), [x0] "=&w"(x0),   \
        [w] "=&w"(wv)
#define MF_MM_OUT2                                                                             \
    MF_MM_OUT1, [b0] "=&Te"(acc->b[0]), [b1] "=&Te"(acc->b[1]), [b2] "=&Te"(acc->b[2]),        \
        [b3] "=&Te"(acc->b[3]), [p1] "+r"(*p1), [x1] "=&w"(x1)
#define MF_MM_ASM(text, out) __asm(text : out : : "cc", "memory")
#define MF_MM_ASM_TAIL(text, out) __asm(text : out : [t] "r"(tail) : "cc", "memory", "p0")

MF_INLINE void mf_mm_steps(mf_mm_acc_t *acc, const int8_t **wp, const int8_t **p0,
                           const int8_t **p1, int two, int32_t full, int32_t tail) {
    int32_t n = full - 1;
    mf_s8x16_t x0, x1, wv;
    if (full == 0) {
        if (two) {
            MF_MM_ASM_TAIL(MF_MM_TAIL2("vmladav.s8"), MF_MM_OUT2);
        } else {
            MF_MM_ASM_TAIL(MF_MM_TAIL1("vmladav.s8"), MF_MM_OUT1);
        }
    } else if (tail) {
        if (two) {
            MF_MM_ASM_TAIL(MF_MM_STEPS(MF_MM_STEP2) MF_MM_TAIL2("vmladava.s8"), MF_MM_OUT2);
        } else {
            MF_MM_ASM_TAIL(MF_MM_STEPS(MF_MM_STEP1) MF_MM_TAIL1("vmladava.s8"), MF_MM_OUT1);
        }
    } else {
        if (two) {
            MF_MM_ASM(MF_MM_STEPS(MF_MM_STEP2), MF_MM_OUT2);
        } else {
            MF_MM_ASM(MF_MM_STEPS(MF_MM_STEP1), MF_MM_OUT1);
        }
    }
    (void)x0, (void)x1, (void)wv;
}
#else
MF_INLINE void mf_mm_steps(mf_mm_acc_t *acc, const int8_t **wp, const int8_t **p0,
                           const int8_t **p1, int two, int32_t full, int32_t tail) {
    for (int32_t k = 0; k < full; ++k) {
        mf_mm_step(acc, wp, p0, p1, two, k == 0, 16);
    }
    if (tail) {
        mf_mm_step(acc, wp, p0, p1, two, full == 0, tail);
    }
}
#endif

/* One group of four output channels for one or two columns; `wp` moves past its weights. */
MF_INLINE mf_mm_acc_t mf_mm_group(const mf_mm_shape_t *s, const int8_t **wp, const int8_t *c0,
                                  const int8_t *c1, int two) {
    mf_mm_acc_t acc = {{0, 0, 0, 0}, {0, 0, 0, 0}};
    const int32_t full = s->tail ? s->chunks - 1 : s->chunks;
    const int8_t *p0 = c0, *p1 = c1;
    mf_mm_steps(&acc, wp, &p0, &p1, two, full, s->tail);
    return acc;
}

/* Every output channel of one or two columns, written to o0 (and o1). */
MF_INLINE void mf_mm_cols(const mf_mm_shape_t *s, const mcuforge_mve_params_t *p,
                          const int8_t *weights, const int8_t *c0, const int8_t *c1, int8_t *o0,
                          int8_t *o1, int two) {
    const int32_t groups = (s->rows + 3) / 4;
    const int32_t off = p->output_offset;
    const mf_clamp8_t clamp = mf_clamp8(p);
    const int32_t *blk = p->rq;
    const int8_t *w = weights;
    for (int32_t grp = 0; grp < groups; ++grp) {
        const mf_mm_acc_t a = mf_mm_group(s, &w, c0, c1, two);
        /* Both pixels requantized before either store: a store through int8_t * may alias the
         * table, which would make the compiler load it again. */
        const mf_s32x4_t v0 =
            mf_vrequant(mf_vec4(a.a[0], a.a[1], a.a[2], a.a[3]), blk, s->general, off);
        const mf_s32x4_t v1 =
            two ? mf_vrequant(mf_vec4(a.b[0], a.b[1], a.b[2], a.b[3]), blk, s->general, off)
                : v0;
        const int32_t n = grp == groups - 1 && (s->rows & 3) ? s->rows & 3 : 4;
        mf_vstore4(o0 + 4 * grp, v0, s->clamp, &clamp, n);
        if (two) {
            mf_vstore4(o1 + 4 * grp, v1, s->clamp, &clamp, n);
        }
        blk += MF_RQ_BLOCK(s->general);
    }
}

#endif
