/* The pipeline stage runner (see pipeline.h); the reference for its schedule is
 * toolchain/mcuforge/pipeline/reference.py. */
#include "pipeline.h"

#include <string.h>

#include "platform.h"

static uint32_t samples_total; /* sample groups since the stream started */
static uint32_t frames_total;
static uint32_t since_frame; /* sample groups since the last frame */
static uint32_t audio_pos;   /* where the next sample group goes in the audio ring */
static mf_event_t events[32];

void mf_pipeline_reset(void) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    samples_total = frames_total = since_frame = audio_pos = 0u;
    memset(c->audio, 0, (uint32_t)c->window * c->channels * sizeof(int16_t));
    memset(c->frames, 0, (uint32_t)c->ring_frames * c->frame_bytes);
    c->frontend->reset();
    for (uint32_t s = 0; s < c->num_stages; ++s) {
        c->stages[s].model->reset();
    }
    for (uint32_t d = 0; d < c->num_detectors; ++d) {
        mf_detector_reset(&c->detectors[d], &c->detector_state[d]);
    }
}

uint32_t mf_pipeline_samples(void) { return samples_total; }

uint32_t mf_pipeline_frames(void) { return frames_total; }

uint32_t mf_pipeline_samples_to_frame(void) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    return frames_total == 0u ? c->window - samples_total : c->hop - since_frame;
}

static int runs_on(const mf_stage_t *st, uint32_t frame) {
    const uint32_t done = frame + 1u;
    if (st->kind == MF_STAGE_STREAMING) {
        return done % st->stride == 0u;
    }
    return done >= st->frames && (done - st->frames) % st->stride == 0u;
}

static uint8_t *frame_slot(uint32_t frame) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    return c->frames + (frame % c->ring_frames) * c->frame_bytes;
}

/* The front end's input: the newest `window` sample groups, oldest first. */
static void window_to_input(void) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    const uint32_t ch = c->channels;
    int16_t *dst = (int16_t *)c->frontend->inputs[0].data;
    const uint32_t tail = c->window - audio_pos;
    memcpy(dst, c->audio + audio_pos * ch, tail * ch * sizeof(int16_t));
    memcpy(dst + tail * ch, c->audio, audio_pos * ch * sizeof(int16_t));
}

static int run_stage(uint32_t s, uint32_t frame) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    const mf_stage_t *st = &c->stages[s];
    uint8_t *in = (uint8_t *)st->model->inputs[0].data;
    for (uint32_t j = 0; j < st->frames; ++j) {
        memcpy(in + j * c->frame_bytes, frame_slot(frame + 1u - st->frames + j), c->frame_bytes);
    }
    const int status = st->model->invoke();
    if (status != 0) {
        return status;
    }
    const mcuforge_tensor_t *out = &st->model->outputs[0];
    memcpy(st->last_output, out->data, out->bytes);
    for (uint32_t d = 0; d < c->num_detectors; ++d) {
        const mf_detector_t *det = &c->detectors[d];
        if (det->stage == s) {
            const uint8_t score = (uint8_t)(st->last_output[det->element] + st->score_offset);
            mf_detector_push(det, &c->detector_state[d], score);
        }
    }
    return 0;
}

static uint32_t detect(uint32_t frame) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    uint32_t n = 0u;
    for (uint32_t d = 0; d < c->num_detectors; ++d) {
        mf_detector_tick(&c->detectors[d], &c->detector_state[d]);
    }
    for (uint32_t d = 0; d < c->num_detectors; ++d) {
        const mf_detector_t *det = &c->detectors[d];
        if (det->role != MF_ROLE_DETECT) {
            continue;
        }
        const int open = det->gate < 0 || mf_detector_active(&c->detectors[det->gate],
                                                             &c->detector_state[det->gate]);
        mf_detection_t found;
        if (mf_detector_check(det, &c->detector_state[d], open, &found) != MF_DETECT_NONE &&
            n < sizeof events / sizeof events[0]) {
            events[n++] = (mf_event_t){
                .detector = (uint8_t)d, .stage = det->stage, .element = det->element,
                .flags = found.status == MF_DETECT_BLOCKED ? MF_EVENT_BLOCKED : 0u,
                .mean = found.mean, .max = found.max, .frame = frame,
                .end_sample = samples_total,
            };
        }
    }
    return n;
}

/* noipa: the compiler must not move the counter reads across the stages. */
__attribute__((noipa)) static int compute_frame(const mf_pipeline_sink_t *sink) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    const uint32_t frame = frames_total;
    mf_frame_result_t r = {.frame = frame, .end_sample = samples_total,
                           .stage_ticks = c->stage_ticks};
    platform_counter_start();
    const uint64_t t0 = platform_counter_read();
    window_to_input();
    int status = c->frontend->invoke();
    if (status == 0) {
        memcpy(frame_slot(frame), c->frontend->outputs[0].data, c->frame_bytes);
    }
    uint64_t t = platform_counter_read();
    r.frontend_ticks = (uint32_t)(t - t0);
    for (uint32_t s = 0; s < c->num_stages && status == 0; ++s) {
        c->stage_ticks[s] = 0u;
        if (runs_on(&c->stages[s], frame)) {
            status = run_stage(s, frame);
            const uint64_t t1 = platform_counter_read();
            c->stage_ticks[s] = (uint32_t)(t1 - t);
            r.invoked |= 1u << s;
            t = t1;
        }
    }
    if (status != 0) {
        platform_counter_stop();
        return status < 0 ? status : -status;
    }
    const uint32_t n_events = detect(frame);
    const uint64_t t_end = platform_counter_read();
    platform_counter_stop();
    r.detect_ticks = (uint32_t)(t_end - t);
    r.total_ticks = (uint32_t)(t_end - t0);
    r.features = frame_slot(frame);
    frames_total = frame + 1u;
    since_frame = 0u;
    if (sink != NULL && sink->frame != NULL) {
        sink->frame(&r, sink->context);
    }
    for (uint32_t i = 0; i < n_events && sink != NULL && sink->event != NULL; ++i) {
        sink->event(&events[i], sink->context);
    }
    return 1;
}

int mf_pipeline_feed(const int16_t *samples, uint32_t n, const mf_pipeline_sink_t *sink) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    const uint32_t need = mf_pipeline_samples_to_frame();
    if (n > need) {
        n = need; /* the caller broke the contract: never overrun the frame */
    }
    const uint32_t ch = c->channels;
    for (uint32_t done = 0; done < n;) {
        uint32_t part = c->window - audio_pos;
        part = part < n - done ? part : n - done;
        memcpy(c->audio + audio_pos * ch, samples + done * ch, part * ch * sizeof(int16_t));
        audio_pos = (audio_pos + part) % c->window;
        done += part;
    }
    samples_total += n;
    since_frame += n;
    return n == need ? compute_frame(sink) : 0;
}

int32_t mf_pipeline_push(const int16_t *samples, uint32_t n, const mf_pipeline_sink_t *sink) {
    int32_t frames = 0;
    const uint32_t ch = mf_pipeline.channels;
    while (n > 0u) {
        const uint32_t need = mf_pipeline_samples_to_frame();
        const uint32_t take = n < need ? n : need;
        const int status = mf_pipeline_feed(samples, take, sink);
        if (status < 0) {
            return status;
        }
        frames += status;
        samples += take * ch;
        n -= take;
    }
    return frames;
}
