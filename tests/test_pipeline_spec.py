"""Pipeline files and ESPHome manifests: what they mean, and a clear error for each mistake."""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from mcuforge.errors import PipelineError
from mcuforge.frontend_graph import MICRO_SPEECH, write_frontend
from mcuforge.pipeline import open_pipeline
from mcuforge.pipeline.spec import load_pipeline, read_esphome_manifest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "pipelines" / "okay_nabu.toml"


def test_example_pipeline_is_okay_nabu_gated_by_vad() -> None:
    layout = open_pipeline(EXAMPLE)
    assert (layout.window, layout.hop, layout.frame_bytes, layout.frame_dtype) == (
        480, 160, 40, "int8")
    nabu, vad = layout.stages
    assert (nabu.name, nabu.kind, nabu.frames, nabu.stride) == ("okay_nabu", "streaming", 3, 3)
    assert (vad.name, vad.spec.role) == ("vad", "gate")
    d_nabu, d_vad = layout.detectors
    # ESPHome: int(0.97 * 255) = 247, 5 probabilities, 100 slices of 10 ms; VAD int(0.5 * 255)
    assert (d_nabu.cutoff, d_nabu.smoothing, d_nabu.refractory, d_nabu.gate) == (247, 5, 100, 1)
    assert (d_vad.cutoff, d_vad.smoothing, d_vad.refractory, d_vad.role) == (127, 5, 0, "gate")
    assert nabu.spec.esphome_arena == 26080 and vad.spec.esphome_arena == 16772


def test_esphome_manifest_as_published(zoo: Path, tmp_path: Path) -> None:
    # The published manifest names okay_nabu.tflite; the copy here is mww_okay_nabu.tflite.
    assert json.loads((zoo / "mww_okay_nabu.json").read_text())["model"] == "okay_nabu.tflite"
    layout = open_pipeline(zoo / "mww_okay_nabu.json")
    # ESPHome's front end, written by mcuforge: micro_speech's graph without the band zeroing
    frontend = layout.spec.frontend
    assert (frontend.window, frontend.hop) == (480, 160)
    assert frontend.data == write_frontend(replace(MICRO_SPEECH, hop_ms=10,
                                                   zero_outside_band=False))
    assert layout.spec.models[0].path.name == "mww_okay_nabu.tflite"
    assert [d.label for d in layout.detectors] == ["Okay Nabu"]
    # The original file name wins when it is there.
    shutil.copy(zoo / "mww_okay_nabu.json", tmp_path / "mww_okay_nabu.json")
    shutil.copy(zoo / "mww_okay_nabu.tflite", tmp_path / "okay_nabu.tflite")
    assert load_pipeline(tmp_path / "mww_okay_nabu.json").models[0].path.name == \
        "okay_nabu.tflite"


def test_esphome_v1_manifest_is_converted_as_esphome_does(zoo: Path, tmp_path: Path) -> None:
    shutil.copy(zoo / "mww_okay_nabu.tflite", tmp_path / "mww_okay_nabu.tflite")
    (tmp_path / "v1.json").write_text(json.dumps({
        "type": "micro", "wake_word": "okay nabu", "model": "okay_nabu.tflite", "version": 1,
        "micro": {"probability_cutoff": 0.5, "sliding_window_average_size": 10}}))
    m = read_esphome_manifest(tmp_path / "v1.json")
    assert (m.sliding_window_size, m.feature_step_size, m.tensor_arena_size) == (10, 20, 45672)


def _manifest_error(tmp_path: Path, text: str, files: tuple[str, ...] = ()) -> str:
    for name in files:
        shutil.copy(Path(__file__).parent / "zoo" / name, tmp_path / name)
    path = tmp_path / "m.json"
    path.write_text(text)
    with pytest.raises(PipelineError) as exc:
        open_pipeline(path)
    return str(exc.value)


