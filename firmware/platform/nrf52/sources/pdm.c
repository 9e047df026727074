/* nRF52840 PDM microphone source (nRF52840 PS v1.x, PDM): 16 kHz mono int16 by EasyDMA into a
 * ring of sample blocks, for a PDM microphone such as the Arduino Nano 33 BLE Sense's MP34DT05.
 * Written from the register map, no nrfx/HAL. Configured by the board file's [sources.audio]
 * table (source_config.h).
 *
 * The PDM's SAMPLE.PTR is double-buffered: the pointer is latched when the peripheral starts a
 * block (EVENTS_STARTED) and the next block goes wherever SAMPLE.PTR points then, so the
 * interrupt, on STARTED, notes the latched block as in flight and points SAMPLE.PTR at a free
 * one; on END the oldest block in flight is complete and queued for the main loop. The main
 * loop (mf_source_poll) pushes complete blocks into the pipeline and frees them. Renode 1.16's
 * model raises STARTED and END together when it writes a block (to SAMPLE.PTR as it is at that
 * moment); handling STARTED first hands that block over at once (END first works too, one
 * block later).
 *
 * 16 kHz: PDM_CLK 1.280 MHz with RATIO 80 (the PS's table; the default 1.032 MHz with RATIO 64
 * gives 16.129 kHz). Gain: GAINL from the board file (0x28 = 0 dB). A block is one pipeline hop
 * at 16 kHz (160 samples, 10 ms); BLOCKS of them absorb a few slow frames. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "nrf52_gpio.h"
#include "pipeline.h"
#include "source.h"
#include "source_config.h"

#define PDM_TASKS_START MF_REG(MF_SOURCE_BASE + 0x000u)
#define PDM_TASKS_STOP MF_REG(MF_SOURCE_BASE + 0x004u)
#define PDM_EVENTS_STARTED MF_REG(MF_SOURCE_BASE + 0x100u)
#define PDM_EVENTS_STOPPED MF_REG(MF_SOURCE_BASE + 0x104u)
#define PDM_EVENTS_END MF_REG(MF_SOURCE_BASE + 0x108u)
#define PDM_INTENSET MF_REG(MF_SOURCE_BASE + 0x304u)
#define PDM_INTENCLR MF_REG(MF_SOURCE_BASE + 0x308u)
#define PDM_ENABLE MF_REG(MF_SOURCE_BASE + 0x500u)
#define PDM_PDMCLKCTRL MF_REG(MF_SOURCE_BASE + 0x504u)
#define PDM_MODE MF_REG(MF_SOURCE_BASE + 0x508u)
#define PDM_GAINL MF_REG(MF_SOURCE_BASE + 0x518u)
#define PDM_GAINR MF_REG(MF_SOURCE_BASE + 0x51Cu)
#define PDM_RATIO MF_REG(MF_SOURCE_BASE + 0x520u)
#define PDM_PSEL_CLK MF_REG(MF_SOURCE_BASE + 0x540u)
#define PDM_PSEL_DIN MF_REG(MF_SOURCE_BASE + 0x544u)
#define PDM_SAMPLE_PTR MF_REG(MF_SOURCE_BASE + 0x560u)
#define PDM_SAMPLE_MAXCNT MF_REG(MF_SOURCE_BASE + 0x564u)

#define INT_STARTED (1u << 0)
#define INT_STOPPED (1u << 1)
#define INT_END (1u << 2)
#define PDMCLKCTRL_1280K 0x0A000000u /* 32 MHz / 25 */
#define RATIO_80 1u
#define MODE_MONO_LEFTFALLING 1u /* OPERATION = Mono, EDGE = LeftFalling */
#define SAMPLE_RATE 16000u

#define BLOCK 160u /* samples: 10 ms, even (EasyDMA writes words) */
#define BLOCKS 8u  /* a power of two */
#define NONE 0xFFu

_Static_assert(MF_SOURCE_IRQ < MF_IRQ_COUNT, "PDM interrupt outside the vector table");
_Static_assert((BLOCKS & (BLOCKS - 1u)) == 0u, "BLOCKS must be a power of two");

static int16_t blocks[BLOCKS][BLOCK] __attribute__((aligned(4)));
/* A block is free, latched by the peripheral (in flight, oldest first), complete (ready, oldest
 * first) or being pushed by the main loop; busy[b] is set in all but the first state. */
static volatile uint8_t in_flight[2];
static volatile uint8_t in_flight_count;
static volatile uint8_t programmed; /* the block SAMPLE.PTR points at */
static volatile uint8_t ready[BLOCKS];
static volatile uint32_t ready_head; /* written by the interrupt */
static volatile uint32_t ready_tail; /* by the main loop, or the interrupt on an overrun */
static volatile uint8_t busy[BLOCKS];
static volatile uint32_t overruns;
static volatile int running;

