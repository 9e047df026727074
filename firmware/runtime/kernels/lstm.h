#ifndef MCUFORGE_KERNEL_LSTM_H
#define MCUFORGE_KERNEL_LSTM_H

#include <stdint.h>

/* Gate order in every per-gate array: input, forget, cell, output. */
enum { MF_LSTM_INPUT_GATE, MF_LSTM_FORGET_GATE, MF_LSTM_CELL_GATE, MF_LSTM_OUTPUT_GATE };

typedef struct {
    int32_t batches;
    int32_t steps;
    int32_t input_size;
    int32_t units;
    int32_t time_major; /* input/output [steps][batches][...] instead of [batches][steps][...] */
    const int8_t *in_weights;  /* [4][units][input_size] */
    const int8_t *rec_weights; /* [4][units][units] */
    /* Each gate's two fully connected layers with the zero points folded in:
     * bias + offset * sum(weights row). */
    const int32_t *in_bias;  /* [4][units] */
    const int32_t *rec_bias; /* [4][units] */
    int32_t in_multiplier[4];
    int32_t in_shift[4];
    int32_t rec_multiplier[4];
    int32_t rec_shift[4];
    /* Inter-gate multiplications, each requantized: forget * cell -> cell, input * cell gate ->
     * cell, output * tanh(cell) -> hidden (plus its zero point, clamped to int8). */
    int32_t forget_multiplier, forget_shift;
    int32_t input_multiplier, input_shift;
    int32_t hidden_multiplier, hidden_shift;
    int32_t hidden_zero_point;
    /* tanh(cell): input rescaling for mf_tanh_s16 from the cell state's power-of-two scale. */
    int32_t cell_tanh_multiplier, cell_tanh_shift;
    int32_t cell_clip; /* |cell| limit, or -1 for none */
} mcuforge_lstm_params_t;

/* One UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights, int16 cell state: TFLM's
 * integer LSTM (lstm_eval.h) arithmetic. ``hidden`` (int8 [batches][units]) and ``cell`` (int16)
 * are the state kept between invocations; ``scratch`` holds 4 * units int16. */
void mcuforge_lstm_s8(const mcuforge_lstm_params_t *p, const int8_t *input, int8_t *output,
                      int8_t *hidden, int16_t *cell, int16_t *scratch);
/* The same with the gates' dot products in Armv7E-M DSP instructions (kernels/dsp/lstm.c). */
void mcuforge_lstm_s8_dsp(const mcuforge_lstm_params_t *p, const int8_t *input, int8_t *output,
                          int8_t *hidden, int16_t *cell, int16_t *scratch);

#endif
