"""Helpers for the front-end tests: small graphs of TFLM signal-library ops written directly
(``mcuforge.model.writer``), run as streams on the host build and on TFLM side by side, and
realistic audio (espeak-ng speech with noise)."""

from __future__ import annotations

import subprocess
import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mcuforge.compiler.compile import compile_graph
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel

DSP = ("dsp", "fast", "ref")
REF = ("ref",)


def stream_mismatches(model: bytes, steps: Sequence[list[np.ndarray]], directory: Path, *,
                      families: tuple[str, ...] = REF, reset_at: int | None = None,
                      views: dict[int, slice] | None = None) -> tuple[list[str], dict]:
    """Run ``steps`` through the compiled model and TFLM in the same order (resetting both at
    ``reset_at``); returns one line per differing output and the manifest. ``views`` limits
    the comparison of an output to a slice (bins TFLM leaves unwritten)."""
    compiled = compile_graph(parse_model(model, "signal"), kernel_families=families)
    host, ref = HostModel(compiled, directory), Reference(model)
    bad: list[str] = []
    for i, inputs in enumerate(steps):
        if i == reset_at:
            host.reset()
            ref.reset()
        got, want = host.run(inputs), ref.run(inputs)
        for k, (g, w) in enumerate(zip(got, want, strict=True)):
            part = (views or {}).get(k, slice(None))
            g, w = np.asarray(g).reshape(-1)[part], np.asarray(w).reshape(-1)[part]
            if g.dtype != w.dtype or not np.array_equal(g, w):
                where = np.nonzero(g != w)[0][:1]
                bad.append(f"step {i} output {k}: {np.count_nonzero(g != w)} values differ, "
                           f"first at {where.tolist()}: {g[where].tolist()} vs {w[where].tolist()}")
    return bad, compiled.manifest


def kernels(manifest: dict) -> list[str]:
    return [s["kernel"] for s in manifest["steps"]]


def speech(directory: Path, text: str, *, rate: int = 16000, seed: int = 0,
           noise: float = 200.0) -> np.ndarray:
    """espeak-ng speech at ``rate`` Hz with half a second of quiet either side, plus white noise
    of RMS ``noise``: int16 samples."""
    raw, wav = directory / "speech_raw.wav", directory / f"speech_{rate}.wav"
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(wav)],
                   check=True, capture_output=True)
    with wave.open(str(wav)) as f:
        voice = np.frombuffer(f.readframes(f.getnframes()), np.int16).astype(np.float64)
    rng = np.random.default_rng(seed)
    quiet = np.zeros(rate // 2)
    audio = np.concatenate([quiet, voice, quiet])
    audio += rng.standard_normal(audio.size) * noise
    return np.clip(np.round(audio), -32768, 32767).astype(np.int16)


def frames(audio: np.ndarray, window: int, hop: int) -> list[np.ndarray]:
    return [audio[i:i + window].reshape(1, window) for i in range(0, audio.size - window, hop)]
