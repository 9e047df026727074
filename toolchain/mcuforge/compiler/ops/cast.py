"""CAST between integer types, as TFLM's ``cast.cc``: ``static_cast`` per element, the tensors'
quantization parameters ignored.

TFLM casts from bool, int8, int16, int32, uint32 and float32 to int8, int16, int32, uint32 and
float32; mcuforge compiles the integer pairs (float tensors are refused by the precision check).
A cast between int32 and uint32 (or to the same type) keeps every byte, so it costs no code:
the output shares the input's memory, like RESHAPE.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.model.ir import Graph, Operator

OPCODES = ("CAST",)
#: dtype -> name part of the kernel (firmware/runtime/kernels/cast.h)
SOURCES = {"bool": "b8", "int8": "s8", "int16": "s16", "int32": "s32", "uint32": "u32"}
TARGETS = {"int8": "s8", "int16": "s16", "int32": "s32", "uint32": "u32"}
_SAME_BYTES = {frozenset({"int32", "uint32"})}


def check(op: Operator, graph: Graph) -> list[str]:
    if len(op.inputs) != 1 or op.inputs[0] < 0 or len(op.outputs) != 1:
        return ["needs one input and one output"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    problems = []
    if inp.dtype not in SOURCES:
        problems.append(f"input is {inp.dtype} (supported: {', '.join(SOURCES)})")
    if out.dtype not in TARGETS:
        problems.append(f"output is {out.dtype} (supported: {', '.join(TARGETS)})")
    if inp.size != out.size:
        problems.append(f"input {list(inp.shape)} and output {list(out.shape)} differ in size")
    return problems


def _keeps_bytes(op: Operator, graph: Graph) -> bool:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    same = inp.dtype == out.dtype or frozenset({inp.dtype, out.dtype}) in _SAME_BYTES
    return same and not inp.is_const and op.outputs[0] not in graph.inputs


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if _keeps_bytes(op, graph):
        return KernelCall(op=op, alias=(op.outputs[0], op.inputs[0]))
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    same_size = inp.nbytes == out.nbytes
    return KernelCall(
        op=op,
        kernel=f"mcuforge_cast_{SOURCES[inp.dtype]}_{TARGETS[out.dtype]}",
        source="cast",
        params_type="mcuforge_cast_params_t",
        params={"size": out.size},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])] if same_size else [],
    )
