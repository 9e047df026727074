"""Randomized differential tests of CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D and MAX_POOL_2D.

Each test builds a small Keras model from seeded random layer parameters, converts it with the
real TensorFlow converter (random asymmetric calibration), compiles it with mcuforge, runs the C
on the host and asserts every output equals TFLM's, bit for bit. Most models hold two parallel
branches from one input, so one conversion checks two configurations. Cases the converter never
emits (no bias input, per-tensor weights, fused activations on pools) are made by converter flags
or by editing the flatbuffer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelgen import check_bit_exact, int8_tflite

ACTIVATIONS = [None, "relu", "relu6", "clip"]
# Keras starts biases at zero; random ones make the bias add matter.
_BIAS_INIT = "random_normal"


# --- model construction helpers ----------------------------------------------------------------


def _activation(name: str | None) -> Callable[[Any], Any]:
    """A Keras activation the converter fuses: clip(-1, 1) becomes RELU_N1_TO_1."""
    import tensorflow as tf

    if name == "clip":
        return tf.keras.layers.Activation(lambda y: tf.keras.ops.clip(y, -1.0, 1.0))
    if name is None:
        return lambda y: y
    return tf.keras.layers.Activation(name)


def _geometry(rng: np.random.Generator, h: int, w: int, *, max_k: int = 5) -> dict[str, Any]:
    """Kernel, stride/dilation and padding valid for an h x w input. Keras cannot combine
    strides > 1 with dilation > 1, so a window gets one or the other."""
    k = (int(rng.integers(1, max_k + 1)), int(rng.integers(1, max_k + 1)))
    stride, dilation = (1, 1), (1, 1)
    if rng.random() < 0.5:
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    else:
        dilation = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = str(rng.choice(["same", "valid"]))
    eff = [(k[i] - 1) * dilation[i] + 1 for i in (0, 1)]
    if eff[0] > h or eff[1] > w:
        padding = "same"
    return {"kernel": k, "strides": stride, "dilation": dilation, "padding": padding}


def _input_shape(rng: np.random.Generator, max_c: int = 17) -> tuple[int, int, int]:
    # Mostly odd sizes: they exercise the asymmetric SAME padding.
    h, w = int(rng.integers(1, 7)) * 2 + 1, int(rng.integers(1, 14))
    c = 1 if rng.random() < 0.15 else int(rng.integers(1, max_c + 1))  # 1: audio/mono images
    return h, w, c


def _model(shape: tuple[int, ...], branches: list[Callable[[Any], Any]]) -> Callable[[], Any]:
    def build() -> Any:
        import tensorflow as tf

        x = tf.keras.Input(shape, batch_size=1)
        return tf.keras.Model(x, [b(x) for b in branches])

    return build


def _patch(model: bytes, edit: Callable[[Any], None]) -> bytes:
    """Edit a .tflite through the flatbuffer object API (for what the converter never emits)."""
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
    return [
        op
        for op in m.subgraphs[0].operators
        if max(m.operatorCodes[op.opcodeIndex].builtinCode,
               m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == code
    ]


def _drop_bias(model: bytes, rng: np.random.Generator) -> bytes:
    """Remove the (all-zero) bias the converter adds to use_bias=False convolutions, so that the
    kernels run without bias. CONV_2D gets either no third input or index -1; DEPTHWISE_CONV_2D
    only the former, because the TFLM wheel crashes in Prepare on a -1 depthwise bias."""

    def edit(m: Any) -> None:
        for name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            for op in _ops(m, name):
                bias = m.subgraphs[0].tensors[op.inputs[2]]
                if np.any(m.buffers[bias.buffer].data):
                    continue
                if name == "CONV_2D" and rng.random() < 0.5:
                    op.inputs = [*op.inputs[:2], -1]
                else:
                    op.inputs = list(op.inputs[:2])

    return _patch(model, edit)


def _convert_per_tensor(build: Callable[[], Any], shape: tuple[int, ...], seed: int) -> bytes:
    """Like modelgen.int8_tflite, with per-tensor weight scales (the converter's legacy mode)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed)
    lo = rng.uniform(-4.0, 0.5)
    hi = lo + rng.uniform(0.5, 6.0)

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(32):
            yield [rng.uniform(lo, hi, size=(1, *shape)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel = True
    return bytes(converter.convert())


def _kernels(manifest: dict) -> list[str]:
    return [s["op"] for s in manifest["steps"]]


# --- layers from random parameters -------------------------------------------------------------


def _conv(rng: np.random.Generator, h: int, w: int) -> tuple[Callable[[Any], Any], str, bool]:
    import tensorflow as tf

    g = _geometry(rng, h, w)
    filters = int(rng.integers(1, 18))
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    bias = bool(rng.random() < 0.6)
    layer = tf.keras.layers.Conv2D(
        filters, g["kernel"], strides=g["strides"], dilation_rate=g["dilation"],
        padding=g["padding"], use_bias=bias, bias_initializer=_BIAS_INIT,
    )
    desc = f"conv{filters} k{g['kernel']} s{g['strides']} d{g['dilation']} {g['padding']} {act}"
    return (lambda x: _activation(act)(layer(x))), desc, bias


def _depthwise(
    rng: np.random.Generator, h: int, w: int
) -> tuple[Callable[[Any], Any], str, bool]:
    import tensorflow as tf

    g = _geometry(rng, h, w)
    mult = int(rng.integers(1, 4))
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    bias = bool(rng.random() < 0.6)
    layer = tf.keras.layers.DepthwiseConv2D(
        g["kernel"], strides=g["strides"], dilation_rate=g["dilation"], padding=g["padding"],
        depth_multiplier=mult, use_bias=bias, bias_initializer=_BIAS_INIT,
    )
    desc = f"dw x{mult} k{g['kernel']} s{g['strides']} d{g['dilation']} {g['padding']} {act}"
    return (lambda x: _activation(act)(layer(x))), desc, bias


def _pool(rng: np.random.Generator, h: int, w: int, kind: str) -> tuple[Callable[[Any], Any], str]:
    import tensorflow as tf

    size = (int(rng.integers(1, 5)), int(rng.integers(1, 5)))
    strides = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    padding = str(rng.choice(["same", "valid"]))
    if size[0] > h or size[1] > w:
        padding = "same"
    cls = tf.keras.layers.AveragePooling2D if kind == "avg" else tf.keras.layers.MaxPooling2D
    layer = cls(size, strides=strides, padding=padding)
    # A ReLU after the pool is fused into it (the pool's only fused activations).
    act = [None, "relu", "relu6"][int(rng.integers(3))]
    return (lambda x: _activation(act)(layer(x))), f"{kind}pool {size} s{strides} {padding} {act}"


# --- differential tests ------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(14))
def test_conv2d_random_bit_exact(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(100 + seed)
    shape = _input_shape(rng)
    (a, da, ba), (b, db, bb) = _conv(rng, *shape[:2]), _conv(rng, *shape[:2])
    model = int8_tflite(_model(shape, [a, b]), [shape], seed=seed)
    if not (ba and bb):
        model = _drop_bias(model, rng)
    manifest = check_bit_exact(model, tmp_path, name=f"{shape} | {da} | {db}", seed=seed)
    assert _kernels(manifest).count("CONV_2D") == 2


@pytest.mark.parametrize("seed", range(10))
def test_depthwise_conv2d_random_bit_exact(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(200 + seed)
    shape = _input_shape(rng, max_c=9)
    if seed % 4 == 0:  # one input channel, as in person_detect and micro_speech
        shape = (*shape[:2], 1)
    (a, da, ba), (b, db, bb) = _depthwise(rng, *shape[:2]), _depthwise(rng, *shape[:2])
    model = int8_tflite(_model(shape, [a, b]), [shape], seed=seed)
    if not (ba and bb):
        model = _drop_bias(model, rng)
    manifest = check_bit_exact(model, tmp_path, name=f"{shape} | {da} | {db}", seed=seed)
    assert _kernels(manifest).count("DEPTHWISE_CONV_2D") == 2


@pytest.mark.parametrize("seed", range(4))
def test_per_tensor_weights_bit_exact(seed: int, tmp_path: Path) -> None:
    """Per-tensor weight scales: TFLM broadcasts the one multiplier to every channel."""
    rng = np.random.default_rng(300 + seed)
    shape = _input_shape(rng, max_c=8)
    (a, da, _), (b, db, _) = _conv(rng, *shape[:2]), _depthwise(rng, *shape[:2])
    model = _convert_per_tensor(_model(shape, [a, b]), shape, seed)
    manifest = check_bit_exact(model, tmp_path, name=f"{shape} | {da} | {db}", seed=seed)
    assert {"CONV_2D", "DEPTHWISE_CONV_2D"} <= set(_kernels(manifest))


@pytest.mark.parametrize("seed", range(8))
def test_pooling_random_bit_exact(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(400 + seed)
    shape = _input_shape(rng)
    (a, da), (b, db) = _pool(rng, *shape[:2], "avg"), _pool(rng, *shape[:2], "max")
    model = int8_tflite(_model(shape, [a, b]), [shape], seed=seed)
    manifest = check_bit_exact(model, tmp_path, name=f"{shape} | {da} | {db}", seed=seed)
    assert {"AVERAGE_POOL_2D", "MAX_POOL_2D"} <= set(_kernels(manifest))


@pytest.mark.parametrize("seed", range(3))
def test_small_cnn_bit_exact(seed: int, tmp_path: Path) -> None:
    """A chain like the zoo's CNNs: every kernel reads another kernel's requantized output."""
    import tensorflow as tf

    rng = np.random.default_rng(500 + seed)
    L = tf.keras.layers
    c1, c2, c3 = (int(rng.integers(3, 13)) for _ in range(3))
    shape = (int(rng.integers(12, 20)), int(rng.integers(12, 20)), int(rng.integers(1, 4)))

    def build() -> Any:
        x = tf.keras.Input(shape, batch_size=1)
        y = L.Conv2D(c1, 3, strides=2, padding="same", activation="relu")(x)
        y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        y = L.Conv2D(c2, 1, activation="relu")(y)
        y = L.MaxPooling2D(2)(y)
        y = L.Conv2D(c3, 3, padding="valid")(y)
        y = L.AveragePooling2D(2, padding="same")(y)
        y = L.GlobalAveragePooling2D()(y)
        return tf.keras.Model(x, L.Dense(5)(y))

    model = int8_tflite(build, [shape], seed=seed)
    check_bit_exact(model, tmp_path, name=f"cnn {shape} {c1} {c2} {c3}", seed=seed)


# --- what check() refuses ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def conv_pool_model() -> bytes:
    """One CONV_2D (node 0) then one MAX_POOL_2D (node 1)."""
    import tensorflow as tf

    def build() -> Any:
        x = tf.keras.Input((6, 6, 4), batch_size=1)
        y = tf.keras.layers.Conv2D(3, 3, padding="same")(x)
        return tf.keras.Model(x, tf.keras.layers.MaxPooling2D(2)(y))

    return int8_tflite(build, [(6, 6, 4)], seed=7)


def _problems(model: bytes) -> str:
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.errors import UnsupportedModelError
    from mcuforge.model import parse_model

    with pytest.raises(UnsupportedModelError) as err:
        compile_graph(parse_model(model, "refused"))
    return str(err.value)


def test_grouped_convolution_is_refused() -> None:
    import tensorflow as tf

    def build() -> Any:
        x = tf.keras.Input((5, 5, 4), batch_size=1)
        return tf.keras.Model(x, tf.keras.layers.Conv2D(6, 3, groups=2)(x))

    message = _problems(int8_tflite(build, [(5, 5, 4)], seed=3))
    assert "CONV_2D" in message
    assert "grouped convolution (2 groups" in message


def test_asymmetric_weights_are_refused(conv_pool_model: bytes) -> None:
    def edit(m: Any) -> None:
        weights = m.subgraphs[0].tensors[_ops(m, "CONV_2D")[0].inputs[1]]
        weights.quantization.zeroPoint = [5] * len(weights.quantization.zeroPoint)

    from mcuforge.errors import ModelError
    from mcuforge.model import parse_model
    from mcuforge.model.validate import validate_graph

    # Per-channel weights: the consistency pass refuses it (per-axis quantization is symmetric).
    with pytest.raises(ModelError, match="per-channel zero points must be 0, not \\[5\\]"):
        validate_graph(parse_model(_patch(conv_pool_model, edit), "asym"))


def test_unsupported_fused_activation_is_refused(conv_pool_model: bytes) -> None:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    def edit(m: Any) -> None:
        tanh = fb.ActivationFunctionType.TANH
        _ops(m, "CONV_2D")[0].builtinOptions.fusedActivationFunction = tanh

    assert "fused activation TANH" in _problems(_patch(conv_pool_model, edit))


def test_pool_that_requantizes_is_refused(conv_pool_model: bytes) -> None:
    """TFLM's pooling requires the output to keep the input's scale and zero point."""

    def edit(m: Any) -> None:
        out = m.subgraphs[0].tensors[_ops(m, "MAX_POOL_2D")[0].outputs[0]]
        out.quantization.scale = [s * 2 for s in out.quantization.scale]
        out.quantization.zeroPoint = [z + 1 for z in out.quantization.zeroPoint]

    message = _problems(_patch(conv_pool_model, edit))
    assert "MAX_POOL_2D" in message
    assert "differs from the input scale" in message
    assert "differs from the input's" in message
