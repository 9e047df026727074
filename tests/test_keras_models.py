"""The models people bring (issue 12), as a new user makes them: small Keras models trained one
epoch on random data, saved as .keras, quantized with ``mcuforge quantize`` and run bit-exactly
against TFLM -- on the host for every model, in QEMU for the recurrent ones and MobileNetV3.

Each model is converted once per session. Ops that other branches of this project add
(STRIDED_SLICE, SPLIT, UNPACK, TILE, TRANSPOSE, NEG, SUB, ...) are named in the skip message when
they are missing, so the table runs in full once those are merged and never silently passes.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import need_tools
from mcuforge.compiler.ops import supported_ops
from mcuforge.quantize import QuantizeError
from modelgen import check_bit_exact

#: Ops another branch adds: their absence skips a model instead of failing it.
OTHER_BRANCHES = {"STRIDED_SLICE", "SPLIT", "SPLIT_V", "SLICE", "PACK", "UNPACK", "TRANSPOSE",
                  "TILE", "GATHER", "MINIMUM", "MAXIMUM", "NEG", "ABS", "SUB",
                  "SQUARED_DIFFERENCE", "CAST", "DIV"}


def _layers() -> Any:
    import keras

    return keras.layers


def lstm() -> tuple[Any, tuple[int, ...]]:
    import keras

    inp = keras.Input((24, 3))
    return keras.Model(inp, _layers().Dense(6, activation="softmax")(_layers().LSTM(32)(inp))), \
        (24, 3)


def lstm_unrolled() -> tuple[Any, tuple[int, ...]]:
    import keras

    inp = keras.Input((24, 3))
    x = _layers().LSTM(32, unroll=True)(inp)
    return keras.Model(inp, _layers().Dense(6, activation="softmax")(x)), (24, 3)


def gru() -> tuple[Any, tuple[int, ...]]:
    import keras

    inp = keras.Input((16, 3))
    return keras.Model(inp, _layers().Dense(6, activation="softmax")(_layers().GRU(32)(inp))), \
        (16, 3)


def upsampling() -> tuple[Any, tuple[int, ...]]:
    import keras

    layers = _layers()
    inp = keras.Input((12, 12, 1))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    return keras.Model(inp, layers.Conv2D(1, 3, padding="same")(layers.UpSampling2D()(x))), \
        (12, 12, 1)


def conv_transpose() -> tuple[Any, tuple[int, ...]]:
    import keras

    layers = _layers()
    inp = keras.Input((8, 8, 4))
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(inp)
    return keras.Model(inp, layers.Conv2D(2, 1)(x)), (8, 8, 4)


def layer_norm() -> tuple[Any, tuple[int, ...]]:
    import keras

    layers = _layers()
    inp = keras.Input((20,))
    x = layers.LayerNormalization()(layers.Dense(16, activation="relu")(inp))
    return keras.Model(inp, layers.Dense(3, activation="softmax")(x)), (20,)


def global_max_pool() -> tuple[Any, tuple[int, ...]]:
    import keras

    layers = _layers()
    inp = keras.Input((16, 16, 3))
    x = layers.GlobalMaxPooling2D()(layers.Conv2D(8, 3, activation="relu")(inp))
    return keras.Model(inp, layers.Dense(4, activation="softmax")(x)), (16, 16, 3)


def permute() -> tuple[Any, tuple[int, ...]]:
    import keras

    layers = _layers()
    inp = keras.Input((12,))
    x = layers.Flatten()(layers.Permute((2, 1))(layers.Reshape((3, 4))(inp)))
    return keras.Model(inp, layers.Dense(4, activation="softmax")(x)), (12,)


def mobilenet_v3(size: int) -> Callable[[], tuple[Any, tuple[int, ...]]]:
    def build() -> tuple[Any, tuple[int, ...]]:
        import keras

        model = keras.applications.MobileNetV3Small(
            input_shape=(size, size, 3), alpha=0.35, weights=None, classes=4,
            include_preprocessing=False)
        return model, (size, size, 3)

    return build


MODELS: dict[str, Callable[[], tuple[Any, tuple[int, ...]]]] = {
    "lstm": lstm, "lstm_unrolled": lstm_unrolled, "gru": gru, "upsampling": upsampling,
    "conv_transpose": conv_transpose, "layer_norm": layer_norm,
    "global_max_pool": global_max_pool, "permute": permute,
    "mobilenet_v3_96": mobilenet_v3(96), "mobilenet_v3_160": mobilenet_v3(160),
}


#: Models only built for their size: the quantizer's converter step alone (same fixed batch of 1,
#: same calibration), without the float conversion and the float-vs-int8 comparison.
CONVERT_ONLY = {"mobilenet_v3_160"}


class Converted:
    """Each model built, trained one epoch on random data, saved and quantized once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.done: dict[str, Path | BaseException] = {}

    def get(self, name: str) -> Path:
        if name not in self.done:
            self.done[name] = self._make(name)
        result = self.done[name]
        if isinstance(result, BaseException):
            raise result
        return result

    def _make(self, name: str) -> Path | BaseException:
        import keras

        from mcuforge.quantize import quantize

        keras.utils.set_random_seed(12)
        model, shape = MODELS[name]()
        rng = np.random.default_rng(12)
        x = rng.normal(size=(24, *shape)).astype(np.float32)
        outputs = model.output_shape[-1]
        if len(model.output_shape) == 2:
            model.compile("adam", "sparse_categorical_crossentropy")
            model.fit(x, rng.integers(0, outputs, len(x)), epochs=1, verbose=0, batch_size=8)
        else:
            model.compile("adam", "mse")
            model.fit(x, rng.normal(size=(len(x), *model.output_shape[1:])), epochs=1,
                      verbose=0, batch_size=8)
        path = self.root / f"{name}.keras"
        model.save(path)
        np.save(self.root / f"{name}.npy", x)
        out = self.root / f"{name}_int8.tflite"
        try:
            if name in CONVERT_ONLY:
                import tensorflow as tf

                from mcuforge.quantize.convert import convert

                out.write_bytes(convert(tf, path, "keras", x, float_io=False))
            else:
                quantize(path, out, self.root / f"{name}.npy",
                         keep_float=self.root / f"{name}.tflite")
        except QuantizeError as exc:
            return exc
        return out


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Converted:
    return Converted(tmp_path_factory.mktemp("keras_models"))


