"""Refusals a newcomer can act on (issue 12), one test per point: the Keras layer behind a refused
op and what to use instead; a WHILE loop told from an unrolled recurrent layer; the converted
float model kept for ``inspect``; a batch size computed at run time reported once; tied int8
outputs; a float model and a Keras file given to ``inspect``; float ``--inputs``; the lower bound
explained; the verdict line; sizes, the calibration warning, silenced TensorFlow lines and
progress; help examples that use files the user has.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from mcuforge.cli import cli
from mcuforge.compiler.ops import check_graph
from mcuforge.errors import McuforgeError, ModelError, UnsupportedModelError
from mcuforge.hints import recurrent_problem
from mcuforge.model import parse_model, read_model
from mcuforge.quantize import QuantizeError, quantize
from modelgen import int8_tflite

REPO = Path(__file__).resolve().parent.parent


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def refused_keras(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, QuantizeError]:
    """A Keras model with an op mcuforge does not compile (EXP from an 'exponential'
    activation; TFLM has only a float EXP), quantized with --keep-float."""
    import keras

    root = tmp_path_factory.mktemp("refused")
    inp = keras.Input((6,))
    x = keras.layers.Activation("exponential", name="expo")(keras.layers.Dense(4)(inp))
    keras.Model(inp, keras.layers.Dense(2)(x)).save(root / "expo.keras")
    np.save(root / "x.npy", np.random.default_rng(0).normal(size=(30, 6)).astype(np.float32))
    with pytest.raises(QuantizeError) as exc:
        quantize(root / "expo.keras", root / "expo_int8.tflite", root / "x.npy",
                 keep_float=root / "expo_float.tflite")
    return root, exc.value


def test_1_refused_op_names_its_keras_layer_and_an_alternative(refused_keras: Any) -> None:
    _, error = refused_keras
    text = str(error)
    assert "EXP: not supported" in text
    assert "hint: EXP comes from layer 'expo' (Activation)" in text
    assert "the Softmax layer converts to SOFTMAX" in text


def test_1_compiler_refusal_names_the_likely_keras_layer(tmp_path: Path) -> None:
    """From a .tflite alone (no Keras model at hand), the candidates are named."""
    import keras

    model = int8_tflite(lambda: keras.Sequential([keras.Input((8,)),
                                                  keras.layers.Activation("exponential")]),
                        [(8,)], seed=0)
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(parse_model(model, "expo"))
    assert "hint: EXP comes from Activation or exp in a formula" in str(exc.value)


def test_2_while_loop_and_unrolled_layer_are_told_apart(tmp_path: Path) -> None:
    import keras
    import tensorflow as tf

    inp = keras.Input(batch_shape=(1, 6, 2))
    model = keras.Model(inp, keras.layers.LSTM(4)(inp))  # plain converter: a WHILE loop
    graph = parse_model(tf.lite.TFLiteConverter.from_keras_model(model).convert(), "loop")
    assert "WHILE" in [op.opcode for op in graph.operators]
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(graph)
    assert "hint: the model has a WHILE loop: a recurrent layer" in str(exc.value)
    assert "mcuforge quantize" in str(exc.value)
    unrolled = recurrent_problem({"UNPACK", "SPLIT", "FULLY_CONNECTED", "LOGISTIC", "TANH",
                                  "MUL", "ADD"})
    assert unrolled is not None and "unrolled recurrent layer" in unrolled
    assert recurrent_problem({"CONV_2D", "LOGISTIC", "MUL"}) is None


def test_3_keep_float_keeps_the_refused_model_for_inspect(refused_keras: Any) -> None:
    root, error = refused_keras
    kept = root / "expo_float.tflite"
    assert f"The converted float model is in {kept}" in str(error)
    result = run("inspect", str(kept))
    assert result.exit_code == 1 and "EXP" in result.output
    assert not (root / "expo_int8.tflite").exists()


def test_4_free_batch_is_one_message_not_a_flood(tmp_path: Path) -> None:
    """A Conv2DTranspose with a free batch computes its output shape at run time (SHAPE,
    STRIDED_SLICE, PACK): one message says what to do, no error for each node it feeds."""
    import keras

    model = int8_tflite(lambda: keras.Sequential([
        keras.Input((5, 5, 2)), keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same")]),
        [(5, 5, 2)], seed=1)
    graph = parse_model(model, "free_batch")
    assert "SHAPE" in [op.opcode for op in graph.operators]
    with pytest.raises(UnsupportedModelError) as exc:
        check_graph(graph)
    problems = [p for p in exc.value.problems if not p.startswith("hint:")]
    assert problems[0].startswith("the model computes its batch size at run time (")
    assert "fix the batch at 1" in problems[0] and "mcuforge quantize" in problems[0]
    assert not any("TRANSPOSE_CONV" in p or "is not supported" in p for p in problems), problems


def test_5_tied_int8_outputs_are_warned_about() -> None:
    from mcuforge.quantize.evaluate import compare
    from mcuforge.quantize.report import QuantizeReport, format_report

    ref = np.array([[0.30, 0.70], [0.51, 0.49], [0.2, 0.8]])
    got = np.array([[0.5, 0.5], [0.5, 0.5], [0.25, 0.75]])  # two rows tie after quantization
    metrics = compare(ref, got, "classification", None, np.arange(3))
    assert metrics["tied_top1"] == 2
    report = QuantizeReport("m.keras", "m.tflite", "keras", "x", [1, 2], [1, 2], "int8", "int8",
                            1.0, 0, 1.0, 0, 10, 3, "classification", 1, 1, 1, [], **metrics)
    text = format_report(report)
    assert "warning: 2 of 3 integer outputs tie for the top class" in text


def test_6_inspect_of_a_float_model_says_quantize_once(zoo: Path) -> None:
    result = run("inspect", str(zoo / "hello_world_float.tflite"))
    assert result.exit_code == 1
    assert result.output.count("quantize it first") == 1
    assert "carries float32 activations" not in result.output
    assert result.output.count("float (quantize first)") == 3  # one per node row


@pytest.mark.parametrize("kind", ["keras", "saved_model"])
def test_7_inspect_of_a_keras_model_says_to_quantize(kind: str, tmp_path: Path) -> None:
    path = REPO / "models" / "gesture" / "gesture_float.keras"
    if kind == "saved_model":
        path = tmp_path / "sm"
        path.mkdir()
        (path / "saved_model.pb").write_bytes(b"")
    result = run("inspect", str(path))
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "not a .tflite file: convert it first with `mcuforge quantize" in result.output


def test_8_float_inputs_are_quantized_and_shapes_checked_before_building(tmp_path: Path) -> None:
    from mcuforge.boards import get_board
    from mcuforge.verify import run_test

    model = REPO / "models" / "gesture" / "gesture_int8.tflite"
    held = np.load(REPO / "models" / "gesture" / "heldout.npz")
    scale, zp = float(held["input_scale"]), int(held["input_zero_point"])
    np.save(tmp_path / "float.npy", (held["x"][:3].astype(np.float32) - zp) * scale)
    said: list[str] = []
    report = run_test(model, get_board("mps2-an386"), inputs_file=tmp_path / "float.npy",
                      emulator="host", progress=said.append, build_dir=tmp_path / "b")
    assert report.passed and report.vectors == 3
    assert any(f"quantized to int8 with the model's scale {scale:.6g}" in s for s in said), said
    np.save(tmp_path / "bad.npy", np.zeros((2, 5, 5), np.float32))
    start = time.monotonic()
    with pytest.raises(McuforgeError, match=r"needs shape \[1, 128, 3, 1\] per vector"):
        run_test(model, get_board("mps2-an386"), inputs_file=tmp_path / "bad.npy",
                 build_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists() and time.monotonic() - start < 5


def test_9_and_10_lower_bound_explained_and_verdict_lines(zoo: Path,
                                                          unsupported_model: Path) -> None:
    ok = run("inspect", str(zoo / "hello_world_int8.tflite"))
    assert "(lower bound: the most bytes of whole tensors alive at one step" in ok.output
    assert ok.output.strip().splitlines()[-1].startswith("supported: yes (")
    bad = run("inspect", str(unsupported_model))
    assert bad.output.strip().splitlines()[-1] == \
        "supported: no (missing op BIDIRECTIONAL_SEQUENCE_LSTM)"


def test_11_sizes_calibration_warning_quiet_tensorflow_and_progress(tmp_path: Path) -> None:
    """Through the real command in a fresh process: the .keras file size is labelled as such,
    fewer than 50 samples are warned about, TensorFlow's start-up lines do not appear, and the
    steps that took over 2 s (the first conversion loads TensorFlow) show progress on stderr."""
    import keras

    inp = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(4, 3)(inp)
    keras.Model(inp, keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(x))).save(
        tmp_path / "tiny.keras")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(25, 6, 6, 1))
            .astype(np.float32))
    proc = subprocess.run([sys.executable, "-m", "mcuforge.cli", "quantize",
                           str(tmp_path / "tiny.keras"), "-o", str(tmp_path / "t.tflite"),
                           "--calibration", str(tmp_path / "x.npy")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    size = (tmp_path / "tiny.keras").stat().st_size
    assert f"size   Keras file {size} B; float .tflite" in proc.stdout
    assert "note: only 20 calibration samples" in proc.stdout
    assert "oneDNN" not in proc.stderr and "absl::InitializeLog" not in proc.stderr
    # Every progress line announces a step and then says how long it took (over 2 s).
    steps = re.findall(r"\[mcuforge\] (.+)\.\.\.\n", proc.stderr)
    done = re.findall(r"\[mcuforge\] (.+): done in (\d+\.\d) s", proc.stderr)
    assert [s for s, _ in done] == steps and all(float(t) >= 2.0 for _, t in done), proc.stderr


def test_11_slow_steps_show_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcuforge.quantize import progress

    monkeypatch.setattr(progress, "SLOW_SECONDS", 0.05)
    said: list[str] = []
    with progress.stage(said.append, "converting m.keras"):
        time.sleep(0.2)
    with progress.stage(said.append, "quick"):
        pass
    assert said[0] == "converting m.keras..." and said[1].startswith("converting m.keras: done")
    assert len(said) == 2


def test_12_help_examples_use_files_the_user_has() -> None:
    commands = ["inspect", "build", "test", "bench", "quantize"]
    for name in commands:
        text = run(name, "--help").output
        assert "../shared" not in text, name
        for path in re.findall(r"models/[\w./]+", text):
            assert (REPO / path).exists(), f"{name} --help names {path}, which does not exist"


def test_refusal_of_a_keras_file_by_read_model() -> None:
    with pytest.raises(ModelError, match="is a Keras model"):
        read_model(REPO / "models" / "gesture" / "gesture_float.keras")
