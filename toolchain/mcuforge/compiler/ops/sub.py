"""SUB: int8 and int16 quantized, int32 plain, with broadcasting (up to 6-D) and a fused clamp.

TFLM (``sub_common.cc``) rescales like ADD: ``twice_max = 2 * max(s1, s2)`` and the multipliers
``s1 / twice_max``, ``s2 / twice_max``, ``twice_max / ((1 << left_shift) * s_out)`` for
``QuantizeMultiplierSmallerThanOneExp`` (which aborts unless each is in (0, 1)). The source has
gone back and forth between float32 and double quotients there; the tflite-micro interpreter that
is the oracle computes them in double (float32 quotients change about one int16 result in 20000:
``tests/test_ops_arith.py``), and so does this. The left shift is 20 for int8 and 15 for int16
(whose zero points must be 0: TFLM's reference assumes so). int32 SUB takes no quantization:
``a - b`` clamped to the activation's range.
"""

from __future__ import annotations

import math

from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    binary_shape_problems,
    broadcast_params,
    check_activation,
)
from mcuforge.compiler.quant import INT_LIMITS, activation_range, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator, Tensor

OPCODES = ("SUB",)
LEFT_SHIFT = {"int8": 20, "int16": 15}
#: CalculateActivationRange<int32_t>: the activation's float bounds as integers.
INT32_ACTIVATION = {
    "NONE": INT_LIMITS["int32"],
    "RELU": (0, INT_LIMITS["int32"][1]),
    "RELU6": (0, 6),
    "RELU_N1_TO_1": (-1, 1),
}


def _real_multipliers(a: Tensor, b: Tensor, out: Tensor) -> tuple[float, float, float]:
    """The three multipliers, double quotients of the float32 scales."""
    twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
    shifted_out = float(1 << LEFT_SHIFT[out.dtype]) * float(f32(out.scale))
    return (float(f32(a.scale)) / twice_max, float(f32(b.scale)) / twice_max,
            twice_max / shifted_out)


def check(op: Operator, graph: Graph) -> list[str]:
    problems = binary_shape_problems(graph, op)
    if problems:
        return problems
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if out.dtype not in ("int8", "int16", "int32"):
        return [f"output is {out.dtype} (supported: int8, int16, int32)"]
    if a.dtype != out.dtype or b.dtype != out.dtype:
        return [f"inputs are {a.dtype} and {b.dtype}, output {out.dtype}; TFLM needs one type"]
    act = op.options.get("fused_activation_function", "NONE")
    if out.dtype == "int32":
        if any(t.quant is not None for t in (a, b, out)):
            return ["int32 SUB with quantization parameters (TFLM refuses it)"]
        if act not in INT32_ACTIVATION:
            return [f"fused activation {act} (supported: {', '.join(INT32_ACTIVATION)})"]
        return []
    problems = check_activation(op)
    if any(t.quant is None for t in (a, b, out)):
        return problems + [f"{out.dtype} tensors without quantization parameters"]
    if any(t.quant is not None and t.quant.per_channel for t in (a, b, out)):
        problems.append("per-channel quantization")
    if out.dtype == "int16" and any(t.zero_point != 0 for t in (a, b, out)):
        problems.append("int16 zero points must be 0 (TFLM's reference assumes so)")
    if not all(math.isfinite(t.scale) and t.scale > 0 for t in (a, b, out)):
        return problems + ["a quantization scale is zero, negative or not finite"]
    if not all(0.0 < m < 1.0 for m in _real_multipliers(a, b, out)):
        problems.append(f"output scale {out.scale:.3g} is too small for the inputs' scales "
                        "(TFLM rejects this SUB too)")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    act = op.options.get("fused_activation_function", "NONE")
    if out.dtype == "int32":
        act_min, act_max = INT32_ACTIVATION[act]
        quant = dict.fromkeys(
            ("input1_offset", "input2_offset", "output_offset", "left_shift",
             "input1_multiplier", "input1_shift", "input2_multiplier", "input2_shift",
             "output_multiplier", "output_shift"), 0)
    else:
        (m1, s1), (m2, s2), (mo, so) = (
            quantize_multiplier(r) for r in _real_multipliers(a, b, out))
        act_min, act_max = activation_range(act, out)
        quant = {
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
        }
    params = {**quant, "act_min": act_min, "act_max": act_max,
              **broadcast_params(a.shape, b.shape, out.shape)}
    flat = params["flat_size"] > 0
    suffix = {"int8": "s8", "int16": "s16", "int32": "s32"}[out.dtype]
    return KernelCall(
        op=op,
        kernel=f"mcuforge_sub_{suffix}",
        source="sub",
        params_type="mcuforge_sub_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0]), (op.outputs[0], op.inputs[1])] if flat else [],
    )
