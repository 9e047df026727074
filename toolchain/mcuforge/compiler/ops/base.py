"""What an op lowering produces, and helpers the lowerings share.

Adding an op means one C kernel (``firmware/runtime/kernels/<name>.h`` + ``ref/<name>.c``) and one
Python module here that defines ``OPCODES``, ``check(op, graph)`` and ``lower(op, graph, ctx)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mcuforge.compiler.quant import CLAMP_ACTIVATIONS
from mcuforge.model.ir import Graph, Operator, Tensor

#: C element type per IR dtype, for generated arrays and pointer casts.
C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "uint32": "uint32_t",
    "int64": "int64_t",
    "uint16": "uint16_t",
    "uint64": "uint64_t",
    "bool": "uint8_t",  # one byte, 0 or 1, as TFLM stores it
    "resource": "uint8_t",  # a variable's bytes in the state region
    "float32": "float",
}


@dataclass
class ConstArray:
    """A constant array placed in flash, 16-byte aligned."""

    name: str
    values: np.ndarray

    @property
    def ctype(self) -> str:
        return C_TYPES[str(self.values.dtype)]


@dataclass
class StateArray:
    """Memory a kernel keeps between invocations (a noise estimate, a delay line): it lives in
    the model's state region, outside the reusable arena, starts at ``initial`` and is restored
    to it by ``<model>_reset()``. The kernel receives a pointer to it after its tensor arguments,
    one per state array, in order."""

    name: str
    initial: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.initial.nbytes)


@dataclass(frozen=True)
class TensorArg:
    """A kernel argument: one of the graph's tensors, or (``const``) an array the lowering made,
    such as weights reordered for an optimized kernel."""

    tensor: int
    writable: bool = False
    const: ConstArray | None = None
    #: Pass as ``void *`` (kernels taking any element type, or a variable number of tensors).
    untyped: bool = False


@dataclass
class KernelCall:
    """One step of the generated ``<model>_invoke``: a kernel call with compile-time params.

    ``params`` maps C struct fields to ints, floats or :class:`ConstArray` (emitted as the array's
    name). A call with ``alias`` or ``views`` and no ``kernel`` emits no code: its outputs share
    the input's memory.
    """

    op: Operator
    kernel: str = ""
    source: str = ""
    #: Kernel family the lowering chose: firmware/runtime/kernels/<family>/<source>.c
    family: str = "ref"
    params_type: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    args: list[TensorArg] = field(default_factory=list)
    consts: list[ConstArray] = field(default_factory=list)
    macs: int = 0
    alias: tuple[int, int] | None = None
    #: (output, input, byte offset): outputs that are one contiguous block of an input, in
    #: order (a slice or split along the outermost axis that is not 1). They may share the
    #: input's memory instead of being copied: the planner decides (``MemoryPlan.viewed``) and
    #: the calls it makes views emit no code. Without a ``kernel`` they always share it.
    views: list[tuple[int, int, int]] = field(default_factory=list)
    #: (output, input) pairs whose memory the kernel may share (element-wise, in order).
    inplace: list[tuple[int, int]] = field(default_factory=list)
    #: (output, input, lag): the kernel writes the output in order while reading the input in
    #: order, never writing past ``lag`` bytes behind the input bytes it still needs, so the
    #: output may start ``lag`` bytes before the input (see ``plan.streaming_lag``).
    overlap: list[tuple[int, int, int]] = field(default_factory=list)
    scratch_bytes: int = 0
    #: Persistent per-kernel state (see :class:`StateArray`).
    state: list[StateArray] = field(default_factory=list)
    #: Resource-variable access, for the state planner (``compiler/state.py``), which may turn the
    #: copy this call makes into an alias of the variable's memory: READ_VARIABLE sets
    #: ``var_read = (output, variable)``, ASSIGN_VARIABLE ``var_write = (value, variable)``.
    var_read: tuple[int, int] | None = None
    var_write: tuple[int, int] | None = None
    #: Shape-specialized kernels: ``spec`` holds the compile-time geometry. The kernel's
    #: ``impl_header`` defines ``spec_macro(name, {geometry})``, which model.c expands once per
    #: distinct geometry into a function with every shape constant folded in; ``kernel`` is then
    #: only a label and no .c file is compiled for the call.
    spec: dict[str, Any] | None = None
    spec_macro: str = ""
    impl_header: str = ""
    #: The same kernel on one body shared by every geometry (a thin wrapper per geometry, the
    #: same arithmetic): what ``mcuforge.compiler.specialize`` picks where specializing gains
    #: too little for its code. Empty when the kernel has no shared body.
    shared_macro: str = ""


@dataclass
class LowerContext:
    """What a lowering may know about the target: the kernel families its CPU can run."""

    kernel_families: tuple[str, ...] = ("ref",)


def tensor(graph: Graph, op: Operator, i: int, *, outputs: bool = False) -> Tensor:
    return graph.tensors[(op.outputs if outputs else op.inputs)[i]]


def expect_dtypes(graph: Graph, op: Operator, want: dict[str, str]) -> list[str]:
    """Check dtypes by role: keys like 'in0', 'in1', 'out0'; returns problems."""
    problems = []
    for role, dtype in want.items():
        idx = int(role[-1])
        tensors = op.outputs if role.startswith("out") else op.inputs
        if idx >= len(tensors) or tensors[idx] < 0:
            problems.append(f"missing {role}")
            continue
        t = graph.tensors[tensors[idx]]
        if t.dtype != dtype:
            kind = "output" if role.startswith("out") else "input"
            problems.append(f"{kind} {idx} is {t.dtype}, needs {dtype}")
        elif dtype == "int8" and t.quant is None:
            problems.append(f"tensor {t.index} is int8 without quantization parameters")
    return problems


def check_activation(op: Operator) -> list[str]:
    act = op.options.get("fused_activation_function", "NONE")
    if act not in CLAMP_ACTIVATIONS:
        return [f"fused activation {act} (supported: {', '.join(CLAMP_ACTIVATIONS)})"]
    return []


def shape4(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Pad a shape on the left to 4 dimensions (TFLM's ``RuntimeShape::ExtendedShape``)."""
    if len(shape) > 4:
        raise ValueError(f"shape {shape} has more than 4 dimensions")
    return tuple([1] * (4 - len(shape)) + list(shape))  # type: ignore[return-value]


