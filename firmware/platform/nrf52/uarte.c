/* nRF52840 UARTE console (nRF52840 Product Specification v1.x, section UARTE): EasyDMA transmit
 * from a RAM bounce buffer, EasyDMA receive ONE byte per STARTRX, ENDRX interrupt into a ring
 * buffer, WFI between frames. Written from the register map, no nrfx/HAL.
 *
 * Why one byte per STARTRX: it is the one receive scheme that works both on silicon and in
 * Renode's UARTE model (measured: with MAXCNT=N Renode returns only the first block of a burst,
 * and SHORTS is not implemented). On silicon the UARTE keeps receiving into its internal RX FIFO
 * between ENDRX and the next STARTRX (the interrupt restarts it within microseconds; one byte
 * takes 87 us at 115200 baud), so nothing is lost. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board_config.h"
#include "cortex_m.h"
#include "nrf52_gpio.h"
#include "platform.h"
#include "rx_ring.h"

#define UARTE_TASKS_STARTRX MF_REG(MF_UART_BASE + 0x000u)
#define UARTE_TASKS_STOPRX MF_REG(MF_UART_BASE + 0x004u)
#define UARTE_TASKS_STARTTX MF_REG(MF_UART_BASE + 0x008u)
#define UARTE_TASKS_STOPTX MF_REG(MF_UART_BASE + 0x00Cu)
#define UARTE_EVENTS_ENDRX MF_REG(MF_UART_BASE + 0x110u)
#define UARTE_EVENTS_ENDTX MF_REG(MF_UART_BASE + 0x120u)
#define UARTE_EVENTS_ERROR MF_REG(MF_UART_BASE + 0x124u)
#define UARTE_EVENTS_RXTO MF_REG(MF_UART_BASE + 0x144u)
#define UARTE_SHORTS MF_REG(MF_UART_BASE + 0x200u)
#define UARTE_INTENSET MF_REG(MF_UART_BASE + 0x304u)
#define UARTE_INTENCLR MF_REG(MF_UART_BASE + 0x308u)
#define UARTE_ERRORSRC MF_REG(MF_UART_BASE + 0x480u)
#define UARTE_ENABLE MF_REG(MF_UART_BASE + 0x500u)
#define UARTE_PSEL_RTS MF_REG(MF_UART_BASE + 0x508u)
#define UARTE_PSEL_TXD MF_REG(MF_UART_BASE + 0x50Cu)
#define UARTE_PSEL_CTS MF_REG(MF_UART_BASE + 0x510u)
#define UARTE_PSEL_RXD MF_REG(MF_UART_BASE + 0x514u)
#define UARTE_BAUDRATE MF_REG(MF_UART_BASE + 0x524u)
#define UARTE_RXD_PTR MF_REG(MF_UART_BASE + 0x534u)
#define UARTE_RXD_MAXCNT MF_REG(MF_UART_BASE + 0x538u)
#define UARTE_TXD_PTR MF_REG(MF_UART_BASE + 0x544u)
#define UARTE_TXD_MAXCNT MF_REG(MF_UART_BASE + 0x548u)
#define UARTE_CONFIG MF_REG(MF_UART_BASE + 0x56Cu)

#define INT_ENDRX (1u << 4)
#define INT_ERROR (1u << 9)
#define ENABLE_UARTE 8u

/* CLOCK (nRF52840 PS, CLOCK): the crystal oscillator gives the UART an accurate baud rate; the
 * internal HFINT it runs on after reset may be off by a percent or more. */
#define CLOCK_TASKS_HFCLKSTART MF_REG(0x40000000u + 0x000u)
#define CLOCK_EVENTS_HFCLKSTARTED MF_REG(0x40000000u + 0x100u)
#define HFXO_WAIT_LIMIT 1000000u /* ~50 ms at 64 MHz; HFXO starts in well under 1 ms */

/* BAUDRATE register values from the PS table (not a formula of the clock). */
#if MF_UART_BAUD == 115200u
#define UARTE_BAUD_VALUE 0x01D60000u
#elif MF_UART_BAUD == 9600u
#define UARTE_BAUD_VALUE 0x00275000u
#elif MF_UART_BAUD == 1000000u
#define UARTE_BAUD_VALUE 0x10000000u
#else
#error "nrf52 UARTE: baud rate not in the table (115200, 9600, 1000000)"
#endif

