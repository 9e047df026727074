"""Synthesise machine-vibration windows (normal and faulty) and their spectral features.

A window is 0.512 s of one accelerometer axis at 4 kHz (2048 samples, in g). The machines are
units of one type (think a fleet of identical pumps): each turns at f0 = 25 Hz (1500 rpm) +-4 %
(+-2 % more between windows), with the type's harmonic signature (1x..12x, decaying) varied
+-25 % per unit, a structural resonance near 800 Hz +-10 % excited by broadband noise, and sensor
noise. Load changes scale a window by 0.7-1.3.

Faults, each at a random severity from barely visible to severe:

- imbalance: the 1x harmonic grows 2-6x;
- misalignment: 2x and 3x grow 2.5-8x;
- looseness: many harmonics up to 10x plus half orders (0.5x, 1.5x, ...), clipped peaks;
- bearing (outer race): impulses at BPFO = 3.0-3.6 x f0, each ringing a 1.0-1.9 kHz resonance.

Features (:func:`vibration_features`): Welch power spectrum (512-point Hann segments, 50 %
overlap, 7.8 Hz bins), averaged into 64 bands -- 32 single bins over 7.8-250 Hz where the
harmonics are, then 32 log-spaced bands up to 2 kHz -- and log10. The model sees these minus
the training mean, divided by the training std (both stored in threshold.json).

Training and validation machines are disjoint from the held-out machines. Usage:
``python synth.py`` writes data/train.npz, data/val.npz and data/heldout.npz.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

FS = 4000.0
WINDOW = 2048
SEGMENT = 512
KINDS = ["normal", "imbalance", "misalignment", "looseness", "bearing"]
DATA_DIR = Path(__file__).resolve().parent / "data"


def _band_edges() -> np.ndarray:
    """Bin index edges of the 64 feature bands (bins of 7.8125 Hz)."""
    linear = np.arange(1, 34)  # bands 0..31 = bins 1..32
    log = np.round(np.geomspace(33, 257, 33)).astype(int)  # strictly increasing: ratio 1.066
    return np.concatenate([linear[:-1], log])


BAND_EDGES = _band_edges()
NUM_FEATURES = len(BAND_EDGES) - 1


def vibration_features(windows: np.ndarray) -> np.ndarray:
    """log10 band powers, shape (N, WINDOW) -> (N, 64) float32."""
    starts = range(0, WINDOW - SEGMENT + 1, SEGMENT // 2)
    hann = np.hanning(SEGMENT)
    segs = np.stack([windows[:, s : s + SEGMENT] for s in starts], axis=1)
    segs = segs - segs.mean(axis=2, keepdims=True)
    power = (np.abs(np.fft.rfft(segs * hann, axis=2)) ** 2).mean(axis=1)
    bands = np.stack(
        [power[:, a:b].mean(axis=1) for a, b in zip(BAND_EDGES[:-1], BAND_EDGES[1:], strict=True)],
        axis=1,
    )
    return np.log10(bands + 1e-10).astype(np.float32)


def random_machine(rng: np.random.Generator) -> dict[str, float | np.ndarray]:
    """One unit of the machine type: the type's signature with unit-to-unit spread."""
    return {
        "f0": 25.0 * rng.uniform(0.96, 1.04),
        "amp": 0.15 * rng.uniform(0.8, 1.25),
        "decay": rng.uniform(0.5, 0.6),
        "phase_jitter": rng.uniform(0.1, 0.5),
        "res_hz": 800.0 * rng.uniform(0.9, 1.1),
        "res_q": rng.uniform(8, 12),
        "res_amp": 0.03 * rng.uniform(0.8, 1.25),
        "noise": 0.005 * rng.uniform(0.8, 1.25),
        "weights": rng.uniform(0.8, 1.25, 12),
    }


def _resonant_noise(rng: np.random.Generator, n: int, hz: float, q: float) -> np.ndarray:
    """White noise shaped by a resonance peak (Lorentzian in the frequency domain), unit RMS."""
    f = np.fft.rfftfreq(n, 1 / FS)
    shape = 1.0 / (1.0 + (q * (f / hz - hz / np.maximum(f, 1e-3))) ** 2)
    spec = (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)) * np.sqrt(shape)
    sig = np.fft.irfft(spec, n)
    return sig / (np.sqrt(np.mean(sig**2)) + 1e-12)


