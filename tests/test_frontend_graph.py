"""Audio front ends written by ``mcuforge.frontend_graph``: with micro_speech's parameters the
same tables and features as TFLM's published audio_preprocessor_int8.tflite; random front ends
compile and stream bit-exact with TFLM on the host and on Cortex-M in QEMU; the published model
itself streams bit-exact (host: thousands of frames; QEMU: a few hundred)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import need_tools
from mcuforge.compiler.ops import supported_ops
from mcuforge.frontend_graph import MICRO_SPEECH, FrontEndParams, write_frontend
from mcuforge.model import parse_model, read_model
from mcuforge.reference import Reference
from signalgen import DSP, REF, frames, kernels, speech, stream_mismatches

#: Builtins of TFLM's front-end graph that another branch (ops-data) brings.
DATA_OPS = {"STRIDED_SLICE", "CONCATENATION", "MINIMUM", "MAXIMUM"}
HAVE_DATA_OPS = set(supported_ops()) >= DATA_OPS
needs_data_ops = pytest.mark.skipif(
    not HAVE_DATA_OPS, reason=f"needs {', '.join(sorted(DATA_OPS))} (the ops-data branch)")
TEXT = "yes no up down left right on off stop go, the quick brown fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    need_tools("espeak-ng", "sox")
    return speech(tmp_path_factory.mktemp("speech"), TEXT)


def test_micro_speech_parameters_give_the_published_tables_and_options(zoo: Path) -> None:
    published = read_model(zoo / "audio_preprocessor_int8.tflite")
    ours = parse_model(write_frontend(MICRO_SPEECH), "ours")
    assert [op.opcode for op in ours.operators] == [op.opcode for op in published.operators]
    compared = 0
    for a, b in zip(published.operators, ours.operators, strict=True):
        assert a.options.get("custom_options") == b.options.get("custom_options"), a.describe()
        for ta, tb in zip(a.inputs, b.inputs, strict=True):
            x, y = published.tensors[ta], ours.tensors[tb]
            assert (x.dtype, x.shape, x.is_const) == (y.dtype, y.shape, y.is_const), a.describe()
            if x.is_const:
                assert x.data.tobytes() == y.data.tobytes(), f"{a.describe()}: {x.name}"
                compared += 1
    assert compared == 19  # window, shape, 3 slice, 2 zeros, 5 filter-bank tables, LUT, 6 mapping


@pytest.mark.parametrize("zero_outside_band", [True, False])
def test_micro_speech_features_equal_the_published_model_on_speech(
        zoo: Path, audio: np.ndarray, zero_outside_band: bool) -> None:
    """Without the zeroing (the front end of an ESPHome manifest given alone) the graph is
    shorter and the features are the same: the filter bank reads no bin outside the band."""
    published = Reference(zoo / "audio_preprocessor_int8.tflite")
    ours = Reference(write_frontend(replace(MICRO_SPEECH, zero_outside_band=zero_outside_band)))
    rng = np.random.default_rng(3)
    loud = np.clip(rng.standard_normal(16000 * 3) * 8000, -32768, 32767).astype(np.int16)
    steps = frames(np.concatenate([audio.reshape(-1), loud]), 480, 320)
    got = [ours.run([f])[0].copy() for f in steps]
    want = [published.run([f])[0].copy() for f in steps]
    assert sum(not np.array_equal(g, w) for g, w in zip(got, want, strict=True)) == 0
    assert len({g.tobytes() for g in got}) > len(got) // 2  # speech: the features do change


def _random_params(rng: np.random.Generator) -> FrontEndParams:
    rate = int(rng.choice([8000, 16000, 22050, 44100]))
    window_ms = float(rng.choice([10, 16, 20, 25, 30, 32]))
    samples = int(window_ms * rate / 1000)
    pow2 = 1 << int(np.ceil(np.log2(samples)))
    fft = None if rng.random() < 0.6 else int(min(2048, pow2 * 2))
    nyquist = rate / 2
    lower = float(rng.uniform(0, 300))
    upper = float(rng.uniform(0.4, 0.85) * nyquist)
    noise = bool(rng.random() < 0.8)
    return FrontEndParams(
        sample_rate=rate, window_ms=window_ms, fft_length=fft,
        channels=int(rng.integers(6, 64)), lower_band_hz=lower, upper_band_hz=upper,
        window_scaling_bits=int(rng.integers(10, 15)),
        noise_reduction=noise, pcan=noise and bool(rng.random() < 0.7),
        even_smoothing=float(rng.uniform(0.01, 0.1)), odd_smoothing=float(rng.uniform(0, 0.1)),
        min_signal_remaining=float(rng.uniform(0, 0.2)), clamping=bool(rng.random() < 0.3),
        post_scaling_bits=int(rng.integers(4, 8)),
        # Without the ops-data branch: the graph without zeroing, and log features as output.
        zero_outside_band=HAVE_DATA_OPS and bool(rng.random() < 0.5),
        output="int8" if HAVE_DATA_OPS and rng.random() < 0.5 else "int16")


def _front_end(rng: np.random.Generator) -> tuple[FrontEndParams, bytes]:
    while True:  # some random band limits leave a channel past the spectrum: draw again
        params = _random_params(rng)
        try:
            return params, write_frontend(params)
        except ValueError:
            continue


@pytest.mark.parametrize("family", ["ref", "dsp"])
def test_random_front_ends_stream_bit_exact_on_the_host(family: str, audio: np.ndarray,
                                                        tmp_path: Path) -> None:
    rng = np.random.default_rng(2024 if family == "ref" else 7)
    for k in range(5):
        params, model = _front_end(rng)
        samples = params.window_samples
        clip = audio[:: max(1, 16000 // params.sample_rate)] if params.sample_rate < 16000 \
            else np.repeat(audio, max(1, params.sample_rate // 16000))
        steps = [[f] for f in frames(clip, samples, samples // 2)][:80]
        bad, manifest = stream_mismatches(model, steps, tmp_path / str(k),
                                          families=DSP if family == "dsp" else REF,
                                          reset_at=len(steps) // 2)
        assert not bad, f"{params}:\n" + "\n".join(bad[:5])
        assert manifest["stateful"] == params.noise_reduction


@needs_data_ops
@pytest.mark.parametrize("family", ["ref", "dsp"])
def test_published_audio_preprocessor_streams_on_the_host(zoo: Path, family: str,
                                                          audio: np.ndarray,
                                                          tmp_path: Path) -> None:
    model = (zoo / "audio_preprocessor_int8.tflite").read_bytes()
    rng = np.random.default_rng(1)
    noise = [np.clip(rng.standard_normal((1, 480)) * 10 ** rng.uniform(0, 4.5), -32768,
                     32767).astype(np.int16) for _ in range(1500)]
    steps = [[f] for f in frames(audio, 480, 160)] + [[f] for f in noise]
    bad, manifest = stream_mismatches(model, steps, tmp_path,
                                      families=DSP if family == "dsp" else REF,
                                      reset_at=len(steps) // 2)
    assert len(steps) > 2000
    assert not bad, "\n".join(bad[:5])
    assert manifest["plan"]["arena_bytes"] + manifest["state_bytes"] <= 4200
    if family == "dsp":
        assert "mcuforge_signal_rfft_s16_dsp" in kernels(manifest)


def _qemu_stream(model: Path, inputs: np.ndarray, board: str, tmp_path: Path) -> None:
    from mcuforge.boards import get_board
    from mcuforge.verify import run_test

    need_tools("qemu-system-arm", "arm-none-eabi-gcc")
    np.save(tmp_path / "frames.npy", inputs)
    report = run_test(model, get_board(board), inputs_file=tmp_path / "frames.npy",
                      build_dir=tmp_path / "build")
    assert report.stream and report.vectors == len(inputs)
    assert report.mismatches == 0, report.failures[:3]


@needs_data_ops
def test_published_audio_preprocessor_streams_in_qemu(zoo: Path, audio: np.ndarray,
                                                      tmp_path: Path) -> None:
    steps = np.stack(frames(audio, 480, 320)[:200])
    _qemu_stream(zoo / "audio_preprocessor_int8.tflite", steps, "mps2-an386", tmp_path)


@pytest.mark.parametrize("board", ["mps2-an386", "mps2-an385"])
def test_generated_front_end_streams_in_qemu(board: str, audio: np.ndarray,
                                             tmp_path: Path) -> None:
    """Cortex-M4 runs the DSP kernels' instructions; the Cortex-M3 (no DSP extension) runs the
    same kernels' portable C."""
    params = replace(MICRO_SPEECH, sample_rate=8000, window_ms=32, channels=24,
                     upper_band_hz=3800.0, zero_outside_band=False, output="int16")
    model = tmp_path / "front_end.tflite"
    model.write_bytes(write_frontend(params))
    steps = np.stack(frames(audio[::2], 256, 128)[:150])
    _qemu_stream(model, steps, board, tmp_path)