def test_manifest_errors_name_the_problem(zoo: Path, tmp_path: Path) -> None:
    good = (zoo / "mww_okay_nabu.json").read_text()
    assert "looked for okay_nabu.tflite and mww_okay_nabu.tflite" in _manifest_error(
        tmp_path, good)
    # The manifest's folder needs only the model: mcuforge writes the front end itself.
    shutil.copy(zoo / "mww_okay_nabu.tflite", tmp_path / "mww_okay_nabu.tflite")
    (tmp_path / "alone.json").write_text(good)
    written = open_pipeline(tmp_path / "alone.json").spec.frontend
    assert written.data is not None and written.path.name.startswith("frontend_graph_")
    assert "not a JSON manifest" in _manifest_error(tmp_path, "{nope")
    assert "type \"micro\"" in _manifest_error(tmp_path, json.dumps({"type": "mww"}))
    bad = json.loads(good)
    bad["version"] = 3
    assert "versions 1, 2" in _manifest_error(tmp_path, json.dumps(bad))
    bad = json.loads(good)
    del bad["micro"]["sliding_window_size"]
    assert "missing required key 'sliding_window_size'" in _manifest_error(tmp_path,
                                                                           json.dumps(bad))
    bad = json.loads(good)
    bad["micro"]["probability_cutoff"] = 97
    assert "probability_cutoff must be in [0, 1]" in _manifest_error(tmp_path, json.dumps(bad))


TOML_HEAD = """
[frontend]
model = "{zoo}/audio_preprocessor_int8.tflite"
window_ms = 30
hop_ms = 10
"""


def _toml_error(tmp_path: Path, zoo: Path, body: str, head: str = TOML_HEAD) -> str:
    path = tmp_path / "p.toml"
    path.write_text(head.format(zoo=zoo) + body.format(zoo=zoo))
    with pytest.raises(PipelineError) as exc:
        open_pipeline(path)
    return str(exc.value)


@pytest.mark.parametrize("body,message", [
    ("", "missing required key 'model'"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\ncolour = 1\n", "unknown key 'colour'"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nesphome = '{zoo}/mww_vad.json'\n",
     "exactly one of them"),
    ("[[model]]\npath = '{zoo}/nothing.tflite'\n", "does not exist"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nkind = 'rolling'\n",
     "kind 'rolling' is not one of streaming, windowed"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\ncutoff = 1.5\n", "cutoff must be a probability"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nsmoothing = 0\n", "'smoothing' must be 1..255"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nframes = 4\n", "holds 3 frames of 40"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nstride = 1\n",
     "stride must equal its 3 input frames"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nlabels = ['a', 'b']\n",
     "2 labels for 1 output values"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\ndetect = ['speech']\n",
     "detect names 'speech', not one of its labels (mww_vad)"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\ngate = 'other'\n",
     "gated by 'other', which is not a model of this pipeline"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nname = 'a'\ngate = 'b'\n"
     "[[model]]\npath = '{zoo}/mww_vad.tflite'\nname = 'b'\n", "whose role is not \"gate\""),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nname = 'vad'\n"
     "[[model]]\npath = '{zoo}/mww_vad.tflite'\nname = 'VAD'\n", "same C name 'vad'"),
    ("[[model]]\npath = '{zoo}/mww_vad.tflite'\nname = 'frontend'\n", "as the front end"),
    ("[[model]]\npath = '{zoo}/hello_world_int8.tflite'\n",
     "not a whole number of front-end frames"),
])
def test_pipeline_file_errors_name_the_problem(zoo: Path, tmp_path: Path, body: str,
                                               message: str) -> None:
    assert message in _toml_error(tmp_path, zoo, body)


def test_front_end_and_source_errors(zoo: Path, tmp_path: Path) -> None:
    model = "[[model]]\npath = '{zoo}/mww_vad.tflite'\n"
    head = TOML_HEAD.replace("audio_preprocessor_int8", "mww_vad")
    assert "its input is int8 [1, 3, 40]; the pipeline gives it the newest 480 samples" in \
        _toml_error(tmp_path, zoo, model, head)
    head = TOML_HEAD.replace("hop_ms = 10", "hop_ms = 10.01")
    assert "hop_ms = 10.01 is not a whole number of samples at 16000 Hz" in _toml_error(
        tmp_path, zoo, model, head)
    head = TOML_HEAD.replace("hop_ms = 10", "hop_ms = 0")
    assert "hop_ms = 0.0 must be positive" in _toml_error(tmp_path, zoo, model, head)
    head = TOML_HEAD.replace("hop_ms = 10", "hop_ms = 10\nhop = 160")
    assert "give 'hop' (samples) or 'hop_ms', not both" in _toml_error(tmp_path, zoo, model,
                                                                         head)
    head = TOML_HEAD.replace("hop_ms = 10", "hop_ms = 40")
    assert "longer than the window" in _toml_error(tmp_path, zoo, model, head)
    assert "invalid TOML" in _toml_error(tmp_path, zoo, "[[model]\n")
    (tmp_path / "p.yaml").write_text("x")
    with pytest.raises(PipelineError, match="a .toml pipeline file or an ESPHome .json"):
        load_pipeline(tmp_path / "p.yaml")
    with pytest.raises(PipelineError, match="no such pipeline file"):
        load_pipeline(tmp_path / "missing.toml")


