"""UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights with an int16 cell state.

TFLM's integer LSTM (``unidirectional_sequence_lstm.cc``, ``lstm_eval.h``,
``lstm_eval_common.cc``): every gate is two fully connected layers (input, previous hidden state)
requantized to int16 with scale 2**-12 and added with saturation; sigmoid and tanh run on int16
tables; the inter-gate products are requantized with multipliers from the float scales (2**-15
for gate outputs, the cell state's power-of-two scale). The hidden and cell state are variable
tensors that TFLM keeps between invocations, so they live in the state region here and the model
is stateful: every invocation continues the sequence until ``<model>_reset()``.

Supported: the converter's Keras LSTM (all four gates, no peepholes, projection or layer
normalisation), per-tensor symmetric int8 weights, TANH cell activation, either time layout.
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.compiler.ops.base import (
    ConstArray,
    KernelCall,
    LowerContext,
    StateArray,
    TensorArg,
)
from mcuforge.compiler.quant import f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator, Tensor

OPCODES = ("UNIDIRECTIONAL_SEQUENCE_LSTM",)

INPUT, IN_WEIGHTS, REC_WEIGHTS, BIAS = 0, (1, 2, 3, 4), (5, 6, 7, 8), (12, 13, 14, 15)
HIDDEN, CELL = 18, 19
#: Optional inputs TFLM's LSTM rejects when present: peepholes, projection, layer norm.
ABSENT = (9, 10, 11, 16, 17, 20, 21, 22, 23)
GATE_NAMES = ("input", "forget", "cell", "output")
GATE_INPUT_SCALE = 2.0**-12  # the gates' fully connected outputs, Q3.12
GATE_OUTPUT_SCALE = 2.0**-15  # sigmoid / tanh outputs, Q0.15


def _input(graph: Graph, op: Operator, i: int) -> Tensor | None:
    if i >= len(op.inputs) or op.inputs[i] < 0:
        return None
    return graph.tensors[op.inputs[i]]


def check(op: Operator, graph: Graph) -> list[str]:
    if len(op.inputs) != 24 or len(op.outputs) != 1:
        return [f"{len(op.inputs)} inputs and {len(op.outputs)} outputs; TFLM's LSTM needs 24 "
                "and 1"]
    problems = []
    present = [i for i in ABSENT if _input(graph, op, i) is not None]
    if present:
        problems.append(f"inputs {present} (peephole, projection or layer-norm tensors) are "
                        "set; the supported LSTM has none")
    needed = (INPUT, *IN_WEIGHTS, *REC_WEIGHTS, *BIAS, HIDDEN, CELL)
    missing = [i for i in needed if _input(graph, op, i) is None]
    if missing:
        return problems + [f"inputs {missing} are missing (a coupled input-forget gate or no "
                           "bias; the supported LSTM has all four gates with biases)"]
    x, h, c = (graph.tensors[op.inputs[i]] for i in (INPUT, HIDDEN, CELL))
    out = graph.tensors[op.outputs[0]]
    want = {"input": (x, "int8"), "output": (out, "int8"), "hidden state": (h, "int8"),
            "cell state": (c, "int16")}
    for role, (t, dtype) in want.items():
        if t.dtype != dtype or t.quant is None:
            problems.append(f"{role} tensor {t.index} is {t.dtype}"
                            f"{'' if t.quant else ' without quantization'}; needs quantized "
                            f"{dtype}")
    for i in (*IN_WEIGHTS, *REC_WEIGHTS):
        w = graph.tensors[op.inputs[i]]
        if w.dtype != "int8" or w.quant is None or w.data is None:
            problems.append(f"weights tensor {w.index} is {w.dtype}; needs constant int8")
        elif w.quant.per_channel or w.zero_point != 0:
            problems.append(f"weights tensor {w.index} is not per-tensor symmetric int8")
    for i in BIAS:
        b = graph.tensors[op.inputs[i]]
        if b.dtype != "int32" or b.data is None:
            problems.append(f"bias tensor {b.index} is {b.dtype}; needs constant int32")
    if not (h.is_variable and c.is_variable):
        problems.append("the hidden and cell state tensors are not variable tensors")
    if op.options.get("fused_activation_function") != "TANH":
        problems.append(f"cell activation {op.options.get('fused_activation_function')} "
                        "(TFLM's integer LSTM runs TANH)")
    if problems:
        return problems
    return _shape_problems(op, graph) + _scale_problems(h, c)


def _sizes(op: Operator, graph: Graph) -> tuple[int, int, int, int]:
    """(batches, steps, input size, units)."""
    x, h = graph.tensors[op.inputs[INPUT]], graph.tensors[op.inputs[HIDDEN]]
    time_major = bool(op.options.get("time_major"))
    steps, batches = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    return batches, steps, x.shape[2], h.shape[-1]


def _shape_problems(op: Operator, graph: Graph) -> list[str]:
    x, h, c = (graph.tensors[op.inputs[i]] for i in (INPUT, HIDDEN, CELL))
    out = graph.tensors[op.outputs[0]]
    if len(x.shape) != 3 or len(h.shape) != 2:
        return [f"input tensor {x.index} has shape {list(x.shape)} and hidden state "
                f"{list(h.shape)}; needs 3 and 2 dimensions"]
    batches, steps, size, units = _sizes(op, graph)
    problems = []
    for i, cols in ((IN_WEIGHTS, size), (REC_WEIGHTS, units)):
        for j in i:
            w = graph.tensors[op.inputs[j]]
            if w.shape != (units, cols):
                problems.append(f"weights tensor {w.index} has shape {list(w.shape)}, "
                                f"expected {[units, cols]}")
    for j in BIAS:
        b = graph.tensors[op.inputs[j]]
        if b.shape != (units,):
            problems.append(f"bias tensor {b.index} has shape {list(b.shape)}, expected "
                            f"{[units]}")
    for t in (h, c):
        if t.size != batches * units:
            problems.append(f"state tensor {t.index} has shape {list(t.shape)}, expected "
                            f"{batches * units} values")
    want = (x.shape[0], x.shape[1], units)
    if out.shape != want:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}; input "
                        f"{list(x.shape)} and {units} units give {list(want)}")
    return problems


def _cell_power(c: Tensor) -> tuple[int, bool]:
    """TFLM's CheckedLog2 of the cell state scale, in float32 as it computes: (power, exact)."""
    log2 = np.log(np.float32(c.scale)) * (np.float32(1.0) / np.log(np.float32(2.0)))
    rounded = math.copysign(math.floor(abs(float(log2)) + 0.5), float(log2))
    return int(rounded), abs(float(log2) - rounded) < 1e-3


