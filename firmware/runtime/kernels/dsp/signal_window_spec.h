/* SignalWindow on Armv7E-M, specialized per model: model.c expands MF_WINDOW_DSP_SPEC once per
 * distinct (size, window, shift), so the shift is an immediate of SSAT (shift and saturate in one
 * instruction). Bit for bit with the reference kernel: (x * w) >> shift, saturated to int16.
 * The window has an even length (the compiler checks), so every window of a word-aligned
 * tensor starts word-aligned. */
#ifndef MCUFORGE_DSP_SIGNAL_WINDOW_SPEC_H
#define MCUFORGE_DSP_SIGNAL_WINDOW_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/dsp/dsp_pairs.h"
#include "kernels/signal_spectrum.h"

typedef struct {
    int32_t size;
    int32_t weight_size;
    int32_t shift;
} mcuforge_window_dsp_geo_t;

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define MF_SAT16(x) __ssat((x), 16)
#else
#define MF_SAT16(x) ((x) < -32768 ? -32768 : ((x) > 32767 ? 32767 : (x)))
#endif

static inline __attribute__((always_inline)) uint32_t mf_window_pair(uint32_t x, uint32_t w,
                                                                     int32_t shift) {
    const int32_t lo = mf_smulbb_u(x, w) >> shift, hi = mf_smultt_u(x, w) >> shift;
    return mf_pack_lo(MF_SAT16(lo), MF_SAT16(hi));
}

static inline __attribute__((always_inline)) void mf_window_dsp(const mcuforge_window_dsp_geo_t *g, const int16_t *input,
                             const int16_t *weights, int16_t *output) {
    const size_t pairs = (size_t)g->weight_size / 2;
    if (((uintptr_t)input | (uintptr_t)weights | (uintptr_t)output) & 3u) {
        /* A tensor that starts mid-word (a view into another one): one sample at a time. */
        for (int32_t i = 0; i < g->size; ++i) {
            const int32_t v = ((int32_t)input[i] * weights[i % g->weight_size]) >> g->shift;
            output[i] = (int16_t)MF_SAT16(v);
        }
        return;
    }
    for (int32_t base = 0; base < g->size; base += g->weight_size) {
        const mf_w32 *x = (const mf_w32 *)(const void *)(input + base);
        const mf_w32 *w = (const mf_w32 *)(const void *)weights;
        mf_w32 *out = (mf_w32 *)(void *)(output + base);
        size_t k = 0;
        for (; k + 2 <= pairs; k += 2) {
            const uint32_t x0 = x[k], x1 = x[k + 1], w0 = w[k], w1 = w[k + 1];
            out[k] = mf_window_pair(x0, w0, g->shift);
            out[k + 1] = mf_window_pair(x1, w1, g->shift);
        }
        if (k < pairs) {
            out[k] = mf_window_pair(x[k], w[k], g->shift);
        }
    }
}

#define MF_WINDOW_DSP_SPEC(name, ...)                                                           \
    static void name(const mcuforge_signal_window_params_t *p, const int16_t *input,           \
                     const int16_t *weights, int16_t *output) {                                 \
        static const mcuforge_window_dsp_geo_t g = __VA_ARGS__;                                 \
        (void)p;                                                                                \
        mf_window_dsp(&g, input, weights, output);                                              \
    }

#endif
