/* UNIDIRECTIONAL_SEQUENCE_LSTM, int8, with the gates' dot products four bytes at a time: SXTB16
 * splits each word into two int16 pairs, SMLAD multiplies and adds both. Integer sums in any
 * order are the reference's sums; the requantizations use the DSP header's exact short form.
 * Everything else is the reference kernel's own code. */
#include <stdint.h>

#include "kernels/dsp/dsp.h"

#define MF_LSTM_NAME mcuforge_lstm_s8_dsp
#define MF_LSTM_DOT dot_s8_dsp
/* Exact for the positive multipliers every LSTM requantization has (kernels/dsp/dsp.h). */
#define MF_LSTM_REQUANT mf_requant

static uint32_t dot_s8_dsp(const int8_t *a, const int8_t *b, int32_t n) {
    int32_t acc = 0;
    int32_t d = 0;
    for (; d + 4 <= n; d += 4) {
        const int32_t wa = mf_read_s32(a + d);
        const int32_t wb = mf_read_s32(b + d);
        acc = mf_smlad(mf_sxtb16(wa), mf_sxtb16(wb), acc);
        acc = mf_smlad(mf_sxtb16_ror8(wa), mf_sxtb16_ror8(wb), acc);
    }
    uint32_t sum = (uint32_t)acc;
    for (; d < n; ++d) {
        sum += (uint32_t)((int32_t)a[d] * (int32_t)b[d]);
    }
    return sum;
}

#include "kernels/ref/lstm.c"
