"""Data-movement ops against the TFLM reference, bit for bit: STRIDED_SLICE, SLICE, SPLIT,
SPLIT_V, UNPACK, PACK, CONCATENATION, TRANSPOSE and GATHER, plus the contiguous-slice views the
memory plan makes for them, the shape checks that keep the kernels inside their buffers, and
ESPHome's wake-word models (their state turned into graph inputs and outputs).

Breadth comes from models written directly (``opsgen_data.FlatModel``): each holds a dozen random
configurations of one op family side by side -- every strided-slice mask, negative indices and
strides, any axis, int8/int16/int32/int64 -- with output shapes taken from numpy's own slicing,
not from mcuforge. Models from the real converter (int8 and 16x8) cover what it emits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mcuforge.compiler.compile import compile_graph
from mcuforge.compiler.ops import node_problems
from mcuforge.errors import UnsupportedModelError
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from modelgen import check_bit_exact, check_on_qemu
from opsgen_data import (
    FlatModel,
    convert,
    kernels,
    op_names,
    random_quant,
    random_shape,
    without_state,
)

DTYPES = ["int8", "int16", "int32"]


def _input(m: FlatModel, rng: np.random.Generator, dtype: str, shape: tuple[int, ...]) -> int:
    return m.tensor(dtype, shape, random_quant(rng, dtype))


def _like(m: FlatModel, src: int, shape: tuple[int, ...] | list[int]) -> int:
    return m.like(src, shape)


def _problems(model: bytes) -> str:
    with pytest.raises(UnsupportedModelError) as err:
        compile_graph(parse_model(model, "probe"))
    return str(err.value)


# --- STRIDED_SLICE ----------------------------------------------------------------------------


def _random_strided_slice(rng: np.random.Generator, shape: tuple[int, ...]) -> dict[str, Any]:
    """Random begin/end/strides/masks whose result numpy's slicing says is non-empty."""
    while True:
        begin, end, strides = [], [], []
        masks = {"beginMask": 0, "endMask": 0, "shrinkAxisMask": 0}
        index: list[Any] = []
        for k, n in enumerate(shape):
            if rng.random() < 0.2:  # shrink: one element, a possibly negative index
                b = int(rng.integers(-n, n))
                begin.append(b)
                end.append(int(rng.integers(-n - 2, n + 3)))  # ignored by the op
                strides.append(1)
                masks["shrinkAxisMask"] |= 1 << k
                index.append(b)
                continue
            stride = int(rng.choice([1, 1, 1, 2, 3, -1, -1, -2]))
            b, e = int(rng.integers(-n - 2, n + 3)), int(rng.integers(-n - 2, n + 3))
            use_b, use_e = rng.random() < 0.25, rng.random() < 0.25
            masks["beginMask"] |= use_b << k
            masks["endMask"] |= use_e << k
            begin.append(b)
            end.append(e)
            strides.append(stride)
            index.append(slice(None if use_b else b, None if use_e else e, stride))
        out = np.empty(shape)[tuple(index)]
        if out.size:
            return {"begin": begin, "end": end, "strides": strides, "out": out.shape, **masks}


@pytest.mark.parametrize("seed", range(6))
def test_strided_slice_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """A dozen random strided slices of one tensor (1- to 4-D): begin/end masks, shrink axes,
    negative indices and strides, indices beyond the ends (clamped)."""
    rng = np.random.default_rng(900 + seed)
    dtype = DTYPES[seed % 3]
    shape = random_shape(rng, int(rng.integers(1, 5)), 1, 7)
    m = FlatModel()
    x = _input(m, rng, dtype, shape)
    outs = []
    for _ in range(12):
        s = _random_strided_slice(rng, shape)
        y = _like(m, x, s["out"])
        m.op("STRIDED_SLICE", [x, m.const(s["begin"]), m.const(s["end"]), m.const(s["strides"])],
             [y], beginMask=s["beginMask"], endMask=s["endMask"],
             shrinkAxisMask=s["shrinkAxisMask"])
        outs.append(y)
    manifest = check_bit_exact(m.build([x], outs), tmp_path, vectors=4, seed=seed,
                               name=f"strided {dtype} {shape}")
    assert op_names(manifest) == ["STRIDED_SLICE"] * 12


