"""LOGISTIC, int8: a 256-entry table holding TFLM's fixed-point result for every input.

TFLM (``logistic_common.cc`` + ``reference/integer_ops/logistic.h``) rescales ``x - zp`` into
Q4.27 with a multiplier from ``frexp(double(scale) * 2**27)``, saturates beyond the input radius,
evaluates gemmlowp's ``logistic`` and rounds the Q0.31 result to 1/256 steps with zero point
-128 (the output quantization it insists on). The output depends on the int8 input alone, so the
compiler runs the same integer arithmetic for all 256 inputs (``compiler/fixedpoint.py``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from mcuforge.compiler import fixedpoint as fp
from mcuforge.compiler.ops import int16
from mcuforge.compiler.ops.base import (
    ConstArray,
    KernelCall,
    LowerContext,
    TensorArg,
    expect_dtypes,
)
from mcuforge.compiler.quant import INT8_MAX, INT8_MIN, f32, round_away
from mcuforge.model.ir import Graph, Operator

OPCODES = ("LOGISTIC",)

INPUT_INTEGER_BITS = 4


def q4_rescaling(input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left_shift, input_radius) for LOGISTIC and TANH's int8 Prepare: the Q31
    significand of ``double(scale) * 2**27`` by frexp and rounding, without QuantizeMultiplier's
    2**31 carry check (a float32 scale has 24 significant bits, so the product is exact)."""
    real = float(f32(input_scale)) * float(1 << (31 - INPUT_INTEGER_BITS))
    q, shift = math.frexp(real)
    multiplier = round_away(q * (1 << 31))
    return multiplier, shift, fp.input_radius(INPUT_INTEGER_BITS, shift)


def scale_problem(graph: Graph, op: Operator) -> list[str]:
    inp = graph.tensors[op.inputs[0]]
    if inp.quant.per_channel:  # type: ignore[union-attr]
        return ["per-channel quantized input"]
    real = float(f32(inp.scale)) * float(1 << (31 - INPUT_INTEGER_BITS))
    if not math.isfinite(real) or real <= 0 or math.frexp(real)[1] < 0:
        return [f"input scale {inp.scale:g} is outside what TFLM's Q4.27 rescaling handles"]
    return []


def table_for(graph: Graph, op: Operator, fn: Callable[[int], int]) -> np.ndarray:
    """The 256 outputs of ``fn(input - zero_point)``, indexed by the input's uint8 bit pattern."""
    values = np.arange(256, dtype=np.int32).astype(np.uint8).view(np.int8)
    zp = graph.tensors[op.inputs[0]].zero_point
    return np.array([fn(int(x) - zp) for x in values], dtype=np.int8)


def lut_call(op: Operator, graph: Graph, table: np.ndarray) -> KernelCall:
    lut = ConstArray(f"op{op.index}_lut", table.astype(np.int8))
    return KernelCall(
        op=op,
        kernel="mcuforge_lut_s8",
        source="lut",
        params_type="mcuforge_lut_params_t",
        params={"size": graph.tensors[op.inputs[0]].size, "table": lut},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        consts=[lut],
        inplace=[(op.outputs[0], op.inputs[0])],
    )


def check(op: Operator, graph: Graph) -> list[str]:
    if int16.uses_int16(op, graph):  # 16x8 model
        return int16.check_lut(op, graph)
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    out = graph.tensors[op.outputs[0]]
    if out.zero_point != -128:
        problems.append(f"output zero point is {out.zero_point}; int8 logistic needs -128")
    return problems + scale_problem(graph, op)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int16.uses_int16(op, graph):
        return int16.lower_lut(op, graph)
    multiplier, shift, radius = q4_rescaling(graph.tensors[op.inputs[0]].scale)

    def logistic(x: int) -> int:
        if x <= -radius:
            return INT8_MIN
        if x >= radius:
            return INT8_MAX
        q0 = fp.logistic(fp.mbqm(x, multiplier, shift), INPUT_INTEGER_BITS)
        # Q0.31 to 1/256 steps (Q0.31 >> 23), zero point -128.
        return min(max(fp.rdbpot(q0, 31 - 8) - 128, INT8_MIN), INT8_MAX)

    return lut_call(op, graph, table_for(graph, op, logistic))
