/* RISC-V machine-mode startup for images loaded into RAM by a ROM (ESP32-C3): set the stack and
 * global pointer, zero .bss, install a trap handler that reports the cause, call the platform's
 * early hook, then main. .data needs no copy: the loader already put it in place. */
#include <stddef.h>
#include <stdint.h>

#include "board_config.h"
#include "platform.h"
#include "riscv.h"

extern uint32_t _sbss, _ebss;
extern int main(void);

void mf_start_c(void) __attribute__((noreturn, used));
void mf_trap_entry(void);
void mf_trap_vectors(void);

__attribute__((naked, section(".text.entry"), used)) void _start(void) {
    __asm volatile(
        ".option push\n"
        ".option norelax\n"
        "la gp, __global_pointer$\n"
        ".option pop\n"
        "csrci mstatus, 8\n" /* MIE off: the ROM may hand over with interrupts enabled */
        "la sp, _estack\n"
        "j mf_start_c\n");
}

void mf_start_c(void) {
    platform_early_init();
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0u;
    }
    /* Vectored mode (bit 0): the ESP32-C3 core implements only that one. Every slot of the
     * table leads to the same report, so the table is also right for a core in direct mode. */
    MF_CSR_WRITE(mtvec, (uint32_t)(uintptr_t)&mf_trap_vectors | 1u);
    (void)main();
    for (;;) {
        platform_idle();
    }
}

static void hex32(char *out, uint32_t v) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 7; i >= 0; --i) {
        out[i] = digits[v & 0xFu];
        v >>= 4;
    }
}

/* Any trap is fatal here (nothing enables interrupts): report it as a FAULT event. */
__attribute__((used, noreturn)) void mf_trap_report(void) {
    const uint32_t values[] = {MF_CSR_READ(mcause), MF_CSR_READ(mepc), MF_CSR_READ(mtval)};
    const char *labels[] = {"trap mcause=", " mepc=", " mtval="};
    char text[64];
    size_t n = 0;
    for (int i = 0; i < 3; ++i) {
        for (const char *s = labels[i]; *s != '\0'; ++s) {
            text[n++] = *s;
        }
        hex32(&text[n], values[i]);
        n += 8u;
    }
    text[n] = '\0';
    mcuforge_fault(text);
}

/* 32 four-byte jumps (norvc: no compressed 2-byte ones), 256-byte aligned as mtvec requires. */
__attribute__((naked, aligned(256))) void mf_trap_vectors(void) {
    __asm volatile(
        ".option push\n"
        ".option norvc\n"
        ".rept 32\n"
        "j mf_trap_entry\n"
        ".endr\n"
        ".option pop\n");
}

/* The trap may come from anywhere, with any stack: start over on a fresh one at the top (the
 * report never returns). */
__attribute__((naked, aligned(4))) void mf_trap_entry(void) {
    __asm volatile(
        "la sp, _estack\n"
        "j mf_trap_report\n");
}
