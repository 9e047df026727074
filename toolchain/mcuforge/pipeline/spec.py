"""What a pipeline is, read from a pipeline TOML file or an ESPHome ``micro_wake_word`` manifest.

A pipeline turns samples into detection events::

    samples ── front end (a compiled .tflite graph, every hop, over the newest window) ──▶ frames
        ── models (streaming: every N frames; windowed: the last F frames every S) ──▶ scores
        ── smoothing (sum of the last K scores) ── cutoff ── refractory ──▶ events

The file formats are described in docs/pipeline.md. This module only reads and validates the
files; :mod:`mcuforge.pipeline.layout` checks them against the models' tensors.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mcuforge.compiler.emit import c_identifier
from mcuforge.errors import PipelineError
from mcuforge.sources import KINDS as SOURCE_KINDS

KINDS = ("streaming", "windowed")
ROLES = ("detect", "gate")

#: ESPHome's micro_wake_word feeds its models from a 30 ms window (FEATURE_DURATION_MS).
ESPHOME_WINDOW_MS = 30
#: After a start or a detection ESPHome ignores this many feature slices whose newest
#: probability is below the cutoff (MIN_SLICES_BEFORE_DETECTION in streaming_model.h).
ESPHOME_REFRACTORY_SLICES = 100
#: The front end of a manifest given alone: TFLM's micro_speech preprocessor (the microfrontend
#: arithmetic ESPHome runs), written by mcuforge.frontend_graph. Without the graph's zeroing of
#: the FFT bins outside the filter bank's band (bins no channel reads): the same features as
#: TFLM's published audio_preprocessor_int8.tflite, in four fewer ops (tests/test_frontend_graph).
MANIFEST_FRONTEND: dict[str, Any] = {"zero_outside_band": False}


@dataclass(frozen=True)
class FrontendSpec:
    path: Path
    window: int  # samples per frame (per channel)
    hop: int  # samples between frames
    #: The .tflite bytes when mcuforge.frontend_graph wrote the graph (``path`` only names it).
    data: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    path: Path
    kind: str = "streaming"
    #: Frames per invocation; None: all the model's input holds.
    frames: int | None = None
    #: Frames between invocations; None: ``frames`` for streaming models, 1 for windowed ones.
    stride: int | None = None
    smoothing: int = 1
    #: Probability in [0, 1]; compared in score units as ESPHome does: int(cutoff * 255).
    cutoff: float = 0.5
    refractory_ms: int = 0
    #: One per element of the model's output 0 (None: the model name for a single output).
    labels: tuple[str, ...] | None = None
    #: Labels that raise events (None: all).
    detect: tuple[str, ...] | None = None
    role: str = "detect"
    gate: str | None = None
    #: ESPHome's declared tensor arena (bytes), reported beside mcuforge's arena and state.
    esphome_arena: int | None = None
    manifest: Path | None = None

    @property
    def cutoff_score(self) -> int:
        """The cutoff in score units (0..255): ESPHome's ``int(probability_cutoff * 255)``."""
        return min(255, max(0, int(self.cutoff * 255)))


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    path: Path
    sample_rate: int
    channels: int
    frontend: FrontendSpec
    models: tuple[ModelSpec, ...]
    #: What the samples are (mcuforge.sources.KINDS): a standalone image takes them from the
    #: board's source of this kind.
    source_kind: str = "audio"
    #: The first word of a standalone image's detection lines ("DETECT <label> at ...").
    event_word: str = "DETECT"

    @property
    def hop_ms(self) -> float:
        return 1000.0 * self.frontend.hop / self.sample_rate

    def refractory_frames(self, model: ModelSpec) -> int:
        """The refractory period in frames (rounded up)."""
        return math.ceil(model.refractory_ms * self.sample_rate / (1000 * self.frontend.hop))


