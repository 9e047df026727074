/* Filter bank and square root for the DSP family, bit for bit with the reference kernels
 * (ref/signal_filterbank.c, TFLM's arithmetic), portable C that compiles to UMLAL, UMULL, CLZ
 * and UDIV on Cortex-M. */
#include <stddef.h>

#include "kernels/signal_filterbank.h"
#include "kernels/signal_common.h"

/* ---- SignalFilterBank ----
 * The compiler repacks TFLM's tables: per channel, its bins without the zero-weight padding at
 * either end, and per bin one word holding (weight, unweight); both are non-negative, so each
 * product is one unsigned multiply-accumulate into 64 bits. Sums modulo 2^64 do not depend on
 * the order of their terms, so dropping zero terms changes nothing. */
void mcuforge_signal_filter_bank_dsp(const mcuforge_signal_filter_bank_dsp_params_t *p,
                                     const uint32_t *input, uint64_t *output) {
    const uint32_t *wu = p->weights;
    uint64_t weighted = 0, unweighted = 0;
    for (int32_t ch = 0; ch <= p->num_channels; ++ch) {
        const uint32_t *in = input + p->first_bin[ch];
        for (int32_t j = 0; j < (int32_t)p->bins[ch]; ++j) {
            const uint32_t x = in[j], w = *wu++;
            weighted += (uint64_t)(w & 0xFFFFu) * x;
            unweighted += (uint64_t)(w >> 16) * x;
        }
        if (ch > 0) {
            output[ch - 1] = weighted;
        }
        weighted = unweighted;
        unweighted = 0;
    }
}

/* ---- SignalFilterBankSquareRoot ----
 * TFLM's bit-by-bit square root returns floor(sqrt(x)) plus one when the remainder exceeds the
 * root (that is, sqrt(x) rounded to nearest; no ties exist for integers), except at the top of
 * its range (0xFFFF below 2^32, 0xFFFFFFFF above). The same result here in a few dozen
 * instructions: floor square roots of normalised values by Newton's method (32-bit divisions)
 * and one step of Zimmermann's recursive square root for the 64-bit case. */

/* floor(sqrt(y)) for y in [2^30, 2^32). Newton's iteration from above decreases to it. */
static uint32_t isqrt_norm32(uint32_t y) {
    /* Over each segment of width 2^26 of y, one more than the floor root of its top. */
    static const uint32_t guess[48] = {
        33777u, 34756u, 35709u, 36636u, 37541u, 38424u, 39288u, 40133u,
        40960u, 41772u, 42567u, 43348u, 44116u, 44870u, 45612u, 46341u,
        47060u, 47768u, 48465u, 49152u, 49830u, 50499u, 51160u, 51811u,
        52455u, 53091u, 53719u, 54340u, 54954u, 55561u, 56162u, 56756u,
        57344u, 57927u, 58503u, 59074u, 59639u, 60199u, 60754u, 61304u,
        61849u, 62389u, 62924u, 63455u, 63982u, 64504u, 65022u, 65536u};
    uint32_t x = guess[(y >> 26) - 16];
    for (;;) {
        const uint32_t t = (x + y / x) >> 1;
        if (t >= x) {
            return x;
        }
        x = t;
    }
}

static uint32_t sqrt_round32(uint32_t x) {
    if (x == 0) {
        return 0;
    }
    const uint32_t sh = (uint32_t)__builtin_clz(x) & ~1u;
    const uint32_t s = isqrt_norm32(x << sh) >> (sh / 2);
    return (x - s * s > s && s != 0xFFFFu) ? s + 1 : s;
}

static uint32_t sqrt_round64(uint64_t x) {
    if ((x >> 32) == 0) {
        return sqrt_round32((uint32_t)x);
    }
    const uint32_t sh = (uint32_t)__builtin_clzll(x) & ~1u;
    const uint64_t y = x << sh; /* y >= 2^62 */
    const uint32_t yh = (uint32_t)(y >> 32), yl = (uint32_t)y;
    const uint32_t s1 = isqrt_norm32(yh); /* in [2^15, 2^16) */
    const uint32_t r1 = yh - s1 * s1;     /* in [0, 2 s1] */
    /* Zimmermann: q, u = divmod(r1 * 2^16 + (yl >> 16), 2 s1), dividing half of the (up to
     * 33-bit) numerator by s1; u is small, so it comes out right modulo 2^32. */
    const uint32_t q = ((r1 << 15) | (yl >> 17)) / s1;
    const uint32_t u = ((r1 << 16) | (yl >> 16)) - q * 2u * s1;
    uint64_t s = ((uint64_t)s1 << 16) + q;
    const int64_t r = ((int64_t)u << 16) + (int64_t)(yl & 0xFFFFu) - (int64_t)q * q;
    if (r < 0) {
        --s;
    }
    const uint32_t f = (uint32_t)(s >> (sh / 2));
    return (x - (uint64_t)f * f > f && f != 0xFFFFFFFFu) ? f + 1 : f;
}

void mcuforge_signal_filter_bank_sqrt_dsp(const mcuforge_signal_filter_bank_sqrt_params_t *p,
                                          const uint64_t *input, const int32_t *scale_bits,
                                          uint32_t *output) {
    const uint32_t shift = (uint32_t)*scale_bits & 31u;
    for (int32_t i = 0; i < p->num_channels; ++i) {
        output[i] = sqrt_round64(input[i]) >> shift;
    }
}
