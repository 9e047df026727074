/* mcuforge platform layer on ESP-IDF (PlatformIO export for ESP32 boards): the console UART
 * through ESP-IDF's driver, the counter from the CPU cycle counter. Written by the exporter;
 * it is compiled only by PlatformIO's espidf framework (mcuforge has no Xtensa compiler).
 *
 * The counter counts CPU cycles, not instructions: on silicon that is what there is. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "platform.h"

#include "driver/uart.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#if __has_include("esp_cpu.h")
#include "esp_cpu.h" /* ESP-IDF 5 */
#define MF_CYCLES() ((uint32_t)esp_cpu_get_cycle_count())
#else
#include "hal/cpu_hal.h" /* ESP-IDF 4.4 */
#define MF_CYCLES() ((uint32_t)cpu_hal_get_cycle_count())
#endif

#define MF_UART UART_NUM_0
#define MF_RX_BUFFER 4096

/* One byte read ahead by platform_idle, handed out first by platform_uart_read. */
static int pending = -1;

void platform_init(void) {
    const uart_config_t config = {
        .baud_rate = (int)MF_UART_BAUD,
        .data_bits = UART_DATA_8_BITS,
        .parity = UART_PARITY_DISABLE,
        .stop_bits = UART_STOP_BITS_1,
        .flow_ctrl = UART_HW_FLOWCTRL_DISABLE,
    };
    /* The ROM and ESP-IDF left UART0 on its default pins: only the driver is installed. */
    uart_driver_install(MF_UART, MF_RX_BUFFER, 0, 0, NULL, 0);
    uart_param_config(MF_UART, &config);
}

void platform_uart_write(const uint8_t *data, size_t len) {
    uart_write_bytes(MF_UART, (const char *)data, len);
}

size_t platform_uart_read(uint8_t *buf, size_t max) {
    size_t n = 0;
    if (max > 0u && pending >= 0) {
        buf[n++] = (uint8_t)pending;
        pending = -1;
    }
    if (n < max) {
        const int got = uart_read_bytes(MF_UART, &buf[n], (uint32_t)(max - n), 0);
        if (got > 0) {
            n += (size_t)got;
        }
    }
    return n;
}

void platform_idle(void) {
    /* Blocks until a byte arrives (or 10 ms pass): the main task sleeps, and a request is served
     * as soon as its first byte is in. */
    uint8_t byte;
    if (pending < 0 && uart_read_bytes(MF_UART, &byte, 1, pdMS_TO_TICKS(10)) == 1) {
        pending = byte;
    }
}

/* The cycle counter is 32 bits (17.9 s at 240 MHz): extended on every read. */
static uint32_t last_cycles;
static uint64_t high_cycles;

void platform_counter_start(void) {
    last_cycles = MF_CYCLES();
    high_cycles = 0u;
}

uint64_t platform_counter_read(void) {
    const uint32_t now = MF_CYCLES();
    high_cycles += (uint32_t)(now - last_cycles);
    last_cycles = now;
    return high_cycles;
}

void platform_counter_stop(void) {}