class _Table:
    """Typed access to a TOML/JSON table with errors naming the file and the key."""

    def __init__(self, data: Any, where: str):
        if not isinstance(data, dict):
            raise PipelineError(f"{where}: expected a table, got {data!r}")
        self.data, self.where = data, where

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        if key not in self.data:
            if default is ...:
                raise PipelineError(f"{self.where}: missing required key '{key}'")
            return default
        value = self.data[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if not ok:
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise PipelineError(f"{self.where}: '{key}' must be {names}, got {value!r}")
        return value

    def positive(self, key: str, default: Any = ..., limit: int = 1 << 16) -> Any:
        value = self.get(key, int, default)
        if key in self.data and not 0 < value <= limit:
            raise PipelineError(f"{self.where}: '{key}' must be 1..{limit}, got {value}")
        return value

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self.get(key, list, None)
        if value is not None and any(not isinstance(v, str) for v in value):
            raise PipelineError(f"{self.where}: '{key}' must be a list of strings, got {value!r}")
        return tuple(value) if value is not None else None

    def only(self, allowed: set[str]) -> None:
        unknown = sorted(set(self.data) - allowed)
        if unknown:
            raise PipelineError(f"{self.where}: unknown key '{unknown[0]}' (allowed: "
                                f"{', '.join(sorted(allowed))})")


def load_pipeline(path: Path) -> PipelineSpec:
    """Read a pipeline: a ``.toml`` pipeline file or an ESPHome ``.json`` manifest."""
    path = Path(path)
    if not path.is_file():
        raise PipelineError(f"{path}: no such pipeline file")
    if path.suffix.lower() == ".json":
        return _manifest_pipeline(path)
    if path.suffix.lower() == ".toml":
        return _toml_pipeline(path)
    raise PipelineError(f"{path}: a pipeline is a .toml pipeline file or an ESPHome .json "
                        "manifest (see docs/pipeline.md)")


# ---- ESPHome micro_wake_word manifests -----------------------------------------------------
@dataclass(frozen=True)
class EsphomeManifest:
    path: Path
    wake_word: str
    model: Path
    probability_cutoff: float
    sliding_window_size: int
    feature_step_size: int  # ms
    tensor_arena_size: int

    def model_spec(self) -> ModelSpec:
        vad = self.wake_word == "vad"  # ESPHome tells the VAD model apart by this name
        return ModelSpec(
            name=c_identifier(self.wake_word), path=self.model, kind="streaming",
            smoothing=self.sliding_window_size, cutoff=self.probability_cutoff,
            refractory_ms=0 if vad else ESPHOME_REFRACTORY_SLICES * self.feature_step_size,
            labels=(self.wake_word,), role="gate" if vad else "detect",
            esphome_arena=self.tensor_arena_size, manifest=self.path)


def read_esphome_manifest(path: Path) -> EsphomeManifest:
    """An ESPHome micro_wake_word manifest (version 1 or 2), as published."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise PipelineError(f"{where}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{where}: not a JSON manifest: {exc}") from None
    top = _Table(data, where)
    if top.get("type", str, "") != "micro":
        raise PipelineError(f"{where}: not an ESPHome micro_wake_word manifest (its \"type\" is "
                            f"{data.get('type')!r}, mcuforge reads type \"micro\")")
    version = top.get("version", int, 1)
    micro = _Table(top.get("micro", dict), f"{where} [micro]")
    if version == 1:  # ESPHome converts v1 manifests the same way
        window = micro.positive("sliding_window_average_size", limit=255)
        step, arena = 20, micro.get("tensor_arena_size", int, 45672)
    elif version == 2:
        window = micro.positive("sliding_window_size", limit=255)
        step, arena = micro.positive("feature_step_size"), micro.get("tensor_arena_size", int)
    else:
        raise PipelineError(f"{where}: manifest version {version} (mcuforge reads versions 1, 2)")
    cutoff = micro.get("probability_cutoff", float)
    if not 0.0 <= cutoff <= 1.0:
        raise PipelineError(f"{where}: probability_cutoff must be in [0, 1], got {cutoff}")
    return EsphomeManifest(Path(path), top.get("wake_word", str), _manifest_model(path, top),
                           cutoff, window, step, arena)


def _manifest_model(path: Path, top: _Table) -> Path:
    """The model file a manifest names, next to it; published manifests name the original
    file (``okay_nabu.tflite``), copies here may carry an ``mww_`` prefix."""
    named = top.get("model", str)
    base = named.rsplit("/", 1)[-1]  # a URL or a relative path: the file name counts
    tried = [base, f"mww_{base}"]
    for candidate in tried:
        if (path.parent / candidate).is_file():
            return path.parent / candidate
    raise PipelineError(
        f"{path}: its model '{named}' is missing: looked for {' and '.join(tried)} in "
        f"{path.parent}; put the .tflite file next to the manifest")


def _manifest_pipeline(path: Path) -> PipelineSpec:
    """A manifest alone: ESPHome's front end settings (16 kHz mono, 30 ms windows every
    feature_step_size) on TFLM's micro_speech preprocessor as mcuforge writes it
    (:data:`MANIFEST_FRONTEND`); a pipeline file's [frontend] can name another graph."""
    manifest = read_esphome_manifest(path)
    rate = 16000
    window = ESPHOME_WINDOW_MS * rate // 1000
    hop = manifest.feature_step_size * rate // 1000
    frontend = written_frontend(dict(MANIFEST_FRONTEND), rate, window, hop, str(path))
    return PipelineSpec(name=manifest.model_spec().name, path=path, sample_rate=rate,
                        channels=1, frontend=frontend, models=(manifest.model_spec(),))


