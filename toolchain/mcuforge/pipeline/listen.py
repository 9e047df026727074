"""``mcuforge listen``: build a pipeline image, boot it, stream audio to it, print its detections,
and check every feature frame, model output and event against the host reference pipeline."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.boards import Board
from mcuforge.build import Progress
from mcuforge.pipeline.audio import Audio
from mcuforge.pipeline.firmware import PipelineBuild, build_pipeline
from mcuforge.pipeline.layout import PipelineLayout
from mcuforge.pipeline.reference import Event, Trace, run_reference
from mcuforge.pipeline.session import DeviceFrame, PipelineSession
from mcuforge.target.device import Device


@dataclass
class Divergence:
    """The first place the device differs from the reference."""

    frame: int
    stage: str  # "frontend", a model name, "schedule" or "events"
    detail: str

    def describe(self) -> str:
        return f"frame {self.frame}, {self.stage}: {self.detail}"


def _first_difference(got: np.ndarray, want: np.ndarray) -> str:
    g, w = np.asarray(got).reshape(-1), np.asarray(want).reshape(-1)
    if g.shape != w.shape:
        return f"device sent {g.size} values, the reference has {w.size}"
    i = int(np.argmax(g != w))
    lo, hi = max(0, i - 2), min(g.size, i + 3)
    return (f"{int(np.count_nonzero(g != w))} of {g.size} values differ, first at index {i}: "
            f"device {g[lo:hi].tolist()}, reference {w[lo:hi].tolist()} (from index {lo})")


def compare(layout: PipelineLayout, frames: list[DeviceFrame], events: list[Event],
            reference: Trace) -> Divergence | None:
    """Every frame, every model output, then the events, bit for bit."""
    for got, want in zip(frames, reference.frames, strict=False):
        if got.end_sample != want.end_sample:
            return Divergence(got.index, "schedule", f"frame ends at sample {got.end_sample}, "
                              f"the reference's at {want.end_sample}")
        if got.features is not None and not np.array_equal(got.features, want.features):
            return Divergence(got.index, "frontend", _first_difference(got.features,
                                                                       want.features))
        if set(got.stages) != set(want.outputs):
            names = [layout.stages[s].name for s in sorted(set(got.stages) ^ set(want.outputs))]
            return Divergence(got.index, "schedule", f"model(s) {', '.join(names)} ran on one "
                              "side only")
        for s, (_ticks, out) in sorted(got.stages.items()):
            if out is not None and not np.array_equal(out, want.outputs[s]):
                return Divergence(got.index, layout.stages[s].name,
                                  _first_difference(out, want.outputs[s]))
    if len(frames) != len(reference.frames):
        return Divergence(min(len(frames), len(reference.frames)), "schedule",
                          f"the device computed {len(frames)} frames, the reference "
                          f"{len(reference.frames)}")
    for got_e, want_e in zip(events, reference.events, strict=False):
        if got_e != want_e:
            return Divergence(got_e.frame, "events", f"device {got_e}, reference {want_e}")
    if len(events) != len(reference.events):
        extra = (events + reference.events)[min(len(events), len(reference.events))]
        return Divergence(extra.frame, "events", f"the device sent {len(events)} events, the "
                          f"reference has {len(reference.events)} (first unmatched: {extra})")
    return None


@dataclass
class StageCost:
    name: str
    invocations: int
    median: int  # per invocation
    per_hop: float  # mean over all frames


@dataclass
class ListenReport:
    pipeline: str
    board: str
    emulator: str
    audio_seconds: float
    conversions: list[str]
    sample_rate: int
    hop_ms: float
    frames: int
    outputs: int  # model outputs computed (and compared)
    events: list[Event]
    reference_events: list[Event]
    divergence: Divergence | None
    counter: str  # what the counts are: "instructions" or "cycles"
    frontend: StageCost | None = None
    stages: list[StageCost] = field(default_factory=list)
    detect_median: int = 0
    hop_median: int = 0
    hop_max: int = 0
    hop_mean: float = 0.0
    clock_hz: int = 0
    ram: dict[str, Any] = field(default_factory=dict)
    flash_bytes: int = 0
    esphome_arena: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.divergence is None

    @property
    def cpu_share(self) -> float:
        """Mean share of the board's core at one count per clock cycle."""
        return self.hop_mean / (self.clock_hz * self.hop_ms / 1000.0) if self.clock_hz else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        d["cpu_share"] = self.cpu_share
        d["events"] = [_event_dict(e, self.sample_rate) for e in self.events]
        d["reference_events"] = [_event_dict(e, self.sample_rate) for e in self.reference_events]
        return d


