"""Calibration data: reading it, fitting it to the model's input, and the held-out split."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.quantize.errors import QuantizeError

MAX_CALIBRATION_SAMPLES = 500
#: Fewer calibration samples than this get a warning in the report.
MIN_CALIBRATION_SAMPLES = 50


def load_calibration(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """Read calibration inputs (first axis = samples) and optional labels from .npy / .npz."""
    path = Path(path)
    if not path.is_file():
        raise QuantizeError(f"calibration data {path} does not exist")
    if path.suffix not in (".npy", ".npz"):
        raise QuantizeError(f"calibration data must be .npy or .npz, got {path.name}")
    try:
        if path.suffix == ".npy":
            return np.asarray(np.load(path, allow_pickle=False)), None
        with np.load(path, allow_pickle=False) as data:
            if not data.files:
                raise QuantizeError(f"{path} holds no arrays")
            x = data["x"] if "x" in data.files else data[data.files[0]]
            return np.asarray(x), (np.asarray(data["y"]) if "y" in data.files else None)
    except (OSError, ValueError) as exc:
        raise QuantizeError(f"cannot read calibration data {path}: {exc}") from None


def split(n: int, holdout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(calibration indices, held-out indices), a fixed random split."""
    if not 0.0 <= holdout_fraction < 1.0:
        raise QuantizeError(f"holdout_fraction must be in [0, 1), got {holdout_fraction}")
    order = np.random.default_rng(0).permutation(n)
    n_hold = min(n - 1, max(1, round(n * holdout_fraction))) if holdout_fraction > 0 else 0
    return order[n_hold:], order[:n_hold]


def match_shape(x: np.ndarray, input_shape: list[int], name: str) -> np.ndarray:
    """``x`` as [samples, *input_shape[1:]], or QuantizeError naming both shapes."""
    want = tuple(input_shape[1:])
    if tuple(x.shape[1:]) == want:
        return x
    if x.ndim == len(input_shape) + 1 and x.shape[1] == 1 and tuple(x.shape[2:]) == want:
        return x[:, 0]  # samples stored with their batch axis of 1
    raise QuantizeError(
        f"calibration data shape {list(x.shape)} does not match the input of {name}, "
        f"{input_shape} (expected [samples, {', '.join(map(str, want))}])"
    )
