"""The op registry: which TFLite builtins mcuforge compiles, and how.

Each module in this package handles one or a few opcodes (``OPCODES``) with ``check`` (problems
that make a node unsupported, as text) and ``lower`` (a :class:`KernelCall`). This registry is the
one authority on "is this model supported?".
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

from mcuforge.compiler.ops.base import KernelCall, LowerContext
from mcuforge.errors import UnsupportedModelError
from mcuforge.model.ir import Graph, Operator
from mcuforge.model.reader import precision_problems
from mcuforge.model.validate import validate_graph


def _load() -> dict[str, ModuleType]:
    registry: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for opcode in getattr(module, "OPCODES", ()):
            registry[opcode] = module
    return registry


REGISTRY: dict[str, ModuleType] = _load()


def supported_ops() -> list[str]:
    return sorted(REGISTRY)


def node_problems(graph: Graph, op: Operator) -> list[str]:
    """Why this node cannot be compiled (empty when it can)."""
    module = REGISTRY.get(op.opcode)
    if module is None:
        return ["op not supported"]
    return list(module.check(op, graph))


def check_graph(graph: Graph) -> None:
    """Raise :class:`UnsupportedModelError` listing every problem, before anything is built
    (:class:`ModelError` first if the graph is inconsistent: op checks assume it is not)."""
    validate_graph(graph)
    problems: list[str] = []
    unsupported: dict[str, list[int]] = {}
    accepted: set[int] = set()
    for op in graph.operators:
        if op.opcode not in REGISTRY:
            unsupported.setdefault(op.opcode, []).append(op.index)
            continue
        node = node_problems(graph, op)
        problems += [f"{op.describe()}: {p}" for p in node]
        if not node:
            accepted.add(op.index)
    for opcode, nodes in unsupported.items():
        where = ", ".join(str(n) for n in nodes)
        problems.insert(
            0, f"{opcode} is not supported (node{'s' if len(nodes) > 1 else ''} {where})"
        )
    # A node that passed its own checks computes with whatever integer types it has (every
    # op module checks its dtypes), so int16 tensors between such nodes are not a 16x8 problem.
    precision = precision_problems(graph, int16_nodes=accepted)
    problems.extend(precision)
    if problems:
        lines = "\n  ".join(problems)
        hint = ""
        if precision:
            hint = (
                "\nFloat, hybrid and 16x8 models need full-integer int8 quantization first: "
                "mcuforge quantize MODEL -o OUT.tflite --calibration DATA.npy"
            )
        raise UnsupportedModelError(
            f"{graph.name}: cannot compile this model:\n  {lines}\n"
            f"Supported ops: {', '.join(supported_ops())}{hint}",
            problems,
        )


def lower(graph: Graph, ctx: LowerContext | None = None) -> list[KernelCall]:
    """Lower every node, in schedule order; the graph must have passed :func:`check_graph`."""
    ctx = ctx or LowerContext()
    return [REGISTRY[op.opcode].lower(op, graph, ctx) for op in graph.operators]


__all__ = [
    "REGISTRY",
    "KernelCall",
    "LowerContext",
    "check_graph",
    "lower",
    "node_problems",
    "supported_ops",
]
