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

#: Bound on the high word of the fast form's constant (dsp.h): keeps the sum's high word in int32.
_FAST_K_LIMIT = (1 << 30) - 1


def requant_table(name: str, requant: dict[str, Any], order: np.ndarray,
                  output_offset: int) -> tuple[ConstArray, bool]:
    """The requantization table (four words per output channel, in the kernel's channel
    ``order``) and whether it uses the fast form (``mf_rq_fast`` in dsp.h, exact only under these
    conditions, all checked here): every channel has no left shift, a right shift r >= 1, a
    multiplier of 0 or in [2^30, 2^31), and k = 2^30 + 2^(30+r) + zero_point * 2^(31+r) with a
    high word inside +-(2^30 - 1); rows (multiplier, k_hi, r - 1, k_lo). Otherwise the general
    form, (multiplier, shift, 0, 0). Per-tensor quantization is repeated per channel so the
    kernels never branch on it."""
    mults = np.asarray(requant["multiplier"].values, dtype=np.int64)
    shifts = np.asarray(requant["shift"].values, dtype=np.int64)
    channels = int(order.max()) + 1 if order.size else 0
    if mults.size == 1:
        mults, shifts = np.repeat(mults, channels), np.repeat(shifts, channels)
    mults, shifts = mults[order], shifts[order]
    right = [max(-int(s), 1) for s in shifts]
    k = [(1 << 30) + (1 << (30 + r)) + output_offset * (1 << (31 + r)) for r in right]
    k_hi = np.array([v >> 32 for v in k], dtype=np.int64)
    k_lo = np.array([v & 0xFFFFFFFF for v in k], dtype=np.int64)
    fast = bool(np.all((shifts <= -1) & ((mults == 0) | (mults >= 1 << 30)) & (mults < 1 << 31)
                       & (np.abs(k_hi) < _FAST_K_LIMIT)))
    zeros = np.zeros_like(mults)
    if fast:
        table = np.stack([mults, k_hi, np.array(right) - 1, k_lo], axis=1)
    else:
        table = np.stack([mults, shifts, zeros, zeros], axis=1)
    # k_lo is a bit pattern: stored as the int32 with the same bits.
    table = (table + (1 << 31)) % (1 << 32) - (1 << 31)
    return ConstArray(f"{name}_rq", table.astype(np.int32)), fast


def runtime_params(rq: ConstArray, bias: ConstArray, input_offset: int, output_offset: int,
                   act_min: int, act_max: int) -> dict[str, Any]:
    """``mcuforge_dsp_params_t``: what a specialized DSP kernel reads at run time."""
    return {"input_offset": input_offset, "output_offset": output_offset, "act_min": act_min,
            "act_max": act_max, "requant": rq, "bias": bias}


