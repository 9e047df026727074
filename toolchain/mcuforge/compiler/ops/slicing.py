"""STRIDED_SLICE and SLICE: byte copies (``kernels/copy.h``), or views when contiguous.

TFLM's STRIDED_SLICE (``strided_slice_common.cc`` + ``reference/strided_slice.h``) resolves each
axis with ``StridedSliceStartForAxis``/``EndForAxis``: negative indices count from the end, then
are clamped (to [0, size] going forward, [-1, size - 1] going backward), and the begin/end masks
replace them by the whole axis. A shrink axis takes one element, ``begin`` -- but TFLM's Eval then
writes nothing for it when ``begin`` is past the end or the stride is negative, and its Prepare
does not notice; such slices are refused here rather than leaving the output unwritten. TFLM
ignores ``ellipsis_mask``, ``new_axis_mask`` and ``offset`` (it never copies them into its
parameters), so a model using them is refused by name. The output shape must be the one TFLM's
Prepare computes, and the bytes read must be the ones its Eval reads.

SLICE (``slice.cc`` + ``reference/slice.h``): ``begin`` and ``size`` per axis, size -1 meaning
"to the end"; TFLM checks nothing at run time, so every range is checked here.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext
from mcuforge.compiler.ops.layout import (
    Copy,
    const_ints,
    copy_call,
    copy_problems,
    io_problems,
    itemsize,
    row_strides,
    shape_problem,
    simplify,
)
from mcuforge.model.ir import Graph, Operator

OPCODES = ("STRIDED_SLICE", "SLICE")
# TFLM also slices float32 and bool; mcuforge graphs carry neither between nodes.
STRIDED_DTYPES = ("int8", "int16", "int32")
SLICE_DTYPES = ("int8", "int16", "int32")
STRIDED_MAX_DIMS = 4  # TFLM's kMaxDim for STRIDED_SLICE
SLICE_MAX_DIMS = 5


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else (lo if v < lo else v)


def _count(start: int, stop: int, stride: int) -> int:
    """How many of start, start + stride, ... lie before ``stop`` (TFLM's loop condition)."""
    if stride > 0:
        return max(0, -(-(stop - start) // stride))
    return max(0, -(-(start - stop) // -stride))


def _strided(op: Operator, graph: Graph) -> tuple[Copy | None, list[int], list[str]]:
    """(copy, output shape TFLM's Prepare computes, problems)."""
    inp = graph.tensors[op.inputs[0]]
    rank = len(inp.shape)
    o = op.options
    problems = [f"{name} {o.get(name)} is set; TFLM ignores it, so mcuforge refuses it"
                for name in ("ellipsis_mask", "new_axis_mask") if o.get(name, 0)]
    if o.get("offset", False):
        problems.append("offset is set; TFLM ignores it, so mcuforge refuses it")
    if rank > STRIDED_MAX_DIMS:
        problems.append(f"input has {rank} dimensions (TFLM supports at most {STRIDED_MAX_DIMS})")
    values: list[list[int]] = []
    for i, what in ((1, "begin"), (2, "end"), (3, "strides")):
        v, why = const_ints(graph, op, i, what)
        if v is None:
            problems.append(str(why))
        elif len(v) != rank:
            problems.append(f"{what} has {len(v)} values for a {rank}-D input")
        values.append(v or [])
    if problems:
        return None, [], problems
    begin, end, strides = values
    begin_mask, end_mask = int(o.get("begin_mask", 0)), int(o.get("end_mask", 0))
    shrink_mask = int(o.get("shrink_axis_mask", 0))
    axes, shape = [], []
    offset = 0
    steps = row_strides(inp.shape, itemsize(inp))
    for k in range(rank):
        size, stride = inp.shape[k], strides[k]
        if stride == 0:
            problems.append(f"stride of axis {k} is 0")
            continue
        start = begin[k] + (size if begin[k] < 0 else 0)
        start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
        if begin_mask >> k & 1:
            start = 0 if stride > 0 else size - 1
        shrink = bool(shrink_mask >> k & 1)
        if shrink:
            stop = start if start >= size else start + 1
        else:
            stop = end[k] + (size if end[k] < 0 else 0)
            stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
            if end_mask >> k & 1:
                stop = size if stride > 0 else -1
        count = _count(start, stop, stride)
        if shrink:
            if count != 1:
                problems.append(
                    f"shrink axis {k}: begin {begin[k]} with stride {stride} selects no element "
                    f"of {size} (TFLM would leave the output unwritten)")
        else:
            shape.append(count)
        if count > 0:
            offset += start * steps[k]
        axes.append((count, stride * steps[k]))
    if problems:
        return None, shape, problems
    return simplify(offset, axes, itemsize(inp)), shape, []


def _slice(op: Operator, graph: Graph) -> tuple[Copy | None, list[int], list[str]]:
    inp = graph.tensors[op.inputs[0]]
    rank = len(inp.shape)
    problems = []
    if rank > SLICE_MAX_DIMS:
        problems.append(f"input has {rank} dimensions (TFLM supports at most {SLICE_MAX_DIMS})")
    begin, why_b = const_ints(graph, op, 1, "begin", ("int32", "int64"))
    size, why_s = const_ints(graph, op, 2, "size", ("int32", "int64"))
    problems += [w for w in (why_b, why_s) if w is not None]
    if begin is None or size is None:
        return None, [], problems
    if len(begin) != rank or len(size) != rank:
        return None, [], problems + [
            f"begin and size have {len(begin)} and {len(size)} values for a {rank}-D input"]
    steps = row_strides(inp.shape, itemsize(inp))
    axes, shape, offset = [], [], 0
    for k in range(rank):
        stop = inp.shape[k] if size[k] == -1 else begin[k] + size[k]
        if not 0 <= begin[k] <= stop <= inp.shape[k]:
            problems.append(
                f"axis {k}: begin {begin[k]} size {size[k]} is outside 0..{inp.shape[k]}")
            continue
        shape.append(stop - begin[k])
        offset += begin[k] * steps[k]
        axes.append((stop - begin[k], steps[k]))
    if problems:
        return None, shape, problems
    return simplify(offset, axes, itemsize(inp)), shape, []


def _geometry(op: Operator, graph: Graph) -> tuple[Copy | None, list[int], list[str]]:
    return _strided(op, graph) if op.opcode == "STRIDED_SLICE" else _slice(op, graph)


def check(op: Operator, graph: Graph) -> list[str]:
    dtypes = STRIDED_DTYPES if op.opcode == "STRIDED_SLICE" else SLICE_DTYPES
    problems = io_problems(graph, op, dtypes)
    if problems:
        return problems
    copy, shape, problems = _geometry(op, graph)
    if problems or copy is None:
        return problems
    out = graph.tensors[op.outputs[0]]
    return shape_problem(out, shape) or copy_problems(copy, graph.tensors[op.inputs[0]], out)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    copy, _, _ = _geometry(op, graph)
    assert copy is not None
    return copy_call(op, graph, copy)
