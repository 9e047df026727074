"""The host end of a pipeline image: check which pipeline it runs, stream samples in chunks,
read back every frame's records and the detection events (docs/protocol.md, "Pipelines")."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from mcuforge import protocol
from mcuforge.errors import DeviceError
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.pipeline.layout import PipelineLayout
from mcuforge.pipeline.reference import Event
from mcuforge.protocol import Cmd
from mcuforge.target.device import Device

TRACE_NONE, TRACE_COUNTS, TRACE_FULL = 0, 1, 2
REC_FRAME, REC_STAGE = 1, 2
_FRAME = struct.Struct("<IIIIII")
_STAGE = struct.Struct("<BI")
_EVENT = struct.Struct("<BBBBBBII")
_PUSH = struct.Struct("<II")
_PUSH_REPLY = struct.Struct("<III")
#: A push computes a few frames of several models; Renode paces emulated time to real time.
PUSH_TIMEOUT_S = 60.0


@dataclass
class DeviceFrame:
    index: int
    end_sample: int
    invoked: int
    frontend: int  # instructions
    detect: int
    total: int
    features: np.ndarray | None = None
    #: stage index -> (instructions, output 0 or None without full tracing)
    stages: dict[int, tuple[int, np.ndarray | None]] = field(default_factory=dict)


class PipelineSession:
    def __init__(self, device: Device, layout: PipelineLayout):
        self.device, self.layout = device, layout
        self.frames: list[DeviceFrame] = []
        self.events: list[Event] = []
        self.samples = 0
        self.record_pos = 0
        self._records = bytearray()
        self.queue_bytes = 0

    # ---- setup ----------------------------------------------------------------------------
    def check(self) -> None:
        """The device must run this pipeline with these models (the same files' SHA-256)."""
        try:
            info = self.device.link.request(Cmd.PIPELINE_INFO)
        except DeviceError as exc:
            raise DeviceError(f"the device runs no pipeline ({exc}): build and boot a pipeline "
                              "image (mcuforge build PIPELINE)") from None
        self.queue_bytes, frontend = struct.unpack_from("<IB", info)
        want = self.layout.describe()
        if info[5:] != want:
            raise DeviceError("the device runs another pipeline than "
                              f"{self.layout.spec.path.name} describes: rebuild the firmware")
        files = [(frontend, self.layout.spec.frontend.path, self.layout.frontend_graph)]
        files += [(i + 1, m.path, g) for i, (m, g) in
                  enumerate(zip(self.layout.spec.models, self.layout.stage_graphs, strict=True))]
        for index, path, graph in files:
            self.device.select_model(index)
            model = self.device.info()
            if graph is not None and graph.sha256 and model.sha256 != graph.sha256:
                raise DeviceError(f"model {index} of the device ('{model.model}') is not "
                                  f"{path.name} (SHA-256 differs): rebuild the firmware")
        self.device.select_model(0)

    def reset(self, trace: int = TRACE_FULL, source: bool = False) -> None:
        """Start a new stream on the device; ``source``: the board's own sample source."""
        try:
            self.device.link.request(Cmd.PIPELINE_RESET, bytes([trace, int(source)]))
        except DeviceError as exc:
            if source and "not available" in str(exc):
                raise DeviceError("this board has no sample source driver in mcuforge yet: "
                                  "stream samples from the host instead") from None
            raise
        self.frames, self.events, self._records = [], [], bytearray()
        self.samples = self.record_pos = 0

    # ---- streaming ------------------------------------------------------------------------
    def push(self, samples: np.ndarray) -> None:
        """Send samples (int16, [n] or [n, channels]) in chunks; the device computes every frame
        they complete. Records and events are collected in ``frames`` and ``events``."""
        ch = self.layout.spec.channels
        data = np.ascontiguousarray(np.asarray(samples, dtype="<i2").reshape(-1, ch))
        per_chunk = (protocol.MAX_PAYLOAD - _PUSH.size) // (2 * ch)
        start = self.samples
        while self.samples - start < len(data):
            part = data[self.samples - start : self.samples - start + per_chunk]
            before = self.samples
            end = self._request(part.tobytes())
            if self.samples == before and self.record_pos == end:
                raise DeviceError("the device accepts no samples and has no records to read")
        self.drain()

    def drain(self) -> None:
        """Read the records the device still holds."""
        end = self._request(b"")
        while self.record_pos < end:
            end = self._request(b"")

    def _request(self, payload: bytes) -> int:
        reply = self.device.link.request(
            Cmd.PIPELINE_PUSH, _PUSH.pack(self.samples, self.record_pos) + payload,
            timeout=PUSH_TIMEOUT_S)
        samples, _frames, end = _PUSH_REPLY.unpack_from(reply)
        records = reply[_PUSH_REPLY.size :]
        self.samples = samples
        self.record_pos += len(records)
        self._records += records
        self._parse_records()
        self._collect_events()
        return end

    def _parse_records(self) -> None:
        buf, at = self._records, 0
        lay, tix = self.layout, self.device.ticks_to_instructions
        while len(buf) - at >= 3:
            kind, length = buf[at], buf[at + 1] | buf[at + 2] << 8
            if len(buf) - at - 3 < length:
                break
            body = bytes(buf[at + 3 : at + 3 + length])
            at += 3 + length
            if kind == REC_FRAME:
                index, end, invoked, fe, det, total = _FRAME.unpack_from(body)
                rest = body[_FRAME.size :]
                features = (np.frombuffer(rest, dtype=NUMPY_DTYPES[lay.frame_dtype]).copy()
                            if rest else None)
                self.frames.append(DeviceFrame(index, end, invoked, tix(fe), tix(det),
                                               tix(total), features))
            elif kind == REC_STAGE and self.frames:
                stage, ticks = _STAGE.unpack_from(body)
                rest = body[_STAGE.size :]
                dtype = NUMPY_DTYPES[lay.stages[stage].output_dtype]
                out = np.frombuffer(rest, dtype=dtype).copy() if rest else None
                self.frames[-1].stages[stage] = (tix(ticks), out)
            else:
                raise DeviceError(f"unknown pipeline record type {kind} from the device")
        del buf[:at]

    def _collect_events(self) -> None:
        lay = self.layout
        for frame in self.device.link.take_events():
            if frame.cmd != Cmd.EVENT_DETECTION or len(frame.payload) < _EVENT.size:
                continue
            det, stage, element, flags, mean, peak, index, end = _EVENT.unpack_from(frame.payload)
            if det >= len(lay.detectors) or stage >= len(lay.stages):
                raise DeviceError(f"detection event for detector {det}, stage {stage}: the "
                                  "pipeline has no such one")
            self.events.append(Event(det, stage, lay.stages[stage].name,
                                     lay.stages[stage].labels[element], index, end, mean, peak,
                                     bool(flags & 1)))