#define TX_BOUNCE_BYTES 256u /* EasyDMA reads RAM only: frames from flash go through here */

static volatile uint8_t rx_byte;  /* EasyDMA target of each one-byte STARTRX */
static uint8_t tx_bounce[TX_BOUNCE_BYTES];

static void start_rx(void) {
    UARTE_RXD_PTR = (uint32_t)(uintptr_t)&rx_byte;
    UARTE_RXD_MAXCNT = 1u;
    UARTE_TASKS_STARTRX = 1u;
}

void platform_init(void) {
    _Static_assert(MF_UART_TX_PIN < 48u && MF_UART_RX_PIN < 48u, "console pins are on P0/P1");
    CLOCK_EVENTS_HFCLKSTARTED = 0u;
    CLOCK_TASKS_HFCLKSTART = 1u;
    /* Bounded: an emulator that does not model the oscillator must not hang the boot. */
    for (uint32_t i = 0; i < HFXO_WAIT_LIMIT && CLOCK_EVENTS_HFCLKSTARTED == 0u; ++i) {
    }
    UARTE_ENABLE = 0u;
    /* TX idles high: drive it before the UARTE takes the pin so the far end sees no start bit. */
    GPIO_OUTSET(MF_UART_TX_PIN) = GPIO_BIT(MF_UART_TX_PIN);
    GPIO_PIN_CNF(MF_UART_TX_PIN) = PIN_CNF_OUTPUT;
    GPIO_DIRSET(MF_UART_TX_PIN) = GPIO_BIT(MF_UART_TX_PIN);
    GPIO_PIN_CNF(MF_UART_RX_PIN) = PIN_CNF_INPUT_PULLUP;

    UARTE_PSEL_TXD = PSEL_OF(MF_UART_TX_PIN);
    UARTE_PSEL_RXD = PSEL_OF(MF_UART_RX_PIN);
    UARTE_PSEL_RTS = PSEL_DISCONNECTED;
    UARTE_PSEL_CTS = PSEL_DISCONNECTED;
    UARTE_BAUDRATE = UARTE_BAUD_VALUE;
    UARTE_CONFIG = 0u; /* 8N1, no flow control */
    UARTE_SHORTS = 0u;
    UARTE_EVENTS_ENDRX = 0u;
    UARTE_EVENTS_ENDTX = 0u;
    UARTE_EVENTS_ERROR = 0u;
    UARTE_ENABLE = ENABLE_UARTE;

    UARTE_INTENCLR = 0xFFFFFFFFu;
    UARTE_INTENSET = INT_ENDRX | INT_ERROR;
    start_rx();
    mf_enable_irq(MF_UART_RX_IRQ);
    mf_irq_enable_all();
}

void MF_UART_IRQ_HANDLER(void) {
    if (UARTE_EVENTS_ERROR != 0u) {
        /* Framing/parity/overrun: clear and go on; the frame CRC reports the damage. */
        UARTE_EVENTS_ERROR = 0u;
        UARTE_ERRORSRC = UARTE_ERRORSRC; /* write 1 to clear the bits that are set */
    }
    if (UARTE_EVENTS_ENDRX != 0u) {
        UARTE_EVENTS_ENDRX = 0u; /* clear before STARTRX (Renode needs this order) */
        const uint8_t byte = rx_byte;
        start_rx();
        mf_rx_push(byte);
    }
    (void)UARTE_EVENTS_ENDRX; /* read back: the event clear reaches the peripheral first */
}

void platform_uart_write(const uint8_t *data, size_t len) {
    while (len > 0u) {
        const size_t n = len < TX_BOUNCE_BYTES ? len : TX_BOUNCE_BYTES;
        memcpy(tx_bounce, data, n);
        UARTE_EVENTS_ENDTX = 0u;
        UARTE_TXD_PTR = (uint32_t)(uintptr_t)tx_bounce;
        UARTE_TXD_MAXCNT = (uint32_t)n;
        UARTE_TASKS_STARTTX = 1u;
        while (UARTE_EVENTS_ENDTX == 0u) {
        }
        UARTE_EVENTS_ENDTX = 0u;
        data += n;
        len -= n;
    }
}
