"""The host reference pipeline (TFLM front end graph + ESPHome's models + ESPHome's detection
rule) on speech synthesized by espeak-ng, and how a divergence from it is named."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import need_tools
from mcuforge.pipeline import open_pipeline
from mcuforge.pipeline.audio import load_wav
from mcuforge.pipeline.listen import compare
from mcuforge.pipeline.reference import run_reference
from mcuforge.pipeline.session import DeviceFrame


def speech(tmp_path: Path, text: str, voice: str = "en-us") -> np.ndarray:
    """espeak-ng's 22,050 Hz speech at 16 kHz, with 1 s of silence before and after."""
    need_tools("espeak-ng")
    wav = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
    silence = np.zeros((16000, 1), dtype=np.int16)
    return np.concatenate([silence, load_wav(wav).samples, silence])


@pytest.fixture(scope="module")
def okay_nabu(zoo: Path):  # type: ignore[no-untyped-def]
    return open_pipeline(zoo / "mww_okay_nabu.json")  # the manifest as ESPHome reads it


@pytest.mark.parametrize("voice", ["en-us", "en", "en-gb", "en-us+m3"])
def test_okay_nabu_is_detected_in_four_voices(okay_nabu, tmp_path: Path, voice: str) -> None:  # type: ignore[no-untyped-def]
    audio = speech(tmp_path, "okay nabu", voice)
    trace = run_reference(okay_nabu, audio)
    assert len(trace.frames) == (len(audio) - 480) // 160 + 1
    assert [f.end_sample for f in trace.frames[:3]] == [480, 640, 800]
    assert max(int(o[0]) for _, o in trace.outputs(0)) == 255
    (event,) = trace.events
    assert event.model == "okay_nabu" and event.mean >= 247 and not event.blocked  # sum > 247 * 5
    # said after the second of silence, detected while or just after it is said
    assert 1.0 < event.seconds(16000) < len(audio) / 16000 - 0.5


def test_a_fifth_voice_and_other_speech_stay_below_the_cutoff(okay_nabu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    trace = run_reference(okay_nabu, speech(tmp_path, "okay nabu", "en-us+f2"))
    assert trace.events == []
    other = run_reference(okay_nabu, speech(
        tmp_path, "the weather is nice today and I would like a cup of tea"))
    assert other.events == [] and max(int(o[0]) for _, o in other.outputs(0)) <= 11


def test_the_vad_gate_lets_speech_through(tmp_path: Path) -> None:
    gated = open_pipeline(Path(__file__).resolve().parents[1] / "models" / "pipelines" /
                          "okay_nabu.toml")
    trace = run_reference(gated, speech(tmp_path, "okay nabu"))
    assert [(e.model, e.blocked) for e in trace.events] == [("okay_nabu", False)]


def test_divergences_name_frame_stage_and_values(okay_nabu, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    audio = speech(tmp_path, "okay nabu")[:20000]
    trace = run_reference(okay_nabu, audio)

    def device() -> list[DeviceFrame]:
        return [DeviceFrame(f.index, f.end_sample, 0, 0, 0, 0, f.features.copy(),
                            {s: (0, o.copy()) for s, o in f.outputs.items()})
                for f in trace.frames]

    assert compare(okay_nabu, device(), list(trace.events), trace) is None
    frames = device()
    frames[7].features[12] += 1
    bad = compare(okay_nabu, frames, [], trace)
    assert bad is not None and (bad.frame, bad.stage) == (7, "frontend")
    assert "1 of 40 values differ, first at index 12" in bad.describe()
    frames = device()
    frames[8].stages[0][1][0] ^= 1
    bad = compare(okay_nabu, frames, [], trace)
    assert bad is not None and (bad.frame, bad.stage) == (8, "okay_nabu")
    frames = device()
    del frames[5].stages[0]
    assert compare(okay_nabu, frames, [], trace).stage == "schedule"  # type: ignore[union-attr]
    assert "computed 10 frames, the reference 123" in compare(
        okay_nabu, device()[:10], [], trace).describe()  # type: ignore[union-attr]
