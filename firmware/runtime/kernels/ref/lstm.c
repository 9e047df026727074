/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8: TFLM's integer LSTM step by step.
 *
 * Per time step and batch row: each gate is two int8 fully connected layers (input, previous
 * hidden state) requantized to int16 Q3.12 and added with saturation, then sigmoid (tanh for the
 * cell gate) to Q0.15; cell = forget * cell + input * cell_gate (each product requantized and
 * saturated to int16), optionally clipped; hidden = output * tanh(cell), requantized to int8.
 * Batch rows are independent, so one row at a time gives TFLM's results in either layout. */
#include "kernels/lstm.h"

#include <stddef.h>
#include <string.h>

#include "kernels/sigmoid16.h"
#include "quant.h"

/* The DSP family compiles this file again with its own dot product and name
 * (kernels/dsp/lstm.c); the arithmetic around it is shared. */
#ifndef MF_LSTM_NAME
#define MF_LSTM_NAME mcuforge_lstm_s8
#define MF_LSTM_DOT dot_s8
#define MF_LSTM_REQUANT mf_mbqm

/* sum_d a[d] * b[d] in int32 arithmetic that wraps like the reference's accumulator. */
static uint32_t dot_s8(const int8_t *a, const int8_t *b, int32_t n) {
    uint32_t acc = 0;
    for (int32_t d = 0; d < n; ++d) {
        acc += (uint32_t)((int32_t)a[d] * (int32_t)b[d]);
    }
    return acc;
}
#endif

static int16_t sat16(int32_t x) { return (int16_t)mf_clamp(x, INT16_MIN, INT16_MAX); }

/* out[u] = sat16(requant(bias[u] + sum_d w[u][d] * x[d])), the zero points being in bias. */
static void fc_to_s16(const int8_t *x, const int8_t *w, const int32_t *bias, int32_t rows,
                      int32_t cols, int32_t multiplier, int32_t shift, int16_t *out) {
    for (int32_t u = 0; u < rows; ++u) {
        const uint32_t acc = (uint32_t)bias[u] + MF_LSTM_DOT(w + (size_t)u * (size_t)cols, x, cols);
        out[u] = sat16(MF_LSTM_REQUANT((int32_t)acc, multiplier, shift));
    }
}

static void gate(const mcuforge_lstm_params_t *p, int g, const int8_t *x, const int8_t *h,
                 int16_t *out, int16_t *tmp) {
    const int32_t n = p->units;
    fc_to_s16(x, p->in_weights + (size_t)g * (size_t)n * (size_t)p->input_size,
              p->in_bias + (size_t)g * (size_t)n, n, p->input_size, p->in_multiplier[g],
              p->in_shift[g], out);
    fc_to_s16(h, p->rec_weights + (size_t)g * (size_t)n * (size_t)n,
              p->rec_bias + (size_t)g * (size_t)n, n, n, p->rec_multiplier[g], p->rec_shift[g],
              tmp);
    for (int32_t u = 0; u < n; ++u) {
        const int16_t sum = sat16((int32_t)out[u] + (int32_t)tmp[u]);
        /* Gate inputs are Q3.12: the table's 1/24 step is a multiplier of 3 and no shift. */
        out[u] = g == MF_LSTM_CELL_GATE ? mf_tanh_s16(sum, 0, 0) : mf_sigmoid_s16(sum, 0, 0);
    }
}

void MF_LSTM_NAME(const mcuforge_lstm_params_t *p, const int8_t *input, int8_t *output,
                  int8_t *hidden, int16_t *cell, int16_t *scratch) {
    const int32_t n = p->units;
    int16_t *forget = scratch;
    int16_t *in_gate = scratch + n;
    int16_t *cell_gate = scratch + 2 * n;
    int16_t *tmp = scratch + 3 * n;
    for (int32_t b = 0; b < p->batches; ++b) {
        int8_t *h = hidden + (size_t)b * (size_t)n;
        int16_t *c = cell + (size_t)b * (size_t)n;
        for (int32_t t = 0; t < p->steps; ++t) {
            const size_t row = p->time_major ? (size_t)t * (size_t)p->batches + (size_t)b
                                             : (size_t)b * (size_t)p->steps + (size_t)t;
            const int8_t *x = input + row * (size_t)p->input_size;
            gate(p, MF_LSTM_FORGET_GATE, x, h, forget, tmp);
            gate(p, MF_LSTM_INPUT_GATE, x, h, in_gate, tmp);
            gate(p, MF_LSTM_CELL_GATE, x, h, cell_gate, tmp);
            for (int32_t u = 0; u < n; ++u) {
                const int32_t kept = sat16(MF_LSTM_REQUANT((int32_t)forget[u] * (int32_t)c[u],
                                                   p->forget_multiplier, p->forget_shift));
                const int32_t added =
                    sat16(MF_LSTM_REQUANT((int32_t)in_gate[u] * (int32_t)cell_gate[u],
                                          p->input_multiplier, p->input_shift));
                int32_t next = sat16(kept + added);
                if (p->cell_clip >= 0) {
                    next = mf_clamp(next, -p->cell_clip, p->cell_clip);
                }
                c[u] = (int16_t)next;
            }
            int16_t *out_gate = in_gate; /* the input gate is no longer needed */
            gate(p, MF_LSTM_OUTPUT_GATE, x, h, out_gate, tmp);
            for (int32_t u = 0; u < n; ++u) {
                const int16_t tanh_c = mf_tanh_s16(c[u], p->cell_tanh_multiplier,
                                                   p->cell_tanh_shift);
                const int32_t v = MF_LSTM_REQUANT((int32_t)tanh_c * (int32_t)out_gate[u],
                                          p->hidden_multiplier, p->hidden_shift) +
                                  p->hidden_zero_point;
                h[u] = (int8_t)mf_clamp(v, INT8_MIN, INT8_MAX);
            }
            memcpy(output + row * (size_t)n, h, (size_t)n);
        }
    }
}