def _scale_problems(h: Tensor, c: Tensor) -> list[str]:
    power, exact = _cell_power(c)
    if not exact or c.zero_point != 0:
        return [f"cell state tensor {c.index} has scale {c.scale:g} and zero point "
                f"{c.zero_point}; TFLM's integer LSTM needs a power of two and zero"]
    if not -27 <= power <= 0:
        return [f"cell state scale 2**{power} is outside what the int16 tanh rescaling handles"]
    return []


def _fc_params(x: Tensor, w: Tensor, bias: np.ndarray | None) -> tuple[np.ndarray, int, int]:
    """The folded bias (bias + input offset * row sums) and the requantization to Q3.12."""
    mult, shift = quantize_multiplier(float(f32(x.scale)) * float(f32(w.scale)) / GATE_INPUT_SCALE)
    assert w.data is not None
    sums = w.data.astype(np.int64).sum(axis=1)
    folded = (bias.astype(np.int64) if bias is not None else 0) - x.zero_point * sums
    wrapped = ((folded + (1 << 31)) % (1 << 32)) - (1 << 31)  # int32 arithmetic wraps
    return wrapped.astype(np.int32), mult, shift


def _inter_gate(scale1: float, scale2: float, out_scale: float) -> tuple[int, int]:
    return quantize_multiplier(float(f32(scale1)) * float(f32(scale2)) / float(f32(out_scale)))


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    x, h, c = (graph.tensors[op.inputs[i]] for i in (INPUT, HIDDEN, CELL))
    batches, steps, size, units = _sizes(op, graph)
    in_w, rec_w, in_b, rec_b = [], [], [], []
    params: dict = {"in_multiplier": [], "in_shift": [], "rec_multiplier": [], "rec_shift": []}
    for g in range(4):
        w = graph.tensors[op.inputs[IN_WEIGHTS[g]]]
        b = graph.tensors[op.inputs[BIAS[g]]].data
        folded, mult, shift = _fc_params(x, w, b)
        in_w.append(w.data)
        in_b.append(folded)
        params["in_multiplier"].append(mult)
        params["in_shift"].append(shift)
        rw = graph.tensors[op.inputs[REC_WEIGHTS[g]]]
        folded, mult, shift = _fc_params(h, rw, None)
        rec_w.append(rw.data)
        rec_b.append(folded)
        params["rec_multiplier"].append(mult)
        params["rec_shift"].append(shift)
    consts = [
        ConstArray(f"op{op.index}_in_weights", np.concatenate(in_w).astype(np.int8)),
        ConstArray(f"op{op.index}_rec_weights", np.concatenate(rec_w).astype(np.int8)),
        ConstArray(f"op{op.index}_in_bias", np.concatenate(in_b).astype(np.int32)),
        ConstArray(f"op{op.index}_rec_bias", np.concatenate(rec_b).astype(np.int32)),
    ]
    power, _ = _cell_power(c)
    forget = _inter_gate(GATE_OUTPUT_SCALE, c.scale, c.scale)
    inp = _inter_gate(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, c.scale)
    hidden = _inter_gate(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, h.scale)
    # lstm_eval.cc's Tanh: left shift (15 + power) - 3, or multiplier 3 and a right shift.
    tanh_shift = 15 + power - 3
    tanh_mult = 0 if tanh_shift >= 0 else 3
    clip = float(f32(op.options.get("cell_clip", 0.0)))
    quantized_clip = -1
    if clip > 0:
        quantized_clip = int(min(max(clip / float(f32(c.scale)), -32768.0), 32767.0))
    params.update({
        "batches": batches,
        "steps": steps,
        "input_size": size,
        "units": units,
        "time_major": int(bool(op.options.get("time_major"))),
        "in_weights": consts[0],
        "rec_weights": consts[1],
        "in_bias": consts[2],
        "rec_bias": consts[3],
        "forget_multiplier": forget[0],
        "forget_shift": forget[1],
        "input_multiplier": inp[0],
        "input_shift": inp[1],
        "hidden_multiplier": hidden[0],
        "hidden_shift": hidden[1],
        "hidden_zero_point": h.zero_point,
        "cell_tanh_multiplier": tanh_mult,
        "cell_tanh_shift": abs(tanh_shift),
        "cell_clip": quantized_clip,
    })
    # TFLM resets variable tensors to the zero point (int8) or zero, whatever their buffer holds.
    hidden_init = np.full(batches * units, h.zero_point, dtype=np.int8)
    cell_init = np.zeros(batches * units, dtype=np.int16)
    dsp = "dsp" in ctx.kernel_families
    return KernelCall(
        op=op,
        kernel="mcuforge_lstm_s8_dsp" if dsp else "mcuforge_lstm_s8",
        source="lstm",
        family="dsp" if dsp else "ref",
        params_type="mcuforge_lstm_params_t",
        params=params,
        args=[TensorArg(op.inputs[INPUT]), TensorArg(op.outputs[0], True)],
        consts=consts,
        state=[StateArray(f"op{op.index}_hidden", hidden_init),
               StateArray(f"op{op.index}_cell", cell_init)],
        scratch_bytes=4 * units * 2,
        macs=batches * steps * 4 * units * (size + units),
    )
