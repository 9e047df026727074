"""FULLY_CONNECTED, int8 activations, int8 weights (per-tensor or per-channel), int32 bias."""

from __future__ import annotations

import numpy as np

from mcuforge.compiler.ops import int16, mve
from mcuforge.compiler.ops.base import (
    ConstArray,
    KernelCall,
    LowerContext,
    TensorArg,
    check_activation,
    expect_dtypes,
)
from mcuforge.compiler.ops.dsp import matmul_call
from mcuforge.compiler.quant import activation_range, conv_multipliers
from mcuforge.model.ir import Graph, Operator

OPCODES = ("FULLY_CONNECTED",)


def check(op: Operator, graph: Graph) -> list[str]:
    if int16.uses_int16(op, graph):  # 16x8 model
        return int16.check_fully_connected(op, graph)
    problems = expect_dtypes(graph, op, {"in0": "int8", "in1": "int8", "out0": "int8"})
    problems += check_activation(op)
    if problems:
        return problems
    weights = graph.tensors[op.inputs[1]]
    if not weights.is_const:
        problems.append("weights are not constant")
    if len(weights.shape) != 2:
        problems.append(f"weights have shape {list(weights.shape)}, need 2-D")
    if op.options.get("weights_format", 0) != 0:
        problems.append("shuffled weights format")
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        bias = graph.tensors[op.inputs[2]]
        if bias.dtype != "int32" or not bias.is_const:
            problems.append(f"bias must be constant int32, is {bias.dtype}")
    if weights.quant and weights.quant.per_channel and len(weights.quant.scale) != weights.shape[0]:
        problems.append("per-channel scales do not match the output channels")
    if not problems and graph.tensors[op.inputs[0]].size % weights.shape[1]:
        problems.append("input size is not a multiple of the weights' depth")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int16.uses_int16(op, graph):
        return int16.lower_fully_connected(op, graph)
    inp, weights, out = (
        graph.tensors[op.inputs[0]],
        graph.tensors[op.inputs[1]],
        graph.tensors[op.outputs[0]],
    )
    has_bias = len(op.inputs) > 2 and op.inputs[2] >= 0
    output_depth, accum_depth = weights.shape
    batches = inp.size // accum_depth
    mults, shifts = conv_multipliers(inp, weights, out)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    name = f"op{op.index}"
    mult = ConstArray(f"{name}_mult", np.array(mults, dtype=np.int32))
    shift = ConstArray(f"{name}_shift", np.array(shifts, dtype=np.int32))
    assert weights.quant is not None and weights.data is not None
    families = ctx.kernel_families
    if ("mve" in families or "dsp" in families) and weights.zero_point == 0:
        return (mve.matmul_call if "mve" in families else matmul_call)(
            op,
            input_tensor=op.inputs[0],
            output_tensor=op.outputs[0],
            weights=weights.data,
            bias=graph.tensors[op.inputs[2]].data if has_bias else None,
            input_zero_point=inp.zero_point,
            batches=batches,
            requant={"per_channel": int(weights.quant.per_channel), "multiplier": mult,
                     "shift": shift},
            output_offset=out.zero_point,
            act_min=act_min,
            act_max=act_max,
        )
    return KernelCall(
        op=op,
        kernel="mcuforge_fully_connected_s8",
        source="fully_connected",
        params_type="mcuforge_fc_params_t",
        params={
            "batches": batches,
            "accum_depth": accum_depth,
            "output_depth": output_depth,
            "input_offset": -inp.zero_point,
            "filter_offset": -weights.zero_point,
            "output_offset": out.zero_point,
            "act_min": act_min,
            "act_max": act_max,
            "per_channel": int(weights.quant.per_channel),
            "multiplier": mult,
            "shift": shift,
        },
        args=[
            TensorArg(op.inputs[0]),
            TensorArg(op.inputs[1]),
            TensorArg(op.inputs[2] if has_bias else -1),
            TensorArg(op.outputs[0], True),
        ],
        consts=[mult, shift],
        macs=batches * accum_depth * output_depth,
    )
