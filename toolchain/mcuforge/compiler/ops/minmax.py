"""MAXIMUM and MINIMUM of int8, int16 or int32 tensors, with broadcasting (up to 6-D).

TFLM (``maximum_minimum.cc``) compares the raw values and has no Prepare: it never looks at the
quantization (the converter gives both inputs the output's), so neither does this.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    binary_shape_problems,
    broadcast_params,
)
from mcuforge.model.ir import Graph, Operator

OPCODES = ("MAXIMUM", "MINIMUM")
SUFFIX = {"int8": "s8", "int16": "s16", "int32": "s32"}


def check(op: Operator, graph: Graph) -> list[str]:
    problems = binary_shape_problems(graph, op)
    if problems:
        return problems
    types = [graph.tensors[t].dtype for t in (op.inputs[0], op.inputs[1], op.outputs[0])]
    if types[0] not in SUFFIX:
        return [f"input is {types[0]} (supported: {', '.join(SUFFIX)})"]
    if len(set(types)) != 1:
        return [f"inputs and output are {', '.join(types)}; TFLM needs one type"]
    return []


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    params = broadcast_params(a.shape, b.shape, out.shape)
    flat = params["flat_size"] > 0
    params["scalar"] = 0
    if not flat and out.size in (a.size, b.size) and 1 in (a.size, b.size):
        # One input is a single value (a clamp): a plain loop instead of the odometer.
        params["scalar"], params["flat_size"] = (1 if a.size == 1 else 2), out.size
        flat = True
    return KernelCall(
        op=op,
        kernel=f"mcuforge_{op.opcode.lower()}_{SUFFIX[out.dtype]}",
        source="minmax",
        params_type="mcuforge_minmax_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], t) for t in op.inputs[:2]
                 if graph.tensors[t].size == out.size] if flat else [],
    )
