/* Self-test mode (builds that define MCUFORGE_SELFTEST, made by `mcuforge renode-suite`): right
 * after boot the firmware runs the test vectors compiled into it and prints one text line per
 * vector, so that a test runner that only reads text lines (Renode's `Wait For Line On Uart`)
 * can check the model without speaking the binary protocol:
 *
 *     PASS vector 3 of 20
 *     FAIL vector 4 of 20 output 0 crc=1a2b3c4d expected=5e6f7a8b
 *     MCUFORGE DONE pass=19 fail=1
 *
 * Inputs are the FILL_INPUT pattern of each vector's seed; the expected CRC-32 of each output was
 * computed on the host from the TFLM reference (generated selftest_vectors.c). Afterwards the
 * normal protocol server runs, so the same image still answers `mcuforge` requests.
 *
 * The hook is the linker's --wrap=mcuforge_serve: main() calls __wrap_mcuforge_serve, which ends
 * in the real server. Neither main.c nor server.c changes, and without MCUFORGE_SELFTEST this
 * file compiles to nothing. */
#include <stddef.h>
#include <stdint.h>

#ifdef MCUFORGE_SELFTEST

#include "frame.h"
#include "mcuforge.h"
#include "platform.h"

/* From the generated selftest_vectors.c: seeds[vector * inputs + i], crcs[vector * outputs + o]. */
extern const uint32_t mf_selftest_vectors;
extern const uint32_t mf_selftest_inputs;
extern const uint32_t mf_selftest_outputs;
extern const uint32_t mf_selftest_seeds[];
extern const uint32_t mf_selftest_crcs[];

void __real_mcuforge_serve(void);
void __wrap_mcuforge_serve(void);

static void put_text(const char *s) {
    size_t n = 0;
    while (s[n] != '\0') {
        ++n;
    }
    platform_uart_write((const uint8_t *)s, n);
}

static void put_dec(uint32_t v) {
    char buf[10];
    size_t n = 0;
    do {
        buf[sizeof buf - 1u - n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    platform_uart_write((const uint8_t *)&buf[sizeof buf - n], n);
}

static void put_hex(uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    char buf[8];
    for (int i = 7; i >= 0; --i) {
        buf[i] = digits[v & 0xFu];
        v >>= 4;
    }
    platform_uart_write((const uint8_t *)buf, sizeof buf);
}

/* The same stream as server.c's FILL_INPUT and mcuforge.protocol.fill_pattern (MurmurHash3's
 * finalizer over seed + i * golden ratio). Kept private here: the server's copy is static and
 * must stay untouched by this optional mode. */
static uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x85EBCA6Bu;
    x ^= x >> 13;
    x *= 0xC2B2AE35u;
    x ^= x >> 16;
    return x;
}

static void fill(const mcuforge_tensor_t *t, uint32_t seed) {
    uint8_t *dst = (uint8_t *)t->data;
    for (uint32_t i = 0; i < t->bytes; i += 4u) {
        const uint32_t w = mix32(seed + (i / 4u) * 0x9E3779B9u);
        for (uint32_t b = 0; b < 4u && i + b < t->bytes; ++b) {
            dst[i + b] = (uint8_t)(w >> (8u * b));
        }
    }
}

/* Runs vector v; prints its PASS/FAIL line and returns 1 if it passed. */
static int run_vector(uint32_t v) {
    for (uint32_t i = 0; i < mf_selftest_inputs; ++i) {
        fill(&mcuforge_models[0]->inputs[i], mf_selftest_seeds[v * mf_selftest_inputs + i]);
    }
    const int status = mcuforge_models[0]->invoke();
    uint32_t bad_output = 0u, got = 0u, want = 0u;
    int ok = status == 0;
    for (uint32_t o = 0; ok && o < mf_selftest_outputs; ++o) {
        const mcuforge_tensor_t *out = &mcuforge_models[0]->outputs[o];
        got = mf_crc32((const uint8_t *)out->data, out->bytes);
        want = mf_selftest_crcs[v * mf_selftest_outputs + o];
        if (got != want) {
            ok = 0;
            bad_output = o;
        }
    }
    put_text(ok ? "PASS vector " : "FAIL vector ");
    put_dec(v);
    put_text(" of ");
    put_dec(mf_selftest_vectors);
    if (!ok && status != 0) {
        put_text(" invoke failed");
    } else if (!ok) {
        put_text(" output ");
        put_dec(bad_output);
        put_text(" crc=");
        put_hex(got);
        put_text(" expected=");
        put_hex(want);
    }
    put_text("\r\n");
    return ok;
}

void __wrap_mcuforge_serve(void) {
    uint32_t passed = 0u;
    put_text("\r\nMCUFORGE SELFTEST ");
    put_text(mcuforge_models[0]->name);
    put_text("\r\n");
    for (uint32_t v = 0; v < mf_selftest_vectors; ++v) {
        passed += (uint32_t)run_vector(v);
    }
    put_text("MCUFORGE DONE pass=");
    put_dec(passed);
    put_text(" fail=");
    put_dec(mf_selftest_vectors - passed);
    put_text("\r\n");
    __real_mcuforge_serve();
}

#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int mf_selftest_disabled_t;
#endif
