"""A small typed graph IR: what the compiler needs from a .tflite model, nothing more."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: numpy dtype per IR dtype name; the names follow TFLite's TensorType.
NUMPY_DTYPES: dict[str, np.dtype] = {
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "float64": np.dtype(np.float64),
    "int8": np.dtype(np.int8),
    "uint8": np.dtype(np.uint8),
    "int16": np.dtype(np.int16),
    "uint16": np.dtype(np.uint16),
    "int32": np.dtype(np.int32),
    "uint32": np.dtype(np.uint32),
    "int64": np.dtype(np.int64),
    "uint64": np.dtype(np.uint64),
    "bool": np.dtype(np.bool_),
    # A resource handle (VAR_HANDLE's output) names a variable; it holds no data of its own.
    "resource": np.dtype(np.uint8),
}

#: TFLite TensorType codes; the device protocol reports dtypes with the same codes.
DTYPE_CODES: dict[str, int] = {
    "float32": 0,
    "float16": 1,
    "int32": 2,
    "uint8": 3,
    "int64": 4,
    "bool": 6,
    "int16": 7,
    "int8": 9,
    "float64": 10,
    "uint64": 12,
    "uint32": 15,
    "uint16": 16,
}


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per channel."""

    scale: tuple[float, ...]
    zero_point: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scale) > 1


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = field(default=None, repr=False)
    is_variable: bool = False

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape else 1

    @property
    def nbytes(self) -> int:
        return self.size * NUMPY_DTYPES[self.dtype].itemsize

    @property
    def scale(self) -> float:
        """Per-tensor scale (first channel's for per-channel tensors)."""
        assert self.quant is not None, f"tensor {self.name} is not quantized"
        return self.quant.scale[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None, f"tensor {self.name} is not quantized"
        return self.quant.zero_point[0]


@dataclass
class Operator:
    index: int
    opcode: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def describe(self) -> str:
        return f"node {self.index} ({self.opcode})"


@dataclass
class Variable:
    """A resource variable: state a streaming model keeps between invocations.

    ``initial`` is its value after reset (the constant its CALL_ONCE initialiser assigns, or zeros
    as TFLM allocates it when nothing does); ``handles`` are the main graph's resource tensors
    that name it (VAR_HANDLE outputs with the same container and shared name).
    """

    index: int
    name: str
    initial: np.ndarray
    handles: list[int] = field(default_factory=list)

    @property
    def nbytes(self) -> int:
        return int(self.initial.nbytes)


@dataclass
class Graph:
    name: str
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    variables: list[Variable] = field(default_factory=list)
    #: SHA-256 of the model file, hex; the firmware reports it so a host can tell what it runs.
    sha256: str = ""

    @property
    def stateful(self) -> bool:
        return bool(self.variables)

    def variable_of(self, resource: int) -> Variable | None:
        """The variable a resource tensor names."""
        return next((v for v in self.variables if resource in v.handles), None)

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producers(self) -> dict[int, int]:
        """Tensor index -> index of the operator that writes it."""
        return {t: op.index for op in self.operators for t in op.outputs}

    def consumers(self) -> dict[int, list[int]]:
        """Tensor index -> indices of the operators that read it, in schedule order."""
        users: dict[int, list[int]] = {}
        for op in self.operators:
            for t in op.inputs:
                if t >= 0:
                    users.setdefault(t, []).append(op.index)
        return users
