/* The TFLM signal library's spectrum ops, bit for bit (signal/src/window.cc, fft_auto_scale.cc,
 * rfft_int16.cc with kissfft v130's FIXED_POINT=16 arithmetic, energy.cc).
 *
 * kissfft rounds every product to Q15 ((x + 2^14) >> 15), scales each stage's inputs down by
 * 32767/radix with that same rounding (not a shift), and keeps every intermediate complex value
 * in int16 (wrapping on overflow): each of those steps is reproduced below, in kissfft's order.
 * The recursion of kissfft's kf_work is unrolled into stages: the input is loaded in the order
 * the recursion reaches it (a table made at compile time), then each stage runs its butterflies
 * on every block, innermost stage first. */
#include "kernels/signal_spectrum.h"

#include <stddef.h>

#include "kernels/signal_common.h"

/* ---- SignalWindow ---- */

void mcuforge_signal_window_s16(const mcuforge_signal_window_params_t *p, const int16_t *input,
                                const int16_t *weights, int16_t *output) {
    for (int32_t base = 0; base < p->size; base += p->weight_size) {
        for (int32_t i = 0; i < p->weight_size; ++i) {
            const int32_t raw = ((int32_t)input[base + i] * weights[i]) >> p->shift;
            output[base + i] = (int16_t)(raw < INT16_MIN ? INT16_MIN
                                                         : (raw > INT16_MAX ? INT16_MAX : raw));
        }
    }
}

/* ---- SignalFftAutoScale ---- */

void mcuforge_signal_fft_auto_scale_s16(const mcuforge_signal_fft_auto_scale_params_t *p,
                                        const int16_t *input, int16_t *output,
                                        int32_t *scale_bits) {
    const int32_t scale = mf_fft_scale_bits(mf_tflm_max_abs16(input, p->size));
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)(uint16_t)(uint32_t)((int32_t)input[i] * (1 << scale));
    }
    *scale_bits = scale;
}

/* ---- SignalRfft ---- */

typedef struct {
    int32_t r, i; /* int16 values, held in int like kissfft's promoted arithmetic */
} cpx;

static inline int32_t s16(int32_t x) { return (int16_t)(uint16_t)(uint32_t)x; }
static inline int32_t q15(int32_t x) { return s16((int32_t)((uint32_t)x + (1u << 14)) >> 15); }

static inline cpx load(const int16_t *f, size_t k) { return (cpx){f[2 * k], f[2 * k + 1]}; }
static inline void store(int16_t *f, size_t k, cpx v) {
    f[2 * k] = (int16_t)s16(v.r);
    f[2 * k + 1] = (int16_t)s16(v.i);
}
static inline cpx add(cpx a, cpx b) { return (cpx){s16(a.r + b.r), s16(a.i + b.i)}; }
static inline cpx sub(cpx a, cpx b) { return (cpx){s16(a.r - b.r), s16(a.i - b.i)}; }
/* kissfft's C_MUL: both products rounded once, after the sum. */
static inline cpx mul(cpx a, const int16_t *w) {
    return (cpx){q15(a.r * w[0] - a.i * w[1]), q15(a.r * w[1] + a.i * w[0])};
}
/* kissfft's C_FIXDIV(c, radix): multiply by 32767/radix in Q15. */
static inline cpx down(cpx a, int32_t k) { return (cpx){q15(a.r * k), q15(a.i * k)}; }

static void radix2(int16_t *f, size_t m, size_t stride, const int16_t *tw) {
    for (size_t k = 0; k < m; ++k) {
        const cpx a = down(load(f, k), 32767 / 2);
        const cpx t = mul(down(load(f, k + m), 32767 / 2), tw + 2 * k * stride);
        store(f, k + m, sub(a, t));
        store(f, k, add(a, t));
    }
}

static void radix3(int16_t *f, size_t m, size_t stride, const int16_t *tw) {
    const int32_t e = tw[2 * stride * m + 1]; /* imaginary part of exp(-2 pi i / 3) */
    for (size_t k = 0; k < m; ++k) {
        const cpx a0 = down(load(f, k), 32767 / 3);
        const cpx s1 = mul(down(load(f, k + m), 32767 / 3), tw + 2 * k * stride);
        const cpx s2 = mul(down(load(f, k + 2 * m), 32767 / 3), tw + 4 * k * stride);
        const cpx s3 = add(s1, s2);
        cpx s0 = sub(s1, s2);
        const cpx b = {s16(a0.r - (s3.r >> 1)), s16(a0.i - (s3.i >> 1))};
        s0 = (cpx){q15(s0.r * e), q15(s0.i * e)};
        store(f, k, add(a0, s3));
        store(f, k + 2 * m, (cpx){b.r + s0.i, b.i - s0.r});
        store(f, k + m, (cpx){b.r - s0.i, b.i + s0.r});
    }
}

static void radix4(int16_t *f, size_t m, size_t stride, const int16_t *tw) {
    for (size_t k = 0; k < m; ++k) {
        cpx a0 = down(load(f, k), 32767 / 4);
        const cpx s0 = mul(down(load(f, k + m), 32767 / 4), tw + 2 * k * stride);
        const cpx s1 = mul(down(load(f, k + 2 * m), 32767 / 4), tw + 4 * k * stride);
        const cpx s2 = mul(down(load(f, k + 3 * m), 32767 / 4), tw + 6 * k * stride);
        const cpx s5 = sub(a0, s1);
        a0 = add(a0, s1);
        const cpx s3 = add(s0, s2);
        const cpx s4 = sub(s0, s2);
        store(f, k + 2 * m, sub(a0, s3));
        store(f, k, add(a0, s3));
        store(f, k + m, (cpx){s5.r + s4.i, s5.i - s4.r});
        store(f, k + 3 * m, (cpx){s5.r - s4.i, s5.i + s4.r});
    }
}