def _model_or_skip(converted: Converted, name: str) -> Path:
    """The quantized model; skipped (naming the ops) when only other branches' ops are missing."""
    try:
        return converted.get(name)
    except QuantizeError as exc:
        missing = set(re.findall(r"op #\d+ (\S+): not supported by the mcuforge compiler",
                                 str(exc)))
        if missing and missing <= OTHER_BRANCHES - set(supported_ops()):
            pytest.skip(f"{name} needs {', '.join(sorted(missing))} (another branch's ops)")
        raise


@pytest.mark.parametrize("name", ["lstm", "lstm_unrolled", "gru", "upsampling",
                                  "conv_transpose", "layer_norm", "global_max_pool", "permute"])
def test_issue_model_bit_exact_on_host(name: str, converted: Converted, tmp_path: Path) -> None:
    model = _model_or_skip(converted, name)
    check_bit_exact(model.read_bytes(), tmp_path, vectors=4, name=name)


@pytest.mark.parametrize("name", ["lstm", "gru", "mobilenet_v3_96"])
def test_issue_model_bit_exact_on_qemu(name: str, converted: Converted, tmp_path: Path) -> None:
    from mcuforge.boards import get_board
    from mcuforge.verify import run_test

    need_tools("qemu-system-arm", "arm-none-eabi-gcc")
    model = _model_or_skip(converted, name)
    report = run_test(model, get_board("mps2-an386"), vectors=3, build_dir=tmp_path / "fw")
    assert report.mismatches == 0, "; ".join(f.describe() for f in report.failures[:3])


def test_lstm_layers_become_one_fused_op(converted: Converted) -> None:
    """LSTM and LSTM(unroll=True) alike: one UNIDIRECTIONAL_SEQUENCE_LSTM, no loop, no gates."""
    from mcuforge.model import read_model

    for name in ("lstm", "lstm_unrolled"):
        with contextlib.suppress(QuantizeError):  # refused for another branch's op: the
            converted.get(name)  # float model is kept all the same
        float_ops = [op.opcode for op in read_model(converted.root / f"{name}.tflite").operators]
        assert float_ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 1, float_ops
        assert not {"WHILE", "UNPACK", "SPLIT", "LOGISTIC"} & set(float_ops), float_ops


def test_mobilenet_v3_fits_1mib_and_the_larger_one_is_refused_with_bytes_over(
        converted: Converted, tmp_path: Path) -> None:
    """MobileNetV3Small(alpha=0.35, 96x96) builds within the 1 MiB flash and 128 KiB RAM of the
    STM32F4-Discovery; at 160x160 its activations no longer fit the RAM, and the build says by
    how many bytes before compiling anything."""
    from mcuforge.boards import get_board
    from mcuforge.build import build_firmware
    from mcuforge.errors import McuforgeError

    board = get_board("stm32f4-discovery")
    assert board.flash.size == 1 << 20
    build = build_firmware(_model_or_skip(converted, "mobilenet_v3_96"), board, tmp_path / "a")
    assert build.size.flash_bytes <= board.flash.size
    with pytest.raises(McuforgeError) as refused:
        build_firmware(_model_or_skip(converted, "mobilenet_v3_160"), board, tmp_path / "b")
    text = str(refused.value)
    assert "RAM" in text and "bytes" in text and "over" in text, text
