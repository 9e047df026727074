/* The spectrum ops on Armv7E-M SIMD, bit for bit with the reference kernels (ref/
 * signal_spectrum.c, itself TFLM's arithmetic). Complex values stay packed (re low, im high)
 * in one register; every kissfft step maps onto lane instructions with the same rounding:
 *
 *  - scaling down by 32767/radix, q15(x * k) per lane: SMLABB (low lane, +2^14) and SMLATT with
 *    2k and +2^15 (the high lane, already doubled so that its result sits in the top half),
 *    then PKHTB with ASR 15: three instructions;
 *  - a complex product rounded to Q15: SMLSD and SMLADX (+2^14), then ASR 15 and PKHBT with
 *    the imaginary part shifted left by one: four instructions;
 *  - int16 sums and differences wrap: SADD16, SSUB16, SSAX, SASX; the real-FFT split's halved
 *    sums are SHADD16 / SHSUB16 (exact floor of the 17-bit sum).
 *
 * A butterfly whose twiddles are all exp(0) = (32767, 0) (the first of each block, and every one
 * of the innermost stage) skips the products: q15(v * 32767) == v for |v| <= 16383, and every
 * value entering a product has just been scaled down to that range (by 8191/32768 or
 * 16383/32768). The FFT handles powers of two (radix-4 stages, at most one radix-2 stage
 * innermost, as kissfft factors them) and frames of an even number of samples; the compiler
 * uses the reference kernel otherwise. */
#include "kernels/signal_spectrum.h"

#include <stddef.h>
#include <stdint.h>

#include "kernels/dsp/dsp_pairs.h"
#include "kernels/signal_common.h"

/* ---- SignalFftAutoScale ---- */

/* One value at a time, for tensors that do not start on a word boundary. */
static void auto_scale_unaligned(
    const mcuforge_signal_fft_auto_scale_params_t *p, const int16_t *input, int16_t *output,
    int32_t *scale_bits) {
    const int32_t scale = mf_fft_scale_bits(mf_tflm_max_abs16(input, p->size));
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)(uint16_t)(uint32_t)((int32_t)input[i] * (1 << scale));
    }
    *scale_bits = scale;
}

void mcuforge_signal_fft_auto_scale_s16_dsp(const mcuforge_signal_fft_auto_scale_params_t *p,
                                            const int16_t *input, int16_t *output,
                                            int32_t *scale_bits) {
    const size_t n = (size_t)p->size;
    if (((uintptr_t)input | (uintptr_t)output) & 3u) {
        /* A tensor that starts mid-word (a view into another one). */
        auto_scale_unaligned(p, input, output, scale_bits);
        return;
    }
    const size_t pairs = n / 2;
    const mf_w32 *in = (const mf_w32 *)(const void *)input;
    uint32_t mx = 0, mn = 0, mx1 = 0, mn1 = 0;
    size_t k = 0;
    for (; k + 2 <= pairs; k += 2) {
        const uint32_t x0 = in[k], x1 = in[k + 1];
        mx = mf_max16(mx, x0);
        mn = mf_min16(mn, x0);
        mx1 = mf_max16(mx1, x1);
        mn1 = mf_min16(mn1, x1);
    }
    if (k < pairs) {
        mx = mf_max16(mx, in[k]);
        mn = mf_min16(mn, in[k]);
    }
    mx = mf_max16(mx, mx1);
    mn = mf_min16(mn, mn1);
    int32_t hi = mf_lo(mx) > mf_hi(mx) ? mf_lo(mx) : mf_hi(mx);
    int32_t lo = mf_lo(mn) < mf_hi(mn) ? mf_lo(mn) : mf_hi(mn);
    if (n & 1) {
        hi = input[n - 1] > hi ? input[n - 1] : hi;
        lo = input[n - 1] < lo ? input[n - 1] : lo;
    }
    /* TFLM's maximum wraps on -32768 and then depends on the order of the values: only its
     * own loop gives it. Otherwise it is the true maximum of |x|. */
    const int16_t max = lo == -32768 ? mf_tflm_max_abs16(input, p->size)
                                     : (int16_t)(hi > -lo ? hi : -lo);
    const int32_t scale = mf_fft_scale_bits(max);
    /* Lane products keep the lanes apart; each wraps to int16 as TFLM's int16 store does. */
    const uint32_t mul = 1u << scale;
    mf_w32 *out = (mf_w32 *)(void *)output;
    size_t i = 0;
    for (; i + 2 <= pairs; i += 2) {
        const uint32_t x0 = in[i], x1 = in[i + 1];
        out[i] = mf_pack_lo(mf_smulbb_u(x0, mul), mf_smultb_u(x0, mul));
        out[i + 1] = mf_pack_lo(mf_smulbb_u(x1, mul), mf_smultb_u(x1, mul));
    }
    if (i < pairs) {
        out[i] = mf_pack_lo(mf_smulbb_u(in[i], mul), mf_smultb_u(in[i], mul));
    }
    if (n & 1) {
        output[n - 1] = (int16_t)(input[n - 1] * (int32_t)mul);
    }
    *scale_bits = scale;
}