def render(rng: np.random.Generator, m: dict, kind: str) -> np.ndarray:
    """One window (WINDOW,) in g."""
    t = np.arange(WINDOW) / FS
    f0 = m["f0"] * rng.uniform(0.98, 1.02)
    load = rng.uniform(0.7, 1.3)
    amps = m["amp"] * m["decay"] ** np.arange(12) * m["weights"]
    severity = rng.uniform(0.0, 1.0)
    half_orders = np.zeros(12)
    if kind == "imbalance":
        amps[0] *= 2.0 + 4.0 * severity
    elif kind == "misalignment":
        amps[1:3] *= 2.5 + 5.5 * severity
    elif kind == "looseness":
        amps[:10] = np.maximum(
            amps[:10], m["amp"] * (0.1 + 0.4 * severity) * rng.uniform(0.3, 1.0, 10)
        )
        half_orders[:6] = m["amp"] * (0.05 + 0.3 * severity) * rng.uniform(0.3, 1.0, 6)
    sig = np.zeros(WINDOW)
    for k in range(12):
        phase = rng.uniform(0, 2 * np.pi)
        wobble = m["phase_jitter"] * np.sin(2 * np.pi * rng.uniform(0.2, 2) * t)
        sig += amps[k] * np.sin(2 * np.pi * (k + 1) * f0 * t + phase + 0.1 * wobble)
        if half_orders[k]:
            sig += half_orders[k] * np.sin(2 * np.pi * (k + 0.5) * f0 * t + phase)
    sig *= load
    sig += m["res_amp"] * load * _resonant_noise(rng, WINDOW, m["res_hz"], m["res_q"])
    if kind == "looseness":
        limit = np.quantile(np.abs(sig), 0.97 - 0.15 * severity)
        sig = np.clip(sig, -limit, limit)  # impacts against a stop flatten the peaks
    if kind == "bearing":
        bpfo = f0 * rng.uniform(3.0, 3.6)
        ring_hz, decay = rng.uniform(1000, 1900), rng.uniform(150, 400)
        tau = np.arange(int(0.02 * FS)) / FS
        ring = np.exp(-decay * tau) * np.sin(2 * np.pi * ring_hz * tau)
        pulses = np.zeros(WINDOW)
        times = np.arange(rng.uniform(0, 1 / bpfo), WINDOW / FS, 1 / bpfo)
        idx = (times * FS).astype(int)
        pulses[idx] = m["amp"] * (0.05 + 0.6 * severity) * rng.uniform(0.6, 1.0, idx.size)
        sig += np.convolve(pulses, ring)[:WINDOW]
    sig += m["noise"] * rng.standard_normal(WINDOW)
    return sig.astype(np.float32)


def build(seed: int, machines: int, normals: int, faults: int) -> dict[str, np.ndarray]:
    """``normals`` healthy windows and ``faults`` windows of each fault kind per machine."""
    rng = np.random.default_rng(seed)
    xs, kinds, ids = [], [], []
    for i in range(machines):
        m = random_machine(rng)
        for kind_id, kind in enumerate(KINDS):
            for _ in range(normals if kind == "normal" else faults):
                xs.append(render(rng, m, kind))
                kinds.append(kind_id)
                ids.append(i)
    return {"x": np.stack(xs), "kind": np.array(kinds), "machine": np.array(ids)}


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--seed", type=int, default=77)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    splits = {
        "train": build(args.seed, 60, 100, 0),  # an autoencoder trains on normals only
        "val": build(args.seed + 1, 20, 50, 0),
        "heldout": build(args.seed + 2, 20, 20, 5),
    }
    for name, data in splits.items():
        np.savez(args.out / f"{name}.npz", kinds=np.array(KINDS), **data)
        print(
            f"{name}: {len(data['kind'])} windows from {len(np.unique(data['machine']))} machines"
        )


if __name__ == "__main__":
    main()
