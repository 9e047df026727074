"""Helium (MVE) kernels: randomized differential tests against TFLM, on the host (the MVE
instructions emulated lane by lane in C, kernels/mve/mve.h) for breadth, and in QEMU on the
Cortex-M55 (mps3-an547) for the real instructions.

Each generated model has several branches from one input, so one conversion checks several
geometries. Channel counts are chosen around the kernels' blockings: 16-byte column steps
(multiples of 16 and tails), four output channels per vector (tails of 1-3), eight depthwise
channels per pass.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelgen import check_bit_exact, check_on_qemu, int8_tflite
from test_kernels_conv import (
    _BIAS_INIT,
    ACTIVATIONS,
    _activation,
    _drop_bias,
    _geometry,
    _model,
    _ops,
    _patch,
)

MVE = ("mve", "dsp", "fast", "ref")
IN_CHANNELS = [1, 1, 2, 3, 4, 7, 8, 12, 16, 17, 24, 32, 33]
OUT_CHANNELS = [1, 2, 3, 4, 5, 8, 11, 16, 20]
ZOO = Path(__file__).parent / "zoo"

Branch = Callable[[Any], Any]


def _shape(rng: np.random.Generator, channels: list[int]) -> tuple[int, int, int]:
    h, w = int(rng.integers(1, 12)), int(rng.integers(1, 14))
    return h, w, int(rng.choice(channels))


def _conv(rng: np.random.Generator, h: int, w: int) -> tuple[Branch, str, bool]:
    import tensorflow as tf

    g = _geometry(rng, h, w)
    filters = int(rng.choice(OUT_CHANNELS))
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    bias = bool(rng.random() < 0.7)
    layer = tf.keras.layers.Conv2D(
        filters, g["kernel"], strides=g["strides"], dilation_rate=g["dilation"],
        padding=g["padding"], use_bias=bias, bias_initializer=_BIAS_INIT,
    )
    desc = f"conv{filters} k{g['kernel']} s{g['strides']} d{g['dilation']} {g['padding']} {act}"
    return (lambda x: _activation(act)(layer(x))), desc, bias


def _depthwise(rng: np.random.Generator, h: int, w: int, mult: int = 1) -> tuple[Branch, str]:
    import tensorflow as tf

    g = _geometry(rng, h, w)
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    layer = tf.keras.layers.DepthwiseConv2D(
        g["kernel"], strides=g["strides"], dilation_rate=g["dilation"], padding=g["padding"],
        depth_multiplier=mult, bias_initializer=_BIAS_INIT,
    )
    desc = f"dw x{mult} k{g['kernel']} s{g['strides']} d{g['dilation']} {g['padding']} {act}"
    return (lambda x: _activation(act)(layer(x))), desc


def _requantize_outputs(model: bytes, rng: np.random.Generator) -> bytes:
    """Move the output quantization of every convolution and fully connected layer away from
    what the converter calibrated: the zero point by up to +-40, so that fused activations clamp
    inside int8 (the kernels' `clamp`), and mostly the scale down by 2^6..2^13, so that the
    multipliers reach right shifts of 0 and 1 and left shifts, mixed across the channels of
    per-channel layers (mf_vrequant's general form, and the wrapping left shift of large
    accumulators)."""

    def edit(m: Any) -> None:
        for name in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            for op in _ops(m, name):
                q = m.subgraphs[0].tensors[op.outputs[0]].quantization
                k = float(2.0 ** -int(rng.integers(6, 14))) if rng.random() < 0.75 else 1.0
                q.scale = [s * k for s in q.scale]
                q.zeroPoint = [int(np.clip(z + rng.integers(-40, 41), -128, 127))
                               for z in q.zeroPoint]

    return _patch(model, edit)


def _mve_kernels(manifest: dict) -> list[str]:
    return [s["kernel"] for s in manifest["steps"] if s["kernel"].endswith("_mve")]


# --- host: the C emulation of the MVE instructions -------------------------------------------


@pytest.mark.parametrize("seed", range(10))
def test_conv_mve_on_host(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(1000 + seed)
    shape = _shape(rng, IN_CHANNELS)
    branches = [_conv(rng, *shape[:2]) for _ in range(4)]
    model = int8_tflite(_model(shape, [b for b, _, _ in branches]), [shape], seed=seed)
    if not all(bias for _, _, bias in branches):
        model = _drop_bias(model, rng)
    if seed % 2:
        model = _requantize_outputs(model, rng)
    name = f"{shape} | " + " | ".join(d for _, d, _ in branches)
    manifest = check_bit_exact(model, tmp_path, name=name, seed=seed, families=MVE)
    assert _mve_kernels(manifest).count("mcuforge_conv2d_s8_mve") == 4


# Windows the im2col copy takes in whole contiguous filter rows, 16 bytes at a time, or reads
# in place (1x1): (input shape, filters, kernel, strides, padding).
SHAPES = [
    ((9, 10, 1), 16, (10, 4), (2, 2), "same"),  # kws' first layer
    ((13, 12, 1), 8, (10, 8), (2, 2), "same"),  # micro_speech's (as a convolution)
    ((11, 9, 16), 12, (3, 3), (1, 1), "same"),  # whole 16-byte steps per tap
    ((7, 8, 24), 9, (3, 3), (2, 2), "valid"),
    ((6, 7, 32), 6, (1, 1), (1, 1), "same"),  # direct, whole steps
    ((5, 9, 20), 7, (1, 1), (2, 2), "valid"),  # direct with stride, predicated tail
]


@pytest.mark.parametrize("seed", range(2))
def test_conv_mve_known_shapes_on_host(seed: int, tmp_path: Path) -> None:
    import tensorflow as tf

    rng = np.random.default_rng(1100 + seed)
    for i, (shape, filters, kernel, strides, padding) in enumerate(SHAPES[seed::2]):
        acts = [ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))] for _ in range(2)]
        layers = [tf.keras.layers.Conv2D(filters + k, kernel, strides=strides, padding=padding,
                                         bias_initializer=_BIAS_INIT) for k in range(2)]
        branches = [lambda x, la=la, a=a: _activation(a)(la(x))
                    for la, a in zip(layers, acts, strict=True)]
        model = int8_tflite(_model(shape, branches), [shape], seed=seed)
        manifest = check_bit_exact(model, tmp_path / str(i), seed=seed,
                                   name=f"{shape} {filters} {kernel} {strides} {padding}",
                                   families=MVE)
        assert _mve_kernels(manifest).count("mcuforge_conv2d_s8_mve") == 2


@pytest.mark.parametrize("width", [1, 3])
def test_pointwise_chain_in_place_on_host(width: int, tmp_path: Path) -> None:
    """1x1 convolutions read their columns in place, and the planner overlaps each output with
    its input. With an odd width, a pixel pair spans two output rows, and the second pixel's
    first outputs may land on the first pixel's input while later channel groups still read
    it: the kernel copies that column first."""
    import tensorflow as tf

    L = tf.keras.layers
    shape = (9, width, 32)

    def build() -> Any:
        x = tf.keras.Input(shape, batch_size=1)
        y = L.Conv2D(32, 1, activation="relu")(x)
        y = L.Conv2D(8, 1)(y)
        y = L.Conv2D(16, 1, activation="relu")(y)
        return tf.keras.Model(x, L.Conv2D(4, 1)(y))

    model = int8_tflite(build, [shape], seed=width)
    manifest = check_bit_exact(model, tmp_path, name=f"pointwise w{width}", families=MVE)
    assert any(len(b["tensors"]) > 1 for b in manifest["plan"]["buffers"])  # overlapped
    assert _mve_kernels(manifest) == ["mcuforge_conv2d_s8_mve"] * 4


@pytest.mark.parametrize("seed", range(6))
def test_depthwise_mve_on_host(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(1200 + seed)
    shape = _shape(rng, [1, 3, 5, 8, 9, 13, 16, 20, 24])
    mults = [1, int(rng.integers(2, 5)), int(rng.integers(1, 4))]
    branches = [_depthwise(rng, *shape[:2], mult=m) for m in mults]
    model = int8_tflite(_model(shape, [b for b, _ in branches]), [shape], seed=seed)
    if seed % 2:
        model = _requantize_outputs(model, rng)
    name = f"{shape} | " + " | ".join(d for _, d in branches)
    manifest = check_bit_exact(model, tmp_path, name=name, seed=seed, families=MVE)
    # (One input channel makes a convolution, one filter per output channel.)
    assert len(_mve_kernels(manifest)) == len(mults)


@pytest.mark.qemu
def test_depthwise_mve_large_window_falls_back(tmp_path: Path) -> None:
    """More taps than the border path keeps pointers for (MF_DW_MAX_TAPS): the DSP kernel, in
    the same model.c as an MVE one."""
    import tensorflow as tf

    shape = (10, 11, 6)
    layers = [tf.keras.layers.DepthwiseConv2D((9, 8), padding="same"),
              tf.keras.layers.Conv2D(5, 3, padding="same")]
    model = int8_tflite(_model(shape, layers), [shape], seed=3)
    manifest = check_bit_exact(model, tmp_path, name="dw 9x8", families=MVE)
    assert sorted(s["kernel"] for s in manifest["steps"]) == [
        "mcuforge_conv2d_s8_mve", "mcuforge_depthwise_conv2d_s8_dsp"]
    assert check_on_qemu(model, "mps3-an547", tmp_path, name="dw9x8") > 0


def _dense_model(seed: int) -> bytes:
    """Two FULLY_CONNECTED layers, the first on `rows` input rows (batches of the kernel)."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    rows = int(rng.choice([1, 1, 2, 3]))
    depth = int(rng.choice([1, 5, 16, 31, 32, 47, 90]))
    hidden, out = int(rng.integers(1, 23)), int(rng.integers(1, 11))
    act = [None, "relu", "relu6"][seed % 3]

    def build() -> Any:
        x = tf.keras.Input((rows, depth), batch_size=1)
        y = tf.keras.layers.Dense(hidden, activation=act, use_bias=seed % 4 != 0)(x)
        return tf.keras.Model(x, tf.keras.layers.Dense(out)(y))

    return int8_tflite(build, [(rows, depth)], seed=seed)


@pytest.mark.parametrize("seed", range(8))
def test_fully_connected_mve_on_host(seed: int, tmp_path: Path) -> None:
    model = _dense_model(1300 + seed)
    if seed % 4 == 3:
        model = _requantize_outputs(model, np.random.default_rng(seed))
    manifest = check_bit_exact(model, tmp_path, vectors=30, name=f"dense{seed}", families=MVE)
    # (A Dense layer on one input value is converted to a MUL.)
    fcs = [s["kernel"] for s in manifest["steps"] if s["op"] == "FULLY_CONNECTED"]
    assert fcs and fcs == ["mcuforge_fully_connected_s8_mve"] * len(fcs)


def _eltwise_model(seed: int, opcode: str) -> tuple[bytes, bool]:
    """One element-wise ADD or MUL of two flat int8 tensors (odd sizes: predicated tails) with
    random scales and zero points, a fused activation whose clamp may bite, and (every other
    seed) an output scale that puts the requantization in its general form (no right shift for
    ADD, a left shift for MUL). Returns the model and whether the general form is expected."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    from test_kernels_elementwise import _synthetic

    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 400))
    s1, s2 = (float(np.float32(10 ** rng.uniform(-2.5, 0))) for _ in range(2))
    z1, z2, zo = (int(z) for z in rng.integers(-128, 128, 3))
    general = seed % 2 == 1
    if opcode == "ADD":
        twice = 2 * max(s1, s2)
        # real = 2 max(s1, s2) / (2^20 so): in [0.5, 1) gives no right shift.
        so = twice / (1 << 20) / rng.uniform(0.55, 0.95) if general else \
            twice * 10 ** rng.uniform(-1.5, 0.5)
    else:
        so = s1 * s2 * (rng.uniform(0.02, 0.4) if general else 10 ** rng.uniform(0.4, 2.0))
    options = fb.AddOptionsT() if opcode == "ADD" else fb.MulOptionsT()
    options.fusedActivationFunction = int(rng.choice([
        fb.ActivationFunctionType.NONE, fb.ActivationFunctionType.RELU,
        fb.ActivationFunctionType.RELU6, fb.ActivationFunctionType.RELU_N1_TO_1]))
    tensors = [("int8", (1, size), s1, z1), ("int8", (1, size), s2, z2),
               ("int8", (1, size), float(np.float32(so)), zo)]
    return _synthetic(tensors, [(opcode, [0, 1], [2], options)], [0, 1], [2]), general


@pytest.mark.parametrize("opcode", ["ADD", "MUL"])
@pytest.mark.parametrize("seed", range(6))
def test_add_mul_mve_on_host(opcode: str, seed: int, tmp_path: Path) -> None:
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.model import parse_model

    model, general = _eltwise_model(1600 + seed, opcode)
    manifest = check_bit_exact(model, tmp_path, vectors=40, name=f"{opcode}{seed}",
                               families=MVE)
    assert _mve_kernels(manifest) == [f"mcuforge_{opcode.lower()}_s8_mve"]
    call = compile_graph(parse_model(model, "m"), kernel_families=MVE).calls[0]
    assert call.spec is not None and call.spec["general"] == int(general)


# --- QEMU: the real instructions on the Cortex-M55 --------------------------------------------


def _mixed_model(seed: int) -> bytes:
    """Every MVE kernel in a chain, with channel tails everywhere: a 3x3 convolution, a
    depthwise one, a 1x1 (direct) convolution, a strided depthwise one with a depth multiplier,
    a fully connected layer."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    L = tf.keras.layers
    c1, c2 = int(rng.integers(9, 19)), int(rng.integers(5, 21))
    shape = (int(rng.integers(9, 15)), int(rng.integers(9, 15)), int(rng.choice([1, 3])))

    def build() -> Any:
        x = tf.keras.Input(shape, batch_size=1)
        y = L.Conv2D(c1, 3, padding="same", activation="relu", bias_initializer=_BIAS_INIT)(x)
        y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        y = L.Conv2D(c2, 1, activation="relu")(y)
        y = L.DepthwiseConv2D(5, strides=2, depth_multiplier=2, padding="valid")(y)
        y = L.Flatten()(y)
        return tf.keras.Model(x, L.Dense(7)(y))

    return int8_tflite(build, [shape], seed=seed)


@pytest.mark.qemu
@pytest.mark.parametrize("seed", [1400, 1401])
def test_mixed_model_mve_on_cortex_m55(seed: int, tmp_path: Path) -> None:
    model = _mixed_model(seed)
    if seed % 2:
        model = _requantize_outputs(model, np.random.default_rng(seed))
    assert check_on_qemu(model, "mps3-an547", tmp_path, name=f"mixed{seed}", layers=True) > 0


@pytest.mark.qemu
def test_conv_and_dense_mve_on_cortex_m55(tmp_path: Path) -> None:
    rng = np.random.default_rng(1500)
    shape = (9, 11, 17)
    branches = [_conv(rng, *shape[:2])[0] for _ in range(3)]
    model = _requantize_outputs(int8_tflite(_model(shape, branches), [shape], seed=15), rng)
    assert check_on_qemu(model, "mps3-an547", tmp_path, name="conv") > 0
    assert check_on_qemu(_dense_model(1501), "mps3-an547", tmp_path, name="fc") > 0


@pytest.mark.qemu
@pytest.mark.parametrize("opcode", ["ADD", "MUL"])
def test_add_mul_mve_on_cortex_m55(opcode: str, tmp_path: Path) -> None:
    for seed in (1610, 1611):
        model, _ = _eltwise_model(seed, opcode)
        (tmp_path / str(seed)).mkdir()
        assert check_on_qemu(model, "mps3-an547", tmp_path / str(seed), name=opcode) > 0


@pytest.mark.qemu
@pytest.mark.parametrize("model", ["mlperf_kws_ref_model", "micro_speech_quantized"])
def test_zoo_model_mve_on_cortex_m55(model: str, tmp_path: Path) -> None:
    data = (ZOO / f"{model}.tflite").read_bytes()
    assert check_on_qemu(data, "mps3-an547", tmp_path, name=model) > 0
