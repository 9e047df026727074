"""UNIDIRECTIONAL_SEQUENCE_LSTM against the TFLM reference, bit for bit, and Keras LSTM layers
through ``mcuforge quantize``.

TFLM keeps the LSTM's hidden and cell state between invocations (they are variable tensors), so
every comparison runs its vectors as one stream on both sides, and a reset must bring back the
first output. The published TFLM example (tests/zoo/mnist_lstm_int8.tflite) runs on the host
and in QEMU; Keras models with their own units, steps, directions and sequence outputs go through
the quantize pipeline, which must fuse them into the one op.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import need_tools
from mcuforge.compiler.compile import compile_graph
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from mcuforge.vectors import random_vectors
from modelgen import check_bit_exact, check_on_qemu


def _set_lstm_option(model: bytes, **options: Any) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(bytearray(model), 0)
    for op in m.subgraphs[0].operators:
        if op.builtinOptionsType == fb.BuiltinOptions.UnidirectionalSequenceLSTMOptions:
            for key, value in options.items():
                setattr(op.builtinOptions, key, value)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_mnist_lstm_stream_and_reset_bit_exact(zoo: Path, tmp_path: Path) -> None:
    model = (zoo / "mnist_lstm_int8.tflite").read_bytes()
    manifest = check_bit_exact(model, tmp_path, vectors=20, name="mnist_lstm")
    assert manifest["stateful"] and manifest["state_bytes"] >= 20 + 2 * 20  # hidden + cell

    compiled = compile_graph(parse_model(model, "mnist_lstm"))
    host, ref = HostModel(compiled, tmp_path / "reset"), Reference(model)
    vec = next(iter(random_vectors(compiled.manifest["inputs"], 1, seed=3))).arrays
    first = host.run(vec)[0]
    assert np.array_equal(first, ref.run(vec)[0])
    again = host.run(vec)[0]
    assert not np.array_equal(first, again), "the state did not carry over"
    host.reset()
    ref.reset()
    assert np.array_equal(host.run(vec)[0], first) and np.array_equal(ref.run(vec)[0], first)


@pytest.mark.parametrize("families", [("ref",), ("dsp", "fast", "ref")])
def test_mnist_lstm_with_cell_clip_bit_exact(families: tuple[str, ...], zoo: Path,
                                             tmp_path: Path) -> None:
    """A cell clip small enough to bite (the converter writes 10, which the state never
    reaches in 28 steps); the reference kernel and the DSP one (its intrinsics emulated)."""
    model = _set_lstm_option((zoo / "mnist_lstm_int8.tflite").read_bytes(), cellClip=0.3)
    manifest = check_bit_exact(model, tmp_path, vectors=10, name="mnist_lstm_clip",
                               families=families)
    assert manifest["steps"][0]["kernel"].endswith("_dsp") == ("dsp" in families)


def test_mnist_lstm_bit_exact_on_qemu(zoo: Path, tmp_path: Path) -> None:
    need_tools("qemu-system-arm", "arm-none-eabi-gcc")
    model = (zoo / "mnist_lstm_int8.tflite").read_bytes()
    assert check_on_qemu(model, "mps2-an386", tmp_path, vectors=20, name="mnist_lstm") > 0


def _keras_lstm(tmp_path: Path, name: str, seed: int, **layer: Any) -> tuple[Path, Path]:
    import keras

    rng = np.random.default_rng(seed)
    steps, features = int(rng.integers(3, 12)), int(rng.integers(1, 6))
    keras.utils.set_random_seed(seed)
    inp = keras.Input((steps, features))
    x = keras.layers.LSTM(int(rng.integers(2, 17)), **layer)(inp)
    if layer.get("return_sequences"):
        x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(4, activation="softmax")(x)
    model = keras.Model(inp, out)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    calib = tmp_path / f"{name}.npy"
    lo = rng.uniform(-3, 0)
    np.save(calib, rng.uniform(lo, lo + rng.uniform(1, 4), size=(40, steps, features))
            .astype(np.float32))
    return path, calib


@pytest.mark.parametrize("seed,options", [
    (1, {"return_sequences": True, "go_backwards": True, "unroll": True}),
])
def test_keras_lstm_is_fused_and_bit_exact(seed: int, options: dict, tmp_path: Path) -> None:
    """A Keras LSTM (unrolled or not, either direction) becomes one fused op that runs
    bit-exactly, and the report says the state carries over."""
    from mcuforge.quantize import quantize

    path, calib = _keras_lstm(tmp_path, f"lstm{seed}", seed, **options)
    out = tmp_path / f"lstm{seed}_int8.tflite"
    report = quantize(path, out, calib)
    assert report.ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 1, report.ops
    assert any("UNIDIRECTIONAL_SEQUENCE_LSTM" in n for n in report.notes)
    assert any("keeps its state" in n for n in report.notes)
    check_bit_exact(out.read_bytes(), tmp_path / "host", vectors=8, name=f"lstm{seed}")
