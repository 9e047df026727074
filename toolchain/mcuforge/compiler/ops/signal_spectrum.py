"""The TFLM signal library's spectrum ops (audio front ends): SignalWindow, SignalFftAutoScale,
SignalRfft (int16) and SignalEnergy.

SignalRfft is kissfft v130 in 16-bit fixed point, as TFLM builds it: the FFT plan (radices, the
order the recursion reads the input in, Q15 twiddles from the same double-precision formulas)
is computed here, once, at compile time.
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, LowerContext, TensorArg
from mcuforge.compiler.ops.signal_common import (
    custom_options,
    int_option,
    io_problems,
    rank_problem,
)
from mcuforge.model.ir import Graph, Operator

WINDOW, AUTO_SCALE, RFFT, ENERGY = ("CUSTOM:SignalWindow", "CUSTOM:SignalFftAutoScale",
                                    "CUSTOM:SignalRfft", "CUSTOM:SignalEnergy")
OPCODES = (WINDOW, AUTO_SCALE, RFFT, ENERGY)
MAX_STAGES = 16
#: TFLM's kissfft build has no heap (KISS_FFT_MALLOC returns NULL), so its generic-radix
#: butterfly, which allocates scratch, cannot run: only these radices work.
RADICES = (2, 3, 4, 5)
TFLITE_INT16 = 7


def check(op: Operator, graph: Graph) -> list[str]:
    return {WINDOW: _check_window, AUTO_SCALE: _check_auto_scale, RFFT: _check_rfft,
            ENERGY: _check_energy}[op.opcode](op, graph)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    return {WINDOW: _lower_window, AUTO_SCALE: _lower_auto_scale, RFFT: _lower_rfft,
            ENERGY: _lower_energy}[op.opcode](op, graph, ctx)


def _t(graph: Graph, op: Operator, i: int, outputs: bool = False):  # type: ignore[no-untyped-def]
    return graph.tensors[(op.outputs if outputs else op.inputs)[i]]


# ---- SignalWindow ----


def _check_window(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["int16", "int16"], ["int16"])
    values, opt = custom_options(op, ("shift",))
    problems += opt
    if problems:
        return problems
    int_option(values, "shift", 0, 31, problems)
    inp, weights, out = _t(graph, op, 0), _t(graph, op, 1), _t(graph, op, 0, True)
    problems += rank_problem(weights, "the window", 1)
    if not inp.shape or len(inp.shape) != len(out.shape) or inp.size != out.size:
        problems.append(f"input {list(inp.shape)} and output {list(out.shape)} differ")
    elif weights.size == 0 or inp.size % weights.size:
        problems.append(f"input of {inp.size} samples is not a whole number of windows of "
                        f"{weights.size}")
    return problems


def _dsp(ctx: LowerContext, kernel: str) -> dict[str, str]:
    """The DSP variant of a kernel when the target has it, else the reference one."""
    if "dsp" in ctx.kernel_families:
        return {"kernel": f"{kernel}_dsp", "family": "dsp"}
    return {"kernel": kernel, "family": "ref"}


def _lower_window(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, ("shift",))
    params = {"size": _t(graph, op, 0).size, "weight_size": _t(graph, op, 1).size,
              "shift": int(values["shift"])}
    call = KernelCall(
        op=op,
        kernel="mcuforge_signal_window_s16",
        source="signal_spectrum",
        params_type="mcuforge_signal_window_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )
    if "dsp" in ctx.kernel_families and params["weight_size"] % 2 == 0:
        # Specialized per model: the shift becomes SSAT's immediate.
        call.family, call.spec = "dsp", dict(params)
        call.spec_macro, call.impl_header = ("MF_WINDOW_DSP_SPEC",
                                             "kernels/dsp/signal_window_spec.h")
    return call


# ---- SignalFftAutoScale ----


def _check_auto_scale(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["int16"], ["int16", "int32"])
    if problems:
        return problems
    inp, out, bits = _t(graph, op, 0), _t(graph, op, 0, True), _t(graph, op, 1, True)
    problems += rank_problem(inp, "input", 1) + rank_problem(bits, "the scale output", 0)
    if inp.shape != out.shape:
        problems.append(f"input {list(inp.shape)} and output {list(out.shape)} differ")
    return problems


def _lower_auto_scale(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    return KernelCall(
        op=op,
        **_dsp(ctx, "mcuforge_signal_fft_auto_scale_s16"),
        source="signal_spectrum",
        params_type="mcuforge_signal_fft_auto_scale_params_t",
        params={"size": _t(graph, op, 0).size},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True),
              TensorArg(op.outputs[1], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )


# ---- SignalRfft ----


def kiss_factors(n: int) -> list[int]:
    """kissfft's kf_factor: powers of 4 first, then 2, then odd primes; outermost first."""
    radices = []
    p, floor_sqrt = 4, math.floor(math.sqrt(n))
    while True:
        while n % p:
            p = {4: 2, 2: 3}.get(p, p + 2)
            if p > floor_sqrt:
                p = n
        n //= p
        radices.append(p)
        if n <= 1:
            return radices


