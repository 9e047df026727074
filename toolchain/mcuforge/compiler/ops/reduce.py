"""REDUCE_MAX and REDUCE_MIN, int8, over any axes: TFLM's ``ReduceGeneric``.

TFLM insists that the output keeps the input's scale and zero point (no requantization) and has
no int16 form; the loops are MEAN's (``mean.py``).
"""

from __future__ import annotations

from mcuforge.compiler.ops import mean
from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg, expect_dtypes
from mcuforge.compiler.quant import f32
from mcuforge.model.ir import Graph, Operator

OPCODES = ("REDUCE_MAX", "REDUCE_MIN")


def check(op: Operator, graph: Graph) -> list[str]:
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    problems = mean.check(op, graph)
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    axes = mean._axes(graph, op)
    if not problems and axes is not None:
        keep = bool(op.options.get("keep_dims"))
        want = tuple(1 if i in axes else d for i, d in enumerate(inp.shape)) if keep else \
            tuple(d for i, d in enumerate(inp.shape) if i not in axes)
        if out.shape != want:
            problems.append(f"output tensor {out.index} has shape {list(out.shape)}; input "
                            f"{list(inp.shape)} reduced over {axes} (keep_dims={keep}) gives "
                            f"{list(want)}")
    if not problems and (f32(inp.scale) != f32(out.scale) or inp.zero_point != out.zero_point):
        problems.append(f"output tensor {out.index} is quantized differently from input tensor "
                        f"{inp.index}; TFLM's {op.opcode} needs the same scale and zero point")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp = graph.tensors[op.inputs[0]]
    axes = mean._axes(graph, op)
    assert axes is not None
    kept, reduced = mean._loops(inp.shape, axes)
    kept_dims, kept_strides = mean._pad(kept)
    red_dims, red_strides = mean._pad(reduced)
    return KernelCall(
        op=op,
        kernel="mcuforge_reduce_minmax_s8",
        source="reduce",
        params_type="mcuforge_reduce_params_t",
        params={
            "kept_dims": kept_dims,
            "kept_strides": kept_strides,
            "reduced_dims": red_dims,
            "reduced_strides": red_strides,
            "is_min": int(op.opcode == "REDUCE_MIN"),
        },
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
    )
