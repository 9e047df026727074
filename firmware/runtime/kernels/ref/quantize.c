/* QUANTIZE, float32 -> int8 and int8 -> int8, as TFLM's AffineQuantize and Requantize.
 *
 * The float path is one IEEE single-precision division and a rounding, so it gives the same
 * bits on any IEEE-754 target (x86 SSE, Cortex-M4F FPU, soft float): there is no product for a
 * compiler to fuse into a multiply-add, and the division must stay a division (no
 * -freciprocal-math / -ffast-math). Rounding is done here without libm. */
#include "kernels/quantize.h"

#include "quant.h"

/* roundf(q) + zero_point clamped to [lo, hi]. TFLM converts roundf's result to int32 before adding
 * the zero point; for |q| >= 2^31 (and NaN) that conversion is undefined, so here those values
 * saturate: +big -> 127, -big and NaN -> -128. */
static inline int32_t quantize_one(float q, int32_t zero_point, int32_t lo, int32_t hi) {
    if (q >= 2147483648.0f) {
        return hi;
    }
    if (!(q > -2147483648.0f)) {
        return lo;
    }
    /* Truncation is exact here, and so is q - t: below 2^24 t is representable, above it q
     * is already an integer. Rounding half away from zero then only looks at that fraction. */
    int32_t t = (int32_t)q;
    const float frac = q - (float)t;
    if (frac >= 0.5f) {
        t += 1;
    } else if (frac <= -0.5f) {
        t -= 1;
    }
    /* t + zero_point could overflow int32 near the limits: clamp in 64 bits. */
    const int64_t v = (int64_t)t + zero_point;
    return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}

void mcuforge_quantize_f32_s8(const mcuforge_quantize_params_t *p, const float *input,
                              int8_t *output) {
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        const float q = input[i] / scale;
        output[i] = (int8_t)quantize_one(q, p->zero_point, INT8_MIN, INT8_MAX);
    }
}

void mcuforge_quantize_f32_s16(const mcuforge_quantize_params_t *p, const float *input,
                               int16_t *output) {
    const float scale = p->scale;
    for (int32_t i = 0; i < p->size; ++i) {
        output[i] = (int16_t)quantize_one(input[i] / scale, p->zero_point, INT16_MIN, INT16_MAX);
    }
}

#define MF_REQUANTIZE(NAME, IN_T, OUT_T, LO, HI)                                              \
    void NAME(const mcuforge_requantize_params_t *p, const IN_T *input, OUT_T *output) {     \
        for (int32_t i = 0; i < p->size; ++i) {                                              \
            const int32_t x = (int32_t)input[i] - p->input_zero_point;                       \
            const int32_t y = mf_mbqm(x, p->multiplier, p->shift) + p->output_zero_point;    \
            output[i] = (OUT_T)mf_clamp(y, LO, HI);                                          \
        }                                                                                    \
    }

MF_REQUANTIZE(mcuforge_requantize_s8, int8_t, int8_t, INT8_MIN, INT8_MAX)
MF_REQUANTIZE(mcuforge_requantize_s8_s16, int8_t, int16_t, INT16_MIN, INT16_MAX)
MF_REQUANTIZE(mcuforge_requantize_s16_s8, int16_t, int8_t, INT8_MIN, INT8_MAX)
MF_REQUANTIZE(mcuforge_requantize_s16_s16, int16_t, int16_t, INT16_MIN, INT16_MAX)
