"""A pipeline spec checked against its models' tensors: the stages and detectors as the device
runs them. The generated ``pipeline_config.c``, the host reference and the device check all read
this one description."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from mcuforge.compiler.emit import c_identifier
from mcuforge.errors import PipelineError
from mcuforge.model import parse_model, read_model
from mcuforge.model.ir import Graph
from mcuforge.pipeline.spec import ModelSpec, PipelineSpec

MAX_STAGES = 8
MAX_DETECTORS = 32
#: Score offset per output type: scores are 0..255 (uint8 as is, int8 + 128).
SCORE_OFFSET = {"uint8": 0, "int8": 128}
KIND_CODES = {"streaming": 0, "windowed": 1}
ROLE_CODES = {"detect": 0, "gate": 1}
FRONTEND_PREFIX = "frontend"


@dataclass(frozen=True)
class StageLayout:
    name: str
    prefix: str
    kind: str
    frames: int
    stride: int
    score_offset: int
    input_bytes: int
    output_bytes: int
    output_dtype: str
    labels: tuple[str, ...]
    spec: ModelSpec

    def runs_on(self, frame: int) -> bool:
        """True when the stage is invoked after frame ``frame`` (0-based) of a stream."""
        done = frame + 1
        if self.kind == "streaming":
            return done % self.stride == 0
        return done >= self.frames and (done - self.frames) % self.stride == 0


@dataclass(frozen=True)
class DetectorLayout:
    stage: int
    element: int
    label: str
    smoothing: int
    cutoff: int  # score units 0..255
    refractory: int  # frames
    gate: int  # detector index, -1: none
    role: str


@dataclass
class PipelineLayout:
    spec: PipelineSpec
    frame_bytes: int
    frame_dtype: str
    stages: list[StageLayout]
    detectors: list[DetectorLayout]
    frontend_graph: Graph = field(repr=False)
    stage_graphs: list[Graph] = field(repr=False)

    @property
    def window(self) -> int:
        return self.spec.frontend.window

    @property
    def hop(self) -> int:
        return self.spec.frontend.hop

    @property
    def ring_frames(self) -> int:
        return max(s.frames for s in self.stages)

    def describe(self) -> bytes:
        """What PIPELINE_INFO reports for an image built from this layout (docs/protocol.md):
        the host refuses a device whose pipeline differs."""
        s = self.spec
        out = struct.pack("<IBHHHHBB", s.sample_rate, s.channels, self.window, self.hop,
                          self.frame_bytes, self.ring_frames, len(self.stages),
                          len(self.detectors))
        for i, st in enumerate(self.stages):
            out += struct.pack("<BBHHB", i + 1, KIND_CODES[st.kind], st.frames, st.stride,
                               st.score_offset)
        for d in self.detectors:
            out += struct.pack("<BBBBHbB", d.stage, d.element, d.smoothing, d.cutoff,
                               d.refractory, d.gate, ROLE_CODES[d.role])
        return out


def _input(graph: Graph, what: str) -> tuple[str, int, tuple[int, ...]]:
    if len(graph.inputs) != 1:
        raise PipelineError(f"{what} has {len(graph.inputs)} inputs; a pipeline stage takes one")
    t = graph.tensors[graph.inputs[0]]
    return t.dtype, t.nbytes, t.shape


def _output(graph: Graph) -> tuple[str, int, int]:
    t = graph.tensors[graph.outputs[0]]
    return t.dtype, t.nbytes, t.size


def resolve(spec: PipelineSpec) -> PipelineLayout:
    """Read the front end and the models and check that they fit together."""
    fe = spec.frontend
    fe_graph = (parse_model(fe.data, name=fe.path.stem) if fe.data is not None
                else read_model(fe.path))
    dtype, nbytes, shape = _input(fe_graph, f"front end {fe.path.name}")
    want = fe.window * spec.channels
    if dtype != "int16" or nbytes != 2 * want:
        raise PipelineError(
            f"front end {fe.path.name}: its input is {dtype} {list(shape)}; the pipeline gives "
            f"it the newest {fe.window} samples x {spec.channels} channel(s) as int16 "
            f"({want} values)")
    frame_dtype, frame_bytes, _ = _output(fe_graph)
    if frame_dtype not in ("int8", "uint8"):
        raise PipelineError(f"front end {fe.path.name}: output 0 is {frame_dtype}; frames must "
                            "be int8 or uint8")
    if fe.hop > fe.window:
        raise PipelineError(f"{spec.path}: the hop ({fe.hop} samples) is longer than the window "
                            f"({fe.window}): samples between windows would be skipped")
    if len(spec.models) > MAX_STAGES:
        raise PipelineError(f"{spec.path}: {len(spec.models)} models, at most {MAX_STAGES}")
    stages, graphs = [], []
    for m in spec.models:
        graph = read_model(m.path)
        stages.append(_stage(m, graph, frame_dtype, frame_bytes))
        graphs.append(graph)
    detectors = _detectors(spec, stages)
    return PipelineLayout(spec, frame_bytes, frame_dtype, stages, detectors, fe_graph, graphs)


def _stage(m: ModelSpec, graph: Graph, frame_dtype: str, frame_bytes: int) -> StageLayout:
    what = f"model '{m.name}' ({m.path.name})"
    dtype, nbytes, shape = _input(graph, what)
    if dtype != frame_dtype or nbytes % frame_bytes:
        raise PipelineError(f"{what}: its input is {dtype} {list(shape)}, not a whole number of "
                            f"front-end frames ({frame_dtype}, {frame_bytes} values each)")
    frames = nbytes // frame_bytes
    if m.frames is not None and m.frames != frames:
        raise PipelineError(f"{what}: frames = {m.frames}, but its input {list(shape)} holds "
                            f"{frames} frames of {frame_bytes}")
    stride = m.stride or (frames if m.kind == "streaming" else 1)
    if m.kind == "streaming" and stride != frames:
        raise PipelineError(f"{what}: a streaming model sees every frame once, so its stride "
                            f"must equal its {frames} input frames (got {stride})")
    out_dtype, out_bytes, out_size = _output(graph)
    if out_dtype not in SCORE_OFFSET:
        raise PipelineError(f"{what}: output 0 is {out_dtype}; scores must be uint8 or int8")
    labels = m.labels or ((m.name,) if out_size == 1 else tuple(str(i) for i in range(out_size)))
    if len(labels) != out_size:
        raise PipelineError(f"{what}: {len(labels)} labels for {out_size} output values")
    return StageLayout(m.name, c_identifier(m.name), m.kind, frames, stride,
                       SCORE_OFFSET[out_dtype], nbytes, out_bytes, out_dtype, labels, m)


def _detectors(spec: PipelineSpec, stages: list[StageLayout]) -> list[DetectorLayout]:
    detectors: list[DetectorLayout] = []
    gate_index: dict[str, int] = {}
    for i, st in enumerate(stages):
        m = st.spec
        watched = m.detect or st.labels
        unknown = [w for w in watched if w not in st.labels]
        if unknown:
            raise PipelineError(f"model '{m.name}': detect names '{unknown[0]}', not one of its "
                                f"labels ({', '.join(st.labels)})")
        if m.role == "gate" and len(watched) != 1:
            raise PipelineError(f"gate model '{m.name}' must watch one output value; give "
                                "detect = [\"<label>\"]")
        if m.role == "gate":
            gate_index[m.name] = len(detectors)
        for label in watched:
            detectors.append(DetectorLayout(
                i, st.labels.index(label), label, m.smoothing, m.cutoff_score,
                spec.refractory_frames(m) if m.role == "detect" else 0, -1, m.role))
    if len(detectors) > MAX_DETECTORS:
        raise PipelineError(f"{spec.path}: {len(detectors)} detectors, at most {MAX_DETECTORS}")
    for k, d in enumerate(detectors):
        gate = stages[d.stage].spec.gate
        if gate is not None:
            detectors[k] = DetectorLayout(d.stage, d.element, d.label, d.smoothing, d.cutoff,
                                          d.refractory, gate_index[gate], d.role)
    return detectors
