"""Element-wise arithmetic against the TFLM reference, bit for bit: SUB (int8, int16, int32),
MAXIMUM/MINIMUM, ABS, SQUARED_DIFFERENCE, and QUANTIZE between integer types (int8 -> uint8
feeds the uint8 output of ESPHome's wake-word models).

Models are written directly (``opsgen_data.FlatModel``) with random quantizations, shapes and
broadcasts, and come from the real converter (int8, and 16x8 for the int16 kernels). Unary ops
get every int8/uint8 input value and the int16 extremes; binary ones random full-range inputs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mcuforge.compiler.compile import CompiledModel, compile_graph
from mcuforge.compiler.ops import node_problems
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from mcuforge.vectors import random_vectors
from modelgen import check_bit_exact, check_on_qemu
from opsgen_data import FlatModel, convert, kernels, op_names, random_quant

ACTIVATIONS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def _compare(model: bytes, tmp_path: Path, runs: list[list[np.ndarray]],
             name: str) -> CompiledModel:
    """Run ``runs`` (plus a few random vectors) through mcuforge's C and TFLM; every output
    must be equal bit for bit."""
    compiled = compile_graph(parse_model(model, name))
    host, ref = HostModel(compiled, tmp_path), Reference(model)
    runs = runs + [v.arrays for v in random_vectors(compiled.manifest["inputs"], 4, seed=1)]
    for v, arrays in enumerate(runs):
        for o, (g, w) in enumerate(zip(host.run(arrays), ref.run(arrays), strict=True)):
            g, w = np.asarray(g).reshape(-1), np.asarray(w).reshape(-1)
            assert g.dtype == w.dtype, f"{name}: output {o} is {g.dtype}, TFLM's {w.dtype}"
            bad = np.flatnonzero(g.view(f"u{g.itemsize}") != w.view(f"u{w.itemsize}"))
            assert bad.size == 0, (f"{name}: vector {v} output {o} differs at {bad[0]}: mcuforge "
                                   f"{g[bad[0]]}, TFLM {w[bad[0]]} ({bad.size} of {g.size})")
    return compiled


def _every_value(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """All values of an 8- or 16-bit type, in order, tiled (or cut) to ``shape``."""
    info = np.iinfo(dtype)
    values = np.arange(info.min, info.max + 1)
    return np.resize(values, int(np.prod(shape))).reshape(shape).astype(dtype)


def _wide(rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Random int16/int32 values with the type's extremes, 0 and +-1 among them."""
    info = np.iinfo(dtype)
    values = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=np.int64)
    values.reshape(-1)[:5] = [info.min, info.max, 0, 1, -1]
    return values.astype(dtype)