def interleave_rows(weights: np.ndarray) -> np.ndarray:
    """The matrix kernel's weight layout: the rows completed to a multiple of four with zero
    rows, in blocks of four rows, four depth bytes of each row in turn, then the depth tail
    column by column."""
    rows, depth = weights.shape
    depth4 = depth - depth % 4
    full = np.zeros((-(-rows // 4) * 4, depth), np.int8)
    full[:rows] = weights
    parts = []
    for blk in range(full.shape[0] // 4):
        block = full[4 * blk : 4 * blk + 4]
        parts.append(block[:, :depth4].reshape(4, depth4 // 4, 4).transpose(1, 0, 2).reshape(-1))
        parts.append(block[:, depth4:].T.reshape(-1))
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
    # Rows completed to a multiple of four (zero weights and bias, the last row's
    # requantization), their results never stored.
    extra = -rows % 4
    bias_arr = ConstArray(f"{name}_bias", np.append(folded_bias(matrix, bias, input_zero_point),
                                                    np.zeros(extra, np.int32)))
    w_arr = ConstArray(f"{name}_w", interleave_rows(matrix))
    order = np.append(np.arange(rows), np.full(extra, rows - 1))
    rq, fast = requant_table(name, requant, order, output_offset)
    uniform = bool(np.all(rq.values == rq.values[0]))
    if uniform:  # per-tensor weights: the kernel reads the one row
        rq = ConstArray(rq.name, rq.values[:1].copy())
    return KernelCall(
        op=op,
        kernel="mcuforge_fully_connected_s8_dsp",
        source="fully_connected",
        family="dsp",
        params_type="mcuforge_dsp_params_t",
        params=runtime_params(rq, bias_arr, 0, output_offset, act_min, act_max),
        spec={"batches": batches, "accum_depth": matrix.shape[1], "output_depth": rows,
              "fast_requant": int(fast),
              "uniform_rq": int(uniform),
              "clamp": int((act_min, act_max) != (-128, 127))},
        spec_macro="MF_FC_DSP_SPEC",
        shared_macro="MF_FC_DSP_SHARED",
        impl_header="kernels/dsp/fully_connected_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr),
              TensorArg(output_tensor, True)],
        consts=[rq, bias_arr, w_arr],
        macs=batches * matrix.size,
    )


def interleave_pairs(weights: np.ndarray) -> np.ndarray:
    """The im2col kernel's weight layout: pairs of rows interleaved four bytes at a time
    ([o0 d0..3][o1 d0..3][o0 d4..7]...), an odd count completed by a zero row. Depth is a
    multiple of 4."""
    rows, depth = weights.shape
    even = np.zeros((rows + rows % 2, depth), np.int8)
    even[:rows] = weights
    pairs = even.reshape(-1, 2, depth // 4, 4).transpose(0, 2, 1, 3)
    return pairs.reshape(-1).astype(np.int8)


def pair_bytes(rows: np.ndarray) -> np.ndarray:
    """Each group of four bytes as w0 w2 w1 w3: SXTB16 then gives (w0, w1) and its rotated
    form (w2, w3), the order of int16 pairs in an im2col column."""
    n, depth = rows.shape
    assert depth % 4 == 0
    return rows.reshape(n, depth // 4, 4)[:, :, [0, 2, 1, 3]].reshape(n, depth)


#: The gather modes of conv_spec.h (MF_GATHER_*).
GATHER_ELEM, GATHER_TAP, GATHER_ROW = 0, 1, 2


def _gather_mode(weights: np.ndarray, dilation_w: int) -> tuple[int, np.ndarray]:
    """How the kernel gathers a column, and the weights laid out for it ([out][col_len], depth a
    multiple of 4, the column's order). Four values at a time, sign-extended in SXTB16 order,
    when the input channels are a multiple of 4 (TAP), or when padding each undilated filter
    row to a multiple of 4 values adds little to the column (ROW: the padding meets zero
    weights); otherwise value by value in order, the weights in SXTB16 order (ELEM)."""
    rows, fh, fw, in_c = weights.shape
    taps = weights.reshape(rows, -1)
    if in_c % 4 == 0:
        return GATHER_TAP, taps.astype(np.int8)
    run = fw * in_c
    row4 = -(-run // 4) * 4
    elem_len = -(-taps.shape[1] // 4) * 4
    if dilation_w == 1 and fh * row4 <= elem_len * 9 // 8:
        padded = np.zeros((rows, fh, row4), np.int8)
        padded[:, :, :run] = weights.reshape(rows, fh, run)
        return GATHER_ROW, padded.reshape(rows, -1)
    padded = np.zeros((rows, elem_len), np.int8)
    padded[:, : taps.shape[1]] = taps
    return GATHER_ELEM, pair_bytes(padded)


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
    rows, fh, fw, in_c = weights.shape
    taps = weights.reshape(rows, -1)
    gather, layout = _gather_mode(weights, window_params["dilation_w"])
    col_len = layout.shape[1]
    w_arr = ConstArray(f"{name}_w", interleave_pairs(layout))
    # An odd channel count computes one more channel (zero weights, zero bias, the last channel's
    # requantization), never stored.
    bias_arr = ConstArray(f"{name}_bias", np.append(folded_bias(taps, bias, input_zero_point),
                                                    np.zeros(rows % 2, np.int32)))
    order = np.append(np.arange(rows), np.full(rows % 2, rows - 1))
    rq, fast = requant_table(name, requant, order, output_offset)
    geometry = {**window_params, "col_len": col_len, "gather": gather,
                "fast_requant": int(fast), "clamp": int((act_min, act_max) != (-128, 127))}
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
        shared_macro="MF_CONV_DSP_SHARED",
        impl_header="kernels/dsp/conv_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr), TensorArg(output_tensor, True)],
        consts=[rq, bias_arr, w_arr],
        macs=macs,
        scratch_bytes=2 * col_len * 2,  # two columns
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
    """A depthwise convolution, any depth multiplier; ``weights`` are [1][fh][fw][out channels]
    and the input has ``window_params["input_c"]`` channels."""
    name = f"op{op.index}"
    _, fh, fw, oc = weights.shape
    g = window_params
    ch = g["input_c"]
    mult = oc // ch
    taps = fh * fw
    per_tap = weights.reshape(taps, oc).astype(np.int16)
    ch4 = ch - ch % 4
    parts, order = [], []
    for m in range(mult):
        chans = np.arange(ch) * mult + m  # output channels of this block, input channel order
        for c in range(0, ch4, 4):
            parts.append(per_tap[:, chans[c:c + 4][[0, 2, 1, 3]]].reshape(-1))
        tail = per_tap[:, chans[ch4:]].T.reshape(-1)
        parts.append(tail)
        parts.append(np.zeros(-tail.size % 4, np.int16))
        order.append(chans)
    w_arr = ConstArray(f"{name}_w", np.concatenate(parts).astype(np.int16))
    order_arr = np.concatenate(order)
    folded = folded_bias(per_tap.T, bias, input_zero_point)
    bias_arr = ConstArray(f"{name}_bias", folded[order_arr])
    rq, fast = requant_table(name, requant, order_arr, output_offset)
    geometry = {
        "batches": g["batches"], "input_h": g["input_h"], "input_w": g["input_w"],
        "channels": ch, "output_h": g["output_h"], "output_w": g["output_w"], "mult": mult,
        "filter_h": fh, "filter_w": fw, "stride_h": g["stride_h"], "stride_w": g["stride_w"],
        "dilation_h": g["dilation_h"], "dilation_w": g["dilation_w"], "pad_h": g["pad_h"],
        "pad_w": g["pad_w"], "fast_requant": int(fast),
        "clamp": int((act_min, act_max) != (-128, 127)),
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
        shared_macro="MF_DW_DSP_SHARED",
        impl_header="kernels/dsp/depthwise_conv_spec.h",
        args=[TensorArg(input_tensor), TensorArg(-1, const=w_arr), TensorArg(output_tensor, True)],
        consts=[rq, bias_arr, w_arr],
        macs=g["batches"] * g["output_h"] * g["output_w"] * taps * oc,
        # One border pixel's window, its taps dilation_w * channels bytes apart.
        scratch_bytes=fh * fw * g["dilation_w"] * ch,
    )


def add_call(op: Operator, tables: list[ConstArray], params: dict[str, Any],
             inplace: list[tuple[int, int]]) -> KernelCall | None:
    """An element-wise ADD with the DSP kernel (kernels/dsp/add_spec.h): the inputs' rescaled
    values from ``tables`` (the portable kernel's), the sum requantized in the fast form. None
    when that form is not exact for the output multiplier (the caller falls back)."""
    mult = ConstArray("", np.array([params["output_multiplier"]], np.int32))
    shift = ConstArray("", np.array([params["output_shift"]], np.int32))
    rq, fast = requant_table(f"op{op.index}", {"multiplier": mult, "shift": shift},
                             np.zeros(1, np.int64), params["output_offset"])
    if not fast:
        return None
    return KernelCall(
        op=op,
        kernel="mcuforge_add_s8_dsp",
        source="add",
        family="dsp",
        params_type="mcuforge_add_dsp_params_t",
        params={"table1": tables[0], "table2": tables[1], "requant": rq,
                "act_min": params["act_min"], "act_max": params["act_max"],
                "size": params["flat_size"]},
        spec={"fast_requant": 1},  # one shared body: the wrapper ignores it
        spec_macro="MF_ADD_DSP_SPEC",
        impl_header="kernels/dsp/add_spec.h",
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        consts=[*tables, rq],
        inplace=inplace,
    )
