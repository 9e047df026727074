"""ABS: int8 as a 256-entry table of TFLM's result (``kernels/lut.h``), int16 at run time
(``kernels/abs.h``).

TFLM (``elementwise.cc``, ``AbsEvalQuantized``): ``|x - in_zp|``, then, when the float32 scales
differ, ``MultiplyByQuantizedMultiplier`` by ``in_scale / out_scale`` plus the output zero point,
clamped. The source writes that quotient in float32; the tflite-micro interpreter that is the
oracle computes it in double (a float32 quotient changes some int16 results:
``tests/test_ops_arith.py``), and so does this. Quantized int16 needs zero points 0 (its Prepare
checks). Unquantized int16 is ``std::abs`` narrowed to int16.
"""

from __future__ import annotations

import math

from mcuforge.compiler.fixedpoint import mbqm
from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.ops.layout import io_problems
from mcuforge.compiler.ops.logistic import lut_call, table_for
from mcuforge.compiler.quant import INT8_MAX, INT8_MIN, f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator, Tensor

OPCODES = ("ABS",)
PLAIN, CLAMP, RESCALE = 0, 1, 2  # MCUFORGE_ABS_* in kernels/abs.h


def _mode(inp: Tensor, out: Tensor) -> tuple[int, int, int]:
    """(mode, multiplier, shift)."""
    if inp.quant is None:
        return PLAIN, 0, 0
    if f32(inp.scale) == f32(out.scale):
        return CLAMP, 0, 0
    return (RESCALE, *quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale))))


def check(op: Operator, graph: Graph) -> list[str]:
    problems = io_problems(graph, op, ("int8", "int16"))
    if problems:
        return problems
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.shape != out.shape:
        return [f"input {list(inp.shape)} and output {list(out.shape)} differ in shape"]
    if inp.dtype == "int16" and inp.quant is None:
        return []
    if inp.quant is None or out.quant is None:
        return [f"{inp.dtype} ABS without quantization parameters (TFLM refuses it)"]
    if inp.quant.per_channel or out.quant.per_channel:
        return ["per-channel quantization"]
    if inp.dtype == "int16" and (inp.zero_point, out.zero_point) != (0, 0):
        return ["int16 zero points must be 0 (TFLM refuses others)"]
    if not all(math.isfinite(t.scale) and t.scale > 0 for t in (inp, out)):
        return ["a quantization scale is zero, negative or not finite"]
    return []


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    mode, mult, shift = _mode(inp, out)
    if inp.dtype == "int8":
        def absolute(x: int) -> int:  # x is input - input zero point
            y = abs(x) if mode == CLAMP else mbqm(abs(x), mult, shift)
            return min(max(y + out.zero_point, INT8_MIN), INT8_MAX)

        return lut_call(op, graph, table_for(graph, op, absolute))
    return KernelCall(
        op=op,
        kernel="mcuforge_abs_s16",
        source="abs",
        params_type="mcuforge_abs_params_t",
        params={"size": inp.size, "mode": mode, "multiplier": mult, "shift": shift},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        inplace=[(op.outputs[0], op.inputs[0])],
    )
