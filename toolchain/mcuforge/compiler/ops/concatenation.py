"""CONCATENATION along any axis, and PACK: TFLM's ``reference_ops::Concatenation`` and
``PackImpl``, byte copies (``kernels/concatenation.h``).

There is no requantization to do: TFLM micro's Prepare refuses an int8 CONCATENATION unless every
input has exactly the output's scale (compared as doubles) and zero point, and an int16 one
unless every zero point is 0, then copies the raw values. (The TFLite interpreter's
ConcatenationWithScaling is not what TFLM runs.) The converter always gives the inputs the
output's quantization; other models are refused here, as TFLM does. Constant inputs (an audio
front end appends constant rows to its activations) are read from flash like any input.

PACK stacks same-shaped inputs along a new axis: the bytes of a CONCATENATION along that axis of
the inputs with a 1 inserted there. TFLM's PACK has no Prepare and copies raw values whatever the
quantization says; the shapes are checked here instead.
"""

from __future__ import annotations

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, LowerContext, TensorArg
from mcuforge.compiler.ops.layout import itemsize, normalize_axis
from mcuforge.compiler.quant import f32
from mcuforge.model.ir import Graph, Operator, Tensor

OPCODES = ("CONCATENATION", "PACK")
MAX_INPUTS = 10  # TFLM's kMaxInputNum for CONCATENATION
MAX_DIMS = 6  # RuntimeShape::kMaxSmallSize: TFLM refuses more with static allocation
CONCAT_DTYPES = ("int8", "int16", "int32", "int64", "float32")  # and bool in TFLM
PACK_DTYPES = ("int8", "int16", "int32", "int64")  # and float32 in TFLM


def _inputs(op: Operator) -> list[int]:
    return [i for i in op.inputs if i >= 0]


def _quant_problem(t: Tensor, out: Tensor) -> str | None:
    """TFLM: int8 inputs must carry the output's exact scale and zero point, int16 ones zero
    point 0."""
    if t.dtype == "int16":
        if any(x.quant is not None and x.zero_point != 0 for x in (t, out)):
            return (f"int16 input t{t.index} or the output has a non-zero zero point (TFLM "
                    "refuses this)")
        return None
    if t.dtype != "int8":
        return None
    if t.quant is None or out.quant is None:
        return f"tensor {t.index} or the output has no quantization parameters"
    if float(f32(t.scale)) != float(f32(out.scale)) or t.zero_point != out.zero_point:
        return (
            f"input {t.index} is quantized (scale {t.scale:g}, zero point {t.zero_point}) "
            f"unlike the output (scale {out.scale:g}, zero point {out.zero_point}); TFLM "
            "concatenates int8 without requantizing and refuses this"
        )
    return None


def _axis(op: Operator, graph: Graph) -> int | None:
    """The axis of the output the inputs are joined along."""
    rank = len(graph.tensors[op.outputs[0]].shape)
    return normalize_axis(int(op.options.get("axis", 0)), rank)


def _common_problems(op: Operator, graph: Graph, dtypes: tuple[str, ...]) -> list[str]:
    problems: list[str] = []
    inputs = _inputs(op)
    if not inputs or len(op.outputs) != 1:
        return ["needs inputs and one output"]
    out = graph.tensors[op.outputs[0]]
    if out.dtype not in dtypes:
        problems.append(f"output is {out.dtype} (supported: {', '.join(dtypes)})")
    if len(out.shape) > MAX_DIMS:
        problems.append(f"output has {len(out.shape)} dimensions (at most {MAX_DIMS})")
    if out.size == 0:
        problems.append(f"output t{out.index} is empty")
    if out.index in graph.inputs:
        problems.append("output is also a graph input")
    for i in inputs:
        if graph.tensors[i].dtype != out.dtype:
            problems.append(f"input {i} is {graph.tensors[i].dtype}, output is {out.dtype}")
    return problems


def _concat_problems(op: Operator, graph: Graph) -> list[str]:
    problems = _common_problems(op, graph, CONCAT_DTYPES)
    act = op.options.get("fused_activation_function", "NONE")
    if act != "NONE":
        # TFLM's Prepare refuses any fused activation on CONCATENATION.
        problems.append(f"fused activation {act} (TFLM supports NONE only)")
    if problems:
        return problems
    inputs, out = _inputs(op), graph.tensors[op.outputs[0]]
    if len(inputs) > MAX_INPUTS:
        problems.append(f"{len(inputs)} inputs (TFLM supports at most {MAX_INPUTS})")
    rank = len(out.shape)
    axis = _axis(op, graph)
    if axis is None:
        return problems + [f"axis {op.options.get('axis')} out of range for {rank}-D tensors"]
    total = 0
    for i in inputs:
        t = graph.tensors[i]
        if (q := _quant_problem(t, out)) is not None and q not in problems:
            problems.append(q)
        if len(t.shape) != rank or any(
            a != b for k, (a, b) in enumerate(zip(t.shape, out.shape, strict=True)) if k != axis
        ):
            problems.append(
                f"input {list(t.shape)} does not fit output {list(out.shape)} on axis {axis}"
            )
        else:
            total += t.shape[axis]
    if not problems and total != out.shape[axis]:
        problems.append(f"inputs give {total} along axis {axis}, output has {out.shape[axis]}")
    return problems


def _pack_problems(op: Operator, graph: Graph) -> list[str]:
    problems = _common_problems(op, graph, PACK_DTYPES)
    if problems:
        return problems
    inputs, out = _inputs(op), graph.tensors[op.outputs[0]]
    count = int(op.options.get("values_count", len(inputs)))
    if count != len(inputs):
        return [f"values_count is {count} for {len(inputs)} inputs"]
    axis = _axis(op, graph)
    if axis is None:
        return [f"axis {op.options.get('axis')} out of range for a {len(out.shape)}-D output"]
    first = list(graph.tensors[inputs[0]].shape)
    for i in inputs[1:]:
        if list(graph.tensors[i].shape) != first:
            problems.append(f"input t{i} {list(graph.tensors[i].shape)} differs from {first}")
    want = first[:axis] + [len(inputs)] + first[axis:]
    if not problems and list(out.shape) != want:
        problems.append(f"output t{out.index} has shape {list(out.shape)}; stacking "
                        f"{len(inputs)} x {first} on axis {axis} gives {want}")
    return problems


def check(op: Operator, graph: Graph) -> list[str]:
    return _concat_problems(op, graph) if op.opcode == "CONCATENATION" else _pack_problems(
        op, graph)


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    out = graph.tensors[op.outputs[0]]
    inputs = _inputs(op)
    axis = _axis(op, graph)
    assert axis is not None
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    chunks = [graph.tensors[i].size // outer * itemsize(out) for i in inputs]
    assert sum(chunks) * outer == out.nbytes
    table = ConstArray(f"op{op.index}_chunks", np.array(chunks, dtype=np.int32))
    return KernelCall(
        op=op,
        kernel="mcuforge_concatenation",
        source="concatenation",
        params_type="mcuforge_concat_params_t",
        params={"outer": outer, "num_inputs": len(inputs), "chunk_bytes": table},
        args=[TensorArg(op.outputs[0], True, untyped=True)]
        + [TensorArg(i, untyped=True) for i in inputs],
        consts=[table],
    )
