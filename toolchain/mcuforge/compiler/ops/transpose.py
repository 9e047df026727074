"""TRANSPOSE: a strided byte copy (``kernels/copy.h``); an identity permutation is a view.

TFLM (``transpose_common.cc`` + ``reference/transpose.h``) walks the output in order, reading the
input along ``perm``; its Prepare checks only that each entry of ``perm`` is in range, so a
repeated axis or an output shape that is not the permuted input shape would read outside the
input: both are refused here.
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

OPCODES = ("TRANSPOSE",)
DTYPES = ("int8", "int16")  # and float32 in TFLM
MAX_DIMS = 5


def _perm(op: Operator, graph: Graph) -> tuple[list[int] | None, list[str]]:
    rank = len(graph.tensors[op.inputs[0]].shape)
    if rank > MAX_DIMS:
        return None, [f"input has {rank} dimensions (TFLM supports at most {MAX_DIMS})"]
    perm, why = const_ints(graph, op, 1, "perm")
    if perm is None:
        return None, [str(why)]
    if sorted(perm) != list(range(rank)):
        return None, [f"perm {perm} is not a permutation of the {rank} input axes"]
    return perm, []


def _copy(op: Operator, graph: Graph, perm: list[int]) -> Copy:
    inp = graph.tensors[op.inputs[0]]
    steps = row_strides(inp.shape, itemsize(inp))
    return simplify(0, [(inp.shape[p], steps[p]) for p in perm], itemsize(inp))


def check(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(graph, op, DTYPES)
    if problems:
        return problems
    perm, problems = _perm(op, graph)
    if perm is None:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    return shape_problem(out, [inp.shape[p] for p in perm]) or copy_problems(
        _copy(op, graph, perm), inp, out)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    perm, _ = _perm(op, graph)
    assert perm is not None
    return copy_call(op, graph, _copy(op, graph, perm))