def _event_dict(e: Event, rate: int) -> dict[str, Any]:
    return {**asdict(e), "seconds": round(e.seconds(rate), 4)}


def costs(layout: PipelineLayout, frames: list[DeviceFrame]) -> dict[str, Any]:
    """Counts per stage and per hop from the device's records."""
    if not frames:
        return {}
    stages = []
    for s, st in enumerate(layout.stages):
        runs = [f.stages[s][0] for f in frames if s in f.stages]
        stages.append(StageCost(st.name, len(runs), int(statistics.median(runs)) if runs else 0,
                                sum(runs) / len(frames)))
    fe = [f.frontend for f in frames]
    totals = [f.total for f in frames]
    return {
        "frontend": StageCost("frontend", len(fe), int(statistics.median(fe)),
                              sum(fe) / len(frames)),
        "stages": stages,
        "detect_median": int(statistics.median(f.detect for f in frames)),
        "hop_median": int(statistics.median(totals)),
        "hop_max": max(totals),
        "hop_mean": sum(totals) / len(totals),
    }


@contextmanager
def _connect(board: Board, elf: Path, emulator: str, port: str | None) -> Iterator[Device]:
    if port is not None or not board.emulated:
        from mcuforge.flash.ports import find_port
        from mcuforge.target.link import Link

        with Link.open(port or find_port(board), baudrate=board.console.baud,
                       name=board.name) as link:
            yield Device(link)
        return
    from mcuforge.target import open_target

    with open_target(board, elf, emulator) as device:
        yield device


def _stream(session: PipelineSession, blocks: Iterable[np.ndarray], on_event: Any,
            recorded: list[np.ndarray]) -> PipelineSession:
    session.check()
    session.reset()
    seen = 0
    for block in blocks:
        recorded.append(block)
        session.push(block)
        for e in session.events[seen:]:
            if on_event is not None:
                on_event(e)
        seen = len(session.events)
    return session


def listen(layout: PipelineLayout, board: Board, audio: Audio, *, emulator: str = "qemu",
           port: str | None = None, build_dir: Path | None = None,
           progress: Progress | None = None, on_event: Any = None,
           live: Iterable[np.ndarray] | None = None) -> ListenReport:
    """Build, boot, stream ``audio`` and compare with the reference; ``on_event(event)`` is
    called for each detection as it arrives. With ``live`` (blocks of samples, e.g. from a
    microphone) those are streamed as they come and ``audio`` only names them (its samples are
    ignored); the reference then runs over what was streamed."""
    say = progress or (lambda _msg: None)
    start = time.monotonic()
    spec = layout.spec
    step = 16 * layout.hop
    blocks = live if live is not None else (
        audio.samples[at : at + step] for at in range(0, len(audio.samples), step))
    recorded: list[np.ndarray] = []
    build: PipelineBuild | None = None
    with tempfile.TemporaryDirectory(prefix="mcuforge-listen-") as tmp:
        out = build_dir or Path(tmp)
        if emulator == "host":
            from mcuforge.pipeline.host import host_pipeline

            say(f"compiling the pipeline for this machine ({', '.join(board.cpu.kernels)})")
            out.mkdir(parents=True, exist_ok=True)
            session = _stream(PipelineSession(host_pipeline(layout, out, board.cpu.kernels),
                                              layout), blocks, on_event, recorded)
            where = "host"
        else:
            build = build_pipeline(layout, board, out, progress=progress)
            where = f"port {port}" if port or not board.emulated else emulator
            say(f"booting {board.name} ({where}) and streaming the samples")
            with _connect(board, build.build.elf, emulator, port) as device:
                session = _stream(PipelineSession(device, layout), blocks, on_event, recorded)
    samples = (np.concatenate(recorded) if recorded
               else np.zeros((0, spec.channels), dtype=np.int16))
    seconds = len(samples) / spec.sample_rate
    say(f"running the reference pipeline (TFLM) over {seconds:.2f} s of {_what(spec.source_kind)}")
    reference = run_reference(layout, samples)
    counter = ("none" if build is None else
               "instructions" if board.emulated and port is None else "cycles")
    report = ListenReport(
        pipeline=spec.name, board=board.name, emulator=where, audio_seconds=seconds,
        conversions=audio.conversions, sample_rate=spec.sample_rate, hop_ms=spec.hop_ms,
        frames=len(session.frames), outputs=sum(len(f.stages) for f in session.frames),
        events=session.events, reference_events=reference.events,
        divergence=compare(layout, session.frames, session.events, reference), counter=counter,
        clock_hz=board.clock_hz, ram=build.ram.to_dict() if build else {},
        flash_bytes=build.build.size.flash_bytes if build else 0,
        esphome_arena={m.name: m.esphome_arena for m in spec.models if m.esphome_arena},
        **(costs(layout, session.frames) if build else {}))
    report.seconds = round(time.monotonic() - start, 2)
    return report


