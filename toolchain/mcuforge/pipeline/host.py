"""A pipeline image built for this machine: the same generated C, kernels, stage runner and
protocol handlers in a shared library, driven through the same requests as a device
(``mcuforge listen --emulator host``; fast bit-exactness tests)."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcuforge import protocol, resources
from mcuforge.errors import DeviceError
from mcuforge.pipeline import codegen
from mcuforge.pipeline.firmware import compile_pipeline, pipeline_sources
from mcuforge.pipeline.layout import PipelineLayout
from mcuforge.protocol import Cmd, Frame, Status
from mcuforge.target.host import build_host_library

_EVENT_BUFFER = 1 << 16


class HostLink:
    """:class:`mcuforge.target.link.Link`'s ``request``/``take_events`` over the library."""

    name = "host"

    def __init__(self, lib: ctypes.CDLL):
        self._lib = lib
        lib.mf_host_request.restype = ctypes.c_int32
        lib.mf_host_request.argtypes = [ctypes.c_uint8, ctypes.c_char_p, ctypes.c_uint32,
                                        ctypes.c_void_p, ctypes.c_uint32]
        lib.mf_host_take_events.restype = ctypes.c_uint32
        lib.mf_host_take_events.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
        self._events: list[Frame] = []

    def request(self, cmd: int, payload: bytes = b"", *, timeout: float | None = None) -> bytes:
        out = ctypes.create_string_buffer(protocol.MAX_PAYLOAD + 1)
        n = self._lib.mf_host_request(cmd, payload, len(payload), out, len(out))
        self._fetch_events()
        if n < 0:
            raise DeviceError(f"host: command 0x{cmd:02x} failed: "
                              f"{protocol.status_text(Status.UNKNOWN_COMMAND)}")
        data = out.raw[:n]
        if data[0] != Status.OK:
            raise DeviceError(f"host: {Cmd(cmd).name} failed: {protocol.status_text(data[0])}")
        return data[1:]

    def _fetch_events(self) -> None:
        buf = ctypes.create_string_buffer(_EVENT_BUFFER)
        n = self._lib.mf_host_take_events(buf, len(buf))
        raw = buf.raw[:n]
        at = 0
        while at + 3 <= len(raw):
            code, length = raw[at], raw[at + 1] | raw[at + 2] << 8
            self._events.append(Frame(code, 0, raw[at + 3 : at + 3 + length]))
            at += 3 + length

    def take_events(self) -> list[Frame]:
        events, self._events = self._events, []
        return events


@dataclass
class _HostModelInfo:
    model: str
    sha256: str


class HostPipelineDevice:
    """What :class:`~mcuforge.pipeline.session.PipelineSession` needs from a device."""

    def __init__(self, lib: ctypes.CDLL, manifests: list[dict[str, Any]]):
        self.link = HostLink(lib)
        self.manifests = manifests
        self.selected = 0

    @staticmethod
    def ticks_to_instructions(ticks: int) -> int:
        return ticks

    def select_model(self, index: int) -> None:
        self.selected = index

    def info(self) -> _HostModelInfo:
        m = self.manifests[self.selected]
        return _HostModelInfo(m["model"], m.get("sha256") or "")


def host_pipeline(layout: PipelineLayout, directory: Path,
                  kernels: tuple[str, ...] = ("ref",)) -> HostPipelineDevice:
    """Compile the pipeline with ``kernels`` for this machine and load it."""
    frontend, models = compile_pipeline(layout, kernels)
    compiled = [frontend, *models]
    codegen.write_config(layout, max(m.plan.arena_bytes for m in compiled), directory)
    (directory / "protocol_codes.h").write_text(protocol.c_header())
    lib = load_host_pipeline(compiled, directory)
    return HostPipelineDevice(lib, [m.manifest for m in compiled])


def load_host_pipeline(compiled: list[Any], directory: Path) -> ctypes.CDLL:
    """Build and load the library from models (objects with ``write``, ``prefix``,
    ``kernel_sources`` and ``calls``, as :class:`CompiledModel`) and the ``pipeline_config.c``
    already in ``directory``."""
    fw = resources.firmware_dir()
    includes = [fw / "app", fw / "app" / "pipeline", fw / "platform"]
    sources = (*pipeline_sources(), directory / "pipeline_config.c",
               fw / "platform" / "host" / "host_server.c")
    lib = build_host_library(compiled, directory, extra_sources=sources,
                             extra_flags=tuple(f"-I{d}" for d in includes))
    return ctypes.CDLL(str(lib))
