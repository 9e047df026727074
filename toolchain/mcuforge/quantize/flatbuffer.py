"""Reading, writing and normalising .tflite flatbuffers, and the int8 / supported-op checks."""

from __future__ import annotations

from typing import Any

from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.compiler.ops import supported_ops
from mcuforge.quantize.errors import QuantizeError

# What the compiler's op registry compiles: the one authority, not a second list.
SUPPORTED_OPS = frozenset(supported_ops())
OP_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
TYPE_NAMES = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
FLOAT_TYPES = {fb.TensorType.FLOAT32, fb.TensorType.FLOAT16, fb.TensorType.FLOAT64}


# --- reading and writing ----------------------------------------------------------------------


def read_model(data: bytes) -> Any:
    """The object API (``fb.ModelT``) of .tflite bytes; QuantizeError if they are not one."""
    if len(data) < 8 or not fb.Model.ModelBufferHasIdentifier(data, 0):
        raise QuantizeError("not a .tflite flatbuffer (missing TFL3 identifier)")
    try:
        return fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(data, 0))
    except Exception as exc:  # a corrupt buffer fails anywhere inside the generated code
        raise QuantizeError(f"corrupt .tflite flatbuffer: {exc}") from None


def write_model(model: Any) -> bytes:
    """.tflite bytes of an ``fb.ModelT``."""
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def op_name(model: Any, op: Any) -> str:
    """Builtin name of an operator (``CUSTOM(name)`` for custom ops)."""
    code = model.operatorCodes[op.opcodeIndex]
    builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
    if builtin == fb.BuiltinOperator.CUSTOM:
        return f"CUSTOM({(code.customCode or b'').decode(errors='replace')})"
    return OP_NAMES.get(builtin, f"BUILTIN_{builtin}")


def tensor_name(tensor: Any) -> str:
    return (tensor.name or b"").decode(errors="replace")


def model_ops(data: bytes) -> list[str]:
    """Op name of every operator of the first subgraph, in execution order."""
    model = read_model(data)
    return [op_name(model, op) for op in model.subgraphs[0].operators or []]


def io_details(data: bytes) -> tuple[list[int], list[int], int]:
    """(input shape, output shape, input type) of a single-input, single-output model."""
    sg = read_model(data).subgraphs[0]
    if len(sg.inputs) != 1 or len(sg.outputs) != 1:
        raise QuantizeError(
            f"the model has {len(sg.inputs)} inputs and {len(sg.outputs)} outputs: only "
            "single-input, single-output models are supported"
        )
    t_in, t_out = sg.tensors[sg.inputs[0]], sg.tensors[sg.outputs[0]]
    return [int(d) for d in t_in.shape], [int(d) for d in t_out.shape], t_in.type


def io_params(data: bytes) -> tuple[tuple[float, int], tuple[float, int]]:
    """(scale, zero point) of the int8 tensors next to the input and the output."""
    model = read_model(data)
    sg = model.subgraphs[0]
    in_idx, out_idx = sg.inputs[0], sg.outputs[0]
    for op in sg.operators or []:  # with float I/O, look behind QUANTIZE / before DEQUANTIZE
        if list(op.inputs) == [in_idx] and op_name(model, op) == "QUANTIZE":
            in_idx = op.outputs[0]
        if list(op.outputs) == [out_idx] and op_name(model, op) == "DEQUANTIZE":
            out_idx = op.inputs[0]

    def params(index: int) -> tuple[float, int]:
        q = sg.tensors[index].quantization
        if q is None or q.scale is None or len(q.scale) == 0:
            return 1.0, 0
        return float(q.scale[0]), int(q.zeroPoint[0])

    return params(in_idx), params(out_idx)


def int8_weight_tensors(data: bytes) -> int:
    """How many tensors of the first subgraph are int8 and hold constant data."""
    model = read_model(data)
    return sum(
        t.type == fb.TensorType.INT8 and model.buffers[t.buffer].data is not None
        for t in model.subgraphs[0].tensors
    )


# --- normalisation ----------------------------------------------------------------------------


def normalize_for_aeq(data: bytes) -> bytes:
    """Copy ``deprecated_builtin_code`` into ``builtin_code`` and add a serving signature."""
    model = read_model(data)
    for code in model.operatorCodes:
        code.builtinCode = max(code.builtinCode, code.deprecatedBuiltinCode)
    if not model.signatureDefs:
        sg = model.subgraphs[0]

        def tensor_map(index: int) -> Any:
            tm = fb.TensorMapT()
            tm.name, tm.tensorIndex = sg.tensors[index].name, index
            return tm

        sig = fb.SignatureDefT()
        sig.signatureKey, sig.subgraphIndex = b"serving_default", 0
        sig.inputs = [tensor_map(i) for i in sg.inputs]
        sig.outputs = [tensor_map(i) for i in sg.outputs]
        model.signatureDefs = [sig]
    return write_model(model)


