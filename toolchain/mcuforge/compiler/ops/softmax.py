"""SOFTMAX, int8 -> int8 over the last axis: TFLM's gemmlowp fixed-point path.

TFLM (``softmax_common.cc`` + ``reference/softmax.h``) takes this path for int8 input and int8
output: no lookup table (the LUTs are only built for int16 input), exp() in gemmlowp fixed point
on Q5.26 differences from the row maximum, a Q12.19 sum, a Newton-Raphson reciprocal. The
parameters below are TFLM's Prepare-time values, computed in double as it does.
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.compiler.fixedpoint import input_radius
from mcuforge.compiler.ops import int16
from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg, expect_dtypes
from mcuforge.compiler.quant import f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("SOFTMAX",)

SCALED_DIFF_INTEGER_BITS = 5
#: The Q12.19 sum of exps overflows beyond 4095 classes (each exp is at most 1.0).
MAX_DEPTH = (1 << 12) - 1
#: PreprocessSoftmaxScaling caps the multiplier (double-rounding build).
MAX_REAL_MULTIPLIER = float((1 << 31) - 1)


def _scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) as TFLM's SoftmaxPrepare computes them.

    PreprocessSoftmaxScaling: ``min(beta * input_scale * 2**26, 2**31 - 1)`` in double (beta
    and the scale are float32 promoted to double), quantized as a multiplier > 1; diff_min is
    minus CalculateInputRadius(5, left_shift).
    """
    real = min(
        float(f32(beta)) * float(f32(input_scale)) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
        MAX_REAL_MULTIPLIER,
    )
    multiplier, shift = quantize_multiplier(real)
    diff_min = -input_radius(SCALED_DIFF_INTEGER_BITS, shift)
    return multiplier, shift, diff_min


def check(op: Operator, graph: Graph) -> list[str]:
    if int16.uses_int16(op, graph):  # 16x8 model
        return int16.check_softmax(op, graph)
    inp = graph.tensors[op.inputs[0]] if op.inputs else None
    out = graph.tensors[op.outputs[0]] if op.outputs else None
    if out is not None and out.dtype == "int16":
        return [f"softmax from {inp.dtype if inp else '?'} to int16 is not supported: int8 -> "
                "int8 and int16 -> int16"]
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    assert inp is not None and out is not None
    if inp.quant.per_channel:  # type: ignore[union-attr]
        problems.append("per-channel quantized input")
    # TFLM's Prepare rejects any other output quantization for int8 softmax.
    if out.zero_point != -128 or f32(out.scale) != np.float32(1.0 / 256):
        problems.append(
            f"output quantization is scale {out.scale:g}, zero point {out.zero_point}; "
            "int8 softmax needs scale 1/256 and zero point -128"
        )
    if not inp.shape:
        problems.append("input is a scalar; softmax needs at least one dimension")
    elif inp.shape[-1] > MAX_DEPTH:
        problems.append(
            f"softmax over {inp.shape[-1]} values: the fixed-point sum overflows beyond "
            f"{MAX_DEPTH}"
        )
    beta = float(op.options.get("beta", 1.0))
    real = float(f32(beta)) * float(f32(inp.scale)) * float(1 << 26)
    if not math.isfinite(real) or real <= 1.0:
        problems.append(
            f"beta * input scale = {beta * inp.scale:g} is too small (TFLM needs it above 2^-26)"
        )
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int16.uses_int16(op, graph):
        return int16.lower_softmax(op, graph)
    inp = graph.tensors[op.inputs[0]]
    depth = inp.shape[-1]
    multiplier, shift, diff_min = _scaling(float(op.options.get("beta", 1.0)), inp.scale)
    return KernelCall(
        op=op,
        kernel="mcuforge_softmax_s8",
        source="softmax",
        params_type="mcuforge_softmax_params_t",
        params={
            "outer_size": inp.size // depth,
            "depth": depth,
            "input_multiplier": multiplier,
            "input_left_shift": shift,
            "diff_min": diff_min,
        },
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )
