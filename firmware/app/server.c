/* The protocol server: the loop every mcuforge firmware runs. It sleeps until bytes arrive,
 * reassembles frames, answers each command with one reply, and NAKs anything damaged. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board_config.h"
#include "frame.h"
#include "mcuforge.h"
#include "mcuforge_models.h"
#include "platform.h"
#include "server.h"

#ifndef MF_BUILD_ID
#define MF_BUILD_ID "unknown"
#endif

static uint8_t rx_buf[MF_FRAME_ENCODED_MAX];
static size_t rx_len;
static int rx_overflow;
static uint8_t tx_body[MF_FRAME_BODY_MAX];
static uint8_t tx_wire[MF_FRAME_ENCODED_MAX + 2u];
/* The model the protocol addresses (SELECT_MODEL); images hold one or more. */
static const mcuforge_model_t *model;

#ifdef MCUFORGE_PROFILE
static uint32_t step_ticks[MCUFORGE_MAX_STEPS];
static uint64_t last_tick;

void mcuforge_step_hook(uint32_t step) {
    const uint64_t now = platform_counter_read();
    if (step < MCUFORGE_MAX_STEPS) {
        step_ticks[step] = (uint32_t)(now - last_tick);
    }
    /* Re-read so the hook's own cost is charged to no layer. */
    last_tick = platform_counter_read();
}
#else
void mcuforge_step_hook(uint32_t step) { (void)step; }
#endif

static void put_u16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v) {
    put_u16(p, v);
    put_u16(p + 2, v >> 16);
}

static uint32_t get_u16(const uint8_t *p) { return (uint32_t)p[0] | ((uint32_t)p[1] << 8); }

static uint32_t get_u32(const uint8_t *p) { return get_u16(p) | (get_u16(p + 2) << 16); }

/* Sends tx_body[4 .. 4 + len) as the payload of a frame. */
static void send_frame(uint8_t cmd, uint8_t seq, size_t len) {
    tx_body[0] = cmd;
    tx_body[1] = seq;
    put_u16(&tx_body[2], (uint32_t)len);
    const size_t body = MF_FRAME_HEADER + len;
    put_u32(&tx_body[body], mf_crc32(tx_body, body));
    const size_t n = mf_cobs_encode(tx_body, body + 4u, &tx_wire[1], sizeof tx_wire - 2u);
    tx_wire[0] = 0u;
    tx_wire[n + 1u] = 0u;
    platform_uart_write(tx_wire, n + 2u);
}

static uint8_t *payload_out(void) { return &tx_body[MF_FRAME_HEADER]; }

static void reply(uint8_t cmd, uint8_t seq, uint8_t status, size_t data_len) {
    payload_out()[0] = status;
    send_frame((uint8_t)(cmd | MF_CMD_RESPONSE), seq, 1u + data_len);
}

uint8_t *mf_server_payload(void) { return payload_out(); }

void mf_server_reply(uint8_t cmd, uint8_t seq, uint8_t status, size_t data_len) {
    reply(cmd, seq, status, data_len);
}

void mf_server_event(uint8_t code, size_t len) { send_frame(code, 0u, len); }

__attribute__((weak)) int mcuforge_extension(uint8_t cmd, uint8_t seq, const uint8_t *in,
                                             size_t len) {
    (void)cmd;
    (void)seq;
    (void)in;
    (void)len;
    return 0;
}

__attribute__((weak)) void mcuforge_background(void) {}

static void nak(uint8_t reason, uint8_t seq, uint8_t code) {
    payload_out()[0] = reason;
    payload_out()[1] = code;
    send_frame(MF_CMD_NAK, seq, 2u);
}

static size_t put_text(uint8_t *p, const char *s, size_t max) {
    size_t n = strlen(s);
    if (n > max) {
        n = max;
    }
    p[0] = (uint8_t)n;
    memcpy(&p[1], s, n);
    return n + 1u;
}

/* Weak: a standalone pipeline image reports faults as a text line instead. */
__attribute__((weak)) void mcuforge_fault(const char *text) {
    const size_t n = put_text(payload_out(), text, 120u);
    send_frame(MF_CMD_EVENT_FAULT, 0u, n);
    for (;;) {
        platform_idle();
    }
}

