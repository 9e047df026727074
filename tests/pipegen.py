"""Synthetic pipelines for testing the stage runner itself: random geometry (rates, channels,
windows, hops, frames, strides, output types, smoothing, cutoffs, refractory periods, gates) with
small stateful stages written in C for the host build and in numpy for the reference
:class:`~mcuforge.pipeline.reference.Stream`. They test the schedule, the rings, the detectors and
the protocol handlers; the real front end and models are tested against TFLM elsewhere."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from mcuforge.pipeline.layout import DetectorLayout, PipelineLayout, StageLayout
from mcuforge.pipeline.reference import Stream
from mcuforge.pipeline.spec import FrontendSpec, ModelSpec, PipelineSpec

_MODEL_H = """#ifndef SYNTH_{P}_H
#define SYNTH_{P}_H
#include "mcuforge.h"
extern const mcuforge_model_t {p}_model;
#endif
"""

_MODEL_C = """#include <stdint.h>
#include "{p}.h"
static {in_t} in_buf[{n_in}];
static {out_t} out_buf[{n_out}];
static uint32_t state;
static void reset(void) {{ state = 0u; }}
static int invoke(void) {{
{body}
    return 0;
}}
static const mcuforge_tensor_t inputs[] = {{ {{ .data = in_buf, .bytes = sizeof in_buf }} }};
static const mcuforge_tensor_t outputs[] = {{ {{ .data = out_buf, .bytes = sizeof out_buf }} }};
static const uint8_t sha256[32] = {{ {sha} }};
const mcuforge_model_t {p}_model = {{
    .name = "{p}", .sha256 = sha256, .invoke = invoke, .reset = reset, .inputs = inputs,
    .num_inputs = 1u, .outputs = outputs, .num_outputs = 1u,
}};
"""


def synth_sha256(prefix: str) -> str:
    """The SHA-256 a synthetic stage reports (it has no .tflite file): of its C prefix."""
    return hashlib.sha256(prefix.encode()).hexdigest()


def _sha_c(prefix: str) -> str:
    return ", ".join(f"0x{b:02x}" for b in bytes.fromhex(synth_sha256(prefix)))

# out[j] = (sum of the window's values i with i % FB == j) >> 4, plus state and j, as a byte;
# then state = state * 5 + 1 (mod 256).
_FRONTEND_BODY = """    int32_t acc[{fb}] = {{0}};
    for (uint32_t i = 0; i < {n_in}u; ++i) {{
        acc[i % {fb}u] += in_buf[i];
    }}
    for (uint32_t j = 0; j < {fb}u; ++j) {{
        out_buf[j] = ({out_t})(uint8_t)((uint32_t)(acc[j] >> 4) + state + j);
    }}
    state = (state * 5u + 1u) & 0xFFu;"""

# out[e] = (sum of the input bytes (signed) * (e + 1) + 3 * state) as a byte; then
# state = (state + sum) mod 256 (streaming stages carry it; windowed ones keep it at 0).
_STAGE_BODY = """    int32_t sum = 0;
    for (uint32_t i = 0; i < {n_in}u; ++i) {{
        sum += in_buf[i];
    }}
    for (uint32_t e = 0; e < {n_out}u; ++e) {{
        out_buf[e] = ({out_t})(uint8_t)((uint32_t)sum * (e + 1u) + 3u * state);
    }}
    state = {carry};"""


@dataclass
class SynthModel:
    """Looks like a CompiledModel to the host library builder and to build_image."""

    prefix: str
    source: str

    @property
    def manifest(self) -> dict:
        return {"weights_bytes": 0, "macs": 0, "data_symbols": [], "model": self.prefix}

    @property
    def plan(self) -> SimpleNamespace:
        return SimpleNamespace(arena_bytes=0, state=SimpleNamespace(bytes=0))

    @property
    def graph(self) -> SimpleNamespace:
        return SimpleNamespace(name=self.prefix)

    @property
    def kernel_sources(self) -> list[str]:
        return []

    @property
    def calls(self) -> list[object]:
        return [None]

    def write(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"{self.prefix}.h").write_text(
            _MODEL_H.format(p=self.prefix, P=self.prefix.upper()))
        path = directory / f"{self.prefix}.c"
        path.write_text(self.source)
        return path


def _byte(values: np.ndarray, dtype: str) -> np.ndarray:
    return (np.asarray(values, dtype=np.int64) & 0xFF).astype(np.uint8).view(dtype)


class SynthFrontend:
    def __init__(self, frame_bytes: int, dtype: str):
        self.fb, self.dtype, self.state = frame_bytes, dtype, 0

    def __call__(self, window: np.ndarray) -> np.ndarray:
        flat = np.asarray(window, dtype=np.int64).reshape(-1)
        acc = np.array([flat[j :: self.fb].sum() for j in range(self.fb)], dtype=np.int64)
        out = _byte((acc >> 4) + self.state + np.arange(self.fb), self.dtype)
        self.state = (self.state * 5 + 1) & 0xFF
        return out


class SynthStage:
    def __init__(self, n_out: int, dtype: str, streaming: bool):
        self.n_out, self.dtype, self.streaming, self.state = n_out, dtype, streaming, 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        total = int(np.asarray(x, dtype=np.int64).sum())
        out = _byte(total * np.arange(1, self.n_out + 1) + 3 * self.state, self.dtype)
        self.state = (self.state + total) & 0xFF if self.streaming else 0
        return out


_C_TYPES = {"int8": "int8_t", "uint8": "uint8_t"}


def random_pipeline(rng: np.random.Generator) -> tuple[PipelineLayout, list[SynthModel], Stream]:
    """A random synthetic pipeline: its layout, its C stages, and its reference stream."""
    channels = int(rng.integers(1, 4))
    window = int(rng.integers(1, 40))
    hop = int(rng.integers(1, window + 1))
    fb = int(rng.integers(1, 9))
    frame_dtype = str(rng.choice(["int8", "uint8"]))
    spec_models, stages, c_models, py_models = [], [], [], []
    n_stages = int(rng.integers(1, 4))
    gate_stage = n_stages - 1 if n_stages > 1 and rng.random() < 0.6 else None
    for s in range(n_stages):
        kind = "streaming" if rng.random() < 0.5 else "windowed"
        frames = int(rng.integers(1, 6))
        stride = frames if kind == "streaming" else int(rng.integers(1, 5))
        out_dtype = str(rng.choice(["int8", "uint8"]))
        n_out = 1 if s == gate_stage else int(rng.integers(1, 4))
        role = "gate" if s == gate_stage else "detect"
        labels = tuple(f"s{s}c{e}" for e in range(n_out))
        detect = labels if role == "gate" else tuple(
            label for label in labels if rng.random() < 0.8) or labels[:1]
        m = ModelSpec(name=f"stage{s}", path=Path(f"stage{s}.tflite"), kind=kind,
                      frames=frames, stride=stride, smoothing=int(rng.integers(1, 7)),
                      cutoff=float(rng.uniform(0.2, 0.8)), labels=labels, detect=detect,
                      refractory_ms=0, role=role,
                      gate=f"stage{gate_stage}" if gate_stage is not None and role == "detect"
                      and rng.random() < 0.7 else None)
        spec_models.append(m)
        stages.append(StageLayout(m.name, m.name, kind, frames, stride,
                                  128 if out_dtype == "int8" else 0, frames * fb, n_out,
                                  out_dtype, labels, m))
        carry = "(state + (uint32_t)sum) & 0xFFu" if kind == "streaming" else "0u"
        body = _STAGE_BODY.format(n_in=frames * fb, n_out=n_out, out_t=_C_TYPES[out_dtype],
                                  carry=carry)
        c_models.append(SynthModel(m.name, _MODEL_C.format(
            p=m.name, in_t=_C_TYPES[frame_dtype], n_in=frames * fb, out_t=_C_TYPES[out_dtype],
            n_out=n_out, body=body, sha=_sha_c(m.name))))
        py_models.append(SynthStage(n_out, out_dtype, kind == "streaming"))
    rate = 1000
    spec = PipelineSpec("synth", Path("synth.toml"), rate, channels,
                        FrontendSpec(Path("frontend.tflite"), window, hop), tuple(spec_models))
    detectors: list[DetectorLayout] = []
    gate_index = -1
    for s, (m, st) in enumerate(zip(spec_models, stages, strict=True)):
        for label in m.detect or ():
            if m.role == "gate":
                gate_index = len(detectors)
            detectors.append(DetectorLayout(s, st.labels.index(label), label, m.smoothing,
                                            m.cutoff_score, int(rng.integers(0, 12)), -1, m.role))
    detectors = [DetectorLayout(d.stage, d.element, d.label, d.smoothing, d.cutoff,
                                0 if d.role == "gate" else d.refractory,
                                gate_index if spec_models[d.stage].gate else -1, d.role)
                 for d in detectors]
    layout = PipelineLayout(spec, fb, frame_dtype, stages, detectors, None, [None] * n_stages)  # type: ignore[arg-type]
    body = _FRONTEND_BODY.format(fb=fb, n_in=window * channels, out_t=_C_TYPES[frame_dtype])
    frontend = SynthModel("frontend", _MODEL_C.format(
        p="frontend", in_t="int16_t", n_in=window * channels, out_t=_C_TYPES[frame_dtype],
        n_out=fb, body=body, sha=_sha_c("frontend")))
    stream = Stream(layout, SynthFrontend(fb, frame_dtype), py_models)
    return layout, [frontend, *c_models], stream
