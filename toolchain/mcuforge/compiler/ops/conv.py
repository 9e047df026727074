"""CONV_2D, int8 activations, int8 weights (per-tensor or per-channel), optional int32 bias:
TFLM's ``reference_integer_ops::ConvPerChannel``."""

from __future__ import annotations

from mcuforge.compiler.ops import int16, mve
from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    check_activation,
    expect_dtypes,
)
from mcuforge.compiler.ops.dsp import conv_call, matmul_call
from mcuforge.compiler.ops.spatial import (
    Window,
    bias_arg,
    bias_problems,
    channel_requant,
    row_overlap,
    weights_problems,
    window,
    window_problems,
)
from mcuforge.compiler.quant import activation_range
from mcuforge.model.ir import Graph, Operator

OPCODES = ("CONV_2D",)


def check(op: Operator, graph: Graph) -> list[str]:
    if int16.uses_int16(op, graph):  # 16x8 model
        return int16.check_conv(op, graph)
    problems = expect_dtypes(graph, op, {"in0": "int8", "in1": "int8", "out0": "int8"})
    problems += check_activation(op)
    if problems:
        return problems
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if len(weights.shape) != 4:
        return [f"weights have shape {list(weights.shape)}, need 4-D [out, h, w, in]"]
    oc, fh, fw, fc = weights.shape
    problems += window_problems(op, inp, out, fh, fw)
    if problems:
        return problems
    ic = inp.shape[3]
    if fc != ic:
        if fc > 0 and ic % fc == 0:
            problems.append(
                f"grouped convolution ({ic // fc} groups: {ic} input channels, weights {fc} deep) "
                "is not supported"
            )
        else:
            problems.append(f"weights are {fc} deep for {ic} input channels")
    if out.shape[3] != oc:
        problems.append(f"{oc} filters but {out.shape[3]} output channels")
    problems += weights_problems(weights, oc, quant_axis=0)
    problems += bias_problems(graph, op, oc)
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int16.uses_int16(op, graph):
        return int16.lower_conv(op, graph)
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    oc, fh, fw, fc = weights.shape
    w = window(op, inp, out, fh, fw)
    requant, consts = channel_requant(op, inp, weights, out)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    if "mve" in ctx.kernel_families:
        return mve.conv_op_call(op, graph, w, requant, act_min, act_max)
    if "dsp" in ctx.kernel_families:
        return _lower_dsp(op, graph, w, requant, consts, act_min, act_max)
    return KernelCall(
        op=op,
        kernel="mcuforge_conv2d_s8",
        source="conv",
        params_type="mcuforge_conv_params_t",
        params={
            **w.params(),
            "input_offset": -inp.zero_point,
            "output_offset": out.zero_point,
            "act_min": act_min,
            "act_max": act_max,
            **requant,
        },
        args=[
            TensorArg(op.inputs[0]),
            TensorArg(op.inputs[1]),
            TensorArg(bias_arg(op)),
            TensorArg(op.outputs[0], True),
        ],
        consts=consts,
        macs=w.batches * w.out_h * w.out_w * oc * fh * fw * fc,
        overlap=row_overlap(w, inp, out),
    )


def _lower_dsp(op: Operator, graph: Graph, w: Window, requant: dict, consts: list,
               act_min: int, act_max: int) -> KernelCall:
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    assert weights.data is not None
    bias = graph.tensors[bias_arg(op)].data if bias_arg(op) >= 0 else None
    if _one_pixel_over_all_input(w):
        # Its one patch is the whole input, as it lies in memory: a matrix-vector product per
        # batch. The matrix kernel's four-row blocking then beats the im2col kernel, which
        # has no second pixel to pair (streaming models' pointwise layers: 2.4 -> 1.x per MAC).
        return matmul_call(
            op, input_tensor=op.inputs[0], output_tensor=op.outputs[0], weights=weights.data,
            bias=bias, input_zero_point=inp.zero_point, batches=w.batches, requant=requant,
            output_offset=out.zero_point, act_min=act_min, act_max=act_max)
    # Every other convolution, 1x1 included, goes through the im2col kernel: its two-pixel
    # blocking extends each weight once per pixel pair, which beats the matrix kernel's rows.
    call = conv_call(
        op, w.params(), input_tensor=op.inputs[0], output_tensor=op.outputs[0],
        weights=weights.data, bias=bias, input_zero_point=inp.zero_point, requant=requant,
        output_offset=out.zero_point, act_min=act_min, act_max=act_max,
    )
    call.overlap = row_overlap(w, inp, out)
    return call


def _one_pixel_over_all_input(w: Window) -> bool:
    """One output pixel whose window is the whole unpadded input (undilated, or 1x1), with a
    full block of the matrix kernel's four rows: a classifier's last 1x1 layer over two
    classes (person_detect) gains 450 instructions and would cost the matrix kernel's code."""
    return (w.out_h == w.out_w == 1 and w.out_c >= 4
            and w.filter_h == w.in_h and w.filter_w == w.in_w and w.pad_h == w.pad_w == 0
            and (w.dilation_h == 1 or w.filter_h == 1)
            and (w.dilation_w == 1 or w.filter_w == 1))
