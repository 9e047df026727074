"""Randomized differential tests of the data-movement ops: PAD/PADV2, CONCATENATION, MEAN and
RESHAPE/SQUEEZE/EXPAND_DIMS (aliases, no code).

Keras models from seeded random parameters go through the real converter, mcuforge's C on the
host and TFLM, and every output must be equal bit for bit. What the converter never emits
(concatenation inputs quantized differently from each other, a MEAN that keeps its input's
quantization, SQUEEZE/EXPAND_DIMS nodes) is made by editing the converted flatbuffer, so that the
TFLM paths those produce are compared too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelgen import check_bit_exact, int8_tflite

# --- helpers ----------------------------------------------------------------------------------


def _model(shapes: list[tuple[int, ...]], body: Callable[..., Any]) -> Callable[[], Any]:
    def build() -> Any:
        import tensorflow as tf

        xs = [tf.keras.Input(s, batch_size=1) for s in shapes]
        return tf.keras.Model(xs if len(xs) > 1 else xs[0], body(*xs))

    return build


def _patch(model: bytes, edit: Callable[[Any], None]) -> bytes:
    """Edit a .tflite through the flatbuffer object API."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(model, 0))
    edit(m)
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _ops(m: Any, name: str) -> list[Any]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    code = getattr(fb.BuiltinOperator, name)
    codes = m.operatorCodes
    return [
        op
        for op in m.subgraphs[0].operators
        if max(codes[op.opcodeIndex].builtinCode, codes[op.opcodeIndex].deprecatedBuiltinCode)
        == code
    ]


def _steps(manifest: dict) -> list[tuple[str, str]]:
    return [(s["op"], s["kernel"]) for s in manifest["steps"]]


def _graph(model: bytes) -> Any:
    from mcuforge.model import parse_model

    return parse_model(model, "probe")


def _problems(model: bytes) -> str:
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.errors import UnsupportedModelError

    with pytest.raises(UnsupportedModelError) as err:
        compile_graph(_graph(model))
    return str(err.value)