def _broadcast_pair(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast: equal, one with ones, or of lower rank."""
    rank = int(rng.integers(1, 6))
    out = [int(rng.integers(1, 5)) for _ in range(rank)]
    a = [1 if rng.random() < 0.3 else n for n in out]
    b = [1 if rng.random() < 0.3 else n for n in out]
    if rng.random() < 0.3:
        b = b[int(rng.integers(0, rank)):]
    if rng.random() < 0.3:
        a = list(out)
        b = list(out)
    return tuple(a), tuple(b)


# --- SUB --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_sub_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """SUB of two inputs with random broadcasts, quantizations (int8 any zero point, int16
    symmetric) and fused activations; int32 plain with wrap-around."""
    rng = np.random.default_rng(2000 + seed)
    dtype = ["int8", "int8", "int8", "int16", "int16", "int32"][seed]
    m = FlatModel()
    ins, outs = [], []
    for _ in range(4):
        sa, sb = _broadcast_pair(rng)
        a, b = m.tensor(dtype, sa, random_quant(rng, dtype)), m.tensor(
            dtype, sb, random_quant(rng, dtype))
        out_shape = np.broadcast_shapes(sa, sb)
        y = m.tensor(dtype, out_shape, random_quant(rng, dtype))
        act = str(rng.choice(list(ACTIVATIONS)))
        m.op("SUB", [a, b], [y], fusedActivationFunction=ACTIVATIONS[act])
        ins += [a, b]
        outs.append(y)
    manifest = check_bit_exact(m.build(ins, outs), tmp_path, vectors=6, seed=seed,
                               name=f"sub {dtype}")
    suffix = {"int8": "s8", "int16": "s16", "int32": "s32"}[dtype]
    assert set(kernels(manifest)) == {f"mcuforge_sub_{suffix}"}


def test_sub_int8_every_input_pair_bit_exact(tmp_path: Path) -> None:
    """All 65536 int8 pairs through eight random quantizations: TFLM computes SUB's multipliers
    in float32 (unlike ADD's doubles), which moves a few roundings only this test sees."""
    rng = np.random.default_rng(2050)
    m = FlatModel()
    shape = (256, 256)
    rows, cols = [[m.tensor("int8", shape, random_quant(rng)) for _ in range(2)] for _ in range(2)]
    outs = []
    for r in rows:
        for c in cols:
            for a, b in ((r, c), (c, r)):
                outs.append(m.tensor("int8", shape, random_quant(rng)))
                m.op("SUB", [a, b], [outs[-1]])
    grid = np.arange(-128, 128, dtype=np.int8)
    arrays = [np.broadcast_to(grid[:, None], shape).copy()] * 2 + [
        np.broadcast_to(grid, shape).copy()] * 2
    _compare(m.build(rows + cols, outs), tmp_path, [arrays], "sub pairs")


def test_sub_int16_many_values_bit_exact(tmp_path: Path) -> None:
    """int16 SUB on 196608 random pairs per quantization: the float32 multipliers change about
    one int16 result in 20000 against double ones."""
    rng = np.random.default_rng(2060)
    m = FlatModel()
    shape = (32768,)
    ins = [m.tensor("int16", shape, random_quant(rng, "int16")) for _ in range(3)]
    outs = []
    for a, b in ((0, 1), (1, 2), (2, 0), (1, 0)):
        outs.append(m.tensor("int16", shape, random_quant(rng, "int16")))
        m.op("SUB", [ins[a], ins[b]], [outs[-1]])
    runs = [[rng.integers(-32768, 32768, size=shape).astype(np.int16) for _ in ins]
            for _ in range(2)]
    _compare(m.build(ins, outs), tmp_path, runs, "sub int16")


# --- MAXIMUM / MINIMUM ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32"])
def test_maximum_minimum_random_bit_exact(dtype: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(2100 + len(dtype))
    m = FlatModel()
    ins, outs = [], []
    for i in range(6):
        sa, sb = _broadcast_pair(rng)
        quant = random_quant(rng, dtype)
        a, b = m.tensor(dtype, sa, quant), m.tensor(dtype, sb, quant)
        y = m.tensor(dtype, np.broadcast_shapes(sa, sb), quant)
        m.op("MAXIMUM" if i % 2 else "MINIMUM", [a, b], [y])
        ins += [a, b]
        outs.append(y)
    # One side a single value (the front end's clamps take the kernel's scalar path).
    for i, (sa, sb) in enumerate([((2, 20), (1,)), ((), (3, 1, 7)), ((1, 1), (5, 4))]):
        quant = random_quant(rng, dtype)
        a, b = m.tensor(dtype, sa, quant), m.tensor(dtype, sb, quant)
        y = m.tensor(dtype, np.broadcast_shapes(sa, sb), quant)
        m.op("MAXIMUM" if i % 2 else "MINIMUM", [a, b], [y])
        ins += [a, b]
        outs.append(y)
    check_bit_exact(m.build(ins, outs), tmp_path, vectors=6, name=f"minmax {dtype}")


# --- ABS --------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["int8", "int8 wide", "int16", "int16 unquantized"])
def test_abs_every_input_bit_exact(case: str, tmp_path: Path) -> None:
    """ABS of every input value into several outputs: int8 (a table) and int16 with the
    input's scale and four random ones (a multiplier one bit off moves a few of the 65536
    int16 results), int16 unquantized (|-32768| wraps)."""
    rng = np.random.default_rng(2200 + len(case))
    dtype = case.split()[0]
    m = FlatModel()
    shape = (256,) if dtype == "int8" else (65536,)
    quant = None if "unquantized" in case else random_quant(rng, dtype)
    if "wide" in case:
        quant = (float(np.float32(10 ** rng.uniform(1, 3))), int(rng.integers(-128, 128)))
    x = m.tensor(dtype, shape, quant)
    outs = []
    for i in range(1 if quant is None else 5):
        outs.append(m.tensor(dtype, shape, quant if i == 0 else random_quant(rng, dtype)))
        m.op("ABS", [x], [outs[-1]])
    compiled = _compare(m.build([x], outs), tmp_path, [[_every_value(dtype, shape)]], case)
    want = "mcuforge_lut_s8" if dtype == "int8" else "mcuforge_abs_s16"
    assert set(kernels(compiled.manifest)) == {want}


# --- SQUARED_DIFFERENCE -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_squared_difference_random_bit_exact(dtype: str, tmp_path: Path) -> None:
    rng = np.random.default_rng(2300 + len(dtype))
    m = FlatModel()
    ins, outs = [], []
    for _ in range(5):
        sa, sb = _broadcast_pair(rng)
        qa, qb = random_quant(rng, dtype), random_quant(rng, dtype)
        assert qa is not None and qb is not None
        # an output scale in the range of the squared differences, as a converter would pick
        spread = (max(qa[0], qb[0]) * 256) ** 2 / 256 * float(rng.uniform(0.01, 2))
        y = m.tensor(dtype, np.broadcast_shapes(sa, sb),
                     (spread, int(rng.integers(-128, 128)) if dtype == "int8" else 0))
        a, b = m.tensor(dtype, sa, qa), m.tensor(dtype, sb, qb)
        m.op("SQUARED_DIFFERENCE", [a, b], [y])
        ins += [a, b]
        outs.append(y)
    check_bit_exact(m.build(ins, outs), tmp_path, vectors=6, name=f"sqdiff {dtype}")


# --- QUANTIZE between integer types -----------------------------------------------------------

PAIRS = [("int8", "uint8"), ("uint8", "int8"), ("int8", "int16"), ("int8", "int32"),
         ("int16", "int8"), ("int16", "int16"), ("int16", "int32"), ("int32", "int8"),
         ("int32", "int16"), ("int8", "int8")]


@pytest.mark.parametrize("pair", PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_requantize_every_type_pair_bit_exact(pair: tuple[str, str], tmp_path: Path) -> None:
    """Every integer pair TFLM's QUANTIZE has, with random scales and zero points (and the
    int8 <-> uint8 "same scale, zero points 128 apart" case TFLM flips a bit for), every 8-bit
    input value."""
    src, dst = pair
    rng = np.random.default_rng(2400 + PAIRS.index(pair))
    m = FlatModel()
    shape = (3, 256)
    ins, outs = [], []
    for i in range(3):
        qi = random_quant(rng, src) if src != "int32" else (float(10 ** rng.uniform(-6, -3)), 0)
        qo = random_quant(rng, dst) if dst != "int32" else (float(10 ** rng.uniform(-6, -3)), 0)
        if i == 0 and {src, dst} == {"int8", "uint8"}:
            assert qi is not None
            qo = (qi[0], qi[1] + (128 if dst == "uint8" else -128))
        x, y = m.tensor(src, shape, qi), m.tensor(dst, shape, qo)
        m.op("QUANTIZE", [x], [y])
        ins.append(x)
        outs.append(y)
    every = [_every_value(src, shape) if src in ("int8", "uint8") else _wide(rng, src, shape)
             for _ in ins]
    compiled = _compare(m.build(ins, outs), tmp_path, [every], f"quantize {src}->{dst}")
    assert {o["dtype"] for o in compiled.manifest["outputs"]} == {dst}


# --- converter models -------------------------------------------------------------------------


def _arith(x: Any, y: Any) -> Any:
    import tensorflow as tf

    d = x - y[:, :1]
    return (tf.maximum(d, y), tf.minimum(tf.abs(x), 0.75),
            tf.math.squared_difference(x, y), tf.abs(d - 0.3))


@pytest.mark.parametrize("int16", [False, True], ids=["int8", "16x8"])
def test_converted_arithmetic_bit_exact(int16: bool, tmp_path: Path) -> None:
    """SUB, MAXIMUM, MINIMUM, ABS and SQUARED_DIFFERENCE as the converter emits them: int8
    with uint8 outputs, or 16x8 with int16 activations throughout."""
    model = convert(_arith, [(1, 3, 8), (1, 3, 8)], seed=5, int16=int16, uint8_output=not int16)
    manifest = check_bit_exact(model, tmp_path, vectors=12, name="arith")
    ops = set(op_names(manifest))
    assert {"SUB", "MAXIMUM", "MINIMUM", "ABS", "SQUARED_DIFFERENCE"} <= ops, ops
    want = "int16" if int16 else "uint8"
    assert {o["dtype"] for o in manifest["outputs"]} == {want}


@pytest.mark.qemu
def test_arithmetic_kernels_on_cortex_m4(tmp_path: Path) -> None:
    """The SUB, MAXIMUM/MINIMUM, ABS, SQUARED_DIFFERENCE and requantize kernels on the Cortex-M4,
    int8, int16 and int32, with a uint8 output."""
    rng = np.random.default_rng(2500)
    m = FlatModel()
    ins, outs = [], []
    for dtype in ("int8", "int16"):
        a, b = (m.tensor(dtype, s, random_quant(rng, dtype)) for s in ((2, 3, 8), (3, 1)))
        d = m.tensor(dtype, (2, 3, 8), random_quant(rng, dtype))
        m.op("SUB", [a, b], [d], fusedActivationFunction=ACTIVATIONS["RELU6"])
        other, mx = m.like(d, (2, 3, 8)), m.like(d, (2, 3, 8))
        m.op("MAXIMUM", [d, other], [mx])
        ins += [a, b, other]
        ab = m.tensor(dtype, (2, 3, 8), random_quant(rng, dtype))
        m.op("ABS", [mx], [ab])
        qa, qb = m.tensors[a].quantization, m.tensors[b].quantization
        spread = (max(qa.scale[0], qb.scale[0]) * 256) ** 2 / 300
        sq = m.tensor(dtype, (2, 3, 8), (spread, 3 if dtype == "int8" else 0))
        m.op("SQUARED_DIFFERENCE", [a, b], [sq])
        outs += [ab, sq]
    x32, y32 = m.tensor("int32", (4, 5)), m.tensor("int32", (5,))
    d32, mn32 = m.tensor("int32", (4, 5)), m.tensor("int32", (4, 5))
    m.op("SUB", [x32, y32], [d32])
    m.op("MINIMUM", [d32, y32], [mn32])
    ins += [x32, y32]
    u8 = m.tensor("uint8", (2, 3, 8), (0.02, 131))
    m.op("QUANTIZE", [outs[0]], [u8])
    model = m.build(ins, [*outs, mn32, u8])
    assert check_on_qemu(model, "mps2-an386", tmp_path, vectors=6, name="arith") > 0


# --- refusals ---------------------------------------------------------------------------------


def _binary(opcode: str, dtype: str, shapes: list[tuple[int, ...]],
            quants: list[tuple[float, int] | None], **options: Any) -> tuple[Any, Any]:
    m = FlatModel()
    a, b, y = (m.tensor(dtype, s, q) for s, q in zip(shapes, quants, strict=True))
    m.op(opcode, [a, b], [y], **options)
    graph = parse_model(m.build([a, b], [y]), "probe")
    return graph, graph.operators[0]


Q = (0.1, 0)


@pytest.mark.parametrize("case", [
    ("sub shape", _binary("SUB", "int8", [(2, 3), (3,), (3, 3)], [Q] * 3),
     "output t2 has shape [3, 3]; inputs [2, 3] and [3] give [2, 3]"),
    ("add shape", _binary("ADD", "int8", [(2, 3), (2, 3), (2, 4)], [Q] * 3),
     "output t2 has shape [2, 4]"),
    ("max shape", _binary("MAXIMUM", "int8", [(4,), (1,), (1,)], [Q] * 3),
     "output t2 has shape [1]; inputs [4] and [1] give [4]"),
    ("sub tiny output scale", _binary("SUB", "int8", [(4,)] * 3, [(1.0, 0), (1.0, 0),
                                                                 (1e-7, 0)]),
     "too small for the inputs' scales"),
    ("sub int16 zero point", _binary("SUB", "int16", [(4,)] * 3, [Q, (0.1, 3), Q]),
     "int16 zero points must be 0"),
    ("sub int32 quantized", _binary("SUB", "int32", [(4,)] * 3, [Q, None, None]),
     "int32 SUB with quantization parameters"),
    ("sub uint8", _binary("SUB", "uint8", [(4,)] * 3, [Q] * 3), "output is uint8"),
    ("max float", _binary("MAXIMUM", "float32", [(4,)] * 3, [None] * 3), "input is float32"),
    ("sqdiff int16 zero point", _binary("SQUARED_DIFFERENCE", "int16", [(4,)] * 3,
                                        [Q, Q, (0.1, 1)]), "int16 zero points must be 0"),
    ("sqdiff int32", _binary("SQUARED_DIFFERENCE", "int32", [(4,)] * 3, [None] * 3),
     "output is int32 (supported: int8, int16)"),
], ids=lambda c: c[0])
def test_arithmetic_problems_are_named(case: tuple[str, tuple[Any, Any], str]) -> None:
    _, (graph, op), expected = case
    problems = node_problems(graph, op)
    assert any(expected in p for p in problems), problems


def test_abs_int16_with_zero_point_is_refused() -> None:
    m = FlatModel()
    x, y = m.tensor("int16", (4,), (0.1, 5)), m.tensor("int16", (4,), (0.1, 0))
    m.op("ABS", [x], [y])
    graph = parse_model(m.build([x], [y]), "probe")
    assert node_problems(graph, graph.operators[0]) == [
        "int16 zero points must be 0 (TFLM refuses others)"]
