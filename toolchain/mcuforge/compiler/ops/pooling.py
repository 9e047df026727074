"""AVERAGE_POOL_2D and MAX_POOL_2D, int8 and int16 (16x8 models): TFLM's
``reference_integer_ops`` pooling.

Pooling does not requantize: TFLM requires the output to share the input's scale (within 1e-6)
and zero point, and works on the raw integer values.
"""

from __future__ import annotations

from mcuforge.compiler.ops import int16
from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    check_activation,
    expect_dtypes,
)
from mcuforge.compiler.ops.spatial import row_overlap, window, window_problems
from mcuforge.compiler.quant import activation_range, f32
from mcuforge.model.ir import Graph, Operator

OPCODES = ("AVERAGE_POOL_2D", "MAX_POOL_2D")

_KERNELS = {"AVERAGE_POOL_2D": "mcuforge_avg_pool2d_s", "MAX_POOL_2D": "mcuforge_max_pool2d_s"}


def check(op: Operator, graph: Graph) -> list[str]:
    dtype = "int16" if int16.uses_int16(op, graph) else "int8"  # 16x8 models pool int16
    problems = expect_dtypes(graph, op, {"in0": dtype, "out0": dtype})
    if dtype == "int16" and not problems:
        problems += int16._symmetric(graph, op, {"input": op.inputs[0], "output": op.outputs[0]})
    problems += check_activation(op)
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    fh, fw = int(op.options.get("filter_height", 0)), int(op.options.get("filter_width", 0))
    problems += window_problems(op, inp, out, fh, fw)
    if not problems and inp.shape[3] != out.shape[3]:
        problems.append(f"{inp.shape[3]} input channels, {out.shape[3]} output channels")
    # PoolingPrepare: |in_scale - out_scale| <= 1e-6 (as doubles of the float32 scales) and
    # equal zero points, or TFLM refuses the model.
    if abs(float(f32(inp.scale)) - float(f32(out.scale))) > 1e-6:
        problems.append(f"output scale {out.scale:g} differs from the input scale {inp.scale:g}")
    if inp.zero_point != out.zero_point:
        problems.append(
            f"output zero point {out.zero_point} differs from the input's {inp.zero_point}"
        )
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    fh, fw = int(op.options["filter_height"]), int(op.options["filter_width"])
    w = window(op, inp, out, fh, fw)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    params = w.params()
    # Pools have no dilation and keep the depth: drop what the kernel does not read.
    for key in ("dilation_h", "dilation_w", "output_c"):
        params.pop(key)
    params.update({"act_min": act_min, "act_max": act_max})
    return KernelCall(
        op=op,
        kernel=_KERNELS[op.opcode] + ("16" if inp.dtype == "int16" else "8"),
        source="pooling",
        params_type="mcuforge_pool_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        overlap=row_overlap(w, inp, out),
    )
