"""TANH, int8: a 256-entry table holding TFLM's fixed-point result for every input.

TFLM (``tanh.cc`` + ``reference/integer_ops/tanh.h``) uses the same Q4.27 input rescaling and
radius as LOGISTIC, evaluates gemmlowp's ``tanh`` and rounds the Q0.31 result to 1/128 steps.
It adds no output zero point and does not check the output quantization (the converter gives
scale 1/128, zero point 0); the table reproduces exactly that.
"""

from __future__ import annotations

from mcuforge.compiler import fixedpoint as fp
from mcuforge.compiler.ops import int16
from mcuforge.compiler.ops.base import KernelCall, LowerContext, expect_dtypes
from mcuforge.compiler.ops.logistic import (
    INPUT_INTEGER_BITS,
    lut_call,
    q4_rescaling,
    scale_problem,
    table_for,
)
from mcuforge.compiler.quant import INT8_MAX, INT8_MIN
from mcuforge.model.ir import Graph, Operator

OPCODES = ("TANH",)


def check(op: Operator, graph: Graph) -> list[str]:
    if int16.uses_int16(op, graph):  # 16x8 model
        return int16.check_lut(op, graph)
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    return problems or scale_problem(graph, op)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int16.uses_int16(op, graph):
        return int16.lower_lut(op, graph)
    multiplier, shift, radius = q4_rescaling(graph.tensors[op.inputs[0]].scale)

    def tanh(x: int) -> int:
        if x <= -radius:
            return INT8_MIN
        if x >= radius:
            return INT8_MAX
        q0 = fp.tanh(fp.mbqm(x, multiplier, shift), INPUT_INTEGER_BITS)
        return min(max(fp.rdbpot(q0, 31 - 7), INT8_MIN), INT8_MAX)  # Q0.31 to 1/128 steps

    return lut_call(op, graph, table_for(graph, op, tanh))
