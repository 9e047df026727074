#include "pipeline_detect.h"

#include <string.h>

static void rearm(const mf_detector_t *d, mf_detector_state_t *s) {
    memset(d->ring, 0, d->smoothing);
    s->sum = 0u;
    s->refractory_left = d->refractory;
}

void mf_detector_reset(const mf_detector_t *d, mf_detector_state_t *s) {
    rearm(d, s);
    s->last = 0u;
    s->pending = 0u;
}

void mf_detector_push(const mf_detector_t *d, mf_detector_state_t *s, uint8_t score) {
    s->last = (uint8_t)((s->last + 1u) % d->smoothing);
    s->sum = s->sum + score - d->ring[s->last];
    d->ring[s->last] = score;
    s->pending = 1u;
}

void mf_detector_tick(const mf_detector_t *d, mf_detector_state_t *s) {
    if (d->ring[s->last] < d->cutoff && s->refractory_left > 0u) {
        s->refractory_left--;
    }
}

int mf_detector_active(const mf_detector_t *d, const mf_detector_state_t *s) {
    return s->sum > (uint32_t)d->cutoff * d->smoothing;
}

int mf_detector_check(const mf_detector_t *d, mf_detector_state_t *s, int gate_open,
                      mf_detection_t *out) {
    out->status = MF_DETECT_NONE;
    if (!s->pending || s->refractory_left > 0u) {
        return MF_DETECT_NONE;
    }
    s->pending = 0u;
    if (!mf_detector_active(d, s)) {
        return MF_DETECT_NONE;
    }
    uint8_t max = 0u;
    for (uint32_t i = 0; i < d->smoothing; ++i) {
        max = d->ring[i] > max ? d->ring[i] : max;
    }
    out->mean = (uint8_t)(s->sum / d->smoothing);
    out->max = max;
    out->status = gate_open ? MF_DETECT_FIRED : MF_DETECT_BLOCKED;
    if (gate_open) {
        rearm(d, s);
    }
    return out->status;
}