def test_strided_slices_of_the_wake_word_models_are_views(tmp_path: Path) -> None:
    """mww's pattern: the state rows after a concatenation along axis 1 (batch 1) are one
    contiguous block, so the slice is a view into the concatenation (no copy, no memory);
    with a batch of 2 the same slice is two blocks and gets the copy kernel."""
    results = []
    for batch in (1, 2):
        m = FlatModel()
        state, frame = (m.tensor("int8", [batch, n, 1, 8], (0.1, -128)) for n in (4, 3))
        both = m.tensor("int8", [batch, 7, 1, 8], (0.1, -128))
        m.op("CONCATENATION", [state, frame], [both], axis=1)
        new_state = m.tensor("int8", [batch, 4, 1, 8], (0.1, -128))
        m.op("STRIDED_SLICE", [both, m.const([0, 3, 0, 0]), m.const([0, 7, 0, 0]),
                               m.const([1, 1, 1, 1])], [new_state], beginMask=13, endMask=15)
        # SPLIT_V on the last axis is never contiguous: always the kernel.
        a, b = m.tensor("int8", [batch, 7, 1, 3], (0.1, -128)), m.tensor(
            "int8", [batch, 7, 1, 5], (0.1, -128))
        m.op("SPLIT_V", [both, m.const([3, -1]), m.const(-1, shape=[])], [a, b], numSplits=2)
        model = m.build([state, frame], [new_state, a, b])
        manifest = check_bit_exact(model, tmp_path / str(batch), vectors=4, name=f"batch {batch}")
        results.append(kernels(manifest))
    assert results[0] == ["mcuforge_concatenation", "(alias)", "mcuforge_split"]
    assert results[1] == ["mcuforge_concatenation", "mcuforge_copy", "mcuforge_split"]


def test_a_view_that_would_cost_memory_stays_a_copy(tmp_path: Path) -> None:
    """A view keeps its whole input alive as long as the view: a small slice kept to the end
    (a graph output) of a large tensor that dies early is cheaper copied, and the planner
    copies it; the same slice of a tensor that lives to the end anyway is a view."""
    m = FlatModel()
    x = m.tensor("int8", [1, 256], (0.05, 3))
    y = m.tensor("int8", [1, 8], (0.05, 3))
    m.op("STRIDED_SLICE", [x, m.const([0, 0]), m.const([1, 8]), m.const([1, 1])], [y])
    a, b = m.tensor("int8", [1, 256], (0.06, -1)), m.tensor("int8", [1, 256], (0.07, 2))
    m.op("ADD", [x, x], [a])
    m.op("ADD", [a, a], [b])
    copied = check_bit_exact(m.build([x], [y, b]), tmp_path / "copy", vectors=4, name="copy")
    assert kernels(copied)[0] == "mcuforge_copy"
    assert copied["plan"]["arena_bytes"] < 512
    viewed = check_bit_exact(m.build([x], [y, b, x]), tmp_path / "view", vectors=4, name="view")
    assert kernels(viewed)[0] == "(alias)"


