/* Host build of a pipeline image (a shared library loaded with ctypes, linked with host_api.c):
 * the protocol server's reply and event calls captured in buffers, so the host drives
 * pipeline_server.c with the same requests it sends a device. The counter reads 0:
 * instructions are only counted on targets. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform.h"
#include "protocol_codes.h"
#include "server.h"

static uint8_t payload[MF_MAX_PAYLOAD + 1u];
static uint8_t reply[MF_MAX_PAYLOAD + 1u];
static size_t reply_len;
static uint8_t events[1u << 16];
static size_t events_len;

void platform_counter_start(void) {}

uint64_t platform_counter_read(void) { return 0u; }

void platform_counter_stop(void) {}

uint8_t *mf_server_payload(void) { return payload; }

void mf_server_reply(uint8_t cmd, uint8_t seq, uint8_t status, size_t data_len) {
    (void)cmd;
    (void)seq;
    payload[0] = status;
    reply_len = data_len + 1u <= sizeof reply ? data_len + 1u : sizeof reply;
    memcpy(reply, payload, reply_len);
}

/* Events are kept as code:u8 len:u16le payload; when the buffer is full they are dropped and
 * the host sees fewer events than the reference. */
void mf_server_event(uint8_t code, size_t len) {
    if (events_len + 3u + len > sizeof events) {
        return;
    }
    events[events_len] = code;
    events[events_len + 1u] = (uint8_t)len;
    events[events_len + 2u] = (uint8_t)(len >> 8);
    memcpy(&events[events_len + 3u], payload, len);
    events_len += 3u + len;
}

/* One request: returns the reply's length (status byte first) or -1 if nobody handles it. */
int32_t mf_host_request(uint8_t cmd, const uint8_t *in, uint32_t len, uint8_t *out,
                        uint32_t cap) {
    reply_len = 0u;
    if (!mcuforge_extension(cmd, 0u, in, len)) {
        return -1;
    }
    const size_t n = reply_len < cap ? reply_len : cap;
    memcpy(out, reply, n);
    return (int32_t)n;
}

/* Moves the captured events to out; returns their bytes. */
uint32_t mf_host_take_events(uint8_t *out, uint32_t cap) {
    const size_t n = events_len < cap ? events_len : cap;
    memcpy(out, events, n);
    memmove(events, &events[n], events_len - n);
    events_len -= n;
    return (uint32_t)n;
}
