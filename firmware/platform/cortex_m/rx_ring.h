/* The receive ring every interrupt-driven Cortex-M console driver shares: the driver's
 * interrupt pushes bytes, the main loop reads them (platform_uart_read) or sleeps until one
 * arrives (platform_idle). One producer, one consumer: no lock needed. */
#ifndef MCUFORGE_RX_RING_H
#define MCUFORGE_RX_RING_H

#include <stdint.h>

/* Called from the receive interrupt. A full ring drops the byte: the frame's CRC reports the
 * loss to the host, which retries. */
void mf_rx_push(uint8_t byte);

#endif
