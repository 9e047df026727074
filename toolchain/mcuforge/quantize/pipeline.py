""":func:`quantize`: float model + calibration data -> checked int8 .tflite and a report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from mcuforge.hints import origin_hint, recurrent_problem
from mcuforge.quantize.calibration import (
    MAX_CALIBRATION_SAMPLES,
    MIN_CALIBRATION_SAMPLES,
    load_calibration,
    match_shape,
    split,
)
from mcuforge.quantize.convert import aeq_quantize, convert, source_format
from mcuforge.quantize.errors import QuantizeError, refuse
from mcuforge.quantize.evaluate import compare, looks_like_probabilities, run_float, run_tflm
from mcuforge.quantize.flatbuffer import (
    FLOAT_TYPES,
    SUPPORTED_OPS,
    check_int8_model,
    compile_problems,
    int8_weight_tensors,
    io_details,
    io_params,
    model_ops,
    unsupported_float_ops,
)
from mcuforge.quantize.progress import stage
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
    activations: str = "int8",
    keep_float: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> QuantizeReport:
    """Quantise a float model to full int8 (or 16x8) and compare it with the float model.

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
        activations: "int8", or "int16" for a 16x8 model (int16 activations, int8 weights:
            more precise, twice the activation memory).
        keep_float: also write the float .tflite the converter made here, even when the model
            is refused (``mcuforge inspect`` then shows which ops are missing).
        progress: called with a message when a step runs longer than 2 s.

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
    if activations not in ("int8", "int16"):
        raise QuantizeError(f"activations must be 'int8' or 'int16', got {activations!r}")
    if task not in (None, "classification", "regression"):
        raise QuantizeError(f"task must be 'classification' or 'regression', got {task!r}")
    if y is not None and y.shape[0] != x.shape[0]:
        raise QuantizeError(f"labels 'y' have {y.shape[0]} entries for {x.shape[0]} samples")
    notes: list[str] = []
    layers: dict[str, list[str]] = {}  # Keras layer names by class, to name refused ops' origin
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
        with stage(progress, f"converting {model_path.name} to a float .tflite"):
            float_tflite = convert(tf, model_path, fmt, None, float_io, notes, layers=layers)
        in_shape = io_details(float_tflite)[0]
    if keep_float is not None:
        Path(keep_float).parent.mkdir(parents=True, exist_ok=True)
        Path(keep_float).write_bytes(float_tflite)
    problems = unsupported_float_ops(float_tflite)
    if problems:
        raise refuse(model_path.name, problems + _hints(float_tflite, layers), keep_float)
    x = match_shape(x, in_shape, model_path.name).astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise QuantizeError("calibration data contains NaN or infinite values")
    calib_idx, held_idx = split(x.shape[0], holdout_fraction)
    if held_idx.size == 0:
        held_idx = calib_idx
        notes.append("holdout_fraction=0: compared on the calibration samples themselves")
    if calib_idx.size < MIN_CALIBRATION_SAMPLES:
        notes.append(f"only {calib_idx.size} calibration samples: scales from fewer than "
                     f"{MIN_CALIBRATION_SAMPLES} may not cover the inputs the device will see")
    if calib_idx.size > MAX_CALIBRATION_SAMPLES:
        notes.append(f"calibrated on {MAX_CALIBRATION_SAMPLES} of {calib_idx.size} samples")
    calib = x[calib_idx[:MAX_CALIBRATION_SAMPLES]]

    if fmt == "tflite":
        with stage(progress, f"quantizing with {calib.shape[0]} calibration samples"):
            int8_tflite = aeq_quantize(float_tflite, calib, float_io, activations)
        method = "ai-edge-quantizer"
    else:
        with stage(progress, f"quantizing with {calib.shape[0]} calibration samples"):
            int8_tflite = convert(tf, model_path, fmt, calib, float_io, activations=activations)
        method = "tf.lite.TFLiteConverter"
    problems = check_int8_model(int8_tflite, float_io=float_io, activations=activations)
    problems = problems or compile_problems(int8_tflite, model_path.stem)
    if problems:
        raise refuse(model_path.name, problems + _hints(int8_tflite, layers), keep_float)
    if (note := recurrent_note(model_ops(int8_tflite))) is not None:
        notes.append(note)

    held = x[held_idx]
    # A fused LSTM keeps its state between invocations; each sample is its own sequence.
    reset = "UNIDIRECTIONAL_SEQUENCE_LSTM" in model_ops(int8_tflite)
    with stage(progress, f"comparing float and integer models on {held.shape[0]} samples"):
        ref = run_float(float_tflite, held, reset=reset)
        got = run_tflm(int8_tflite, held, reset=reset)[1]
    if task is None:
        task = "classification" if looks_like_probabilities(ref) else "regression"
    (in_scale, in_zp), (out_scale, out_zp) = io_params(int8_tflite)
    io_type = "float32" if float_io else activations
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


def _hints(tflite: bytes, layers: dict[str, list[str]]) -> list[str]:
    """Where each refused op comes from in the user's Keras model, and what to use instead."""
    ops = model_ops(tflite)
    missing = sorted({op for op in ops if op not in SUPPORTED_OPS})
    hints = [h for h in (origin_hint(op, layers) for op in missing) if h is not None]
    if (recurrent := recurrent_problem(set(ops))) is not None:
        hints.insert(0, recurrent)
    return [f"hint: {h}" for h in hints]
