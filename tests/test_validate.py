"""The consistency pass (mcuforge.model.validate): each class of damage the fuzzing review found
is refused with a message naming the node or tensor and the values, never a traceback, and never
compiled into C that reads out of bounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.cli import cli
from mcuforge.compiler.compile import compile_graph
from mcuforge.errors import ModelError
from mcuforge.model import parse_model
from mcuforge.model.validate import SHAPE_RULES, graph_problems
from mcuforge.quantize.flatbuffer import read_model, write_model

ZOO = Path(__file__).parent / "zoo"


def _edit(name: str, change: Callable[[Any], None]) -> bytes:
    model = read_model((ZOO / name).read_bytes())
    change(model)
    return write_model(model)


def _refused(data: bytes, tmp_path: Path, *needles: str) -> str:
    """The model is refused by compile and by `mcuforge inspect` (exit 2, no traceback), with
    every needle in the message."""
    with pytest.raises(ModelError) as info:
        compile_graph(parse_model(data, "damaged"))
    message = str(info.value)
    for needle in needles:
        assert needle in message, message
    path = tmp_path / "damaged.tflite"
    path.write_bytes(data)
    result = CliRunner().invoke(cli, ["inspect", str(path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    for needle in needles:
        assert needle in result.output, result.output
    return message


def _sg(model: Any) -> Any:
    return model.subgraphs[0]


def test_fully_connected_output_shape_disagreeing_with_input(tmp_path: Path) -> None:
    """The fuzzing review's out-of-bounds read: hello_world's first layer declared [128, 16]."""

    def change(m: Any) -> None:
        out = _sg(m).operators[0].outputs[0]
        _sg(m).tensors[out].shape = np.array([128, 16], dtype=np.int32)

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             "node 0 (FULLY_CONNECTED)", "[128, 16]", "[1, 16]")


def test_weight_zero_point_outside_int8(tmp_path: Path) -> None:
    """-4294967295 used to reach the C as a literal and fail the build with -Werror=overflow."""

    def change(m: Any) -> None:
        weights = _sg(m).operators[0].inputs[1]
        _sg(m).tensors[weights].quantization.zeroPoint = np.array([-4294967295], dtype=np.int64)

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             "zero point -4294967295", "node 0 (FULLY_CONNECTED)", "int8 [-128, 127]")


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -0.5, 0.0, 1e-45])
def test_unusable_scale(scale: float, tmp_path: Path) -> None:
    """A NaN scale used to end in 'cannot convert float NaN to integer' in round_away."""

    def change(m: Any) -> None:
        out = _sg(m).operators[1].outputs[0]
        _sg(m).tensors[out].quantization.scale = np.array([scale], dtype=np.float32)

    _refused(_edit("hello_world_int8.tflite", change), tmp_path, "scale", "node 1")


def test_scale_ratio_beyond_a_fixed_point_multiplier(tmp_path: Path) -> None:
    def change(m: Any) -> None:
        out = _sg(m).operators[2].outputs[0]
        _sg(m).tensors[out].quantization.scale = np.array([1e-30], dtype=np.float32)

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             "node 2 (FULLY_CONNECTED)", "too large for a fixed-point multiplier")


@pytest.mark.parametrize("where,index", [("inputs", -1), ("inputs", 99), ("outputs", -1),
                                         ("outputs", 10)])
def test_graph_io_index_out_of_range(where: str, index: int, tmp_path: Path) -> None:
    """-1 or past the tensor list: a KeyError / IndexError in emit and summary before."""

    def change(m: Any) -> None:
        setattr(_sg(m), where, np.array([index], dtype=np.int32))

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             f"graph {where[:-1]} refers to tensor {index}", "the model has 10 tensors")


def test_node_output_index_out_of_range(tmp_path: Path) -> None:
    def change(m: Any) -> None:
        _sg(m).operators[1].outputs = np.array([-1], dtype=np.int32)

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             "node 1 (FULLY_CONNECTED): output refers to tensor -1")


def test_tensor_read_before_written(tmp_path: Path) -> None:
    """A node reading a tensor a later node writes had no memory: an AssertionError in emit."""

    def change(m: Any) -> None:
        ops = _sg(m).operators
        ops[1].inputs = np.array([ops[2].outputs[0], *ops[1].inputs[1:]], dtype=np.int32)

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             "node 1 (FULLY_CONNECTED) reads tensor 9 before anything writes it")


def test_per_channel_scales_must_match_the_channels(tmp_path: Path) -> None:
    def change(m: Any) -> None:
        weights = _sg(m).tensors[_sg(m).operators[1].inputs[1]]
        weights.quantization.scale = np.array([0.01, 0.02, 0.03], dtype=np.float32)
        weights.quantization.zeroPoint = np.zeros(3, dtype=np.int64)
        weights.quantization.quantizedDimension = 0

    _refused(_edit("hello_world_int8.tflite", change), tmp_path,
             "3 per-channel scales for 16 channels on axis 0")


def test_unknown_dtype(tmp_path: Path) -> None:
    def change(m: Any) -> None:
        _sg(m).tensors[7].type = fb.TensorType.COMPLEX128

    _refused(_edit("hello_world_int8.tflite", change), tmp_path, "tensor 7", "complex128")


def _depthwise_options(m: Any) -> Any:
    return next(op for op in _sg(m).operators
                if max(m.operatorCodes[op.opcodeIndex].builtinCode,
                       m.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)
                == fb.BuiltinOperator.DEPTHWISE_CONV_2D).builtinOptions


def test_conv_output_shape_checked_against_the_window(tmp_path: Path) -> None:
    def change(m: Any) -> None:
        _depthwise_options(m).strideH = 1

    _refused(_edit("micro_speech_quantized.tflite", change), tmp_path,
             "(DEPTHWISE_CONV_2D): output tensor", "the inputs and options give")


def test_a_dilation_beyond_tflms_int16_is_refused(tmp_path: Path) -> None:
    """TFLM holds dilation and padding in int16_t and wraps them (a fuzzed model computed
    another window there than the file describes), so such a window is refused."""
    def change(m: Any) -> None:
        _depthwise_options(m).dilationWFactor = 40000

    _refused(_edit("micro_speech_quantized.tflite", change), tmp_path,
             "(DEPTHWISE_CONV_2D): strides 2x2, dilations 1x40000", "at most 32767")


def test_the_zoo_and_supported_ops_pass() -> None:
    """Published models are consistent, and the ops this pass knows have shape rules (ops
    added later without a rule are left to their own check)."""
    for path in sorted(ZOO.glob("*.tflite")):
        try:
            graph = parse_model(path.read_bytes(), path.stem)
        except ModelError:
            continue
        assert graph_problems(graph) == [], path.name
    known = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D",
             "ADD", "MUL", "SOFTMAX", "RESHAPE", "SQUEEZE", "EXPAND_DIMS", "PAD", "PADV2", "MEAN",
             "CONCATENATION", "LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "QUANTIZE",
             "DEQUANTIZE"}
    assert known <= set(SHAPE_RULES)
