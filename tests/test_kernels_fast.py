"""Portable specialised kernels ("fast" family): the table-driven ADD, on the host and in QEMU
on a Cortex-M3, bit-exact with TFLM over random shapes, broadcasts and quantizations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelgen import check_bit_exact, check_on_qemu, int8_tflite

FAST = ("fast", "ref")


def _add_model(seed: int, relu: bool | None = None) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 9)))
    other = shape if seed % 2 == 0 else (1, 1, shape[2])
    # A fused RELU after an ADD whose calibration sums were all negative gets a degenerate
    # output scale that TFLM itself rejects; seeds are chosen where it does not happen.
    relu = seed % 3 == 1 if relu is None else relu

    def build():  # type: ignore[no-untyped-def]
        a = tf.keras.Input(shape, name="in0")
        b = tf.keras.Input(other, name="in1")
        x = tf.keras.layers.Add()([a, b])
        return tf.keras.Model([a, b], tf.keras.layers.ReLU()(x) if relu else x)

    return int8_tflite(build, [shape, other], seed=seed)


@pytest.mark.parametrize("seed", range(1, 9))
def test_table_add_on_host(seed: int, tmp_path: Path) -> None:
    manifest = check_bit_exact(_add_model(seed), tmp_path, vectors=30, families=FAST,
                               name=f"add{seed}")
    assert any(s["kernel"] == "mcuforge_add_s8_lut" for s in manifest["steps"])


@pytest.mark.qemu
def test_table_add_on_cortex_m3(tmp_path: Path) -> None:
    assert check_on_qemu(_add_model(42), "mps2-an385", tmp_path, name="add42") > 0


def test_add_with_a_degenerate_output_scale_is_refused() -> None:
    # seed 0: the calibration sums were all negative, the RELU output scale collapsed to ~1e-8.
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.errors import UnsupportedModelError
    from mcuforge.model import parse_model

    with pytest.raises(UnsupportedModelError, match="too small for the inputs' scales"):
        compile_graph(parse_model(_add_model(0, relu=True), "add0"), kernel_families=FAST)


def test_add_with_a_zero_output_scale_is_refused_not_a_crash(zoo: Path) -> None:
    from mcuforge.compiler.ops import check_graph
    from mcuforge.errors import ModelError
    from mcuforge.model import read_model
    from mcuforge.model.ir import Quant

    graph = read_model(zoo / "simple_add.tflite")
    graph.tensors[graph.outputs[0]].quant = Quant((0.0,), (0,))
    with pytest.raises(ModelError, match="scale 0.0 is not a finite float32"):
        check_graph(graph)
