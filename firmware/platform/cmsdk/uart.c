/* Arm CMSDK APB UART (QEMU mps2 and mps3 machines, Arm MPS boards): polled transmit, interrupt-driven
 * receive into a ring buffer so that the main loop can sleep in WFI between frames. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "platform.h"
#include "rx_ring.h"

#define UART_DATA MF_REG(MF_UART_BASE + 0x00u)
#define UART_STATE MF_REG(MF_UART_BASE + 0x04u)
#define UART_CTRL MF_REG(MF_UART_BASE + 0x08u)
#define UART_INTSTATUS MF_REG(MF_UART_BASE + 0x0Cu)
#define UART_BAUDDIV MF_REG(MF_UART_BASE + 0x10u)

#define STATE_TXFULL (1u << 0)
#define STATE_RXFULL (1u << 1)
#define CTRL_TXEN (1u << 0)
#define CTRL_RXEN (1u << 1)
#define CTRL_RXINTEN (1u << 3)
#define INT_RX (1u << 1)

void platform_init(void) {
    /* Baud rate = clock / BAUDDIV on hardware; the emulators ignore it but need >= 16. */
    UART_BAUDDIV = MF_CPU_HZ / MF_UART_BAUD;
    UART_CTRL = CTRL_TXEN | CTRL_RXEN | CTRL_RXINTEN;
    /* One read right after enabling RX: QEMU otherwise delays the first received byte ~1 s. */
    (void)UART_DATA;
    mf_enable_irq(MF_UART_RX_IRQ);
    mf_irq_enable_all();
}

void MF_UART_IRQ_HANDLER(void) {
    UART_INTSTATUS = INT_RX;
    while ((UART_STATE & STATE_RXFULL) != 0u) {
        const uint8_t byte = (uint8_t)UART_DATA;
        mf_rx_push(byte);
    }
}

void platform_uart_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while ((UART_STATE & STATE_TXFULL) != 0u) {
        }
        UART_DATA = data[i];
    }
}
