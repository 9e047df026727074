/* nRF52840 GPIO ports P0 and P1 (nRF52840 PS, GPIO), shared by the console and the sample
 * sources. Board files number pins 0..47, P1.n being 32 + n (the nRF52840-DK's console uses
 * P0.06/P0.08, the Arduino Nano 33 BLE's D1/D0 are P1.03/P1.10); a peripheral's PSEL register
 * takes the same number (PIN in bits 0-4, PORT in bit 5, CONNECT in bit 31: 0 = connected). */
#ifndef MCUFORGE_NRF52_GPIO_H
#define MCUFORGE_NRF52_GPIO_H

#include <stdint.h>

#include "cortex_m.h"

#define GPIO_PORT_BASE(pin) ((pin) < 32u ? 0x50000000u : 0x50000300u)
#define GPIO_BIT(pin) (1u << ((pin) % 32u))
#define GPIO_OUTSET(pin) MF_REG(GPIO_PORT_BASE(pin) + 0x508u)
#define GPIO_OUTCLR(pin) MF_REG(GPIO_PORT_BASE(pin) + 0x50Cu)
#define GPIO_DIRSET(pin) MF_REG(GPIO_PORT_BASE(pin) + 0x518u)
#define GPIO_PIN_CNF(pin) MF_REG(GPIO_PORT_BASE(pin) + 0x700u + 4u * ((pin) % 32u))
#define PSEL_OF(pin) ((uint32_t)(pin))
#define PSEL_DISCONNECTED 0xFFFFFFFFu
#define PIN_CNF_OUTPUT 1u              /* DIR=output, input buffer connected */
#define PIN_CNF_INPUT 0u               /* DIR=input, input buffer connected, no pull */
#define PIN_CNF_INPUT_PULLUP (3u << 2) /* DIR=input, input connected, PULL=up */
/* DIR=input, input connected, PULL=up, DRIVE=S0D1 (standard 0, disconnect 1): an I2C line. */
#define PIN_CNF_I2C ((3u << 2) | (6u << 8))

/* Drives a pin as an output at `high` (a power switch, a pull-up enable). */
static inline void mf_gpio_output(uint32_t pin, int high) {
    if (high) {
        GPIO_OUTSET(pin) = GPIO_BIT(pin);
    } else {
        GPIO_OUTCLR(pin) = GPIO_BIT(pin);
    }
    GPIO_PIN_CNF(pin) = PIN_CNF_OUTPUT;
    GPIO_DIRSET(pin) = GPIO_BIT(pin);
}

#endif
