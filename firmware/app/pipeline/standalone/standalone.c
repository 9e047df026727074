/* A standalone pipeline image: no host protocol. At boot it prints a banner naming the pipeline
 * and the SHA-256 of every model it runs, starts the board's own sample source (source.h) and
 * prints one text line per detection and one marker line per second of samples:
 *
 *   MCUFORGE PIPELINE okay_nabu frontend=<sha256> okay_nabu=<sha256> vad=<sha256>
 *   SOURCE nRF52840 PDM, 16000 Hz mono, 160-sample blocks
 *   DETECT Okay_Nabu at 1940 ms score 252 max 255
 *   AT 2000 ms
 *
 * Times come from the sample count (a detection's time is the end of its frame), never from a
 * clock, so the lines of a recording are the same on every run and in every emulator. Marker
 * "AT t ms" is printed when the first frame ending at or after sample t * rate / 1000
 * completes, before that frame's detections: a detection precedes marker t exactly when its
 * frame ends before that sample (mcuforge.pipeline.standalone writes the same order). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mcuforge.h"
#include "pipeline.h"
#include "platform.h"
#include "source.h"
#include "standalone_config.h"

#define LINE_BYTES 512u

static char line[LINE_BYTES];
static size_t line_len;
static uint32_t next_mark; /* the next marker, in seconds */
static uint32_t overruns_seen;

static void put(const char *s) {
    while (*s != '\0' && line_len < LINE_BYTES - 2u) {
        line[line_len++] = *s++;
    }
}

static void put_u64(uint64_t v) {
    char digits[21];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (n > 0u && line_len < LINE_BYTES - 2u) {
        line[line_len++] = digits[--n];
    }
}

static void put_hex(const uint8_t *bytes, size_t n) {
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && line_len < LINE_BYTES - 3u; ++i) {
        line[line_len++] = hex[bytes[i] >> 4];
        line[line_len++] = hex[bytes[i] & 0xFu];
    }
}

static void end_line(void) {
    line[line_len++] = '\r';
    line[line_len++] = '\n';
    platform_uart_write((const uint8_t *)line, line_len);
    line_len = 0u;
}

static uint64_t ms_of(uint64_t samples) { return samples * 1000u / mf_pipeline.sample_rate; }

static void on_frame(const mf_frame_result_t *r, void *context) {
    (void)context;
    while ((uint64_t)next_mark * mf_pipeline.sample_rate <= r->end_sample) {
        put("AT ");
        put_u64((uint64_t)next_mark * 1000u);
        put(" ms");
        end_line();
        ++next_mark;
    }
}

static void on_event(const mf_event_t *e, void *context) {
    (void)context;
    put((e->flags & MF_EVENT_BLOCKED) ? "BLOCKED" : MF_STANDALONE_EVENT);
    put(" ");
    put(mf_standalone_labels[e->detector]);
    put(" at ");
    put_u64(ms_of(e->end_sample));
    put(" ms score ");
    put_u64(e->mean);
    put(" max ");
    put_u64(e->max);
    end_line();
}

static const mf_pipeline_sink_t sink = {on_frame, on_event, NULL};

/* Fault handlers end here (platform.h): a text line instead of the protocol's FAULT frame. */
void mcuforge_fault(const char *text) {
    put("FAULT ");
    put(text);
    end_line();
    for (;;) {
        platform_idle();
    }
}

static void banner(void) {
    put("MCUFORGE PIPELINE ");
    put(MF_STANDALONE_NAME);
    for (uint32_t i = 0; i < mcuforge_num_models; ++i) {
        put(" ");
        put(mf_standalone_model_names[i]);
        put("=");
        put_hex(mcuforge_models[i]->sha256, 32u);
    }
    end_line();
}

void mf_standalone_run(void) {
    next_mark = 1u;
    overruns_seen = 0u;
    line_len = 0u;
    banner();
    mf_pipeline_reset();
    const int status = mf_source_start(mf_pipeline.sample_rate, mf_pipeline.channels);
    put("SOURCE ");
    put(mf_source_describe());
    end_line();
    if (status != 0) {
        put("ERROR source did not start: code ");
        put_u64((uint64_t)(uint32_t)-status);
        end_line();
        for (;;) {
            platform_idle();
        }
    }
    for (;;) {
        mf_source_poll(&sink);
        const uint32_t lost = mf_source_overruns();
        if (lost != overruns_seen) {
            overruns_seen = lost;
            put("OVERRUN ");
            put_u64(lost);
            put(" sample blocks lost so far");
            end_line();
        }
        platform_idle();
    }
}
