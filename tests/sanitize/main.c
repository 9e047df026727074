/* A standalone host program around a generated model, for sanitizer builds
 * (tests/test_sanitizers.py): reads every input's bytes from argv[1], invokes once per vector,
 * writes every output's bytes to argv[2]. A separate executable, not a ctypes library: the
 * sanitizer runtimes then start with the process, with nothing to preload into Python. */
#include <stdint.h>
#include <stdio.h>

/* firmware/platform/host/host_api.c, for the image's first (only) model */
uint32_t mf_num_tensors(uint32_t model, int kind);
void *mf_tensor_data(uint32_t model, int kind, uint32_t i);
uint32_t mf_tensor_bytes(uint32_t model, int kind, uint32_t i);
int mf_invoke(uint32_t model);

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s INPUTS OUTPUTS\n", argv[0]);
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL) {
        perror("open");
        return 2;
    }
    for (;;) {
        for (uint32_t i = 0; i < mf_num_tensors(0u, 0); ++i) {
            const uint32_t n = mf_tensor_bytes(0u, 0, i);
            if (fread(mf_tensor_data(0u, 0, i), 1, n, in) != n) {
                fclose(out);
                return i == 0 ? 0 : 3; /* a clean end only between vectors */
            }
        }
        const int status = mf_invoke(0u);
        if (status != 0) {
            fprintf(stderr, "invoke returned %d\n", status);
            return 4;
        }
        for (uint32_t i = 0; i < mf_num_tensors(0u, 1); ++i) {
            const uint32_t n = mf_tensor_bytes(0u, 1, i);
            if (fwrite(mf_tensor_data(0u, 1, i), 1, n, out) != n) {
                return 5;
            }
        }
    }
}
