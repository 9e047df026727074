"""HARD_SWISH, int8: a 256-entry table holding TFLM's fixed-point result for every input.

TFLM (``hard_swish_common.cc`` + ``reference_ops::HardSwish``) works in int16: the input on a
"hires" scale (x 128), a "reluish" factor relu6(x + 3) / 6 rescaled into [0, 1] in Q0.15, and
the product rescaled to the output, each multiplier cut to 16 bits
(``DownScaleInt32ToInt16Multiplier``). The compiler runs that arithmetic for all 256 inputs.
"""

from __future__ import annotations

import math

from mcuforge.compiler import fixedpoint as fp
from mcuforge.compiler.ops.base import KernelCall, LowerContext, expect_dtypes
from mcuforge.compiler.ops.logistic import lut_call, table_for
from mcuforge.compiler.quant import INT8_MAX, INT8_MIN, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("HARD_SWISH",)
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


def wrap16(x: int) -> int:
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def srdhm16(a: int, b: int) -> int:
    """gemmlowp's int16 SaturatingRoundingDoublingHighMul."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    v = ab + ((1 << 14) if ab >= 0 else 1 - (1 << 14))
    return v >> 15 if v >= 0 else -((-v) >> 15)


def doubling_high_mul16(a: int, b: int) -> int:
    """TFLM's non-rounding SaturatingDoublingHighMul (truncating division by 2**15)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    return wrap16(ab >> 15 if ab >= 0 else -((-ab) >> 15))


def sat_left_shift16(x: int, amount: int) -> int:
    return max(INT16_MIN, min(INT16_MAX, x * (1 << amount)))


def downscale16(multiplier: int) -> int:
    """DownScaleInt32ToInt16Multiplier."""
    if multiplier >= (1 << 31) - 1 - (1 << 15):
        return INT16_MAX
    return (multiplier + (1 << 15)) >> 16


def multipliers(input_scale: float, output_scale: float) -> tuple[int, int, int, int]:
    """(output multiplier, exponent, reluish multiplier, exponent) as TFLM's Prepare computes
    them: the scale ratios in float32, then QuantizeMultiplier and the cut to 16 bits."""
    hires = f32(1.0 / 128.0) * f32(input_scale)
    out_m, out_e = quantize_multiplier(float(f32(hires / f32(output_scale))))
    relu_m, relu_e = quantize_multiplier(float(f32(hires / f32(3.0 / 32768.0))))
    return downscale16(out_m), out_e, downscale16(relu_m), relu_e


def check(op: Operator, graph: Graph) -> list[str]:
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.shape != out.shape:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}, input tensor "
                        f"{inp.index} {list(inp.shape)}")
    scales = (float(f32(inp.scale)), float(f32(out.scale)))
    if not all(math.isfinite(s) and s > 0 for s in scales):
        return problems + ["a quantization scale is zero, negative or not finite"]
    if multipliers(*scales)[1] > 0:
        problems.append(f"output scale {out.scale:g} is below input scale / 128 (TFLM rejects "
                        "this HARD_SWISH)")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    out_m, out_e, relu_m, relu_e = multipliers(inp.scale, out.scale)

    def hard_swish(value: int) -> int:  # value = input - zero point
        hires = wrap16(value * (1 << 7))
        preshift = srdhm16(hires, out_m)
        reluish = hires
        if relu_e > 0:
            reluish = sat_left_shift16(reluish, relu_e - 1)
        reluish = srdhm16(reluish, relu_m)
        if relu_e > 0:
            reluish = sat_left_shift16(reluish, 1)
        if relu_e < 0:
            reluish = fp.rdbpot(reluish, -relu_e)
        reluish = wrap16((reluish + (1 << 15)) >> 1)
        result = fp.rdbpot(doubling_high_mul16(reluish, preshift), -out_e)
        result = wrap16(result + out.zero_point)
        return min(max(result, INT8_MIN), INT8_MAX)

    return lut_call(op, graph, table_for(graph, op, hard_swish))
