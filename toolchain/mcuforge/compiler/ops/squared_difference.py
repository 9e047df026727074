"""SQUARED_DIFFERENCE, int8 and int16, with broadcasting (up to 6-D).

TFLM (``squared_difference.cc``): the inputs are rescaled like ADD's (double multipliers
``s / (2 * max(s1, s2))`` after a left shift of 7 bits for int8, 0 for int16), subtracted and
squared in int32, and the square goes through ``QuantizeMultiplier((2 max)^2 /
((1 << 2 * left_shift) * s_out))`` -- the denominator a float32 product. int8 zero points must lie
in the int8 range and int16 ones be 0 (its Prepare checks both).
"""

from __future__ import annotations

import math

from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    binary_shape_problems,
    broadcast_params,
)
from mcuforge.compiler.quant import INT_LIMITS, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator, Tensor

OPCODES = ("SQUARED_DIFFERENCE",)
LEFT_SHIFT = {"int8": 7, "int16": 0}


def _real_multipliers(a: Tensor, b: Tensor, out: Tensor) -> tuple[float, float, float]:
    twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
    denominator = float(f32(1 << (2 * LEFT_SHIFT[out.dtype])) * f32(out.scale))
    return (float(f32(a.scale)) / twice_max, float(f32(b.scale)) / twice_max,
            twice_max * twice_max / denominator)


def check(op: Operator, graph: Graph) -> list[str]:
    problems = binary_shape_problems(graph, op)
    if problems:
        return problems
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if out.dtype not in LEFT_SHIFT:
        return [f"output is {out.dtype} (supported: int8, int16)"]
    if a.dtype != out.dtype or b.dtype != out.dtype:
        return [f"inputs are {a.dtype} and {b.dtype}, output {out.dtype}; TFLM needs one type"]
    if any(t.quant is None for t in (a, b, out)):
        return [f"{out.dtype} tensors without quantization parameters"]
    if any(t.quant is not None and t.quant.per_channel for t in (a, b, out)):
        return ["per-channel quantization"]
    if out.dtype == "int16" and any(t.zero_point != 0 for t in (a, b, out)):
        return ["int16 zero points must be 0 (TFLM refuses others)"]
    lo, hi = INT_LIMITS["int8"]
    if out.dtype == "int8" and not all(lo <= t.zero_point <= hi for t in (a, b, out)):
        return ["a zero point is outside the int8 range (TFLM refuses it)"]
    if not all(math.isfinite(t.scale) and t.scale > 0 for t in (a, b, out)):
        return ["a quantization scale is zero, negative or not finite"]
    if quantize_multiplier(_real_multipliers(a, b, out)[2])[1] > 30:
        return [f"output scale {out.scale:.3g} is too small for the inputs' scales"]
    return []


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    (m1, s1), (m2, s2), (mo, so) = (quantize_multiplier(r) for r in _real_multipliers(a, b, out))
    act_min, act_max = INT_LIMITS[out.dtype]
    params = {
        "input1_offset": -a.zero_point,
        "input2_offset": -b.zero_point,
        "output_offset": out.zero_point,
        "left_shift": LEFT_SHIFT[out.dtype],
        "input1_multiplier": m1,
        "input1_shift": s1,
        "input2_multiplier": m2,
        "input2_shift": s2,
        "output_multiplier": mo,
        "output_shift": so,
        "act_min": act_min,
        "act_max": act_max,
        **broadcast_params(a.shape, b.shape, out.shape),
    }
    flat = params["flat_size"] > 0
    suffix = "s8" if out.dtype == "int8" else "s16"
    return KernelCall(
        op=op,
        kernel=f"mcuforge_squared_difference_{suffix}",
        source="squared_difference",
        params_type="mcuforge_squared_difference_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0]), (op.outputs[0], op.inputs[1])] if flat else [],
    )
