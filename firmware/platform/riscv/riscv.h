/* The few RISC-V machine-mode pieces the runtime touches (privileged spec 1.11 CSRs). */
#ifndef MCUFORGE_RISCV_H
#define MCUFORGE_RISCV_H

#include <stdint.h>

#define MF_REG(addr) (*(volatile uint32_t *)(addr))

/* Two levels so that a CSR given as a macro (CSR_MPCCR -> 0x7E2) is expanded first. */
#define MF_CSR_READ_(csr)                                                                       \
    __extension__({                                                                             \
        uint32_t v_;                                                                            \
        __asm volatile("csrr %0, " #csr : "=r"(v_));                                           \
        v_;                                                                                     \
    })
#define MF_CSR_READ(csr) MF_CSR_READ_(csr)
#define MF_CSR_WRITE_(csr, value) __asm volatile("csrw " #csr ", %0" ::"r"((uint32_t)(value)))
#define MF_CSR_WRITE(csr, value) MF_CSR_WRITE_(csr, value)

/* Provided by each RISC-V platform; the startup calls it before .bss is zeroed and before
 * anything else, e.g. to stop watchdogs a ROM left running. It may use no global variable. */
void platform_early_init(void);

#endif
