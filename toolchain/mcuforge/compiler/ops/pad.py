"""PAD and PADV2, int8, up to 5-D: TFLM's ``reference_ops::Pad``.

The pad value is the output zero point (PAD) or the constant scalar (PADV2), used as the raw int8
value exactly as TFLM does; input values are copied unchanged (no requantization).
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg, expect_dtypes
from mcuforge.compiler.quant import f32
from mcuforge.model.ir import Graph, Operator

OPCODES = ("PAD", "PADV2")
MAX_DIMS = 5  # TFLM's PadKernelMaxDimensionCount


def _paddings(graph: Graph, op: Operator) -> list[tuple[int, int]]:
    data = graph.tensors[op.inputs[1]].data
    assert data is not None
    flat = [int(v) for v in data.reshape(-1)]
    return [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]


def check(op: Operator, graph: Graph) -> list[str]:
    problems = expect_dtypes(graph, op, {"in0": "int8", "out0": "int8"})
    if problems:
        return problems
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return ["missing the paddings input"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    pads = graph.tensors[op.inputs[1]]
    rank = len(out.shape)
    if len(inp.shape) > MAX_DIMS:
        problems.append(f"input has {len(inp.shape)} dimensions (at most {MAX_DIMS})")
    if len(inp.shape) != rank:
        problems.append(f"input is {len(inp.shape)}-D, output {rank}-D")
    if pads.dtype != "int32":
        problems.append(f"paddings are {pads.dtype}, need int32")
    if not pads.is_const:
        problems.append("paddings are not constant")
    if problems:
        return problems
    if pads.size != 2 * rank:
        return [f"{pads.size} padding values for a {rank}-D tensor (need {2 * rank})"]
    for axis, ((before, after), i, o) in enumerate(
        zip(_paddings(graph, op), inp.shape, out.shape, strict=True)
    ):
        if before < 0 or after < 0:
            problems.append(f"negative padding ({before}, {after}) on axis {axis}")
        elif i + before + after != o:
            problems.append(f"axis {axis}: {i} + {before} + {after} != output size {o}")
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        value = graph.tensors[op.inputs[2]]
        if value.dtype != "int8" or not value.is_const or value.size != 1:
            problems.append("the pad value must be a constant int8 scalar")
        elif value.quant is None or (
            value.zero_point != out.zero_point or float(f32(value.scale)) != float(f32(out.scale))
        ):
            # PadPrepare insists on the output's quantization for the constant.
            problems.append("the pad value is not quantized like the output")
    elif not -128 <= out.zero_point <= 127:
        problems.append(f"output zero point {out.zero_point} is outside int8")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        data = graph.tensors[op.inputs[2]].data
        assert data is not None
        value = int(data.reshape(-1)[0])
    else:
        value = out.zero_point
    # Left-extend to 5-D with size-1, unpadded axes: the kernel has one fixed loop nest.
    extra = MAX_DIMS - len(inp.shape)
    pads = [(0, 0)] * extra + _paddings(graph, op)
    return KernelCall(
        op=op,
        kernel="mcuforge_pad_s8",
        source="pad",
        params_type="mcuforge_pad_params_t",
        params={
            "in_dims": [1] * extra + list(inp.shape),
            "out_dims": [1] * extra + list(out.shape),
            "before": [b for b, _ in pads],
            "pad_value": value,
        },
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
    )