def test_slices_of_constants_are_read_from_flash(tmp_path: Path) -> None:
    """A contiguous slice or split of a constant is a view into the flash array (no arena
    bytes), passed to typed kernels (SUB) and to variadic ones (CONCATENATION) at its offset;
    as a graph output it is copied into the arena."""
    rng = np.random.default_rng(970)
    m = FlatModel()
    table = m.const(rng.integers(-1000, 1000, size=(3, 10)), shape=(3, 10))
    x = m.tensor("int32", [1, 4])
    row = m.tensor("int32", [1, 4])
    m.op("STRIDED_SLICE", [table, m.const([1, 3]), m.const([2, 7]), m.const([1, 1])], [row])
    diff, joined = m.tensor("int32", [1, 4]), m.tensor("int32", [1, 8])
    m.op("SUB", [x, row], [diff])
    m.op("CONCATENATION", [row, x], [joined], axis=1)
    parts = [m.tensor("int32", [1, 10]) for _ in range(3)]
    m.op("SPLIT", [m.const(0, shape=[]), table], parts, numSplits=3)
    twice = m.tensor("int32", [1, 10])
    m.op("SUB", [parts[2], parts[0]], [twice])
    copied = m.tensor("int32", [1, 4])
    m.op("STRIDED_SLICE", [table, m.const([2, 0]), m.const([3, 4]), m.const([1, 1])], [copied])
    manifest = check_bit_exact(m.build([x], [diff, joined, twice, copied]), tmp_path, vectors=4,
                               name="const views")
    assert kernels(manifest) == ["(alias)", "mcuforge_sub_s32", "mcuforge_concatenation",
                                 "(alias)", "mcuforge_sub_s32", "mcuforge_copy"]
    assert manifest["plan"]["arena_bytes"] <= 4 * (4 + 4 + 8 + 10 + 4) + 5 * 16


def test_overlapping_views_are_not_overwritten_in_place(tmp_path: Path) -> None:
    """Two overlapping slices of one tensor, added: the planner may write ADD's output over
    one input in place only if no other input shares that memory at another offset (it would
    be overwritten before it is read)."""
    m = FlatModel()
    x = m.tensor("int8", [1, 64], (0.05, 3))
    a, b = m.tensor("int8", [1, 48], (0.05, 3)), m.tensor("int8", [1, 48], (0.05, 3))
    for out, start in ((a, 0), (b, 16)):
        m.op("STRIDED_SLICE", [x, m.const([0, start]), m.const([1, start + 48]), m.const([1, 1])],
             [out])
    c = m.tensor("int8", [1, 48], (0.07, -5))
    m.op("ADD", [b, a], [c])
    manifest = check_bit_exact(m.build([x], [c]), tmp_path, vectors=8, name="overlap")
    assert kernels(manifest)[:2] == ["(alias)", "(alias)"]


# --- SLICE ------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_slice_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """SLICE with int32 or int64 begin/size, size -1 (to the end), 1- to 5-D."""
    rng = np.random.default_rng(1000 + seed)
    dtype = DTYPES[seed % 3]
    shape = random_shape(rng, int(rng.integers(1, 6)), 1, 5)
    m = FlatModel()
    x = _input(m, rng, dtype, shape)
    outs = []
    for i in range(8):
        begin = [int(rng.integers(0, n)) for n in shape]
        size = [-1 if rng.random() < 0.25 else int(rng.integers(1, n - b + 1))
                for b, n in zip(begin, shape, strict=True)]
        out = [n - b if s == -1 else s for b, s, n in zip(begin, size, shape, strict=True)]
        y = _like(m, x, out)
        index_type = "int64" if i % 2 else "int32"
        m.op("SLICE", [x, m.const(begin, index_type), m.const(size, index_type)], [y])
        outs.append(y)
    check_bit_exact(m.build([x], outs), tmp_path, vectors=4, seed=seed, name=f"slice {shape}")


