/* The TFLM signal library's filter-bank ops, bit for bit (signal/src/filter_bank.cc,
 * filter_bank_square_root.cc with square_root_32/64.cc, filter_bank_spectral_subtraction.cc,
 * pcan_argc_fixed.cc, filter_bank_log.cc with log.cc).
 *
 * Where TFLM's C++ lets a signed int32 overflow (undefined behaviour, which its x86 builds
 * wrap) the arithmetic is done in uint32 here, which wraps the same way by definition. Shift
 * counts are bounded by the compiler's checks. */
#include "kernels/signal_filterbank.h"

#include <stddef.h>

#include "kernels/signal_common.h"


/* ---- SignalFilterBank ---- */

void mcuforge_signal_filter_bank(const mcuforge_signal_filter_bank_params_t *p,
                                 const uint32_t *input, const int16_t *weights,
                                 const int16_t *unweights, const int16_t *freq_starts,
                                 const int16_t *weight_starts, const int16_t *widths,
                                 uint64_t *output) {
    /* Each channel's rising weights and the next channel's falling ones come from the same bins:
     * channel i's sum is its weighted bins plus channel i-1's unweighted ones. Channel 0 only
     * seeds channel 1, as in TFLM (its work area's first entry is dropped). */
    uint64_t weighted = 0, unweighted = 0;
    for (int32_t ch = 0; ch <= p->num_channels; ++ch) {
        const uint32_t *in = input + freq_starts[ch];
        const int16_t *w = weights + weight_starts[ch];
        const int16_t *u = unweights + weight_starts[ch];
        for (int32_t j = 0; j < widths[ch]; ++j) {
            /* int16 weights convert to uint64 by sign extension, products wrap mod 2^64. */
            weighted += (uint64_t)(int64_t)w[j] * in[j];
            unweighted += (uint64_t)(int64_t)u[j] * in[j];
        }
        if (ch > 0) {
            output[ch - 1] = weighted;
        }
        weighted = unweighted;
        unweighted = 0;
    }
}

/* ---- SignalFilterBankSquareRoot ---- */

/* Bit-by-bit integer square root, rounded to nearest (TFLM's Sqrt32, capped at 0xFFFF). */
static uint32_t sqrt32(uint32_t num) {
    if (num == 0) {
        return 0;
    }
    const uint32_t top = (32u - mf_msb32(num)) | 1u;
    uint32_t bit = 1u << (31u - top);
    uint32_t res = 0;
    for (uint32_t it = (31u - top) / 2u + 1u; it > 0; --it) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != 0xFFFFu) {
        ++res;
    }
    return res & 0xFFFFu;
}

