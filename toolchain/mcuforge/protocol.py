"""The device protocol: command codes, status codes and frame encoding (docs/protocol.md).

This module is the one place the codes are written down; the firmware's ``protocol_codes.h`` is
generated from it at build time (:func:`c_header`).

A frame on the wire is COBS-encoded and delimited by a zero byte before and after::

    0x00 | COBS( cmd:u8 | seq:u8 | len:u16le | payload[len] | crc32le(cmd..payload) ) | 0x00

COBS leaves no zero byte inside a frame, so a receiver that sees garbage or a truncated frame
resynchronises at the next zero: the damaged frame fails its length or CRC check and is answered
with a NAK; the next good frame is handled normally.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from cobs import cobs

PROTOCOL_VERSION = 2
#: Largest payload either side sends; the firmware sizes its receive buffer from it.
MAX_PAYLOAD = 512
#: Tensor bytes per SET_INPUT / GET_OUTPUT chunk (each acknowledged: UARTs have no flow control).
CHUNK_BYTES = 256
HEADER = struct.Struct("<BBH")

#: The code spaces are disjoint, so no reply can be mistaken for an event or a NAK:
#: requests 0x01-0x3F, replies 0x81-0xBF (request | RESPONSE), events 0xC0-0xCF, NAK 0xFF.
REQUEST_FIRST, REQUEST_LAST = 0x01, 0x3F
EVENT_FIRST, EVENT_LAST = 0xC0, 0xCF


class Cmd(IntEnum):
    PING = 0x01  # payload echoed back
    INFO = 0x02  # -> version, counts, arena and state bytes, model count, SHA-256, names
    TENSOR_INFO = 0x03  # kind:u8 index:u16 -> dtype, dims, scale, zero point, bytes
    SET_INPUT = 0x04  # index:u8 offset:u32 data -> ok
    INVOKE = 0x05  # -> status:i32 ticks:u64
    GET_OUTPUT = 0x06  # index:u8 offset:u32 length:u16 -> data
    READ_TENSOR = 0x07  # debug builds: index:u16 offset:u32 length:u16 -> data
    GET_PROFILE = 0x08  # profiling builds: first:u16 count:u16 -> ticks:u32 per step
    FILL_INPUT = 0x09  # index:u8 seed:u32 -> ok; the device fills the input with pattern(seed)
    RESET = 0x0A  # restore the selected model's initial state (streaming models)
    SELECT_MODEL = 0x0B  # index:u8 -> ok; later commands address that model of the image
    # Pipelines (images built by mcuforge.pipeline; docs/protocol.md "Pipelines"):
    PIPELINE_INFO = 0x10  # -> record queue bytes, front-end model index, the pipeline's layout
    PIPELINE_RESET = 0x11  # trace:u8 source:u8 -> ok; a new stream
    PIPELINE_PUSH = 0x12  # offset:u32 ack:u32 samples -> samples, frames, record end, records
    RESPONSE = 0x80  # bit set on every reply: reply cmd = request cmd | RESPONSE
    EVENT_READY = 0xC0  # sent once at boot; payload: version:u8 firmware name
    EVENT_FAULT = 0xC1  # HardFault/UsageFault report; payload: ASCII text
    EVENT_DETECTION = 0xC2  # a pipeline detection; payload: see docs/protocol.md
    NAK = 0xFF  # frame-level error or a code outside the request space; payload: reason:u8 [cmd]


class Status(IntEnum):
    OK = 0
    UNKNOWN_COMMAND = 1
    BAD_ARGUMENT = 2
    OUT_OF_RANGE = 3
    INVOKE_FAILED = 4
    NOT_AVAILABLE = 5


class NakReason(IntEnum):
    BAD_CRC = 1
    BAD_LENGTH = 2
    OVERFLOW = 3
    BAD_ENCODING = 4
    NOT_A_REQUEST = 5  # the frame's code is outside 0x01-0x3F; payload[1] is the code


class TensorKind(IntEnum):
    INPUT = 0
    OUTPUT = 1
    DEBUG = 2


def is_request(code: int) -> bool:
    return REQUEST_FIRST <= code <= REQUEST_LAST


def is_event(code: int) -> bool:
    return EVENT_FIRST <= code <= EVENT_LAST


STATUS_TEXT = {
    Status.UNKNOWN_COMMAND: "the firmware does not know this command",
    Status.BAD_ARGUMENT: "malformed arguments",
    Status.OUT_OF_RANGE: "tensor index, offset or length out of range",
    Status.INVOKE_FAILED: "inference failed on the device",
    Status.NOT_AVAILABLE: "not available in this build (debug or profiling build needed)",
}


def _mix32(x: np.ndarray) -> np.ndarray:
    """murmur3's 32-bit finalizer; the firmware's mf_mix32 computes the same."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


