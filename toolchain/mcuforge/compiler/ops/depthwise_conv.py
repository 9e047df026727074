"""DEPTHWISE_CONV_2D, int8, with depth multiplier and dilation: TFLM's
``reference_integer_ops::DepthwiseConvPerChannel``."""

from __future__ import annotations

from mcuforge.compiler.ops import int16, mve
from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    check_activation,
    expect_dtypes,
)
from mcuforge.compiler.ops.dsp import conv_call, depthwise_call
from mcuforge.compiler.ops.spatial import (
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

OPCODES = ("DEPTHWISE_CONV_2D",)


def check(op: Operator, graph: Graph) -> list[str]:
    if int16.uses_int16(op, graph):  # 16x8 model
        return int16.check_conv(op, graph)
    problems = expect_dtypes(graph, op, {"in0": "int8", "in1": "int8", "out0": "int8"})
    problems += check_activation(op)
    if problems:
        return problems
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if len(weights.shape) != 4 or weights.shape[0] != 1:
        return [f"weights have shape {list(weights.shape)}, need [1, h, w, channels]"]
    _, fh, fw, oc = weights.shape
    problems += window_problems(op, inp, out, fh, fw)
    if problems:
        return problems
    ic = inp.shape[3]
    if out.shape[3] != oc:
        problems.append(f"weights have {oc} channels but the output has {out.shape[3]}")
    elif oc % ic:
        problems.append(f"{oc} output channels is not a multiple of {ic} input channels")
    else:
        # TFLM's kernel loops over the option's multiplier, so it must agree with the shapes.
        # 0 (also what an absent field reads as) makes it compute nothing: the output would be
        # whatever the arena held (fuzz finding kws gs1-m881).
        declared = int(op.options.get("depth_multiplier", 0))
        if declared != oc // ic:
            problems.append(
                f"depth_multiplier {declared} does not match {ic} -> {oc} channels"
                + (" (TFLM's kernel would compute no output)" if declared == 0 else "")
            )
    problems += weights_problems(weights, oc, quant_axis=3)
    problems += bias_problems(graph, op, oc)
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if int16.uses_int16(op, graph):
        return int16.lower_conv(op, graph)
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    _, fh, fw, oc = weights.shape
    w = window(op, inp, out, fh, fw)
    requant, consts = channel_requant(op, inp, weights, out)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    use_mve = "mve" in ctx.kernel_families and (w.in_c == 1 or fh * fw <= mve.DW_MAX_TAPS)
    if use_mve or "dsp" in ctx.kernel_families:
        assert weights.data is not None
        bias = graph.tensors[bias_arg(op)].data if bias_arg(op) >= 0 else None
        common = dict(input_tensor=op.inputs[0], output_tensor=op.outputs[0], bias=bias,
                      input_zero_point=inp.zero_point, requant=requant,
                      output_offset=out.zero_point, act_min=act_min, act_max=act_max)
        if w.in_c == 1:
            # One input channel: every output channel reads the same pixels, which makes this a
            # plain convolution with oc filters ([1][fh][fw][oc] -> [oc][fh][fw][1]).
            call = (mve.conv_call if use_mve else conv_call)(
                op, w.params(), weights=weights.data.transpose(3, 1, 2, 0), **common)
        else:
            call = (mve.depthwise_call if use_mve else depthwise_call)(
                op, w.params(), weights=weights.data, **common)
        call.overlap = row_overlap(w, inp, out)
        return call
    return KernelCall(
        op=op,
        kernel="mcuforge_depthwise_conv2d_s8",
        source="depthwise_conv",
        params_type="mcuforge_dw_conv_params_t",
        params={
            **w.params(),
            "depth_multiplier": oc // w.in_c,
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
        macs=w.batches * w.out_h * w.out_w * oc * fh * fw,
        overlap=row_overlap(w, inp, out),
    )
