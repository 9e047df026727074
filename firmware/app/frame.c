#include "frame.h"

/* CRC-32 (reflected 0xEDB88320, as zlib) with a 16-entry table: 64 bytes of flash instead of
 * 1 KiB, two lookups per byte. */
uint32_t mf_crc32(const uint8_t *data, size_t len) {
    static const uint32_t table[16] = {
        0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
        0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
        0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
    };
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; ++i) {
        crc ^= data[i];
        crc = (crc >> 4) ^ table[crc & 0xFu];
        crc = (crc >> 4) ^ table[crc & 0xFu];
    }
    return ~crc;
}

size_t mf_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap) {
    if (len + len / 254u + 1u > cap) {
        return 0;
    }
    size_t out = 1, code_at = 0;
    uint8_t code = 1;
    for (size_t i = 0; i < len; ++i) {
        if (src[i] == 0u) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
            continue;
        }
        dst[out++] = src[i];
        if (++code == 0xFFu) {
            dst[code_at] = code;
            code_at = out++;
            code = 1;
        }
    }
    dst[code_at] = code;
    return out;
}

int32_t mf_cobs_decode(uint8_t *buf, size_t len) {
    size_t in = 0, out = 0;
    while (in < len) {
        const uint8_t code = buf[in++];
        if (code == 0u) {
            return -1;
        }
        for (uint8_t i = 1; i < code; ++i) {
            if (in >= len) {
                return -1;
            }
            buf[out++] = buf[in++];
        }
        if (code != 0xFFu && in < len) {
            buf[out++] = 0u;
        }
    }
    return (int32_t)out;
}
