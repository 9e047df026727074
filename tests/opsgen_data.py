"""Models for the data-movement and element-wise op tests, two ways:

- :func:`convert`: a ``tf.function`` through the real TensorFlow converter (int8, or 16x8 with
  int16 activations), for the op configurations the converter really emits;
- :class:`FlatModel`: a .tflite written directly with the flatbuffer schema the ``tflite-micro``
  wheel ships, for what the converter never emits or folds away (every strided-slice mask, any
  dtype, constant inputs, odd quantizations). Writing it takes microseconds, so one model can
  hold dozens of random configurations side by side.

Either way the TFLM interpreter is the oracle: :func:`modelgen.check_bit_exact` compiles the
model with mcuforge, runs the C on the host and compares every output bit with TFLM's.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _fb() -> Any:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    return fb


def convert(fn: Callable[..., Any], shapes: Sequence[tuple[int, ...]], *, seed: int,
            int16: bool = False, uint8_output: bool = False, calibration: int = 24) -> bytes:
    """Quantize ``fn`` (float tensors with the given shapes, batch included) with the converter:
    full-integer int8, or with ``int16`` the 16x8 scheme (int16 activations, int8 weights).
    ``uint8_output`` asks for uint8 outputs (the converter appends an int8 -> uint8 QUANTIZE).
    Every input gets its own random asymmetric calibration range."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    spec = [tf.TensorSpec(s, tf.float32) for s in shapes]
    func = tf.function(fn, input_signature=spec)
    ranges = []
    for _ in shapes:
        lo = float(rng.uniform(-4.0, 0.5))
        ranges.append((lo, lo + float(rng.uniform(0.5, 6.0))))

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(calibration):
            yield [rng.uniform(lo, hi, size=s).astype(np.float32)
                   for (lo, hi), s in zip(ranges, shapes, strict=True)]

    conv = tf.lite.TFLiteConverter.from_concrete_functions([func.get_concrete_function()], func)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    if int16:
        conv.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int16
    else:
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    if uint8_output:
        conv.inference_output_type = tf.uint8
    return bytes(conv.convert())


def without_state(model: bytes) -> bytes:
    """A stateful streaming model (ESPHome micro_wake_word: VAR_HANDLE / READ_VARIABLE /
    ASSIGN_VARIABLE, initialised by a CALL_ONCE subgraph) as the stateless function it computes:
    each state read becomes an extra graph input, each state write an extra graph output, and
    only the main subgraph is kept. Every other node, tensor and constant is the model's own."""
    import flatbuffers

    fb = _fb()
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    m = fb.ModelT.InitFromObj(fb.Model.GetRootAs(model, 0))
    sg = m.subgraphs[0]
    inputs, outputs, ops = list(sg.inputs), list(sg.outputs), []
    for op in sg.operators:
        code = m.operatorCodes[op.opcodeIndex]
        name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
        if name == "READ_VARIABLE":
            inputs.append(int(op.outputs[0]))
        elif name == "ASSIGN_VARIABLE":
            outputs.append(int(op.inputs[1]))
        elif name not in ("CALL_ONCE", "VAR_HANDLE"):
            ops.append(op)
    sg.operators, sg.inputs, sg.outputs = ops, inputs, outputs
    m.subgraphs, m.signatureDefs = [sg], None
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def main_subgraph_only(model: bytes) -> bytes:
    """The model with its first subgraph only (what :func:`mcuforge.model.parse_model` reads)."""
    import flatbuffers

    m = _fb().ModelT.InitFromObj(_fb().Model.GetRootAs(model, 0))
    m.subgraphs, m.signatureDefs = m.subgraphs[:1], None
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


#: Builtin options table per opcode, where the op has one.
OPTIONS = {
    "STRIDED_SLICE": "StridedSliceOptions",
    "SLICE": "SliceOptions",
    "SPLIT": "SplitOptions",
    "SPLIT_V": "SplitVOptions",
    "UNPACK": "UnpackOptions",
    "PACK": "PackOptions",
    "CONCATENATION": "ConcatenationOptions",
    "TRANSPOSE": "TransposeOptions",
    "GATHER": "GatherOptions",
    "SUB": "SubOptions",
    "ADD": "AddOptions",
    "MAXIMUM": "MaximumMinimumOptions",
    "MINIMUM": "MaximumMinimumOptions",
    "ABS": "AbsOptions",
    "SQUARED_DIFFERENCE": "SquaredDifferenceOptions",
    "QUANTIZE": "QuantizeOptions",
    "RESHAPE": "ReshapeOptions",
}


