/* nRF52840 I2C master on TWI instance 0 or 1 (nRF52840 PS v1.x: TWIM, and the deprecated TWI
 * that shares its registers), for sensor drivers (app/pipeline/sources/i2c.h). Written from
 * the register map, no nrfx/HAL. Polled, every wait bounded.
 *
 * TWIM (EasyDMA) is the one to use on silicon: one write-then-read transfer with the
 * LASTTX_STARTRX and LASTRX_STOP shortcuts. Renode 1.16's NRF52840_I2C models only the legacy
 * TWI registers (TXD/RXD, ENABLE = 5, BB_STOP): a TWIM transfer there raises no event at all.
 * So mf_i2c_init() reads one register through TWIM, and when no event comes within the bound
 * it drives the legacy TWI instead (the chip has both); mf_i2c_describe() says which, and the
 * standalone banner prints it. */
#include <stddef.h>
#include <stdint.h>

#include "cortex_m.h"
#include "i2c.h"
#include "nrf52_gpio.h"
#include "source_config.h"

#define TWI_REG(offset) MF_REG(MF_SOURCE_TWI_BASE + (offset))
#define TASKS_STARTRX TWI_REG(0x000u)
#define TASKS_STARTTX TWI_REG(0x008u)
#define TASKS_STOP TWI_REG(0x014u)
#define TASKS_RESUME TWI_REG(0x020u)
#define EVENTS_STOPPED TWI_REG(0x104u)
#define EVENTS_RXDREADY TWI_REG(0x108u) /* legacy TWI */
#define EVENTS_TXDSENT TWI_REG(0x11Cu)  /* legacy TWI */
#define EVENTS_ERROR TWI_REG(0x124u)
#define EVENTS_LASTRX TWI_REG(0x15Cu) /* TWIM */
#define EVENTS_LASTTX TWI_REG(0x160u) /* TWIM */
#define SHORTS TWI_REG(0x200u)
#define INTENCLR TWI_REG(0x308u)
#define ERRORSRC TWI_REG(0x4C4u)
#define ENABLE TWI_REG(0x500u)
#define PSEL_SCL TWI_REG(0x508u)
#define PSEL_SDA TWI_REG(0x50Cu)
#define RXD TWI_REG(0x518u) /* legacy TWI */
#define TXD TWI_REG(0x51Cu) /* legacy TWI */
#define FREQUENCY TWI_REG(0x524u)
#define RXD_PTR TWI_REG(0x534u) /* TWIM */
#define RXD_MAXCNT TWI_REG(0x538u)
#define TXD_PTR TWI_REG(0x544u)
#define TXD_MAXCNT TWI_REG(0x548u)
#define ADDRESS TWI_REG(0x588u)

#define ENABLE_TWIM 6u
#define ENABLE_TWI 5u
#define TWIM_K400 0x06400000u
#define TWI_K400 0x06680000u
#define TWIM_SHORT_LASTTX_STARTRX (1u << 7)
#define TWIM_SHORT_LASTTX_STOP (1u << 9)
#define TWIM_SHORT_LASTRX_STOP (1u << 12)
#define TWI_SHORT_BB_SUSPEND (1u << 0)
#define TWI_SHORT_BB_STOP (1u << 1)
/* Polls of an event before giving up: about 3 ms at 64 MHz, 30 bytes at 100 kHz. */
#define WAIT_LIMIT 40000u

static int legacy;
static uint8_t tx_buf[2]; /* EasyDMA reads RAM only */

/* Waits for `event` (or an error); 0, MF_I2C_NACK or MF_I2C_TIMEOUT. */
static int wait_event(volatile uint32_t *event) {
    for (uint32_t i = 0; i < WAIT_LIMIT; ++i) {
        if (EVENTS_ERROR != 0u) {
            return MF_I2C_NACK;
        }
        if (*event != 0u) {
            return MF_I2C_OK;
        }
    }
    return MF_I2C_TIMEOUT;
}

/* After an error or a timeout: stop the bus, clear what is left. */
static int recover(int status) {
    EVENTS_STOPPED = 0u;
    TASKS_STOP = 1u;
    (void)wait_event(&EVENTS_STOPPED);
    EVENTS_ERROR = 0u;
    ERRORSRC = ERRORSRC; /* write 1 to clear */
    SHORTS = 0u;
    return status;
}