def _what(kind: str) -> str:
    return "audio" if kind == "audio" else f"{kind} samples"


def format_report(report: ListenReport, layout: PipelineLayout) -> str:
    rate = report.sample_rate
    lines = []
    fired = [e for e in report.events if not e.blocked]
    blocked = len(report.events) - len(fired)
    lines.append(f"{len(fired)} detection(s) in {report.audio_seconds:.2f} s of "
                 f"{_what(layout.spec.source_kind)}"
                 + (f" ({blocked} more blocked by a gate)" if blocked else ""))
    for e in fired:
        lines.append(f"  {e.seconds(rate):8.3f} s  {e.model}: '{e.label}'  mean score {e.mean}"
                     f"/255 (max {e.max})")
    if report.divergence is None:
        lines.append(f"bit-exact with the TFLM reference pipeline: {report.frames} feature "
                     f"frames, {report.outputs} model outputs, {len(report.events)} events")
    else:
        lines.append(f"DIFFERS from the TFLM reference pipeline: {report.divergence.describe()}")
    if report.frontend is not None and report.counter != "none":
        unit = report.counter
        parts = [f"front end {report.frontend.median:,}"]
        parts += [f"{s.name} {s.median:,} per run ({s.per_hop:,.0f} per hop)"
                  for s in report.stages]
        parts.append(f"detectors {report.detect_median:,}")
        lines.append(f"{unit} per {report.hop_ms:g} ms hop (median): " + "; ".join(parts))
        lines.append(
            f"  whole hop: median {report.hop_median:,}, max {report.hop_max:,}, mean "
            f"{report.hop_mean:,.0f} = {100 * report.cpu_share:.1f} % of {report.board}'s "
            f"{report.clock_hz / 1e6:g} MHz core at one {unit[:-1]} per cycle")
    ram = report.ram
    if not ram:
        return "\n".join(lines)
    states = ", ".join(f"{k} {v:,}" for k, v in ram["model_state"].items())
    lines.append(
        f"RAM: arena {ram['arena']:,} B (shared), state: front end {ram['frontend_state']:,}, "
        f"{states}; audio ring {ram['audio_ring']:,}, frame ring {ram['frame_ring']:,}, "
        f"outputs {ram['model_outputs']:,}, detectors {ram['detectors']:,} -> pipeline "
        f"{ram['pipeline_total']:,} B; record queue {ram['record_queue']:,} B; whole image "
        f"{ram['image_total']:,} B, flash {report.flash_bytes:,} B")
    if report.esphome_arena:
        declared = ", ".join(f"{k} {v:,} B" for k, v in report.esphome_arena.items())
        lines.append(f"  ESPHome's declared tensor_arena_size: {declared} (each, besides its "
                     "front end and variable arena)")
    return "\n".join(lines)
