/* The pipeline's protocol commands (docs/protocol.md, "Pipelines"): the host streams samples in
 * chunks and reads back what each frame computed as a stream of records; detections are sent as
 * EVENT_DETECTION frames the moment they happen. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcuforge.h"
#include "pipeline.h"
#include "pipeline_config.h"
#include "protocol_codes.h"
#include "server.h"
#include "source.h"

enum { REC_FRAME = 1, REC_STAGE = 2 };
enum { TRACE_NONE = 0, TRACE_COUNTS = 1, TRACE_FULL = 2 };
#define REC_HEADER 3u
#define FRAME_FIELDS 24u /* frame, end sample, invoked, front end, detectors, total */
#define STAGE_FIELDS 5u  /* stage, ticks */
#define PUSH_HEADER 8u   /* sample offset, record acknowledgement */
#define PUSH_REPLY 12u   /* samples, frames, record end */

/* Records not yet acknowledged by the host, as positions in the stream of record bytes. */
static uint8_t queue[MF_PIPELINE_QUEUE_BYTES];
static uint32_t queue_tail, queue_head;
static uint8_t trace_level;
static uint8_t source_on;
static int16_t pcm[MF_MAX_PAYLOAD / 2u];

__attribute__((weak)) int mf_source_start(uint32_t sample_rate, uint16_t channels) {
    (void)sample_rate;
    (void)channels;
    return -1;
}

__attribute__((weak)) void mf_source_stop(void) {}

__attribute__((weak)) void mf_source_poll(const mf_pipeline_sink_t *sink) { (void)sink; }

__attribute__((weak)) const char *mf_source_describe(void) { return "none"; }

__attribute__((weak)) uint32_t mf_source_overruns(void) { return 0u; }

static void put_u16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
    put_u16(p, v);
    put_u16(p + 2, v >> 16);
}

static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t queue_free(void) { return (uint32_t)sizeof queue - (queue_head - queue_tail); }

static void queue_put(const uint8_t *p, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) {
        queue[queue_head++ % sizeof queue] = p[i];
    }
}

static void queue_u32(uint32_t v) {
    uint8_t b[4];
    put_u32(b, v);
    queue_put(b, 4u);
}

static void record_header(uint8_t type, uint32_t body) {
    uint8_t b[REC_HEADER] = {type, 0u, 0u};
    put_u16(&b[1], body);
    queue_put(b, REC_HEADER);
}

/* The most record bytes one frame can add, so a frame never starts without room for them. */
static uint32_t frame_record_bytes(void) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    const int full = trace_level >= TRACE_FULL;
    uint32_t n = REC_HEADER + FRAME_FIELDS + (full ? c->frame_bytes : 0u);
    for (uint32_t s = 0; s < c->num_stages; ++s) {
        n += REC_HEADER + STAGE_FIELDS + (full ? c->stages[s].model->outputs[0].bytes : 0u);
    }
    return trace_level == TRACE_NONE ? 0u : n;
}

static void on_frame(const mf_frame_result_t *r, void *context) {
    (void)context;
    const mf_pipeline_config_t *c = &mf_pipeline;
    if (trace_level == TRACE_NONE) {
        return;
    }
    if (queue_free() < frame_record_bytes()) {
        return; /* a source without flow control outran the host: this frame's records are lost */
    }
    const int full = trace_level >= TRACE_FULL;
    record_header(REC_FRAME, FRAME_FIELDS + (full ? c->frame_bytes : 0u));
    queue_u32(r->frame);
    queue_u32(r->end_sample);
    queue_u32(r->invoked);
    queue_u32(r->frontend_ticks);
    queue_u32(r->detect_ticks);
    queue_u32(r->total_ticks);
    if (full) {
        queue_put(r->features, c->frame_bytes);
    }
    for (uint32_t s = 0; s < c->num_stages; ++s) {
        if (!(r->invoked & (1u << s))) {
            continue;
        }
        const uint32_t out = full ? c->stages[s].model->outputs[0].bytes : 0u;
        record_header(REC_STAGE, STAGE_FIELDS + out);
        const uint8_t index = (uint8_t)s;
        queue_put(&index, 1u);
        queue_u32(r->stage_ticks[s]);
        queue_put(c->stages[s].last_output, out);
    }
}

static void on_event(const mf_event_t *e, void *context) {
    (void)context;
    uint8_t *p = mf_server_payload();
    p[0] = e->detector;
    p[1] = e->stage;
    p[2] = e->element;
    p[3] = e->flags;
    p[4] = e->mean;
    p[5] = e->max;
    put_u32(&p[6], e->frame);
    put_u32(&p[10], e->end_sample);
    mf_server_event(MF_CMD_EVENT_DETECTION, 14u);
}

static const mf_pipeline_sink_t sink = {on_frame, on_event, NULL};

static uint8_t model_index(const mcuforge_model_t *m) {
    uint8_t i = 0u;
    while (i < mcuforge_num_models && mcuforge_models[i] != m) {
        ++i;
    }
    return i;
}

