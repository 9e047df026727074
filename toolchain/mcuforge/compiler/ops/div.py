"""DIV: int32 without quantization (see ``int_arith``). TFLM's micro DIV also has a quantized
int8 path (a fixed-point reciprocal) and float32; mcuforge does not compile those yet."""

from __future__ import annotations

from mcuforge.compiler.ops import int_arith
from mcuforge.compiler.ops.base import KernelCall, LowerContext
from mcuforge.model.ir import Graph, Operator

OPCODES = ("DIV",)


def check(op: Operator, graph: Graph) -> list[str]:
    if not op.outputs or graph.tensors[op.outputs[0]].dtype != "int32":
        dtype = graph.tensors[op.outputs[0]].dtype if op.outputs else "missing"
        return [f"output is {dtype} (mcuforge compiles int32 DIV)"]
    return int_arith.check(op, graph)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    return int_arith.lower(op, graph, ctx)