def fill_pattern(seed: int, nbytes: int) -> bytes:
    """The byte stream FILL_INPUT writes: word i = mix32(seed + i * 0x9E3779B9), little-endian.

    Random test vectors are made on the device from a seed instead of crossing the serial line
    (emulated UARTs move ~20 KiB/s, real ones at 115200 baud ~11 KiB/s); the host computes the
    same bytes for the reference.
    """
    words = (nbytes + 3) // 4
    with np.errstate(over="ignore"):
        idx = np.arange(words, dtype=np.uint32)
        stream = _mix32(np.uint32(seed & 0xFFFFFFFF) + idx * np.uint32(0x9E3779B9))
    return stream.astype("<u4").tobytes()[:nbytes]


def version_mismatch(version: int) -> str:
    return (f"the firmware speaks mcuforge protocol version {version}, this mcuforge speaks "
            f"version {PROTOCOL_VERSION}: rebuild the firmware with this mcuforge "
            "(mcuforge build / mcuforge test rebuild it)")


def status_text(code: int) -> str:
    try:
        return STATUS_TEXT.get(Status(code), Status(code).name)
    except ValueError:
        return f"unknown status {code}"


def nak_text(code: int) -> str:
    try:
        return NakReason(code).name.lower().replace("_", " ")
    except ValueError:
        return f"reason {code}"


@dataclass(frozen=True)
class Frame:
    cmd: int
    seq: int
    payload: bytes


def encode(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    """One frame ready for the wire, delimiters included."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    body = HEADER.pack(cmd, seq & 0xFF, len(payload)) + payload
    body += struct.pack("<I", zlib.crc32(body))
    return b"\x00" + cobs.encode(body) + b"\x00"


class FrameError(ValueError):
    """A received frame failed decoding, length or CRC checks."""


def decode(encoded: bytes) -> Frame:
    """Decode the bytes between two delimiters; raises :class:`FrameError`."""
    try:
        body = cobs.decode(encoded)
    except cobs.DecodeError as exc:
        raise FrameError(f"bad COBS encoding ({exc})") from None
    if len(body) < HEADER.size + 4:
        raise FrameError(f"frame of {len(body)} bytes is shorter than a header")
    cmd, seq, length = HEADER.unpack_from(body)
    if len(body) != HEADER.size + length + 4:
        raise FrameError(f"length field says {length} bytes, frame holds {len(body) - 8}")
    (crc,) = struct.unpack_from("<I", body, len(body) - 4)
    if crc != zlib.crc32(body[:-4]):
        raise FrameError("CRC mismatch")
    return Frame(cmd, seq, body[HEADER.size : HEADER.size + length])


def c_header() -> str:
    """``protocol_codes.h`` for the firmware, generated from the enums above."""
    lines = [
        "/* Generated from mcuforge/protocol.py: do not edit. */",
        "#ifndef MCUFORGE_PROTOCOL_CODES_H",
        "#define MCUFORGE_PROTOCOL_CODES_H",
        f"#define MF_PROTOCOL_VERSION {PROTOCOL_VERSION}",
        f"#define MF_MAX_PAYLOAD {MAX_PAYLOAD}",
        f"#define MF_REQUEST_FIRST 0x{REQUEST_FIRST:02X}",
        f"#define MF_REQUEST_LAST 0x{REQUEST_LAST:02X}",
    ]
    for prefix, enum in (
        ("MF_CMD", Cmd),
        ("MF_STATUS", Status),
        ("MF_NAK", NakReason),
        ("MF_KIND", TensorKind),
    ):
        lines += [f"#define {prefix}_{m.name} 0x{m.value:02X}" for m in enum]
    lines.append("#endif")
    return "\n".join(lines) + "\n"
