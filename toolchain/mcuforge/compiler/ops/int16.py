"""16x8 models (int16 activations, int8 weights): the int16 forms of CONV_2D, DEPTHWISE_CONV_2D,
FULLY_CONNECTED, ADD, MUL, LOGISTIC, TANH and the pools, as TFLM's int16 reference kernels
compute them.

Each op module dispatches here when its first input is a quantized int16 tensor
(:func:`uses_int16`); no ``OPCODES``, so the registry does not load this module as an op. What
differs from int8, exactly as TFLM does it:

* int16 activations are symmetric: zero points must be 0.
* CONV / DEPTHWISE / FULLY_CONNECTED accumulate in the bias's width: int64 (the converter's
  default) with the int64 ``MultiplyByQuantizedMultiplier`` (multiplier rounded to 16 bits, one
  rounding shift), or int32 with the usual double rounding.
* ADD rescales with a left shift of 15 instead of 20.
* LOGISTIC and TANH interpolate a 256-entry sigmoid table; the input rescaling comes from the
  input scale (a power of two 2**-12, or a multiplier found by doubling ``scale * 4096 * 3``);
  the output scale must be 2**-15.
* SOFTMAX interpolates two 513-entry tables (exp and 1 / (1 + x)) that TFLM computes in float
  at Prepare; the compiler computes them the same way, with the C library's expf.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from mcuforge.compiler.ops.base import (
    ConstArray,
    KernelCall,
    TensorArg,
    broadcast_params,
    broadcast_problem,
    check_activation,
)
from mcuforge.compiler.ops.spatial import (
    bias_arg,
    channel_requant,
    row_overlap,
    weights_problems,
    window,
    window_problems,
)
from mcuforge.compiler.quant import activation_range, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator, Tensor

ADD_LEFT_SHIFT = 15


def uses_int16(op: Operator, graph: Graph) -> bool:
    """Whether the node is the int16 form of its op (its first input is int16)."""
    return bool(op.inputs) and op.inputs[0] >= 0 and graph.tensors[op.inputs[0]].dtype == "int16"


def _symmetric(graph: Graph, op: Operator, roles: dict[str, int]) -> list[str]:
    """int16 tensors with per-tensor quantization and zero point 0."""
    problems = []
    for role, index in roles.items():
        t = graph.tensors[index]
        if t.dtype != "int16":
            problems.append(f"{role} tensor {t.index} is {t.dtype}; a 16x8 {op.opcode} needs "
                            "int16")
        elif t.quant is None or t.quant.per_channel:
            problems.append(f"{role} tensor {t.index} has no per-tensor quantization")
        elif t.zero_point != 0:
            problems.append(f"{role} tensor {t.index} has zero point {t.zero_point}; int16 "
                            "activations need 0")
    return problems


def _bias_problems(graph: Graph, op: Operator, channels: int) -> list[str]:
    if bias_arg(op) < 0:
        return []
    bias = graph.tensors[bias_arg(op)]
    if bias.dtype not in ("int64", "int32") or bias.data is None or bias.size != channels:
        return [f"bias tensor {bias.index} is {bias.dtype} {list(bias.shape)}; a 16x8 layer "
                f"needs constant int64 (or int32) [{channels}]"]
    return []


def _bias_suffix(graph: Graph, op: Operator) -> str:
    """Kernel name suffix: int32 bias means int32 accumulation in TFLM."""
    b = bias_arg(op)
    return "_b32" if b >= 0 and graph.tensors[b].dtype == "int32" else ""


def check_conv(op: Operator, graph: Graph) -> list[str]:
    """CONV_2D and DEPTHWISE_CONV_2D."""
    problems = _symmetric(graph, op, {"input": op.inputs[0], "output": op.outputs[0]})
    problems += check_activation(op)
    weights = graph.tensors[op.inputs[1]]
    if weights.dtype != "int8" or len(weights.shape) != 4:
        problems.append(f"weights tensor {weights.index} is {weights.dtype} "
                        f"{list(weights.shape)}; needs 4-D int8")
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    depthwise = op.opcode == "DEPTHWISE_CONV_2D"
    oc = weights.shape[3] if depthwise else weights.shape[0]
    fh, fw = weights.shape[1], weights.shape[2]
    problems += window_problems(op, inp, out, fh, fw)
    if problems:
        return problems
    ic = inp.shape[3]
    if depthwise and (weights.shape[0] != 1 or oc % ic or out.shape[3] != oc):
        problems.append(f"weights {list(weights.shape)} do not fit {ic} input and "
                        f"{out.shape[3]} output channels")
    if not depthwise and (weights.shape[3] != ic or out.shape[3] != oc):
        problems.append(f"weights {list(weights.shape)} do not fit {ic} input and "
                        f"{out.shape[3]} output channels (grouped convolutions unsupported)")
    problems += weights_problems(weights, oc, quant_axis=3 if depthwise else 0)
    return problems + _bias_problems(graph, op, oc)


def lower_conv(op: Operator, graph: Graph) -> KernelCall:
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    depthwise = op.opcode == "DEPTHWISE_CONV_2D"
    oc = weights.shape[3] if depthwise else weights.shape[0]
    fh, fw = weights.shape[1], weights.shape[2]
    w = window(op, inp, out, fh, fw)
    requant, consts = channel_requant(op, inp, weights, out)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    params = {**w.params(), "input_offset": 0, "output_offset": 0, "act_min": act_min,
              "act_max": act_max, **requant}
    if depthwise:
        params = {**w.params(), "depth_multiplier": oc // w.in_c, "input_offset": 0,
                  "output_offset": 0, "act_min": act_min, "act_max": act_max, **requant}
    name = "depthwise_conv2d" if depthwise else "conv2d"
    return KernelCall(
        op=op,
        kernel=f"mcuforge_{name}_s16{_bias_suffix(graph, op)}",
        source="conv_s16",
        params_type="mcuforge_dw_conv_params_t" if depthwise else "mcuforge_conv_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(bias_arg(op)),
              TensorArg(op.outputs[0], True)],
        consts=consts,
        macs=w.batches * w.out_h * w.out_w * oc * fh * fw * (1 if depthwise else w.in_c),
        overlap=row_overlap(w, inp, out),
    )


def check_fully_connected(op: Operator, graph: Graph) -> list[str]:
    problems = _symmetric(graph, op, {"input": op.inputs[0], "output": op.outputs[0]})
    problems += check_activation(op)
    weights = graph.tensors[op.inputs[1]]
    if weights.dtype != "int8" or len(weights.shape) != 2 or weights.data is None:
        return problems + [f"weights tensor {weights.index} is {weights.dtype} "
                           f"{list(weights.shape)}; needs constant 2-D int8"]
    problems += weights_problems(weights, weights.shape[0], quant_axis=0)
    problems += _bias_problems(graph, op, weights.shape[0])
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if not problems and inp.size % weights.shape[1]:
        problems.append(f"input tensor {inp.index} {list(inp.shape)} is not a whole number of "
                        f"rows of {weights.shape[1]}")
    elif not problems and out.size != inp.size // weights.shape[1] * weights.shape[0]:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}; input "
                        f"{list(inp.shape)} times weights {list(weights.shape)} give "
                        f"{inp.size // weights.shape[1] * weights.shape[0]} values")
    return problems


def lower_fully_connected(op: Operator, graph: Graph) -> KernelCall:
    inp, weights, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    output_depth, accum_depth = weights.shape
    requant, consts = channel_requant(op, inp, weights, out)
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    batches = inp.size // accum_depth
    return KernelCall(
        op=op,
        kernel=f"mcuforge_fully_connected_s16{_bias_suffix(graph, op)}",
        source="conv_s16",
        params_type="mcuforge_fc_params_t",
        params={"batches": batches, "accum_depth": accum_depth, "output_depth": output_depth,
                "input_offset": 0, "filter_offset": 0, "output_offset": 0, "act_min": act_min,
                "act_max": act_max, **requant},
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(bias_arg(op)),
              TensorArg(op.outputs[0], True)],
        consts=consts,
        macs=batches * accum_depth * output_depth,
    )


def check_binary(op: Operator, graph: Graph) -> list[str]:
    """ADD and MUL."""
    problems = _symmetric(graph, op, {"input 0": op.inputs[0], "input 1": op.inputs[1],
                                      "output": op.outputs[0]})
    problems += check_activation(op)
    if problems:
        return problems
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if (p := broadcast_problem(a.shape, b.shape)) is not None:
        return [p]
    if not all(math.isfinite(t.scale) and t.scale > 0 for t in (a, b, out)):
        return ["a quantization scale is zero, negative or not finite"]
    if op.opcode == "ADD":
        twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
        if not twice_max / ((1 << ADD_LEFT_SHIFT) * float(f32(out.scale))) < 1.0:
            problems.append(f"output scale {out.scale:.3g} is too small for the inputs' scales "
                            "(TFLM rejects this ADD too)")
    return problems


def lower_binary(op: Operator, graph: Graph) -> KernelCall:
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    act_min, act_max = activation_range(op.options.get("fused_activation_function", "NONE"), out)
    common = {"input1_offset": 0, "input2_offset": 0, "output_offset": 0}
    if op.opcode == "ADD":
        twice_max = 2.0 * float(max(f32(a.scale), f32(b.scale)))
        m1, s1 = quantize_multiplier(float(f32(a.scale)) / twice_max)
        m2, s2 = quantize_multiplier(float(f32(b.scale)) / twice_max)
        mo, so = quantize_multiplier(twice_max / ((1 << ADD_LEFT_SHIFT) * float(f32(out.scale))))
        params = {**common, "left_shift": ADD_LEFT_SHIFT, "input1_multiplier": m1,
                  "input1_shift": s1, "input2_multiplier": m2, "input2_shift": s2,
                  "output_multiplier": mo, "output_shift": so}
    else:
        mo, so = quantize_multiplier(
            float(f32(a.scale)) * float(f32(b.scale)) / float(f32(out.scale)))
        params = {**common, "output_multiplier": mo, "output_shift": so}
    params.update({"act_min": act_min, "act_max": act_max,
                   **broadcast_params(a.shape, b.shape, out.shape)})
    flat = params["flat_size"] > 0
    return KernelCall(
        op=op,
        kernel=f"mcuforge_{op.opcode.lower()}_s16",
        source="s16_elementwise",
        params_type=f"mcuforge_{op.opcode.lower()}_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0]), (op.outputs[0], op.inputs[1])] if flat else [],
    )


def _log2(scale: float) -> tuple[int, bool]:
    """TFLM's CheckedLog2 in float32: (rounded log2, whether the scale is a power of two)."""
    log2 = float(np.log(np.float32(scale)) * (np.float32(1.0) / np.log(np.float32(2.0))))
    rounded = math.copysign(math.floor(abs(log2) + 0.5), log2)
    return int(rounded), abs(log2 - rounded) < 1e-3


