/* Cortex-M startup: vector table, reset (copy .data, zero .bss, enable the FPU), fault reports,
 * and the SysTick-based instruction counter. No vendor HAL. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "cortex_m.h"
#include "platform.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void);
void Default_Handler(void);
void MF_UART_IRQ_HANDLER(void);

typedef void (*mf_vector_t)(void);

/* MF_IRQ_VECTORS (board_config.h, generated from the board file) puts the console UART's
 * handler in its IRQ slot and Default_Handler everywhere else. */
__attribute__((section(".vectors"), used)) const mf_vector_t mf_vectors[] = {
    (mf_vector_t)(uintptr_t)&_estack,
    Reset_Handler,
    Fault_Handler, /* NMI */
    Fault_Handler, /* HardFault */
    Fault_Handler, /* MemManage */
    Fault_Handler, /* BusFault */
    Fault_Handler, /* UsageFault */
    Fault_Handler, /* SecureFault (Armv8-M) */
    0, 0, 0,
    Default_Handler, /* SVCall */
    Default_Handler, /* DebugMonitor */
    0,
    Default_Handler, /* PendSV */
    SysTick_Handler,
    MF_IRQ_VECTORS
};

void Reset_Handler(void) {
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* CP10/CP11 full access before anything else: without it the first FPU/MVE instruction
     * faults, and the compiler may vectorize the copy loops below with MVE instructions. */
    SCB_CPACR |= (0xFu << 20);
    __asm volatile("dsb\n isb" ::: "memory");
#endif
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    SCB_VTOR = (uint32_t)(uintptr_t)mf_vectors;
    /* Separate MemManage/BusFault/UsageFault so their status is not folded into HardFault. */
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
    (void)main();
    for (;;) {
        mf_wfi();
    }
}

static void hex32(char *out, uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i) {
        out[i] = digits[v & 0xFu];
        v >>= 4;
    }
}

/* Called with the stacked exception frame (r0-r3, r12, lr, pc, xpsr). */
__attribute__((used, noreturn)) void mf_fault_report(const uint32_t *frame, uint32_t exc_return) {
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    static const char *const names[] = {"?", "?", "NMI", "HardFault", "MemManage", "BusFault",
                                        "UsageFault", "SecureFault"};
    const char *name = (ipsr & 0x1FFu) < 8u ? names[ipsr & 0x1FFu] : "Fault";
    /* "<name> pc=xxxxxxxx lr=xxxxxxxx cfsr=xxxxxxxx hfsr=xxxxxxxx addr=xxxxxxxx" */
    char text[96];
    size_t n = 0;
    for (const char *s = name; *s != '\0' && n < 16u; ++s) {
        text[n++] = *s;
    }
    const char *labels[] = {" pc=", " lr=", " cfsr=", " hfsr=", " bfar=", " exc="};
    const uint32_t values[] = {frame[6], frame[5], SCB_CFSR, SCB_HFSR, SCB_BFAR, exc_return};
    for (int i = 0; i < 6; ++i) {
        for (const char *s = labels[i]; *s != '\0'; ++s) {
            text[n++] = *s;
        }
        hex32(&text[n], values[i]);
        n += 8u;
    }
    text[n] = '\0';
    mcuforge_fault(text);
}

__attribute__((naked)) void Fault_Handler(void) {
    __asm volatile(
        "tst lr, #4\n"
        "ite eq\n"
        "mrseq r0, msp\n"
        "mrsne r0, psp\n"
        "mov r1, lr\n"
        "b mf_fault_report\n");
}

void Default_Handler(void) { mcuforge_fault("unexpected interrupt"); }

/* ---- instruction counter: SysTick on the core clock, 24 bits, wraps counted ---- */
static volatile uint32_t systick_wraps;

void SysTick_Handler(void) { systick_wraps++; }

void platform_counter_start(void) {
    SYST_CSR = 0u;
    SYST_RVR = 0x00FFFFFFu;
    SYST_CVR = 0u;
    systick_wraps = 0u;
    SYST_CSR = 7u; /* enable, interrupt on wrap, core clock */
    /* The counter holds 0 until its first reload; readings are only monotonic after it. */
    while (SYST_CVR == 0u) {
    }
}

uint64_t platform_counter_read(void) {
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return ((uint64_t)wraps << 24) + (0x00FFFFFFu - value);
}

void platform_counter_stop(void) { SYST_CSR = 0u; }
