/* Frame encoding shared with mcuforge/protocol.py (see docs/protocol.md): COBS, zero-delimited,
 * header cmd:u8 seq:u8 len:u16le, payload, CRC-32 (zlib's) little-endian. */
#ifndef MCUFORGE_FRAME_H
#define MCUFORGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "protocol_codes.h"

#define MF_FRAME_HEADER 4u
#define MF_FRAME_BODY_MAX (MF_FRAME_HEADER + MF_MAX_PAYLOAD + 4u)
/* COBS adds one byte per 254 plus one. */
#define MF_FRAME_ENCODED_MAX (MF_FRAME_BODY_MAX + MF_FRAME_BODY_MAX / 254u + 2u)

uint32_t mf_crc32(const uint8_t *data, size_t len);

/* Encodes src into dst (capacity cap); returns the encoded length, 0 if it does not fit. */
size_t mf_cobs_encode(const uint8_t *src, size_t len, uint8_t *dst, size_t cap);

/* Decodes in place; returns the decoded length or -1 on a malformed encoding. */
int32_t mf_cobs_decode(uint8_t *buf, size_t len);

#endif
