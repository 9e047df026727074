"""The host reference pipeline: the device's stages with the TFLM interpreter in place of the
compiled C. It is the oracle for every feature frame, every model output and every event.

Frame ``i`` of a stream is computed when sample ``window + i * hop`` has arrived, from samples
``[i * hop, i * hop + window)``. A streaming model with N input frames runs after frames
N-1, 2N-1, ... on the last N frames; a windowed model with F frames and stride S runs after frames
F-1, F-1+S, ... on the last F frames. After the models of a frame, every detector ticks, then the
detectors are checked in order (see :mod:`mcuforge.pipeline.detect`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.pipeline.detect import BLOCKED, Detector
from mcuforge.pipeline.layout import PipelineLayout

Stage = Callable[[np.ndarray], np.ndarray]


@dataclass
class FrameRecord:
    index: int
    end_sample: int
    features: np.ndarray
    #: Output 0 of each stage invoked on this frame, by stage index.
    outputs: dict[int, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    detector: int
    stage: int
    model: str
    label: str
    frame: int
    end_sample: int
    mean: int
    max: int
    blocked: bool = False

    def seconds(self, sample_rate: int) -> float:
        return self.end_sample / sample_rate


@dataclass
class Trace:
    frames: list[FrameRecord] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    def outputs(self, stage: int) -> list[tuple[int, np.ndarray]]:
        return [(f.index, f.outputs[stage]) for f in self.frames if stage in f.outputs]


class Stream:
    """The stage runner's logic in Python with any callables as front end and models."""

    def __init__(self, layout: PipelineLayout, frontend: Stage, models: list[Stage]):
        self.layout, self.frontend, self.models = layout, frontend, models
        self.detectors = [Detector(d.smoothing, d.cutoff, d.refractory) for d in layout.detectors]
        self.audio = np.zeros((0, layout.spec.channels), dtype=np.int16)
        self.base = 0  # stream index of self.audio[0]
        self.history: list[np.ndarray] = []
        self.trace = Trace()

    def feed(self, samples: np.ndarray) -> None:
        """Append samples (int16, shape [n] or [n, channels]) and run every completed frame."""
        lay = self.layout
        samples = np.asarray(samples, dtype=np.int16).reshape(-1, lay.spec.channels)
        self.audio = np.concatenate([self.audio, samples])
        while (end := lay.window + len(self.trace.frames) * lay.hop) <= self.base + len(self.audio):
            self._frame(self.audio[end - lay.window - self.base : end - self.base], end)
        drop = max(0, len(self.audio) - lay.window)
        self.audio, self.base = self.audio[drop:], self.base + drop

    def _frame(self, window: np.ndarray, end: int) -> None:
        lay = self.layout
        index = len(self.trace.frames)
        features = np.asarray(self.frontend(window)).reshape(-1)
        record = FrameRecord(index, end, features)
        self.history = (self.history + [features])[-lay.ring_frames :]
        for s, stage in enumerate(lay.stages):
            if not stage.runs_on(index):
                continue
            x = np.concatenate(self.history[-stage.frames :])
            out = np.asarray(self.models[s](x)).reshape(-1)
            record.outputs[s] = out
            scores = out.astype(np.int32) + stage.score_offset
            for d, det in zip(lay.detectors, self.detectors, strict=True):
                if d.stage == s:
                    det.push(int(scores[d.element]))
        for det in self.detectors:
            det.tick()
        for k, (d, det) in enumerate(zip(lay.detectors, self.detectors, strict=True)):
            if d.role != "detect":
                continue
            gate_open = d.gate < 0 or self.detectors[d.gate].active
            found = det.check(gate_open)
            if found is not None:
                stage = lay.stages[d.stage]
                self.trace.events.append(Event(k, d.stage, stage.name, d.label, index, end,
                                               found.mean, found.max, found.status == BLOCKED))
        self.trace.frames.append(record)


def _tflm_stage(path: object, graph: object) -> Stage:
    from mcuforge.reference import Reference

    ref = Reference(path)  # type: ignore[arg-type]
    t = graph.tensors[graph.inputs[0]]  # type: ignore[attr-defined]
    shape, dtype = t.shape, NUMPY_DTYPES[t.dtype]
    return lambda x: ref.run([np.asarray(x).astype(dtype).reshape(shape)])[0]


def reference_stream(layout: PipelineLayout) -> Stream:
    """A :class:`Stream` whose stages are the TFLM interpreter running the pipeline's files."""
    spec = layout.spec
    fe = spec.frontend
    frontend = _tflm_stage(fe.data if fe.data is not None else fe.path, layout.frontend_graph)
    models = [_tflm_stage(m.path, g) for m, g in zip(spec.models, layout.stage_graphs,
                                                      strict=True)]
    return Stream(layout, frontend, models)


def run_reference(layout: PipelineLayout, audio: np.ndarray) -> Trace:
    """Every frame, model output and event of ``audio`` (int16) through the reference."""
    stream = reference_stream(layout)
    stream.feed(audio)
    return stream.trace
