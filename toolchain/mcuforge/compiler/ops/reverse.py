"""REVERSE_V2 (int8, int16) over contiguous constant axes, as TFLM supports it: what a Keras
recurrent layer with ``go_backwards=True`` converts to in front of its fused op."""

from __future__ import annotations

from math import prod

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32
from mcuforge.model.ir import Graph, Operator

OPCODES = ("REVERSE_V2",)


def _axes(graph: Graph, op: Operator) -> list[int] | None:
    axis = graph.tensors[op.inputs[1]]
    if axis.data is None or axis.dtype != "int32":
        return None
    rank = len(graph.tensors[op.inputs[0]].shape)
    return sorted(int(a) + rank if a < 0 else int(a) for a in axis.data.reshape(-1))


def check(op: Operator, graph: Graph) -> list[str]:
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        return ["needs 2 inputs and 1 output"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.dtype not in ("int8", "int16") or out.dtype != inp.dtype:
        return [f"input tensor {inp.index} is {inp.dtype}, output {out.dtype} (supported: int8, "
                "int16, the same for both)"]
    problems = []
    if inp.quant is not None and out.quant is not None and (
            f32(inp.scale) != f32(out.scale) or inp.zero_point != out.zero_point):
        problems.append(f"output tensor {out.index} is quantized differently from its input")
    axes = _axes(graph, op)
    if axes is None:
        return problems + ["the axis input must be a constant int32 tensor"]
    if not axes or any(not 0 <= a < len(inp.shape) for a in axes):
        return problems + [f"axes {axes} out of range for shape {list(inp.shape)}"]
    if axes != list(range(axes[0], axes[-1] + 1)):
        problems.append(f"axes {axes} are not contiguous (TFLM rejects this)")
    if out.shape != inp.shape:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}, input tensor "
                        f"{inp.index} {list(inp.shape)}")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp = graph.tensors[op.inputs[0]]
    axes = _axes(graph, op)
    assert axes
    shape = inp.shape
    return KernelCall(
        op=op,
        kernel="mcuforge_reverse",
        source="reverse",
        params_type="mcuforge_reverse_params_t",
        params={"outer": prod(shape[:axes[0]]), "mid": prod(shape[axes[0]:axes[-1] + 1]),
                "inner": prod(shape[axes[-1] + 1:]), "elem_size": 2 if inp.dtype == "int16" else 1},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
    )