# --- PAD / PADV2 ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_pad_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """Asymmetric paddings on 2- to 5-D tensors (batch axis included), zero (PAD, pad value =
    output zero point) and a non-zero constant (PADV2, its int8 constant)."""
    import tensorflow as tf

    rng = np.random.default_rng(600 + seed)
    rank = int(rng.integers(2, 6))
    shape = tuple(int(rng.integers(1, 6)) for _ in range(rank - 1))

    def paddings() -> list[list[int]]:
        batch = [[int(rng.integers(0, 2)), int(rng.integers(0, 2))]]  # the batch axis too
        return batch + [[int(rng.integers(0, 4)), int(rng.integers(0, 4))] for _ in shape]

    pads, pads2 = paddings(), paddings()
    value = float(rng.uniform(-1.5, 1.5))

    def body(x: Any) -> list[Any]:
        ops = tf.keras.ops
        return [ops.pad(x, pads), ops.pad(x, pads2, constant_values=value)]

    model = int8_tflite(_model([shape], body), [shape], seed=seed)
    name = f"pad {shape} {pads} {pads2} {value:.2f}"
    manifest = check_bit_exact(model, tmp_path, name=name, seed=seed)
    ops = [op for op, _ in _steps(manifest)]
    assert "PAD" in ops and "PADV2" in ops


@pytest.mark.parametrize("seed", range(3))
def test_zero_padding2d_then_conv_bit_exact(seed: int, tmp_path: Path) -> None:
    """Keras ZeroPadding2D in front of a VALID convolution (how many CNNs pad)."""
    import tensorflow as tf

    rng = np.random.default_rng(650 + seed)
    shape = (int(rng.integers(3, 10)), int(rng.integers(3, 10)), int(rng.integers(1, 6)))
    pad = tuple(tuple(int(v) for v in rng.integers(0, 4, size=2)) for _ in range(2))

    def body(x: Any) -> Any:
        y = tf.keras.layers.ZeroPadding2D(pad)(x)
        return [y, tf.keras.layers.Conv2D(4, 3, activation="relu")(y)]

    model = int8_tflite(_model([shape], body), [shape], seed=seed)
    manifest = check_bit_exact(model, tmp_path, name=f"zeropad {shape} {pad}", seed=seed)
    assert "PAD" in [op for op, _ in _steps(manifest)]


# --- CONCATENATION ----------------------------------------------------------------------------


def _concat_model(rng: np.random.Generator) -> tuple[Callable[[], Any], tuple[int, ...], str]:
    """2-4 branches of one input (rank 2-4 with the batch) that differ in size along the
    concatenation axis: the input itself, or a VALID convolution / dense layer that changes only
    that axis. (One input: the converter reorders several inputs, and modelgen's calibration
    data would no longer match them.)"""
    import tensorflow as tf

    L = tf.keras.layers
    rank = int(rng.integers(2, 5))
    shape = tuple(int(rng.integers(3, 7)) for _ in range(rank - 1))
    axis = int(rng.integers(1, rank))
    last = axis == rank - 1
    sizes = [int(rng.integers(1, 7)) if last else int(rng.integers(1, shape[axis - 1] + 1))
             for _ in range(int(rng.integers(2, 5)))]
    sizes = [shape[axis - 1] if rng.random() < 0.25 else n for n in sizes]  # some as is
    neg = bool(rng.random() < 0.3)

    def branch(x: Any, n: int) -> Any:
        if n == shape[axis - 1]:
            return x
        if last:  # a new depth: 1x1 convolution or dense layer
            return L.Conv2D(n, 1)(x) if rank == 4 else L.Dense(n)(x)
        k = shape[axis - 1] - n + 1  # VALID window that leaves n along the axis
        if rank == 3:
            return L.Conv1D(shape[1], k, activation="relu")(x)
        return L.Conv2D(shape[2], (k, 1) if axis == 1 else (1, k))(x)

    def body(x: Any) -> Any:
        return L.Concatenate(axis=axis - rank if neg else axis)([branch(x, n) for n in sizes])

    desc = f"concat {shape} axis {axis - rank if neg else axis} sizes {sizes}"
    return _model([shape], body), shape, desc


@pytest.mark.parametrize("seed", range(10))
def test_concatenation_random_bit_exact(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(700 + seed)
    build, shape, desc = _concat_model(rng)
    model = int8_tflite(build, [shape], seed=seed)
    manifest = check_bit_exact(model, tmp_path, name=desc, seed=seed)
    assert "CONCATENATION" in [op for op, _ in _steps(manifest)]


# --- MEAN -------------------------------------------------------------------------------------


def _mean_body(rng: np.random.Generator, rank: int) -> tuple[Callable[[Any], Any], str]:
    import tensorflow as tf

    if rank == 4 and rng.random() < 0.4:
        keep = bool(rng.random() < 0.5)
        return tf.keras.layers.GlobalAveragePooling2D(keepdims=keep), f"GAP keepdims={keep}"
    count = int(rng.integers(1, rank))
    axes = sorted(int(a) for a in rng.choice(np.arange(1, rank), size=count, replace=False))
    if rng.random() < 0.3:
        axes = [a - rank for a in axes]  # negative axes resolve like positive ones
    keep = bool(rng.random() < 0.5)
    return (lambda x: tf.keras.ops.mean(x, axis=axes, keepdims=keep)), f"mean {axes} {keep}"


@pytest.mark.parametrize("seed", range(8))
def test_mean_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """Two means of one input: GlobalAveragePooling2D (keepdims both ways) and random axis sets
    (1 to 3 axes, negative ones too) -- TFLM's QuantizedMeanOrSum path, the output requantized."""
    rng = np.random.default_rng(800 + seed)
    rank = int(rng.integers(3, 5))
    shape = tuple(int(rng.integers(1, 8)) for _ in range(rank - 1))
    (a, da), (b, db) = _mean_body(rng, rank), _mean_body(rng, rank)
    model = int8_tflite(_model([shape], lambda x: [a(x), b(x)]), [shape], seed=seed)
    manifest = check_bit_exact(model, tmp_path, name=f"{shape} {da} | {db}", seed=seed)
    # Two identical means (same axes drawn twice) are merged by the converter.
    assert [op for op, _ in _steps(manifest)].count("MEAN") == (1 if da == db else 2)


