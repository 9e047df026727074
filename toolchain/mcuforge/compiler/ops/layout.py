"""What the data-movement ops share: constant index inputs, axes, and the strided byte copy.

STRIDED_SLICE, SLICE and TRANSPOSE all reduce to one description -- a start offset and, per
output axis, a count and an input step in bytes -- which :func:`copy_call` turns into the
``mcuforge_copy`` kernel (``kernels/copy.h``); when the bytes read are one contiguous block in
order, the memory planner may make the output a view of the input instead (no code;
``KernelCall.views``). No ``OPCODES``: the op registry skips this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.compiler.ops.base import KernelCall, TensorArg
from mcuforge.model.ir import NUMPY_DTYPES, Graph, Operator, Tensor

COPY_DIMS = 5  # loop dimensions of mcuforge_copy (MCUFORGE_COPY_DIMS)


def const_ints(graph: Graph, op: Operator, i: int, what: str,
               dtypes: tuple[str, ...] = ("int32",)) -> tuple[list[int] | None, str | None]:
    """The values of constant input ``i`` (begin, size, axis...) or why they cannot be used."""
    if i >= len(op.inputs) or op.inputs[i] < 0:
        return None, f"missing {what} input"
    t = graph.tensors[op.inputs[i]]
    if t.data is None:
        return None, f"{what} t{t.index} is computed at run time; TFLM needs it constant"
    if t.dtype not in dtypes:
        return None, f"{what} t{t.index} is {t.dtype} (supported: {', '.join(dtypes)})"
    return [int(v) for v in np.asarray(t.data).reshape(-1)], None


def normalize_axis(axis: int, rank: int) -> int | None:
    """A possibly negative axis as an index into ``rank`` dimensions, None if out of range."""
    axis = axis + rank if axis < 0 else axis
    return axis if 0 <= axis < rank else None


def io_problems(graph: Graph, op: Operator, dtypes: tuple[str, ...], *, inputs: int = 1,
                outputs: int = 1) -> list[str]:
    """Data inputs/outputs present, all of one supported dtype, with no empty tensor.

    The first ``inputs`` inputs carry data; the others (indices, axes) are checked by the op.
    """
    data_in = list(op.inputs[:inputs])
    if len(data_in) < inputs or any(t < 0 for t in data_in):
        return [f"needs {inputs} data input{'s' if inputs > 1 else ''}"]
    if len(op.outputs) != outputs or any(t < 0 for t in op.outputs):
        return [f"needs {outputs} output{'s' if outputs > 1 else ''}, has {len(op.outputs)}"]
    tensors = [graph.tensors[t] for t in data_in + list(op.outputs)]
    dtype = tensors[0].dtype
    if dtype not in dtypes:
        return [f"t{tensors[0].index} is {dtype} (supported: {', '.join(dtypes)})"]
    problems = [f"t{t.index} is {t.dtype}, t{tensors[0].index} is {dtype}"
                for t in tensors[1:] if t.dtype != dtype]
    problems += [f"t{t.index} {list(t.shape)} is empty" for t in tensors if t.size == 0]
    if any(t in graph.inputs for t in op.outputs):
        problems.append("an output is also a graph input")
    return problems


def shape_problem(t: Tensor, want: tuple[int, ...] | list[int]) -> list[str]:
    if tuple(t.shape) != tuple(want):
        return [f"output t{t.index} has shape {list(t.shape)}; the inputs and options give "
                f"{list(want)}"]
    return []


def row_strides(shape: tuple[int, ...], itemsize: int) -> list[int]:
    """Byte step of each axis of a dense row-major tensor."""
    steps, step = [0] * len(shape), itemsize
    for k in reversed(range(len(shape))):
        steps[k] = step
        step *= shape[k]
    return steps


@dataclass
class Copy:
    """``run_bytes`` contiguous bytes per index of ``axes`` ((count, input byte step), outermost
    first), starting ``offset`` bytes into the input."""

    offset: int
    run_bytes: int
    axes: list[tuple[int, int]]

    @property
    def out_bytes(self) -> int:
        n = self.run_bytes
        for count, _ in self.axes:
            n *= count
        return n

    def span(self) -> tuple[int, int]:
        """[first, last] byte read."""
        lo = self.offset + sum(min(0, (c - 1) * s) for c, s in self.axes)
        hi = self.offset + sum(max(0, (c - 1) * s) for c, s in self.axes) + self.run_bytes - 1
        return lo, hi


def simplify(offset: int, axes: list[tuple[int, int]], itemsize: int) -> Copy:
    """Drop unit axes, merge axes that continue each other and fold the contiguous inner axes
    into the byte run, so the kernel copies runs as long as the layout allows."""
    merged: list[tuple[int, int]] = []
    for count, step in axes:
        if count == 1:
            continue
        if merged and merged[-1][1] == count * step:
            merged[-1] = (merged[-1][0] * count, step)
        else:
            merged.append((count, step))
    run = itemsize
    while merged and merged[-1][1] == run:
        run *= merged.pop()[0]
    return Copy(offset, run, merged)


def copy_problems(copy: Copy, src: Tensor, dst: Tensor) -> list[str]:
    """The guarantees the kernel relies on: every byte read inside the input, the output
    filled exactly, and few enough loop dimensions."""
    problems = []
    lo, hi = copy.span()
    if lo < 0 or hi >= src.nbytes:
        problems.append(f"reads bytes {lo}..{hi} of t{src.index}, which has {src.nbytes}")
    if copy.out_bytes != dst.nbytes:
        problems.append(f"writes {copy.out_bytes} bytes to t{dst.index}, which has {dst.nbytes}")
    if len(copy.axes) > COPY_DIMS:
        problems.append(f"needs {len(copy.axes)} strided dimensions (at most {COPY_DIMS})")
    return problems


def may_view(graph: Graph, src: int, outputs: list[int] | tuple[int, ...]) -> bool:
    """Whether outputs may share ``src``'s memory: not when ``src`` is a constant (flash) and
    an output is a graph output (those live in the arena)."""
    return not (graph.tensors[src].is_const and any(t in graph.outputs for t in outputs))


def copy_call(op: Operator, graph: Graph, copy: Copy) -> KernelCall:
    """The kernel call for ``copy`` from the op's first input to its output; when the bytes
    copied are one block in order, the planner may make the output a view instead."""
    src, dst = op.inputs[0], op.outputs[0]
    assert not copy_problems(copy, graph.tensors[src], graph.tensors[dst])
    views = [(dst, src, copy.offset)] if not copy.axes and may_view(graph, src, [dst]) else []
    pad = COPY_DIMS - len(copy.axes)
    return KernelCall(
        op=op,
        kernel="mcuforge_copy",
        source="copy",
        params_type="mcuforge_copy_params_t",
        params={
            "offset": copy.offset,
            "run_bytes": copy.run_bytes,
            "count": [1] * pad + [c for c, _ in copy.axes],
            "step": [0] * pad + [s for _, s in copy.axes],
        },
        args=[TensorArg(src, untyped=True), TensorArg(dst, True, untyped=True)],
        views=views,
    )


def itemsize(t: Tensor) -> int:
    return NUMPY_DTYPES[t.dtype].itemsize
