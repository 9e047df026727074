/* Renesas RA8 SCI_B console in asynchronous mode (RA8M1 User's Manual: SCI_B, ICU, I/O ports,
 * module stop, clock generation): polled transmit, receive interrupt (RXI routed to an NVIC line
 * through the ICU's event link) into the shared ring buffer, WFI between frames. Written from
 * the register descriptions, no FSP.
 *
 * Checked only in Renode (its RenesasRA8M1_SCI and RenesasRA_ICU models); on silicon the clock
 * selection, pin setup and the baud divisor below are unverified. What the model dictates:
 * - transmit waits for CSR.TEND before each byte (the model leaves TDRE unimplemented; on the
 *   chip TEND=1 also means TDR is free, it only forgoes overlapping two bytes);
 * - receive takes one byte per RXI: IELSRn.IR is cleared first, then RDR is read, so a byte
 *   that arrives meanwhile raises RXI again (the model re-signals while bytes are queued). */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "platform.h"
#include "rx_ring.h"

#define REG8(addr) (*(volatile uint8_t *)(addr))
#define REG16(addr) (*(volatile uint16_t *)(addr))

/* SCI_B registers */
#define SCI_RDR MF_REG(MF_UART_BASE + 0x00u)
#define SCI_TDR MF_REG(MF_UART_BASE + 0x04u)
#define SCI_CCR0 MF_REG(MF_UART_BASE + 0x08u)
#define SCI_CCR1 MF_REG(MF_UART_BASE + 0x0Cu)
#define SCI_CCR2 MF_REG(MF_UART_BASE + 0x10u)
#define SCI_CCR3 MF_REG(MF_UART_BASE + 0x14u)
#define SCI_CCR4 MF_REG(MF_UART_BASE + 0x18u)
#define SCI_CESR MF_REG(MF_UART_BASE + 0x1Cu)
#define SCI_CSR MF_REG(MF_UART_BASE + 0x48u)
#define SCI_CFCLR MF_REG(MF_UART_BASE + 0x68u)

#define CCR0_RE (1u << 0)
#define CCR0_TE (1u << 4)
#define CCR0_RIE (1u << 16)
#define CCR2_BGDM (1u << 4)  /* double-speed baud generator */
#define CCR2_ABCS (1u << 5)  /* 8 base clocks per bit */
#define CCR2_BRME (1u << 16) /* bit-rate modulation by MDDR */
#define CCR3_CHR_8BIT (2u << 8)
#define CCR3_LSBF (1u << 12)
#define CESR_RIST (1u << 0)
#define CESR_TIST (1u << 4)
#define CSR_TEND (1u << 30)
#define CFCLR_ALL 0x9D070010u /* RDRFC, FERC, PERC, MFFC, ORERC, DFERC, DPERC, DCMFC, ERSC */

/* Baud rate: BGDM=ABCS=1 gives f/(8 x (BRR+1)); MDDR/256 trims it to within 0.1 %. */
#define SCI_DIVISOR_X256 ((256u * MF_UART_CLOCK_HZ) / (8u * MF_UART_BAUD))
#define SCI_N1 (SCI_DIVISOR_X256 / 256u) /* BRR + 1 */
#define SCI_MDDR ((256u * 256u * SCI_N1 + SCI_DIVISOR_X256 / 2u) / SCI_DIVISOR_X256)
_Static_assert(SCI_N1 >= 1u && SCI_N1 <= 256u, "SCI clock and baud rate out of BRR range");
_Static_assert(SCI_MDDR >= 128u && SCI_MDDR <= 256u, "SCI bit-rate modulation out of range");

/* ICU event link: IELSRn routes event IELS to NVIC interrupt n; IR latches a request. */
#define ICU_IELSR(n) MF_REG(MF_UART_ICU_BASE + 0x300u + 4u * (n))
#define IELSR_IR (1u << 16)

/* Pin function select: PmnPFS at pfs_base + 0x40 x port + 4 x pin, unlocked through PWPR. */
#define PFS(port, pin) MF_REG(MF_UART_PFS_BASE + 0x40u * (port) + 4u * (pin))
#define PFS_PCR (1u << 4)  /* pull-up */
#define PFS_PDR (1u << 2)  /* output */
#define PFS_PMR (1u << 16) /* peripheral function */
#define PFS_PSEL(f) ((uint32_t)(f) << 24)
#define PWPR REG8(MF_UART_PWPR)
#define PWPR_PFSWE (1u << 6)
#define PWPR_B0WI (1u << 7)

