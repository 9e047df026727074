/* memcpy for Cortex-M firmware. picolibc's is built for size and copies one byte at a time
 * (about 4 instructions per byte), and the data-movement kernels (concatenation, slices, splits,
 * a streaming model's history) copy thousands of bytes per inference: a wake-word step spent
 * 40 % of its instructions there. Armv7-M and Armv8-M load and store words at any alignment, so
 * whole words move four at a time whatever the pointers; this definition replaces the library's
 * at link time. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint32_t mf_word_t __attribute__((aligned(1), may_alias));

/* The loops must stay loops: GCC would otherwise recognise them as memcpy and call itself. */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *
memcpy(void *restrict dst, const void *restrict src, size_t n) {
    uint8_t *d = dst;
    const uint8_t *s = src;
    for (; n >= 16u; n -= 16u, d += 16u, s += 16u) {
        const uint32_t a = ((const mf_word_t *)s)[0], b = ((const mf_word_t *)s)[1];
        const uint32_t c = ((const mf_word_t *)s)[2], e = ((const mf_word_t *)s)[3];
        ((mf_word_t *)d)[0] = a;
        ((mf_word_t *)d)[1] = b;
        ((mf_word_t *)d)[2] = c;
        ((mf_word_t *)d)[3] = e;
    }
    for (; n >= 4u; n -= 4u, d += 4u, s += 4u) {
        *(mf_word_t *)d = *(const mf_word_t *)s;
    }
    while (n-- > 0u) {
        *d++ = *s++;
    }
    return dst;
}