static const mcuforge_tensor_t *tensor_at(uint8_t kind, uint32_t index) {
    if (kind == MF_KIND_INPUT && index < model->num_inputs) {
        return &model->inputs[index];
    }
    if (kind == MF_KIND_OUTPUT && index < model->num_outputs) {
        return &model->outputs[index];
    }
    if (kind == MF_KIND_DEBUG && index < model->num_debug_tensors) {
        return &model->debug_tensors[index];
    }
    return NULL;
}

static uint8_t model_index(void) {
    uint8_t i = 0u;
    while (i < mcuforge_num_models && mcuforge_models[i] != model) {
        ++i;
    }
    return i;
}

static void cmd_info(uint8_t seq) {
    uint8_t *p = payload_out() + 1;
    p[0] = MF_PROTOCOL_VERSION;
    p[1] = (uint8_t)model->num_inputs;
    p[2] = (uint8_t)model->num_outputs;
    uint8_t flags = 0u;
#ifdef MCUFORGE_PROFILE
    flags |= 1u;
#endif
    if (model->num_debug_tensors > 0u) {
        flags |= 2u;
    }
    p[3] = flags;
    put_u16(&p[4], model->num_debug_tensors);
    put_u16(&p[6], model->num_steps);
    put_u32(&p[8], model->arena_bytes);
    put_u16(&p[12], MF_MAX_PAYLOAD);
    put_u32(&p[14], model->state_bytes);
    p[18] = (uint8_t)mcuforge_num_models;
    p[19] = model_index();
    memcpy(&p[20], model->sha256, 32u);
    size_t n = 52u;
    n += put_text(&p[n], MF_FIRMWARE_NAME, 100u);
    n += put_text(&p[n], model->name, 100u);
    n += put_text(&p[n], MF_BUILD_ID, 40u);
    reply(MF_CMD_INFO, seq, MF_STATUS_OK, n);
}

