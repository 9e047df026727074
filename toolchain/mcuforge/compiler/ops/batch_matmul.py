"""BATCH_MATMUL, int8 (any zero points) and int16 (zero points 0, int64 sums): TFLM's
``reference_ops::BatchMatMul``, with up to 5-D operands whose leading 3 dimensions broadcast and
``adj_x`` / ``adj_y`` transposing the last two."""

from __future__ import annotations

import math

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator, Tensor

OPCODES = ("BATCH_MATMUL",)
RANK = 5


def _extend(shape: tuple[int, ...]) -> list[int]:
    return [1] * (RANK - len(shape)) + list(shape)


def _matrix(t: Tensor, adjoint: bool) -> tuple[int, int]:
    """(rows, cols) of the operand as used: the last two dimensions, swapped if adjoint."""
    r, c = t.shape[-2], t.shape[-1]
    return (c, r) if adjoint else (r, c)


def expected_shape(lhs: Tensor, rhs: Tensor, adj_x: bool, adj_y: bool) -> tuple[int, ...] | None:
    """The output shape TFLM's ReshapeOutputTensor gives, or None when the shapes do not fit."""
    m, k = _matrix(lhs, adj_x)
    k2, n = _matrix(rhs, adj_y)
    if k != k2:
        return None
    rank = max(len(lhs.shape), len(rhs.shape))
    a, b = _extend(lhs.shape)[-rank:-2], _extend(rhs.shape)[-rank:-2]
    batch = []
    for x, y in zip(a, b, strict=True):
        if x != y and 1 not in (x, y):
            return None
        batch.append(y if x == 1 else x)
    return (*batch, m, n)


def check(op: Operator, graph: Graph) -> list[str]:
    if len(op.inputs) != 2 or len(op.outputs) != 1:
        return ["needs 2 inputs and 1 output"]
    lhs, rhs, out = (graph.tensors[i] for i in (*op.inputs, op.outputs[0]))
    if lhs.dtype not in ("int8", "int16") or {rhs.dtype, out.dtype} != {lhs.dtype}:
        return [f"tensors are {lhs.dtype}, {rhs.dtype} -> {out.dtype} (supported: all int8 or "
                "all int16)"]
    if any(t.quant is None or t.quant.per_channel for t in (lhs, rhs, out)):
        return ["every tensor needs per-tensor quantization parameters"]
    if lhs.dtype == "int16" and any(t.zero_point != 0 for t in (lhs, rhs, out)):
        return ["int16 BATCH_MATMUL needs zero points of 0 (TFLM's requirement)"]
    if not all(2 <= len(t.shape) <= RANK for t in (lhs, rhs)):
        return [f"operands have {len(lhs.shape)} and {len(rhs.shape)} dimensions (2 to 5)"]
    if not all(math.isfinite(t.scale) and t.scale > 0 for t in (lhs, rhs, out)):
        return ["a quantization scale is zero, negative or not finite"]
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    want = expected_shape(lhs, rhs, adj_x, adj_y)
    if want is None:
        return [f"input tensors {lhs.index} {list(lhs.shape)} and {rhs.index} "
                f"{list(rhs.shape)} (adj_x={adj_x}, adj_y={adj_y}) cannot be multiplied"]
    if out.shape != want:
        return [f"output tensor {out.index} has shape {list(out.shape)}; inputs "
                f"{list(lhs.shape)} x {list(rhs.shape)} give {list(want)}"]
    return []


def _batch_strides(t: Tensor, batch: list[int]) -> list[int]:
    ext = _extend(t.shape)
    strides, step = [0, 0, 0], ext[3] * ext[4]
    for axis in (2, 1, 0):
        strides[axis] = 0 if ext[axis] == 1 and batch[axis] != 1 else step
        step *= ext[axis]
    return strides


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    lhs, rhs, out = (graph.tensors[i] for i in (*op.inputs, op.outputs[0]))
    adj_x, adj_y = bool(op.options.get("adj_x")), bool(op.options.get("adj_y"))
    m, k = _matrix(lhs, adj_x)
    _, n = _matrix(rhs, adj_y)
    el, er = _extend(lhs.shape), _extend(rhs.shape)
    batch = [max(a, b) for a, b in zip(el[:3], er[:3], strict=True)]
    mult, shift = quantize_multiplier(
        float(f32(lhs.scale)) * float(f32(rhs.scale)) / float(f32(out.scale)))
    int16 = lhs.dtype == "int16"
    limit = (1 << 15) if int16 else (1 << 7)
    lhs_cols, rhs_cols = lhs.shape[-1], rhs.shape[-1]
    return KernelCall(
        op=op,
        kernel=f"mcuforge_batch_matmul_s{16 if int16 else 8}",
        source="batch_matmul",
        params_type="mcuforge_batch_matmul_params_t",
        params={
            "batch_dims": batch,
            "lhs_batch_strides": _batch_strides(lhs, batch),
            "rhs_batch_strides": _batch_strides(rhs, batch),
            "rows": m, "cols": n, "depth": k,
            # lhs element (m, k): stored [m][k], or [k][m] when adjoint.
            "lhs_row_stride": 1 if adj_x else lhs_cols,
            "lhs_depth_stride": lhs_cols if adj_x else 1,
            # rhs element (k, n): stored [k][n], or [n][k] when adjoint.
            "rhs_depth_stride": 1 if adj_y else rhs_cols,
            "rhs_col_stride": rhs_cols if adj_y else 1,
            "lhs_offset": -lhs.zero_point, "rhs_offset": -rhs.zero_point,
            "output_offset": out.zero_point,
            "multiplier": mult, "shift": shift,
            "act_min": -limit, "act_max": limit - 1,
        },
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        macs=math.prod(batch) * m * n * k,
    )