static void radix5(int16_t *f, size_t m, size_t stride, const int16_t *tw) {
    const int32_t ya_r = tw[2 * stride * m], ya_i = tw[2 * stride * m + 1];
    const int32_t yb_r = tw[4 * stride * m], yb_i = tw[4 * stride * m + 1];
    for (size_t u = 0; u < m; ++u) {
        const cpx s0 = down(load(f, u), 32767 / 5);
        const cpx s1 = mul(down(load(f, u + m), 32767 / 5), tw + 2 * u * stride);
        const cpx s2 = mul(down(load(f, u + 2 * m), 32767 / 5), tw + 4 * u * stride);
        const cpx s3 = mul(down(load(f, u + 3 * m), 32767 / 5), tw + 6 * u * stride);
        const cpx s4 = mul(down(load(f, u + 4 * m), 32767 / 5), tw + 8 * u * stride);
        const cpx s7 = add(s1, s4), s10 = sub(s1, s4), s8 = add(s2, s3), s9 = sub(s2, s3);
        store(f, u, (cpx){s0.r + s7.r + s8.r, s0.i + s7.i + s8.i});
        const cpx s5 = {s16(s0.r + q15(s7.r * ya_r) + q15(s8.r * yb_r)),
                        s16(s0.i + q15(s7.i * ya_r) + q15(s8.i * yb_r))};
        const cpx s6 = {s16(q15(s10.i * ya_i) + q15(s9.i * yb_i)),
                        s16(-q15(s10.r * ya_i) - q15(s9.r * yb_i))};
        store(f, u + m, sub(s5, s6));
        store(f, u + 4 * m, add(s5, s6));
        const cpx s11 = {s16(s0.r + q15(s7.r * yb_r) + q15(s8.r * ya_r)),
                         s16(s0.i + q15(s7.i * yb_r) + q15(s8.i * ya_r))};
        const cpx s12 = {s16(-q15(s10.i * yb_i) + q15(s9.i * ya_i)),
                         s16(q15(s10.r * yb_i) - q15(s9.r * ya_i))};
        store(f, u + 2 * m, add(s11, s12));
        store(f, u + 3 * m, sub(s11, s12));
    }
}

/* kissfft's kiss_fftr split of the complex FFT of the packed real input into the real FFT's
 * bins, in place: bin k and bin n-k are computed from complex points k and n-k only. */
static void split_real(int16_t *f, size_t n, const int16_t *super) {
    const cpx dc = down(load(f, 0), 32767 / 2);
    store(f, 0, (cpx){dc.r + dc.i, 0});
    store(f, n, (cpx){dc.r - dc.i, 0});
    for (size_t k = 1; k <= n / 2; ++k) {
        const cpx fpk = down(load(f, k), 32767 / 2);
        const cpx mirror = load(f, n - k);
        const cpx fpnk = down((cpx){mirror.r, s16(-mirror.i)}, 32767 / 2);
        const cpx f1k = add(fpk, fpnk);
        const cpx tw = mul(sub(fpk, fpnk), super + 2 * (k - 1));
        store(f, k, (cpx){(f1k.r + tw.r) >> 1, (f1k.i + tw.i) >> 1});
        store(f, n - k, (cpx){(f1k.r - tw.r) >> 1, (tw.i - f1k.i) >> 1});
    }
}

void mcuforge_signal_rfft_s16(const mcuforge_signal_rfft_params_t *p, const int16_t *input,
                              int16_t *output) {
    const size_t n = (size_t)p->fft_length / 2;
    const size_t len = (size_t)p->input_length;
    for (int32_t b = 0; b < p->batches; ++b) {
        /* The complex FFT runs in the output buffer (n points of the n + 1 it ends with). */
        for (size_t k = 0; k < n; ++k) {
            const size_t s = 2 * (size_t)p->perm[k];
            output[2 * k] = s < len ? input[s] : 0;
            output[2 * k + 1] = s + 1 < len ? input[s + 1] : 0;
        }
        size_t stride = n;
        for (int32_t d = p->num_stages - 1; d >= 0; --d) {
            const size_t radix = (size_t)p->radix[d];
            stride /= radix;                         /* kissfft's fstride at this depth */
            const size_t m = n / (stride * radix);   /* points per butterfly leg */
            for (size_t blk = 0; blk < stride; ++blk) {
                int16_t *f = output + 2 * blk * radix * m;
                switch (radix) {
                case 2: radix2(f, m, stride, p->twiddles); break;
                case 3: radix3(f, m, stride, p->twiddles); break;
                case 4: radix4(f, m, stride, p->twiddles); break;
                default: radix5(f, m, stride, p->twiddles); break;
                }
            }
        }
        split_real(output, n, p->super_twiddles);
        input += len;
        output += 2 * (n + 1);
    }
}

/* ---- SignalEnergy ---- */

void mcuforge_signal_energy_s16(const mcuforge_signal_energy_params_t *p, const int16_t *input,
                                uint32_t *output) {
    for (int32_t i = 0; i < p->size; ++i) {
        if (i < p->start || i >= p->end) {
            output[i] = 0; /* TFLM leaves these bins unwritten; zeros keep the output defined */
            continue;
        }
        const int32_t re = input[2 * i], im = input[2 * i + 1];
        output[i] = (uint32_t)(re * re) + (uint32_t)(im * im);
    }
}
