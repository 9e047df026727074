"""TRANSPOSE_CONV, int8 activations, int8 weights (per-tensor or per-channel), optional int32
bias: TFLM's ``reference_integer_ops::TransposeConv``.

Inputs are (output shape, weights [out_c, h, w, in_c], input, bias). TFLM derives the padding
with ``ComputePaddingHeightWidth`` from the *output* size, as if the op were the forward
convolution from output to input; the check insists that this forward convolution gives the
input's size, so the output shape is the one the input and options imply.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    check_activation,
    expect_dtypes,
)
from mcuforge.compiler.ops.spatial import (
    PADDINGS,
    channel_requant,
    leading_pad,
    out_size,
    weights_problems,
)
from mcuforge.compiler.quant import activation_range
from mcuforge.model.ir import Graph, Operator
from mcuforge.model.validate import INT16_MAX

OPCODES = ("TRANSPOSE_CONV",)
SHAPE, WEIGHTS, INPUT, BIAS = 0, 1, 2, 3


def _bias(op: Operator) -> int:
    return op.inputs[BIAS] if len(op.inputs) > BIAS and op.inputs[BIAS] >= 0 else -1


def check(op: Operator, graph: Graph) -> list[str]:
    problems = expect_dtypes(graph, op, {"in1": "int8", "in2": "int8", "out0": "int8"})
    problems += check_activation(op)
    if problems:
        return problems
    shape_t, weights, inp, out = (graph.tensors[i] for i in (*op.inputs[:3], op.outputs[0]))
    if shape_t.data is None or shape_t.size != 4:
        return [f"output shape tensor {shape_t.index} is not a constant of 4 values"]
    if len(weights.shape) != 4 or len(inp.shape) != 4:
        return [f"weights {list(weights.shape)} and input {list(inp.shape)} must be 4-D"]
    given = tuple(int(v) for v in shape_t.data.reshape(-1))
    if out.shape != given:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)} but the output "
                        f"shape input says {list(given)}")
    oc, fh, fw, fc = weights.shape
    padding = op.options.get("padding", "SAME")
    sh, sw = int(op.options.get("stride_h", 1)), int(op.options.get("stride_w", 1))
    if padding not in PADDINGS or not (min(sh, sw) >= 1 and max(sh, sw) <= INT16_MAX):
        # TFLM keeps strides in int16_t: beyond that its reference wraps silently.
        return problems + [f"padding {padding} with strides {sh}x{sw} (supported: SAME or "
                           f"VALID, strides 1..{INT16_MAX})"]
    n, ih, iw, ic = inp.shape
    if fc != ic or out.shape[3] != oc or out.shape[0] != n:
        problems.append(f"weights {list(weights.shape)} do not connect input tensor {inp.index} "
                        f"{list(inp.shape)} to output tensor {out.index} {list(out.shape)}")
    back = (out_size(padding, out.shape[1], fh, sh), out_size(padding, out.shape[2], fw, sw))
    if back != (ih, iw):
        problems.append(f"output tensor {out.index} is {out.shape[1]}x{out.shape[2]}, but "
                        f"{padding} padding with stride {sh}x{sw} and a {fh}x{fw} filter maps "
                        f"that to {back[0]}x{back[1]}, not the input's {ih}x{iw}")
    problems += weights_problems(weights, oc, quant_axis=0)
    if (b := _bias(op)) >= 0:
        bias = graph.tensors[b]
        if bias.dtype != "int32" or bias.data is None or bias.size != oc:
            problems.append(f"bias tensor {bias.index} is {bias.dtype} {list(bias.shape)}; "
                            f"needs constant int32 [{oc}]")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    weights, inp, out = (graph.tensors[i] for i in (*op.inputs[1:3], op.outputs[0]))
    oc, fh, fw, _ = weights.shape
    n, ih, iw, ic = inp.shape
    _, oh, ow, _ = out.shape
    padding = op.options.get("padding", "SAME")
    sh, sw = int(op.options.get("stride_h", 1)), int(op.options.get("stride_w", 1))
    pad_h = leading_pad(sh, 1, oh, fh, out_size(padding, oh, fh, sh))
    pad_w = leading_pad(sw, 1, ow, fw, out_size(padding, ow, fw, sw))
    requant, consts = channel_requant(op, inp, weights, out)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    return KernelCall(
        op=op,
        kernel="mcuforge_transpose_conv_s8",
        source="transpose_conv",
        params_type="mcuforge_transpose_conv_params_t",
        params={
            "batches": n, "input_h": ih, "input_w": iw, "input_c": ic,
            "output_h": oh, "output_w": ow, "output_c": oc, "filter_h": fh, "filter_w": fw,
            "stride_h": sh, "stride_w": sw, "pad_h": pad_h, "pad_w": pad_w,
            "input_offset": -inp.zero_point, "output_offset": out.zero_point,
            "act_min": act_min, "act_max": act_max, **requant,
        },
        args=[TensorArg(op.inputs[INPUT]), TensorArg(op.inputs[WEIGHTS]), TensorArg(_bias(op)),
              TensorArg(op.outputs[0], True)],
        consts=consts,
        macs=n * ih * iw * ic * fh * fw * oc,
    )
