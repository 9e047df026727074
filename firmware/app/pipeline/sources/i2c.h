/* Register access on an I2C bus, what a sensor driver (lsm9ds1.c) needs from a platform's I2C
 * controller (platform/<family>/sources/). Blocking, bounded: every call returns, 0 on success
 * or a negative code (no answer, NACK, timeout). */
#ifndef MCUFORGE_I2C_H
#define MCUFORGE_I2C_H

#include <stdint.h>

enum { MF_I2C_OK = 0, MF_I2C_NACK = -1, MF_I2C_TIMEOUT = -2, MF_I2C_ARGUMENT = -3 };

/* Prepares the controller (pins, clock) and reads register `reg` of the device at `address`
 * once, which picks how the controller is driven where it can be driven more than one way;
 * returns 0 or a negative code. */
int mf_i2c_init(uint8_t address, uint8_t reg);

/* Which controller mode carries the transfers, for the banner ("TWIM (EasyDMA)"...). */
const char *mf_i2c_describe(void);

int mf_i2c_write_reg(uint8_t address, uint8_t reg, uint8_t value);

/* Reads n (1..255) consecutive registers from reg (the device auto-increments). */
int mf_i2c_read_regs(uint8_t address, uint8_t reg, uint8_t *out, uint32_t n);

#endif
