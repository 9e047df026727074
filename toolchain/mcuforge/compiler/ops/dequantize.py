"""DEQUANTIZE: int8 or int16 -> float32 at a float graph output.

TFLM (``dequantize_common.cc`` + ``reference/dequantize.h``) computes
``float(double(scale) * (x - zp))``; the kernel's single float32 multiply gives the same bits
(see ``kernels/ref/dequantize.c``).
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32
from mcuforge.model.ir import Graph, Operator

OPCODES = ("DEQUANTIZE",)


def check(op: Operator, graph: Graph) -> list[str]:
    if not op.inputs or not op.outputs:
        return ["missing input or output"]
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    if inp.dtype not in ("int8", "int16") or out.dtype != "float32":
        return [f"dequantizes {inp.dtype} to {out.dtype}; supported: int8 or int16 -> float32"]
    if inp.quant is None:
        return [f"{inp.dtype} input without quantization parameters"]
    if inp.quant.per_channel:
        return ["per-channel quantized input"]
    if inp.is_const:
        return ["dequantizes constant weights at run time (weight-only quantization)"]
    return []


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp = graph.tensors[op.inputs[0]]
    return KernelCall(
        op=op,
        kernel=f"mcuforge_dequantize_s{8 if inp.dtype == 'int8' else 16}_f32",
        source="dequantize",
        params_type="mcuforge_dequantize_params_t",
        params={"size": inp.size, "scale": float(f32(inp.scale)), "zero_point": inp.zero_point},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
    )
