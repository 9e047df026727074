/* STM32 USART/LPUART of the newer register map (ISR/ICR/RDR/TDR: STM32F7 RM0385, STM32H7 RM0433,
 * STM32L5 RM0438, also G0/G4/L4/U5/WB): polled transmit, receive interrupt (RXNE) into the
 * shared ring buffer so that the main loop sleeps in WFI between frames. Written from the
 * reference manuals' register maps, no HAL; the F4's older USART is platform/stm32.
 *
 * The clock tree is left as reset leaves it, so the peripheral runs on MF_CPU_HZ (HSI 16 MHz on
 * the F7, HSI 64 MHz on the H7, MSI 4 MHz on the L5, each also the APB clock the USART uses by
 * default). Which USART, pins, enable bits, and on the L5 the VDDIO2 supply of port G: all come
 * from the board file through board_config.h. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "platform.h"
#include "rx_ring.h"

/* USART registers (RM0433 48.7 / RM0385 34.8 / RM0438 45.8 and 46.7 for the LPUART) */
#define USART_CR1 MF_REG(MF_UART_BASE + 0x00u)
#define USART_CR2 MF_REG(MF_UART_BASE + 0x04u)
#define USART_CR3 MF_REG(MF_UART_BASE + 0x08u)
#define USART_BRR MF_REG(MF_UART_BASE + 0x0Cu)
#define USART_ISR MF_REG(MF_UART_BASE + 0x1Cu)
#define USART_ICR MF_REG(MF_UART_BASE + 0x20u)
#define USART_RDR MF_REG(MF_UART_BASE + 0x24u)
#define USART_TDR MF_REG(MF_UART_BASE + 0x28u)

#define CR1_UE (1u << 0)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define ISR_ORE (1u << 3)
#define ISR_RXNE (1u << 5)
#define ISR_TXE (1u << 7)
#define ICR_ORECF (1u << 3)

/* BRR = multiplier x f_ck / baud: 1 for a USART oversampling by 16, 256 for an LPUART. */
#ifndef MF_UART_BRR_MULTIPLIER
#define MF_UART_BRR_MULTIPLIER 1u
#endif
#define UART_BRR_VALUE                                                                          \
    ((uint32_t)(((uint64_t)MF_UART_BRR_MULTIPLIER * MF_CPU_HZ + MF_UART_BAUD / 2u) / MF_UART_BAUD))

/* GPIO registers: the same layout on every STM32 of this family */
#define GPIO_MODER MF_REG(MF_UART_GPIO_BASE + 0x00u)
#define GPIO_OSPEEDR MF_REG(MF_UART_GPIO_BASE + 0x08u)
#define GPIO_PUPDR MF_REG(MF_UART_GPIO_BASE + 0x0Cu)
#define GPIO_AFR(n) MF_REG(MF_UART_GPIO_BASE + 0x20u + 4u * (n))

#define MODER_AF 2u
#define OSPEED_HIGH 2u
#define PUPD_UP 1u

/* Puts one pin into alternate-function mode af (pins 0..15). */
static void pin_af(uint32_t pin, uint32_t af, uint32_t pull) {
    const uint32_t two = 2u * pin;
    GPIO_MODER = (GPIO_MODER & ~(3u << two)) | (MODER_AF << two);
    GPIO_OSPEEDR = (GPIO_OSPEEDR & ~(3u << two)) | (OSPEED_HIGH << two);
    GPIO_PUPDR = (GPIO_PUPDR & ~(3u << two)) | (pull << two);
    const uint32_t four = 4u * (pin % 8u);
    GPIO_AFR(pin / 8u) = (GPIO_AFR(pin / 8u) & ~(0xFu << four)) | ((af & 0xFu) << four);
}

void platform_init(void) {
    _Static_assert(MF_UART_TX_PIN < 16u && MF_UART_RX_PIN < 16u, "GPIO pins are 0..15");
#ifdef MF_UART_PWR_IOSV_REG
    /* STM32L5 (RM0438 8.6.2): port G runs on VDDIO2, which stays isolated until PWR_CR2.IOSV
     * says it is valid; the PWR registers need their own clock first. */
    MF_REG(MF_UART_PWR_ENR) |= 1u << MF_UART_PWR_ENR_BIT;
    (void)MF_REG(MF_UART_PWR_ENR);
    MF_REG(MF_UART_PWR_IOSV_REG) |= 1u << MF_UART_PWR_IOSV_BIT;
#endif
    /* Clocks first: registers of an unclocked peripheral ignore writes. */
    MF_REG(MF_UART_RCC_GPIO_ENR) |= 1u << MF_UART_RCC_GPIO_BIT;
    MF_REG(MF_UART_RCC_UART_ENR) |= 1u << MF_UART_RCC_UART_BIT;
    (void)MF_REG(MF_UART_RCC_UART_ENR); /* wait out the enable (read back) */

    pin_af(MF_UART_TX_PIN, MF_UART_AF, 0u);
    /* Pull-up on RX: an unconnected line then idles high instead of floating into noise. */
    pin_af(MF_UART_RX_PIN, MF_UART_AF, PUPD_UP);

    USART_CR1 = 0u; /* UE off: BRR and the frame format may only change now */
    USART_CR2 = 0u; /* 1 stop bit */
    USART_CR3 = 0u; /* no flow control */
    _Static_assert(UART_BRR_VALUE >= 16u, "baud rate too high for the peripheral clock");
    USART_BRR = UART_BRR_VALUE;
    USART_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    /* Drop whatever arrived before we listened. */
    USART_ICR = ICR_ORECF;
    while ((USART_ISR & ISR_RXNE) != 0u) {
        (void)USART_RDR;
    }
    mf_enable_irq(MF_UART_RX_IRQ);
    mf_irq_enable_all();
}

void MF_UART_IRQ_HANDLER(void) {
    /* An overrun keeps the interrupt asserted until cleared; the lost byte shows up as a bad
     * frame CRC, which the host retries. */
    if ((USART_ISR & ISR_ORE) != 0u) {
        USART_ICR = ICR_ORECF;
    }
    while ((USART_ISR & ISR_RXNE) != 0u) {
        const uint8_t byte = (uint8_t)USART_RDR;
        mf_rx_push(byte);
    }
}

void platform_uart_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while ((USART_ISR & ISR_TXE) == 0u) {
        }
        USART_TDR = data[i];
    }
}
