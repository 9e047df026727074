""":func:`quantize`: float model + calibration data -> checked int8 .tflite and a report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mcuforge.quantize.calibration import (
    MAX_CALIBRATION_SAMPLES,
    load_calibration,
    match_shape,
    split,
)
from mcuforge.quantize.convert import aeq_quantize, convert, source_format
from mcuforge.quantize.errors import QuantizeError, refuse
from mcuforge.quantize.evaluate import compare, looks_like_probabilities, run_float, run_tflm
from mcuforge.quantize.flatbuffer import (
    FLOAT_TYPES,
    check_int8_model,
    int8_weight_tensors,
    io_details,
    io_params,
    model_ops,
    unsupported_float_ops,
)
from mcuforge.quantize.quiet import import_tf
from mcuforge.quantize.recurrent import recurrent_note
from mcuforge.quantize.report import QuantizeReport


def quantize(
    model_path: Path,
    out_path: Path,
    calibration: Path,
    *,
    float_io: bool = False,
    holdout_fraction: float = 0.2,
    task: str | None = None,
) -> QuantizeReport:
    """Quantise a float model to full int8 and compare it with the float model.

    Args:
        model_path: ``.keras`` / ``.h5`` file, SavedModel directory, or float ``.tflite``.
        out_path: where the int8 ``.tflite`` is written (only if every check passes).
        calibration: ``.npy`` (inputs, first axis = samples) or ``.npz`` (key ``x`` or the first
            array; optional ``y`` = labels, class indices or one-hot).
        float_io: float32 model input and output (QUANTIZE / DEQUANTIZE at the boundary)
            instead of int8.
        holdout_fraction: share of the calibration samples kept out of calibration to compare
            float and int8 on (0 = calibrate and compare on all samples).
        task: "classification" or "regression"; None decides from the float outputs
            (probability vectors mean classification).

    Returns:
        The report; nothing is printed.

    Raises:
        QuantizeError: the model or data is unusable, or the result would not be a fully int8
            model of ops mcuforge compiles (the message names each op and why).
    """
    model_path, out_path = Path(model_path), Path(out_path)
    fmt = source_format(model_path)
    x, y = load_calibration(Path(calibration))
    if x.ndim == 0 or x.shape[0] < 2:
        raise QuantizeError(f"need at least 2 calibration samples, got shape {list(x.shape)}")
    if task not in (None, "classification", "regression"):
        raise QuantizeError(f"task must be 'classification' or 'regression', got {task!r}")
    if y is not None and y.shape[0] != x.shape[0]:
        raise QuantizeError(f"labels 'y' have {y.shape[0]} entries for {x.shape[0]} samples")
    notes: list[str] = []
    tf = import_tf()
    if fmt == "tflite":
        float_tflite = model_path.read_bytes()
        in_shape, _, in_type = io_details(float_tflite)
        if in_type not in FLOAT_TYPES or not check_int8_model(float_tflite):
            raise QuantizeError(f"{model_path.name} is already quantized: give the float model")
        weights = int8_weight_tensors(float_tflite)
        if weights:
            notes.append(f"{weights} weight tensors were already int8 (a hybrid model): kept")
    else:
        float_tflite = convert(tf, model_path, fmt, None, float_io, notes)
        in_shape = io_details(float_tflite)[0]
    problems = unsupported_float_ops(float_tflite)
    if problems:
        raise refuse(model_path.name, problems)
    x = match_shape(x, in_shape, model_path.name).astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise QuantizeError("calibration data contains NaN or infinite values")
    calib_idx, held_idx = split(x.shape[0], holdout_fraction)
    if held_idx.size == 0:
        held_idx = calib_idx
        notes.append("holdout_fraction=0: compared on the calibration samples themselves")
    if calib_idx.size > MAX_CALIBRATION_SAMPLES:
        notes.append(f"calibrated on {MAX_CALIBRATION_SAMPLES} of {calib_idx.size} samples")
    calib = x[calib_idx[:MAX_CALIBRATION_SAMPLES]]

    if fmt == "tflite":
        int8_tflite, method = aeq_quantize(float_tflite, calib, float_io), "ai-edge-quantizer"
    else:
        int8_tflite = convert(tf, model_path, fmt, calib, float_io)
        method = "tf.lite.TFLiteConverter"
    problems = check_int8_model(int8_tflite, float_io=float_io)
    if problems:
        raise refuse(model_path.name, problems)
    if (note := recurrent_note(model_ops(int8_tflite))) is not None:
        notes.append(note)

    held = x[held_idx]
    # A fused LSTM keeps its state between invocations; each sample is its own sequence.
    reset = "UNIDIRECTIONAL_SEQUENCE_LSTM" in model_ops(int8_tflite)
    ref = run_float(float_tflite, held, reset=reset)
    got = run_tflm(int8_tflite, held, reset=reset)[1]
    if task is None:
        task = "classification" if looks_like_probabilities(ref) else "regression"
    (in_scale, in_zp), (out_scale, out_zp) = io_params(int8_tflite)
    io_type = "float32" if float_io else "int8"
    report = QuantizeReport(
        model=str(model_path),
        output=str(out_path),
        source_format=fmt,
        method=method,
        input_shape=in_shape,
        output_shape=io_details(int8_tflite)[1],
        input_dtype=io_type,
        output_dtype=io_type,
        input_scale=in_scale,
        input_zero_point=in_zp,
        output_scale=out_scale,
        output_zero_point=out_zp,
        calibration_samples=int(calib.shape[0]),
        heldout_samples=int(held.shape[0]),
        task=task,
        float_bytes=sum(p.stat().st_size for p in model_path.rglob("*") if p.is_file())
        if model_path.is_dir()
        else model_path.stat().st_size,
        float_tflite_bytes=len(float_tflite),
        int8_bytes=len(int8_tflite),
        ops=model_ops(int8_tflite),
        notes=notes,
        **compare(ref, got, task, y, held_idx),
    )
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(int8_tflite)
    return report
