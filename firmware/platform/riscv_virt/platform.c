/* QEMU `virt` machine, 32-bit (qemu-system-riscv32 -machine virt): the same runtime, kernels and
 * protocol server as the ESP32-C3, on an emulated rv32imc core that QEMU counts exactly.
 *
 * Console: the machine's NS16550A UART (16550 register map, byte-wide registers), polled like
 * the ESP32-C3's: the host sends one request and waits for its reply, and QEMU holds back bytes
 * while the receive FIFO is full, so nothing is lost without an interrupt.
 *
 * Counter: minstret. Under QEMU's -icount (mcuforge always runs with it) minstret/mcycle read
 * virtual time in ns (target/riscv get_ticks(): icount_get()), and with shift=N every
 * instruction is 2^N ns: the board file's clock (1 GHz) and the shift turn ticks into exact
 * instruction counts. mtime (CLINT, 10 MHz timebase) would count 100 instructions per tick. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "platform.h"
#include "riscv.h"

#define UART_REG(off) (*(volatile uint8_t *)(MF_UART_BASE + (off)))
#define UART_RBR UART_REG(0x0u) /* read, DLAB=0 */
#define UART_THR UART_REG(0x0u) /* write, DLAB=0 */
#define UART_DLL UART_REG(0x0u) /* DLAB=1 */
#define UART_IER UART_REG(0x1u)
#define UART_DLM UART_REG(0x1u) /* DLAB=1 */
#define UART_FCR UART_REG(0x2u)
#define UART_LCR UART_REG(0x3u)
#define UART_LSR UART_REG(0x5u)

#define LCR_8N1 0x03u
#define LCR_DLAB 0x80u
#define FCR_ENABLE_CLEAR 0x07u /* FIFOs on, both cleared */
#define LSR_DR 0x01u           /* receive data ready */
#define LSR_THRE 0x20u         /* transmit holding register empty */

/* Divisor latch = UART input clock / (16 x baud); the board file gives the input clock. */
#define UART_DIVISOR (MF_UART_CLOCK_HZ / (16u * MF_UART_BAUD))
_Static_assert(UART_DIVISOR >= 1u && UART_DIVISOR <= 0xFFFFu, "16550 divisor out of range");

void platform_early_init(void) {}

void platform_init(void) {
    UART_IER = 0u; /* polled: no interrupts */
    UART_LCR = LCR_DLAB;
    UART_DLL = (uint8_t)(UART_DIVISOR & 0xFFu);
    UART_DLM = (uint8_t)(UART_DIVISOR >> 8);
    UART_LCR = LCR_8N1;
    UART_FCR = FCR_ENABLE_CLEAR;
}

void platform_uart_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while ((UART_LSR & LSR_THRE) == 0u) {
        }
        UART_THR = data[i];
    }
}

size_t platform_uart_read(uint8_t *buf, size_t max) {
    size_t n = 0;
    while (n < max && (UART_LSR & LSR_DR) != 0u) {
        buf[n++] = UART_RBR;
    }
    return n;
}

void platform_idle(void) {
    /* Polled receive: nothing would wake a WFI, so return and let the caller poll again. */
}

/* ---- instruction counter: minstret, 64 bits read as two halves ---- */
static uint64_t counter_base;

static uint64_t instret(void) {
    uint32_t hi, lo;
    do {
        hi = MF_CSR_READ(minstreth);
        lo = MF_CSR_READ(minstret);
    } while (hi != MF_CSR_READ(minstreth));
    return ((uint64_t)hi << 32) | lo;
}

void platform_counter_start(void) { counter_base = instret(); }

uint64_t platform_counter_read(void) { return instret() - counter_base; }

void platform_counter_stop(void) {}