@pytest.mark.parametrize("seed", range(4))
def test_mean_keeping_quantization_bit_exact(seed: int, tmp_path: Path) -> None:
    """A MEAN whose output keeps its input's scale and zero point. Some TFLM sources divide the
    raw sum by the count (truncating) in that case; the reference wheel still requantizes
    (rounding), and mcuforge must match the wheel."""
    rng = np.random.default_rng(850 + seed)
    rank = int(rng.integers(3, 5))
    shape = tuple(int(rng.integers(2, 8)) for _ in range(rank - 1))
    (a, da), (b, db) = _mean_body(rng, rank), _mean_body(rng, rank)
    model = int8_tflite(_model([shape], lambda x: [a(x), b(x)]), [shape], seed=seed)

    def edit(m: Any) -> None:
        tensors = m.subgraphs[0].tensors
        for op in _ops(m, "MEAN"):
            src = tensors[op.inputs[0]].quantization
            dst = tensors[op.outputs[0]].quantization
            dst.scale, dst.zeroPoint = list(src.scale), list(src.zeroPoint)

    model = _patch(model, edit)
    graph = _graph(model)
    means = [op for op in graph.operators if op.opcode == "MEAN"]
    assert means and all(
        graph.tensors[op.inputs[0]].quant == graph.tensors[op.outputs[0]].quant for op in means
    )
    check_bit_exact(model, tmp_path, name=f"same-quant {shape} {da} | {db}", seed=seed)


# --- RESHAPE / SQUEEZE / EXPAND_DIMS ----------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_reshape_chains_bit_exact(seed: int, tmp_path: Path) -> None:
    """Flatten / Reshape chains between kernels and at the graph's edges: every reshape must be
    an alias (no code) and the kernels around it must still read the right bytes."""
    import tensorflow as tf

    L = tf.keras.layers
    rng = np.random.default_rng(900 + seed)
    h, w, c = (int(v) for v in rng.integers(2, 7, size=3))
    f = int(rng.integers(2, 7))

    def body(x: Any) -> list[Any]:
        flat_in = L.Flatten()(x)  # graph input -> graph output: one buffer
        y = L.Conv2D(f, 3, padding="same", activation="relu")(x)
        y = L.Reshape((h * w, f))(y)
        y = L.Dense(f + 1)(y)  # FULLY_CONNECTED over a reshaped tensor
        y = L.Reshape((h, w, f + 1))(y)
        y = L.MaxPooling2D(2, padding="same")(y)
        z = L.Reshape((-1,))(L.Reshape((w, h, f + 1))(L.Conv2D(f + 1, 1)(x)))
        return [flat_in, L.Dense(3)(L.Flatten()(y)), z]

    model = int8_tflite(_model([(h, w, c)], body), [(h, w, c)], seed=seed)
    manifest = check_bit_exact(model, tmp_path, name=f"reshape {h}x{w}x{c} f{f}", seed=seed)
    steps = _steps(manifest)
    assert sum(op == "RESHAPE" for op, _ in steps) >= 3
    assert all(kernel == "(alias)" for op, kernel in steps if op == "RESHAPE")


