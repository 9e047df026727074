""".tflite bytes to a validated :class:`~mcuforge.model.ir.Graph`.

Parsing uses the flatbuffer schema module that the ``tflite-micro`` wheel ships, so the reader
understands exactly the files the reference interpreter understands. Structural problems (not a
.tflite file, truncated, several subgraphs, float tensors inside an int8 graph) are rejected here
with a :class:`ModelError` before anything is built; whether each op can be compiled is the
compiler's question (:func:`mcuforge.compiler.ops.check_graph`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.errors import ModelError
from mcuforge.model.ir import NUMPY_DTYPES, Graph, Operator, Quant, Tensor

_OPCODE_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_DTYPE_NAMES = {v: k.lower() for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
_ACTIVATIONS = {v: k for k, v in vars(fb.ActivationFunctionType).items() if not k.startswith("_")}
_PADDINGS = {v: k for k, v in vars(fb.Padding).items() if not k.startswith("_")}
_FILE_IDENTIFIER = b"TFL3"


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _options(op: Any) -> dict[str, Any]:
    """The builtin options of an operator as a plain dict with snake_case keys.

    Enum-valued options (fused activation, padding) are turned into their names so that the
    compiler compares strings, not magic numbers.
    """
    table = op.BuiltinOptions()
    obj = fb.BuiltinOptionsCreator(op.BuiltinOptionsType(), table) if table is not None else None
    if obj is None:
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
    zp = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scale)
    return Quant(scale=scale, zero_point=zp, axis=int(q.QuantizedDimension()))


def _buffer_bytes(model: Any, raw: bytes, index: int) -> bytes | None:
    if index <= 0 or index >= model.BuffersLength():
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
    if n_sub != 1:
        raise ModelError(
            f"{name}: the model has {n_sub} subgraphs; mcuforge compiles single-subgraph models "
            "(control flow such as WHILE/IF and multi-signature models are not supported)"
        )
    sg = model.Subgraphs(0)
    tensors: list[Tensor] = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        type_code = t.Type()
        dtype = _DTYPE_NAMES.get(type_code, f"type{type_code}")
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise ModelError(
                f"{name}: tensor {i} has a dynamic shape {shape}; a fixed shape is needed"
            )
        data = None
        payload = _buffer_bytes(model, raw, t.Buffer())
        if payload is not None:
            if dtype not in NUMPY_DTYPES:
                raise ModelError(f"{name}: constant tensor {i} has unsupported type {dtype}")
            data = np.frombuffer(payload, dtype=NUMPY_DTYPES[dtype])
            expected = int(np.prod(shape, dtype=np.int64)) if shape else 1
            if data.size != expected:
                raise ModelError(
                    f"{name}: constant tensor {i} ('{t.Name().decode(errors='replace')}') holds "
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
            raise ModelError(f"{name}: node {i} refers to a missing operator code {code_index}")
        oc = model.OperatorCodes(code_index)
        builtin = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        opcode = _OPCODE_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if opcode == "CUSTOM":
            opcode = f"CUSTOM:{(oc.CustomCode() or b'?').decode(errors='replace')}"
        inputs = tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else ()
        outputs = tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else ()
        for t in inputs + outputs:
            if t >= len(tensors):
                raise ModelError(f"{name}: node {i} ({opcode}) refers to a missing tensor {t}")
        operators.append(
            Operator(
                index=i,
                opcode=opcode,
                inputs=inputs,
                outputs=outputs,
                options=_options(op),
                version=int(oc.Version()),
            )
        )
    desc = model.Description()
    return Graph(
        name=name,
        tensors=tensors,
        operators=operators,
        inputs=[int(x) for x in sg.InputsAsNumpy()] if sg.InputsLength() else [],
        outputs=[int(x) for x in sg.OutputsAsNumpy()] if sg.OutputsLength() else [],
        description=desc.decode(errors="replace") if desc else "",
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
    if path.is_dir():
        raise ModelError(f"{path}: is a directory, not a .tflite file")
    return parse_model(path.read_bytes(), name=path.stem)
