"""ADD, int8, with broadcasting: TFLM's 8-bit general rescaling path (left shift 20)."""

from __future__ import annotations

import numpy as np

from mcuforge.compiler.fixedpoint import mbqm
from mcuforge.compiler.ops import int16, int_arith, mve
from mcuforge.compiler.ops.base import (
    ConstArray,
    KernelCall,
    LowerContext,
    TensorArg,
    binary_int8_problems,
    broadcast_params,
)
from mcuforge.compiler.ops.dsp import add_call
from mcuforge.compiler.quant import activation_range, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("ADD",)
LEFT_SHIFT = 20


def check(op: Operator, graph: Graph) -> list[str]:
    if int_arith.handles(op, graph):
        return int_arith.check(op, graph)
    # --- 16x8 (quantized int16) dispatch: compiler/ops/int16.py ---
    if int16.uses_int16(op, graph) and graph.tensors[op.inputs[0]].quant is not None:
        return int16.check_binary(op, graph)
    problems = binary_int8_problems(op, graph)
    if not problems:
        a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
        twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
        if not twice_max / ((1 << LEFT_SHIFT) * float(f32(out.scale))) < 1.0:
            # TFLM's Prepare aborts on this (QuantizeMultiplierSmallerThanOneExp).
            problems.append(f"output scale {out.scale:.3g} is too small for the inputs' scales "
                            "(TFLM rejects this ADD too)")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int_arith.handles(op, graph):
        return int_arith.lower(op, graph, ctx)
    # --- 16x8 (quantized int16) dispatch: compiler/ops/int16.py ---
    if int16.uses_int16(op, graph) and graph.tensors[op.inputs[0]].quant is not None:
        return int16.lower_binary(op, graph)
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
    m1, s1 = quantize_multiplier(float(f32(a.scale)) / twice_max)
    m2, s2 = quantize_multiplier(float(f32(b.scale)) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << LEFT_SHIFT) * float(f32(out.scale))))
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    params = {
        "input1_offset": -a.zero_point,
        "input2_offset": -b.zero_point,
        "output_offset": out.zero_point,
        "left_shift": LEFT_SHIFT,
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
    inplace = [(op.outputs[0], op.inputs[0]), (op.outputs[0], op.inputs[1])] if flat else []
    if "mve" in ctx.kernel_families and flat:
        requant = {"multiplier": ConstArray("", np.array([mo], np.int32)),
                   "shift": ConstArray("", np.array([so], np.int32))}
        return mve.eltwise_call(op, mul=False, requant=requant, params=params,
                                tables=_input_tables(op, params), inplace=inplace)
    if "dsp" in ctx.kernel_families and flat:
        call = add_call(op, _input_tables(op, params), params, inplace)
        if call is not None:
            return call
    if "fast" in ctx.kernel_families:
        return _lower_lut(op, params, inplace)
    return KernelCall(
        op=op,
        kernel="mcuforge_add_s8",
        source="add",
        params_type="mcuforge_add_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=inplace,
    )


def _input_tables(op: Operator, params: dict) -> list[ConstArray]:
    """Each input's rescaled value for all 256 int8 inputs, computed with the reference's own
    integer arithmetic (the table-driven kernels' tables)."""
    values = np.arange(-128, 128)
    tables = []
    for i in (1, 2):
        offset, mult, shift = (params[f"input{i}_offset"], params[f"input{i}_multiplier"],
                               params[f"input{i}_shift"])
        tables.append(ConstArray(f"op{op.index}_table{i}", np.array(
            [mbqm((int(x) + offset) << LEFT_SHIFT, mult, shift) for x in values], dtype=np.int32)))
    return tables


def _lower_lut(op: Operator, params: dict, inplace: list[tuple[int, int]]) -> KernelCall:
    """The table-driven kernel (portable)."""
    tables = _input_tables(op, params)
    keys = ("output_multiplier", "output_shift", "output_offset", "act_min", "act_max",
            "flat_size", "dims", "strides1", "strides2")
    return KernelCall(
        op=op,
        kernel="mcuforge_add_s8_lut",
        source="add",
        family="fast",
        params_type="mcuforge_add_lut_params_t",
        params={"table1": tables[0], "table2": tables[1], **{k: params[k] for k in keys}},
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        consts=tables,
        inplace=inplace,
    )
