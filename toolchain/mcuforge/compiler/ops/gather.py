"""GATHER: blocks of the input picked by int32 indices along an axis, with batch dims
(``kernels/gather.h``).

TFLM (``gather.cc``) supports int8 (and float32) data with int32 indices; its Prepare computes
the output shape ``input[:axis] + indices[batch_dims:] + input[axis + 1:]`` and checks the axes;
it checks the index values only in debug builds. Constant indices out of range are refused here;
indices computed at run time that are out of range give zero bytes instead of TFLM's read outside
the input.
"""

from __future__ import annotations

import numpy as np

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.ops.layout import itemsize, normalize_axis, shape_problem
from mcuforge.model.ir import Graph, Operator

OPCODES = ("GATHER",)
DTYPES = ("int8",)


def _axes(op: Operator, graph: Graph) -> tuple[int, int] | str:
    """(axis, batch_dims) or the problem."""
    inp, idx = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    raw_axis, raw_batch = int(op.options.get("axis", 0)), int(op.options.get("batch_dims", 0))
    axis = normalize_axis(raw_axis, len(inp.shape))
    if axis is None:
        return f"axis {raw_axis} is out of range for a {len(inp.shape)}-D input"
    batch = raw_batch + len(idx.shape) if raw_batch < 0 else raw_batch
    if not 0 <= batch <= min(axis, len(idx.shape)) or batch >= len(inp.shape):
        return f"batch_dims {raw_batch} does not fit axis {axis} and {len(idx.shape)}-D indices"
    if inp.shape[:batch] != idx.shape[:batch]:
        return f"the batch dimensions of {list(inp.shape)} and {list(idx.shape)} differ"
    return axis, batch


def check(op: Operator, graph: Graph) -> list[str]:
    if len(op.inputs) != 2 or min(op.inputs) < 0 or len(op.outputs) != 1:
        return ["needs data and indices inputs and one output"]
    inp, idx, out = (graph.tensors[t] for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if inp.dtype not in DTYPES or out.dtype != inp.dtype:
        return [f"gathers {inp.dtype} into {out.dtype} (supported: {', '.join(DTYPES)})"]
    if idx.dtype != "int32":
        return [f"indices t{idx.index} are {idx.dtype} (TFLM supports int32)"]
    if 0 in (inp.size, idx.size, out.size):
        return ["an input or the output is empty"]
    if out.index in graph.inputs:
        return ["output is also a graph input"]
    axes = _axes(op, graph)
    if isinstance(axes, str):
        return [axes]
    axis, batch = axes
    problems = shape_problem(
        out, list(inp.shape[:axis]) + list(idx.shape[batch:]) + list(inp.shape[axis + 1:]))
    if idx.data is not None:
        bad = np.asarray(idx.data)[(idx.data < 0) | (idx.data >= inp.shape[axis])]
        if bad.size:
            problems.append(f"index {int(bad[0])} is outside 0..{inp.shape[axis] - 1} "
                            f"(axis {axis} of t{inp.index})")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, idx = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[1]]
    axes = _axes(op, graph)
    assert not isinstance(axes, str)
    axis, batch = axes

    def prod(dims: tuple[int, ...]) -> int:
        return int(np.prod(dims, dtype=np.int64))

    return KernelCall(
        op=op,
        kernel="mcuforge_gather",
        source="gather",
        params_type="mcuforge_gather_params_t",
        params={
            "batches": prod(inp.shape[:batch]),
            "outer": prod(inp.shape[batch:axis]),
            "coords": prod(idx.shape[batch:]),
            "axis_size": inp.shape[axis],
            "inner_bytes": prod(inp.shape[axis + 1:]) * itemsize(inp),
        },
        args=[TensorArg(op.inputs[0], untyped=True), TensorArg(op.inputs[1]),
              TensorArg(op.outputs[0], True, untyped=True)],
    )