def lut_rescaling(op: Operator, inp: Tensor) -> tuple[int, int]:
    """(input multiplier, left shift) of int16 LOGISTIC / TANH Prepare (3 integer bits)."""
    power, exact = _log2(inp.scale)
    shift = (15 - 3) + power
    allowed = (0,) if op.opcode == "LOGISTIC" else (0, 1)
    if exact and shift in allowed:
        return 0, shift
    multiplier, shift = float(f32(inp.scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def check_lut(op: Operator, graph: Graph) -> list[str]:
    """LOGISTIC and TANH."""
    problems = _symmetric(graph, op, {"input": op.inputs[0], "output": op.outputs[0]})
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if out.shape != inp.shape:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}, input "
                        f"{list(inp.shape)}")
    power, exact = _log2(out.scale)
    if not exact or power != -15:
        problems.append(f"output scale {out.scale:g} is not 2**-15 (TFLM's int16 {op.opcode} "
                        "needs it)")
    if not math.isfinite(inp.scale) or inp.scale <= 0 or lut_rescaling(op, inp)[0] > 32767:
        problems.append(f"input scale {inp.scale:g} is outside what TFLM's int16 {op.opcode} "
                        "handles")
    return problems


def lower_lut(op: Operator, graph: Graph) -> KernelCall:
    inp = graph.tensors[op.inputs[0]]
    multiplier, shift = lut_rescaling(op, inp)
    return KernelCall(
        op=op,
        kernel=f"mcuforge_{op.opcode.lower()}_s16",
        source="s16_elementwise",
        params_type="mcuforge_lut16_params_t",
        params={"size": inp.size, "input_multiplier": multiplier, "input_left_shift": shift},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )


