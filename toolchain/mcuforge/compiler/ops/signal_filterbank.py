"""The TFLM signal library's filter-bank ops (audio front ends): SignalFilterBank,
SignalFilterBankSquareRoot, SignalFilterBankSpectralSubtraction (keeps a noise estimate between
invocations), SignalPCAN and SignalFilterBankLog.

TFLM indexes the filter bank's tables without bounds checks; here every index is checked at
compile time, so the tables must be constants.
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, LowerContext, StateArray, TensorArg
from mcuforge.compiler.ops.signal_common import (
    const_problem,
    custom_options,
    int_option,
    io_problems,
    rank_problem,
)
from mcuforge.model.ir import Graph, Operator, Tensor

FILTER_BANK = "CUSTOM:SignalFilterBank"
SQRT = "CUSTOM:SignalFilterBankSquareRoot"
SUBTRACTION = "CUSTOM:SignalFilterBankSpectralSubtraction"
PCAN = "CUSTOM:SignalPCAN"
LOG = "CUSTOM:SignalFilterBankLog"
OPCODES = (FILTER_BANK, SQRT, SUBTRACTION, PCAN, LOG)

SUBTRACTION_KEYS = ("alternate_one_minus_smoothing", "alternate_smoothing", "clamping",
                    "min_signal_remaining", "num_channels", "one_minus_smoothing", "smoothing",
                    "smoothing_bits", "spectral_subtraction_bits")
#: WideDynamicFunction reads lut[4 * msb(x) - 6 + 2] for noise estimates up to 2^32 - 1.
PCAN_LUT_SIZE = 4 * 32 - 3
U32 = (-(1 << 31), (1 << 32) - 1)  # int32 options the kernels use as uint32


def check(op: Operator, graph: Graph) -> list[str]:
    return {FILTER_BANK: _check_filter_bank, SQRT: _check_sqrt, SUBTRACTION: _check_subtraction,
            PCAN: _check_pcan, LOG: _check_log}[op.opcode](op, graph)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    return {FILTER_BANK: _lower_filter_bank, SQRT: _lower_sqrt, SUBTRACTION: _lower_subtraction,
            PCAN: _lower_pcan, LOG: _lower_log}[op.opcode](op, graph, ctx)


def _ins(graph: Graph, op: Operator) -> list[Tensor]:
    return [graph.tensors[t] for t in op.inputs]


def _outs(graph: Graph, op: Operator) -> list[Tensor]:
    return [graph.tensors[t] for t in op.outputs]


def _same_size(tensors: list[Tensor], what: str) -> list[str]:
    sizes = {t.size for t in tensors}
    if len(sizes) > 1:
        return [f"{what} sizes differ: {[list(t.shape) for t in tensors]}"]
    return []


# ---- SignalFilterBank ----


def _check_filter_bank(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["uint32"] + ["int16"] * 5, ["uint64"])
    values, opt = custom_options(op, ("num_channels",))
    problems += opt
    if problems:
        return problems
    inp, weights, unweights, fstart, wstart, widths = _ins(graph, op)
    out = _outs(graph, op)[0]
    channels = int_option(values, "num_channels", 1, 1 << 15, problems)
    problems += rank_problem(inp, "input", 1) + rank_problem(out, "output", 1)
    for t, what in ((weights, "weights"), (unweights, "unweights"), (fstart, "channel starts"),
                    (wstart, "weight starts"), (widths, "channel widths")):
        problems += const_problem(t, what) + rank_problem(t, what, 1)
    if problems:
        return problems
    if out.size != channels:
        problems.append(f"output has {out.size} values for num_channels={channels}")
    if min(fstart.size, wstart.size, widths.size) < channels + 1:
        return problems + [f"channel tables hold {min(fstart.size, wstart.size, widths.size)} "
                           f"entries; num_channels={channels} needs {channels + 1}"]
    for ch in range(channels + 1):
        f, w, n = int(fstart.data[ch]), int(wstart.data[ch]), int(widths.data[ch])
        if n <= 0:
            continue
        if f < 0 or f + n > inp.size:
            problems.append(f"channel {ch} reads bins {f}..{f + n - 1} of {inp.size}")
        if w < 0 or w + n > min(weights.size, unweights.size):
            problems.append(f"channel {ch} reads weights {w}..{w + n - 1} of "
                            f"{min(weights.size, unweights.size)}")
    return problems


def _lower_filter_bank(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, ("num_channels",))
    channels = int(values["num_channels"])
    tables = [graph.tensors[t].data for t in op.inputs[1:]]
    weights, unweights, fstart, wstart, widths = (np.asarray(t, dtype=np.int64) for t in tables)
    macs = 2 * int(np.sum(widths[: channels + 1].clip(min=0)))
    # The DSP kernel multiplies with unsigned 32x32->64 MACs: exact for non-negative weights.
    if "dsp" in ctx.kernel_families and weights.min() >= 0 and unweights.min() >= 0:
        return _filter_bank_dsp(op, channels, weights, unweights, fstart, wstart, widths, macs)
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_filter_bank",
        source="signal_filterbank",
        params_type="mcuforge_signal_filter_bank_params_t",
        params={"num_channels": channels},
        args=[TensorArg(t) for t in op.inputs] + [TensorArg(op.outputs[0], True)],
        macs=macs,
    )


def _filter_bank_dsp(op: Operator, channels: int, weights: np.ndarray, unweights: np.ndarray,
                     fstart: np.ndarray, wstart: np.ndarray, widths: np.ndarray,
                     macs: int) -> KernelCall:
    """TFLM's tables repacked for the DSP kernel: each channel's bins without the zero-weight
    padding at either end, one (weight | unweight << 16) word per bin."""
    first, count, words = [], [], []
    for ch in range(channels + 1):
        n = max(int(widths[ch]), 0)
        w = weights[wstart[ch]: wstart[ch] + n] if n else weights[:0]
        u = unweights[wstart[ch]: wstart[ch] + n] if n else unweights[:0]
        used = np.nonzero((w != 0) | (u != 0))[0]
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 0)
        first.append(int(fstart[ch]) + lo if used.size else 0)
        count.append(hi - lo)
        words.extend((w[lo:hi] | (u[lo:hi] << 16)).tolist())
    name = f"op{op.index}"
    consts = [ConstArray(f"{name}_first", np.array(first, dtype=np.uint16)),
              ConstArray(f"{name}_bins", np.array(count, dtype=np.uint16)),
              ConstArray(f"{name}_wu", np.array(words or [0], dtype=np.uint32))]
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_filter_bank_dsp",
        source="signal_filterbank",
        family="dsp",
        params_type="mcuforge_signal_filter_bank_dsp_params_t",
        params={"num_channels": channels, "first_bin": consts[0], "bins": consts[1],
                "weights": consts[2]},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        consts=consts,
        macs=macs,
    )


# ---- SignalFilterBankSquareRoot ----


def _check_sqrt(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["uint64", "int32"], ["uint32"])
    if problems:
        return problems
    inp, bits = _ins(graph, op)
    out = _outs(graph, op)[0]
    problems += rank_problem(inp, "input", 1) + rank_problem(bits, "the scale input", 0)
    problems += rank_problem(out, "output", 1) + _same_size([inp, out], "input and output")
    return problems


def _lower_sqrt(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    dsp = "dsp" in ctx.kernel_families
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_filter_bank_sqrt_dsp" if dsp
        else "mcuforge_signal_filter_bank_sqrt",
        source="signal_filterbank",
        family="dsp" if dsp else "ref",
        params_type="mcuforge_signal_filter_bank_sqrt_params_t",
        params={"num_channels": graph.tensors[op.inputs[0]].size},
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
    )


# ---- SignalFilterBankSpectralSubtraction ----


def _subtraction_params(values: dict, problems: list[str]) -> dict:
    out = {"num_channels": int_option(values, "num_channels", 1, 1 << 20, problems)}
    for key in ("smoothing", "one_minus_smoothing", "alternate_smoothing",
                "alternate_one_minus_smoothing", "min_signal_remaining"):
        out[key] = int_option(values, key, *U32, problems) & 0xFFFFFFFF
    out["smoothing_bits"] = int_option(values, "smoothing_bits", 0, 31, problems)
    out["spectral_subtraction_bits"] = int_option(values, "spectral_subtraction_bits", 0, 63,
                                                  problems)
    out["clamping"] = int_option(values, "clamping", 0, 1, problems)
    return out


def _check_subtraction(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["uint32"], ["uint32", "uint32"])
    values, opt = custom_options(op, SUBTRACTION_KEYS)
    problems += opt
    if problems:
        return problems
    params = _subtraction_params(values, problems)
    tensors = _ins(graph, op) + _outs(graph, op)
    for t in tensors:
        problems += rank_problem(t, f"tensor {t.index}", 1)
    problems += _same_size(tensors, "input and outputs")
    if not problems and tensors[0].size != params["num_channels"]:
        problems.append(f"num_channels={params['num_channels']} but the input has "
                        f"{tensors[0].size} channels")
    return problems


def _lower_subtraction(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, SUBTRACTION_KEYS)
    params = _subtraction_params(values, [])
    channels = params["num_channels"]
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_spectral_subtraction",
        source="signal_filterbank",
        params_type="mcuforge_signal_spectral_subtraction_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True),
              TensorArg(op.outputs[1], True)],
        # TFLM zeroes the noise estimate in Prepare and in its Reset hook.
        state=[StateArray("noise_estimate", np.zeros(channels, dtype=np.uint32))],
        inplace=[(op.outputs[0], op.inputs[0])],
    )


# ---- SignalPCAN ----


def _check_pcan(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["uint32", "uint32", "int16"], ["uint32"])
    values, opt = custom_options(op, ("snr_shift",))
    problems += opt
    if problems:
        return problems
    int_option(values, "snr_shift", 0, 63, problems)
    inp, noise, lut = _ins(graph, op)
    out = _outs(graph, op)[0]
    for t, what in ((inp, "input"), (noise, "noise estimate"), (lut, "gain table"),
                    (out, "output")):
        problems += rank_problem(t, what, 1)
    problems += _same_size([inp, out], "input and output")
    if noise.size < inp.size:
        problems.append(f"noise estimate has {noise.size} channels, the input {inp.size}")
    if lut.size < PCAN_LUT_SIZE:
        problems.append(f"gain table has {lut.size} entries; noise estimates up to 2^32 need "
                        f"{PCAN_LUT_SIZE}")
    return problems


def _lower_pcan(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, ("snr_shift",))
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_pcan",
        source="signal_filterbank",
        params_type="mcuforge_signal_pcan_params_t",
        params={"num_channels": graph.tensors[op.inputs[0]].size,
                "snr_shift": int(values["snr_shift"])},
        args=[TensorArg(t) for t in op.inputs] + [TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )


# ---- SignalFilterBankLog ----


def log_table() -> np.ndarray:
    """TFLM's log2 correction table (signal/src/log.cc): log2(1 + i/128) - i/128 in Q16 at the
    129 segment ends, and a zero entry after them."""
    values = [round((math.log2(1 + i / 128) - i / 128) * 65536) for i in range(129)]
    return np.array(values + [0], dtype=np.uint16)


def _check_log(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["uint32"], ["int16"])
    values, opt = custom_options(op, ("input_correction_bits", "output_scale"))
    problems += opt
    if problems:
        return problems
    int_option(values, "input_correction_bits", 0, 31, problems)
    int_option(values, "output_scale", *U32, problems)
    inp, out = _ins(graph, op)[0], _outs(graph, op)[0]
    problems += rank_problem(inp, "input", 1) + rank_problem(out, "output", 1)
    return problems + _same_size([inp, out], "input and output")


def _lower_log(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, ("input_correction_bits", "output_scale"))
    lut = ConstArray(f"op{op.index}_log", log_table())
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_filter_bank_log",
        source="signal_filterbank",
        params_type="mcuforge_signal_filter_bank_log_params_t",
        params={"num_channels": graph.tensors[op.inputs[0]].size,
                "output_scale": int(values["output_scale"]) & 0xFFFFFFFF,
                "correction_bits": int(values["input_correction_bits"]),
                "log_lut": lut},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        consts=[lut],
    )