/* ---- SignalRfft ---- */

/* q15(x * d) per lane, for d = 32767 / radix: kd = d | (2d << 16). */
static inline uint32_t scale_down(uint32_t x, uint32_t kd) {
    const int32_t lo = mf_smlabb_u(x, kd, 1 << 14);
    const int32_t hi2 = mf_smlatt_u(x, kd, 1 << 15);
    return mf_pack_q15(lo, hi2);
}

/* q15 complex product, as kissfft's C_MUL. */
static inline uint32_t cmul(uint32_t a, uint32_t w) {
    const int32_t re = mf_smlsd(a, w, 1 << 14);
    const int32_t im = mf_smladx(a, w, 1 << 14);
    return mf_pack_q15(re, (int32_t)((uint32_t)im << 1));
}

#define KD4 ((uint32_t)(32767 / 4) | ((uint32_t)(2 * (32767 / 4)) << 16))
#define KD2 ((uint32_t)(32767 / 2) | ((uint32_t)(2 * (32767 / 2)) << 16))

/* The radix-4 butterfly after the products: legs a0..a3 into out[0..3 * m]. */
static inline void bfly4_tail(uint32_t *f, size_t m, uint32_t a0, uint32_t s0, uint32_t s1,
                              uint32_t s2) {
    const uint32_t s5 = mf_ssub16_u(a0, s1);
    const uint32_t a = mf_sadd16_u(a0, s1);
    const uint32_t s3 = mf_sadd16_u(s0, s2);
    const uint32_t s4 = mf_ssub16_u(s0, s2);
    mf_st32(f + 2 * m, mf_ssub16_u(a, s3));
    mf_st32(f, mf_sadd16_u(a, s3));
    mf_st32(f + m, mf_ssax(s5, s4));
    mf_st32(f + 3 * m, mf_sasx(s5, s4));
}

/* Innermost radix-4 stage: legs r, r + q, r + 2q, r + 3q of the input (q = n/4), legs past the
 * frame zero; the block it fills is block_of[r]. `legs` is a constant in each caller. */
static inline __attribute__((always_inline)) void first4(const int16_t *in, uint32_t *out,
                                                         const uint16_t *block_of, size_t r,
                                                         size_t q, int legs) {
    const uint32_t a0 = legs > 0 ? scale_down(mf_ld32(in + 2 * r), KD4) : 0;
    const uint32_t a1 = legs > 1 ? scale_down(mf_ld32(in + 2 * (r + q)), KD4) : 0;
    const uint32_t a2 = legs > 2 ? scale_down(mf_ld32(in + 2 * (r + 2 * q)), KD4) : 0;
    const uint32_t a3 = legs > 3 ? scale_down(mf_ld32(in + 2 * (r + 3 * q)), KD4) : 0;
    bfly4_tail(out + 4 * (size_t)block_of[r], 1, a0, a1, a2, a3);
}

