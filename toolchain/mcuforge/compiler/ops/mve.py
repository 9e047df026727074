"""Lowerings to the Helium (MVE) kernels (firmware/runtime/kernels/mve/), shared by the ops.

The kernels read weights in the order their vector loads want them, with the input offset folded
into the bias, and requantize four output channels per vector from a table of four-lane blocks
built here. No ``OPCODES``, so the op registry skips this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, TensorArg
from mcuforge.compiler.ops.dsp import folded_bias
from mcuforge.compiler.ops.spatial import Window, bias_arg, row_overlap
from mcuforge.model.ir import Graph, Operator

#: Taps a depthwise window may have (MF_DW_MAX_TAPS in depthwise_conv_spec.h: border pixels
#: keep one pointer per tap on the stack).
DW_MAX_TAPS = 64


def _per_channel(values: ConstArray, channels: int) -> np.ndarray:
    """Per-tensor quantization repeated per channel, so the kernels never branch on it."""
    v = np.asarray(values.values, dtype=np.int64)
    return np.repeat(v, channels) if v.size == 1 else v


def requant_blocks(name: str, requant: dict[str, Any], bias: np.ndarray,
                   lanes: np.ndarray) -> tuple[ConstArray, bool]:
    """The requantization table of ``mf_vrequant`` (mve.h) and whether it is the general form.

    ``lanes`` is [blocks, 4]: the output channel in each lane, -1 for a lane that is never
    stored. Per block: bias, multiplier, minus the right shift, and in the general form the left
    shift and the rounding mask (-1 where the right shift is at least 1). The fast form drops the
    last two: it needs every channel to have no left shift and a right shift of at least 1."""
    channels = bias.size
    mults = _per_channel(requant["multiplier"], channels)
    shifts = _per_channel(requant["shift"], channels)
    left, right = np.maximum(shifts, 0), np.maximum(-shifts, 0)
    general = bool(np.any(left > 0) or np.any(right == 0))
    valid = lanes >= 0
    idx = np.where(valid, lanes, 0)

    def field(values: np.ndarray, filler: int) -> np.ndarray:
        return np.where(valid, values[idx], filler)

    rows = [field(bias.astype(np.int64), 0), field(mults, 0), field(-right, -1)]
    if general:
        rows += [field(left, 0), field(np.where(right >= 1, -1, 0), 0)]
    table = np.stack(rows, axis=1)  # [blocks][field][lane]
    return ConstArray(f"{name}_rq", table.astype(np.int32)), general


def clamps(act_min: int, act_max: int) -> bool:
    """Whether the activation range is narrower than int8 (the kernels' stores saturate to int8
    anyway; a clamp costs two instructions per vector)."""
    return (act_min, act_max) != (-128, 127)


def channel_groups(channels: int) -> np.ndarray:
    """Four consecutive output channels per block, the last block padded with -1."""
    groups = -(-channels // 4)
    lanes = np.arange(groups * 4).reshape(groups, 4)
    return np.where(lanes < channels, lanes, -1)


def matrix_layout(matrix: np.ndarray) -> tuple[np.ndarray, int]:
    """The matrix core's weights (matmul.h): rows in groups of four (zero rows fill the last),
    depth zero-padded to 16-byte steps, [group][step][row][16]. Returns them and the steps."""
    rows, depth = matrix.shape
    groups, steps = -(-rows // 4), -(-depth // 16)
    padded = np.zeros((groups * 4, steps * 16), np.int8)
    padded[:rows, :depth] = matrix
    layout = padded.reshape(groups, 4, steps, 16).transpose(0, 2, 1, 3)
    return layout.reshape(-1).astype(np.int8), steps


def params(rq: ConstArray, input_zp: int, output_offset: int, act_min: int,
           act_max: int) -> dict[str, Any]:
    """``mcuforge_mve_params_t``: what a specialized MVE kernel reads at run time."""
    return {"input_zp": input_zp, "output_offset": output_offset, "act_min": act_min,
            "act_max": act_max, "rq": rq}


def matmul_call(
    op: Operator,
    *,
    input_tensor: int,
    output_tensor: int,
    weights: np.ndarray,
    bias: np.ndarray | None,
    input_zero_point: int,
    batches: int,
    requant: dict[str, Any],
    output_offset: int,
    act_min: int,
    act_max: int,
) -> KernelCall:
    """``out[b] = requant(W @ in[b] + bias)`` (FULLY_CONNECTED) with the MVE matrix core."""
    name = f"op{op.index}"
    rows = weights.shape[0]
    matrix = weights.reshape(rows, -1)
    layout, _ = matrix_layout(matrix)
    w_arr = ConstArray(f"{name}_w", layout)
    rq, general = requant_blocks(name, requant, folded_bias(matrix, bias, input_zero_point),
                                 channel_groups(rows))
    return KernelCall(
        op=op,
        kernel="mcuforge_fully_connected_s8_mve",
        source="fully_connected",
        family="mve",
        params_type="mcuforge_mve_params_t",
        params=params(rq, input_zero_point, output_offset, act_min, act_max),
        spec={"batches": batches, "accum_depth": matrix.shape[1], "output_depth": rows,
              "general": int(general), "clamp": int(clamps(act_min, act_max))},
        spec_macro="MF_FC_MVE_SPEC",
        impl_header="kernels/mve/fully_connected_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr),
              TensorArg(output_tensor, True)],
        consts=[rq, w_arr],
        macs=batches * matrix.size,
    )


def conv_call(
    op: Operator,
    window_params: dict[str, int],
    *,
    input_tensor: int,
    output_tensor: int,
    weights: np.ndarray,
    bias: np.ndarray | None,
    input_zero_point: int,
    requant: dict[str, Any],
    output_offset: int,
    act_min: int,
    act_max: int,
) -> KernelCall:
    """A convolution with the MVE im2col kernel; ``weights`` are [out][fh][fw][in]. A 1x1
    filter without padding reads its columns in place (``direct``: no gather)."""
    name = f"op{op.index}"
    rows = weights.shape[0]
    taps = weights.reshape(rows, -1)
    layout, steps = matrix_layout(taps)
    w_arr = ConstArray(f"{name}_w", layout)
    rq, general = requant_blocks(name, requant, folded_bias(taps, bias, input_zero_point),
                                 channel_groups(rows))
    g = window_params
    direct = g["filter_h"] == g["filter_w"] == 1 and g["pad_h"] == g["pad_w"] == 0
    geometry = {**g, "col_len": steps * 16, "direct": int(direct), "general": int(general),
                "clamp": int(clamps(act_min, act_max))}
    return KernelCall(
        op=op,
        kernel="mcuforge_conv2d_s8_mve",
        source="conv",
        family="mve",
        params_type="mcuforge_mve_params_t",
        params=params(rq, input_zero_point, output_offset, act_min, act_max),
        spec=geometry,
        spec_macro="MF_CONV_MVE_SPEC",
        impl_header="kernels/mve/conv_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr), TensorArg(output_tensor, True)],
        consts=[rq, w_arr],
        macs=g["batches"] * g["output_h"] * g["output_w"] * taps.size,
        # Two columns; a direct kernel copies one only when a pixel pair spans two rows.
        scratch_bytes=(1 if direct else 2) * steps * 16,
    )


def conv_op_call(op: Operator, graph: Graph, w: Window, requant: dict[str, Any], act_min: int,
                 act_max: int) -> KernelCall:
    """A CONV_2D node with :func:`conv_call`, declared row-streaming like the reference."""
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    assert weights.data is not None
    bias = graph.tensors[bias_arg(op)].data if bias_arg(op) >= 0 else None
    call = conv_call(
        op, w.params(), input_tensor=op.inputs[0], output_tensor=op.outputs[0],
        weights=weights.data, bias=bias, input_zero_point=inp.zero_point, requant=requant,
        output_offset=out.zero_point, act_min=act_min, act_max=act_max,
    )
    call.overlap = row_overlap(w, inp, out)
    return call


def depthwise_call(
    op: Operator,
    window_params: dict[str, int],
    *,
    input_tensor: int,
    output_tensor: int,
    weights: np.ndarray,
    bias: np.ndarray | None,
    input_zero_point: int,
    requant: dict[str, Any],
    output_offset: int,
    act_min: int,
    act_max: int,
) -> KernelCall:
    """A depthwise convolution, any depth multiplier, at most ``DW_MAX_TAPS`` taps;
    ``weights`` are [1][fh][fw][channels * mult], the input ``window_params["input_c"]``
    channels (output channel c * mult + m reads input channel c)."""
    name = f"op{op.index}"
    _, fh, fw, oc = weights.shape
    ch = window_params["input_c"]
    mult = oc // ch
    assert fh * fw <= DW_MAX_TAPS
    stride = -(-ch // 8) * 8
    per_tap = weights.reshape(fh * fw, oc)
    # Per multiplier index m, per group of eight input channels, [tap][8]: the order the kernel
    # reads them in.
    table = np.zeros((mult, fh * fw, stride), np.int8)
    for m in range(mult):
        table[m, :, :ch] = per_tap[:, np.arange(ch) * mult + m]
    w_arr = ConstArray(f"{name}_w",
                       table.reshape(mult, fh * fw, -1, 8).transpose(0, 2, 1, 3).copy())
    # Per (m, group) the even lanes' block, then the odd lanes' (VMULLB / VMULLT); a lane's
    # output channel is its input channel * mult + m.
    lanes = np.arange(stride).reshape(-1, 4, 2).transpose(0, 2, 1).reshape(-1, 4)
    out_lanes = np.concatenate([np.where(lanes < ch, lanes * mult + m, -1) for m in range(mult)])
    rq, general = requant_blocks(name, requant, folded_bias(per_tap.T, bias, input_zero_point),
                                 out_lanes)
    g = window_params
    geometry = {
        "batches": g["batches"], "input_h": g["input_h"], "input_w": g["input_w"],
        "channels": ch, "output_h": g["output_h"], "output_w": g["output_w"], "mult": mult,
        "filter_h": fh, "filter_w": fw, "stride_h": g["stride_h"], "stride_w": g["stride_w"],
        "dilation_h": g["dilation_h"], "dilation_w": g["dilation_w"], "pad_h": g["pad_h"],
        "pad_w": g["pad_w"], "weights_stride": stride, "general": int(general),
        "clamp": int(clamps(act_min, act_max)),
    }
    return KernelCall(
        op=op,
        kernel="mcuforge_depthwise_conv2d_s8_mve",
        source="depthwise_conv",
        family="mve",
        params_type="mcuforge_mve_params_t",
        params=params(rq, input_zero_point, output_offset, act_min, act_max),
        spec=geometry,
        spec_macro="MF_DW_MVE_SPEC",
        impl_header="kernels/mve/depthwise_conv_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr), TensorArg(output_tensor, True)],
        consts=[rq, w_arr],
        macs=g["batches"] * g["output_h"] * g["output_w"] * fh * fw * oc,
        scratch_bytes=stride,
    )


def eltwise_call(op: Operator, *, mul: bool, requant: dict[str, Any], params: dict[str, Any],
                 tables: list[ConstArray], inplace: list[tuple[int, int]]) -> KernelCall:
    """An element-wise ADD (``tables``: each input's rescaled values) or MUL with the Helium
    kernels of kernels/mve/elementwise_spec.h; ``requant`` the output multiplier and shift,
    ``params`` the portable kernel's parameters (offsets, clamp bounds, flat size)."""
    name = f"op{op.index}"
    rq, general = requant_blocks(name, requant, np.zeros(1, np.int64),
                                 np.zeros((1, 4), np.int64))
    act_min, act_max = params["act_min"], params["act_max"]
    return KernelCall(
        op=op,
        kernel="mcuforge_mul_s8_mve" if mul else "mcuforge_add_s8_mve",
        source="mul" if mul else "add",
        family="mve",
        params_type="mcuforge_eltwise_mve_params_t",
        params={"table1": tables[0] if tables else None,
                "table2": tables[1] if tables else None, "rq": rq,
                "input1_offset": params["input1_offset"] if mul else 0,
                "input2_offset": params["input2_offset"] if mul else 0,
                "output_offset": params["output_offset"], "act_min": act_min,
                "act_max": act_max, "size": params["flat_size"]},
        spec={"op": int(mul), "general": int(general), "clamp": int(clamps(act_min, act_max))},
        spec_macro="MF_ELTWISE_MVE_SPEC",
        impl_header="kernels/mve/elementwise_spec.h",
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        consts=[*tables, rq],
        inplace=inplace,
    )
