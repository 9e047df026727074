"""Integer ADD, MUL and DIV on int32 tensors without quantization, as TFLM computes them:
``reference_ops::Add/Mul/Div<int32_t>`` with broadcasting (up to 6-D here).

ADD, MUL and DIV dispatch here by dtype (``add.py``, ``mul.py``, ``div.py``). TFLM's details:
ADD clamps to the full int32 range whatever the fused activation (its int32 path never reads
it); MUL and DIV clamp to the activation's range (RELU: [0, max], RELU6: [0, 6], RELU_N1_TO_1:
[-1, 1]). Sums and products wrap; DIV truncates toward zero. TFLM's own x86 build dies of SIGFPE
on x / 0 and INT32_MIN / -1; on Arm, SDIV gives 0 and INT32_MIN, which the kernel returns.
TFLM refuses quantized int32 inputs for ADD and DIV; MUL ignores quantization, and so does this.
int16 without quantization has no TFLM kernel (its int16 ADD and MUL are the quantized 16x8
ones), so it is refused here with that reason.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import (
    KernelCall,
    LowerContext,
    TensorArg,
    broadcast_params,
    broadcast_problem,
)
from mcuforge.model.ir import Graph, Operator

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
RANGES = {"NONE": (INT32_MIN, INT32_MAX), "RELU": (0, INT32_MAX), "RELU6": (0, 6),
          "RELU_N1_TO_1": (-1, 1)}
KERNELS = {"ADD": "mcuforge_add_s32", "MUL": "mcuforge_mul_s32", "DIV": "mcuforge_div_s32"}


def handles(op: Operator, graph: Graph) -> bool:
    """Whether this module, not the int8 one, owns the node: an integer output without
    quantization (int32, or int16 which is refused with a reason)."""
    if len(op.outputs) != 1 or op.outputs[0] < 0:
        return False
    out = graph.tensors[op.outputs[0]]
    return out.dtype == "int32" or (out.dtype == "int16" and out.quant is None)


def check(op: Operator, graph: Graph) -> list[str]:
    if len(op.inputs) != 2 or min(op.inputs) < 0:
        return ["needs two inputs"]
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if out.dtype == "int16":
        return [f"int16 {op.opcode} without quantization parameters (TFLM has no such kernel: "
                "its int16 ADD and MUL are the quantized 16x8 ones)"]
    problems = [f"input {i} is {t.dtype}, needs int32"
                for i, t in enumerate((a, b)) if t.dtype != "int32"]
    if op.opcode in ("ADD", "DIV"):
        problems += [f"input {i} of an int32 {op.opcode} is quantized (TFLM supports int32 "
                     f"{op.opcode} without quantization only)"
                     for i, t in enumerate((a, b)) if t.quant is not None]
    act = op.options.get("fused_activation_function", "NONE")
    if op.opcode != "ADD" and act not in RANGES:
        problems.append(f"fused activation {act} (supported: {', '.join(RANGES)})")
    if (p := broadcast_problem(a.shape, b.shape)) is not None:
        problems.append(p)
    elif out.size != _broadcast_size(a.shape, b.shape):
        problems.append(f"output {list(out.shape)} is not the broadcast of {list(a.shape)} and "
                        f"{list(b.shape)}")
    return problems


def _broadcast_size(s1: tuple[int, ...], s2: tuple[int, ...]) -> int:
    rank = max(len(s1), len(s2))
    a, b = [1] * (rank - len(s1)) + list(s1), [1] * (rank - len(s2)) + list(s2)
    size = 1
    for x, y in zip(a, b, strict=True):
        size *= y if x == 1 else x
    return size


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    a, b, out = (graph.tensors[i] for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    act = "NONE" if op.opcode == "ADD" else op.options.get("fused_activation_function", "NONE")
    lo, hi = RANGES[act]
    params = {"act_min": lo, "act_max": hi, **broadcast_params(a.shape, b.shape, out.shape)}
    flat = params["flat_size"] > 0
    params["scalar"] = 0
    if not flat and out.size in (a.size, b.size) and 1 in (a.size, b.size):
        # One input is a single value: a plain loop instead of the broadcast odometer.
        params["scalar"], params["flat_size"] = (1 if a.size == 1 else 2), out.size
    inplace = [(op.outputs[0], t) for t in op.inputs[:2]
               if graph.tensors[t].size == out.size] if flat or params["scalar"] else []
    return KernelCall(
        op=op,
        kernel=KERNELS[op.opcode],
        source="int_arith",
        params_type="mcuforge_int_arith_params_t",
        params=params,
        args=[TensorArg(op.inputs[0]), TensorArg(op.inputs[1]), TensorArg(op.outputs[0], True)],
        inplace=inplace,
    )
