"""SUM, REDUCE_MAX/MIN, RESIZE_NEAREST_NEIGHBOR/BILINEAR, TRANSPOSE_CONV, BATCH_MATMUL, HARD_SWISH
and RSQRT against the TFLM reference, bit for bit.

Models come from Keras layers through the real converter (``modelgen``), each seed drawing its
own shapes, axes, strides, paddings and options, and its own calibration range (so scales and
zero points differ). Element-wise ops with one int8 input also get every int8 value. The shape
checks are tested by editing a converted model's output shape.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mcuforge.compiler.compile import compile_graph
from mcuforge.compiler.ops import node_problems
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from mcuforge.vectors import random_vectors
from modelgen import int8_tflite


def _keras() -> Any:
    import keras

    return keras


def _bit_exact(model: bytes, tmp_path: Path, name: str, *, opcode: str, vectors: int = 6,
               exhaustive: bool = False) -> None:
    graph = parse_model(model, name)
    assert opcode in [op.opcode for op in graph.operators], [op.opcode for op in graph.operators]
    compiled = compile_graph(graph)
    host, ref = HostModel(compiled, tmp_path), Reference(model)
    infos = compiled.manifest["inputs"]
    runs = [v.arrays for v in random_vectors(infos, vectors, seed=11)]
    if exhaustive:
        size = int(np.prod(infos[0]["shape"]))
        levels = np.arange(-128, 128, dtype=np.int8)
        for k in range(0, 256, size):
            runs.append([np.resize(np.roll(levels, -k), size).reshape(infos[0]["shape"])])
    for v, arrays in enumerate(runs):
        for got, want in zip(host.run(arrays), ref.run(arrays), strict=True):
            g, w = np.asarray(got).reshape(-1), np.asarray(want).reshape(-1)
            bad = np.flatnonzero(g != w)
            assert bad.size == 0, (f"{name}: vector {v} differs at {bad[0]}: mcuforge "
                                   f"{g[bad[0]]}, TFLM {w[bad[0]]} ({bad.size} values)")


def _sequential(shape: tuple[int, ...], *layers: Any, batch: bool = False) -> Callable[[], Any]:
    keras = _keras()

    def build() -> Any:
        inp = keras.Input(batch_shape=(1, *shape)) if batch else keras.Input(shape)
        x = inp
        for layer in layers:
            x = layer(x)
        return keras.Model(inp, x)

    return build


@pytest.mark.parametrize("seed", range(4))
def test_sum_and_min_max_random_axes_bit_exact(seed: int, tmp_path: Path) -> None:
    keras = _keras()
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(2, 4))
    shape = tuple(int(d) for d in rng.integers(1, 7, size=rank))
    axes = sorted(int(a) for a in rng.choice(rank, size=int(rng.integers(1, rank + 1)),
                                             replace=False))
    keep = bool(rng.integers(2))
    ops = keras.ops

    def build() -> Any:
        inp = keras.Input(shape)
        axis = tuple(a + 1 for a in axes)
        s = keras.layers.Lambda(lambda x: ops.sum(x, axis=axis, keepdims=keep))(inp)
        hi = keras.layers.Lambda(lambda x: ops.max(x, axis=axis, keepdims=keep))(inp)
        lo = keras.layers.Lambda(lambda x: ops.min(x, axis=axis, keepdims=keep))(inp)
        return keras.Model(inp, [s, hi, lo])

    model = int8_tflite(build, [shape], seed=seed)
    ops_in = [op.opcode for op in parse_model(model).operators]
    assert {"SUM", "REDUCE_MAX", "REDUCE_MIN"} <= set(ops_in), ops_in
    _bit_exact(model, tmp_path, f"reduce{seed}", opcode="SUM")


def test_global_max_pooling_bit_exact(tmp_path: Path) -> None:
    layers = _keras().layers
    model = int8_tflite(_sequential((9, 7, 5), layers.GlobalMaxPooling2D()), [(9, 7, 5)], seed=4)
    _bit_exact(model, tmp_path, "gmp", opcode="REDUCE_MAX")


@pytest.mark.parametrize("seed", range(4))
def test_resize_random_sizes_and_modes_bit_exact(seed: int, tmp_path: Path) -> None:
    """Nearest neighbour and bilinear, up and down, with and without align_corners and half
    pixel centers (Resizing's crop_to_aspect_ratio=False; UpSampling2D bilinear)."""
    import tensorflow as tf

    keras = _keras()
    rng = np.random.default_rng(100 + seed)
    shape = (int(rng.integers(2, 8)), int(rng.integers(2, 8)), int(rng.integers(1, 4)))
    size = (int(rng.integers(1, 13)), int(rng.integers(1, 13)))
    align, half = [(False, False), (True, False), (False, True), (False, True)][seed]

    def build() -> Any:
        inp = keras.Input(shape)
        nn = keras.layers.Lambda(lambda x: tf.compat.v1.image.resize_nearest_neighbor(
            x, size, align_corners=align, half_pixel_centers=half))(inp)
        bl = keras.layers.Lambda(lambda x: tf.compat.v1.image.resize_bilinear(
            x, size, align_corners=align, half_pixel_centers=half))(inp)
        return keras.Model(inp, [nn, bl])

    model = int8_tflite(build, [shape], seed=seed)
    _bit_exact(model, tmp_path, f"resize{seed}", opcode="RESIZE_BILINEAR")
    assert "RESIZE_NEAREST_NEIGHBOR" in [op.opcode for op in parse_model(model).operators]


@pytest.mark.parametrize("seed", range(4))
def test_transpose_conv_random_geometry_bit_exact(seed: int, tmp_path: Path) -> None:
    layers = _keras().layers
    rng = np.random.default_rng(200 + seed)
    shape = (int(rng.integers(2, 7)), int(rng.integers(2, 7)), int(rng.integers(1, 5)))
    kernel = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = ["same", "valid"][seed % 2]
    activation = [None, "relu", "relu6", None][seed]
    layer = layers.Conv2DTranspose(int(rng.integers(1, 6)), kernel, strides=strides,
                                   padding=padding, activation=activation,
                                   use_bias=seed != 3)
    model = int8_tflite(_sequential(shape, layer, batch=True), [shape], seed=seed)
    _bit_exact(model, tmp_path, f"tconv{seed}", opcode="TRANSPOSE_CONV")


@pytest.mark.parametrize("seed", range(3))
def test_batch_matmul_broadcast_and_adjoints_bit_exact(seed: int, tmp_path: Path) -> None:
    keras = _keras()
    rng = np.random.default_rng(300 + seed)
    m, k, n = (int(v) for v in rng.integers(1, 7, size=3))
    adj_x, adj_y = bool(seed & 1), bool(seed & 2)
    a_shape = (2, 3, k, m) if adj_x else (2, 3, m, k)
    b_shape = (1, k if not adj_y else n, n if not adj_y else k)  # broadcast over axis 1

    def build() -> Any:
        a, b = keras.Input(a_shape, name="in0"), keras.Input(b_shape, name="in1")
        ta = keras.ops.swapaxes(a, -1, -2) if adj_x else a
        tb = keras.ops.swapaxes(b, -1, -2) if adj_y else b
        return keras.Model([a, b], keras.layers.Lambda(lambda t: keras.ops.matmul(*t))([ta, tb]))

    model = int8_tflite(build, [a_shape, b_shape], seed=seed)
    _bit_exact(model, tmp_path, f"matmul{seed}", opcode="BATCH_MATMUL")


@pytest.mark.parametrize("seed", range(3))
def test_hard_swish_and_rsqrt_every_input_bit_exact(seed: int, tmp_path: Path) -> None:
    """Every int8 input of HARD_SWISH; RSQRT of a square plus a random epsilon (TFLM rejects
    inputs below the zero point), with each seed's own scales."""
    keras = _keras()
    eps = float(np.random.default_rng(seed).uniform(0.01, 1.0))

    def build() -> Any:
        inp = keras.Input((64,))
        hs = keras.layers.Activation("hard_swish")(inp)
        rs = keras.layers.Lambda(lambda x: keras.ops.rsqrt(x * x + eps))(inp)
        return keras.Model(inp, [hs, rs])

    model = int8_tflite(build, [(64,)], seed=seed)
    ops = [op.opcode for op in parse_model(model).operators]
    assert "RSQRT" in ops, ops
    _bit_exact(model, tmp_path, f"hswish{seed}", opcode="HARD_SWISH", exhaustive=True)


def _with_output_shape(model: bytes, opcode: str, shape: list[int]) -> bytes:
    """The model with ``opcode``'s output tensor given another shape."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(bytearray(model), 0)
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    sg = m.subgraphs[0]
    for op in sg.operators:
        code = m.operatorCodes[op.opcodeIndex]
        if names[max(code.builtinCode, code.deprecatedBuiltinCode)] == opcode:
            sg.tensors[op.outputs[0]].shape = np.array(shape, dtype=np.int32)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_wrong_output_shapes_are_refused_naming_tensor_and_shapes() -> None:
    layers = _keras().layers
    cases = [
        ("RESIZE_BILINEAR", _sequential((4, 4, 2), layers.UpSampling2D(interpolation="bilinear")),
         (4, 4, 2), [1, 8, 7, 2], "resized to [8, 8] gives [1, 8, 8, 2]"),
        ("TRANSPOSE_CONV", _sequential((4, 4, 2), layers.Conv2DTranspose(3, 3, strides=2,
                                                                         padding="same"),
                                       batch=True),
         (4, 4, 2), [1, 8, 8, 5], "[1, 8, 8, 5]"),
        ("REDUCE_MAX", _sequential((5, 5, 3), layers.GlobalMaxPooling2D()), (5, 5, 3), [1, 5],
         "[1, 5, 5, 3]"),
    ]
    for opcode, build, shape, bad, expected in cases:
        model = _with_output_shape(int8_tflite(build, [shape], seed=1), opcode, bad)
        graph = parse_model(model)
        op = next(o for o in graph.operators if o.opcode == opcode)
        problems = " ".join(node_problems(graph, op))
        assert f"output tensor {op.outputs[0]}" in problems and expected in problems, problems
