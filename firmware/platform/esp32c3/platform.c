/* ESP32-C3 platform (ESP32-C3 Technical Reference Manual register maps; no ESP-IDF):
 * watchdogs off, UART0 console as the ROM left it, polled receive, the CPU's cycle counter.
 *
 * Receive is POLLED, not interrupt-driven: routing UART0 through the interrupt matrix to a CPU
 * interrupt line is more register work than this board's value here justifies while it can only
 * be checked on hardware. Polling is safe with mcuforge's protocol: the host sends one request
 * and waits for its reply, the server drains the 128-byte hardware RX FIFO between requests, and
 * no request arrives while an inference runs. The cost: platform_idle() spins instead of WFI.
 *
 * The instruction counter counts CPU cycles with the core's performance counter (custom CSRs
 * mpcer/mpcmr/mpccr at 0x7E0..0x7E2, the ones ESP-IDF uses for esp_cpu_get_cycle_count): on
 * silicon, cycles, like SysTick on a Cortex-M board. It is 32 bits wide: an inference may take
 * up to 2^32 cycles (over 20 s at 160 MHz) before it wraps. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "platform.h"
#include "riscv.h"

/* UART0 (TRM 26.5): FIFO at 0x00; STATUS: RXFIFO_CNT [9:0], TXFIFO_CNT [25:16]. */
#define UART_FIFO MF_REG(MF_UART_BASE + 0x00u)
#define UART_STATUS MF_REG(MF_UART_BASE + 0x1Cu)
#define UART_RXFIFO_CNT(s) ((s) & 0x3FFu)
#define UART_TXFIFO_CNT(s) (((s) >> 16) & 0x3FFu)
#define UART_FIFO_BYTES 128u

/* Watchdogs (TRM 12-13): the ROM leaves the RTC watchdog and timer group 0's watchdog armed
 * for flash boot, and the super watchdog always runs unless fed or auto-fed. */
#define RTC_CNTL_BASE 0x60008000u
#define RTC_CNTL_WDTCONFIG0 MF_REG(RTC_CNTL_BASE + 0x90u)
#define RTC_CNTL_WDTWPROTECT MF_REG(RTC_CNTL_BASE + 0xA8u)
#define RTC_CNTL_SWD_CONF MF_REG(RTC_CNTL_BASE + 0xACu)
#define RTC_CNTL_SWD_WPROTECT MF_REG(RTC_CNTL_BASE + 0xB0u)
#define RTC_WDT_WKEY 0x50D83AA1u
#define RTC_SWD_WKEY 0x8F1D312Au
#define RTC_SWD_AUTO_FEED_EN (1u << 31)

#define TIMG0_BASE 0x6001F000u
#define TIMG1_BASE 0x60020000u
#define TIMG_WDTCONFIG0(base) MF_REG((base) + 0x48u)
#define TIMG_WDTWPROTECT(base) MF_REG((base) + 0x64u)
#define TIMG_WDT_WKEY 0x50D83AA1u
#define TIMG_WDT_CONF_UPDATE_EN (1u << 22)

/* Performance counter CSRs: event select (bit 0 = cycles), mode (bit 0 = count), counter. */
#define CSR_MPCER 0x7E0
#define CSR_MPCMR 0x7E1
#define CSR_MPCCR 0x7E2

static void timg_wdt_off(uint32_t base) {
    TIMG_WDTWPROTECT(base) = TIMG_WDT_WKEY;
    TIMG_WDTCONFIG0(base) = 0u; /* WDT_EN and FLASHBOOT_MOD_EN off */
    /* Configuration changes take effect only when this self-clearing bit is written. */
    TIMG_WDTCONFIG0(base) = TIMG_WDT_CONF_UPDATE_EN;
    TIMG_WDTWPROTECT(base) = 0u;
}

void platform_early_init(void) {
    RTC_CNTL_WDTWPROTECT = RTC_WDT_WKEY;
    RTC_CNTL_WDTCONFIG0 = 0u; /* WDT_EN and FLASHBOOT_MOD_EN off */
    RTC_CNTL_WDTWPROTECT = 0u;
    /* The super watchdog cannot be stopped from here; auto-feed keeps it quiet (as ESP-IDF's
     * bootloader does). */
    RTC_CNTL_SWD_WPROTECT = RTC_SWD_WKEY;
    RTC_CNTL_SWD_CONF |= RTC_SWD_AUTO_FEED_EN;
    RTC_CNTL_SWD_WPROTECT = 0u;
    timg_wdt_off(TIMG0_BASE);
    timg_wdt_off(TIMG1_BASE);
}

void platform_init(void) {
    /* UART0 keeps the ROM's 115200 8N1 setup; wait until the ROM's boot messages have left so
     * that the host sees them and our banner apart. */
    while (UART_TXFIFO_CNT(UART_STATUS) != 0u) {
    }
    /* Drop bytes that arrived during boot (e.g. the host's attempts to sync). */
    while (UART_RXFIFO_CNT(UART_STATUS) != 0u) {
        (void)UART_FIFO;
    }
}

void platform_uart_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while (UART_TXFIFO_CNT(UART_STATUS) >= UART_FIFO_BYTES) {
        }
        UART_FIFO = data[i];
    }
}

size_t platform_uart_read(uint8_t *buf, size_t max) {
    size_t n = 0;
    uint32_t waiting = UART_RXFIFO_CNT(UART_STATUS);
    while (n < max && waiting > 0u) {
        buf[n++] = (uint8_t)UART_FIFO;
        if (--waiting == 0u) {
            waiting = UART_RXFIFO_CNT(UART_STATUS); /* more may have arrived meanwhile */
        }
    }
    return n;
}

void platform_idle(void) {
    /* Polled receive: nothing would wake a WFI, so return and let the caller poll again. */
}

void platform_counter_start(void) {
    MF_CSR_WRITE(CSR_MPCMR, 0u);
    MF_CSR_WRITE(CSR_MPCER, 1u); /* count cycles */
    MF_CSR_WRITE(CSR_MPCCR, 0u);
    MF_CSR_WRITE(CSR_MPCMR, 1u); /* start */
}

uint64_t platform_counter_read(void) { return MF_CSR_READ(CSR_MPCCR); }

void platform_counter_stop(void) { MF_CSR_WRITE(CSR_MPCMR, 0u); }
