/* Accelerometer source on the nRF52840: an LSM9DS1 (app/pipeline/sources/lsm9ds1.c) on the TWI
 * bus (twi.c), its FIFO polled from a TIMER compare interrupt. Configured by the board file's
 * [sources.accelerometer] table (source_config.h): the TWI and TIMER instances, the bus pins,
 * the sensor's address and full scale, and the pins that power the sensor and its pull-ups
 * (the Arduino Nano 33 BLE Sense switches both).
 *
 * The TIMER runs at 1 MHz (PRESCALER 4) in 32-bit mode and its CC[0] advances by one poll
 * period in the interrupt (Renode 1.16's TIMER implements neither SHORTS nor BITMODE; adding to
 * CC works on both). A poll every 10 ms, or every 8 samples' time at higher rates, keeps the
 * 32-sample FIFO far from full. Samples reach the pipeline as x, y, z int16 in the sensor's
 * units (LSB of the full scale), in the order the FIFO gives them. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "i2c.h"
#include "lsm9ds1.h"
#include "nrf52_gpio.h"
#include "pipeline.h"
#include "source.h"
#include "source_config.h"

#define TIMER_REG(offset) MF_REG(MF_SOURCE_TIMER_BASE + (offset))
#define TIMER_TASKS_START TIMER_REG(0x000u)
#define TIMER_TASKS_STOP TIMER_REG(0x004u)
#define TIMER_TASKS_CLEAR TIMER_REG(0x00Cu)
#define TIMER_EVENTS_COMPARE0 TIMER_REG(0x140u)
#define TIMER_INTENSET TIMER_REG(0x304u)
#define TIMER_INTENCLR TIMER_REG(0x308u)
#define TIMER_MODE TIMER_REG(0x504u)
#define TIMER_BITMODE TIMER_REG(0x508u)
#define TIMER_PRESCALER TIMER_REG(0x510u)
#define TIMER_CC0 TIMER_REG(0x540u)
#define INT_COMPARE0 (1u << 16)
#define BITMODE_32 3u
#define PRESCALER_1MHZ 4u /* 16 MHz / 2^4 */

#define CHANNELS 3u
#define BATCH 32u /* the FIFO's depth */
#define STARTUP_US 20000u /* the datasheet's turn-on time is 20 ms */

_Static_assert(MF_SOURCE_TIMER_IRQ < MF_IRQ_COUNT, "TIMER interrupt outside the vector table");

static volatile uint32_t ticks; /* polls due, counted by the interrupt */
static uint32_t ticks_done;
static uint32_t period_us;
static int running;
static int16_t batch[BATCH * CHANNELS];
static char description[96];
static uint32_t lost; /* failed FIFO reads and FIFO overruns */

void mf_source_timer_isr(void) {
    if (TIMER_EVENTS_COMPARE0 != 0u) {
        TIMER_EVENTS_COMPARE0 = 0u;
        TIMER_CC0 = TIMER_CC0 + period_us;
        ++ticks;
    }
    (void)TIMER_EVENTS_COMPARE0;
}

int mf_source_pending(void) { return running && ticks != ticks_done; }

static void start_timer(void) {
    TIMER_TASKS_STOP = 1u;
    TIMER_MODE = 0u; /* timer */
    TIMER_BITMODE = BITMODE_32;
    TIMER_PRESCALER = PRESCALER_1MHZ;
    TIMER_TASKS_CLEAR = 1u;
    TIMER_CC0 = period_us;
    TIMER_EVENTS_COMPARE0 = 0u;
    TIMER_INTENCLR = 0xFFFFFFFFu;
    TIMER_INTENSET = INT_COMPARE0;
    mf_enable_irq(MF_SOURCE_TIMER_IRQ);
    TIMER_TASKS_START = 1u;
}

/* Busy wait on the TIMER (before its interrupt is on): the sensor's power-up time. */
static void wait_us(uint32_t us) {
    TIMER_TASKS_STOP = 1u;
    TIMER_BITMODE = BITMODE_32;
    TIMER_PRESCALER = PRESCALER_1MHZ;
    TIMER_TASKS_CLEAR = 1u;
    TIMER_CC0 = us;
    TIMER_EVENTS_COMPARE0 = 0u;
    TIMER_TASKS_START = 1u;
    for (uint32_t i = 0; i < 64u * us && TIMER_EVENTS_COMPARE0 == 0u; ++i) {
    }
    TIMER_TASKS_STOP = 1u;
    TIMER_EVENTS_COMPARE0 = 0u;
}

static void describe(void) {
    const char *parts[] = {"LSM9DS1 accelerometer, FIFO polled, over ", mf_i2c_describe()};
    size_t len = 0;
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; ++p) {
        for (const char *c = parts[p]; *c != '\0' && len + 1u < sizeof description; ++c) {
            description[len++] = *c;
        }
    }
    description[len] = '\0';
}

int mf_source_start(uint32_t sample_rate, uint16_t channels) {
    if (channels != CHANNELS) {
        return MF_I2C_ARGUMENT;
    }
    mf_gpio_output(MF_SOURCE_POWER_PIN, 1);
    mf_gpio_output(MF_SOURCE_PULLUP_PIN, 1);
    wait_us(STARTUP_US);
    int status = mf_i2c_init(MF_SOURCE_ADDRESS, 0x0Fu /* WHO_AM_I */);
    if (status == 0) {
        status = mf_lsm9ds1_start(MF_SOURCE_ADDRESS, sample_rate, MF_SOURCE_FULL_SCALE_G);
    }
    describe();
    if (status != 0) {
        return status;
    }
    const uint32_t eight_samples_us = 8000000u / sample_rate;
    period_us = eight_samples_us < 10000u ? eight_samples_us : 10000u;
    ticks = ticks_done = 0u;
    lost = 0u;
    running = 1;
    start_timer();
    return 0;
}

void mf_source_stop(void) {
    TIMER_TASKS_STOP = 1u;
    TIMER_INTENCLR = 0xFFFFFFFFu;
    if (running) {
        mf_lsm9ds1_stop(MF_SOURCE_ADDRESS);
    }
    running = 0;
}

void mf_source_poll(const mf_pipeline_sink_t *sink) {
    if (!running || ticks == ticks_done) {
        return;
    }
    ticks_done = ticks;
    int overrun = 0;
    const int n = mf_lsm9ds1_read_fifo(MF_SOURCE_ADDRESS, batch, BATCH, &overrun);
    if (n < 0 || overrun) {
        ++lost;
    }
    if (n > 0) {
        (void)mf_pipeline_push(batch, (uint32_t)n, sink);
    }
}

const char *mf_source_describe(void) { return description[0] != '\0' ? description : "LSM9DS1"; }

uint32_t mf_source_overruns(void) { return lost; }