def kiss_input_order(n: int, radices: list[int]) -> np.ndarray:
    """The input index kissfft's recursion (kf_work) copies to each position before the
    innermost butterflies."""
    order = np.zeros(n, dtype=np.int64)

    def work(out: int, src: int, stride: int, depth: int) -> None:
        p = radices[depth]
        m = n // (stride * p)
        for k in range(p):
            if m == 1:
                order[out + k] = src + k * stride
            else:
                work(out + k * m, src + k * stride, stride * p, depth + 1)

    work(0, 0, 1, 0)
    return order


def _q15(phase: float) -> tuple[int, int]:
    """kissfft's fixed-point kf_cexp: floor(0.5 + 32767 * cos), the same for sin."""
    return math.floor(0.5 + 32767 * math.cos(phase)), math.floor(0.5 + 32767 * math.sin(phase))


def kiss_twiddles(n: int) -> np.ndarray:
    """kissfft's forward twiddles of an n-point complex FFT, as (re, im) int16 pairs."""
    pi = 3.141592653589793238462643383279502884197169399375105820974944
    return np.array([_q15(-2 * pi * i / n) for i in range(n)], dtype=np.int16).reshape(-1)


def kiss_super_twiddles(n: int) -> np.ndarray:
    """kiss_fftr's twiddles that split an n-point complex FFT into a 2n-point real one."""
    pi = 3.14159265358979323846264338327
    return np.array([_q15(-pi * ((i + 1) / n + 0.5)) for i in range(n // 2)],
                    dtype=np.int16).reshape(-1)


def rfft_plan_problems(fft_length: int) -> list[str]:
    if fft_length < 4 or fft_length % 2:
        return [f"fft_length {fft_length} must be even and at least 4"]
    radices = kiss_factors(fft_length // 2)
    bad = sorted({r for r in radices if r not in RADICES})
    if bad:
        return [f"fft_length {fft_length} needs a radix-{bad[0]} kissfft stage, which TFLM's "
                "heap-less kissfft cannot run (supported: products of 2, 3 and 5)"]
    if len(radices) > MAX_STAGES:
        return [f"fft_length {fft_length} needs {len(radices)} stages (at most {MAX_STAGES})"]
    if fft_length // 2 > 65535:
        return [f"fft_length {fft_length} is too large (at most 131070)"]
    return []


def _check_rfft(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["int16"], ["int16"])
    values, opt = custom_options(op, ("T", "fft_length"))
    problems += opt
    if problems:
        return problems
    if values["T"] != TFLITE_INT16:
        return [f"option T={values['T']} (mcuforge compiles the int16 RFFT, T={TFLITE_INT16})"]
    fft_length = int_option(values, "fft_length", 0, 1 << 20, problems)
    if problems:
        return problems
    problems += rfft_plan_problems(fft_length)
    inp, out = _t(graph, op, 0), _t(graph, op, 0, True)
    if not inp.shape or len(inp.shape) != len(out.shape):
        return problems + [f"input {list(inp.shape)} and output {list(out.shape)} ranks differ"]
    if inp.shape[-1] > fft_length:
        problems.append(f"input frames of {inp.shape[-1]} samples exceed fft_length {fft_length}")
    if out.shape[-1] != fft_length + 2:
        problems.append(f"output frames of {out.shape[-1]} values; fft_length {fft_length} "
                        f"gives {fft_length // 2 + 1} complex bins ({fft_length + 2} values)")
    if inp.shape[-1] == 0 or out.shape[:-1] != inp.shape[:-1]:
        problems.append(f"input {list(inp.shape)} and output {list(out.shape)} frames differ")
    return problems


def rfft_dsp_ok(fft_length: int, input_length: int) -> bool:
    """The DSP kernel's cases: radix-4 stages and at most one radix-2 stage, innermost (kissfft's
    factoring of a power of two), over frames of an even number of samples."""
    radices = kiss_factors(fft_length // 2)
    return set(radices[:-1]) <= {4} and radices[-1] in (2, 4) and input_length % 2 == 0


def block_of(n: int, radices: list[int]) -> np.ndarray:
    """For the DSP kernel: the innermost butterfly whose first leg reads input point r."""
    order = kiss_input_order(n, radices)
    p = radices[-1]
    table = np.zeros(n // p, dtype=np.uint16)
    table[order[::p]] = np.arange(n // p)
    return table


def rfft_params(op: Operator, fft_length: int, batches: int, input_length: int, *,
                dsp: bool = False) -> tuple[dict, list[ConstArray]]:
    n = fft_length // 2
    radices = kiss_factors(n)
    name = f"op{op.index}"
    consts = [
        ConstArray(f"{name}_perm", kiss_input_order(n, radices).astype(np.uint16)),
        ConstArray(f"{name}_tw", kiss_twiddles(n)),
        ConstArray(f"{name}_stw", kiss_super_twiddles(n)
                   if n >= 2 else np.zeros(2, np.int16)),
    ]
    params = {
        "batches": batches,
        "input_length": input_length,
        "fft_length": fft_length,
        "num_stages": len(radices),
        "radix": radices + [0] * (MAX_STAGES - len(radices)),
        "perm": consts[0],
        "twiddles": consts[1],
        "super_twiddles": consts[2],
        "block_of": None,
    }
    if dsp:
        consts[0] = ConstArray(f"{name}_blocks", block_of(n, radices))
        params["perm"], params["block_of"] = None, consts[0]
    return params, consts


def _lower_rfft(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, ("T", "fft_length"))
    inp = _t(graph, op, 0)
    fft_length = int(values["fft_length"])
    dsp = "dsp" in ctx.kernel_families and rfft_dsp_ok(fft_length, inp.shape[-1])
    params, consts = rfft_params(op, fft_length, inp.size // inp.shape[-1], inp.shape[-1],
                                 dsp=dsp)
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_rfft_s16_dsp" if dsp else "mcuforge_signal_rfft_s16",
        source="signal_spectrum",
        family="dsp" if dsp else "ref",
        params_type="mcuforge_signal_rfft_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        consts=consts,
    )


# ---- SignalEnergy ----


def _check_energy(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(op, graph, ["int16"], ["uint32"])
    values, opt = custom_options(op, ("end_index", "start_index"))
    problems += opt
    if problems:
        return problems
    inp, out = _t(graph, op, 0), _t(graph, op, 0, True)
    problems += rank_problem(inp, "input", 1) + rank_problem(out, "output", 1)
    if problems:
        return problems
    bins = min(inp.size // 2, out.size)
    end = int_option(values, "end_index", 0, bins, problems)
    int_option(values, "start_index", 0, end, problems)
    if problems:
        problems.append(f"(the spectrum has {inp.size // 2} bins, the output {out.size})")
    return problems


def _lower_energy(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    values, _ = custom_options(op, ("end_index", "start_index"))
    inp, out = _t(graph, op, 0), _t(graph, op, 0, True)
    dsp = "dsp" in ctx.kernel_families
    # Bin i's energy takes the bytes of complex bin i: in place when the sizes match.
    inplace = [(op.outputs[0], op.inputs[0])] if inp.nbytes == out.nbytes else []
    return KernelCall(
        op=op,
        kernel="mcuforge_signal_energy_s16_dsp" if dsp else "mcuforge_signal_energy_s16",
        source="signal_spectrum",
        family="dsp" if dsp else "ref",
        params_type="mcuforge_signal_energy_params_t",
        params={"start": int(values["start_index"]), "end": int(values["end_index"]),
                "size": out.size},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        inplace=inplace,
    )
