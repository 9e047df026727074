"""The error :func:`mcuforge.quantize.quantize` raises, and how a refusal is worded."""

from __future__ import annotations

from pathlib import Path

from mcuforge.errors import ModelError


class QuantizeError(ModelError):
    """The model cannot be turned into an int8 model that mcuforge compiles."""


def refuse(name: str, problems: list[str], kept: Path | None = None) -> QuantizeError:
    """One error listing every reason the model ``name`` cannot be quantised (and where the
    float .tflite was kept, for ``mcuforge inspect``)."""
    lines = "\n".join(f"  - {p}" for p in problems)
    where = (f"\nThe converted float model is in {kept}: `mcuforge inspect {kept}` lists its "
             "ops." if kept is not None else
             "\nTo look at the converted model, run again with --keep-float FILE.tflite and "
             "`mcuforge inspect FILE.tflite`.")
    return QuantizeError(f"{name} cannot be quantized to int8 for mcuforge:\n{lines}{where}")