static int twim_transfer(uint8_t address, uint32_t tx_len, uint8_t *rx, uint32_t rx_len) {
    EVENTS_STOPPED = 0u;
    EVENTS_ERROR = 0u;
    EVENTS_LASTRX = 0u;
    EVENTS_LASTTX = 0u;
    ADDRESS = address;
    TXD_PTR = (uint32_t)(uintptr_t)tx_buf;
    TXD_MAXCNT = tx_len;
    RXD_PTR = (uint32_t)(uintptr_t)rx;
    RXD_MAXCNT = rx_len;
    SHORTS = rx_len > 0u ? (TWIM_SHORT_LASTTX_STARTRX | TWIM_SHORT_LASTRX_STOP)
                         : TWIM_SHORT_LASTTX_STOP;
    TASKS_STARTTX = 1u;
    const int status = wait_event(&EVENTS_STOPPED);
    if (status != MF_I2C_OK) {
        return recover(status);
    }
    SHORTS = 0u;
    return MF_I2C_OK;
}

static int twi_write(uint8_t address, uint32_t n) {
    EVENTS_STOPPED = 0u;
    EVENTS_ERROR = 0u;
    ADDRESS = address;
    SHORTS = 0u;
    TASKS_STARTTX = 1u;
    for (uint32_t i = 0; i < n; ++i) {
        EVENTS_TXDSENT = 0u;
        TXD = tx_buf[i];
        const int status = wait_event(&EVENTS_TXDSENT);
        if (status != MF_I2C_OK) {
            return recover(status);
        }
    }
    return MF_I2C_OK;
}

static int twi_stop(void) {
    EVENTS_STOPPED = 0u;
    TASKS_STOP = 1u;
    const int status = wait_event(&EVENTS_STOPPED);
    return status == MF_I2C_OK ? status : recover(status);
}

/* Legacy read: every byte ends with a suspend (BB_SUSPEND), is read from RXD and resumed; the
 * last one with a stop instead (BB_STOP set before it is clocked in), as the PS describes. */
static int twi_read(uint8_t address, uint8_t *rx, uint32_t n) {
    EVENTS_RXDREADY = 0u;
    ADDRESS = address;
    SHORTS = n == 1u ? TWI_SHORT_BB_STOP : TWI_SHORT_BB_SUSPEND;
    TASKS_STARTRX = 1u; /* a repeated start after the register address */
    for (uint32_t i = 0; i < n; ++i) {
        const int status = wait_event(&EVENTS_RXDREADY);
        if (status != MF_I2C_OK) {
            return recover(status);
        }
        EVENTS_RXDREADY = 0u;
        rx[i] = (uint8_t)RXD;
        if (i + 1u < n) {
            if (i + 2u == n) {
                SHORTS = TWI_SHORT_BB_STOP;
            }
            TASKS_RESUME = 1u;
        }
    }
    const int status = wait_event(&EVENTS_STOPPED);
    SHORTS = 0u;
    return status == MF_I2C_OK ? status : recover(status);
}

int mf_i2c_write_reg(uint8_t address, uint8_t reg, uint8_t value) {
    tx_buf[0] = reg;
    tx_buf[1] = value;
    if (!legacy) {
        return twim_transfer(address, 2u, NULL, 0u);
    }
    const int status = twi_write(address, 2u);
    return status == MF_I2C_OK ? twi_stop() : status;
}

int mf_i2c_read_regs(uint8_t address, uint8_t reg, uint8_t *out, uint32_t n) {
    if (n == 0u || n > 255u) {
        return MF_I2C_ARGUMENT;
    }
    tx_buf[0] = reg;
    if (!legacy) {
        return twim_transfer(address, 1u, out, n);
    }
    const int status = twi_write(address, 1u);
    return status == MF_I2C_OK ? twi_read(address, out, n) : status;
}

static void enable(uint32_t mode, uint32_t frequency) {
    ENABLE = 0u;
    INTENCLR = 0xFFFFFFFFu;
    PSEL_SCL = PSEL_OF(MF_SOURCE_SCL_PIN);
    PSEL_SDA = PSEL_OF(MF_SOURCE_SDA_PIN);
    FREQUENCY = frequency;
    SHORTS = 0u;
    ENABLE = mode;
}

int mf_i2c_init(uint8_t address, uint8_t reg) {
    GPIO_PIN_CNF(MF_SOURCE_SCL_PIN) = PIN_CNF_I2C;
    GPIO_PIN_CNF(MF_SOURCE_SDA_PIN) = PIN_CNF_I2C;
    uint8_t value;
    legacy = 0;
    enable(ENABLE_TWIM, TWIM_K400);
    int status = mf_i2c_read_regs(address, reg, &value, 1u);
    if (status != MF_I2C_TIMEOUT) {
        return status;
    }
    legacy = 1;
    enable(ENABLE_TWI, TWI_K400);
    return mf_i2c_read_regs(address, reg, &value, 1u);
}

const char *mf_i2c_describe(void) {
    return legacy ? "TWI (legacy registers: TWIM raised no event)" : "TWIM (EasyDMA)";
}
