"""16x8 models (int16 activations, int8 weights) against the TFLM reference, bit for bit.

Keras models through the real converter in its 16x8 mode, each seed with its own shapes,
strides, activations and calibration range; then ``mcuforge quantize --activations int16`` end to
end, and one model in QEMU.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import need_tools
from mcuforge.model import parse_model
from modelgen import check_bit_exact, check_on_qemu


def int16_tflite(build: Callable[[], Any], shape: tuple[int, ...], seed: int) -> bytes:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-4.0, 0.5)
    hi = lo + rng.uniform(0.5, 6.0)

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(32):
            yield [rng.uniform(lo, hi, size=(1, *shape)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int16
    return bytes(conv.convert())


def _cnn(seed: int) -> tuple[Callable[[], Any], tuple[int, ...]]:
    import keras

    layers = keras.layers
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(5, 12)), int(rng.integers(5, 12)), int(rng.integers(1, 4)))
    act = ["relu", "relu6", None, "tanh"][seed % 4]
    stride = int(rng.integers(1, 3))

    def build() -> Any:
        return keras.Sequential([
            keras.Input(batch_shape=(1, *shape)),
            layers.Conv2D(int(rng.integers(2, 9)), int(rng.integers(1, 4)), strides=stride,
                          padding=["same", "valid"][seed % 2], activation=act),
            layers.DepthwiseConv2D(3, padding="same", depth_multiplier=1 + seed % 2,
                                   activation="relu6"),
            layers.MaxPooling2D(2, padding="same"),
            layers.AveragePooling2D(2, strides=1, padding="same"),
            layers.Flatten(),
            layers.Dense(int(rng.integers(3, 12)), activation="sigmoid"),
            layers.Dense(4),
            layers.Softmax(),
        ])

    return build, shape


@pytest.mark.parametrize("seed", range(3))
def test_16x8_cnn_bit_exact(seed: int, tmp_path: Path) -> None:
    """CONV_2D, DEPTHWISE_CONV_2D, both pools, FULLY_CONNECTED, LOGISTIC, TANH, SOFTMAX."""
    build, shape = _cnn(seed)
    model = int16_tflite(build, shape, seed)
    graph = parse_model(model)
    assert graph.tensors[graph.inputs[0]].dtype == "int16"
    ops = {op.opcode for op in graph.operators}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX", "LOGISTIC"} <= ops, ops
    check_bit_exact(model, tmp_path, vectors=8, name=f"cnn16_{seed}")


@pytest.mark.parametrize("seed", range(2))
def test_16x8_add_mul_broadcast_bit_exact(seed: int, tmp_path: Path) -> None:
    import keras

    layers = keras.layers
    n = 4 + seed * 3

    def build() -> Any:
        inp = keras.Input(batch_shape=(1, 3, n))
        a, b = layers.Dense(n)(inp), layers.Dense(n, activation="tanh")(inp)
        row = layers.Lambda(lambda t: keras.ops.mean(t, axis=1, keepdims=True))(b)
        return keras.Model(inp, layers.Multiply()([layers.Add()([a, row]), b]))

    model = int16_tflite(build, (3, n), seed)
    ops = [op.opcode for op in parse_model(model).operators]
    assert "ADD" in ops and "MUL" in ops, ops
    check_bit_exact(model, tmp_path, vectors=8, name=f"addmul16_{seed}")


def test_quantize_activations_int16_end_to_end(tmp_path: Path) -> None:
    """``quantize --activations int16``: int16 I/O, the report says so, the model runs
    bit-exactly, and it is closer to the float model than the int8 one."""
    import keras

    from mcuforge.quantize import quantize

    build, shape = _cnn(5)
    keras.utils.set_random_seed(5)
    path = tmp_path / "cnn.keras"
    build().save(path)
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(5).normal(size=(60, *shape)).astype(np.float32))
    r16 = quantize(path, tmp_path / "cnn16.tflite", calib, activations="int16", task="regression")
    r8 = quantize(path, tmp_path / "cnn8.tflite", calib, task="regression")
    assert r16.input_dtype == r16.output_dtype == "int16"
    assert r16.mean_abs_error < r8.mean_abs_error
    check_bit_exact((tmp_path / "cnn16.tflite").read_bytes(), tmp_path / "host", vectors=6)


def test_16x8_bit_exact_on_qemu(tmp_path: Path) -> None:
    need_tools("qemu-system-arm", "arm-none-eabi-gcc")
    build, shape = _cnn(1)
    model = int16_tflite(build, shape, 1)
    assert check_on_qemu(model, "mps2-an386", tmp_path, vectors=5, name="cnn16") > 0
