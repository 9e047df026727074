"""Resource variables: the state of streaming models (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE,
and the CALL_ONCE node that initialises them).

The reader binds every VAR_HANDLE to a :class:`~mcuforge.model.ir.Variable` and evaluates the
CALL_ONCE initialiser at compile time, so VAR_HANDLE and CALL_ONCE emit no code: the variable's
memory is part of the model's state region, set to its initial value by ``<model>_reset()``.
READ_VARIABLE and ASSIGN_VARIABLE lower to byte copies, as TFLM does them; the state planner
(``compiler/state.py``) turns each copy into an alias of the variable's memory where that is
provably safe, so most of them cost nothing.
"""

from __future__ import annotations

from mcuforge.compiler.ops.base import KernelCall, LowerContext, TensorArg
from mcuforge.model.ir import Graph, Operator

OPCODES = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE")


def check(op: Operator, graph: Graph) -> list[str]:
    if op.opcode == "CALL_ONCE":
        return []  # the reader already evaluated its initialiser
    if op.opcode == "VAR_HANDLE":
        return [] if graph.variable_of(op.outputs[0]) is not None else ["unbound handle"]
    if not op.inputs or graph.variable_of(op.inputs[0]) is None:
        return ["its first input is not a resource variable's handle"]
    var = graph.variable_of(op.inputs[0])
    assert var is not None
    if op.opcode == "READ_VARIABLE":
        if len(op.outputs) != 1:
            return ["needs one output"]
        value = graph.tensors[op.outputs[0]]
    else:
        if len(op.inputs) != 2 or op.inputs[1] < 0:
            return ["needs a handle and a value"]
        value = graph.tensors[op.inputs[1]]
    if value.dtype == "resource" or value.nbytes != var.nbytes:
        return [
            f"tensor {value.index} ({value.dtype} {list(value.shape)}, {value.nbytes} bytes) does "
            f"not match variable '{var.name}' ({var.initial.dtype} {list(var.initial.shape)}, "
            f"{var.nbytes} bytes)"
        ]
    if str(var.initial.dtype) != value.dtype:
        return [f"tensor {value.index} is {value.dtype}, variable '{var.name}' holds "
                f"{var.initial.dtype}"]
    return []


def lower(op: Operator, graph: Graph, ctx: LowerContext) -> KernelCall:
    if op.opcode in ("VAR_HANDLE", "CALL_ONCE"):
        return KernelCall(op=op)
    var = graph.variable_of(op.inputs[0])
    assert var is not None
    # The strided copy kernel with one contiguous run: a plain byte copy.
    params = {"offset": 0, "run_bytes": var.nbytes, "count": [1] * 5, "step": [0] * 5}
    common = {"kernel": "mcuforge_copy", "source": "copy",
              "params_type": "mcuforge_copy_params_t", "params": params}
    if op.opcode == "READ_VARIABLE":
        return KernelCall(op=op, **common,
                          args=[TensorArg(op.inputs[0]), TensorArg(op.outputs[0], True)],
                          var_read=(op.outputs[0], var.index))
    return KernelCall(op=op, **common,
                      args=[TensorArg(op.inputs[1]), TensorArg(op.inputs[0], True)],
                      var_write=(op.inputs[1], var.index))
