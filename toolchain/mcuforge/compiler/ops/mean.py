"""MEAN and SUM, int8 and int16, over any axes: TFLM's ``reference_ops::QuantizedMeanOrSum``.

SUM is the same arithmetic without the division by the count (``compute_sum``); int16 clamps to
int16 instead of int8.

``sum - zp_in * count`` is requantized with ``QuantizeMultiplier(double(s_in) / double(s_out))``
whose multiplier is first divided by the count: ``pre = min(floor(log2(count)), 32,
31 + exponent)``, ``multiplier = (int64(multiplier) << pre) / count`` (truncating),
``exponent -= pre``; then ``+ zp_out`` and a clamp to int8.

Some TFLM sources (micro/kernels/reduce_common.cc's EvalIntegerMean) send a MEAN whose output
keeps the input's scale and zero point to ``reference_ops::Mean`` instead, which truncates
``sum / count`` toward zero. The tflite-micro wheel that is our oracle does not: it requantizes
those too (rounding, e.g. -40/7 gives -6, not -5), and so does this lowering
(tests/test_kernels_shape.py::test_mean_keeping_quantization_bit_exact checks it).

Those sources also resolve the axes into a 2-entry stack array (kMaxNumberOfReducedAxis), which a
mean over 3 or more distinct axes (what ``keras.ops.mean`` over H, W, C converts to) overruns;
the wheel still computes the plain mean over all of them (checked with batches of 1 and 2), and
that is what this lowering computes for any number of axes.
"""

from __future__ import annotations

from math import prod

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg, expect_dtypes
from mcuforge.compiler.quant import f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("MEAN", "SUM")
DTYPES = ("int8", "int16")
MAX_INPUT_DIMS = 5  # TFLM's temp_index[kMaxNumberOfAxis]
LOOP_DIMS = 4  # kept / reduced loop depth of the kernel after merging adjacent axes


def _axes(graph: Graph, op: Operator) -> list[int] | None:
    """Resolved axes (negatives wrapped, duplicates dropped, order kept) as TFLM's ResolveAxis;
    None when an axis is out of range."""
    data = graph.tensors[op.inputs[1]].data
    assert data is not None
    rank = len(graph.tensors[op.inputs[0]].shape)
    axes: list[int] = []
    for a in (int(v) for v in data.reshape(-1)):
        a = a + rank if a < 0 else a
        if not 0 <= a < rank:
            return None
        if a not in axes:
            axes.append(a)
    return axes


def check(op: Operator, graph: Graph) -> list[str]:
    dtype = graph.tensors[op.inputs[0]].dtype if op.inputs else "int8"
    problems = expect_dtypes(graph, op, {"in0": dtype, "out0": dtype})
    if dtype not in DTYPES:
        problems.append(f"input is {dtype} (supported: int8, int16)")
    elif dtype == "int16" and graph.tensors[op.inputs[0]].quant is None:
        problems.append("int16 input without quantization parameters")
    if problems:
        return problems
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return ["missing the axis input"]
    inp, out, axis = (graph.tensors[i] for i in (op.inputs[0], op.outputs[0], op.inputs[1]))
    if axis.dtype != "int32" or not axis.is_const:
        return [f"axes must be a constant int32 tensor (is {axis.dtype})"]
    if len(inp.shape) > MAX_INPUT_DIMS:
        return [f"input has {len(inp.shape)} dimensions (at most {MAX_INPUT_DIMS})"]
    axes = _axes(graph, op)
    if axes is None:
        return [f"axes {axis.data.reshape(-1).tolist()} out of range for a "  # type: ignore[union-attr]
                f"{len(inp.shape)}-D input"]
    kept = [d for i, d in enumerate(inp.shape) if i not in axes]
    if out.size != prod(kept):
        problems.append(
            f"output tensor {out.index} has shape {list(out.shape)}, which does not match input "
            f"tensor {inp.index} {list(inp.shape)} reduced over {axes}"
        )
    return problems


def _loops(shape: tuple[int, ...], axes: list[int]) -> tuple[list[tuple[int, int]], ...]:
    """(extent, input stride) of the kept and of the reduced loops, outermost first.

    Size-1 axes are dropped and neighbouring axes of the same kind merged (row-major, so the
    outer one's stride is the inner one's extent times its stride): GlobalAveragePooling over
    [1, H, W, C] becomes kept [(C, 1)] and reduced [(H*W, C)]. The kept loops stay in the
    input's order, which is the output's element order.
    """
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    kept: list[tuple[int, int]] = []
    reduced: list[tuple[int, int]] = []
    last: list[tuple[int, int]] | None = None
    for i, (d, s) in enumerate(zip(shape, strides, strict=True)):
        if d == 1:
            continue
        group = reduced if i in axes else kept
        if group is last and group:
            group[-1] = (group[-1][0] * d, s)
        else:
            group.append((d, s))
        last = group
    return kept, reduced


def _pad(loops: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    assert len(loops) <= LOOP_DIMS, loops
    loops = [(1, 0)] * (LOOP_DIMS - len(loops)) + loops
    return [d for d, _ in loops], [s for _, s in loops]


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    axes = _axes(graph, op)
    assert axes is not None
    count = prod(inp.shape[a] for a in axes)
    kept, reduced = _loops(inp.shape, axes)
    kept_dims, kept_strides = _pad(kept)
    red_dims, red_strides = _pad(reduced)
    multiplier, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
    if count > 0 and op.opcode == "MEAN":
        pre = min(count.bit_length() - 1, 32, 31 + shift)
        multiplier = (multiplier << pre) // count
        shift -= pre
    return KernelCall(
        op=op,
        kernel="mcuforge_mean_s16" if inp.dtype == "int16" else "mcuforge_mean_s8",
        source="mean",
        params_type="mcuforge_mean_params_t",
        params={
            "kept_dims": kept_dims,
            "kept_strides": kept_strides,
            "reduced_dims": red_dims,
            "reduced_strides": red_strides,
            "count": count,
            "zp_count": inp.zero_point * count,
            "multiplier": multiplier,
            "shift": shift,
            "output_offset": out.zero_point,
        },
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
    )
