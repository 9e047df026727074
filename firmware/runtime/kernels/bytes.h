/* Moving rows of bytes: CONCATENATION, SPLIT and the strided copy behind STRIDED_SLICE, SLICE
 * and TRANSPOSE spend all their time here, and a streaming model's state shifts are such copies
 * (mww_okay_nabu: 11 of its 72 thousand instructions per step). The C library's memcpy
 * (picolibc for Cortex-M) moves a word per load; copying 16-byte blocks lets the compiler use
 * LDM/STM, four words per instruction on Cortex-M: 64 bytes in 16 instructions instead of 52.
 *
 * Same contract as memcpy (no overlap, except what a forward copy tolerates: every block is
 * loaded before it is stored, blocks in increasing address order, as picolibc does). Blocks need
 * source and destination to share their offset within a word; otherwise memcpy does it.
 *
 * The DSP depthwise kernel keeps its own mf_copy_aligned (kernels/dsp/dsp.h) for window rows
 * it knows to be aligned and a multiple of 4 bytes: this one's checks there cost person_detect
 * 51 thousand instructions and 256 bytes of code (measured). */
#ifndef MCUFORGE_KERNEL_BYTES_H
#define MCUFORGE_KERNEL_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_MVE)
/* Helium's memcpy already moves 16 bytes per vector load and store. */
static inline void mf_copy_bytes(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
#else
static inline void mf_copy_bytes(void *dst, const void *src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    if (n < 16 || (((uintptr_t)d ^ (uintptr_t)s) & 3u) != 0) {
        memcpy(d, s, n);
        return;
    }
    for (; ((uintptr_t)d & 3u) != 0; --n) {
        *d++ = *s++;
    }
    uint32_t *dw = __builtin_assume_aligned(d, 4);
    const uint32_t *sw = __builtin_assume_aligned(s, 4);
    uint32_t *const blocks_end = dw + (n >> 4) * 4;
    /* Fixed sizes on aligned words: expanded inline, as LDM/STM where the target has them. */
    for (; blocks_end - dw >= 16; dw += 16, sw += 16) {
        __builtin_memcpy(dw, sw, 64);
    }
    for (; dw != blocks_end; dw += 4, sw += 4) {
        __builtin_memcpy(dw, sw, 16);
    }
    for (n &= 15; n >= 4; n -= 4, ++dw, ++sw) {
        __builtin_memcpy(dw, sw, 4); /* memcpy, not a uint32_t lvalue: the bytes are int8 */
    }
    d = (uint8_t *)dw;
    s = (const uint8_t *)sw;
    for (; n > 0; --n) {
        *d++ = *s++;
    }
}
#endif

#endif
