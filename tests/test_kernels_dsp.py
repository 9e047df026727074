"""Optimized (Armv7E-M DSP) kernels: the same randomized differential tests as the reference
kernels, on the host (intrinsics emulated in C) for breadth and in QEMU on a Cortex-M4 for the
real instructions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelgen import check_bit_exact, check_on_qemu, int8_tflite

DSP = ("dsp", "ref")


def _dense_model(seed: int) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    depth, hidden, out = (int(rng.integers(1, 90)), int(rng.integers(1, 23)),
                          int(rng.integers(1, 11)))
    act = [None, "relu", "relu6"][seed % 3]

    def build():  # type: ignore[no-untyped-def]
        return tf.keras.Sequential([
            tf.keras.Input((depth,)),
            tf.keras.layers.Dense(hidden, activation=act, use_bias=seed % 4 != 0),
            tf.keras.layers.Dense(out),
        ])

    return int8_tflite(build, [(depth,)], seed=seed)


@pytest.mark.parametrize("seed", range(16))
def test_fully_connected_dsp_on_host(seed: int, tmp_path: Path) -> None:
    manifest = check_bit_exact(_dense_model(seed), tmp_path, vectors=30, families=DSP,
                               name=f"dense{seed}")
    assert all(s["kernel"].endswith("_dsp") for s in manifest["steps"])


@pytest.mark.qemu
@pytest.mark.parametrize("seed", [100, 101, 102])
def test_fully_connected_dsp_on_cortex_m4(seed: int, tmp_path: Path) -> None:
    assert check_on_qemu(_dense_model(seed), "mps2-an386", tmp_path, name=f"dense{seed}") > 0
