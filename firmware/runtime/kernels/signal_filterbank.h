/* The TFLM signal library's filter-bank ops (custom ops of audio front ends): SignalFilterBank,
 * SignalFilterBankSquareRoot, SignalFilterBankSpectralSubtraction (stateful), SignalPCAN and
 * SignalFilterBankLog. */
#ifndef MCUFORGE_KERNEL_SIGNAL_FILTERBANK_H
#define MCUFORGE_KERNEL_SIGNAL_FILTERBANK_H

#include <stdint.h>

typedef struct {
    int32_t num_channels; /* outputs; the kernel accumulates num_channels + 1 channels */
} mcuforge_signal_filter_bank_params_t;

/* The tables are the op's constant inputs; every index into them and into `input` was checked
 * at compile time. */
void mcuforge_signal_filter_bank(const mcuforge_signal_filter_bank_params_t *p,
                                 const uint32_t *input, const int16_t *weights,
                                 const int16_t *unweights, const int16_t *freq_starts,
                                 const int16_t *weight_starts, const int16_t *widths,
                                 uint64_t *output);

/* The DSP kernel's tables, repacked at compile time: channel ch (0..num_channels) covers bins
 * first_bin[ch] .. first_bin[ch] + bins[ch] - 1, whose (weight | unweight << 16) words follow
 * each other in `weights`, channel after channel. */
typedef struct {
    int32_t num_channels;
    const uint16_t *first_bin;
    const uint16_t *bins;
    const uint32_t *weights;
} mcuforge_signal_filter_bank_dsp_params_t;

void mcuforge_signal_filter_bank_dsp(const mcuforge_signal_filter_bank_dsp_params_t *p,
                                     const uint32_t *input, uint64_t *output);

typedef struct {
    int32_t num_channels;
} mcuforge_signal_filter_bank_sqrt_params_t;

void mcuforge_signal_filter_bank_sqrt(const mcuforge_signal_filter_bank_sqrt_params_t *p,
                                      const uint64_t *input, const int32_t *scale_bits,
                                      uint32_t *output);
void mcuforge_signal_filter_bank_sqrt_dsp(const mcuforge_signal_filter_bank_sqrt_params_t *p,
                                          const uint64_t *input, const int32_t *scale_bits,
                                          uint32_t *output);

typedef struct {
    int32_t num_channels;
    uint32_t smoothing, one_minus_smoothing;                     /* even channels */
    uint32_t alternate_smoothing, alternate_one_minus_smoothing; /* odd channels */
    uint32_t min_signal_remaining;
    uint32_t smoothing_bits;            /* 0..31 */
    uint32_t spectral_subtraction_bits; /* 0..63 */
    int32_t clamping;
} mcuforge_signal_spectral_subtraction_params_t;

/* `noise_state` (num_channels uint32) persists between invocations, zero after reset. */
void mcuforge_signal_spectral_subtraction(
    const mcuforge_signal_spectral_subtraction_params_t *p, const uint32_t *input,
    uint32_t *output, uint32_t *noise_estimate, uint32_t *noise_state);

typedef struct {
    int32_t num_channels;
    int32_t snr_shift; /* 0..63 */
} mcuforge_signal_pcan_params_t;

/* gain_lut: the op's constant table, at least 125 entries. */
void mcuforge_signal_pcan(const mcuforge_signal_pcan_params_t *p, const uint32_t *input,
                          const uint32_t *noise_estimate, const int16_t *gain_lut,
                          uint32_t *output);

typedef struct {
    int32_t num_channels;
    uint32_t output_scale;
    uint32_t correction_bits; /* 0..31 */
    const uint16_t *log_lut;  /* 130 entries: log2(1 + i/128) - i/128 in Q16, then 0 */
} mcuforge_signal_filter_bank_log_params_t;

void mcuforge_signal_filter_bank_log(const mcuforge_signal_filter_bank_log_params_t *p,
                                     const uint32_t *input, int16_t *output);

#endif
