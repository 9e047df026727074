/* The TFLM signal library's spectrum ops (custom ops of audio front ends): SignalWindow,
 * SignalFftAutoScale, SignalRfft (int16, kissfft's fixed-point arithmetic) and SignalEnergy. */
#ifndef MCUFORGE_KERNEL_SIGNAL_SPECTRUM_H
#define MCUFORGE_KERNEL_SIGNAL_SPECTRUM_H

#include <stdint.h>

typedef struct {
    int32_t size;        /* input elements; a multiple of weight_size */
    int32_t weight_size; /* the window, applied to each run of weight_size samples */
    int32_t shift;       /* 0..31 */
} mcuforge_signal_window_params_t;

void mcuforge_signal_window_s16(const mcuforge_signal_window_params_t *p, const int16_t *input,
                                const int16_t *weights, int16_t *output);

typedef struct {
    int32_t size;
} mcuforge_signal_fft_auto_scale_params_t;

void mcuforge_signal_fft_auto_scale_s16(const mcuforge_signal_fft_auto_scale_params_t *p,
                                        const int16_t *input, int16_t *output,
                                        int32_t *scale_bits);
void mcuforge_signal_fft_auto_scale_s16_dsp(const mcuforge_signal_fft_auto_scale_params_t *p,
                                            const int16_t *input, int16_t *output,
                                            int32_t *scale_bits);

#define MCUFORGE_RFFT_MAX_STAGES 16

typedef struct {
    int32_t batches;      /* frames of input_length samples, each giving fft_length/2+1 bins */
    int32_t input_length; /* <= fft_length; the rest of the frame is zeros */
    int32_t fft_length;   /* even: a complex FFT of fft_length/2 points does the work */
    int32_t num_stages;
    /* kissfft's radices, outermost stage first (each 2, 3, 4 or 5). */
    int32_t radix[MCUFORGE_RFFT_MAX_STAGES];
    const uint16_t *perm;          /* complex input index of each position before stage 1 */
    const int16_t *twiddles;       /* (re, im) Q15, fft_length/2 pairs */
    const int16_t *super_twiddles; /* (re, im) Q15, fft_length/4 pairs: the real-FFT split */
    /* DSP kernel only: the innermost butterfly whose first leg is input point r, for each r of
     * the first fft_length / (2 * radix) points (NULL for the reference kernel). */
    const uint16_t *block_of;
} mcuforge_signal_rfft_params_t;

/* output: (re, im) int16 pairs, fft_length/2 + 1 per frame. */
void mcuforge_signal_rfft_s16(const mcuforge_signal_rfft_params_t *p, const int16_t *input,
                              int16_t *output);
void mcuforge_signal_rfft_s16_dsp(const mcuforge_signal_rfft_params_t *p, const int16_t *input,
                                  int16_t *output);

typedef struct {
    int32_t start, end; /* bins [start, end) get energies; the others are set to 0 */
    int32_t size;       /* output elements */
} mcuforge_signal_energy_params_t;

void mcuforge_signal_energy_s16(const mcuforge_signal_energy_params_t *p, const int16_t *input,
                                uint32_t *output);
void mcuforge_signal_energy_s16_dsp(const mcuforge_signal_energy_params_t *p,
                                    const int16_t *input, uint32_t *output);

#endif