def _libm_expf() -> Any:
    """The C library's expf: TFLM's int16 SOFTMAX tables are computed with it (std::exp on a
    float), and the reference wheel links the same C library."""
    import ctypes
    import ctypes.util

    libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    libm.expf.restype = ctypes.c_float
    libm.expf.argtypes = [ctypes.c_float]
    return libm.expf


def lut_int16(transform: Callable[[np.float32], np.float32], input_scale: np.float32,
              input_zero_point: int, output_scale: np.float32) -> np.ndarray:
    """TFLM's LUTPopulateInt16<float>: 513 int16 samples of ``transform`` (in float32, every
    operation rounded as the C++ does), each corrected by half the interpolation error at the
    midpoint of its segment."""
    f = np.float32
    input_min = input_scale * f(-32768 - input_zero_point)
    input_max = input_scale * f(32767 - input_zero_point)
    output_min, output_max = output_scale * f(-32768), output_scale * f(32767)
    steps = 512
    step = (input_max - input_min) / f(steps)
    half_step = step / f(2)
    scaling_inv = f(65536) / (output_max - output_min)

    def rnd(x: np.float32) -> np.float32:
        return f(math.copysign(math.floor(abs(float(x)) + 0.5), float(x)))

    table = []
    for i in range(steps):
        val = transform(input_min + f(i) * step)
        mid = transform(input_min + f(i) * step + half_step)
        nxt = transform(input_min + f(i + 1) * step)
        sample = rnd(val * scaling_inv)
        interp = rnd((nxt * scaling_inv + rnd(val * scaling_inv)) / f(2))
        bias = rnd((interp - rnd(mid * scaling_inv)) / f(2))
        table.append(min(max(float(sample - bias), -32768.0), 32767.0))
    table.append(min(max(float(rnd(transform(input_max) * scaling_inv)), -32768.0), 32767.0))
    return np.array(table, dtype=np.int16)


