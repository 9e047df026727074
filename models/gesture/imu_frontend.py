"""Write the gesture pipeline's front end: LSM9DS1 accelerometer samples to the model's input.

The pipeline (models/pipelines/gesture.toml) hands its front end the newest 256 samples of
x, y, z at 50 Hz (the LSM9DS1's accelerometer-only rate nearest the model's 25 Hz) as
``int16[1, 256, 3, 1]`` in the sensor's units: 0.122 mg per LSB at +-4 g (LSM9DS1 datasheet,
linear acceleration sensitivity). The graph

    QUANTIZE          int16 (0.122 mg) -> int8 with the gesture model's input scale and zero point
    AVERAGE_POOL_2D   2 x 1, stride 2 x 1: 50 Hz -> 25 Hz, averaging pairs as synth.py averages
                      its fine time steps

gives ``int8[1, 128, 3, 1]``, the model's input, as one feature frame. Written directly with
the TFLite flatbuffer schema (the converter makes no int16 -> int8 graph).

Usage: ``python imu_frontend.py`` writes imu_frontend_int8.tflite next to this file.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import flatbuffers
import numpy as np
from tflite_micro.python.tflite_micro import runtime
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

HERE = Path(__file__).resolve().parent
RATE_HZ = 50
WINDOW = 256  # samples at RATE_HZ: 5.12 s, the model's 128 samples at 25 Hz
#: LSM9DS1 linear acceleration sensitivity at +-4 g (datasheet table 3): 0.122 mg/LSB.
MG_PER_LSB = 0.122


def _tensor(name: str, shape: list[int], dtype: int, scale: float, zero_point: int,
            buffer: int) -> fb.TensorT:
    t = fb.TensorT()
    t.name, t.shape, t.type, t.buffer = name, shape, dtype, buffer
    q = fb.QuantizationParametersT()
    q.scale, q.zeroPoint = [scale], [zero_point]
    t.quantization = q
    return t


def _opcode(code: int) -> fb.OperatorCodeT:
    c = fb.OperatorCodeT()
    c.builtinCode = code
    c.deprecatedBuiltinCode = code
    c.version = 1
    return c


def frontend_bytes(model_scale: float, model_zero_point: int) -> bytes:
    """The front end as .tflite bytes, for a model input of ``model_scale`` (mg per step)."""
    tensors = [
        _tensor("samples", [1, WINDOW, 3, 1], fb.TensorType.INT16, MG_PER_LSB, 0, 1),
        _tensor("quantized", [1, WINDOW, 3, 1], fb.TensorType.INT8, model_scale,
                model_zero_point, 2),
        _tensor("features", [1, WINDOW // 2, 3, 1], fb.TensorType.INT8, model_scale,
                model_zero_point, 3),
    ]
    quantize = fb.OperatorT()
    quantize.opcodeIndex, quantize.inputs, quantize.outputs = 0, [0], [1]
    quantize.builtinOptionsType = fb.BuiltinOptions.QuantizeOptions
    quantize.builtinOptions = fb.QuantizeOptionsT()
    pool = fb.OperatorT()
    pool.opcodeIndex, pool.inputs, pool.outputs = 1, [1], [2]
    pool.builtinOptionsType = fb.BuiltinOptions.Pool2DOptions
    options = fb.Pool2DOptionsT()
    options.padding = fb.Padding.VALID
    options.strideH, options.strideW, options.filterHeight, options.filterWidth = 2, 1, 2, 1
    options.fusedActivationFunction = fb.ActivationFunctionType.NONE
    pool.builtinOptions = options
    graph = fb.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs = tensors, [0], [2]
    graph.operators, graph.name = [quantize, pool], "main"
    model = fb.ModelT()
    model.version = 3
    model.description = "mcuforge gesture front end: LSM9DS1 50 Hz int16 -> gesture int8 input"
    model.operatorCodes = [_opcode(fb.BuiltinOperator.QUANTIZE),
                           _opcode(fb.BuiltinOperator.AVERAGE_POOL_2D)]
    model.subgraphs = [graph]
    model.buffers = [fb.BufferT() for _ in range(4)]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def model_input(model: Path) -> tuple[float, int]:
    """(scale, zero point) of the gesture model's input, as TFLM reads them."""
    interpreter = runtime.Interpreter.from_bytes(model.read_bytes())
    details = interpreter.get_input_details(0)["quantization_parameters"]
    return float(np.float32(details["scales"][0])), int(details["zero_points"][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=HERE / "gesture_int8.tflite")
    parser.add_argument("--out", type=Path, default=HERE / "imu_frontend_int8.tflite")
    args = parser.parse_args()
    scale, zero_point = model_input(args.model)
    args.out.write_bytes(frontend_bytes(scale, zero_point))
    print(f"wrote {args.out}: int16[1, {WINDOW}, 3, 1] ({MG_PER_LSB} mg/LSB) -> "
          f"int8[1, {WINDOW // 2}, 3, 1] (scale {scale:.6g} mg, zero point {zero_point})")


if __name__ == "__main__":
    main()
