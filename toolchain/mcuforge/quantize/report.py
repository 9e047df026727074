"""What :func:`mcuforge.quantize.quantize` returns, and its human-readable form."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class QuantizeReport:
    """What :func:`quantize` did and how close the int8 model is to the float one."""

    model: str
    output: str
    source_format: str  # "keras", "saved_model" or "tflite"
    method: str  # the tool that quantised
    input_shape: list[int]
    output_shape: list[int]
    input_dtype: str
    output_dtype: str
    input_scale: float  # of the int8 tensor at the input side (after QUANTIZE with float I/O)
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    calibration_samples: int
    heldout_samples: int
    task: str  # "classification" or "regression"
    float_bytes: int  # the file as given (or all files of a SavedModel), not the float model
    float_tflite_bytes: int
    int8_bytes: int
    ops: list[str]  # op of each operator of the int8 model, in order
    top1_agreement: float | None = None  # classification only
    float_accuracy: float | None = None  # classification with labels only
    int8_accuracy: float | None = None
    max_abs_error: float = 0.0  # of the dequantised outputs
    mean_abs_error: float = 0.0
    tied_top1: int = 0  # held-out samples whose int8 output has several top classes
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return asdict(self)


def _source_label(fmt: str) -> str:
    """What ``float_bytes`` measured: the file given (a .keras file also holds the optimizer
    state and the config, so it is not the float model's size)."""
    return {"keras": "Keras file", "saved_model": "SavedModel directory",
            "tflite": "input .tflite"}.get(fmt, "input")


def format_report(report: QuantizeReport) -> str:
    """Human-readable summary of a :class:`QuantizeReport`."""
    r = report
    counts = {op: r.ops.count(op) for op in sorted(set(r.ops))}
    ratio = r.int8_bytes / max(1, r.float_tflite_bytes)
    lines = [
        f"quantized {r.model} ({r.source_format}, {r.method})",
        f"  -> {r.output}",
        f"  input  {r.input_dtype}{r.input_shape} scale={r.input_scale:.6g} "
        f"zero_point={r.input_zero_point}",
        f"  output {r.output_dtype}{r.output_shape} scale={r.output_scale:.6g} "
        f"zero_point={r.output_zero_point}",
        f"  size   {_source_label(r.source_format)} {r.float_bytes} B; float .tflite "
        f"{r.float_tflite_bytes} B -> {r.output_dtype if r.output_dtype != 'float32' else 'int'} "
        f".tflite {r.int8_bytes} B ({ratio:.0%} of the float model)",
        "  ops    " + ", ".join(f"{k} x{v}" for k, v in counts.items()),
        f"  calibration {r.calibration_samples} samples; compared on {r.heldout_samples} "
        "held-out samples (int8 under TFLM)",
    ]
    if r.top1_agreement is not None:
        lines.append(f"  top-1 agreement float vs int8: {r.top1_agreement:.2%}")
        if r.tied_top1:
            lines.append(
                f"  warning: {r.tied_top1} of {r.heldout_samples} integer outputs tie for the top "
                "class (equal scores; top-1 takes the first), so agreement says little: the "
                "scores are closer than one output step, as for an untrained model")
    if r.float_accuracy is not None and r.int8_accuracy is not None:
        lines.append(f"  accuracy: float {r.float_accuracy:.2%}, int8 {r.int8_accuracy:.2%}")
    lines.append(f"  |float - int8| max {r.max_abs_error:.4g}, mean {r.mean_abs_error:.4g}")
    return "\n".join(lines + [f"  note: {n}" for n in r.notes])
