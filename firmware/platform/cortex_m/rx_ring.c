#include "rx_ring.h"

#include <stddef.h>

#include "cortex_m.h"
#include "platform.h"

#define RX_RING_BYTES 2048u /* a power of two */

static volatile uint8_t rx_ring[RX_RING_BYTES];
static volatile uint32_t rx_head; /* written by the interrupt */
static volatile uint32_t rx_tail; /* written by the main loop */

void mf_rx_push(uint8_t byte) {
    const uint32_t next = (rx_head + 1u) & (RX_RING_BYTES - 1u);
    if (next != rx_tail) {
        rx_ring[rx_head] = byte;
        rx_head = next;
    }
}

size_t platform_uart_read(uint8_t *buf, size_t max) {
    size_t n = 0;
    while (n < max && rx_tail != rx_head) {
        buf[n++] = rx_ring[rx_tail];
        rx_tail = (rx_tail + 1u) & (RX_RING_BYTES - 1u);
    }
    return n;
}

/* Sample-source drivers (app/pipeline/source.h) define this: samples their interrupt queued
 * that the main loop has not taken yet must not wait for the next interrupt. */
__attribute__((weak)) int mf_source_pending(void) { return 0; }

void platform_idle(void) {
    /* WFI with interrupts masked still wakes on a pending interrupt, so a byte (or a sample
     * block) that arrives between the check and the sleep is not missed. */
    mf_irq_disable_all();
    if (rx_tail == rx_head && !mf_source_pending()) {
        mf_wfi();
    }
    mf_irq_enable_all();
}
