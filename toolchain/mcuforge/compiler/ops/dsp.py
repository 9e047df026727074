"""Lowerings to the Armv7E-M DSP kernels (firmware/runtime/kernels/dsp/), shared by the ops.

Everything these kernels need rearranged is rearranged here, at compile time: weights
interleaved in the order the inner loops read them, input offsets folded into the bias. No
``OPCODES``, so the op registry skips this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, TensorArg
from mcuforge.model.ir import Operator


def requant_table(name: str, requant: dict[str, Any], channels: int) -> tuple[ConstArray, bool]:
    """The per-channel requantization table and whether it uses the fast form.

    Fast (``mf_requant_fast`` in dsp.h, exact only under these conditions, all checked here):
    every channel has no left shift, a right shift of at least 2 and a multiplier strictly
    between 2^30 and 2^31; four words per channel (multiplier, 2^(r-2), r-1, 0). Otherwise the
    general form, (multiplier, shift). Per-tensor quantization is repeated per channel so the
    kernels never branch on it."""
    mults = np.asarray(requant["multiplier"].values, dtype=np.int64)
    shifts = np.asarray(requant["shift"].values, dtype=np.int64)
    if mults.size == 1:
        mults, shifts = np.repeat(mults, channels), np.repeat(shifts, channels)
    fast = bool(np.all((shifts <= -2) & (mults > 1 << 30) & (mults < 1 << 31)))
    if fast:
        right = -shifts
        table = np.stack([mults, 1 << (right - 2), right - 1, np.zeros_like(mults)], axis=1)
    else:
        table = np.stack([mults, shifts], axis=1)
    return ConstArray(f"{name}_rq", table.astype(np.int32)), fast


def runtime_params(rq: ConstArray, bias: ConstArray, input_offset: int, output_offset: int,
                   act_min: int, act_max: int) -> dict[str, Any]:
    """``mcuforge_dsp_params_t``: what a specialized DSP kernel reads at run time."""
    return {"input_offset": input_offset, "output_offset": output_offset, "act_min": act_min,
            "act_max": act_max, "requant": rq, "bias": bias}


def interleave_rows(weights: np.ndarray) -> np.ndarray:
    """The matrix kernel's weight layout: blocks of four output rows, four depth bytes of each
    row in turn, then the depth tail column by column; remaining rows in plain order."""
    rows, depth = weights.shape
    depth4 = depth - depth % 4
    parts = []
    for blk in range(rows // 4):
        block = weights[4 * blk : 4 * blk + 4]
        parts.append(block[:, :depth4].reshape(4, depth4 // 4, 4).transpose(1, 0, 2).reshape(-1))
        parts.append(block[:, depth4:].T.reshape(-1))
    parts.append(weights[rows // 4 * 4 :].reshape(-1))
    return np.concatenate(parts).astype(np.int8)


def wrap_int32(values: np.ndarray) -> np.ndarray:
    """int64 -> int32 with two's-complement wrap-around, as int32 accumulation on the device."""
    return ((values.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def folded_bias(weights: np.ndarray, bias: np.ndarray | None, input_zero_point: int) -> np.ndarray:
    """bias[o] + input_offset * sum(weights[o]): the input offset moved out of the inner loop.
    Exact, because int32 addition wraps the same way whatever the order."""
    w = weights.reshape(weights.shape[0], -1).astype(np.int64)
    base = bias.astype(np.int64) if bias is not None else np.zeros(w.shape[0], np.int64)
    return wrap_int32(base - input_zero_point * w.sum(axis=1))


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
    """``out[b] = requant(W @ in[b] + bias)`` with the DSP matrix kernel: a FULLY_CONNECTED,
    or a 1x1 stride-1 convolution (each pixel one row of the input)."""
    name = f"op{op.index}"
    rows = weights.shape[0]
    matrix = weights.reshape(rows, -1)
    bias_arr = ConstArray(f"{name}_bias", folded_bias(matrix, bias, input_zero_point))
    w_arr = ConstArray(f"{name}_w", interleave_rows(matrix))
    rq, fast = requant_table(name, requant, rows)
    return KernelCall(
        op=op,
        kernel="mcuforge_fully_connected_s8_dsp",
        source="fully_connected",
        family="dsp",
        params_type="mcuforge_dsp_params_t",
        params=runtime_params(rq, bias_arr, 0, output_offset, act_min, act_max),
        spec={"batches": batches, "accum_depth": matrix.shape[1], "output_depth": rows,
              "fast_requant": int(fast)},
        spec_macro="MF_FC_DSP_SPEC",
        impl_header="kernels/dsp/fully_connected_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr),
              TensorArg(output_tensor, True)],
        consts=[rq, bias_arr, w_arr],
        macs=batches * matrix.size,
    )


def interleave_pairs(weights: np.ndarray) -> np.ndarray:
    """The im2col kernel's weight layout: pairs of rows interleaved four bytes at a time
    ([o0 d0..3][o1 d0..3][o0 d4..7]...), the odd last row in order. Depth is a multiple of 4."""
    rows, depth = weights.shape
    parts = []
    for k in range(rows // 2):
        pair = weights[2 * k : 2 * k + 2]
        parts.append(pair.reshape(2, depth // 4, 4).transpose(1, 0, 2).reshape(-1))
    if rows % 2:
        parts.append(weights[-1])
    return np.concatenate(parts).astype(np.int8)


def pair_bytes(rows: np.ndarray) -> np.ndarray:
    """Each group of four bytes as w0 w2 w1 w3: SXTB16 then gives (w0, w1) and its rotated
    form (w2, w3), the order of int16 pairs in an im2col column."""
    n, depth = rows.shape
    assert depth % 4 == 0
    return rows.reshape(n, depth // 4, 4)[:, :, [0, 2, 1, 3]].reshape(n, depth)


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
    """A convolution with the im2col DSP kernel; ``weights`` are [out][fh][fw][in]."""
    name = f"op{op.index}"
    rows = weights.shape[0]
    taps = weights.reshape(rows, -1)
    col_len = -(-taps.shape[1] // 4) * 4
    padded = np.zeros((rows, col_len), np.int8)
    padded[:, : taps.shape[1]] = taps
    vector_gather = weights.shape[-1] % 4 == 0
    w_arr = ConstArray(f"{name}_w",
                       interleave_pairs(padded if vector_gather else pair_bytes(padded)))
    bias_arr = ConstArray(f"{name}_bias", folded_bias(taps, bias, input_zero_point))
    rq, fast = requant_table(name, requant, rows)
    geometry = {**window_params, "col_len": col_len, "vector_gather": int(vector_gather),
                "fast_requant": int(fast)}
    macs = (geometry["batches"] * geometry["output_h"] * geometry["output_w"] * taps.size)
    return KernelCall(
        op=op,
        kernel="mcuforge_conv2d_s8_dsp",
        source="conv",
        family="dsp",
        params_type="mcuforge_dsp_params_t",
        params=runtime_params(rq, bias_arr, -input_zero_point, output_offset, act_min, act_max),
        spec=geometry,
        spec_macro="MF_CONV_DSP_SPEC",
        impl_header="kernels/dsp/conv_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr), TensorArg(output_tensor, True)],
        consts=[rq, bias_arr, w_arr],
        macs=macs,
        scratch_bytes=2 * col_len * 2,
    )


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
    """A depthwise convolution with depth multiplier 1; ``weights`` are [1][fh][fw][channels]."""
    name = f"op{op.index}"
    _, fh, fw, ch = weights.shape
    stride = -(-ch // 4) * 4
    ch4 = ch - ch % 4
    table = np.zeros((fh, fw, stride), np.int16)
    w = weights.reshape(fh, fw, ch).astype(np.int16)
    table[:, :, :ch4] = w[:, :, :ch4].reshape(fh, fw, ch4 // 4, 4)[..., [0, 2, 1, 3]].reshape(
        fh, fw, ch4)
    table[:, :, ch4:ch] = w[:, :, ch4:]
    w_arr = ConstArray(f"{name}_w", table)
    base = bias.astype(np.int64) if bias is not None else np.zeros(ch, np.int64)
    bias_arr = ConstArray(f"{name}_bias", wrap_int32(base))
    rq, fast = requant_table(name, requant, ch)
    g = window_params
    geometry = {
        "batches": g["batches"], "input_h": g["input_h"], "input_w": g["input_w"],
        "channels": ch, "output_h": g["output_h"], "output_w": g["output_w"],
        "filter_h": fh, "filter_w": fw, "stride_h": g["stride_h"], "stride_w": g["stride_w"],
        "dilation_h": g["dilation_h"], "dilation_w": g["dilation_w"], "pad_h": g["pad_h"],
        "pad_w": g["pad_w"], "weights_stride": stride, "fast_requant": int(fast),
    }
    return KernelCall(
        op=op,
        kernel="mcuforge_depthwise_conv2d_s8_dsp",
        source="depthwise_conv",
        family="dsp",
        params_type="mcuforge_dsp_params_t",
        params=runtime_params(rq, bias_arr, -input_zero_point, output_offset, act_min, act_max),
        spec=geometry,
        spec_macro="MF_DW_DSP_SPEC",
        impl_header="kernels/dsp/depthwise_conv_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr), TensorArg(output_tensor, True)],
        consts=[rq, bias_arr, w_arr],
        macs=g["batches"] * g["output_h"] * g["output_w"] * fh * fw * ch,
    )
