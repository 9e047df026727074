"""The model-level device API over a :class:`Link`: info, tensors in chunks, invoke, profile."""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mcuforge import protocol
from mcuforge.errors import DeviceError
from mcuforge.model.ir import DTYPE_CODES, NUMPY_DTYPES
from mcuforge.protocol import Cmd, TensorKind
from mcuforge.target.link import Link
from mcuforge.vectors import Vector

_DTYPE_NAMES = {code: name for name, code in DTYPE_CODES.items()}


@dataclass
class DeviceInfo:
    protocol_version: int
    inputs: int
    outputs: int
    profiling: bool
    debug: bool
    debug_tensors: int
    steps: int
    arena_bytes: int
    max_payload: int
    firmware: str
    model: str
    state_bytes: int = 0
    models: int = 1
    selected: int = 0
    sha256: str = ""
    build_id: str = ""


@dataclass
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    scale: float
    zero_point: int
    bytes: int


@dataclass
class InvokeResult:
    ticks: int
    instructions: int


def _text(data: bytes, at: int) -> tuple[str, int]:
    n = data[at]
    return data[at + 1 : at + 1 + n].decode(errors="replace"), at + 1 + n


class Device:
    """A running mcuforge firmware.

    ``ticks_to_instructions`` converts the firmware's counter ticks to instructions; only the
    target knows the ratio (QEMU: clock and icount shift; Renode: its performance setting).
    """

    def __init__(
        self,
        link: Link,
        ticks_to_instructions: Callable[[int], int] = lambda t: t,
        *,
        invoke_timeout: float = 120.0,
        chunk: int = protocol.CHUNK_BYTES,
    ):
        self.link = link
        self.ticks_to_instructions = ticks_to_instructions
        self.invoke_timeout = invoke_timeout
        self.chunk = chunk

    def ping(self, data: bytes = b"mcuforge") -> bytes:
        return self.link.request(Cmd.PING, data)

    def info(self) -> DeviceInfo:
        d = self.link.request(Cmd.INFO)
        version = d[0] if d else 0
        if version != protocol.PROTOCOL_VERSION:
            raise DeviceError(protocol.version_mismatch(version))
        n_in, n_out, flags = d[1], d[2], d[3]
        n_debug, steps, arena, max_payload, state, models, selected = struct.unpack_from(
            "<HHIHIBB", d, 4)
        sha = d[20:52].hex()
        firmware, at = _text(d, 52)
        model, at = _text(d, at)
        build_id, _ = _text(d, at)
        return DeviceInfo(
            version, n_in, n_out, bool(flags & 1), bool(flags & 2), n_debug, steps, arena,
            max_payload, firmware, model, state, models, selected, sha, build_id,
        )

    def reset(self) -> None:
        """Restore the selected model's initial state (streaming models start a new stream)."""
        self.link.request(Cmd.RESET)

    def select_model(self, index: int) -> None:
        """Address model ``index`` of a multi-model image in the following commands."""
        self.link.request(Cmd.SELECT_MODEL, bytes([index]))

    def tensor_info(self, kind: TensorKind, index: int) -> TensorInfo:
        d = self.link.request(Cmd.TENSOR_INFO, struct.pack("<BH", kind, index))
        dtype, ndim = d[0], d[1]
        shape = struct.unpack_from(f"<{ndim}I", d, 2)
        scale, zp, nbytes = struct.unpack_from("<fiI", d, 2 + 4 * ndim)
        return TensorInfo(_DTYPE_NAMES.get(dtype, f"type{dtype}"), tuple(shape), scale, zp, nbytes)

    def set_input(self, index: int, data: bytes) -> None:
        for offset in range(0, len(data), self.chunk):
            part = data[offset : offset + self.chunk]
            self.link.request(Cmd.SET_INPUT, struct.pack("<BI", index, offset) + part)

    def _read(self, cmd: Cmd, index_fmt: str, index: int, nbytes: int) -> bytes:
        out = bytearray()
        for offset in range(0, nbytes, self.chunk):
            n = min(self.chunk, nbytes - offset)
            part = self.link.request(cmd, struct.pack(f"<{index_fmt}IH", index, offset, n))
            if len(part) != n:
                raise DeviceError(f"{cmd.name} returned {len(part)} bytes, asked for {n}")
            out += part
        return bytes(out)

    def get_output(self, index: int, nbytes: int) -> bytes:
        return self._read(Cmd.GET_OUTPUT, "B", index, nbytes)

    def read_tensor(self, index: int, nbytes: int) -> bytes:
        return self._read(Cmd.READ_TENSOR, "H", index, nbytes)

    def invoke(self) -> InvokeResult:
        """Run the model once. Retries of a lost reply reuse the request's sequence number: the
        firmware then resends its cached reply instead of running the model a second time."""
        d = self.link.request(Cmd.INVOKE, timeout=self.invoke_timeout, same_seq=True)
        _status, lo, hi = struct.unpack_from("<iII", d)
        ticks = lo | (hi << 32)
        return InvokeResult(ticks, self.ticks_to_instructions(ticks))

    def profile(self, steps: int) -> list[int]:
        """Instructions per step of the last invoke (profiling builds)."""
        per_request = (protocol.MAX_PAYLOAD - 1) // 4
        ticks: list[int] = []
        for first in range(0, steps, per_request):
            count = min(per_request, steps - first)
            d = self.link.request(Cmd.GET_PROFILE, struct.pack("<HH", first, count))
            ticks += struct.unpack(f"<{count}I", d)
        return [self.ticks_to_instructions(t) for t in ticks]

    def fill_input(self, index: int, seed: int) -> None:
        """Let the device write ``protocol.fill_pattern(seed)`` into input ``index``."""
        self.link.request(Cmd.FILL_INPUT, struct.pack("<BI", index, seed))

    def run(self, vector: Vector, outputs: list[dict]) -> tuple[list[np.ndarray], int]:
        """Set inputs, invoke, read outputs (shapes and dtypes from the build manifest)."""
        for i, arr in enumerate(vector.arrays):
            seed = vector.seeds[i] if i < len(vector.seeds) else None
            if seed is not None:
                self.fill_input(i, seed)
            else:
                self.set_input(i, np.ascontiguousarray(arr).tobytes())
        result = self.invoke()
        got = []
        for i, info in enumerate(outputs):
            raw = self.get_output(i, info["bytes"])
            got.append(np.frombuffer(raw, dtype=NUMPY_DTYPES[info["dtype"]]).reshape(info["shape"]))
        return got, result.instructions
