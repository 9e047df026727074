""".tflite bytes to a validated :class:`~mcuforge.model.ir.Graph`.

Parsing uses the flatbuffer schema module that the ``tflite-micro`` wheel ships, so the reader
understands exactly the files the reference interpreter understands. Structural problems (not a
.tflite file, truncated, several signatures, initialisers that compute) are rejected here
with a :class:`ModelError` before anything is built; whether each op can be compiled is the
compiler's question (:func:`mcuforge.compiler.ops.check_graph`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import ModelError
from mcuforge.model.ir import NUMPY_DTYPES, Graph, Operator, Quant, Tensor, Variable

_OPCODE_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_DTYPE_NAMES = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_ACTIVATIONS = {v: k for k, v in vars(fb.ActivationFunctionType).items() if not k.startswith("_")}
_PADDINGS = {v: k for k, v in vars(fb.Padding).items() if not k.startswith("_")}
_FILE_IDENTIFIER = b"TFL3"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_OPTION_TYPES = {name: getattr(fb.BuiltinOptions, name) for name in dir(fb.BuiltinOptions)
                 if not name.startswith("_")}
#: The options table each op's TFLM parser reads; a table of another type counts as none.
_EXPECTED_OPTIONS = {
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "FULLY_CONNECTED": "FullyConnectedOptions", "SOFTMAX": "SoftmaxOptions",
    "CONCATENATION": "ConcatenationOptions", "ADD": "AddOptions", "SUB": "SubOptions",
    "MUL": "MulOptions", "DIV": "DivOptions", "RESHAPE": "ReshapeOptions",
    "GATHER": "GatherOptions", "TRANSPOSE": "TransposeOptions", "MEAN": "ReducerOptions",
    "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions", "REDUCE_MIN": "ReducerOptions",
    "SQUEEZE": "SqueezeOptions", "STRIDED_SLICE": "StridedSliceOptions",
    "SPLIT": "SplitOptions", "SPLIT_V": "SplitVOptions", "TRANSPOSE_CONV": "TransposeConvOptions",
    "PACK": "PackOptions", "UNPACK": "UnpackOptions", "LEAKY_RELU": "LeakyReluOptions",
    "RESIZE_BILINEAR": "ResizeBilinearOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "BATCH_MATMUL": "BatchMatMulOptions", "CALL_ONCE": "CallOnceOptions",
    "VAR_HANDLE": "VarHandleOptions",
}
#: Ops whose options TFLM cannot do without: with no table it runs them on zeroed parameters
#: (stride 0, filter 0, beta 0, alpha 0, count 0), not on the schema's defaults.
_OPTIONS_REQUIRED = ("CONV_2D", "DEPTHWISE_CONV_2D", "TRANSPOSE_CONV", "AVERAGE_POOL_2D",
                     "MAX_POOL_2D", "SOFTMAX", "LEAKY_RELU", "PACK", "UNPACK")


def _options(op: Any, opcode: str, where: str) -> dict[str, Any]:
    """The builtin options of an operator as a plain dict with snake_case keys.

    Enum-valued options (fused activation, padding) are turned into their names so that the
    compiler compares strings, not magic numbers.
    """
    table = op.BuiltinOptions()
    kind = op.BuiltinOptionsType()
    expected = _EXPECTED_OPTIONS.get(opcode)
    if expected is not None and kind != _OPTION_TYPES[expected]:
        table = None  # TFLM's builtin_options_as_<expected>() is null for another type
    obj = fb.BuiltinOptionsCreator(kind, table) if table is not None else None
    if obj is None:
        if opcode in _OPTIONS_REQUIRED:
            found = next((n for n, v in _OPTION_TYPES.items() if v == kind), str(kind))
            raise ModelError(
                f"{where}: {opcode} has no {expected} (its options table is {found}); TFLM "
                "would run it with zeroed parameters"
            )
        return {}
    out: dict[str, Any] = {}
    for key, value in vars(obj).items():
        key = _snake(key)
        if key == "fused_activation_function":
            value = _ACTIVATIONS.get(value, str(value))
        elif key == "padding":
            value = _PADDINGS.get(value, str(value))
        elif isinstance(value, np.ndarray):
            value = value.tolist()
        out[key] = value
    return out


def _quant(tensor: Any) -> Quant | None:
    q = tensor.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scale = tuple(float(s) for s in q.ScaleAsNumpy().astype(np.float32))
    # No zero points is not 'all zero': TFLM reads past the empty vector (tests/fuzz.py found
    # it); validation refuses the mismatch.
    zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else ()
    return Quant(scale=scale, zero_point=zp, axis=int(q.QuantizedDimension()))


def _buffer_bytes(model: Any, raw: bytes, index: int) -> bytes | None:
    if index >= model.BuffersLength():
        # TFLM reads whatever lies past the buffer table (found by tests/fuzz.py).
        raise ModelError(f"a tensor refers to buffer {index}; the model has "
                         f"{model.BuffersLength()} buffers")
    if index <= 0:
        return None
    buf = model.Buffers(index)
    if buf.Offset() > 1:
        # Models over 2 GB keep buffers after the flatbuffer; tiny models never do, but a bad
        # offset must not read past the file.
        start, size = buf.Offset(), buf.Size()
        if start + size > len(raw):
            raise ModelError(f"buffer {index} points past the end of the file (truncated model?)")
        return raw[start : start + size]
    if buf.DataLength() == 0:
        return None
    return buf.DataAsNumpy().tobytes()


def parse_model(raw: bytes, name: str = "model") -> Graph:
    """Parse .tflite bytes into a Graph, validating structure; raises :class:`ModelError`."""
    if len(raw) < 8 or raw[4:8] != _FILE_IDENTIFIER:
        raise ModelError(
            f"{name}: not a TensorFlow Lite model (no 'TFL3' file identifier in its first 8 bytes)"
        )
    try:
        graph = _parse(raw, name)
    except ModelError:
        raise
    except Exception as exc:  # flatbuffers reports truncation as struct/index errors
        raise ModelError(
            f"{name}: the .tflite file is truncated or corrupt ({type(exc).__name__}: {exc})"
        ) from None
    return graph


def _parse(raw: bytes, name: str) -> Graph:
    model = fb.Model.GetRootAs(raw, 0)
    n_sub = model.SubgraphsLength()
    if n_sub < 1:
        raise ModelError(f"{name}: the model has no subgraph")
    if model.SignatureDefsLength() > 1:
        raise ModelError(
            f"{name}: the model has {model.SignatureDefsLength()} signatures; mcuforge compiles "
            "single-signature models (export one function per model)"
        )
    tensors, operators, inputs, outputs = _subgraph(model, raw, name, 0)
    desc = model.Description()
    graph = Graph(
        name=name,
        tensors=tensors,
        operators=operators,
        inputs=inputs,
        outputs=outputs,
        description=desc.decode(errors="replace") if desc else "",
        sha256=hashlib.sha256(raw).hexdigest(),
    )
    _bind_variables(model, raw, graph)
    return graph


def _subgraph(
    model: Any, raw: bytes, name: str, index: int
) -> tuple[list[Tensor], list[Operator], list[int], list[int]]:
    sg = model.Subgraphs(index)
    where = name if index == 0 else f"{name} (subgraph {index})"
    tensors: list[Tensor] = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        type_code = t.Type()
        dtype = _DTYPE_NAMES.get(type_code, f"type{type_code}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise ModelError(
                f"{where}: tensor {i} has a dynamic shape {shape}; a fixed shape is needed"
            )
        data = None
        payload = _buffer_bytes(model, raw, t.Buffer())
        if payload is not None:
            if dtype not in NUMPY_DTYPES:
                raise ModelError(f"{where}: constant tensor {i} has unsupported type {dtype}")
            data = np.frombuffer(payload, dtype=NUMPY_DTYPES[dtype])
            expected = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if data.size != expected:
                raise ModelError(
                    f"{where}: constant tensor {i} ('{t.Name().decode(errors='replace')}') holds "
                    f"{data.size} values but its shape {list(shape)} needs {expected}"
                )
            data = data.reshape(shape).copy()
        tensors.append(
            Tensor(
                index=i,
                name=(t.Name() or b"").decode(errors="replace"),
                shape=shape,
                dtype=dtype,
                quant=_quant(t),
                data=data,
                is_variable=bool(t.IsVariable()),
            )
        )
    operators: list[Operator] = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        code_index = op.OpcodeIndex()
        if code_index >= model.OperatorCodesLength():
            raise ModelError(f"{where}: node {i} refers to a missing operator code {code_index}")
        oc = model.OperatorCodes(code_index)
        builtin = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        opcode = _OPCODE_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if opcode == "CUSTOM":
            opcode = f"CUSTOM:{(oc.CustomCode() or b'?').decode(errors='replace')}"
        inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
        outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
        for t in inputs + outputs:
            if t >= len(tensors) or t < -1:
                raise ModelError(f"{where}: node {i} ({opcode}) refers to a missing tensor {t}")
        options = _options(op, opcode, f"{where}: node {i}")
        if op.CustomOptionsLength():
            options["custom_options"] = op.CustomOptionsAsNumpy().tobytes()
        operators.append(
            Operator(
                index=i,
                opcode=opcode,
                inputs=inputs,
                outputs=outputs,
                options=options,
                version=int(oc.Version()),
            )
        )
    io = [
        [int(x) for x in arr] if n else []
        for arr, n in ((sg.InputsAsNumpy(), sg.InputsLength()),
                       (sg.OutputsAsNumpy(), sg.OutputsLength()))
    ]
    return tensors, operators, io[0], io[1]


def _handle_key(op: Operator) -> tuple[bytes, bytes]:
    """TFLM names a resource variable by (container, shared_name) of its VAR_HANDLE."""
    return (bytes(op.options.get("container") or b""),
            bytes(op.options.get("shared_name") or b""))


def _bind_variables(model: Any, raw: bytes, graph: Graph) -> None:
    """Find the main graph's resource variables and their initial values.

    Streaming models keep state in resource variables: VAR_HANDLE names one, READ_VARIABLE and
    ASSIGN_VARIABLE use it, and a CALL_ONCE node runs an initialiser subgraph on the first invoke.
    mcuforge evaluates the initialiser at compile time, which needs it to assign constants (the
    converter's initialisers do); anything else is refused here. Other subgraphs are only
    reachable through control-flow ops (WHILE, IF, CALL), which the op registry refuses by name.
    """
    handles = [op for op in graph.operators if op.opcode == "VAR_HANDLE"]
    if not handles:
        return
    initial: dict[tuple[bytes, bytes], np.ndarray] = {}
    for op in graph.operators:
        if op.opcode != "CALL_ONCE":
            continue
        index = int(op.options.get("init_subgraph_index", -1))
        if not 0 < index < model.SubgraphsLength():
            raise ModelError(
                f"{graph.name}: node {op.index} (CALL_ONCE) runs subgraph {index}, which does "
                "not exist"
            )
        initial.update(_initial_values(model, raw, graph.name, index))
    by_key: dict[tuple[bytes, bytes], Variable] = {}
    for op in handles:
        if len(op.outputs) != 1:
            raise ModelError(f"{graph.name}: {op.describe()} needs one output")
        key = _handle_key(op)
        var = by_key.get(key)
        if var is None:
            value = _variable_value(graph, op.outputs[0], key, initial)
            label = key[1].decode(errors="replace") or f"variable {len(by_key)}"
            var = Variable(index=len(by_key), name=label, initial=value)
            by_key[key] = var
        var.handles.append(op.outputs[0])
    graph.variables = list(by_key.values())


def _initial_values(
    model: Any, raw: bytes, name: str, index: int
) -> dict[tuple[bytes, bytes], np.ndarray]:
    tensors, operators, _, _ = _subgraph(model, raw, name, index)
    keys: dict[int, tuple[bytes, bytes]] = {}
    values: dict[tuple[bytes, bytes], np.ndarray] = {}
    for op in operators:
        if op.opcode == "VAR_HANDLE" and len(op.outputs) == 1:
            keys[op.outputs[0]] = _handle_key(op)
        elif op.opcode == "ASSIGN_VARIABLE" and len(op.inputs) == 2 and op.inputs[0] in keys:
            value = tensors[op.inputs[1]]
            if value.is_variable:
                # TFLM allocates variable tensors in its arena and resets them to the zero
                # point: the buffer's data would not be what is assigned (fuzz finding).
                raise ModelError(
                    f"{name}: the CALL_ONCE initialiser (subgraph {index}) assigns tensor "
                    f"{value.index}, which is marked variable; initial state must be constant"
                )
            if value.data is None:
                raise ModelError(
                    f"{name}: the CALL_ONCE initialiser (subgraph {index}) assigns a computed "
                    f"value (tensor {value.index}) to a variable; mcuforge needs constant "
                    "initial state"
                )
            values[keys[op.inputs[0]]] = value.data
        else:
            raise ModelError(
                f"{name}: the CALL_ONCE initialiser (subgraph {index}) runs {op.opcode} "
                f"(node {op.index}); mcuforge evaluates initialisers at compile time and "
                "supports only VAR_HANDLE and ASSIGN_VARIABLE of constants there"
            )
    return values


def _variable_value(
    graph: Graph, handle: int, key: tuple[bytes, bytes],
    initial: dict[tuple[bytes, bytes], np.ndarray],
) -> np.ndarray:
    """The variable's initial value. Without an initialiser TFLM sizes the variable by the
    first ASSIGN_VARIABLE's value tensor and fills every byte with that tensor's first zero point
    cast to int8 (``MicroResourceVariables::Allocate``: a memset, whatever the type)."""
    if key in initial:
        return initial[key]
    name = key[1].decode(errors="replace")
    for op in graph.operators:
        if op.opcode == "ASSIGN_VARIABLE" and op.inputs[:1] == (handle,) and len(op.inputs) > 1:
            t = graph.tensors[op.inputs[1]]
            if t.dtype not in NUMPY_DTYPES:
                break
            fill = 0
            if t.quant is not None and t.quant.zero_point:
                fill = int(np.array(t.quant.zero_point[0]).astype(np.int8).view(np.uint8))
            count = int(np.prod(t.shape, dtype=np.int64)) if t.shape else 1
            size = count * np.dtype(NUMPY_DTYPES[t.dtype]).itemsize
            return np.frombuffer(bytes([fill]) * size, dtype=NUMPY_DTYPES[t.dtype]).reshape(
                t.shape).copy()
    if any(op.opcode == "READ_VARIABLE" and op.inputs[:1] == (handle,)
           for op in graph.operators):
        raise ModelError(
            f"{graph.name}: resource variable '{name}' is read but never initialised or "
            "assigned (TFLM would read an unallocated buffer)"
        )
    raise ModelError(
        f"{graph.name}: resource variable '{name}' is never read, assigned or initialised, so "
        "its size is unknown"
    )


def precision_problems(graph: Graph, int16_nodes: Collection[int] = ()) -> list[str]:
    """Why the graph is not a full-integer int8 graph, one line per offending tensor.

    Float is allowed only at the edges: a float input that is quantized, a float output that is
    dequantized. Anything else is a float, hybrid, float16 or 16x8 model, and each gets a reason.
    int16 activations are fine where every node that writes or reads them is in ``int16_nodes``
    (nodes the compiler accepts with their int16 tensors: data movement, SUB, ABS...).
    """
    consumers = graph.consumers()
    producers = graph.producers()
    ops = graph.operators
    bad: list[str] = []
    for t in graph.tensors:
        users = [ops[i] for i in consumers.get(t.index, [])]
        touching = [u.index for u in users] + ([producers[t.index]] if t.index in producers else [])
        if t.dtype == "int16" and not t.is_const and all(n in int16_nodes for n in touching):
            continue
        if t.dtype == "int16" and not t.is_const:
            bad.append(f"tensor {t.index} '{t.name}' carries int16 activations (16x8 quantization)")
            continue
        if t.dtype not in ("float32", "float16"):
            continue
        producer = ops[producers[t.index]].opcode if t.index in producers else None
        if producer is None and not users and t.index not in graph.inputs + graph.outputs:
            continue  # no op reads or writes it (an LSTM's float "intermediates" hold scales)
        if t.index in graph.inputs and users and all(u.opcode == "QUANTIZE" for u in users):
            continue
        if t.index in graph.outputs and producer == "DEQUANTIZE":
            continue
        if t.is_const and t.dtype == "float16":
            bad.append(f"tensor {t.index} '{t.name}' holds float16 weights (float16 quantization)")
        elif t.is_const and users and all(u.opcode == "DEQUANTIZE" for u in users):
            bad.append(
                f"tensor {t.index} '{t.name}' is dequantized at run time (weight-only quantization)"
            )
        elif any(_is_hybrid(graph, u) for u in users):
            bad.append(
                f"tensor {t.index} '{t.name}' is a float input of an int8-weight layer "
                "(hybrid quantization)"
            )
        elif t.is_const:
            bad.append(f"tensor {t.index} '{t.name}' holds {t.dtype} weights")
        else:
            bad.append(f"tensor {t.index} '{t.name}' carries {t.dtype} activations")
    return bad


def _is_hybrid(graph: Graph, op: Operator) -> bool:
    return (
        len(op.inputs) > 1
        and op.inputs[1] >= 0
        and graph.tensors[op.inputs[0]].dtype == "float32"
        and graph.tensors[op.inputs[1]].dtype == "int8"
    )


def read_model(path: str | Path) -> Graph:
    """Read and validate a .tflite file; raises :class:`ModelError` with the reason."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"{path}: no such file")
    keras = path.suffix.lower() in (".keras", ".h5", ".hdf5")
    saved_model = path.is_dir() and (path / "saved_model.pb").is_file()
    if keras or saved_model:
        kind = "a Keras model" if keras else "a TensorFlow SavedModel"
        raise ModelError(
            f"{path} is {kind}, not a .tflite file: convert it first with `mcuforge quantize "
            f"{path} -o {path.stem or 'model'}_int8.tflite --calibration SAMPLES.npy` "
            "(SAMPLES.npy: a few hundred typical inputs), then use the .tflite"
        )
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a .tflite file")
    return parse_model(path.read_bytes(), name=path.stem)
