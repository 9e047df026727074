"""RELU, RELU6 and LEAKY_RELU, int8, as TFLM's micro kernels compute them.

They are not alike in TFLM, and mcuforge follows it:

* RELU requantizes (``ReluQuantized``): ``zp_out + MBQM(x - zp_in, in_scale / out_scale)``,
  clamped below at ``max(-128, zp_out + roundf(0 / out_scale))``.
* RELU6 does not (``Relu6Quantized``): it clamps the raw input to ``[zp_in, q(6)]`` with
  ``q(6) = clamp(round(6.0f / in_scale) + zp_in)`` in the *input* quantization and copies it.
  The output's quantization parameters are ignored although the converter gives the output its
  own calibrated scale and zero point, so TFLM's int8 RELU6 output is off by that difference;
  bit-exactness means mcuforge reproduces it.
* LEAKY_RELU requantizes with two multipliers: ``in_scale / out_scale`` (computed in float32)
  for x >= zp_in and ``in_scale * alpha / out_scale`` (float32, left to right) below.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg, expect_dtypes
from mcuforge.compiler.quant import INT8_MAX, INT8_MIN, f32, quantize_multiplier, round_away
from mcuforge.model.ir import Graph, Operator

OPCODES = ("RELU", "RELU6", "LEAKY_RELU")


def check(op: Operator, graph: Graph) -> list[str]:
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.quant.per_channel or out.quant.per_channel:  # type: ignore[union-attr]
        problems.append("per-channel quantized input or output")
    if not all(math.isfinite(s) and s > 0 for s in (inp.scale, out.scale)):
        return problems + ["a quantization scale is zero, negative or not finite"]
    if op.opcode == "LEAKY_RELU":
        _, _, alpha_mult, _, _ = _leaky_multipliers(op, graph)
        if alpha_mult == 1 << 31:
            problems.append("alpha * input_scale / output_scale rounds to -1.0 exactly")
    return problems


def _leaky_multipliers(op: Operator, graph: Graph) -> tuple[int, int, int, int, int]:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    s_in, s_out = f32(inp.scale), f32(out.scale)
    alpha = f32(op.options.get("alpha", 0.2))
    # float32 products and quotients, promoted to double only for QuantizeMultiplier.
    identity_m, identity_s = quantize_multiplier(float(s_in / s_out))
    alpha_m, alpha_s = quantize_multiplier(float((s_in * alpha) / s_out))
    # TFLM applies a negative alpha multiplier as its magnitude, then negates the result.
    return identity_m, identity_s, abs(alpha_m), alpha_s, int(alpha_m < 0)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    params: dict[str, Any] = {"size": inp.size}
    if op.opcode == "RELU":
        mult, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
        zero = round_away(float(np.float32(0.0) / f32(out.scale)))
        params |= {
            "input_zero_point": inp.zero_point,
            "output_zero_point": out.zero_point,
            "output_multiplier": mult,
            "output_shift": shift,
            "act_min": max(INT8_MIN, out.zero_point + zero),
            "act_max": INT8_MAX,
        }
        kernel, ptype = "mcuforge_relu_s8", "mcuforge_relu_params_t"
    elif op.opcode == "RELU6":
        # FloatToQuantizedType<int8_t>(6.0f, scale, zp): round(6.0f / scale) + zp, clamped.
        six = round_away(float(np.float32(6.0) / f32(inp.scale))) + inp.zero_point
        params |= {"lower": inp.zero_point, "upper": min(max(six, INT8_MIN), INT8_MAX)}
        kernel, ptype = "mcuforge_relu6_s8", "mcuforge_relu6_params_t"
    else:
        identity_m, identity_s, alpha_m, alpha_s, alpha_negative = _leaky_multipliers(op, graph)
        params |= {
            "input_zero_point": inp.zero_point,
            "output_zero_point": out.zero_point,
            "identity_multiplier": identity_m,
            "identity_shift": identity_s,
            "alpha_multiplier": alpha_m,
            "alpha_shift": alpha_s,
            "alpha_negative": alpha_negative,
        }
        kernel, ptype = "mcuforge_leaky_relu_s8", "mcuforge_leaky_relu_params_t"
    return KernelCall(
        op=op,
        kernel=kernel,
        source="relu",
        params_type=ptype,
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )
