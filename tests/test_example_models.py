"""The committed example models: artifacts load, and their held-out numbers match the cards.

The int8 models run under the TFLM reference interpreter on the committed heldout.npz; the
accuracy (or detection rate / false alarms) must equal the MODEL_CARD.md figure within 0.5 point.
The streaming wake-word model has its own tests (test_wake_word_stream.py): its heldout.npz is a
recording's feature frames, not one input per sample.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mcuforge.quantize import SUPPORTED_OPS, check_int8_model, model_ops, run_tflm
from mcuforge.quantize.flatbuffer import compile_problems

MODELS = Path(__file__).resolve().parents[1] / "models"
EXAMPLES = {"gesture": 4, "anomaly": 64}  # windowed models: name -> output size


def _card_number(name: str, label: str) -> float:
    card = (MODELS / name / "MODEL_CARD.md").read_text()
    match = re.search(rf"{re.escape(label)}: ([0-9.]+) %", card)
    assert match, f"{name}/MODEL_CARD.md has no '{label}' line"
    return float(match.group(1)) / 100.0


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_artifacts_are_complete_small_and_compilable(name: str) -> None:
    folder = MODELS / name
    for required in ("synth.py", "train.py", "README.md", "MODEL_CARD.md", "labels.txt"):
        assert (folder / required).is_file(), required
    data = (folder / f"{name}_int8.tflite").read_bytes()
    assert check_int8_model(data) == []
    assert set(model_ops(data)) <= SUPPORTED_OPS
    assert len(data) < 100_000
    assert (folder / "heldout.npz").stat().st_size < 1_000_000
    held = np.load(folder / "heldout.npz")
    assert held["x"].dtype == np.int8 and len(held["x"]) == len(held["y"]) >= 100
    raw, _ = run_tflm(data, held["x"][:2])
    assert raw.dtype == np.int8 and raw.shape == (2, EXAMPLES[name])
    card = (folder / "MODEL_CARD.md").read_text()
    assert "TBD" not in card and "0 mismatches" in card and "instructions per inference" in card


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_float_keras_model_loads_and_matches_the_int8_shapes(name: str) -> None:
    import keras

    model = keras.models.load_model(MODELS / name / f"{name}_float.keras")
    held = np.load(MODELS / name / "heldout.npz")
    assert tuple(model.inputs[0].shape[1:]) == held["x"].shape[1:]
    assert model.outputs[0].shape[-1] == EXAMPLES[name]


@pytest.mark.parametrize("name", ["gesture"])
def test_classifier_int8_accuracy_matches_the_card(name: str) -> None:
    folder = MODELS / name
    held = np.load(folder / "heldout.npz")
    labels = (folder / "labels.txt").read_text().split()
    assert labels == [str(s) for s in held["labels"]]
    _, probs = run_tflm((folder / f"{name}_int8.tflite").read_bytes(), held["x"])
    accuracy = float(np.mean(probs.argmax(axis=1) == held["y"]))
    assert accuracy == pytest.approx(_card_number(name, "int8 accuracy on heldout.npz"), abs=0.005)
    assert accuracy > 0.85
    # Every class is represented and recognised better than chance.
    for c in range(len(labels)):
        assert np.mean(probs[held["y"] == c].argmax(axis=1) == c) > 0.6, labels[c]


def test_wake_word_streams_the_front_end_frames_unchanged() -> None:
    from tflite_micro.python.tflite_micro import runtime

    folder = MODELS / "wake_word"
    for required in ("synth.py", "train.py", "streaming.py", "README.md", "MODEL_CARD.md",
                     "labels.txt", "wake_word_float.keras"):
        assert (folder / required).is_file(), required
    data = (folder / "wake_word_int8.tflite").read_bytes()
    # check_int8_model refuses any second subgraph; this one is the variables' CALL_ONCE
    # initialisation, which the compiler supports: ask the compiler instead
    assert compile_problems(data, "wake_word") == [] and len(data) < 100_000
    assert {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= set(model_ops(data))
    assert set(model_ops(data)) <= SUPPORTED_OPS
    interp = runtime.Interpreter.from_bytes(data)
    inp, out = interp.get_input_details(0), interp.get_output_details(0)
    q = inp["quantization_parameters"]
    assert (float(q["scales"][0]), int(q["zero_points"][0])) == (1.0, 0)
    assert list(inp["shape"]) == [1, 3, 40] and list(out["shape"]) == [1, 6]
    held = np.load(folder / "heldout.npz")
    assert (folder / "heldout.npz").stat().st_size < 1_000_000
    assert held["frames"].dtype == np.int8 and held["frames"].shape[1] == 40
    assert held["frames"].min() < -100 < 0 < held["frames"].max()
    labels = (folder / "labels.txt").read_text().split()
    assert labels == [str(s) for s in held["labels"]] and len(labels) == 6
    assert sorted(set(held["keywords"][:, 0])) == [2, 3, 4, 5]  # every keyword is said
    card = (folder / "MODEL_CARD.md").read_text()
    assert "never" in card and "held-out" in card.lower() and "TBD" not in card
    assert "0 mismatches" in card and "instructions per step" in card


def test_anomaly_detection_matches_the_card() -> None:
    folder = MODELS / "anomaly"
    held = np.load(folder / "heldout.npz")
    cfg = json.loads((folder / "threshold.json").read_text())
    x = held["x"]
    assert (float(held["input_scale"]), int(held["input_zero_point"])) == pytest.approx(
        (cfg["input_scale"], cfg["input_zero_point"])
    )
    _, recon = run_tflm((folder / "anomaly_int8.tflite").read_bytes(), x)
    x_deq = (x.astype(np.float32) - cfg["input_zero_point"]) * cfg["input_scale"]
    flagged = np.mean((x_deq - recon) ** 2, axis=1) > cfg["threshold_int8"]
    kind = held["kind"]
    detection, false_alarm = flagged[kind > 0].mean(), flagged[kind == 0].mean()
    assert detection == pytest.approx(
        _card_number("anomaly", "int8 detection rate on heldout.npz"), abs=0.005
    )
    assert false_alarm == pytest.approx(
        _card_number("anomaly", "int8 false alarm rate on heldout.npz"), abs=0.005
    )
    assert detection > 0.8 and false_alarm < 0.05
    assert len(cfg["feature_mean"]) == len(cfg["feature_std"]) == x.shape[1]


def _float_inputs(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The held-out samples as the float model takes them, and their labels / kinds."""
    held = np.load(MODELS / name / "heldout.npz")
    zero_point, scale = float(held["input_zero_point"]), float(held["input_scale"])
    x = (held["x"].astype(np.float32) - zero_point) * scale
    return x, held["kind"] if name == "anomaly" else held["y"]


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_requantized_example_runs_bit_exact_and_keeps_its_accuracy(name: str,
                                                                    tmp_path: Path) -> None:
    """`mcuforge quantize` of the float Keras model, then `mcuforge test` on the Cortex-M4:
    bit-exact over 20 vectors, and held-out accuracy (anomaly: detection rate and false alarms)
    within 2 points of the float model's."""
    import keras

    from mcuforge.boards import get_board
    from mcuforge.quantize import quantize
    from mcuforge.verify import run_test

    x, labels = _float_inputs(name)
    np.savez(tmp_path / "calib.npz", x=x)
    out = tmp_path / f"{name}_int8.tflite"
    quantize(MODELS / name / f"{name}_float.keras", out, tmp_path / "calib.npz",
             task="regression" if name == "anomaly" else "classification")
    report = run_test(out, get_board("mps2-an386"), vectors=20, build_dir=tmp_path / "fw")
    assert report.vectors == 20 and report.mismatches == 0

    float_out = keras.models.load_model(MODELS / name / f"{name}_float.keras").predict(
        x, verbose=0).reshape(len(x), -1)
    int8_out = run_tflm(out.read_bytes(), x)[1].reshape(len(x), -1)
    if name == "anomaly":
        threshold = json.loads((MODELS / name / "threshold.json").read_text())["threshold_float"]
        rates = []
        for recon in (float_out, int8_out):
            flagged = np.mean((x - recon) ** 2, axis=1) > threshold
            rates.append((flagged[labels > 0].mean(), flagged[labels == 0].mean()))
        assert abs(rates[0][0] - rates[1][0]) <= 0.02 and abs(rates[0][1] - rates[1][1]) <= 0.02
    else:
        float_acc = np.mean(float_out.argmax(1) == labels)
        int8_acc = np.mean(int8_out.argmax(1) == labels)
        assert float_acc > 0.85 and abs(float_acc - int8_acc) <= 0.02, (float_acc, int8_acc)