def softmax_tables() -> tuple[np.ndarray, np.ndarray]:
    """The exp and 1 / (1 + x) tables of TFLM's int16 SOFTMAX (the same for every model)."""
    f, span = np.float32, 65535
    expf = _libm_expf()
    exp_lut = lut_int16(lambda v: f(expf(float(v))), f(10.0) / f(span), 32767, f(2.0) / f(span))
    recip = lut_int16(lambda v: f(1.0) / (f(1.0) + v), f(1.0) / f(span), -32768, f(2.0) / f(span))
    return exp_lut, recip


def check_softmax(op: Operator, graph: Graph) -> list[str]:
    problems = _symmetric(graph, op, {"input": op.inputs[0], "output": op.outputs[0]})
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if abs(float(f32(out.scale)) - 1.0 / 32768) > 0.001 / 32768:
        problems.append(f"output scale {out.scale:g} is not 1/32768 (TFLM's int16 SOFTMAX "
                        "needs it)")
    if out.shape != inp.shape or not inp.shape:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}, input "
                        f"{list(inp.shape)}")
    return problems


def lower_softmax(op: Operator, graph: Graph) -> KernelCall:
    inp = graph.tensors[op.inputs[0]]
    beta = float(f32(op.options.get("beta", 1.0)))
    multiplier, shift = quantize_multiplier(float(f32(inp.scale)) * beta / (10.0 / 65535.0))
    exp_lut, recip = softmax_tables()
    tables = [ConstArray(f"op{op.index}_exp_lut", exp_lut),
              ConstArray(f"op{op.index}_recip_lut", recip)]
    depth = inp.shape[-1]
    return KernelCall(
        op=op,
        kernel="mcuforge_softmax_s16",
        source="s16_elementwise",
        params_type="mcuforge_softmax16_params_t",
        params={"outer_size": inp.size // depth, "depth": depth, "input_multiplier": multiplier,
                "input_left_shift": shift, "exp_lut": tables[0], "recip_lut": tables[1]},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        consts=tables,
    )
