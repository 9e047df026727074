"""Test inputs: seeded random vectors shaped like the model's inputs, or the user's own file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.errors import McuforgeError
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.protocol import fill_pattern


@dataclass
class Vector:
    """One set of model inputs. ``seeds[i]`` is set when input i is the device-side fill pattern
    of that seed (the device then makes the bytes itself; see ``protocol.fill_pattern``)."""

    arrays: list[np.ndarray]
    seeds: list[int | None] = field(default_factory=list)


def vector_seed(seed: int, vector: int, input_index: int) -> int:
    return (seed * 1_000_003 + vector * 7919 + input_index * 104_729 + 1) & 0xFFFFFFFF


def random_vectors(inputs: list[dict[str, Any]], count: int, seed: int) -> list[Vector]:
    """``count`` vectors of uniformly distributed values. Integer inputs use the device's fill
    pattern (full range of the type); float inputs are drawn over ``sample_range`` (the range
    their quantization represents, from the build manifest) and sent over the line."""
    rng = np.random.default_rng(seed)
    vectors = []
    for v in range(count):
        arrays: list[np.ndarray] = []
        seeds: list[int | None] = []
        for i, info in enumerate(inputs):
            dtype = NUMPY_DTYPES[info["dtype"]]
            if np.issubdtype(dtype, np.integer):
                s = vector_seed(seed, v, i)
                raw = fill_pattern(s, info["bytes"])
                arrays.append(np.frombuffer(raw, dtype=dtype).reshape(info["shape"]).copy())
                seeds.append(s)
            else:
                lo, hi = info.get("sample_range") or (-1.0, 1.0)
                arrays.append(rng.uniform(lo, hi, size=info["shape"]).astype(dtype))
                seeds.append(None)
        vectors.append(Vector(arrays, seeds))
    return vectors


def quantize_like_tflm(x: np.ndarray, scale: float, zero_point: int, dtype: np.dtype) -> np.ndarray:
    """Float values as the model's integer input: ``round(x / scale) + zero_point`` with a
    float32 division, rounding half away from zero and a clamp (TFLM's AffineQuantize)."""
    q = np.asarray(x, dtype=np.float32) / np.float32(scale)
    rounded = np.sign(q) * np.floor(np.abs(q) + np.float32(0.5))
    info = np.iinfo(dtype)
    return np.clip(rounded.astype(np.float64) + zero_point, info.min, info.max).astype(dtype)


def load_vectors(path: Path, inputs: list[dict[str, Any]],
                 say: Callable[[str], None] | None = None) -> list[Vector]:
    """Vectors from ``.npy`` (single-input models: shape (N, *input) or the input's own shape)
    or ``.npz`` (one array per input, by input name or in order; first axis = vectors).

    Float data for a quantized integer input is quantized with the input's scale and zero point
    (``say`` is told so); other type mismatches are refused."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise McuforgeError(f"{path}: cannot read inputs: {exc}") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        keys = list(loaded.keys())
        arrays = []
        for i, info in enumerate(inputs):
            key = info["name"] if info["name"] in keys else (keys[i] if i < len(keys) else None)
            if key is None:
                raise McuforgeError(
                    f"{path}: holds {len(keys)} arrays, the model has {len(inputs)} inputs"
                )
            arrays.append(loaded[key])
    else:
        if len(inputs) != 1:
            raise McuforgeError(
                f"{path}: a .npy file can feed a single-input model; this one has "
                f"{len(inputs)} inputs (use .npz with one array per input)"
            )
        arrays = [loaded]
    per_input = []
    for arr, info in zip(arrays, inputs, strict=True):
        shape = tuple(info["shape"])
        if arr.shape == shape:
            arr = arr[None]
        if arr.shape[1:] != shape and arr.reshape(arr.shape[0], -1).shape[1] != int(np.prod(shape)):
            raise McuforgeError(
                f"{path}: input '{info['name']}' needs shape {list(shape)} per "
                f"vector, the file holds {list(arr.shape)}"
            )
        want = NUMPY_DTYPES[info["dtype"]]
        quantized = info.get("scale") is not None and np.issubdtype(want, np.integer)
        if arr.dtype != want and np.issubdtype(arr.dtype, np.floating) and quantized:
            arr = quantize_like_tflm(arr, info["scale"], info["zero_point"] or 0, want)
            if say is not None:
                say(f"input '{info['name']}': {path.name} holds float values; quantized to "
                    f"{info['dtype']} with the model's scale {info['scale']:.6g} and zero point "
                    f"{info['zero_point']}")
        elif arr.dtype != want:
            raise McuforgeError(
                f"{path}: input '{info['name']}' is {info['dtype']}, the file holds "
                f"{arr.dtype}"
            )
        per_input.append(arr.reshape((arr.shape[0], *shape)))
    counts = {a.shape[0] for a in per_input}
    if len(counts) != 1:
        raise McuforgeError(f"{path}: inputs hold different numbers of vectors: {sorted(counts)}")
    return [Vector([a[i] for a in per_input], [None] * len(per_input)) for i in range(counts.pop())]
