"""Helpers shared by the spatial ops (convolutions, pooling): TFLM's padding arithmetic, the
per-channel requantization arrays, and the checks these ops have in common.

No ``OPCODES`` here, so the op registry skips this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mcuforge.compiler.ops.base import ConstArray
from mcuforge.compiler.plan import streaming_lag
from mcuforge.compiler.quant import conv_multipliers
from mcuforge.model.ir import Graph, Operator, Tensor
from mcuforge.model.validate import out_size, total_pad

PADDINGS = ("SAME", "VALID")


def leading_pad(stride: int, dilation: int, image: int, filt: int, out: int) -> int:
    """TFLM's ``ComputePaddingWithOffset`` without the offset: the reference kernels only use the
    top/left padding (the extra odd pixel goes to the bottom/right by omission)."""
    return total_pad(stride, dilation, image, filt, out) // 2


@dataclass(frozen=True)
class Window:
    """Geometry of a 2-D sliding window over an NHWC tensor, as TFLM computes it at Prepare."""

    batches: int
    in_h: int
    in_w: int
    in_c: int
    out_h: int
    out_w: int
    out_c: int
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    pad_h: int
    pad_w: int

    def params(self) -> dict[str, int]:
        return {
            "batches": self.batches,
            "input_h": self.in_h,
            "input_w": self.in_w,
            "input_c": self.in_c,
            "output_h": self.out_h,
            "output_w": self.out_w,
            "output_c": self.out_c,
            "filter_h": self.filter_h,
            "filter_w": self.filter_w,
            "stride_h": self.stride_h,
            "stride_w": self.stride_w,
            "dilation_h": self.dilation_h,
            "dilation_w": self.dilation_w,
            "pad_h": self.pad_h,
            "pad_w": self.pad_w,
        }


def row_overlap(w: Window, inp: Tensor, out: Tensor) -> list[tuple[int, int, int]]:
    """The ``overlap`` declaration of a kernel that computes output rows in order (every
    reference sliding-window kernel does: batch, then output row, outermost)."""
    lag = streaming_lag(inp.shape, out.shape, stride=w.stride_h, pad_top=w.pad_h,
                        itemsize=inp.nbytes // max(inp.size, 1))
    return [] if lag is None else [(out.index, inp.index, lag)]


def window(op: Operator, inp: Tensor, out: Tensor, filter_h: int, filter_w: int) -> Window:
    """The window of a CONV/DEPTHWISE/POOL node; padding from ``ComputePaddingHeightWidth``
    with the output size TFLM derives (which :func:`window_problems` checked against the
    output tensor)."""
    o = op.options
    sh, sw = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    dh, dw = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    padding = o.get("padding", "SAME")
    n, ih, iw, ic = inp.shape
    _, oh, ow, oc = out.shape
    calc_h = out_size(padding, ih, filter_h, sh, dh)
    calc_w = out_size(padding, iw, filter_w, sw, dw)
    return Window(
        batches=n,
        in_h=ih,
        in_w=iw,
        in_c=ic,
        out_h=oh,
        out_w=ow,
        out_c=oc,
        filter_h=filter_h,
        filter_w=filter_w,
        stride_h=sh,
        stride_w=sw,
        dilation_h=dh,
        dilation_w=dw,
        pad_h=leading_pad(sh, dh, ih, filter_h, calc_h),
        pad_w=leading_pad(sw, dw, iw, filter_w, calc_w),
    )


def window_problems(
    op: Operator, inp: Tensor, out: Tensor, filter_h: int, filter_w: int
) -> list[str]:
    """Options and shapes a sliding-window node must have (4-D NHWC, positive strides, ...)."""
    o = op.options
    problems = []
    if len(inp.shape) != 4 or len(out.shape) != 4:
        return [f"input {list(inp.shape)} and output {list(out.shape)} must both be 4-D (NHWC)"]
    padding = o.get("padding", "SAME")
    if padding not in PADDINGS:
        problems.append(f"padding {padding} (supported: SAME, VALID)")
    for key in ("stride_h", "stride_w", "dilation_h_factor", "dilation_w_factor"):
        if int(o.get(key, 1)) < 1:
            problems.append(f"{key} is {o.get(key)}, must be >= 1")
    if filter_h < 1 or filter_w < 1:
        problems.append(f"filter {filter_h}x{filter_w} is empty")
    if problems:
        return problems
    if inp.shape[0] != out.shape[0]:
        problems.append(f"batch {inp.shape[0]} in, {out.shape[0]} out")
    w = window(op, inp, out, filter_h, filter_w)
    want_h = out_size(padding, w.in_h, filter_h, w.stride_h, w.dilation_h)
    want_w = out_size(padding, w.in_w, filter_w, w.stride_w, w.dilation_w)
    if (want_h, want_w) != (w.out_h, w.out_w):
        problems.append(
            f"output is {w.out_h}x{w.out_w} but {padding} padding of a {w.in_h}x{w.in_w} input "
            f"gives {want_h}x{want_w}"
        )
    return problems


def channel_requant(
    op: Operator, inp: Tensor, weights: Tensor, out: Tensor
) -> tuple[dict[str, object], list[ConstArray]]:
    """Requantization params of a convolution: one (multiplier, shift) per output channel,
    or a single pair when the weights are per-tensor (TFLM broadcasts that one scale to every
    channel; the kernel reads index 0 instead of storing copies in flash)."""
    assert weights.quant is not None
    mults, shifts = conv_multipliers(inp, weights, out)
    name = f"op{op.index}"
    mult = ConstArray(f"{name}_mult", np.array(mults, dtype=np.int32))
    shift = ConstArray(f"{name}_shift", np.array(shifts, dtype=np.int32))
    return (
        {"per_channel": int(weights.quant.per_channel), "multiplier": mult, "shift": shift},
        [mult, shift],
    )


def weights_problems(weights: Tensor, channels: int, quant_axis: int) -> list[str]:
    """Constant int8 weights, symmetric, per-tensor or per-channel along ``quant_axis``."""
    problems = []
    if not weights.is_const:
        problems.append("weights are not constant")
    q = weights.quant
    if q is None:
        return problems + ["weights have no quantization parameters"]
    if q.per_channel:
        if len(q.scale) != channels:
            problems.append(
                f"{len(q.scale)} per-channel weight scales for {channels} output channels"
            )
        if q.axis != quant_axis:
            problems.append(f"weights quantized along axis {q.axis}, need axis {quant_axis}")
    if any(z != 0 for z in q.zero_point):
        # The reference kernels drop the weights' zero point (int8 weights are symmetric by the
        # quantization spec); compiling such a model would silently compute something else.
        problems.append(
            f"weights zero point {q.zero_point[0]}: int8 weights must be symmetric (zero point 0)"
        )
    return problems


def bias_problems(graph: Graph, op: Operator, channels: int) -> list[str]:
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return []
    bias = graph.tensors[op.inputs[2]]
    problems = []
    if bias.dtype != "int32":
        problems.append(f"bias is {bias.dtype}, needs int32")
    if not bias.is_const:
        problems.append("bias is not constant")
    if bias.size != channels:
        problems.append(f"bias has {bias.size} values for {channels} output channels")
    return problems


def bias_arg(op: Operator) -> int:
    return op.inputs[2] if len(op.inputs) > 2 and op.inputs[2] >= 0 else -1
