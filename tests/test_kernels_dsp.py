"""Optimized (Armv7E-M DSP) kernels: randomized differential tests against TFLM, on the host
(intrinsics emulated in C) for breadth and in QEMU on a Cortex-M4 for the real instructions.

Geometries are drawn around the kernels' blockings: two output channels and two pixels per
convolution pass (odd counts), four-byte column groups (input channels not a multiple of 4),
four depthwise channels per pass (tails of 1-3), any depth multiplier, border pixels on every
side; and both requantization forms (the fast one and TFLM's general arithmetic, reached by
moving output scales and zero points). Each model is checked with every layer specialized for
its shape and with every layer on the one shared body (``--opt size``), and with the packed
(DSP) inner steps or the scalar ones of CPUs without DSP instructions (``MF_SCALAR_STEPS``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import test_kernels_conv
from modelgen import check_bit_exact, check_on_qemu, int8_tflite
from test_kernels_conv import _BIAS_INIT, ACTIVATIONS, _activation, _drop_bias, _model
from test_kernels_fast import _add_model
from test_kernels_mve import _requantize_outputs

DSP = ("dsp", "ref")
CHANNELS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16]


def _geometry(rng: np.random.Generator, h: int, w: int, *, max_k: int = 5) -> dict[str, Any]:
    """test_kernels_conv's windows, dilated ones with SAME padding: the converter turns a
    dilated VALID convolution into SPACE_TO_BATCH_ND + convolution + BATCH_TO_SPACE_ND."""
    g = test_kernels_conv._geometry(rng, h, w, max_k=max_k)
    if g["dilation"] != (1, 1):
        g["padding"] = "same"
    return g


def _conv(rng: np.random.Generator, h: int, w: int) -> tuple[Any, str, bool]:
    import tensorflow as tf

    g = _geometry(rng, h, w)
    filters = int(rng.integers(1, 12))
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    bias = bool(rng.random() < 0.7)
    layer = tf.keras.layers.Conv2D(
        filters, g["kernel"], strides=g["strides"], dilation_rate=g["dilation"],
        padding=g["padding"], use_bias=bias, bias_initializer=_BIAS_INIT,
    )
    desc = f"conv{filters} k{g['kernel']} s{g['strides']} d{g['dilation']} {g['padding']} {act}"
    return (lambda x: _activation(act)(layer(x))), desc, bias


def _depthwise(rng: np.random.Generator, h: int, w: int, mult: int) -> tuple[Any, str]:
    import tensorflow as tf

    g = _geometry(rng, h, w)
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    layer = tf.keras.layers.DepthwiseConv2D(
        g["kernel"], strides=g["strides"], dilation_rate=g["dilation"], padding=g["padding"],
        depth_multiplier=mult, bias_initializer=_BIAS_INIT,
    )
    desc = f"dw x{mult} k{g['kernel']} s{g['strides']} d{g['dilation']} {g['padding']} {act}"
    return (lambda x: _activation(act)(layer(x))), desc


def _steps(seed: int) -> tuple[str, ...]:
    """Every fourth model with the scalar inner steps (Cortex-M3, RISC-V)."""
    return ("-DMF_SCALAR_STEPS",) if seed % 4 == 3 else ()


def _dsp_kernels(manifest: dict) -> list[str]:
    return [s["kernel"] for s in manifest["steps"] if s["kernel"].endswith("_dsp")]


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


@pytest.mark.parametrize("optimize", ["speed", "size"])
@pytest.mark.parametrize("seed", range(8))
def test_fully_connected_dsp_on_host(seed: int, optimize: str, tmp_path: Path) -> None:
    model = _dense_model(seed + (0 if optimize == "speed" else 8))
    if seed % 4 == 3:
        model = _requantize_outputs(model, np.random.default_rng(seed))
    manifest = check_bit_exact(model, tmp_path, vectors=30, families=DSP, name=f"dense{seed}",
                               optimize=optimize, cflags=_steps(seed))
    assert all(s["kernel"].endswith("_dsp") for s in manifest["steps"])


def _shape(rng: np.random.Generator) -> tuple[int, int, int]:
    return int(rng.integers(1, 12)), int(rng.integers(1, 14)), int(rng.choice(CHANNELS))


def _branch_model(rng: np.random.Generator, shape: tuple[int, int, int],
                  branches: list[tuple[Any, str, bool]], seed: int) -> tuple[bytes, str]:
    """Convolution branches over one input as an int8 model (biases dropped where a branch has
    none; odd seeds with moved output quantization) and its description."""
    model = int8_tflite(_model(shape, [b for b, _, _ in branches]), [shape], seed=seed)
    if not all(bias for _, _, bias in branches):
        model = _drop_bias(model, rng)
    if seed % 2:
        model = _requantize_outputs(model, rng)
    return model, f"{shape} | " + " | ".join(d for _, d, _ in branches)


@pytest.mark.parametrize("seed", range(10))
def test_conv_dsp_on_host(seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(2000 + seed)
    shape = _shape(rng)
    model, name = _branch_model(rng, shape, [_conv(rng, *shape[:2]) for _ in range(3)], seed)
    optimize = "size" if seed % 3 == 2 else "speed"
    manifest = check_bit_exact(model, tmp_path, name=name, seed=seed, families=DSP,
                               optimize=optimize, cflags=_steps(seed))
    assert _dsp_kernels(manifest).count("mcuforge_conv2d_s8_dsp") == 3


def _one_pixel_conv(rng: np.random.Generator, h: int, w: int) -> tuple[Any, str, bool]:
    """A convolution whose window is its whole input (a streaming model's layers): one output
    pixel, any stride, 1-40 filters."""
    import tensorflow as tf

    filters = int(rng.integers(1, 41))
    strides = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    act = ACTIVATIONS[int(rng.integers(len(ACTIVATIONS)))]
    bias = bool(rng.random() < 0.7)
    layer = tf.keras.layers.Conv2D(filters, (h, w), strides=strides, padding="valid",
                                   use_bias=bias, bias_initializer=_BIAS_INIT)
    desc = f"conv{filters} k{(h, w)} s{strides} valid {act}"
    return (lambda x: _activation(act)(layer(x))), desc, bias


def _matrix_layers(branches: list[tuple[Any, str, bool]]) -> int:
    """How many of _one_pixel_conv's layers have the four filters the matrix kernel needs."""
    return sum(int(desc.split()[0].removeprefix("conv")) >= 4 for _, desc, _ in branches)


@pytest.mark.parametrize("seed", range(6))
def test_one_pixel_conv_dsp_on_host(seed: int, tmp_path: Path) -> None:
    """With four or more filters it runs on the matrix kernel (its window is one row of the
    input), with fewer on the convolution kernel; bit-exact either way."""
    rng = np.random.default_rng(2400 + seed)
    shape = (int(rng.integers(1, 7)), int(rng.integers(1, 4)), int(rng.integers(1, 70)))
    branches = [_one_pixel_conv(rng, *shape[:2]) for _ in range(3)]
    model, name = _branch_model(rng, shape, branches, seed)
    manifest = check_bit_exact(model, tmp_path, name=name, seed=seed, families=DSP,
                               optimize="size" if seed % 3 == 2 else "speed",
                               cflags=_steps(seed))
    wide = _matrix_layers(branches)
    assert _dsp_kernels(manifest).count("mcuforge_fully_connected_s8_dsp") == wide, name
    assert _dsp_kernels(manifest).count("mcuforge_conv2d_s8_dsp") == 3 - wide, name


@pytest.mark.parametrize("seed", range(10))
def test_depthwise_dsp_on_host(seed: int, tmp_path: Path) -> None:
    """Depth multipliers 1-4 on 1-16 input channels (one input channel is a convolution)."""
    rng = np.random.default_rng(2100 + seed)
    shape = _shape(rng)
    mults = [1, int(rng.integers(2, 5)), int(rng.integers(1, 4))]
    branches = [_depthwise(rng, *shape[:2], mult=m) for m in mults]
    model = int8_tflite(_model(shape, [b for b, _ in branches]), [shape], seed=seed)
    if seed % 2:
        model = _requantize_outputs(model, rng)
    name = f"{shape} | " + " | ".join(d for _, d in branches)
    optimize = "size" if seed % 3 == 1 else "speed"
    manifest = check_bit_exact(model, tmp_path, name=name, seed=seed, families=DSP,
                               optimize=optimize, cflags=_steps(seed))
    assert len(_dsp_kernels(manifest)) == 3


@pytest.mark.parametrize("seed", range(1, 9))
def test_add_dsp_on_host(seed: int, tmp_path: Path) -> None:
    """Element-wise ADD on the DSP kernel (odd element counts: the scalar tail), broadcast ADD
    on the table kernel."""
    manifest = check_bit_exact(_add_model(seed), tmp_path, vectors=30, families=DSP + ("fast",),
                               name=f"add{seed}", cflags=_steps(seed))
    kernels = [s["kernel"] for s in manifest["steps"] if s["op"] == "ADD"]
    assert kernels == ["mcuforge_add_s8_dsp" if seed % 2 == 0 else "mcuforge_add_s8_lut"]


def _mixed_model(seed: int) -> bytes:
    """Every DSP kernel in a chain, with tails everywhere: a 3x3 convolution on 3 channels, a
    depthwise one, a 1x1 convolution, a strided depthwise one with a multiplier, a dilated
    convolution, a fully connected layer."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    L = tf.keras.layers
    c1, c2 = int(rng.integers(5, 14)), int(rng.integers(5, 11))
    shape = (int(rng.integers(9, 15)), int(rng.integers(9, 15)), 3)
    g = _geometry(rng, 5, 5, max_k=3)

    def build() -> Any:
        x = tf.keras.Input(shape, batch_size=1)
        y = L.Conv2D(c1, 3, padding="same", activation="relu", bias_initializer="random_normal")(x)
        y = L.DepthwiseConv2D(3, padding="same", activation="relu6")(y)
        y = L.Conv2D(c2, 1, activation="relu")(y)
        y = L.DepthwiseConv2D(3, strides=2, depth_multiplier=2, padding="same")(y)
        y = L.Conv2D(6, g["kernel"], dilation_rate=g["dilation"], padding="same")(y)
        y = L.Flatten()(y)
        return tf.keras.Model(x, L.Dense(7)(y))

    return int8_tflite(build, [shape], seed=seed)


@pytest.mark.qemu
@pytest.mark.parametrize("seed", [2200, 2201])
def test_mixed_model_dsp_on_cortex_m4(seed: int, tmp_path: Path) -> None:
    model = _mixed_model(seed)
    if seed % 2:
        model = _requantize_outputs(model, np.random.default_rng(seed))
    assert check_on_qemu(model, "mps2-an386", tmp_path, name=f"mixed{seed}",
                         optimize="speed" if seed % 2 else "size", layers=True) > 0


@pytest.mark.qemu
def test_one_pixel_conv_dsp_on_cortex_m4(tmp_path: Path) -> None:
    rng = np.random.default_rng(2450)
    shape = (5, 1, 40)  # mww_okay_nabu's first layer: 5 frames of 40 features
    branches = [_one_pixel_conv(rng, *shape[:2]) for _ in range(3)]
    model = int8_tflite(_model(shape, [b for b, _, _ in branches]), [shape], seed=2450)
    assert check_on_qemu(model, "mps2-an386", tmp_path, name="one_pixel") > 0
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.model import parse_model

    kernels = [c.kernel for c in compile_graph(parse_model(model, "one_pixel"),
                                               kernel_families=DSP).calls]
    wide = _matrix_layers(branches)
    assert wide > 0 and kernels.count("mcuforge_fully_connected_s8_dsp") == wide, kernels


@pytest.mark.qemu
def test_add_dsp_on_cortex_m4(tmp_path: Path) -> None:
    assert check_on_qemu(_add_model(44), "mps2-an386", tmp_path, name="add44") > 0


@pytest.mark.qemu
@pytest.mark.parametrize("seed", [100, 101])
def test_fully_connected_dsp_on_cortex_m4(seed: int, tmp_path: Path) -> None:
    assert check_on_qemu(_dense_model(seed), "mps2-an386", tmp_path, name=f"dense{seed}") > 0


# --- which body each layer gets (--opt) ------------------------------------------------------


ZOO = Path(__file__).parent / "zoo"


def _macros(model: str, optimize: str) -> dict[str, set[str]]:
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.model import read_model

    compiled = compile_graph(read_model(ZOO / f"{model}.tflite"),
                             kernel_families=("dsp", "fast", "ref"), optimize=optimize)
    out: dict[str, set[str]] = {}
    for call in compiled.calls:
        if call.spec is not None and call.shared_macro:
            out.setdefault(call.op.opcode, set()).add(call.spec_macro)
    return out


def test_opt_picks_specialized_or_shared_bodies() -> None:
    """speed: every layer its own copy; size: every layer the shared body; balanced: a kernel
    with at most three shapes in the model specialized (kws: one or two per kernel), with more
    shared (person_detect: ten or more 1x1 convolutions and depthwise ones)."""
    assert _macros("person_detect", "speed") == {
        "CONV_2D": {"MF_CONV_DSP_SPEC"}, "DEPTHWISE_CONV_2D": {"MF_CONV_DSP_SPEC",
                                                               "MF_DW_DSP_SPEC"}}
    assert _macros("person_detect", "size") == {
        "CONV_2D": {"MF_CONV_DSP_SHARED"}, "DEPTHWISE_CONV_2D": {"MF_CONV_DSP_SHARED",
                                                                 "MF_DW_DSP_SHARED"}}
    assert _macros("person_detect", "balanced") == _macros("person_detect", "size")
    assert _macros("mlperf_kws_ref_model", "balanced") == _macros("mlperf_kws_ref_model",
                                                                  "speed")
    # A streaming model: six depthwise geometries, all under SMALL_LAYER_MACS, specialized;
    # its one-pixel convolutions run on the matrix kernel, four geometries with a 6,400-MAC
    # layer among them: shared, with its classifier.
    assert _macros("mww_okay_nabu", "balanced") == {
        "CONV_2D": {"MF_FC_DSP_SHARED"}, "DEPTHWISE_CONV_2D": {"MF_DW_DSP_SPEC"},
        "FULLY_CONNECTED": {"MF_FC_DSP_SHARED"}}
    assert _macros("mww_okay_nabu", "speed")["CONV_2D"] == {"MF_FC_DSP_SPEC"}


def test_unknown_opt_is_refused_by_name() -> None:
    from mcuforge.errors import McuforgeError

    with pytest.raises(McuforgeError, match=r"unknown --opt 'fastest' \(choose from balanced"):
        _macros("mlperf_ad01_int8", "fastest")
