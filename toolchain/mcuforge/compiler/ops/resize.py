"""RESIZE_NEAREST_NEIGHBOR (int8, int16) and RESIZE_BILINEAR (int8), NHWC.

Both keep the input's quantization (TFLM does not requantize). The source indices (and bilinear
weights) depend only on the shapes and options, so the compiler computes them as TFLM does:
nearest neighbour in float32 (``GetNearestNeighbor``), bilinear in TFLM's integer form
(``ComputeInterpolationValuesInteger``, 10 fractional bits).
"""

from __future__ import annotations

import math

import numpy as np

from mcuforge.compiler.ops.base import ConstArray, KernelCall, LowerContext, TensorArg
from mcuforge.compiler.quant import f32, round_away
from mcuforge.model.ir import Graph, Operator
from mcuforge.model.validate import c_div

OPCODES = ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")
DTYPES = {"RESIZE_NEAREST_NEIGHBOR": ("int8", "int16"), "RESIZE_BILINEAR": ("int8",)}


def _size(graph: Graph, op: Operator) -> tuple[int, int] | None:
    if len(op.inputs) < 2 or op.inputs[1] < 0:
        return None
    t = graph.tensors[op.inputs[1]]
    if t.data is None or t.dtype != "int32" or t.size != 2:
        return None
    h, w = (int(v) for v in t.data.reshape(-1))
    return h, w


def check(op: Operator, graph: Graph) -> list[str]:
    inp, out = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
    problems = []
    if inp.dtype not in DTYPES[op.opcode] or out.dtype != inp.dtype:
        problems.append(f"input tensor {inp.index} is {inp.dtype} and output {out.dtype} "
                        f"(supported: {', '.join(DTYPES[op.opcode])}, the same for both)")
    elif inp.quant is None or out.quant is None:
        problems.append("tensors without quantization parameters")
    elif f32(inp.scale) != f32(out.scale) or inp.zero_point != out.zero_point:
        problems.append(f"output tensor {out.index} is quantized differently from input tensor "
                        f"{inp.index}; TFLM copies values without requantizing")
    size = _size(graph, op)
    if size is None:
        return problems + ["the size input must be a constant int32 tensor of 2 values"]
    if len(inp.shape) != 4:
        return problems + [f"input tensor {inp.index} has shape {list(inp.shape)}; needs NHWC"]
    if min(size) < 1:
        return problems + [f"output size {list(size)} is not positive"]
    want = (inp.shape[0], size[0], size[1], inp.shape[3])
    if out.shape != want:
        problems.append(f"output tensor {out.index} has shape {list(out.shape)}; input "
                        f"{list(inp.shape)} resized to {list(size)} gives {list(want)}")
    if op.options.get("align_corners") and op.options.get("half_pixel_centers"):
        problems.append("align_corners and half_pixel_centers are both set (TFLM rejects this)")
    if max(inp.shape[1:3]) > 32767:
        problems.append(f"input tensor {inp.index} is larger than 32767 pixels on a side")
    return problems


def _nearest(i: int, in_size: int, out_size: int, align: bool, half: bool) -> int:
    if align and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    pos = (np.float32(i) + np.float32(0.5 if half else 0.0)) * scale
    v = round_away(float(pos)) if align else math.floor(float(pos))
    v = min(v, in_size - 1)
    return max(v, 0) if half else v


def _bilinear(out_size: int, in_size: int, align: bool, half: bool) -> tuple[list, list, list]:
    scale = ((1 << 10) * in_size + out_size // 2) // out_size
    if align and out_size > 1:
        scale = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    lo, hi, frac = [], [], []
    for i in range(out_size):
        pos = i * scale + scale // 2 - (1 << 9) if half else i * scale
        a = max(c_div(pos, 1 << 10), 0)
        lo.append(a)
        hi.append(min(c_div(pos + (1 << 10) - 1, 1 << 10), in_size - 1))
        frac.append(pos - (1 << 10) * a)
    return lo, hi, frac


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    inp = graph.tensors[op.inputs[0]]
    size = _size(graph, op)
    assert size is not None
    batches, in_h, in_w, depth = inp.shape
    align = bool(op.options.get("align_corners"))
    half = bool(op.options.get("half_pixel_centers"))
    geometry = {"batches": batches, "in_h": in_h, "in_w": in_w, "out_h": size[0],
                "out_w": size[1], "depth": depth}
    name = f"op{op.index}"
    if op.opcode == "RESIZE_NEAREST_NEIGHBOR":
        ys = ConstArray(f"{name}_src_y", np.array(
            [_nearest(y, in_h, size[0], align, half) for y in range(size[0])], np.int16))
        xs = ConstArray(f"{name}_src_x", np.array(
            [_nearest(x, in_w, size[1], align, half) for x in range(size[1])], np.int16))
        return KernelCall(
            op=op, kernel="mcuforge_resize_nearest", source="resize",
            params_type="mcuforge_resize_nearest_params_t",
            params={**geometry, "elem_size": 2 if inp.dtype == "int16" else 1,
                    "src_y": ys, "src_x": xs},
            args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)], consts=[ys, xs])
    tables = {}
    for axis, (n_out, n_in) in (("y", (size[0], in_h)), ("x", (size[1], in_w))):
        lo, hi, frac = _bilinear(n_out, n_in, align, half)
        tables[f"{axis}0"] = ConstArray(f"{name}_{axis}0", np.array(lo, np.int16))
        tables[f"{axis}1"] = ConstArray(f"{name}_{axis}1", np.array(hi, np.int16))
        tables[f"f{axis}"] = ConstArray(f"{name}_f{axis}", np.array(frac, np.int32))
    return KernelCall(
        op=op, kernel="mcuforge_resize_bilinear_s8", source="resize",
        params_type="mcuforge_resize_bilinear_params_t", params={**geometry, **tables},
        args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
        consts=list(tables.values()), macs=4 * batches * size[0] * size[1] * depth)