def broadcast_params(
    shape1: tuple[int, ...], shape2: tuple[int, ...], out_shape: tuple[int, ...], ndim: int = 6
) -> dict[str, Any]:
    """Loop extents and per-input strides for a broadcasting element-wise kernel.

    ``flat_size`` is set (and the broadcast loop skipped) when no broadcasting is needed, which
    is the reference's own fast path.
    """
    if tuple(shape1) == tuple(shape2) == tuple(out_shape):
        size = int(np.prod(out_shape, dtype=np.int64)) if out_shape else 1
        return {
            "flat_size": size,
            "dims": [1] * ndim,
            "strides1": [0] * ndim,
            "strides2": [0] * ndim,
        }

    def extend(shape: tuple[int, ...]) -> list[int]:
        return [1] * (ndim - len(shape)) + list(shape)

    out = extend(out_shape)

    def strides(shape: tuple[int, ...]) -> list[int]:
        ext = extend(shape)
        result, step = [0] * ndim, 1
        for axis in reversed(range(ndim)):
            result[axis] = 0 if ext[axis] == 1 and out[axis] != 1 else step
            step *= ext[axis]
        return result

    return {"flat_size": 0, "dims": out, "strides1": strides(shape1), "strides2": strides(shape2)}


def broadcast_problem(
    shape1: tuple[int, ...], shape2: tuple[int, ...], ndim: int = 6
) -> str | None:
    if max(len(shape1), len(shape2)) > ndim:
        return f"shapes {list(shape1)} and {list(shape2)} have more than {ndim} dimensions"
    for a, b in zip(reversed(shape1), reversed(shape2), strict=False):
        if a != b and 1 not in (a, b):
            return f"shapes {list(shape1)} and {list(shape2)} do not broadcast"
    return None


def broadcast_shape(shape1: tuple[int, ...], shape2: tuple[int, ...]) -> tuple[int, ...]:
    """The shape two broadcastable shapes give (numpy's rule; see :func:`broadcast_problem`)."""
    rank = max(len(shape1), len(shape2))
    a = [1] * (rank - len(shape1)) + list(shape1)
    b = [1] * (rank - len(shape2)) + list(shape2)
    return tuple(x if y == 1 else y for x, y in zip(a, b, strict=True))


def binary_shape_problems(graph: Graph, op: Operator, ndim: int = 6) -> list[str]:
    """Two inputs that broadcast, and an output of exactly the broadcast shape (the kernel's
    loops walk the output's extents, so any other output shape would read out of bounds)."""
    if len(op.inputs) < 2 or min(op.inputs[:2]) < 0 or len(op.outputs) != 1:
        return ["needs two inputs and one output"]
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if (p := broadcast_problem(a.shape, b.shape, ndim)) is not None:
        return [p]
    if 0 in (a.size, b.size):
        return [f"input {list(a.shape)} or {list(b.shape)} is empty"]
    want = broadcast_shape(a.shape, b.shape)
    if tuple(out.shape) != want:
        return [f"output t{out.index} has shape {list(out.shape)}; inputs {list(a.shape)} and "
                f"{list(b.shape)} give {list(want)}"]
    return []


def binary_int8_problems(op: Operator, graph: Graph) -> list[str]:
    """What an int8 element-wise op with two inputs (ADD, MUL) needs: int8 tensors with sane
    per-tensor scales, a clamp activation, broadcastable shapes."""
    problems = expect_dtypes(graph, op, {"in0": "int8", "in1": "int8", "out0": "int8"})
    problems += check_activation(op)
    if problems:
        return problems
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    problems += binary_shape_problems(graph, op)
    if any(t.quant is not None and t.quant.per_channel for t in (a, b)):
        problems.append("per-channel quantized inputs")
    if not all(math.isfinite(t.scale) and t.scale > 0 for t in (a, b, out)):
        problems.append("a quantization scale is zero, negative or not finite")
    return problems