# ---- pipeline TOML files -------------------------------------------------------------------
_TOP_KEYS = {"name", "source", "frontend", "model", "event"}
_MODEL_KEYS = {"name", "path", "esphome", "kind", "frames", "stride", "smoothing", "cutoff",
               "refractory_ms", "labels", "detect", "role", "gate"}


def _toml_pipeline(path: Path) -> PipelineSpec:
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(f"{path}: invalid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"{path}: cannot read: {exc}") from None
    top = _Table(data, str(path))
    top.only(_TOP_KEYS)
    source = _Table(top.get("source", dict, {}), f"{path} [source]")
    source.only({"sample_rate", "channels", "kind"})
    rate = source.positive("sample_rate", 16000, limit=1 << 20)
    channels = source.positive("channels", 1, limit=16)
    kind = source.get("kind", str, "audio")
    if kind not in SOURCE_KINDS:
        raise PipelineError(f"{source.where}: kind '{kind}' is not one of "
                            f"{', '.join(SOURCE_KINDS)}")
    event = top.get("event", str, "DETECT")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]{0,15}", event) or event in ("AT", "BLOCKED"):
        raise PipelineError(f"{path}: event '{event}' must be 1-16 capital letters, digits or "
                            "underscores, starting with a letter (not AT or BLOCKED, which "
                            "standalone images print for other lines)")
    frontend = _frontend(_Table(top.get("frontend", dict), f"{path} [frontend]"), path, rate)
    entries = top.get("model", list)
    if not entries:
        raise PipelineError(f"{path}: no [[model]] tables: a pipeline runs at least one model")
    models = tuple(_model(_Table(e, f"{path} [[model]] #{i + 1}"), path, frontend, rate)
                   for i, e in enumerate(entries))
    spec = PipelineSpec(top.get("name", str, path.stem), path, rate, channels, frontend, models,
                        kind, event)
    check_references(spec)
    return spec


