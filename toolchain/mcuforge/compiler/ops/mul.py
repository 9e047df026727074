"""MUL, int8, with broadcasting (up to 6-D) and a fused clamp activation.

TFLM (``mul_common.cc`` + ``reference/integer_ops/mul.h``): one multiplier
``double(s1) * double(s2) / double(s_out)`` applied to ``(x1 - zp1) * (x2 - zp2)``.
"""

from __future__ import annotations

import numpy as np

from mcuforge.compiler.ops import int16, int_arith, mve
from mcuforge.compiler.ops.base import (
    ConstArray,
    KernelCall,
    LowerContext,
    TensorArg,
    binary_int8_problems,
    broadcast_params,
)
from mcuforge.compiler.quant import activation_range, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("MUL",)


def check(op: Operator, graph: Graph) -> list[str]:
    if int_arith.handles(op, graph):
        return int_arith.check(op, graph)
    # --- 16x8 (quantized int16) dispatch: compiler/ops/int16.py ---
    if int16.uses_int16(op, graph) and graph.tensors[op.inputs[0]].quant is not None:
        return int16.check_binary(op, graph)
    return binary_int8_problems(op, graph)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int_arith.handles(op, graph):
        return int_arith.lower(op, graph, ctx)
    # --- 16x8 (quantized int16) dispatch: compiler/ops/int16.py ---
    if int16.uses_int16(op, graph) and graph.tensors[op.inputs[0]].quant is not None:
        return int16.lower_binary(op, graph)
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    real = float(f32(a.scale)) * float(f32(b.scale)) / float(f32(out.scale))
    mult, shift = quantize_multiplier(real)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    params = {
        "input1_offset": -a.zero_point,
        "input2_offset": -b.zero_point,
        "output_offset": out.zero_point,
        "output_multiplier": mult,
        "output_shift": shift,
        "act_min": act_min,
        "act_max": act_max,
        **broadcast_params(a.shape, b.shape, out.shape),
    }
    flat = params["flat_size"] > 0
    inplace = [(op.outputs[0], op.inputs[0]), (op.outputs[0], op.inputs[1])] if flat else []
    if "mve" in ctx.kernel_families and flat:
        requant = {"multiplier": ConstArray("", np.array([mult], np.int32)),
                   "shift": ConstArray("", np.array([shift], np.int32))}
        return mve.eltwise_call(op, mul=True, requant=requant, params=params, tables=[],
                                inplace=inplace)
    return KernelCall(
        op=op,
        kernel="mcuforge_mul_s8",
        source="mul",
        params_type="mcuforge_mul_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=inplace,
    )
