"""Audio in: WAV files converted to 16 kHz mono int16 (and said so), clear errors for files that
are not audio, and for --mic where there is no microphone."""

from __future__ import annotations

import importlib.util
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import wavfile

from conftest import need_tools
from mcuforge.cli import cli
from mcuforge.errors import AudioError
from mcuforge.pipeline.audio import load_wav, record_microphone

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "models" / "pipelines" / "okay_nabu.toml"


def test_native_format_is_taken_as_it_is(tmp_path: Path) -> None:
    x = np.random.default_rng(0).integers(-32768, 32767, size=1000, dtype=np.int16)
    wavfile.write(tmp_path / "a.wav", 16000, x)
    audio = load_wav(tmp_path / "a.wav")
    assert audio.conversions == [] and np.array_equal(audio.samples[:, 0], x)


def test_espeak_audio_is_resampled_and_says_so(tmp_path: Path) -> None:
    need_tools("espeak-ng")
    subprocess.run(["espeak-ng", "-w", str(tmp_path / "s.wav"), "okay nabu"], check=True)
    with wave.open(str(tmp_path / "s.wav")) as w:
        rate, n = w.getframerate(), w.getnframes()
    assert rate == 22050
    audio = load_wav(tmp_path / "s.wav")
    assert audio.samples.dtype == np.int16 and audio.samples.shape[1] == 1
    assert abs(len(audio.samples) - n * 16000 / 22050) <= 1
    assert len(audio.conversions) == 1
    assert audio.conversions[0].startswith("resampled from 22050 Hz to 16000 Hz with ")


def test_stereo_float_audio_is_mixed_down(tmp_path: Path) -> None:
    t = np.arange(48000) / 48000
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    wavfile.write(tmp_path / "f.wav", 48000,
                  np.stack([left, left], axis=1).astype(np.float32))
    audio = load_wav(tmp_path / "f.wav")
    assert len(audio.samples) == 16000
    assert audio.conversions[:2] == ["float32 samples converted to int16",
                                     "2 channels mixed down to mono"]
    peak = int(np.abs(audio.samples[100:-100]).max())
    assert abs(peak - 16384) < 200  # half of full scale survives resampling


def test_8_and_32_bit_pcm(tmp_path: Path) -> None:
    wavfile.write(tmp_path / "u8.wav", 16000, np.array([0, 128, 255], dtype=np.uint8))
    assert load_wav(tmp_path / "u8.wav").samples[:, 0].tolist() == [-32768, 0, 32512]
    wavfile.write(tmp_path / "i32.wav", 16000, np.array([65536 * 100, -65536 * 7],
                                                        dtype=np.int32))
    audio = load_wav(tmp_path / "i32.wav")
    assert audio.samples[:, 0].tolist() == [100, -7]
    assert audio.conversions == ["int32 samples converted to int16"]


def test_bad_files_are_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "text.wav").write_text("not audio at all")
    with pytest.raises(AudioError, match="not a WAV file"):
        load_wav(tmp_path / "text.wav")
    wavfile.write(tmp_path / "empty.wav", 16000, np.zeros(0, dtype=np.int16))
    with pytest.raises(AudioError, match="holds no samples"):
        load_wav(tmp_path / "empty.wav")
    with pytest.raises(AudioError, match="no such audio file"):
        load_wav(tmp_path / "missing.wav")
    wavfile.write(tmp_path / "st.wav", 16000, np.zeros((10, 2), dtype=np.int16))
    with pytest.raises(AudioError, match="2 channels; the pipeline takes 3"):
        load_wav(tmp_path / "st.wav", channels=3)


def test_listen_refuses_a_bad_wav_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "x.wav").write_bytes(b"RIFF\x00\x00")
    result = CliRunner().invoke(cli, ["listen", str(EXAMPLE), "-b", "mps2-an386", "--wav",
                                      str(tmp_path / "x.wav")])
    assert result.exit_code == 2 and "error:" in result.output and "Traceback" not in \
        result.output
    result = CliRunner().invoke(cli, ["listen", str(EXAMPLE), "-b", "mps2-an386"])
    assert result.exit_code == 2 and "--wav FILE or --mic" in result.output


@pytest.mark.skipif(importlib.util.find_spec("sounddevice") is not None,
                    reason="sounddevice is installed here: the no-package error cannot happen")
def test_mic_without_sounddevice_names_what_to_install() -> None:
    with pytest.raises(AudioError, match="pip install sounddevice"):
        record_microphone(1.0)
    result = CliRunner().invoke(cli, ["listen", str(EXAMPLE), "-b", "mps2-an386", "--mic"])
    assert result.exit_code == 2 and "pip install sounddevice" in result.output
