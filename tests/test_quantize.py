"""mcuforge.quantize: real conversions with TensorFlow / ai-edge-quantizer, checked under TFLM."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from mcuforge.quantize import (
    SUPPORTED_OPS,
    QuantizeError,
    check_int8_model,
    format_report,
    load_calibration,
    model_ops,
    quantize,
    run_tflm,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
WAKE_WORD = REPO / "models" / "wake_word"


@pytest.fixture(scope="module")
def tf():  # type: ignore[no-untyped-def]
    import tensorflow

    tensorflow.keras.utils.set_random_seed(0)
    return tensorflow


def _blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """12x12 images of 3 classes: a bright blob in one of three places, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, (n, 12, 12, 1)).astype(np.float32)
    for i, c in enumerate(y):
        x[i, 2 + 3 * c : 6 + 3 * c, 3:9] += 1.5
    return x, y


@pytest.fixture(scope="module")
def classifier(tf, tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A small trained CNN (conv, batch norm, pool, flatten, dense) and its calibration data."""
    keras = tf.keras
    inp = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(8, 3, padding="same")(inp)
    x = keras.layers.ReLU()(keras.layers.BatchNormalization()(x))
    x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = keras.layers.Flatten()(x)
    out = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inp, out)
    model.compile("adam", "sparse_categorical_crossentropy")
    x_train, y_train = _blobs(600, seed=1)
    model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=0)
    folder = tmp_path_factory.mktemp("classifier")
    model.save(folder / "blobs.keras")
    x_cal, y_cal = _blobs(200, seed=2)
    np.savez(folder / "calib.npz", x=x_cal, y=y_cal)
    return folder / "blobs.keras", folder / "calib.npz"


def test_keras_classifier_full_int8_report(classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model_path, calib = classifier
    out = tmp_path / "blobs_int8.tflite"
    report = quantize(model_path, out, calib)
    assert report.source_format == "keras"
    assert report.method == "tf.lite.TFLiteConverter"
    assert report.input_dtype == report.output_dtype == "int8"
    assert report.input_shape == [1, 12, 12, 1] and report.output_shape == [1, 3]
    assert (report.calibration_samples, report.heldout_samples) == (160, 40)
    assert report.task == "classification"
    assert set(report.ops) <= SUPPORTED_OPS
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "MAX_POOL_2D", "RESHAPE", "FULLY_CONNECTED"} <= set(
        report.ops
    )
    assert report.ops == model_ops(out.read_bytes())
    assert report.int8_bytes == out.stat().st_size < report.float_tflite_bytes
    assert report.float_bytes == model_path.stat().st_size
    assert report.output_scale == pytest.approx(1 / 256) and report.output_zero_point == -128
    assert report.top1_agreement >= 0.95
    assert report.float_accuracy >= 0.9
    assert abs(report.float_accuracy - report.int8_accuracy) <= 0.05
    assert check_int8_model(out.read_bytes()) == []
    json.dumps(report.to_dict())
    text = format_report(report)
    assert "top-1 agreement" in text and "CONV_2D x1" in text
    # The written model classifies fresh data under TFLM as well as the report says.
    x, y = _blobs(100, seed=3)
    assert np.mean(run_tflm(out.read_bytes(), x)[1].argmax(1) == y) >= 0.9


def test_float_io_puts_quantize_and_dequantize_at_the_edges(classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model_path, calib = classifier
    report = quantize(model_path, tmp_path / "f.tflite", calib, float_io=True)
    assert report.input_dtype == report.output_dtype == "float32"
    assert report.ops[0] == "QUANTIZE" and report.ops[-1] == "DEQUANTIZE"
    assert report.ops.count("QUANTIZE") == 1 and report.ops.count("DEQUANTIZE") == 1
    assert check_int8_model((tmp_path / "f.tflite").read_bytes(), float_io=True) == []
    assert check_int8_model((tmp_path / "f.tflite").read_bytes()) != []  # not int8 I/O
    raw, _ = run_tflm((tmp_path / "f.tflite").read_bytes(), _blobs(5, seed=4)[0])
    assert raw.dtype == np.float32 and np.allclose(raw.sum(axis=1), 1.0, atol=0.02)


def test_regression_model_reports_output_errors(tf, tmp_path) -> None:  # type: ignore[no-untyped-def]
    keras = tf.keras
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (300, 8)).astype(np.float32)
    w = rng.normal(size=(8, 2)).astype(np.float32)
    inp = keras.Input((8,))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Dense(16, "tanh")(inp)))
    model.compile("adam", "mse")
    model.fit(x, x @ w, epochs=30, verbose=0)
    model.save(tmp_path / "reg.keras")
    np.save(tmp_path / "x.npy", x)
    report = quantize(tmp_path / "reg.keras", tmp_path / "reg.tflite", tmp_path / "x.npy")
    assert report.task == "regression" and report.top1_agreement is None
    assert set(report.ops) <= SUPPORTED_OPS and "TANH" in report.ops
    out_range = float(np.ptp(model.predict(x, verbose=0)))
    assert 0 < report.max_abs_error < 0.05 * out_range
    assert report.mean_abs_error < report.max_abs_error


def test_sin_is_refused_naming_the_op(tf, tmp_path) -> None:  # type: ignore[no-untyped-def]
    keras = tf.keras
    inp = keras.Input((16,))
    out = keras.layers.Dense(3, activation="softmax")(keras.ops.sin(keras.layers.Dense(8)(inp)))
    keras.Model(inp, out).save(tmp_path / "sin.keras")
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(20, 16)).astype("f4"))
    with pytest.raises(QuantizeError, match=r"op #\d+ SIN: not supported by the mcuforge"):
        quantize(tmp_path / "sin.keras", tmp_path / "sin.tflite", tmp_path / "x.npy")
    assert not (tmp_path / "sin.tflite").exists()


def test_a_float_op_left_in_an_int8_model_is_named(tf) -> None:  # type: ignore[no-untyped-def]
    keras = tf.keras
    inp = keras.Input((16,), batch_size=1)
    out = keras.layers.Dense(3)(keras.ops.sin(keras.layers.Dense(8)(inp)))
    conv = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, out))
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([np.full((1, 16), v, "f4")] for v in (-1.0, 1.0))
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,
    ]
    conv.inference_input_type = conv.inference_output_type = tf.int8
    problems = check_int8_model(conv.convert())
    assert any("SIN" in p and "float32" in p and "not supported" in p for p in problems)
    # The QUANTIZE/DEQUANTIZE around SIN are consequences, not reported on their own.
    assert not any("QUANTIZE" in p for p in problems)


def test_bidirectional_layer_is_refused_before_converting(tf, tmp_path) -> None:  # type: ignore[no-untyped-def]
    keras = tf.keras
    inp = keras.Input((10, 4))
    rnn = keras.layers.Bidirectional(keras.layers.LSTM(8), name="rnn")
    out = keras.layers.Dense(3, activation="softmax")(rnn(inp))
    keras.Model(inp, out).save(tmp_path / "lstm.keras")
    np.save(tmp_path / "x.npy", np.zeros((10, 10, 4), "f4"))
    with pytest.raises(QuantizeError, match=r"layer 'rnn' \(Bidirectional\)"):
        quantize(tmp_path / "lstm.keras", tmp_path / "o.tflite", tmp_path / "x.npy")


def test_published_lstm_model_passes_the_integer_check(zoo) -> None:  # type: ignore[no-untyped-def]
    """Its int16 cell state is the integer LSTM's design, not 16x8 quantization."""
    assert check_int8_model((zoo / "mnist_lstm_int8.tflite").read_bytes()) == []


def test_unsupported_op_model_names_its_op(unsupported_model) -> None:  # type: ignore[no-untyped-def]
    problems = check_int8_model(unsupported_model.read_bytes())
    assert any("BIDIRECTIONAL_SEQUENCE_LSTM: not supported" in p for p in problems)


def test_calibration_shape_mismatch_is_refused(classifier, tmp_path) -> None:  # type: ignore[no-untyped-def]
    model_path, _ = classifier
    np.save(tmp_path / "bad.npy", np.zeros((10, 12, 11, 1), "f4"))
    with pytest.raises(QuantizeError, match=r"\[10, 12, 11, 1\] does not match .*\[1, 12, 12, 1\]"):
        quantize(model_path, tmp_path / "o.tflite", tmp_path / "bad.npy")
    # Samples stored with their own batch axis of 1 are accepted.
    x, _ = _blobs(20)
    np.save(tmp_path / "batched.npy", x[:, None])
    assert quantize(model_path, tmp_path / "o.tflite", tmp_path / "batched.npy").heldout_samples


def test_bad_inputs_are_user_errors(zoo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "x.npy", np.zeros((4, 49, 10, 1), "f4"))
    with pytest.raises(QuantizeError, match="already quantized"):
        quantize(zoo / "mlperf_kws_ref_model.tflite", tmp_path / "o.tflite", tmp_path / "x.npy")
    with pytest.raises(QuantizeError, match="does not exist"):
        load_calibration(tmp_path / "missing.npy")
    (tmp_path / "x.txt").write_text("1 2 3")
    with pytest.raises(QuantizeError, match=r"\.npy or \.npz"):
        load_calibration(tmp_path / "x.txt")
    with pytest.raises(QuantizeError, match="unknown model format"):
        quantize(tmp_path / "x.txt", tmp_path / "o.tflite", tmp_path / "x.npy")
    np.savez(tmp_path / "c.npz", features=np.ones((3, 2)), y=np.arange(3))
    x, y = load_calibration(tmp_path / "c.npz")
    assert x.shape == (3, 2) and y.tolist() == [0, 1, 2]


# --- the published float models ----------------------------------------------------------------


def _gesture_synth():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gesture_synth", REPO / "models/gesture/synth.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_magic_wand_float_model_quantizes(zoo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    synth = _gesture_synth()
    rng = np.random.default_rng(0)
    users = [synth.random_user(rng) for _ in range(10)]
    x = np.stack([synth.render(rng, users[i % 10], synth.LABELS[i % 4]) for i in range(300)])
    np.save(tmp_path / "mg.npy", x[..., None])  # milli-g, the magic-wand input unit
    report = quantize(
        zoo / "magic_wand_float.tflite",
        tmp_path / "mw.tflite",
        tmp_path / "mg.npy",
        holdout_fraction=0.5,
    )
    assert report.method == "ai-edge-quantizer" and report.input_shape == [1, 128, 3, 1]
    assert report.ops == [
        "DEPTHWISE_CONV_2D",
        "MAX_POOL_2D",
        "CONV_2D",
        "MAX_POOL_2D",
        "FULLY_CONNECTED",
        "FULLY_CONNECTED",
        "SOFTMAX",
    ]
    # Global min/max calibration: the int8 input range covers every calibration value.
    lo = (-128 - report.input_zero_point) * report.input_scale
    hi = (127 - report.input_zero_point) * report.input_scale
    assert lo <= x.min() + report.input_scale and hi >= x.max() - report.input_scale
    assert report.task == "classification" and report.heldout_samples == 150
    assert report.top1_agreement >= 0.93
    assert report.int8_bytes < 0.5 * report.float_bytes


def _speech_like(rng: np.random.Generator) -> np.ndarray:
    """1 s at 16 kHz: voiced segments (harmonics shaped by formants), bursts of noise, silence."""
    t = np.arange(16000) / 16000
    x = np.zeros(16000)
    for _ in range(int(rng.integers(0, 4))):
        start, length = int(rng.integers(0, 8000)), int(rng.integers(2000, 8000))
        seg = slice(start, min(16000, start + length))
        f0, formants = rng.uniform(90, 260), rng.uniform([300, 900, 2200], [900, 2200, 3200])
        voiced = sum(
            np.exp(-0.5 * ((k * f0 - formants) / 120.0) ** 2).sum()
            * np.sin(2 * np.pi * k * f0 * t[seg])
            for k in range(1, int(4000 / f0))
        )
        x[seg] += voiced * np.hanning(x[seg].size)
        burst = slice(seg.start, seg.start + 1600)
        x[burst] += rng.normal(0, 0.3, x[burst].size) * (np.abs(x).max() + 0.1)
    return x + rng.normal(0, 10 ** rng.uniform(-4, -2), 16000)


def test_mlperf_kws_float_model_quantizes(tf, zoo, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The MLPerf Tiny KWS features: peak-normalised audio, 30 ms Hann / 20 ms STFT, 40 mel bands
    # 20-4000 Hz, log(mel + 1e-6), first 10 MFCCs -> [49, 10].
    rng = np.random.default_rng(1)
    wav = np.stack([_speech_like(rng) for _ in range(300)])
    wav = tf.constant(wav / np.abs(wav).max(axis=1, keepdims=True), tf.float32)
    spec = tf.abs(tf.signal.stft(wav, 480, 320, window_fn=tf.signal.hann_window))
    mel = tf.tensordot(spec, tf.signal.linear_to_mel_weight_matrix(40, 257, 16000, 20.0, 4000.0), 1)
    mfcc = tf.signal.mfccs_from_log_mel_spectrograms(tf.math.log(mel + 1e-6))[..., :10]
    np.save(tmp_path / "mfcc.npy", mfcc.numpy()[..., None])
    report = quantize(
        zoo / "mlperf_kws_ref_model_float32.tflite",
        tmp_path / "kws.tflite",
        tmp_path / "mfcc.npy",
        holdout_fraction=0.5,
    )
    assert report.input_shape == [1, 49, 10, 1] and report.output_shape == [1, 12]
    assert set(report.ops) == {
        "CONV_2D",
        "DEPTHWISE_CONV_2D",
        "AVERAGE_POOL_2D",
        "RESHAPE",
        "FULLY_CONNECTED",
        "SOFTMAX",
    }
    # The "float32" file already holds int8 weights for its 5 pointwise convolutions.
    assert any("5 weight tensors were already int8" in n for n in report.notes)
    assert report.top1_agreement >= 0.9
    assert report.int8_bytes < report.float_bytes


def test_wake_word_requantized_stays_within_two_points(tmp_path) -> None:
    """The float wake-word model over its fixed window of front-end frames (one softmax per
    30 ms step), quantized from the committed held-out recording: per-step decisions agree."""
    import keras

    # heldout.npz is the only committed wake-word data, so it also serves as calibration data:
    # calibration only sets value ranges, and 20 % of it stays out of calibration anyway.
    held = np.load(WAKE_WORD / "heldout.npz")
    model = keras.models.load_model(WAKE_WORD / "wake_word_float.keras")
    frames, window = held["frames"].astype(np.float32), model.inputs[0].shape[1]
    x = np.stack([frames[i : i + window] for i in range(0, len(frames) - window, window // 3)])
    np.savez(tmp_path / "calib.npz", x=x)
    report = quantize(
        WAKE_WORD / "wake_word_float.keras", tmp_path / "ww.tflite", tmp_path / "calib.npz"
    )
    assert set(report.ops) <= SUPPORTED_OPS
    want = model.predict(x, verbose=0)
    got = run_tflm((tmp_path / "ww.tflite").read_bytes(), x)[1].reshape(want.shape)
    assert len(x) >= 10 and want.shape[1] > 50
    assert np.mean(want.argmax(-1) == got.argmax(-1)) >= 0.98


def test_saved_model_directory_with_free_batch_axis(tf, tmp_path) -> None:  # type: ignore[no-untyped-def]
    class Module(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            rng = np.random.default_rng(0)
            self.w = tf.Variable(rng.normal(size=(8, 3)).astype("f4"))

        @tf.function(input_signature=[tf.TensorSpec([None, 4, 2], tf.float32)])
        def serve(self, x):  # type: ignore[no-untyped-def]
            flat = tf.reshape(x, [-1, 8])
            return {"probs": tf.nn.softmax(tf.matmul(flat, self.w))}

    module = Module()
    tf.saved_model.save(module, str(tmp_path / "sm"), signatures={"serving_default": module.serve})
    np.save(tmp_path / "x.npy", np.random.default_rng(1).normal(size=(50, 4, 2)).astype("f4"))
    report = quantize(tmp_path / "sm", tmp_path / "sm.tflite", tmp_path / "x.npy")
    assert report.source_format == "saved_model" and report.input_shape == [1, 4, 2]
    # The batch axis is fixed to 1, so the reshape is static: no SHAPE / STRIDED_SLICE / PACK.
    assert set(report.ops) <= SUPPORTED_OPS and "FULLY_CONNECTED" in report.ops
    assert report.task == "classification" and report.top1_agreement >= 0.9
    assert report.float_bytes > report.float_tflite_bytes  # all files of the directory count