# --- SPLIT, SPLIT_V, UNPACK -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_split_family_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """SPLIT (equal parts), SPLIT_V (random sizes, one -1) and UNPACK along random axes,
    negative ones included."""
    rng = np.random.default_rng(1100 + seed)
    dtype = DTYPES[seed % 3]
    rank = int(rng.integers(1, 5))
    shape = list(random_shape(rng, rank, 1, 5))
    axis = int(rng.integers(0, rank))
    shape[axis] = int(rng.choice([2, 4, 6]))
    neg = axis - rank if rng.random() < 0.5 else axis
    m = FlatModel()
    x = _input(m, rng, dtype, tuple(shape))
    outs: list[int] = []

    def part(n: int, squeeze: bool = False) -> int:
        s = shape[:axis] + ([] if squeeze else [n]) + shape[axis + 1:]
        return _like(m, x, s)

    parts = int(rng.choice([d for d in (1, 2, 3) if shape[axis] % d == 0]))
    split = [part(shape[axis] // parts) for _ in range(parts)]
    m.op("SPLIT", [m.const(neg, shape=[]), x], split, numSplits=parts)
    cuts = sorted(rng.choice(np.arange(1, shape[axis]), size=int(rng.integers(1, shape[axis])),
                             replace=False).tolist())
    sizes = np.diff([0, *cuts, shape[axis]]).tolist()
    outs_v = [part(n) for n in sizes]
    sizes[int(rng.integers(0, len(sizes)))] = -1
    m.op("SPLIT_V", [x, m.const(sizes, "int64" if seed % 2 else "int32"), m.const([neg])],
         outs_v, numSplits=len(sizes))
    unpacked = [part(1, squeeze=True) for _ in range(shape[axis])]
    m.op("UNPACK", [x], unpacked, num=shape[axis], axis=neg)
    outs = split + outs_v + unpacked
    manifest = check_bit_exact(m.build([x], outs), tmp_path, vectors=4, seed=seed,
                               name=f"split {shape} axis {neg}")
    assert op_names(manifest) == ["SPLIT", "SPLIT_V", "UNPACK"]


# --- PACK and CONCATENATION -------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_pack_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """PACK of 1 to 13 inputs (more than CONCATENATION's 10) on any axis, int64 included."""
    rng = np.random.default_rng(1200 + seed)
    dtype = (DTYPES + ["int64"])[seed]
    shape = random_shape(rng, int(rng.integers(1, 4)), 1, 4)
    count = int(rng.choice([1, 2, 3, 13]))
    axis = int(rng.integers(-len(shape) - 1, len(shape) + 1))
    m = FlatModel()
    xs = [_input(m, rng, dtype, shape) if i < 3 else m.const(
        rng.integers(-100, 100, size=shape), dtype) for i in range(count)]
    k = axis + len(shape) + 1 if axis < 0 else axis
    y = _like(m, xs[0], list(shape[:k]) + [count] + list(shape[k:]))
    m.op("PACK", xs, [y], valuesCount=count, axis=axis)
    inputs = [t for t in xs if m.tensors[t].buffer == 0]
    check_bit_exact(m.build(inputs, [y]), tmp_path, vectors=4, seed=seed,
                    name=f"pack {count} x {shape} axis {axis}")


@pytest.mark.parametrize("seed", range(4))
def test_concatenation_any_axis_with_constants_bit_exact(seed: int, tmp_path: Path) -> None:
    """CONCATENATION along every axis (negative ones too) of activations and constants, int8,
    int16, int32 (as an audio front end appends constant int32 rows) and int64."""
    rng = np.random.default_rng(1300 + seed)
    dtype = (DTYPES + ["int64"])[seed]
    rank = int(rng.integers(1, 6))
    shape = list(random_shape(rng, rank, 1, 4))
    m = FlatModel()
    quant = random_quant(rng, dtype) if dtype in ("int8", "int16") else None
    outs, inputs = [], []
    for axis in range(-rank, rank):
        k = axis % rank
        parts = []
        for j in range(int(rng.integers(2, 5))):
            s = shape[:k] + [int(rng.integers(1, 4))] + shape[k + 1:]
            if j % 2:
                parts.append(m.tensor(dtype, s, quant, data=rng.integers(
                    -1000, 1000, size=s).astype(dtype)))
            else:
                parts.append(m.tensor(dtype, s, quant))
                inputs.append(parts[-1])
        total = sum(m.tensors[p].shape[k] for p in parts)
        y = m.tensor(dtype, shape[:k] + [total] + shape[k + 1:], quant)
        m.op("CONCATENATION", parts, [y], axis=axis)
        outs.append(y)
    manifest = check_bit_exact(m.build(inputs, outs), tmp_path, vectors=4, seed=seed,
                               name=f"concat {dtype} {shape}")
    assert set(op_names(manifest)) == {"CONCATENATION"}


def test_audio_front_end_slices_and_concatenates_its_int32_spectrum(tmp_path: Path,
                                                                    zoo: Path) -> None:
    """TFLM's micro_speech audio preprocessor: STRIDED_SLICE of its int32 energy spectrum and
    CONCATENATION with a constant int32 block, and its int32 MINIMUM/MAXIMUM clamp, compiled
    alone and fed TFLM's own intermediate tensors (the rest are signal custom ops)."""
    from test_kernels_elementwise import _subgraph_bit_exact

    model = (zoo / "audio_preprocessor_int8.tflite").read_bytes()
    graph = parse_model(model, "audio")
    nodes = [op.index for op in graph.operators
             if op.opcode in ("STRIDED_SLICE", "CONCATENATION", "MINIMUM", "MAXIMUM")]
    assert len(nodes) == 4
    concat = next(op for op in graph.operators if op.opcode == "CONCATENATION")
    assert any(graph.tensors[t].is_const and graph.tensors[t].dtype == "int32"
               for t in concat.inputs)
    _subgraph_bit_exact(model, nodes[:2], tmp_path / "slice", "audio slice+concat", vectors=4)
    _subgraph_bit_exact(model, nodes[2:], tmp_path / "clamp", "audio min/max", vectors=4)


# --- TRANSPOSE --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_transpose_random_bit_exact(seed: int, tmp_path: Path) -> None:
    """Random permutations of 2- to 5-D int8 and int16 tensors (the identity one is a view)."""
    rng = np.random.default_rng(1400 + seed)
    dtype = ["int8", "int16", "int8"][seed]
    m = FlatModel()
    rank = [2, 4, 5][seed]
    shape = random_shape(rng, rank, 2, 4)
    x = _input(m, rng, dtype, shape)
    outs = []
    for i in range(6):
        perm = list(range(rank)) if i == 0 else [int(p) for p in rng.permutation(rank)]
        y = _like(m, x, [shape[p] for p in perm])
        m.op("TRANSPOSE", [x, m.const(perm)], [y])
        outs.append(y)
    manifest = check_bit_exact(m.build([x], outs), tmp_path, vectors=4, seed=seed,
                               name=f"transpose {shape}")
    assert kernels(manifest)[0] == "(alias)" and "mcuforge_copy" in kernels(manifest)


# --- GATHER -----------------------------------------------------------------------------------


def test_gather_constant_and_runtime_indices_bit_exact(tmp_path: Path) -> None:
    """GATHER with constant indices on every axis, and with indices computed at run time
    (a graph input: fed in-range values, as TFLM reads outside its input for others), with
    batch dims."""
    rng = np.random.default_rng(1500)
    m = FlatModel()
    shape = (2, 5, 3, 4)
    x = _input(m, rng, "int8", shape)
    outs = []
    for axis in range(-4, 4):
        k = axis % 4
        idx = rng.integers(0, shape[k], size=(int(rng.integers(1, 4)), 2))
        y = _like(m, x, list(shape[:k]) + list(idx.shape) + list(shape[k + 1:]))
        m.op("GATHER", [x, m.const(idx, shape=idx.shape)], [y], axis=axis)
        outs.append(y)
    coords = m.tensor("int32", [2, 3])
    batched = _like(m, x, [2, 3, 3, 4])
    m.op("GATHER", [x, coords], [batched], axis=1, batchDims=1)
    model = m.build([x, coords], [*outs, batched])
    compiled = compile_graph(parse_model(model, "gather"))
    host, ref = HostModel(compiled, tmp_path), Reference(model)
    for v in range(4):
        arrays = [rng.integers(-128, 128, size=shape).astype(np.int8),
                  rng.integers(0, 5, size=(2, 3)).astype(np.int32)]
        for o, (g, w) in enumerate(zip(host.run(arrays), ref.run(arrays), strict=True)):
            assert np.array_equal(g, w), f"vector {v} output {o}"


# --- converter models -------------------------------------------------------------------------


def _streaming_block(gather: bool) -> Any:
    """A micro_wake_word-like step: new frames appended to the state, the last rows kept as the
    next state, a channel split and per-half slices, a transposed tail (gathered: TFLM has no
    int16 GATHER)."""
    import tensorflow as tf

    def block(x: Any, state: Any) -> Any:
        both = tf.concat([state, x], axis=1)  # [1, 7, 1, 8]
        new_state = both[:, -4:]
        left, right = tf.split(both, [3, 5], axis=-1)
        mixed = tf.concat([left[:, 2:], right[:, ::-2, :, 1:4]], axis=1)
        tail = tf.transpose(tf.reshape(mixed, [1, 9, 3]), [0, 2, 1])
        if gather:
            tail = tf.gather(tail, [2, 0, 7], axis=2)
        stacked = tf.stack(tf.unstack(both, axis=1)[::-1], axis=2)
        return new_state, tail, stacked, tf.sigmoid(tf.reduce_mean(mixed, axis=[1, 2, 3]))

    return block


@pytest.mark.parametrize("int16", [False, True], ids=["int8", "16x8"])
def test_converted_streaming_block_bit_exact(int16: bool, tmp_path: Path) -> None:
    """The converter's own STRIDED_SLICE/SPLIT_V/CONCATENATION/TRANSPOSE/GATHER/PACK/UNPACK,
    int8 with a uint8 output, or 16x8 (int16 activations between the data-movement nodes)."""
    model = convert(_streaming_block(not int16), [(1, 3, 1, 8), (1, 4, 1, 8)], seed=3,
                    int16=int16, uint8_output=not int16)
    graph = parse_model(model, "stream")
    ops = {op.opcode for op in graph.operators}
    wanted = {"STRIDED_SLICE", "SPLIT_V", "CONCATENATION", "TRANSPOSE", "PACK", "UNPACK"}
    assert wanted <= ops, ops
    if int16:
        assert all(graph.tensors[t].dtype == "int16" for t in graph.inputs)
        nodes = [op.index for op in graph.operators if op.opcode in wanted]
        from test_kernels_elementwise import _subgraph_bit_exact

        # MEAN and LOGISTIC are int8-only in mcuforge: check the data-movement nodes alone.
        _subgraph_bit_exact(model, nodes, tmp_path, "stream16", vectors=6)
    else:
        assert "GATHER" in ops
        manifest = check_bit_exact(model, tmp_path, vectors=10, name="stream")
        assert "uint8" in [o["dtype"] for o in manifest["outputs"]]


# --- the real wake-word models ----------------------------------------------------------------


@pytest.mark.parametrize("name", ["mww_okay_nabu", "mww_vad"])
def test_wake_word_models_without_state_bit_exact(name: str, zoo: Path, tmp_path: Path) -> None:
    """ESPHome's published micro_wake_word models with each state read turned into an input and
    each state write into an output: every other node is the model's own (CONCATENATION,
    STRIDED_SLICE views, SPLIT_V, convolutions, LOGISTIC, QUANTIZE int8 -> uint8), uint8
    probability out."""
    from mcuforge.reference import tflm_arena_usage

    model = without_state((zoo / f"{name}.tflite").read_bytes())
    manifest = check_bit_exact(model, tmp_path, vectors=25, name=name)
    assert manifest["outputs"][0]["dtype"] == "uint8"
    steps = list(zip(op_names(manifest), kernels(manifest), strict=True))
    assert ("QUANTIZE", "mcuforge_requantize_s8_u8") in steps
    # No more activation memory than TFLM's own planner needs for the same graph.
    assert manifest["plan"]["arena_bytes"] <= tflm_arena_usage(model)["head"]


@pytest.mark.qemu
def test_data_movement_kernels_on_cortex_m4(tmp_path: Path) -> None:
    """The copy, split, concatenation and gather kernels (variadic calls included) on the
    Cortex-M4."""
    rng = np.random.default_rng(1600)
    m = FlatModel()
    x, w = _input(m, rng, "int8", (2, 5, 6)), _input(m, rng, "int16", (2, 5, 6))
    y = _like(m, w, [2, 2, 3])
    m.op("STRIDED_SLICE", [w, m.const([0, -1, 5]), m.const([2, 0, 0]), m.const([1, -2, -2])],
         [y])
    t = _like(m, w, [6, 2, 5])
    m.op("TRANSPOSE", [w, m.const([2, 0, 1])], [t])
    s = _like(m, w, [1, 3, 6])
    m.op("SLICE", [w, m.const([1, 2, 0]), m.const([1, -1, -1])], [s])
    parts = [_like(m, x, [2, 5]) for _ in range(6)]
    m.op("UNPACK", [x], parts, num=6, axis=-1)
    packed = _like(m, x, [2, 6, 5])
    m.op("PACK", parts[::-1], [packed], valuesCount=6, axis=1)
    g = _like(m, x, [2, 5, 4])
    m.op("GATHER", [x, m.const([5, 0, 2, 2])], [g], axis=2)
    model = m.build([x, w], [y, t, s, packed, g])
    assert check_on_qemu(model, "mps2-an386", tmp_path, vectors=4, name="datamove") > 0


# --- refusals ---------------------------------------------------------------------------------


def _one_slice(shape: list[int], out: list[int], begin: list[int], end: list[int],
               strides: list[int], dtype: str = "int8", **masks: Any) -> bytes:
    m = FlatModel()
    x = m.tensor(dtype, shape, (0.1, 0) if dtype != "int32" else None)
    y = m.tensor(dtype, out, (0.1, 0) if dtype != "int32" else None)
    m.op("STRIDED_SLICE", [x, m.const(begin), m.const(end), m.const(strides)], [y], **masks)
    return m.build([x], [y])


@pytest.mark.parametrize("case", [
    ("ellipsis", dict(ellipsisMask=1), "ellipsis_mask 1 is set; TFLM ignores it"),
    ("new axis", dict(newAxisMask=2), "new_axis_mask 2 is set; TFLM ignores it"),
    ("offset", dict(offset=True), "offset is set; TFLM ignores it"),
], ids=lambda c: c[0])
def test_strided_slice_masks_tflm_ignores_are_refused(case: tuple[str, dict, str]) -> None:
    _, masks, expected = case
    message = _problems(_one_slice([4, 6], [2, 6], [1, 0], [3, 6], [1, 1], **masks))
    assert "node 0 (STRIDED_SLICE)" in message and expected in message


def test_strided_slice_shrink_that_selects_nothing_is_refused() -> None:
    """TFLM's Prepare accepts these and its Eval then writes nothing: refused by name."""
    past_end = _one_slice([4, 6], [6], [7, 0], [8, 6], [1, 1], shrinkAxisMask=1)
    assert "shrink axis 0: begin 7 with stride 1 selects no element" in _problems(past_end)
    backwards = _one_slice([4, 6], [6], [1, 0], [0, 6], [-1, 1], shrinkAxisMask=1)
    assert "shrink axis 0: begin 1 with stride -1 selects no element" in _problems(backwards)


@pytest.mark.parametrize("case", [
    ("wrong shape", _one_slice([4, 6], [2, 5], [1, 0], [3, 6], [1, 1]),
     "output t1 has shape [2, 5]; the inputs and options give [2, 6]"),
    ("zero stride", _one_slice([4, 6], [2, 6], [1, 0], [3, 6], [0, 1]), "stride of axis 0 is 0"),
    ("uint8", _one_slice([4, 6], [2, 6], [1, 0], [3, 6], [1, 1], "uint8"),
     "t0 is uint8 (supported: int8, int16, int32)"),
    ("5-D", _one_slice([1, 1, 1, 4, 6], [1, 1, 1, 2, 6], [0, 0, 0, 1, 0], [1, 1, 1, 3, 6],
                       [1] * 5), "input has 5 dimensions (TFLM supports at most 4)"),
], ids=lambda c: c[0])
def test_strided_slice_problems_are_named(case: tuple[str, bytes, str]) -> None:
    assert case[2] in _problems(case[1])


def test_shape_checks_of_the_other_ops_name_the_tensor() -> None:
    """Every op recomputes its output shape from its inputs and options: a wrong one is refused
    (the kernel would read or write out of bounds), naming the tensor and both shapes."""
    m = FlatModel()
    x = m.tensor("int8", [2, 6], (0.1, 0))
    cases: list[tuple[int, str]] = []

    def add(opcode: str, inputs: list[int], shapes: list[list[int]], expected: str,
            **options: Any) -> None:
        outs = [m.tensor("int8", s, (0.1, 0)) for s in shapes]
        m.op(opcode, inputs, outs, **options)
        cases.append((len(m.operators) - 1, expected.format(*outs)))

    add("SLICE", [x, m.const([0, 1]), m.const([2, 4])], [[2, 5]],
        "output t{0} has shape [2, 5]; the inputs and options give [2, 4]")
    add("SPLIT", [m.const(1, shape=[]), x], [[2, 3], [2, 2]],
        "output t{1} has shape [2, 2]; splitting [2, 6] on axis 1 gives [2, 3]", numSplits=2)
    add("SPLIT_V", [x, m.const([2, 5]), m.const(1, shape=[])], [[2, 2], [2, 5]],
        "split sizes [2, 5] do not add up to 6 (axis 1)", numSplits=2)
    add("UNPACK", [x], [[2]] * 5, "unpacks 6 slices into num=5, 5 outputs", num=5, axis=1)
    add("PACK", [x, x], [[2, 6, 3]], "stacking 2 x [2, 6] on axis 2 gives [2, 6, 2]",
        valuesCount=2, axis=2)
    add("TRANSPOSE", [x, m.const([1, 1])], [[6, 6]],
        "perm [1, 1] is not a permutation of the 2 input axes")
    add("TRANSPOSE", [x, m.const([1, 0])], [[2, 6]],
        "output t{0} has shape [2, 6]; the inputs and options give [6, 2]")
    add("GATHER", [x, m.const([0, 6])], [[2, 2]], "index 6 is outside 0..5 (axis 1 of t0)",
        axis=1)
    add("GATHER", [x, m.const([0, 1])], [[2, 3]],
        "output t{0} has shape [2, 3]; the inputs and options give [2, 2]", axis=1)
    add("CONCATENATION", [x, x], [[2, 11]], "inputs give 12 along axis 1, output has 11",
        axis=-1)
    graph = parse_model(m.build([x], []), "shapes")
    for node, expected in cases:
        problems = node_problems(graph, graph.operators[node])
        assert any(expected in p for p in problems), (graph.operators[node].opcode, problems)


def test_uint8_concatenation_is_refused_like_tflm() -> None:
    m = FlatModel()
    x = m.tensor("uint8", [2, 3], (0.1, 128))
    y = m.tensor("uint8", [4, 3], (0.1, 128))
    m.op("CONCATENATION", [x, x], [y], axis=0)
    model = m.build([x], [y])
    assert "output is uint8 (supported: int8, int16" in _problems(model)
