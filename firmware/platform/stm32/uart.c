/* STM32F4 USART console (RM0090 for STM32F405/407, RM0390 for STM32F446; same USART, GPIO and
 * RCC layout): polled transmit, receive interrupt (RXNE) into a ring buffer so that the main
 * loop sleeps in WFI between frames. Written from the reference manuals' register maps, no HAL.
 *
 * The clock tree is left as reset leaves it (HSI 16 MHz for the core and APB1), so the baud
 * divisor is MF_CPU_HZ / MF_UART_BAUD. Which USART, which pins, which enable bits: all come from
 * the board file through board_config.h. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "platform.h"
#include "rx_ring.h"

/* USART registers (RM0090 30.6) */
#define USART_SR MF_REG(MF_UART_BASE + 0x00u)
#define USART_DR MF_REG(MF_UART_BASE + 0x04u)
#define USART_BRR MF_REG(MF_UART_BASE + 0x08u)
#define USART_CR1 MF_REG(MF_UART_BASE + 0x0Cu)
#define USART_CR2 MF_REG(MF_UART_BASE + 0x10u)
#define USART_CR3 MF_REG(MF_UART_BASE + 0x14u)

#define SR_ORE (1u << 3)
#define SR_RXNE (1u << 5)
#define SR_TXE (1u << 7)
#define CR1_RE (1u << 2)
#define CR1_TE (1u << 3)
#define CR1_RXNEIE (1u << 5)
#define CR1_UE (1u << 13)

/* GPIO registers (RM0090 8.4) */
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
    /* Clocks first: registers of an unclocked peripheral ignore writes. */
    MF_REG(MF_UART_RCC_GPIO_ENR) |= 1u << MF_UART_RCC_GPIO_BIT;
    MF_REG(MF_UART_RCC_UART_ENR) |= 1u << MF_UART_RCC_UART_BIT;
    (void)MF_REG(MF_UART_RCC_UART_ENR); /* RM0090 6.3.10: wait out the enable (read back) */

    pin_af(MF_UART_TX_PIN, MF_UART_AF, 0u);
    /* Pull-up on RX: an unconnected line then idles high instead of floating into noise. */
    pin_af(MF_UART_RX_PIN, MF_UART_AF, PUPD_UP);

    USART_CR1 = 0u;
    USART_CR2 = 0u; /* 1 stop bit */
    USART_CR3 = 0u; /* no flow control */
    /* Oversampling by 16: BRR = f_ck / baud, rounded (mantissa and fraction in one number). */
    USART_BRR = (MF_CPU_HZ + MF_UART_BAUD / 2u) / MF_UART_BAUD;
    USART_CR1 = CR1_UE | CR1_TE | CR1_RE | CR1_RXNEIE;
    /* Drop whatever arrived before we listened (reading SR then DR also clears ORE). */
    (void)USART_SR;
    (void)USART_DR;
    mf_enable_irq(MF_UART_RX_IRQ);
    mf_irq_enable_all();
}

void MF_UART_IRQ_HANDLER(void) {
    /* RXNE or an overrun: reading SR then DR clears both. An overrun loses a byte, which the
     * frame's CRC reports to the host, which retries. */
    while ((USART_SR & (SR_RXNE | SR_ORE)) != 0u) {
        const uint8_t byte = (uint8_t)USART_DR;
        mf_rx_push(byte);
    }
}

void platform_uart_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while ((USART_SR & SR_TXE) == 0u) {
        }
        USART_DR = data[i];
    }
}