def _relative(base: Path, value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (base.parent / p)


def _samples(table: _Table, key: str, rate: int) -> int:
    """``key`` in samples, or ``key_ms`` in milliseconds (exactly one of them)."""
    if key in table.data and f"{key}_ms" in table.data:
        raise PipelineError(f"{table.where}: give '{key}' (samples) or '{key}_ms', not both")
    if f"{key}_ms" in table.data:
        ms = table.get(f"{key}_ms", float)
        samples = ms * rate / 1000
        if samples <= 0:
            raise PipelineError(f"{table.where}: {key}_ms = {ms} must be positive")
        if samples != int(samples):
            raise PipelineError(f"{table.where}: {key}_ms = {ms} is not a whole number of "
                                f"samples at {rate} Hz")
        return int(samples)
    return table.positive(key)


def _frontend(table: _Table, path: Path, rate: int) -> FrontendSpec:
    table.only({"model", "graph", "window", "window_ms", "hop", "hop_ms"})
    window, hop = _samples(table, "window", rate), _samples(table, "hop", rate)
    if ("model" in table.data) == ("graph" in table.data):
        raise PipelineError(f"{table.where}: give the front end as 'model' (a .tflite file) or "
                            "as a [frontend.graph] table of parameters, exactly one of them")
    if "graph" in table.data:
        params = dict(table.get("graph", dict))
        return written_frontend(params, rate, window, hop, f"{table.where} [graph]")
    model = _relative(path, table.get("model", str))
    if not model.is_file():
        raise PipelineError(f"{table.where}: model file {model} does not exist")
    return FrontendSpec(model, window, hop)


def written_frontend(params: dict[str, Any], rate: int, window: int, hop: int,
                     where: str) -> FrontendSpec:
    """A front end written by :mod:`mcuforge.frontend_graph` (TFLM's signal-library ops) from
    its parameters; the window and rate come from the pipeline."""
    # Imported here: the graph writer pulls in the flatbuffer builder, which plain model
    # pipelines never need.
    from mcuforge.frontend_graph import FrontEndParams, write_frontend

    from_pipeline = {"sample_rate", "window_ms", "hop_ms"}
    allowed = sorted({f.name for f in fields(FrontEndParams)} - from_pipeline)
    for key in params:
        if key not in allowed and key not in from_pipeline:
            raise PipelineError(f"{where}: unknown key '{key}' (allowed: {', '.join(allowed)})")
    for key in ("sample_rate", "window_ms", "hop_ms"):
        if key in params:
            raise PipelineError(f"{where}: '{key}' comes from the pipeline ([source], "
                                "[frontend]), not from the graph's parameters")
    try:
        p = FrontEndParams(sample_rate=rate, window_ms=1000 * window / rate,
                           hop_ms=1000 * hop / rate, **params)
        data = write_frontend(p)
    except TypeError as exc:
        raise PipelineError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise PipelineError(f"{where}: {exc}") from None
    name = Path(f"frontend_graph_{hashlib.sha256(data).hexdigest()[:8]}.tflite")
    return FrontendSpec(name, window, hop, data)


def _model(table: _Table, path: Path, frontend: FrontendSpec, rate: int) -> ModelSpec:
    table.only(_MODEL_KEYS)
    if ("path" in table.data) == ("esphome" in table.data):
        raise PipelineError(f"{table.where}: give the model as 'path' (a .tflite file) or as "
                            "'esphome' (an ESPHome manifest), exactly one of them")
    if "esphome" in table.data:
        manifest = read_esphome_manifest(_relative(path, table.get("esphome", str)))
        step = manifest.feature_step_size * rate // 1000
        if step != frontend.hop:
            raise PipelineError(
                f"{table.where}: {manifest.path.name} expects a feature every "
                f"{manifest.feature_step_size} ms ({step} samples), the front end's hop is "
                f"{frontend.hop} samples")
        base = manifest.model_spec()
    else:
        model = _relative(path, table.get("path", str))
        if not model.is_file():
            raise PipelineError(f"{table.where}: model file {model} does not exist")
        base = ModelSpec(name=table.get("name", str, model.stem), path=model)
    kind = table.get("kind", str, base.kind)
    role = table.get("role", str, base.role)
    for key, value, allowed in (("kind", kind, KINDS), ("role", role, ROLES)):
        if value not in allowed:
            raise PipelineError(f"{table.where}: {key} '{value}' is not one of "
                                f"{', '.join(allowed)}")
    cutoff = table.get("cutoff", float, base.cutoff)
    if not 0.0 <= cutoff <= 1.0:
        raise PipelineError(f"{table.where}: cutoff must be a probability in [0, 1], got {cutoff}")
    refractory = table.get("refractory_ms", int, base.refractory_ms)
    if refractory < 0:
        raise PipelineError(f"{table.where}: refractory_ms must be >= 0, got {refractory}")
    return replace(
        base, name=table.get("name", str, base.name), kind=kind, role=role, cutoff=cutoff,
        frames=table.positive("frames", None, limit=4096),
        stride=table.positive("stride", None, limit=4096),
        smoothing=table.positive("smoothing", base.smoothing, limit=255),
        refractory_ms=refractory,
        labels=table.strings("labels") or base.labels,
        detect=table.strings("detect") or base.detect,
        gate=table.get("gate", str, base.gate))


def check_references(spec: PipelineSpec) -> None:
    """Names unique and usable as C prefixes; gates name gate models."""
    seen: dict[str, str] = {}
    by_name = {m.name: m for m in spec.models}
    for m in spec.models:
        prefix = c_identifier(m.name)
        if prefix == "frontend" or prefix in seen:
            other = "the front end" if prefix == "frontend" else f"model '{seen[prefix]}'"
            raise PipelineError(f"{spec.path}: model '{m.name}' has the same C name '{prefix}' "
                                f"as {other}: give it another name")
        seen[prefix] = m.name
        if m.gate is None:
            continue
        gate = by_name.get(m.gate)
        if gate is None:
            raise PipelineError(f"{spec.path}: model '{m.name}' is gated by '{m.gate}', which is "
                                f"not a model of this pipeline ({', '.join(by_name)})")
        if gate.role != "gate":
            raise PipelineError(f"{spec.path}: model '{m.name}' is gated by '{m.gate}', whose "
                                "role is not \"gate\"")
        if m.role == "gate":
            raise PipelineError(f"{spec.path}: gate model '{m.name}' cannot itself be gated")