static void cmd_info(uint8_t seq) {
    const mf_pipeline_config_t *c = &mf_pipeline;
    uint8_t *p = mf_server_payload() + 1;
    put_u32(&p[0], (uint32_t)sizeof queue);
    p[4] = model_index(c->frontend);
    uint8_t *d = &p[5];
    put_u32(&d[0], c->sample_rate);
    d[4] = (uint8_t)c->channels;
    put_u16(&d[5], c->window);
    put_u16(&d[7], c->hop);
    put_u16(&d[9], c->frame_bytes);
    put_u16(&d[11], c->ring_frames);
    d[13] = c->num_stages;
    d[14] = c->num_detectors;
    size_t n = 15u;
    for (uint32_t s = 0; s < c->num_stages; ++s) {
        const mf_stage_t *st = &c->stages[s];
        d[n] = model_index(st->model);
        d[n + 1u] = st->kind;
        put_u16(&d[n + 2u], st->frames);
        put_u16(&d[n + 4u], st->stride);
        d[n + 6u] = st->score_offset;
        n += 7u;
    }
    for (uint32_t k = 0; k < c->num_detectors; ++k) {
        const mf_detector_t *det = &c->detectors[k];
        d[n] = det->stage;
        d[n + 1u] = det->element;
        d[n + 2u] = det->smoothing;
        d[n + 3u] = det->cutoff;
        put_u16(&d[n + 4u], det->refractory);
        d[n + 6u] = (uint8_t)det->gate;
        d[n + 7u] = det->role;
        n += 8u;
    }
    mf_server_reply(MF_CMD_PIPELINE_INFO, seq, MF_STATUS_OK, 5u + n);
}

static void cmd_reset(uint8_t seq, const uint8_t *in, size_t len) {
    if (len != 2u || in[0] > TRACE_FULL || in[1] > 1u) {
        mf_server_reply(MF_CMD_PIPELINE_RESET, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    if (source_on) {
        mf_source_stop();
        source_on = 0u;
    }
    mf_pipeline_reset();
    queue_tail = queue_head = 0u;
    trace_level = in[0];
    if (in[1] && mf_source_start(mf_pipeline.sample_rate, mf_pipeline.channels) != 0) {
        mf_server_reply(MF_CMD_PIPELINE_RESET, seq, MF_STATUS_NOT_AVAILABLE, 0u);
        return;
    }
    source_on = in[1];
    mf_server_reply(MF_CMD_PIPELINE_RESET, seq, MF_STATUS_OK, 0u);
}

/* offset:u32 ack:u32 samples: the samples from stream position `offset` (a retry resends
 * samples the device already has: they are skipped), `ack` the record position up to which the
 * host has the records. */
static void cmd_push(uint8_t seq, const uint8_t *in, size_t len) {
    const uint32_t group = 2u * mf_pipeline.channels;
    if (len < PUSH_HEADER || (len - PUSH_HEADER) % group != 0u) {
        mf_server_reply(MF_CMD_PIPELINE_PUSH, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    const uint32_t offset = get_u32(in), ack = get_u32(&in[4]);
    const uint32_t have = mf_pipeline_samples();
    if (offset > have || ack - queue_tail > queue_head - queue_tail) {
        mf_server_reply(MF_CMD_PIPELINE_PUSH, seq, MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    queue_tail = ack;
    if (source_on && len > PUSH_HEADER) {
        mf_server_reply(MF_CMD_PIPELINE_PUSH, seq, MF_STATUS_NOT_AVAILABLE, 0u);
        return;
    }
    const uint32_t n = (uint32_t)(len - PUSH_HEADER) / group;
    uint32_t at = have - offset; /* samples of this chunk the device already consumed */
    if (at < n) {
        memcpy(pcm, &in[PUSH_HEADER], (n - at) * group); /* aligned for the runner */
    }
    const int16_t *next = pcm;
    while (at < n) {
        const uint32_t need = mf_pipeline_samples_to_frame();
        const uint32_t take = n - at < need ? n - at : need;
        if (take == need && queue_free() < frame_record_bytes()) {
            break; /* the host reads records first, then resends the rest */
        }
        const int status = mf_pipeline_feed(next, take, &sink);
        if (status < 0) {
            mf_server_reply(MF_CMD_PIPELINE_PUSH, seq, MF_STATUS_INVOKE_FAILED, 0u);
            return;
        }
        next += take * mf_pipeline.channels;
        at += take;
    }
    uint8_t *p = mf_server_payload() + 1;
    put_u32(&p[0], mf_pipeline_samples());
    put_u32(&p[4], mf_pipeline_frames());
    put_u32(&p[8], queue_head);
    uint32_t count = queue_head - queue_tail;
    const uint32_t room = MF_MAX_PAYLOAD - 1u - PUSH_REPLY;
    count = count < room ? count : room;
    for (uint32_t i = 0; i < count; ++i) {
        p[PUSH_REPLY + i] = queue[(queue_tail + i) % sizeof queue];
    }
    mf_server_reply(MF_CMD_PIPELINE_PUSH, seq, MF_STATUS_OK, PUSH_REPLY + count);
}

int mcuforge_extension(uint8_t cmd, uint8_t seq, const uint8_t *in, size_t len) {
    switch (cmd) {
    case MF_CMD_PIPELINE_INFO:
        cmd_info(seq);
        return 1;
    case MF_CMD_PIPELINE_RESET:
        cmd_reset(seq, in, len);
        return 1;
    case MF_CMD_PIPELINE_PUSH:
        cmd_push(seq, in, len);
        return 1;
    default:
        return 0;
    }
}

void mcuforge_background(void) {
    if (source_on) {
        mf_source_poll(&sink);
    }
}
