/* ST LSM9DS1 accelerometer (datasheet DocID025715, registers of the accelerometer and gyroscope
 * part), in accelerometer-only mode through its FIFO, on any I2C bus (i2c.h). */
#ifndef MCUFORGE_LSM9DS1_H
#define MCUFORGE_LSM9DS1_H

#include <stdint.h>

#define LSM9DS1_WHO_AM_I_VALUE 0x68u

enum { MF_LSM9DS1_NOT_FOUND = -10, MF_LSM9DS1_BAD_RATE = -11, MF_LSM9DS1_BAD_SCALE = -12 };

/* Checks WHO_AM_I, powers the gyroscope down and runs the accelerometer at rate_hz (10, 50,
 * 119, 238, 476 or 952) and +-full_scale_g (2, 4, 8 or 16) into its FIFO in continuous mode. */
int mf_lsm9ds1_start(uint8_t address, uint32_t rate_hz, uint32_t full_scale_g);

/* Powers the accelerometer down. */
void mf_lsm9ds1_stop(uint8_t address);

/* Reads up to max samples waiting in the FIFO, oldest first, as x, y, z int16 triples;
 * returns how many, or a negative I2C code. *overrun is set when the FIFO had overflowed
 * (samples were lost before this read). */
int mf_lsm9ds1_read_fifo(uint8_t address, int16_t *xyz, uint32_t max, int *overrun);

#endif