static inline __attribute__((always_inline)) void first2(const int16_t *in, uint32_t *out,
                                                         const uint16_t *block_of, size_t r,
                                                         size_t q, int legs) {
    const uint32_t a0 = legs > 0 ? scale_down(mf_ld32(in + 2 * r), KD2) : 0;
    const uint32_t a1 = legs > 1 ? scale_down(mf_ld32(in + 2 * (r + q)), KD2) : 0;
    uint32_t *f = out + 2 * (size_t)block_of[r];
    mf_st32(f + 1, mf_ssub16_u(a0, a1));
    mf_st32(f, mf_sadd16_u(a0, a1));
}

static size_t clamp_legs(ptrdiff_t valid, size_t q) {
    return valid < 0 ? 0 : ((size_t)valid > q ? q : (size_t)valid);
}

static void first_stage(const int16_t *in, uint32_t *out, const uint16_t *block_of, size_t n,
                        size_t points, int radix) {
    /* Leg k of the butterflies r holds input point r + k*q: it has data while r < points - kq. */
    const size_t q = n / (size_t)radix;
    size_t r = 0;
    if (radix == 4) {
        const size_t r3 = clamp_legs((ptrdiff_t)points - 3 * (ptrdiff_t)q, q);
        const size_t r2 = clamp_legs((ptrdiff_t)points - 2 * (ptrdiff_t)q, q);
        const size_t r1 = clamp_legs((ptrdiff_t)points - (ptrdiff_t)q, q);
        const size_t r0 = clamp_legs((ptrdiff_t)points, q);
        for (; r < r3; ++r) first4(in, out, block_of, r, q, 4);
        for (; r < r2; ++r) first4(in, out, block_of, r, q, 3);
        for (; r < r1; ++r) first4(in, out, block_of, r, q, 2);
        for (; r < r0; ++r) first4(in, out, block_of, r, q, 1);
        for (; r < q; ++r) first4(in, out, block_of, r, q, 0);
    } else {
        const size_t r1 = clamp_legs((ptrdiff_t)points - (ptrdiff_t)q, q);
        const size_t r0 = clamp_legs((ptrdiff_t)points, q);
        for (; r < r1; ++r) first2(in, out, block_of, r, q, 2);
        for (; r < r0; ++r) first2(in, out, block_of, r, q, 1);
        for (; r < q; ++r) first2(in, out, block_of, r, q, 0);
    }
}

/* A radix-4 stage: `blocks` blocks of 4m points; twiddle k of each leg is shared by all blocks,
 * so the loop runs over k outside and blocks inside. Inlined with m constant for the usual sizes
 * (the legs' offsets become immediates, which frees registers in the inner loop). */
static inline __attribute__((always_inline)) void stage4_m(uint32_t *f, size_t m, size_t blocks,
                                                           const int16_t *tw) {
    uint32_t *const end = f + blocks * 4 * m;
    for (uint32_t *g = f; g != end; g += 4 * m) { /* k = 0: the products are identities */
        bfly4_tail(g, m, scale_down(mf_ld32(g), KD4), scale_down(mf_ld32(g + m), KD4),
                   scale_down(mf_ld32(g + 2 * m), KD4), scale_down(mf_ld32(g + 3 * m), KD4));
    }
    if (blocks == 1) { /* the last stage: one block, twiddles walked in step */
        const mf_w32 *t = (const mf_w32 *)(const void *)tw;
        for (size_t k = 1; k < m; ++k) {
            uint32_t *g = f + k;
            const uint32_t a0 = scale_down(mf_ld32(g), KD4);
            const uint32_t s0 = cmul(scale_down(mf_ld32(g + m), KD4), t[k]);
            const uint32_t s1 = cmul(scale_down(mf_ld32(g + 2 * m), KD4), t[2 * k]);
            const uint32_t s2 = cmul(scale_down(mf_ld32(g + 3 * m), KD4), t[3 * k]);
            bfly4_tail(g, m, a0, s0, s1, s2);
        }
        return;
    }
    for (size_t k = 1; k < m; ++k) {
        const uint32_t w1 = mf_ld32(tw + 2 * k * blocks), w2 = mf_ld32(tw + 4 * k * blocks);
        const uint32_t w3 = mf_ld32(tw + 6 * k * blocks);
        for (uint32_t *g = f + k; g != end + k; g += 4 * m) {
            const uint32_t a0 = scale_down(mf_ld32(g), KD4);
            const uint32_t s0 = cmul(scale_down(mf_ld32(g + m), KD4), w1);
            const uint32_t s1 = cmul(scale_down(mf_ld32(g + 2 * m), KD4), w2);
            const uint32_t s2 = cmul(scale_down(mf_ld32(g + 3 * m), KD4), w3);
            bfly4_tail(g, m, a0, s0, s1, s2);
        }
    }
}

