"""RESHAPE, SQUEEZE, EXPAND_DIMS: no code at all. The output is the input's bytes under another
shape, so the memory plan makes it share the input's buffer (TFLM copies the bytes unchanged,
whatever the quantization parameters say, so sharing them is bit-exact)."""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext
from mcuforge.model.ir import Graph, Operator

OPCODES = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def check(op: Operator, graph: Graph) -> list[str]:
    if not op.inputs or op.inputs[0] < 0 or len(op.outputs) != 1:
        return ["needs one data input and one output"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    problems = []
    if inp.dtype != out.dtype:
        problems.append(f"input is {inp.dtype} but output is {out.dtype}")
    if inp.size != out.size:
        problems.append(
            f"input {list(inp.shape)} has {inp.size} elements, output {list(out.shape)} has "
            f"{out.size}"
        )
    if out.index in graph.inputs:
        problems.append("output is also a graph input")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    return KernelCall(op=op, alias=(op.outputs[0], op.inputs[0]))
