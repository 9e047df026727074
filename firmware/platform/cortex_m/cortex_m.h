/* The few Cortex-M system registers the runtime touches (Armv7-M / Armv8-M architecture). */
#ifndef MCUFORGE_CORTEX_M_H
#define MCUFORGE_CORTEX_M_H

#include <stdint.h>

#define MF_REG(addr) (*(volatile uint32_t *)(addr))

#define SYST_CSR MF_REG(0xE000E010u)
#define SYST_RVR MF_REG(0xE000E014u)
#define SYST_CVR MF_REG(0xE000E018u)
#define NVIC_ISER(n) MF_REG(0xE000E100u + 4u * (n))
#define SCB_VTOR MF_REG(0xE000ED08u)
#define SCB_SHCSR MF_REG(0xE000ED24u)
#define SCB_CFSR MF_REG(0xE000ED28u)
#define SCB_HFSR MF_REG(0xE000ED2Cu)
#define SCB_MMFAR MF_REG(0xE000ED34u)
#define SCB_BFAR MF_REG(0xE000ED38u)
#define SCB_CPACR MF_REG(0xE000ED88u)

static inline void mf_enable_irq(uint32_t irq) { NVIC_ISER(irq / 32u) = 1u << (irq % 32u); }
static inline void mf_irq_disable_all(void) { __asm volatile("cpsid i" ::: "memory"); }
static inline void mf_irq_enable_all(void) { __asm volatile("cpsie i" ::: "memory"); }
static inline void mf_wfi(void) { __asm volatile("wfi" ::: "memory"); }

#endif
