/* FULLY_CONNECTED, int8, Armv7E-M DSP: four output rows per pass, four depth values per step,
 * two MACs per SMLAD. Bit-exact with the reference kernel: the same int32 sums (the folded
 * input offset changes only the order of additions, and int32 addition wraps the same way), the
 * same requantization. */
#include <stddef.h>

#include "kernels/dsp/dsp.h"
#include "kernels/fully_connected.h"
#include "quant.h"

static inline int8_t finish(const mcuforge_fc_dsp_params_t *p, int32_t acc, int32_t o) {
    const int32_t q = p->per_channel ? o : 0;
    acc = mf_requant(acc, p->multiplier[q], p->shift[q]) + p->output_offset;
    return (int8_t)mf_clamp(acc, p->act_min, p->act_max);
}

void mcuforge_fully_connected_s8_dsp(const mcuforge_fc_dsp_params_t *p, const int8_t *input,
                                     const int8_t *weights, int8_t *output) {
    const int32_t depth = p->accum_depth;
    const int32_t depth4 = depth & ~3;
    const int32_t blocks = p->output_depth / 4;
    for (int32_t b = 0; b < p->batches; ++b) {
        const int8_t *in = input + (size_t)b * (size_t)depth;
        int8_t *out = output + (size_t)b * (size_t)p->output_depth;
        const int8_t *w = weights;
        for (int32_t blk = 0; blk < blocks; ++blk) {
            const int32_t o = blk * 4;
            int32_t acc0 = p->bias[o], acc1 = p->bias[o + 1];
            int32_t acc2 = p->bias[o + 2], acc3 = p->bias[o + 3];
            const int8_t *x = in;
            for (int32_t d = 0; d < depth4; d += 4) {
                const int32_t xv = mf_read_s32(x);
                x += 4;
                const int32_t x02 = mf_sxtb16(xv), x13 = mf_sxtb16_ror8(xv);
                int32_t w0, w1, w2, w3;
                /* The interleaved weights of a block are 16-byte aligned: two LDRDs. */
                mf_ldrd_inc(&w, &w0, &w1);
                mf_ldrd_inc(&w, &w2, &w3);
                acc0 = mf_smlad(mf_sxtb16(w0), x02, acc0);
                acc0 = mf_smlad(mf_sxtb16_ror8(w0), x13, acc0);
                acc1 = mf_smlad(mf_sxtb16(w1), x02, acc1);
                acc1 = mf_smlad(mf_sxtb16_ror8(w1), x13, acc1);
                acc2 = mf_smlad(mf_sxtb16(w2), x02, acc2);
                acc2 = mf_smlad(mf_sxtb16_ror8(w2), x13, acc2);
                acc3 = mf_smlad(mf_sxtb16(w3), x02, acc3);
                acc3 = mf_smlad(mf_sxtb16_ror8(w3), x13, acc3);
            }
            for (int32_t d = depth4; d < depth; ++d) {
                const int32_t xv = in[d];
                acc0 += w[0] * xv;
                acc1 += w[1] * xv;
                acc2 += w[2] * xv;
                acc3 += w[3] * xv;
                w += 4;
            }
            out[o] = finish(p, acc0, o);
            out[o + 1] = finish(p, acc1, o + 1);
            out[o + 2] = finish(p, acc2, o + 2);
            out[o + 3] = finish(p, acc3, o + 3);
        }
        for (int32_t o = blocks * 4; o < p->output_depth; ++o) {
            int32_t acc = p->bias[o];
            int32_t d = 0;
            for (; d < depth4; d += 4) {
                const int32_t xv = mf_read_s32(in + d);
                const int32_t wv = mf_read_s32(w);
                w += 4;
                acc = mf_smlad(mf_sxtb16(wv), mf_sxtb16(xv), acc);
                acc = mf_smlad(mf_sxtb16_ror8(wv), mf_sxtb16_ror8(xv), acc);
            }
            for (; d < depth; ++d) {
                acc += *w++ * in[d];
            }
            out[o] = finish(p, acc, o);
        }
    }
}
