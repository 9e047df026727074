/* Walking two broadcast inputs in step with the output of an element-wise kernel: a 6-D odometer
 * over the output extents that keeps each input's element offset (stride 0 on its broadcast
 * axes). Shared by ADD and MUL in every kernel family. */
#ifndef MCUFORGE_BROADCAST_H
#define MCUFORGE_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int32_t index[6];
    ptrdiff_t a, b; /* element offsets into input 1 and input 2 */
} mf_broadcast_t;

/* Total output elements of extents `dims`. */
static inline size_t mf_broadcast_size(const int32_t dims[6]) {
    size_t n = 1;
    for (int k = 0; k < 6; ++k) {
        n *= (size_t)dims[k];
    }
    return n;
}

static inline void mf_broadcast_next(mf_broadcast_t *it, const int32_t dims[6],
                                     const int32_t strides1[6], const int32_t strides2[6]) {
    for (int k = 5; k >= 0; --k) {
        it->a += strides1[k];
        it->b += strides2[k];
        if (++it->index[k] < dims[k]) {
            return;
        }
        it->a -= (ptrdiff_t)strides1[k] * dims[k];
        it->b -= (ptrdiff_t)strides2[k] * dims[k];
        it->index[k] = 0;
    }
}

#endif