static void stage4(uint32_t *f, size_t m, size_t blocks, const int16_t *tw) {
    switch (m) {
    case 4: stage4_m(f, 4, blocks, tw); break;
    case 16: stage4_m(f, 16, blocks, tw); break;
    case 64: stage4_m(f, 64, blocks, tw); break;
    case 256: stage4_m(f, 256, blocks, tw); break;
    default: stage4_m(f, m, blocks, tw); break;
    }
}

static void split_real(uint32_t *f, size_t n, const int16_t *super) {
    const uint32_t dc = scale_down(mf_ld32(f), KD2);
    mf_st32(f, (uint32_t)(mf_lo(dc) + mf_hi(dc)) & 0xFFFFu);
    mf_st32(f + n, (uint32_t)(mf_lo(dc) - mf_hi(dc)) & 0xFFFFu);
    for (size_t k = 1; k <= n / 2; ++k) {
        const uint32_t fpk = scale_down(mf_ld32(f + k), KD2);
        const uint32_t x = mf_ld32(f + n - k);
        const uint32_t fpnk = scale_down(mf_pkhbt(x, mf_ssub16_u(0, x)), KD2); /* conjugate */
        const uint32_t f1k = mf_sadd16_u(fpk, fpnk);
        const uint32_t tw = cmul(mf_ssub16_u(fpk, fpnk), mf_ld32(super + 2 * (k - 1)));
        mf_st32(f + k, mf_shadd16(f1k, tw));
        mf_st32(f + n - k, mf_shsub16(mf_pkhbt(f1k, tw), mf_pkhbt(tw, f1k)));
    }
}

void mcuforge_signal_rfft_s16_dsp(const mcuforge_signal_rfft_params_t *p, const int16_t *input,
                                  int16_t *output) {
    const size_t n = (size_t)p->fft_length / 2;
    const int last = (int)p->radix[p->num_stages - 1];
    for (int32_t b = 0; b < p->batches; ++b) {
        uint32_t *f = (uint32_t *)(void *)output;
        first_stage(input, f, p->block_of, n, (size_t)p->input_length / 2, last);
        size_t blocks = n / (size_t)last;
        for (int32_t d = p->num_stages - 2; d >= 0; --d) {
            blocks /= 4;
            stage4(f, n / (blocks * 4), blocks, p->twiddles);
        }
        split_real(f, n, p->super_twiddles);
        input += p->input_length;
        output += 2 * (n + 1);
    }
}

/* ---- SignalEnergy ---- */

void mcuforge_signal_energy_s16_dsp(const mcuforge_signal_energy_params_t *p,
                                    const int16_t *input, uint32_t *output) {
    const int32_t start = p->start, end = p->end, size = p->size;
    int32_t i = 0;
    for (; i < start; ++i) {
        output[i] = 0;
    }
    for (; i < end; ++i) {
        output[i] = mf_smuad_self(mf_ld32(input + 2 * i));
    }
    for (; i < size; ++i) {
        output[i] = 0;
    }
}
