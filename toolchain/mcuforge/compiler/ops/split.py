"""SPLIT, SPLIT_V and UNPACK: copies of the raw values (``kernels/split.h``), or views.

TFLM (``split.cc``, ``split_v.cc``, ``unpack.cc``) copies, for each of the ``outer`` rows before
the axis, each output's chunk in turn; it takes the chunk sizes from the output shapes (SPLIT_V
never reads its ``size_splits`` input) and checks them only in debug builds, so the shapes are
checked here: outputs that tile the input along the axis and equal it elsewhere (UNPACK: without
the axis). When everything before the axis is 1, each output is one contiguous block of the
input, and the memory planner may make the outputs views of it (no code, no memory).
"""

from __future__ import annotations

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, LowerContext, TensorArg
from mcuforge.compiler.ops.layout import (
    const_ints,
    io_problems,
    itemsize,
    may_view,
    normalize_axis,
)
from mcuforge.model.ir import Graph, Operator

OPCODES = ("SPLIT", "SPLIT_V", "UNPACK")
DTYPES = ("int8", "int16", "int32")  # and float32 in TFLM


def _data_input(op: Operator) -> int:
    return 1 if op.opcode == "SPLIT" else 0


def _axis(op: Operator, graph: Graph, rank: int) -> tuple[int | None, str | None]:
    if op.opcode == "UNPACK":
        raw = int(op.options.get("axis", 0))
    else:
        values, why = const_ints(graph, op, 0 if op.opcode == "SPLIT" else 2, "axis")
        if values is None:
            return None, why
        if len(values) != 1:
            return None, f"axis has {len(values)} values"
        raw = values[0]
    axis = normalize_axis(raw, rank)
    return axis, None if axis is not None else f"axis {raw} is out of range for a {rank}-D input"


def _expected_shapes(op: Operator, graph: Graph, axis: int) -> tuple[list[list[int]], list[str]]:
    """The output shapes the input and options imply."""
    inp = graph.tensors[op.inputs[_data_input(op)]]
    shape, n = list(inp.shape), len(op.outputs)
    if op.opcode == "UNPACK":
        num = int(op.options.get("num", n))
        if num != n or shape[axis] != n:
            return [], [f"unpacks {shape[axis]} slices into num={num}, {n} outputs"]
        return [shape[:axis] + shape[axis + 1:]] * n, []
    if op.opcode == "SPLIT":
        if shape[axis] % n:
            return [], [f"axis {axis} of {shape[axis]} does not split into {n} equal outputs"]
        sizes = [shape[axis] // n] * n
    else:
        sizes, why = const_ints(graph, op, 1, "size_splits", ("int32", "int64"))
        if sizes is None:  # TFLM ignores size_splits: the output shapes alone are checked below
            sizes = [graph.tensors[t].shape[axis] if len(graph.tensors[t].shape) > axis else -2
                     for t in op.outputs]
        elif len(sizes) != n:
            return [], [f"size_splits has {len(sizes)} values for {n} outputs"]
        if sizes.count(-1) == 1 and all(s >= 0 for s in sizes if s != -1):
            sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
        if any(s < 0 for s in sizes) or sum(sizes) != shape[axis]:
            return [], [f"split sizes {sizes} do not add up to {shape[axis]} (axis {axis})"]
    return [shape[:axis] + [s] + shape[axis + 1:] for s in sizes], []


def check(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems_for(op, graph)
    if problems:
        return problems
    inp = graph.tensors[op.inputs[_data_input(op)]]
    axis, why = _axis(op, graph, len(inp.shape))
    if axis is None:
        return [str(why)]
    shapes, problems = _expected_shapes(op, graph, axis)
    for t, want in zip(op.outputs, shapes, strict=False):
        if list(graph.tensors[t].shape) != want:
            problems.append(f"output t{t} has shape {list(graph.tensors[t].shape)}; "
                            f"splitting {list(inp.shape)} on axis {axis} gives {want}")
    return problems


def io_problems_for(op: Operator, graph: Graph) -> list[str]:
    """Dtypes and sizes of the data input and the outputs (SPLIT's data input is its second)."""
    data = _data_input(op)
    if len(op.inputs) <= data:
        return ["missing the data input"]
    view = Operator(op.index, op.opcode, op.inputs[data:data + 1], op.outputs)
    return io_problems(graph, view, DTYPES, outputs=len(op.outputs))


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    src = op.inputs[_data_input(op)]
    inp = graph.tensors[src]
    axis, _ = _axis(op, graph, len(inp.shape))
    assert axis is not None
    outer = int(np.prod(inp.shape[:axis], dtype=np.int64))
    inner = itemsize(inp) * int(np.prod(inp.shape[axis + 1:], dtype=np.int64))
    chunks = [graph.tensors[t].size // outer * itemsize(inp) for t in op.outputs]
    assert sum(chunks) == inner * inp.shape[axis]
    views = []
    if outer == 1 and may_view(graph, src, op.outputs):
        offsets = np.cumsum([0] + chunks[:-1]).tolist()
        views = [(t, src, int(o)) for t, o in zip(op.outputs, offsets, strict=True)]
    table = ConstArray(f"op{op.index}_chunks", np.array(chunks, dtype=np.int32))
    return KernelCall(
        op=op,
        kernel="mcuforge_split",
        source="split",
        params_type="mcuforge_split_params_t",
        params={"outer": outer, "num_outputs": len(op.outputs), "chunk_bytes": table},
        args=[TensorArg(src, untyped=True)]
        + [TensorArg(t, True, untyped=True) for t in op.outputs],
        consts=[table],
        views=views,
    )
