/* Test harness: a standalone pipeline image (app/pipeline/standalone/standalone.c) built for
 * this machine, with a MOCK of the board's sample source and console, which cannot exist here:
 * the "source" hands over a recording in chunks of a chosen size and then zeros (as Renode's
 * PDM and LSM9DS1 models do once their file is consumed), the "console" collects the text.
 * When `limit` samples have been delivered, the idle call jumps back out of the endless loop. */
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "pipeline.h"
#include "platform.h"
#include "source.h"

void mf_standalone_run(void);

static const int16_t *recording;
static uint32_t recording_groups, delivered, limit, chunk;
static int16_t block[4096];
static char text[1u << 20];
static size_t text_len;
static jmp_buf finished;

void platform_uart_write(const uint8_t *data, size_t len) {
    if (text_len + len <= sizeof text) {
        memcpy(&text[text_len], data, len);
        text_len += len;
    }
}

void platform_idle(void) {
    if (delivered >= limit) {
        longjmp(finished, 1);
    }
}

int mf_source_start(uint32_t sample_rate, uint16_t channels) {
    (void)sample_rate;
    return channels == mf_pipeline.channels ? 0 : -1;
}

void mf_source_stop(void) {}

void mf_source_poll(const mf_pipeline_sink_t *sink) {
    const uint32_t ch = mf_pipeline.channels;
    uint32_t n = limit - delivered < chunk ? limit - delivered : chunk;
    n = n * ch <= sizeof block / sizeof block[0] ? n : (uint32_t)(sizeof block / 2u) / ch;
    for (uint32_t i = 0; i < n; ++i) {
        for (uint32_t c = 0; c < ch; ++c) {
            const uint32_t at = delivered + i;
            block[i * ch + c] = at < recording_groups ? recording[at * ch + c] : 0;
        }
    }
    delivered += n;
    (void)mf_pipeline_push(block, n, sink);
}

const char *mf_source_describe(void) { return "host recording"; }

uint32_t mf_source_overruns(void) { return 0u; }

/* Runs the image over `groups` sample groups then zeros, until `total` groups were delivered
 * in chunks of `chunk_groups`; returns the text it printed (NUL-terminated). */
const char *mf_host_standalone(const int16_t *samples, uint32_t groups, uint32_t total,
                               uint32_t chunk_groups) {
    recording = samples;
    recording_groups = groups;
    limit = total;
    chunk = chunk_groups > 0u ? chunk_groups : 1u;
    delivered = 0u;
    text_len = 0u;
    if (setjmp(finished) == 0) {
        mf_standalone_run();
    }
    text[text_len < sizeof text ? text_len : sizeof text - 1u] = '\0';
    return text;
}