def test_windowed_model_and_refractory_in_frames(zoo: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(TOML_HEAD.format(zoo=zoo) + f"""
[[model]]
name = "kws"
path = "{zoo}/micro_speech_quantized.tflite"
kind = "windowed"
stride = 10
smoothing = 3
cutoff = 0.8
refractory_ms = 505
labels = ["silence", "unknown", "yes", "no"]
detect = ["yes", "no"]
""")
    layout = open_pipeline(path)
    (kws,) = layout.stages
    assert (kws.frames, kws.stride, kws.score_offset) == (49, 10, 128)
    # windowed: first run after frame 48, then every 10 frames
    assert [f for f in range(80) if kws.runs_on(f)] == [48, 58, 68, 78]
    assert [(d.element, d.label, d.refractory) for d in layout.detectors] == [
        (2, "yes", 51), (3, "no", 51)]  # 505 ms at 10 ms per frame, rounded up


GRAPH_HEAD = """
[frontend]
window_ms = 30
hop_ms = 10
[frontend.graph]
{params}
[[model]]
esphome = "{zoo}/mww_okay_nabu.json"
"""


def test_front_end_written_from_parameters(zoo: Path, tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(GRAPH_HEAD.format(zoo=zoo, params="channels = 40"))
    if importlib.util.find_spec("mcuforge.frontend_graph") is None:
        with pytest.raises(PipelineError, match="needs mcuforge.frontend_graph"):
            open_pipeline(path)
        return
    from mcuforge.pipeline.reference import run_reference
    from test_pipeline_reference import speech

    written = open_pipeline(path)
    assert written.frame_bytes == 40 and written.spec.frontend.data is not None
    # With micro_speech's parameters the written graph computes TFLM's published front end.
    audio = speech(tmp_path, "okay nabu")[:12000]
    published = open_pipeline(zoo / "mww_okay_nabu.json")
    for a, b in zip(run_reference(written, audio).frames, run_reference(published, audio).frames,
                    strict=True):
        assert np.array_equal(a.features, b.features)
    path.write_text(GRAPH_HEAD.format(zoo=zoo, params="colour = 1"))
    with pytest.raises(PipelineError, match=r"unknown key 'colour' \(allowed: channels, "):
        open_pipeline(path)


def test_front_end_parameter_errors(zoo: Path, tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text(GRAPH_HEAD.format(zoo=zoo, params="sample_rate = 8000"))
    with pytest.raises(PipelineError, match="'sample_rate' comes from the pipeline|needs mcuforge"):
        open_pipeline(path)
    path.write_text(GRAPH_HEAD.format(zoo=zoo, params="").replace(
        "hop_ms = 10", f"hop_ms = 10\nmodel = '{zoo}/audio_preprocessor_int8.tflite'"))
    with pytest.raises(PipelineError, match="exactly one of them"):
        open_pipeline(path)


def test_manifest_alone_is_the_example_pipeline_minus_its_gate(zoo: Path) -> None:
    """make bench's per-hop goal is front end + okay_nabu alone, measured as `listen
    mww_okay_nabu.json` runs it: the same front end and hop as the example pipeline file."""
    alone, full = open_pipeline(zoo / "mww_okay_nabu.json"), open_pipeline(EXAMPLE)
    assert [s.name for s in alone.stages] == ["okay_nabu"]
    assert [s.name for s in full.stages] == ["okay_nabu", "vad"]
    assert alone.hop == full.hop and alone.spec.frontend == full.spec.frontend
