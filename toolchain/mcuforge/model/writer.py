""".tflite flatbuffers written directly, without the TF converter: graphs of builtin and custom
ops (the TFLM signal library's front-end ops take FlexBuffer options) built tensor by tensor.

    w = TfliteWriter()
    x = w.input("audio", "int16", (1, 480))
    y = w.tensor("windowed", "int16", (1, 480))
    w.custom("SignalWindow", [x, w.const("window", weights)], [y], {"shift": 12})
    data = w.finish([y])

The result is a single-subgraph model with one signature, as the converter writes them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.model.ir import NUMPY_DTYPES

_TYPES = {name: getattr(fb.TensorType, name.upper()) for name in NUMPY_DTYPES
          if hasattr(fb.TensorType, name.upper())}


class TfliteWriter:
    """Builds one subgraph; :meth:`finish` returns the .tflite bytes."""

    def __init__(self, description: str = "mcuforge") -> None:
        self._tensors: list[Any] = []
        self._buffers: list[Any] = [fb.BufferT()]  # buffer 0: the empty buffer
        self._ops: list[Any] = []
        self._codes: list[tuple[int, str, int]] = []
        self._inputs: list[int] = []
        self._description = description

    def tensor(self, name: str, dtype: str, shape: tuple[int, ...], *,
               quant: tuple[float, int] | None = None, data: np.ndarray | None = None) -> int:
        """A tensor; ``data`` makes it a constant, ``quant`` = (scale, zero point)."""
        t = fb.TensorT()
        t.name, t.type, t.shape = name.encode(), _TYPES[dtype], list(shape)
        t.buffer = 0
        if data is not None:
            values = np.ascontiguousarray(data, dtype=NUMPY_DTYPES[dtype])
            assert values.size == (int(np.prod(shape)) if shape else 1), (name, shape)
            buf = fb.BufferT()
            buf.data = np.frombuffer(values.tobytes(), dtype=np.uint8)
            t.buffer = len(self._buffers)
            self._buffers.append(buf)
        if quant is not None:
            q = fb.QuantizationParametersT()
            q.scale, q.zeroPoint = [float(np.float32(quant[0]))], [int(quant[1])]
            t.quantization = q
        self._tensors.append(t)
        return len(self._tensors) - 1

    def const(self, name: str, values: np.ndarray | int, dtype: str | None = None,
              shape: tuple[int, ...] | None = None) -> int:
        """A constant tensor holding ``values`` (a scalar gives a shape-[] tensor)."""
        arr = np.asarray(values)
        dtype = dtype or str(arr.dtype)
        return self.tensor(name, dtype, tuple(arr.shape) if shape is None else shape,
                           data=arr.astype(NUMPY_DTYPES[dtype]))

    def input(self, name: str, dtype: str, shape: tuple[int, ...], **kw: Any) -> int:
        index = self.tensor(name, dtype, shape, **kw)
        self._inputs.append(index)
        return index

    def _code(self, builtin: int, custom: str = "", version: int = 1) -> int:
        key = (builtin, custom, version)
        if key not in self._codes:
            self._codes.append(key)
        return self._codes.index(key)

    def builtin(self, opcode: str, inputs: list[int], outputs: list[int],
                options: Any = None, version: int = 1) -> None:
        """A builtin op; ``options`` is the schema's options object (``fb.AddOptionsT()``...)."""
        op = fb.OperatorT()
        op.opcodeIndex = self._code(getattr(fb.BuiltinOperator, opcode), version=version)
        op.inputs, op.outputs = list(inputs), list(outputs)
        if options is not None:
            op.builtinOptions = options
            op.builtinOptionsType = getattr(fb.BuiltinOptions, type(options).__name__[:-1])
        self._ops.append(op)

    def custom(self, name: str, inputs: list[int], outputs: list[int],
               options: dict[str, Any] | None = None) -> None:
        """A custom op with FlexBuffer-map options (``{}`` writes an empty map)."""
        from flatbuffers import flexbuffers

        op = fb.OperatorT()
        op.opcodeIndex = self._code(fb.BuiltinOperator.CUSTOM, name)
        op.inputs, op.outputs = list(inputs), list(outputs)
        op.customOptions = list(flexbuffers.Dumps(dict(options or {})))
        op.customOptionsFormat = fb.CustomOptionsFormat.FLEXBUFFERS
        self._ops.append(op)

    def finish(self, outputs: list[int]) -> bytes:
        import flatbuffers

        sg = fb.SubGraphT()
        sg.tensors, sg.operators, sg.name = self._tensors, self._ops, b"main"
        sg.inputs, sg.outputs = list(self._inputs), list(outputs)
        model = fb.ModelT()
        model.version, model.subgraphs, model.buffers = 3, [sg], self._buffers
        model.description = self._description.encode()
        model.operatorCodes = []
        for builtin, custom, version in self._codes:
            code = fb.OperatorCodeT()
            code.builtinCode, code.deprecatedBuiltinCode = builtin, min(builtin, 127)
            code.version = version
            if custom:
                code.customCode = custom.encode()
            model.operatorCodes.append(code)
        sig = fb.SignatureDefT()
        sig.signatureKey, sig.subgraphIndex = b"serving_default", 0
        sig.inputs = [_tensor_map(self._tensors[i].name, i) for i in self._inputs]
        sig.outputs = [_tensor_map(self._tensors[i].name, i) for i in outputs]
        model.signatureDefs = [sig]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def _tensor_map(name: bytes, index: int) -> Any:
    m = fb.TensorMapT()
    m.name, m.tensorIndex = name, index
    return m
