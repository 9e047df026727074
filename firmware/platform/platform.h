/* What the protocol server needs from a board: a console UART, sleep, an instruction counter.
 * One implementation per family under platform/<family>/, chosen by the board file. */
#ifndef MCUFORGE_PLATFORM_H
#define MCUFORGE_PLATFORM_H

/* The files that include this header are the firmware's frame around the models (protocol
 * server, startup, console, timers): none of it runs inside an inference, so it is compiled for
 * size whatever the build's optimization level (the kernels and models stay at theirs). */
#if defined(__GNUC__) && !defined(__clang__) && !defined(__OPTIMIZE_SIZE__)
#pragma GCC optimize("Os")
#endif

#include <stddef.h>
#include <stdint.h>

void platform_init(void);

/* Blocking write of len bytes to the console UART. */
void platform_uart_write(const uint8_t *data, size_t len);

/* Copies up to max received bytes (already buffered by the receive interrupt); never blocks. */
size_t platform_uart_read(uint8_t *buf, size_t max);

/* Sleeps until an interrupt arrives unless received bytes (or, where a sample source runs,
 * samples: mf_source_pending) are already waiting. */
void platform_idle(void);

/* Nonzero when a sample source's interrupt queued samples the main loop has not taken (weak
 * default: 0). Called with interrupts masked. */
int mf_source_pending(void);

/* The instruction counter: ticks of a timer the host converts to instructions (the host knows
 * the tick rate of each target). Stopped while idle so that an emulator can sleep. */
void platform_counter_start(void);
uint64_t platform_counter_read(void);
void platform_counter_stop(void);

/* Provided by the application (app/server.c): fault handlers call it to report text over the
 * console as a FAULT event; it never returns. */
void mcuforge_fault(const char *text) __attribute__((noreturn));

#endif