def add_float_io(data: bytes) -> bytes:
    """Give an int8-I/O model float32 I/O: a QUANTIZE in front and a DEQUANTIZE behind."""
    model = read_model(data)
    sg = model.subgraphs[0]

    def opcode(builtin: int) -> int:
        for i, code in enumerate(model.operatorCodes):
            if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
                return i
        code = fb.OperatorCodeT()
        code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, builtin, 2
        model.operatorCodes.append(code)
        return len(model.operatorCodes) - 1

    def wrap(index: int, builtin: int, front: bool) -> tuple[int, Any]:
        old = sg.tensors[index]
        new = fb.TensorT()
        new.name, new.type = (old.name or b"") + b"_float", fb.TensorType.FLOAT32
        new.shape, new.shapeSignature = old.shape, old.shapeSignature
        model.buffers.append(fb.BufferT())
        new.buffer = len(model.buffers) - 1
        sg.tensors.append(new)
        op = fb.OperatorT()
        op.opcodeIndex = opcode(builtin)
        pair = [len(sg.tensors) - 1, index] if front else [index, len(sg.tensors) - 1]
        op.inputs, op.outputs = pair[:1], pair[1:]
        return len(sg.tensors) - 1, op

    remap, front_ops, back_ops = {}, [], []
    for index in sg.inputs:
        if sg.tensors[index].type not in FLOAT_TYPES:
            remap[index], op = wrap(index, fb.BuiltinOperator.QUANTIZE, True)
            front_ops.append(op)
    for index in sg.outputs:
        if sg.tensors[index].type not in FLOAT_TYPES:
            remap[index], op = wrap(index, fb.BuiltinOperator.DEQUANTIZE, False)
            back_ops.append(op)
    sg.operators = front_ops + list(sg.operators) + back_ops
    sg.inputs = [remap.get(i, i) for i in sg.inputs]
    sg.outputs = [remap.get(i, i) for i in sg.outputs]
    for sig in model.signatureDefs or []:
        for tm in list(sig.inputs or []) + list(sig.outputs or []):
            tm.tensorIndex = remap.get(tm.tensorIndex, tm.tensorIndex)
    return write_model(model)


# --- checks -----------------------------------------------------------------------------------


def _subgraph_problem(model: Any) -> list[str]:
    if len(model.subgraphs) == 1:
        return []
    n = len(model.subgraphs)
    return [f"the model has {n} subgraphs (control flow such as WHILE or IF): not supported"]


def unsupported_float_ops(data: bytes) -> list[str]:
    """Ops of a (float) model outside :data:`SUPPORTED_OPS`: no int8 conversion fixes them."""
    model = read_model(data)
    ops = [op_name(model, op) for op in model.subgraphs[0].operators or []]
    problems = [
        f"op #{i} {name}: not supported by the mcuforge compiler"
        for i, name in enumerate(ops)
        if name not in SUPPORTED_OPS
    ]
    return _subgraph_problem(model) + problems


def check_int8_model(data: bytes, *, float_io: bool = False, activations: str = "int8"
                     ) -> list[str]:
    """Every reason this is not a fully integer model of supported ops (empty list if none):
    int8, or with ``activations="int16"`` a 16x8 model (int16 activations, int8 weights).

    Float tensors may only be the graph's inputs and outputs, with ``float_io``, converted by a
    QUANTIZE / DEQUANTIZE at the boundary. A QUANTIZE / DEQUANTIZE pair around a float op inside
    the graph is reported only when no op explains it.
    """
    model = read_model(data)
    problems, float_sections = _subgraph_problem(model), []
    sg = model.subgraphs[0]
    graph_in, graph_out = set(sg.inputs), set(sg.outputs)
    for i, op in enumerate(sg.operators or []):
        name = op_name(model, op)
        ins, outs = [t for t in op.inputs if t >= 0], [t for t in op.outputs if t >= 0]
        floats = [t for t in ins + outs if sg.tensors[t].type in FLOAT_TYPES]
        kind = TYPE_NAMES[sg.tensors[floats[0]].type] if floats else ""
        if name not in SUPPORTED_OPS:
            also = f" (and it computes in {kind})" if floats else ""
            problems.append(f"op #{i} {name}: not supported by the mcuforge compiler{also}")
        elif name in ("QUANTIZE", "DEQUANTIZE"):
            edge = (name == "QUANTIZE" and floats == ins and set(ins) <= graph_in) or (
                name == "DEQUANTIZE" and floats == outs and set(outs) <= graph_out
            )
            if floats and not (float_io and edge):
                float_sections.append(f"op #{i} {name} converts {kind} inside the graph")
        elif floats:
            tensor = tensor_name(sg.tensors[floats[0]])
            problems.append(f"op #{i} {name} computes in {kind} (tensor '{tensor}'): no int8 form")
        # The integer LSTM's cell state is int16 by design.
        if activations == "int8" and name != "UNIDIRECTIONAL_SEQUENCE_LSTM" and any(
                sg.tensors[t].type == fb.TensorType.INT16 for t in ins + outs):
            problems.append(f"op #{i} {name} uses int16 tensors: 16x8 quantisation is unsupported")
    want = fb.TensorType.FLOAT32 if float_io else (
        fb.TensorType.INT8 if activations == "int8" else fb.TensorType.INT16)
    for index in list(sg.inputs) + list(sg.outputs):
        tensor = sg.tensors[index]
        if tensor.type != want:
            problems.append(
                f"graph input/output '{tensor_name(tensor)}' is {TYPE_NAMES[tensor.type]}, "
                f"expected {TYPE_NAMES[want]}"
            )
    return problems or float_sections


def compile_problems(data: bytes, name: str) -> list[str]:
    """What the compiler's op checks say about an integer model (empty when it compiles): a
    supported op name is not enough (an LSTM with peepholes, a 16x8 op without an int16 form)."""
    from mcuforge.compiler.ops import node_problems
    from mcuforge.model import parse_model

    graph = parse_model(data, name)
    return [f"op #{op.index} {op.opcode}: {p}" for op in graph.operators
            for p in node_problems(graph, op)]