def _as_squeeze_or_expand(m: Any) -> None:
    """Turn every RESHAPE that only removes or inserts size-1 axes into SQUEEZE / EXPAND_DIMS."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    sg = m.subgraphs[0]

    def code_index(code: int) -> int:
        for i, oc in enumerate(m.operatorCodes):
            if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
                return i
        oc = fb.OperatorCodeT()
        oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
        m.operatorCodes.append(oc)
        return len(m.operatorCodes) - 1

    for op in _ops(m, "RESHAPE"):
        src = [int(d) for d in sg.tensors[op.inputs[0]].shape]
        dst = [int(d) for d in sg.tensors[op.outputs[0]].shape]
        if len(dst) == len(src) - 1:
            axis = next(i for i in range(len(src)) if src[:i] + src[i + 1 :] == dst)
            op.opcodeIndex = code_index(fb.BuiltinOperator.SQUEEZE)
            op.builtinOptionsType = fb.BuiltinOptions.SqueezeOptions
            op.builtinOptions = fb.SqueezeOptionsT()
            op.builtinOptions.squeezeDims = [axis]
            op.inputs = [op.inputs[0]]
        elif len(dst) == len(src) + 1:
            axis = next(i for i in range(len(dst)) if dst[:i] + dst[i + 1 :] == src)
            buf = fb.BufferT()
            buf.data = np.array([axis], np.int32).view(np.uint8)
            m.buffers.append(buf)
            t = fb.TensorT()
            t.shape, t.type, t.buffer, t.name = [1], fb.TensorType.INT32, len(m.buffers) - 1, b"ax"
            sg.tensors.append(t)
            op.opcodeIndex = code_index(fb.BuiltinOperator.EXPAND_DIMS)
            op.builtinOptionsType = fb.BuiltinOptions.ExpandDimsOptions
            op.builtinOptions = fb.ExpandDimsOptionsT()
            op.inputs = [op.inputs[0], len(sg.tensors) - 1]


def test_squeeze_and_expand_dims_bit_exact(tmp_path: Path) -> None:
    import tensorflow as tf

    L = tf.keras.layers

    def body(x: Any) -> list[Any]:
        y = tf.keras.ops.expand_dims(x, 1)  # (1, 7, 3) -> (1, 1, 7, 3)
        y = L.Conv2D(4, (1, 3), padding="same")(y)
        return [tf.keras.ops.squeeze(y, 1), L.AveragePooling2D((1, 2))(y)]

    model = _patch(int8_tflite(_model([(7, 3)], body), [(7, 3)], seed=5), _as_squeeze_or_expand)
    manifest = check_bit_exact(model, tmp_path, name="squeeze-expand")
    steps = _steps(manifest)
    assert ("SQUEEZE", "(alias)") in steps and ("EXPAND_DIMS", "(alias)") in steps


# --- what check() refuses ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def shape_ops_model() -> bytes:
    """PAD, CONCATENATION and RESHAPE (flatten) in one graph."""
    import tensorflow as tf

    L = tf.keras.layers

    def body(x: Any) -> Any:
        y = L.ZeroPadding2D(1)(x)
        return L.Flatten()(L.Concatenate()([y, L.Conv2D(2, 1)(y)]))

    return int8_tflite(_model([(4, 4, 2)], body), [(4, 4, 2)], seed=11)


def test_concatenation_with_fused_activation_is_refused(shape_ops_model: bytes) -> None:
    """TFLM's concatenation Prepare refuses any fused activation, so mcuforge does too."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    def edit(m: Any) -> None:
        relu = fb.ActivationFunctionType.RELU
        _ops(m, "CONCATENATION")[0].builtinOptions.fusedActivationFunction = relu

    message = _problems(_patch(shape_ops_model, edit))
    assert "CONCATENATION" in message and "fused activation RELU" in message


@pytest.mark.parametrize("change", ["scale", "zero point"])
def test_concatenation_of_differently_quantized_inputs_is_refused(
    shape_ops_model: bytes, change: str
) -> None:
    """The converter gives every input the output's quantization. TFLM micro does not requantize
    int8 concatenation inputs: it refuses (in Prepare) any input whose scale or zero point differs
    from the output's, even by one float32 ulp. mcuforge refuses the same models."""
    from mcuforge.errors import ModelError
    from mcuforge.reference import Reference

    def edit(m: Any) -> None:
        tensors = m.subgraphs[0].tensors
        q = tensors[_ops(m, "CONCATENATION")[0].inputs[1]].quantization
        if change == "scale":
            q.scale = [float(np.nextafter(np.float32(q.scale[0]), np.float32(1.0)))]
        else:
            q.zeroPoint = [q.zeroPoint[0] + 1 if q.zeroPoint[0] < 127 else 126]

    model = _patch(shape_ops_model, edit)
    with pytest.raises(ModelError):
        Reference(model)
    message = _problems(model)
    assert "CONCATENATION" in message and "unlike the output" in message


def test_non_constant_paddings_are_refused(shape_ops_model: bytes) -> None:
    def edit(m: Any) -> None:
        m.subgraphs[0].tensors[_ops(m, "PAD")[0].inputs[1]].buffer = 0  # no data

    from mcuforge.errors import ModelError

    # A non-constant paddings tensor nothing writes: the consistency pass refuses the read.
    with pytest.raises(ModelError, match=r"node 0 \(PAD\) reads tensor \d+ before anything"):
        _problems(_patch(shape_ops_model, edit))


def test_reshape_changing_the_size_is_refused(shape_ops_model: bytes) -> None:
    def edit(m: Any) -> None:
        out = m.subgraphs[0].tensors[_ops(m, "RESHAPE")[0].outputs[0]]
        out.shape = [1, int(out.shape[1]) + 1]

    from mcuforge.errors import ModelError

    with pytest.raises(ModelError, match=r"\(RESHAPE\): input .* has 144 values, output"):
        _problems(_patch(shape_ops_model, edit))
