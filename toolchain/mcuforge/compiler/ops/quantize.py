"""QUANTIZE: float32 -> int8 / int16 at a float graph input, and requantization between int8
and int16 (16x8 models) either way.

TFLM (``quantize_common.cc``): float input goes through ``AffineQuantize``:
``int32(round(x / float(scale))) + zp``, clamped, with a float32 division (the double scale it
stores is the float32 scale, cast back to float) and round half away from zero. int8 input goes
through ``Requantize`` with the multiplier ``double(in_scale) / double(out_scale)``.
"""

from __future__ import annotations

import math

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32, quantize_multiplier
from mcuforge.model.ir import Graph, Operator

OPCODES = ("QUANTIZE",)


def check(op: Operator, graph: Graph) -> list[str]:
    if not op.inputs or not op.outputs:
        return ["missing input or output"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.dtype not in ("float32", "int8", "int16") or out.dtype not in ("int8", "int16"):
        return [f"quantizes {inp.dtype} to {out.dtype}; supported: float32, int8 or int16 to "
                "int8 or int16"]
    problems = []
    if out.quant is None or (inp.dtype != "float32" and inp.quant is None):
        return ["integer tensor without quantization parameters"]
    if out.quant.per_channel or (inp.quant is not None and inp.quant.per_channel):
        problems.append("per-channel quantization")
    scales = [out.scale] + ([inp.scale] if inp.dtype != "float32" else [])
    if not all(math.isfinite(s) and s > 0 for s in scales):
        problems.append("a quantization scale is zero, negative or not finite")
    return problems


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    args = [TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)]
    if inp.dtype == "float32":
        return KernelCall(
            op=op,
            kernel=f"mcuforge_quantize_f32_s{8 if out.dtype == 'int8' else 16}",
            source="quantize",
            params_type="mcuforge_quantize_params_t",
            params={"size": inp.size, "scale": float(f32(out.scale)), "zero_point": out.zero_point},
            args=args,
        )
    mult, shift = quantize_multiplier(float(f32(inp.scale)) / float(f32(out.scale)))
    return KernelCall(
        op=op,
        kernel={("int8", "int8"): "mcuforge_requantize_s8",
                ("int8", "int16"): "mcuforge_requantize_s8_s16",
                ("int16", "int8"): "mcuforge_requantize_s16_s8",
                ("int16", "int16"): "mcuforge_requantize_s16_s16"}[(inp.dtype, out.dtype)],
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
        inplace=[(op.outputs[0], op.inputs[0])] if inp.dtype == out.dtype else [],
    )
