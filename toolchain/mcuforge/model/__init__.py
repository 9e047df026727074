"""Model reading: .tflite bytes to a typed, validated graph IR."""

from mcuforge.model.ir import Graph, Operator, Quant, Tensor
from mcuforge.model.reader import parse_model, precision_problems, read_model

__all__ = [
    "Graph",
    "Operator",
    "Quant",
    "Tensor",
    "parse_model",
    "precision_problems",
    "read_model",
]
