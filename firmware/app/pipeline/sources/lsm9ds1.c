/* ST LSM9DS1 accelerometer through its FIFO (see lsm9ds1.h). Written from the datasheet's
 * register map; no vendor driver.
 *
 * Accelerometer-only mode: CTRL_REG1_G's ODR_G = 0 powers the gyroscope down, and the
 * accelerometer runs at CTRL_REG6_XL's ODR_XL (10-952 Hz). The FIFO (32 samples) runs in
 * continuous mode; FIFO_SRC's FSS says how many samples wait, and reading OUT_X_L_XL..OUT_Z_H_XL
 * (six bytes, auto-incremented) pops one. Renode 1.16's LSM9DS1 model pops its next file
 * sample on every read of OUT_X_L_XL and answers FSS with 0 on every other read (then with up
 * to its MaxFifoDepth): reading exactly FSS samples per poll is right for both. */
#include "lsm9ds1.h"

#include "i2c.h"

#define REG_WHO_AM_I 0x0Fu
#define REG_CTRL_REG1_G 0x10u
#define REG_CTRL_REG6_XL 0x20u
#define REG_CTRL_REG8 0x22u
#define REG_CTRL_REG9 0x23u
#define REG_OUT_X_L_XL 0x28u
#define REG_FIFO_CTRL 0x2Eu
#define REG_FIFO_SRC 0x2Fu

#define CTRL8_BDU_IF_ADD_INC 0x44u /* block data update, register address auto-increment */
#define CTRL9_FIFO_EN 0x02u
#define FIFO_BYPASS 0x00u
#define FIFO_CONTINUOUS 0xC0u /* FMODE = 110 */
#define FIFO_FSS_MASK 0x3Fu   /* 0..32 samples */
#define FIFO_OVRN 0x40u

static int odr_bits(uint32_t rate_hz) {
    static const uint32_t rates[] = {10u, 50u, 119u, 238u, 476u, 952u};
    for (int i = 0; i < 6; ++i) {
        if (rates[i] == rate_hz) {
            return (i + 1) << 5; /* ODR_XL: 001 = 10 Hz ... 110 = 952 Hz */
        }
    }
    return -1;
}

static int scale_bits(uint32_t full_scale_g) {
    switch (full_scale_g) { /* FS_XL: 00 = 2 g, 10 = 4 g, 11 = 8 g, 01 = 16 g */
    case 2u:
        return 0 << 3;
    case 4u:
        return 2 << 3;
    case 8u:
        return 3 << 3;
    case 16u:
        return 1 << 3;
    default:
        return -1;
    }
}

int mf_lsm9ds1_start(uint8_t address, uint32_t rate_hz, uint32_t full_scale_g) {
    const int odr = odr_bits(rate_hz), fs = scale_bits(full_scale_g);
    if (odr < 0) {
        return MF_LSM9DS1_BAD_RATE;
    }
    if (fs < 0) {
        return MF_LSM9DS1_BAD_SCALE;
    }
    uint8_t id = 0u;
    int status = mf_i2c_read_regs(address, REG_WHO_AM_I, &id, 1u);
    if (status != MF_I2C_OK) {
        return status;
    }
    if (id != LSM9DS1_WHO_AM_I_VALUE) {
        return MF_LSM9DS1_NOT_FOUND;
    }
    const uint8_t writes[][2] = {
        {REG_CTRL_REG8, CTRL8_BDU_IF_ADD_INC},
        {REG_CTRL_REG1_G, 0u},                  /* gyroscope off: accelerometer-only mode */
        {REG_FIFO_CTRL, FIFO_BYPASS},           /* empties the FIFO */
        {REG_CTRL_REG6_XL, (uint8_t)(odr | fs)},
        {REG_CTRL_REG9, CTRL9_FIFO_EN},
        {REG_FIFO_CTRL, FIFO_CONTINUOUS},
    };
    for (unsigned i = 0; i < sizeof writes / sizeof writes[0] && status == MF_I2C_OK; ++i) {
        status = mf_i2c_write_reg(address, writes[i][0], writes[i][1]);
    }
    return status;
}

void mf_lsm9ds1_stop(uint8_t address) {
    (void)mf_i2c_write_reg(address, REG_CTRL_REG6_XL, 0u);
    (void)mf_i2c_write_reg(address, REG_FIFO_CTRL, FIFO_BYPASS);
}

int mf_lsm9ds1_read_fifo(uint8_t address, int16_t *xyz, uint32_t max, int *overrun) {
    uint8_t src = 0u;
    int status = mf_i2c_read_regs(address, REG_FIFO_SRC, &src, 1u);
    if (status != MF_I2C_OK) {
        return status;
    }
    *overrun = (src & FIFO_OVRN) != 0u;
    uint32_t n = src & FIFO_FSS_MASK;
    n = n < max ? n : max;
    for (uint32_t i = 0; i < n; ++i) {
        uint8_t raw[6];
        status = mf_i2c_read_regs(address, REG_OUT_X_L_XL, raw, 6u);
        if (status != MF_I2C_OK) {
            return status;
        }
        for (uint32_t axis = 0; axis < 3u; ++axis) {
            xyz[3u * i + axis] = (int16_t)(uint16_t)(raw[2u * axis] |
                                                     ((uint32_t)raw[2u * axis + 1u] << 8));
        }
    }
    return (int)n;
}