/* TFLM's Sqrt64: Sqrt32 below 2^32, else the same recurrence on 64 bits, capped at 2^32 - 1. */
static uint32_t sqrt64(uint64_t num) {
    if ((num >> 32) == 0) {
        return sqrt32((uint32_t)num);
    }
    const uint32_t top = (64u - mf_msb64(num)) | 1u;
    uint64_t bit = (uint64_t)1 << (63u - top);
    uint64_t res = 0;
    for (uint32_t it = (63u - top) / 2u + 1u; it > 0; --it) {
        if (num >= res + bit) {
            num -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    if (num > res && res != 0xFFFFFFFFu) {
        ++res;
    }
    return (uint32_t)res;
}

void mcuforge_signal_filter_bank_sqrt(const mcuforge_signal_filter_bank_sqrt_params_t *p,
                                      const uint64_t *input, const int32_t *scale_bits,
                                      uint32_t *output) {
    /* A count of 32 or more is undefined in C++; TFLM's x86 builds use it modulo 32. */
    const uint32_t shift = (uint32_t)*scale_bits & 31u;
    for (int32_t i = 0; i < p->num_channels; ++i) {
        output[i] = sqrt64(input[i]) >> shift;
    }
}

/* ---- SignalFilterBankSpectralSubtraction ---- */

void mcuforge_signal_spectral_subtraction(
    const mcuforge_signal_spectral_subtraction_params_t *p, const uint32_t *input,
    uint32_t *output, uint32_t *noise_estimate, uint32_t *noise_state) {
    for (int32_t i = 0; i < p->num_channels; ++i) {
        const int odd = i & 1;
        const uint32_t smoothing = odd ? p->alternate_smoothing : p->smoothing;
        const uint32_t keep = odd ? p->alternate_one_minus_smoothing : p->one_minus_smoothing;
        const uint32_t x = input[i];
        const uint32_t signal = x << p->smoothing_bits;
        noise_state[i] = (uint32_t)(((uint64_t)signal * smoothing + (uint64_t)noise_state[i] * keep)
                                    >> p->spectral_subtraction_bits);
        uint32_t estimate = noise_state[i];
        if (estimate > signal) {
            estimate = signal;
            if (p->clamping) {
                noise_state[i] = estimate;
            }
        }
        const uint32_t floor =
            (uint32_t)(((uint64_t)x * p->min_signal_remaining) >> p->spectral_subtraction_bits);
        const uint32_t subtracted = (signal - estimate) >> p->smoothing_bits;
        output[i] = subtracted > floor ? subtracted : floor;
        noise_estimate[i] = noise_state[i];
    }
}

/* ---- SignalPCAN ---- */

/* The gain for a noise estimate: a quadratic per octave of x, from the table. */
static int32_t pcan_gain(uint32_t x, const int16_t *lut) {
    if (x <= 2) {
        return lut[x];
    }
    const uint32_t interval = mf_msb32(x);
    lut += 4 * interval - 6;
    const uint32_t frac =
        (interval < 11 ? x << (11 - interval) : x >> (interval - 11)) & 0x3FFu;
    uint32_t r = (uint32_t)(((int32_t)lut[2] * (int32_t)frac) >> 5);
    r += (uint32_t)(int32_t)lut[1] << 5;
    r *= frac;
    const int32_t rounded = (int32_t)(r + (1u << 14)) >> 15;
    return (int16_t)(uint16_t)(uint32_t)(rounded + lut[0]);
}

void mcuforge_signal_pcan(const mcuforge_signal_pcan_params_t *p, const uint32_t *input,
                          const uint32_t *noise_estimate, const int16_t *gain_lut,
                          uint32_t *output) {
    for (int32_t i = 0; i < p->num_channels; ++i) {
        const uint32_t gain = (uint32_t)pcan_gain(noise_estimate[i], gain_lut);
        const uint32_t snr = (uint32_t)(((uint64_t)input[i] * gain) >> p->snr_shift);
        /* PcanShrink with 12 SNR bits and 6 output bits */
        output[i] = snr < (2u << 12) ? (snr * snr) >> 20 : (snr >> 6) - (1u << 6);
    }
}

/* ---- SignalFilterBankLog ---- */

static uint32_t log_q16(uint32_t x, uint32_t out_scale, const uint16_t *lut) {
    const uint32_t integer = mf_msb32(x) - 1;
    int32_t frac = (int32_t)(x - (1u << integer));
    if (integer < 16) {
        frac <<= 16 - integer;
    } else {
        frac >>= integer - 16;
    }
    const uint32_t seg = (uint32_t)frac >> 9;
    const int32_t c0 = lut[seg], c1 = lut[seg + 1];
    const int32_t rel = ((c1 - c0) * (frac - (int32_t)(seg << 9))) >> 16;
    const uint32_t log2 = (integer << 16) + (uint32_t)(frac + c0 + rel);
    const uint32_t loge = (uint32_t)(((uint64_t)45426 * log2 + 32768) >> 16);
    return (out_scale * loge + 32768u) >> 16;
}

void mcuforge_signal_filter_bank_log(const mcuforge_signal_filter_bank_log_params_t *p,
                                     const uint32_t *input, int16_t *output) {
    for (int32_t i = 0; i < p->num_channels; ++i) {
        const uint32_t scaled = input[i] << p->correction_bits;
        if (scaled > 1) {
            const uint32_t v = log_q16(scaled, p->output_scale, p->log_lut);
            output[i] = (int16_t)(v < 32767u ? v : 32767u);
        } else {
            output[i] = 0;
        }
    }
}
