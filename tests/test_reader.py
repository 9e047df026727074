"""The model reader: typed IR from real models, clear rejections of bad files."""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import pytest
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

from mcuforge.compiler.ops import check_graph
from mcuforge.errors import ModelError, UnsupportedModelError
from mcuforge.model import parse_model, read_model


def _rewrite(path: Path, mutate) -> bytes:  # type: ignore[no-untyped-def]
    """Re-serialize a model after mutating its object tree (for malformed-model cases)."""
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(path.read_bytes(), 0))
    mutate(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_reads_hello_world(zoo: Path) -> None:
    g = read_model(zoo / "hello_world_int8.tflite")
    assert [op.opcode for op in g.operators] == ["FULLY_CONNECTED"] * 3
    inp = g.tensors[g.inputs[0]]
    assert inp.shape == (1, 1) and inp.dtype == "int8"
    assert inp.zero_point == -128 and abs(inp.scale - 0.0244801) < 1e-6
    weights = g.tensors[g.operators[1].inputs[1]]
    assert weights.is_const and weights.data.shape == (16, 16) and weights.data.dtype == np.int8
    assert g.operators[0].options["fused_activation_function"] == "RELU"


def test_per_channel_quantization_is_read(zoo: Path) -> None:
    g = read_model(zoo / "person_detect.tflite")
    conv = next(op for op in g.operators if op.opcode == "CONV_2D")
    w = g.tensors[conv.inputs[1]]
    assert w.quant.per_channel and len(w.quant.scale) == w.shape[0]
    assert conv.options["padding"] in ("SAME", "VALID")


def test_rejects_a_file_that_is_not_tflite(tmp_path: Path) -> None:
    bad = tmp_path / "notes.tflite"
    bad.write_text("this is not a model at all")
    with pytest.raises(ModelError, match="not a TensorFlow Lite model"):
        read_model(bad)


def test_rejects_a_truncated_file(zoo: Path) -> None:
    data = (zoo / "person_detect.tflite").read_bytes()
    with pytest.raises(ModelError, match="truncated or corrupt"):
        parse_model(data[: len(data) // 3], "person_detect")


def test_rejects_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such file"):
        read_model(tmp_path / "absent.tflite")


@pytest.mark.parametrize("op", ["WHILE", "IF"])
def test_control_flow_is_refused_by_name(zoo: Path, op: str) -> None:
    def make_control_flow(model: fb.ModelT) -> None:
        model.subgraphs += [model.subgraphs[0], model.subgraphs[0]]
        code = getattr(fb.BuiltinOperator, op)
        model.operatorCodes[0].builtinCode = code
        model.operatorCodes[0].deprecatedBuiltinCode = code

    g = parse_model(_rewrite(zoo / "hello_world_int8.tflite", make_control_flow), f"{op}_model")
    with pytest.raises(UnsupportedModelError, match=rf"{op} is not supported \(nodes 0, 1, 2\)"):
        check_graph(g)


def test_several_signatures_are_refused(zoo: Path) -> None:
    def two_signatures(model: fb.ModelT) -> None:
        model.subgraphs.append(model.subgraphs[0])
        sig = fb.SignatureDefT()
        sig.signatureKey, sig.subgraphIndex = b"other", 1
        model.signatureDefs = (model.signatureDefs or []) + [sig, sig]

    with pytest.raises(ModelError, match="signatures"):
        parse_model(_rewrite(zoo / "hello_world_int8.tflite", two_signatures), "two_signatures")


def test_streaming_model_state_is_bound_to_variables() -> None:
    g = read_model(Path(__file__).parent / "zoo" / "mww_okay_nabu.tflite")
    assert [v.nbytes for v in g.variables] == [80, 128, 640, 896, 1408, 320]
    # The converter initialises the history with the quantized zero of int8 features.
    assert all(len(v.handles) == 1 and np.all(v.initial == -128) for v in g.variables)
    read = next(op for op in g.operators if op.opcode == "READ_VARIABLE")
    assert g.variable_of(read.inputs[0]) is not None
    assert len(g.sha256) == 64


def test_float_model_is_refused_once_with_a_hint(zoo: Path) -> None:
    """A float model gets one line saying to quantize, not one per tensor or per node."""
    g = read_model(zoo / "hello_world_float.tflite")
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(g)
    problems = exc.value.problems
    assert len(problems) == 1 and "is a float model (10 tensors" in problems[0], problems
    assert "mcuforge quantize hello_world_float.tflite" in problems[0]
    assert "float32 activations" not in str(exc.value)


def test_unsupported_ops_are_all_listed_with_nodes(zoo: Path) -> None:
    def make_sin(model: fb.ModelT) -> None:
        model.operatorCodes[0].builtinCode = fb.BuiltinOperator.SIN
        model.operatorCodes[0].deprecatedBuiltinCode = fb.BuiltinOperator.SIN

    g = parse_model(_rewrite(zoo / "hello_world_int8.tflite", make_sin), "sin_model")
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(g)
    assert "SIN is not supported (nodes 0, 1, 2)" in str(exc.value)
    assert "Supported ops: " in str(exc.value) and "FULLY_CONNECTED" in str(exc.value)


def test_unsupported_op_model_lists_what_is_missing(unsupported_model: Path) -> None:
    g = read_model(unsupported_model)
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(g)
    assert "BIDIRECTIONAL_SEQUENCE_LSTM is not supported (node 0)" in str(exc.value)


def test_unknown_custom_ops_are_listed_by_name(zoo: Path) -> None:
    def rename(model: fb.ModelT) -> None:  # SignalWindow -> a signal op mcuforge lacks
        code = next(c for c in model.operatorCodes if c.customCode == b"SignalWindow")
        code.customCode = b"SignalStacker"

    g = parse_model(_rewrite(zoo / "audio_preprocessor_int8.tflite", rename), "stacker")
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(g)
    assert "CUSTOM:SignalStacker is not supported (node 0)" in str(exc.value)


@pytest.mark.parametrize("opcode,table", [("DEPTHWISE_CONV_2D", "Conv2DOptions"),
                                          ("SOFTMAX", None)])
def test_options_tflm_would_zero_are_refused(zoo: Path, opcode: str, table: str | None) -> None:
    # TFLM reads an options table only of the op's own type; without one it runs the op on
    # zeroed parameters (stride 0, beta 0), not on the schema's defaults.
    def mutate(model) -> None:  # type: ignore[no-untyped-def]
        for op in model.subgraphs[0].operators:
            code = model.operatorCodes[op.opcodeIndex]
            if max(code.builtinCode, code.deprecatedBuiltinCode) == getattr(fb.BuiltinOperator,
                                                                            opcode):
                op.builtinOptionsType = getattr(fb.BuiltinOptions, table or "NONE")
                op.builtinOptions = getattr(fb, f"{table}T")() if table else None

    data = _rewrite(zoo / "micro_speech_quantized.tflite", mutate)
    with pytest.raises(ModelError, match=f"{opcode} has no .*Options \\(its options table is "
                                         f"{table or 'NONE'}\\); TFLM would run it with zeroed"):
        parse_model(data, "m")
