"""RSQRT, int8: a 256-entry table holding TFLM's fixed-point result for every input.

TFLM (``elementwise.cc``): ``x - zp`` of 0 gives 127; otherwise ``GetInvSqrtQuantizedMultiplierExp``
(a Newton-Raphson iteration in gemmlowp fixed point with 3 integer bits) turns it into a
multiplier and shift, applied to 1 with 20 extra bits, then requantized by
``1 / (sqrt(input_scale) * output_scale)``. Inputs below the zero point make TFLM's invoke fail
("only defined for positive values"); their table entries are 127 and never compared.
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.compiler import fixedpoint as fp
from mcuforge.compiler.ops.base import KernelCall, LowerContext, expect_dtypes
from mcuforge.compiler.ops.logistic import lut_call, table_for
from mcuforge.compiler.quant import INT8_MAX, INT8_MIN, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("RSQRT",)
SHIFT = 20  # kShift: keeps the intermediate an integer


def inv_sqrt_multiplier_exp(value: int) -> tuple[int, int]:
    """TFLM's GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1)."""
    if value <= 1:
        return fp.INT32_MAX, 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    max_left_shift_bits = (32 - value.bit_length()) - 1
    pairs = max_left_shift_bits // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    x_in = value >> 1  # F3
    half_in = fp.rdbpot(x_in, 1)
    half_three = (1 << 28) + (1 << 27)  # 1.5 in F3
    x = 1 << 28  # 1.0 in F3
    for _ in range(5):
        x3 = fp.sat_shl(fp.srdhm(fp.srdhm(x, x), x), 6)  # F9 -> F3
        diff = fp.wrap32(fp.srdhm(half_three, x) - fp.srdhm(half_in, x3))  # F6
        x = fp.sat_shl(diff, 3)  # F6 -> F3
    x = fp.srdhm(x, 1518500250)  # * sqrt(2) / 2
    if shift < 0:
        x = fp.wrap32(x << -shift)
        shift = 0
    return x, -shift


def check(op: Operator, graph: Graph) -> list[str]:
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.shape != out.shape:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}, input tensor "
                        f"{inp.index} {list(inp.shape)}")
    if not all(math.isfinite(s) and s > 0 for s in (inp.scale, out.scale)):
        problems.append("a quantization scale is zero, negative or not finite")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    root = np.sqrt(f32(inp.scale), dtype=np.float32)
    mult, shift = quantize_multiplier(1.0 / float(f32(root * f32(out.scale))))

    def rsqrt(value: int) -> int:  # value = input - zero point
        if value <= 0:
            return INT8_MAX
        inv_m, inv_s = inv_sqrt_multiplier_exp(value)
        data = fp.mbqm(1, inv_m, inv_s + SHIFT)
        result = fp.mbqm(data, mult, shift - SHIFT) + out.zero_point
        return min(max(result, INT8_MIN), INT8_MAX)

    return lut_call(op, graph, table_for(graph, op, rsqrt))
