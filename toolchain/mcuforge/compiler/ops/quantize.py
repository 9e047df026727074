"""QUANTIZE: float32 -> int8/int16 at a float graph input, and requantization between integer
types (int8 -> uint8 feeds the uint8 output of ESPHome's wake-word models).

TFLM (``quantize_common.cc``): float input goes through ``AffineQuantize``:
``int32(round(x / float(scale))) + zp``, clamped, with a float32 division (the double scale it
stores is the float32 scale, cast back to float) and round half away from zero. Integer input goes
through ``Requantize`` with the multiplier ``double(in_scale) / double(out_scale)``, for exactly
the type pairs in :data:`REQUANTIZE` (its Prepare and Eval accept no others). Its int8 <-> uint8
shortcut (flipping the top bit when the scales are equal and the zero points 128 apart) gives the
same values as the general formula, which the kernels always use.
"""

from __future__ import annotations

import math

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("QUANTIZE",)

_SHORT = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32"}
#: Integer (input, output) pairs TFLM requantizes -> kernel.
REQUANTIZE = {
    (i, o): "mcuforge_requantize_" + ("s8" if (i, o) == ("int8", "int8")
                                      else f"{_SHORT[i]}_{_SHORT[o]}")
    for i, o in [("int8", "int8"), ("int8", "uint8"), ("int8", "int16"), ("int8", "int32"),
                 ("uint8", "int8"), ("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
                 ("int32", "int8"), ("int32", "int16")]
}
#: Float inputs TFLM quantizes (AffineQuantize) -> kernel.
AFFINE = {"int8": "mcuforge_quantize_f32_s8", "int16": "mcuforge_quantize_f32_s16"}


def _pairs() -> str:
    pairs = [f"float32 -> {o}" for o in AFFINE] + [f"{i} -> {o}" for i, o in REQUANTIZE]
    return ", ".join(pairs)


def check(op: Operator, graph: Graph) -> list[str]:
    if not op.inputs or not op.outputs or op.inputs[0] < 0:
        return ["missing input or output"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    pair = (inp.dtype, out.dtype)
    if not (inp.dtype == "float32" and out.dtype in AFFINE) and pair not in REQUANTIZE:
        return [f"quantizes {inp.dtype} to {out.dtype}; TFLM supports {_pairs()}"]
    if out.quant is None:
        return [f"output t{out.index} has no quantization parameters"]
    problems = []
    if out.quant.per_channel or (inp.quant is not None and inp.quant.per_channel):
        problems.append("per-channel quantization")
    if inp.dtype != "float32" and inp.quant is None:
        problems.append(f"{inp.dtype} input t{inp.index} has no quantization parameters")
    scales = [out.scale] + ([inp.scale] if inp.quant is not None else [])
    if not all(math.isfinite(s) and s > 0 for s in scales):
        problems.append("a quantization scale is zero, negative or not finite")
    if inp.shape != out.shape:
        problems.append(f"input {list(inp.shape)} and output {list(out.shape)} differ in shape")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    args = [TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)]
    if inp.dtype == "float32":
        return KernelCall(
            op=op,
            kernel=AFFINE[out.dtype],
            source="quantize",
            params_type="mcuforge_quantize_params_t",
            params={"size": inp.size, "scale": float(f32(out.scale)), "zero_point": out.zero_point},
            args=args,
        )
    mult, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
    return KernelCall(
        op=op,
        kernel=REQUANTIZE[(inp.dtype, out.dtype)],
        source="quantize",
        params_type="mcuforge_requantize_params_t",
        params={
            "size": inp.size,
            "input_zero_point": inp.zero_point,
            "output_zero_point": out.zero_point,
            "multiplier": mult,
            "shift": shift,
        },
        args=args,
        # Element i is read before it is written; the planner only shares equal-sized tensors.
        inplace=[(op.outputs[0], op.inputs[0])],
    )