class FlatModel:
    """A single-subgraph .tflite built tensor by tensor."""

    def __init__(self) -> None:
        fb = _fb()
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [fb.BufferT()]
        self.operators: list[Any] = []
        self.codes: list[str] = []

    def tensor(self, dtype: str, shape: Sequence[int], quant: tuple[float, int] | None = None,
               data: np.ndarray | None = None) -> int:
        """A tensor; ``quant`` is (scale, zero point); ``data`` makes it a constant."""
        fb = _fb()
        t = fb.TensorT()
        t.shape, t.type = list(shape), getattr(fb.TensorType, dtype.upper())
        t.name, t.buffer = f"t{len(self.tensors)}", 0
        if quant is not None:
            t.quantization = fb.QuantizationParametersT()
            t.quantization.scale, t.quantization.zeroPoint = [float(quant[0])], [int(quant[1])]
        if data is not None:
            buf = fb.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), dtype=np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def like(self, src: int, shape: Sequence[int]) -> int:
        """A tensor with ``src``'s dtype and quantization."""
        t = self.tensors[src]
        q = t.quantization
        quant = (q.scale[0], q.zeroPoint[0]) if q is not None else None
        names = {v: k.lower() for k, v in vars(_fb().TensorType).items() if not k.startswith("_")}
        return self.tensor(names[t.type], shape, quant)

    def const(self, values: Sequence[int] | np.ndarray, dtype: str = "int32",
              shape: Sequence[int] | None = None) -> int:
        arr = np.asarray(values, dtype=dtype)
        return self.tensor(dtype, arr.shape if shape is None else shape, data=arr)

    def op(self, opcode: str, inputs: Sequence[int], outputs: Sequence[int],
           **options: Any) -> None:
        """One operator; ``options`` are the fields of its builtin options (schema names, e.g.
        ``beginMask``)."""
        fb = _fb()
        if opcode not in self.codes:
            self.codes.append(opcode)
        o = fb.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = self.codes.index(opcode), list(inputs), list(outputs)
        if opcode in OPTIONS:
            name = OPTIONS[opcode]
            obj = getattr(fb, name + "T")()
            for k, v in options.items():
                assert hasattr(obj, k), f"{name} has no field {k}"
                setattr(obj, k, v)
            o.builtinOptions, o.builtinOptionsType = obj, getattr(fb.BuiltinOptions, name)
        else:
            assert not options, f"{opcode}: options given for an op without options"
        self.operators.append(o)

    def build(self, inputs: Sequence[int], outputs: Sequence[int]) -> bytes:
        import flatbuffers

        fb = _fb()
        sg = fb.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.operators
        sg.inputs, sg.outputs = list(inputs), list(outputs)
        model = fb.ModelT()
        model.version, model.subgraphs, model.buffers = 3, [sg], self.buffers
        model.operatorCodes = []
        for opcode in self.codes:
            code = fb.OperatorCodeT()
            code.builtinCode = getattr(fb.BuiltinOperator, opcode)
            code.deprecatedBuiltinCode, code.version = min(code.builtinCode, 127), 1
            model.operatorCodes.append(code)
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())


def random_quant(rng: np.random.Generator, dtype: str = "int8") -> tuple[float, int] | None:
    """A scale over five decades and any zero point (zero for int16, as TFLM requires)."""
    scale = float(np.float32(10 ** rng.uniform(-3.5, 0.5)))
    if dtype == "int8":
        return scale, int(rng.integers(-128, 128))
    if dtype == "uint8":
        return scale, int(rng.integers(0, 256))
    if dtype == "int16":
        return scale, 0
    return None


def random_shape(rng: np.random.Generator, rank: int, lo: int = 1, hi: int = 6) -> tuple[int, ...]:
    return tuple(int(rng.integers(lo, hi + 1)) for _ in range(rank))


def op_names(manifest: dict) -> list[str]:
    return [s["op"] for s in manifest["steps"]]


def kernels(manifest: dict) -> list[str]:
    return [s["kernel"] for s in manifest["steps"]]