static uint8_t take_free(void) {
    for (uint8_t b = 0; b < BLOCKS; ++b) {
        if (!busy[b]) {
            busy[b] = 1u;
            return b;
        }
    }
    return NONE;
}

void mf_source_isr(void) {
    if (PDM_EVENTS_STARTED != 0u) {
        PDM_EVENTS_STARTED = 0u;
        if (in_flight_count < 2u) {
            in_flight[in_flight_count++] = programmed;
        }
        uint8_t next = take_free();
        if (next == NONE && ready_tail != ready_head) {
            /* The main loop fell behind: overwrite the oldest complete block. */
            next = ready[ready_tail % BLOCKS];
            ++ready_tail;
            ++overruns;
        }
        if (next == NONE) {
            next = programmed; /* cannot happen with BLOCKS > 3: only 3 are ever not ready */
        }
        programmed = next;
        PDM_SAMPLE_PTR = (uint32_t)(uintptr_t)blocks[next];
    }
    if (PDM_EVENTS_END != 0u) {
        PDM_EVENTS_END = 0u;
        if (in_flight_count > 0u) {
            ready[ready_head % BLOCKS] = in_flight[0];
            ++ready_head;
            in_flight[0] = in_flight[1];
            --in_flight_count;
        }
    }
    if (PDM_EVENTS_STOPPED != 0u) {
        PDM_EVENTS_STOPPED = 0u;
    }
    (void)PDM_EVENTS_END; /* read back: the clears reach the peripheral before returning */
}

int mf_source_pending(void) { return running && ready_head != ready_tail; }

int mf_source_start(uint32_t sample_rate, uint16_t channels) {
    if (sample_rate != SAMPLE_RATE || channels != 1u) {
        return -1;
    }
    mf_gpio_output(MF_SOURCE_POWER_PIN, 1); /* the microphone's supply */
    mf_gpio_output(MF_SOURCE_CLK_PIN, 0);
    GPIO_PIN_CNF(MF_SOURCE_DIN_PIN) = PIN_CNF_INPUT;
    PDM_ENABLE = 0u;
    PDM_PSEL_CLK = PSEL_OF(MF_SOURCE_CLK_PIN);
    PDM_PSEL_DIN = PSEL_OF(MF_SOURCE_DIN_PIN);
    PDM_PDMCLKCTRL = PDMCLKCTRL_1280K;
    PDM_RATIO = RATIO_80;
    PDM_MODE = MODE_MONO_LEFTFALLING;
    PDM_GAINL = MF_SOURCE_GAIN;
    PDM_GAINR = MF_SOURCE_GAIN;
    for (uint32_t b = 0; b < BLOCKS; ++b) {
        busy[b] = 0u;
    }
    in_flight_count = 0u;
    ready_head = ready_tail = 0u;
    overruns = 0u;
    programmed = take_free();
    PDM_SAMPLE_PTR = (uint32_t)(uintptr_t)blocks[programmed];
    PDM_SAMPLE_MAXCNT = BLOCK;
    PDM_EVENTS_STARTED = 0u;
    PDM_EVENTS_STOPPED = 0u;
    PDM_EVENTS_END = 0u;
    PDM_INTENCLR = 0xFFFFFFFFu;
    PDM_INTENSET = INT_STARTED | INT_STOPPED | INT_END;
    PDM_ENABLE = 1u;
    running = 1;
    mf_enable_irq(MF_SOURCE_IRQ);
    PDM_TASKS_START = 1u;
    return 0;
}

void mf_source_stop(void) {
    PDM_TASKS_STOP = 1u;
    PDM_INTENCLR = 0xFFFFFFFFu;
    PDM_ENABLE = 0u;
    running = 0;
}

void mf_source_poll(const mf_pipeline_sink_t *sink) {
    for (;;) {
        mf_irq_disable_all();
        if (ready_tail == ready_head) {
            mf_irq_enable_all();
            return;
        }
        const uint8_t b = ready[ready_tail % BLOCKS];
        ++ready_tail; /* dequeued: an overrun can no longer take this block */
        mf_irq_enable_all();
        (void)mf_pipeline_push(blocks[b], BLOCK, sink);
        busy[b] = 0u;
    }
}

const char *mf_source_describe(void) {
    return "nRF52840 PDM, 16000 Hz mono, EasyDMA blocks of 160 samples";
}

uint32_t mf_source_overruns(void) { return overruns; }
