"""Audio in: WAV files converted to what a pipeline takes (int16 at its rate and channel count),
and the host microphone for ``mcuforge listen --mic``."""

from __future__ import annotations

import importlib.util
import wave
from collections.abc import Iterator
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np

from mcuforge.errors import AudioError


@dataclass
class Audio:
    samples: np.ndarray  # int16 [n, channels]
    sample_rate: int
    #: What was done to the file's audio to get here, for the user (empty: nothing).
    conversions: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def _read_wav(path: Path) -> tuple[np.ndarray, int, str]:
    """(samples [n, channels] as float64 in int16 units, rate, a note on the sample type or
    "") from PCM or float WAV files."""
    from scipy.io import wavfile

    if not path.is_file():
        raise AudioError(f"{path}: no such audio file")
    try:
        with wave.open(str(path), "rb"):
            pass
    except wave.Error as exc:
        if "unknown format: 3" not in str(exc):  # float WAV: the wave module refuses, scipy reads
            raise AudioError(f"{path}: not a WAV file mcuforge can read ({exc}); convert it, "
                             "e.g. sox in.ext -r 16000 -c 1 -b 16 out.wav") from None
    except EOFError:
        raise AudioError(f"{path}: truncated WAV file") from None
    try:
        rate, data = wavfile.read(str(path))
    except (ValueError, OSError) as exc:
        raise AudioError(f"{path}: cannot read the WAV data ({exc})") from None
    if data.size == 0:
        raise AudioError(f"{path}: the file holds no samples")
    data = data.reshape(len(data), -1)
    kind = data.dtype
    if kind == np.int16:
        return data.astype(np.float64), int(rate), ""
    if kind == np.uint8:
        scaled = (data.astype(np.float64) - 128.0) * 256.0
    elif kind == np.int32:  # 24- and 32-bit PCM (scipy left-aligns 24-bit samples)
        scaled = data.astype(np.float64) / 65536.0
    elif kind in (np.float32, np.float64):
        scaled = data.astype(np.float64) * 32768.0
    else:
        raise AudioError(f"{path}: {kind} samples are not supported (int16, uint8, int32, float)")
    return scaled, int(rate), f"{kind} samples converted to int16"


def resample(x: np.ndarray, rate: int, target: int) -> tuple[np.ndarray, str]:
    """Resample float samples [n, channels]; returns them and the method's name."""
    if importlib.util.find_spec("soxr") is not None:
        import soxr

        return np.asarray(soxr.resample(x, rate, target)).reshape(-1, x.shape[1]), "soxr"
    from scipy.signal import resample_poly

    g = gcd(rate, target)
    return resample_poly(x, target // g, rate // g, axis=0), "scipy.signal.resample_poly"


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def load_wav(path: Path, sample_rate: int = 16000, channels: int = 1) -> Audio:
    """The file as int16 at ``sample_rate`` with ``channels``; conversions are listed."""
    x, rate, note = _read_wav(Path(path))
    notes = [note] if note else []
    if x.shape[1] != channels:
        if channels != 1:
            raise AudioError(f"{path}: {x.shape[1]} channels; the pipeline takes {channels}")
        notes.append(f"{x.shape[1]} channels mixed down to mono")
        x = x.mean(axis=1, keepdims=True)
    if rate != sample_rate:
        x, method = resample(x, rate, sample_rate)
        notes.append(f"resampled from {rate} Hz to {sample_rate} Hz with {method}")
    return Audio(to_int16(x), sample_rate, notes)


def _sounddevice():  # type: ignore[no-untyped-def]
    try:
        import sounddevice
    except ImportError:
        raise AudioError(
            "--mic needs the Python package sounddevice: pip install sounddevice") from None
    except OSError as exc:  # the package loads PortAudio when it is imported
        raise AudioError(
            f"--mic needs the PortAudio library, which sounddevice could not load ({exc}): "
            "apt install libportaudio2 (Debian/Ubuntu), brew install portaudio (macOS)") from None
    return sounddevice


def microphone(seconds: float, sample_rate: int = 16000, channels: int = 1,
               block: int = 1600) -> tuple[str, Iterator[np.ndarray]]:
    """The default input device's name and its samples (int16 [block, channels] blocks) as
    they are recorded, for ``seconds``."""
    sd = _sounddevice()
    try:
        device = sd.query_devices(kind="input")
    except Exception as exc:  # sounddevice raises PortAudioError or ValueError here
        raise AudioError(f"--mic: no audio input device found ({exc}); plug in a microphone or "
                         "stream a file with --wav") from None
    name = str(device.get("name", "?"))

    def blocks() -> Iterator[np.ndarray]:
        try:
            with sd.InputStream(samplerate=sample_rate, channels=channels, dtype="int16",
                                blocksize=block) as stream:
                for _ in range(max(1, round(seconds * sample_rate / block))):
                    data, _overflowed = stream.read(block)
                    yield np.asarray(data, dtype=np.int16).reshape(-1, channels)
        except sd.PortAudioError as exc:
            raise AudioError(f"--mic: recording from '{name}' failed: {exc}") from None

    return name, blocks()


def record_microphone(seconds: float, sample_rate: int = 16000, channels: int = 1) -> Audio:
    """``seconds`` of audio from the default input device, all at once."""
    name, blocks = microphone(seconds, sample_rate, channels)
    return Audio(np.concatenate(list(blocks)), sample_rate,
                 [f"recorded {seconds:g} s from '{name}'"])
