"""The frame format, checked on both sides: Python's encoder against the firmware's C."""

from __future__ import annotations

import ctypes
import subprocess
import zlib

import numpy as np
import pytest

from mcuforge import protocol, resources
from mcuforge.protocol import Cmd, FrameError


@pytest.fixture(scope="module")
def cframe(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """The firmware's frame.c built for the host."""
    out = tmp_path_factory.mktemp("frame")
    (out / "protocol_codes.h").write_text(protocol.c_header())
    lib = out / "libframe.so"
    src = resources.firmware_dir() / "app" / "frame.c"
    subprocess.run(
        [
            "cc",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-shared",
            "-fPIC",
            f"-I{out}",
            str(src),
            "-o",
            str(lib),
        ],
        check=True,
    )
    dll = ctypes.CDLL(str(lib))
    dll.mf_crc32.restype = ctypes.c_uint32
    dll.mf_crc32.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    dll.mf_cobs_encode.restype = ctypes.c_size_t
    dll.mf_cobs_encode.argtypes = [
        ctypes.c_char_p,
        ctypes.c_size_t,
        ctypes.c_char_p,
        ctypes.c_size_t,
    ]
    dll.mf_cobs_decode.restype = ctypes.c_int32
    dll.mf_cobs_decode.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return dll


def _samples() -> list[bytes]:
    rng = np.random.default_rng(7)
    out = [b"", b"\x00", b"\x00\x00", b"\x01" * 253, b"\x01" * 254, b"\x01" * 255, b"\x01" * 600]
    for n in (1, 5, 100, 254, 255, 508, 520):
        data = rng.integers(0, 256, n, dtype=np.uint8)
        data[rng.random(n) < 0.2] = 0
        out.append(data.tobytes())
    return out


@pytest.mark.parametrize("data", _samples(), ids=lambda d: f"{len(d)}B")
def test_c_and_python_agree_on_cobs_and_crc(cframe: ctypes.CDLL, data: bytes) -> None:
    from cobs import cobs

    assert cframe.mf_crc32(data, len(data)) == zlib.crc32(data)
    buf = ctypes.create_string_buffer(len(data) + len(data) // 254 + 2)
    n = cframe.mf_cobs_encode(data, len(data), buf, len(buf))
    assert cobs.decode(buf.raw[:n]) == data
    encoded = ctypes.create_string_buffer(cobs.encode(data), len(cobs.encode(data)))
    assert cframe.mf_cobs_decode(encoded, len(encoded)) == len(data)
    assert encoded.raw[: len(data)] == data


def test_c_cobs_refuses_a_too_small_buffer(cframe: ctypes.CDLL) -> None:
    buf = ctypes.create_string_buffer(10)
    assert cframe.mf_cobs_encode(b"\x01" * 20, 20, buf, 10) == 0


def test_frame_roundtrip_and_damage_detection() -> None:
    wire = protocol.encode(Cmd.SET_INPUT, 7, b"\x00\x01payload\x00")
    assert wire[0] == 0 and wire[-1] == 0 and 0 not in wire[1:-1]
    frame = protocol.decode(wire[1:-1])
    assert (frame.cmd, frame.seq, frame.payload) == (Cmd.SET_INPUT, 7, b"\x00\x01payload\x00")
    damaged = bytearray(wire[1:-1])
    damaged[5] ^= 0x10
    with pytest.raises(FrameError):
        protocol.decode(bytes(damaged))
    from cobs import cobs

    with pytest.raises(FrameError, match="shorter than a header"):
        protocol.decode(cobs.encode(b"\x01\x02"))
    with pytest.raises(FrameError, match="bad COBS"):
        protocol.decode(wire[1:4])


def damage_payload_byte(wire: bytes, payload_offset: int) -> bytes:
    """``wire`` (one encoded frame, delimiters included) with the byte that carries payload byte
    ``payload_offset`` changed in place, after COBS encoding: the COBS code bytes (the run
    lengths) are left alone, so the frame still decodes, to a body whose CRC is wrong."""
    code_positions, pos = set(), 1
    while pos < len(wire) - 1:
        code_positions.add(pos)
        pos += wire[pos]
    data_positions = [i for i in range(1, len(wire) - 1) if i not in code_positions]
    # Body = header (4 bytes) + payload; data bytes map to body bytes in order, except that
    # each code byte but the last also stands for one (zero) body byte.
    body_index, target = 0, 4 + payload_offset
    for i in range(1, len(wire) - 1):
        if i in code_positions:
            if i != 1:
                body_index += 1  # the zero this code byte replaced
            continue
        if body_index == target:
            out = bytearray(wire)
            out[i] = out[i] ^ 0x21 or 0x21
            assert i in data_positions
            return bytes(out)
        body_index += 1
    raise ValueError(f"payload byte {payload_offset} is a zero (encoded as a code byte)")


def test_a_damaged_payload_byte_is_a_crc_mismatch() -> None:
    """The damage the CRC exists for: COBS decodes fine, only the CRC can tell."""
    wire = protocol.encode(Cmd.SET_INPUT, 3, b"\x00\x01\x02\x03tensor bytes")
    for offset in (1, 6, 11):
        damaged = damage_payload_byte(wire, offset)
        assert len(damaged) == len(wire) and 0 not in damaged[1:-1]
        with pytest.raises(FrameError, match="CRC mismatch"):
            protocol.decode(damaged[1:-1])


def test_payload_limit() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        protocol.encode(Cmd.PING, 0, bytes(protocol.MAX_PAYLOAD + 1))


def test_generated_header_has_every_code() -> None:
    header = protocol.c_header()
    for cmd in Cmd:
        assert f"#define MF_CMD_{cmd.name} 0x{cmd.value:02X}" in header


def test_fill_pattern_matches_murmur3_finalizer_word_by_word() -> None:
    # An independent plain-integer computation of the documented stream (docs/protocol.md); the
    # firmware's mf_mix32 must produce the same, which every QEMU test's FILL_INPUT vectors check.
    def mix32(x: int) -> int:
        x ^= x >> 16
        x = (x * 0x85EBCA6B) & 0xFFFFFFFF
        x ^= x >> 13
        x = (x * 0xC2B2AE35) & 0xFFFFFFFF
        return x ^ (x >> 16)

    seed = 0xDEADBEEF
    want = b"".join(mix32((seed + i * 0x9E3779B9) & 0xFFFFFFFF).to_bytes(4, "little")
                    for i in range(5))
    assert protocol.fill_pattern(seed, 19) == want[:19]
    assert protocol.fill_pattern(1, 16) != protocol.fill_pattern(2, 16)