/* Clock generation: register protection, the SCI clock source and divider. */
#define SYS_PRCR REG16(0x4001E3FEu)
#define PRCR_KEY 0xA500u
#define PRCR_PRC0 (1u << 0) /* clock generation registers */
#define SYS_SCICKDIVCR REG8(0x4001E054u)
#define SYS_SCICKCR REG8(0x4001E055u)
#define SCICKCR_SEL_MOCO 1u
#define SCICKCR_SREQ (1u << 6)
#define SCICKCR_SRDY (1u << 7)
#define WAIT_LIMIT 100000u /* bounded: an emulator may not model a ready flag */

static void wait_flag(volatile uint8_t *reg, uint8_t mask, int set) {
    for (uint32_t i = 0; i < WAIT_LIMIT && ((*reg & mask) != 0u) != (set != 0); ++i) {
    }
}

static void sci_clock_moco(void) {
    /* The SCI's own clock (SCISPICLK): the 8 MHz MOCO, undivided. A switch is requested,
     * done while the clock is stopped, and then released. */
    SYS_PRCR = PRCR_KEY | PRCR_PRC0;
    SYS_SCICKCR |= SCICKCR_SREQ;
    wait_flag(&SYS_SCICKCR, SCICKCR_SRDY, 1);
    SYS_SCICKDIVCR = 0u;
    SYS_SCICKCR = (uint8_t)(SCICKCR_SREQ | SCICKCR_SEL_MOCO);
    SYS_SCICKCR = SCICKCR_SEL_MOCO;
    wait_flag(&SYS_SCICKCR, SCICKCR_SRDY, 0);
    SYS_PRCR = PRCR_KEY;
}

static void pin_function(uint32_t pin, uint32_t extra) {
    /* Board files number RA pins port x 16 + pin (P10.14 = PA14 = 174). */
    const uint32_t port = pin / 16u, bit = pin % 16u;
    PFS(port, bit) = extra;                                   /* GPIO mode first */
    PFS(port, bit) = extra | PFS_PSEL(MF_UART_PSEL) | PFS_PMR; /* then the SCI function */
}

void platform_init(void) {
    sci_clock_moco();
    MF_REG(MF_UART_MSTP_REG) &= ~(1u << MF_UART_MSTP_BIT); /* module stop released */
    (void)MF_REG(MF_UART_MSTP_REG);

    PWPR = 0u; /* B0WI off first, then PFSWE on: PFS writable */
    PWPR = PWPR_PFSWE;
    pin_function(MF_UART_TX_PIN, PFS_PDR);
    pin_function(MF_UART_RX_PIN, PFS_PCR);
    PWPR = 0u;
    PWPR = PWPR_B0WI;

    SCI_CCR0 = 0u; /* TE/RE off: the format may only change now */
    SCI_CCR1 = 0u; /* no parity */
    SCI_CCR3 = CCR3_CHR_8BIT | CCR3_LSBF; /* asynchronous, 8 data bits, 1 stop, LSB first */
    SCI_CCR4 = 0u;
    SCI_CCR2 = ((SCI_MDDR & 0xFFu) << 24) | CCR2_BRME | ((SCI_N1 - 1u) << 8) | CCR2_ABCS |
               CCR2_BGDM;
    SCI_CFCLR = CFCLR_ALL;

    ICU_IELSR(MF_UART_RX_IRQ) = MF_UART_RX_EVENT;
    SCI_CCR0 = CCR0_RIE | CCR0_TE | CCR0_RE;
    for (uint32_t i = 0; i < WAIT_LIMIT && (SCI_CESR & (CESR_RIST | CESR_TIST)) !=
                                               (CESR_RIST | CESR_TIST); ++i) {
    }
    mf_enable_irq(MF_UART_RX_IRQ);
    mf_irq_enable_all();
}

void MF_UART_IRQ_HANDLER(void) {
    ICU_IELSR(MF_UART_RX_IRQ) &= ~IELSR_IR;
    (void)ICU_IELSR(MF_UART_RX_IRQ); /* the clear reaches the ICU before the read below */
    mf_rx_push((uint8_t)(SCI_RDR & 0xFFu));
}

void platform_uart_write(const uint8_t *data, size_t len) {
    for (size_t i = 0; i < len; ++i) {
        while ((SCI_CSR & CSR_TEND) == 0u) {
        }
        SCI_TDR = data[i];
    }
}