static void cmd_select_model(uint8_t seq, const uint8_t *in, size_t len) {
    if (len != 1u) {
        reply(MF_CMD_SELECT_MODEL, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    if (in[0] >= mcuforge_num_models) {
        reply(MF_CMD_SELECT_MODEL, seq, MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    model = mcuforge_models[in[0]];
    reply(MF_CMD_SELECT_MODEL, seq, MF_STATUS_OK, 0u);
}

static void cmd_tensor_info(uint8_t seq, const uint8_t *in, size_t len) {
    if (len != 3u) {
        reply(MF_CMD_TENSOR_INFO, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    const mcuforge_tensor_t *t = tensor_at(in[0], get_u16(&in[1]));
    if (t == NULL) {
        reply(MF_CMD_TENSOR_INFO, seq, MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    uint8_t *p = payload_out() + 1;
    p[0] = t->dtype;
    p[1] = t->ndim;
    size_t n = 2u;
    for (uint8_t d = 0; d < t->ndim && d < MCUFORGE_MAX_DIMS; ++d) {
        put_u32(&p[n], (uint32_t)t->dims[d]);
        n += 4u;
    }
    uint32_t scale_bits;
    memcpy(&scale_bits, &t->scale, sizeof scale_bits);
    put_u32(&p[n], scale_bits);
    put_u32(&p[n + 4u], (uint32_t)t->zero_point);
    put_u32(&p[n + 8u], t->bytes);
    reply(MF_CMD_TENSOR_INFO, seq, MF_STATUS_OK, n + 12u);
}

static void cmd_set_input(uint8_t seq, const uint8_t *in, size_t len) {
    if (len < 5u) {
        reply(MF_CMD_SET_INPUT, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    const mcuforge_tensor_t *t = tensor_at(MF_KIND_INPUT, in[0]);
    const uint32_t offset = get_u32(&in[1]);
    const size_t n = len - 5u;
    if (t == NULL || offset > t->bytes || n > t->bytes - offset) {
        reply(MF_CMD_SET_INPUT, seq, MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    memcpy((uint8_t *)t->data + offset, &in[5], n);
    reply(MF_CMD_SET_INPUT, seq, MF_STATUS_OK, 0u);
}

static uint32_t mf_mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

/* Fills an input with the pattern of mcuforge.protocol.fill_pattern: test vectors made here
 * instead of crossing a slow serial line. */
static void cmd_fill_input(uint8_t seq, const uint8_t *in, size_t len) {
    const mcuforge_tensor_t *t = len == 5u ? tensor_at(MF_KIND_INPUT, in[0]) : NULL;
    if (t == NULL) {
        reply(MF_CMD_FILL_INPUT, seq, len == 5u ? MF_STATUS_OUT_OF_RANGE : MF_STATUS_BAD_ARGUMENT,
              0u);
        return;
    }
    const uint32_t seed = get_u32(&in[1]);
    uint8_t *dst = (uint8_t *)t->data;
    for (uint32_t i = 0; i < t->bytes; i += 4u) {
        const uint32_t w = mf_mix32(seed + (i / 4u) * 0x9E3779B9u);
        for (uint32_t b = 0; b < 4u && i + b < t->bytes; ++b) {
            dst[i + b] = (uint8_t)(w >> (8u * b));
        }
    }
    reply(MF_CMD_FILL_INPUT, seq, MF_STATUS_OK, 0u);
}

static void cmd_read(uint8_t cmd, uint8_t kind, uint8_t seq, const uint8_t *in, size_t len) {
    /* GET_OUTPUT: index:u8 offset:u32 length:u16; READ_TENSOR: index:u16 offset:u32 length:u16 */
    const size_t index_bytes = kind == MF_KIND_DEBUG ? 2u : 1u;
    if (len != index_bytes + 6u) {
        reply(cmd, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    const uint32_t index = index_bytes == 2u ? get_u16(in) : in[0];
    const mcuforge_tensor_t *t = tensor_at(kind, index);
    if (t == NULL && kind == MF_KIND_DEBUG) {
        reply(cmd, seq, model->num_debug_tensors == 0u ? MF_STATUS_NOT_AVAILABLE
                                                         : MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    const uint32_t offset = get_u32(&in[index_bytes]);
    const uint32_t n = get_u16(&in[index_bytes + 4u]);
    if (t == NULL || n > MF_MAX_PAYLOAD - 1u || offset > t->bytes || n > t->bytes - offset) {
        reply(cmd, seq, MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    memcpy(payload_out() + 1, (const uint8_t *)t->data + offset, n);
    reply(cmd, seq, MF_STATUS_OK, n);
}

/* noipa: the compiler must not move the counter reads across the call. */
__attribute__((noipa)) static int timed_invoke(uint64_t *ticks) {
    platform_counter_start();
#ifdef MCUFORGE_PROFILE
    last_tick = platform_counter_read();
#endif
    const uint64_t t0 = platform_counter_read();
    const int status = model->invoke();
    const uint64_t t1 = platform_counter_read();
    platform_counter_stop();
    *ticks = t1 - t0;
    return status;
}

/* The last INVOKE's answer. The host retries a lost INVOKE reply with the same seq: running
 * the model again would compute something else (the plan reuses input bytes; a streaming
 * model's state would advance twice), so the cached answer is sent instead. Any command that
 * changes what the next INVOKE computes forgets it. */
static struct {
    int valid;
    uint8_t seq;
    int status;
    uint64_t ticks;
} last_invoke;

static void cmd_invoke(uint8_t seq) {
    if (!last_invoke.valid || last_invoke.seq != seq) {
        last_invoke.status = timed_invoke(&last_invoke.ticks);
        last_invoke.seq = seq;
        last_invoke.valid = 1;
    }
    uint8_t *p = payload_out() + 1;
    put_u32(&p[0], (uint32_t)last_invoke.status);
    put_u32(&p[4], (uint32_t)last_invoke.ticks);
    put_u32(&p[8], (uint32_t)(last_invoke.ticks >> 32));
    reply(MF_CMD_INVOKE, seq,
          last_invoke.status == 0 ? MF_STATUS_OK : MF_STATUS_INVOKE_FAILED, 12u);
}

static void cmd_get_profile(uint8_t seq, const uint8_t *in, size_t len) {
#ifdef MCUFORGE_PROFILE
    if (len != 4u) {
        reply(MF_CMD_GET_PROFILE, seq, MF_STATUS_BAD_ARGUMENT, 0u);
        return;
    }
    const uint32_t first = get_u16(in), count = get_u16(&in[2]);
    if (first > model->num_steps || count > model->num_steps - first ||
        count * 4u > MF_MAX_PAYLOAD - 1u) {
        reply(MF_CMD_GET_PROFILE, seq, MF_STATUS_OUT_OF_RANGE, 0u);
        return;
    }
    for (uint32_t i = 0; i < count; ++i) {
        put_u32(payload_out() + 1 + 4u * i, step_ticks[first + i]);
    }
    reply(MF_CMD_GET_PROFILE, seq, MF_STATUS_OK, count * 4u);
#else
    (void)in;
    (void)len;
    reply(MF_CMD_GET_PROFILE, seq, MF_STATUS_NOT_AVAILABLE, 0u);
#endif
}

static void dispatch(uint8_t cmd, uint8_t seq, const uint8_t *in, size_t len) {
    if (cmd == MF_CMD_SET_INPUT || cmd == MF_CMD_FILL_INPUT || cmd == MF_CMD_RESET ||
        cmd == MF_CMD_SELECT_MODEL) {
        last_invoke.valid = 0;
    }
    switch (cmd) {
    case MF_CMD_PING:
        memmove(payload_out() + 1, in, len);
        reply(cmd, seq, MF_STATUS_OK, len);
        break;
    case MF_CMD_INFO:
        cmd_info(seq);
        break;
    case MF_CMD_TENSOR_INFO:
        cmd_tensor_info(seq, in, len);
        break;
    case MF_CMD_SET_INPUT:
        cmd_set_input(seq, in, len);
        break;
    case MF_CMD_INVOKE:
        cmd_invoke(seq);
        break;
    case MF_CMD_GET_OUTPUT:
        cmd_read(cmd, MF_KIND_OUTPUT, seq, in, len);
        break;
    case MF_CMD_READ_TENSOR:
        cmd_read(cmd, MF_KIND_DEBUG, seq, in, len);
        break;
    case MF_CMD_GET_PROFILE:
        cmd_get_profile(seq, in, len);
        break;
    case MF_CMD_FILL_INPUT:
        cmd_fill_input(seq, in, len);
        break;
    case MF_CMD_RESET:
        model->reset();
        reply(cmd, seq, MF_STATUS_OK, 0u);
        break;
    case MF_CMD_SELECT_MODEL:
        cmd_select_model(seq, in, len);
        break;
    default:
        if (!mcuforge_extension(cmd, seq, in, len)) {
            reply(cmd, seq, MF_STATUS_UNKNOWN_COMMAND, 0u);
        }
        break;
    }
}

static void handle_frame(void) {
    if (rx_overflow) {
        nak(MF_NAK_OVERFLOW, 0u, 0u);
        return;
    }
    const int32_t n = mf_cobs_decode(rx_buf, rx_len);
    if (n < 0) {
        nak(MF_NAK_BAD_ENCODING, 0u, 0u);
        return;
    }
    const size_t body = (size_t)n;
    if (body < MF_FRAME_HEADER + 4u || get_u16(&rx_buf[2]) != body - MF_FRAME_HEADER - 4u) {
        nak(MF_NAK_BAD_LENGTH, 0u, 0u);
        return;
    }
    if (get_u32(&rx_buf[body - 4u]) != mf_crc32(rx_buf, body - 4u)) {
        nak(MF_NAK_BAD_CRC, 0u, 0u);
        return;
    }
    if (rx_buf[0] < MF_REQUEST_FIRST || rx_buf[0] > MF_REQUEST_LAST) {
        /* A reply code would collide with events and NAKs: refuse it at frame level. */
        nak(MF_NAK_NOT_A_REQUEST, rx_buf[1], rx_buf[0]);
        return;
    }
    dispatch(rx_buf[0], rx_buf[1], &rx_buf[MF_FRAME_HEADER], body - MF_FRAME_HEADER - 4u);
}

static void feed(uint8_t byte) {
    if (byte != 0u) {
        if (rx_len < sizeof rx_buf) {
            rx_buf[rx_len++] = byte;
        } else {
            rx_overflow = 1;
        }
        return;
    }
    if (rx_len > 0u || rx_overflow) { /* empty frames are padding between delimiters */
        handle_frame();
    }
    rx_len = 0u;
    rx_overflow = 0;
}

void mcuforge_serve(void) {
    model = mcuforge_models[0];
    for (uint32_t i = 0; i < mcuforge_num_models; ++i) {
        mcuforge_models[i]->reset();
    }
    uint8_t *p = payload_out();
    p[0] = MF_PROTOCOL_VERSION;
    size_t n = 1u + put_text(&p[1], MF_FIRMWARE_NAME, 100u);
    n += put_text(&p[n], MF_BUILD_ID, 40u);
    send_frame(MF_CMD_EVENT_READY, 0u, n);
    uint8_t chunk[64];
    for (;;) {
        size_t got;
        while ((got = platform_uart_read(chunk, sizeof chunk)) > 0u) {
            for (size_t i = 0; i < got; ++i) {
                feed(chunk[i]);
            }
        }
        mcuforge_background();
        platform_idle();
    }
}
