"""CONCATENATION along any axis: TFLM's ``reference_ops::Concatenation``, a byte copy.

There is no requantization to do: TFLM micro's Prepare refuses an int8 CONCATENATION unless every
input has exactly the output's scale (compared as doubles) and zero point, then copies the raw
values. (The TFLite interpreter's ConcatenationWithScaling is not what TFLM runs.) The converter
always gives the inputs the output's quantization; other models are refused here, as TFLM does.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32
from mcuforge.model.ir import NUMPY_DTYPES, Graph, Operator, Tensor

OPCODES = ("CONCATENATION",)
MAX_INPUTS = 10  # TFLM's kMaxInputNum; the kernel takes this many input pointers
MAX_DIMS = 4  # TFLM refuses more with static allocation
DTYPES = ("int8", "int16", "int32", "int64", "float32")


def _axis(op: Operator, rank: int) -> int:
    axis = int(op.options.get("axis", 0))
    return axis + rank if axis < 0 else axis


def _quant_problem(t: Tensor, out: Tensor) -> str | None:
    """TFLM: int8 inputs must carry the output's exact scale and zero point."""
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


def check(op: Operator, graph: Graph) -> list[str]:
    problems: list[str] = []
    act = op.options.get("fused_activation_function", "NONE")
    if act != "NONE":
        # TFLM's Prepare refuses any fused activation on CONCATENATION.
        problems.append(f"fused activation {act} (TFLM supports NONE only)")
    inputs = [i for i in op.inputs if i >= 0]
    if not inputs or len(op.outputs) != 1:
        return problems + ["needs inputs and one output"]
    if len(inputs) > MAX_INPUTS:
        problems.append(f"{len(inputs)} inputs (at most {MAX_INPUTS})")
    out = graph.tensors[op.outputs[0]]
    if out.dtype not in DTYPES:
        problems.append(f"output is {out.dtype} (supported: {', '.join(DTYPES)})")
    rank = len(out.shape)
    if rank > MAX_DIMS:
        problems.append(f"output has {rank} dimensions (at most {MAX_DIMS})")
    axis = _axis(op, rank)
    if not 0 <= axis < rank:
        return problems + [f"axis {op.options.get('axis')} out of range for {rank}-D tensors"]
    total = 0
    for i in inputs:
        t = graph.tensors[i]
        if t.dtype != out.dtype:
            problems.append(f"input {i} is {t.dtype}, output is {out.dtype}")
        elif (q := _quant_problem(t, out)) is not None and q not in problems:
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


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    out = graph.tensors[op.outputs[0]]
    inputs = [i for i in op.inputs if i >= 0]
    rank = len(out.shape)
    axis = _axis(op, rank)
    outer = 1
    for d in out.shape[:axis]:
        outer *= d
    inner = NUMPY_DTYPES[out.dtype].itemsize
    for d in out.shape[axis + 1 :]:
        inner *= d
    chunk = [graph.tensors[i].shape[axis] * inner for i in inputs]
    return KernelCall(
        op=op,
        kernel="mcuforge_concatenation",
        source="concatenation",
        params_type="mcuforge_concat_params_t",
        params={
            "outer": outer,
            "num_inputs": len(inputs),
            "chunk_bytes": chunk + [0] * (MAX_INPUTS - len(chunk)),
        },
        args=[TensorArg(i) for i in inputs]
        + [TensorArg(-1)] * (MAX_INPUTS - len(inputs))
        + [TensorArg(op.outputs[0], True)],
    )
