"""The error :func:`mcuforge.quantize.quantize` raises, and how a refusal is worded."""

from __future__ import annotations

from mcuforge.errors import ModelError


class QuantizeError(ModelError):
    """The model cannot be turned into an int8 model that mcuforge compiles."""


def refuse(name: str, problems: list[str]) -> QuantizeError:
    """One error listing every reason the model ``name`` cannot be quantised."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return QuantizeError(f"{name} cannot be quantized to int8 for mcuforge:\n{lines}")
