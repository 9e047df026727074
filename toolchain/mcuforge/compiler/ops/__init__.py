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
from mcuforge.hints import (
    batch_chain,
    batch_problem,
    float_model_problem,
    is_float_model,
    origin_hint,
    recurrent_problem,
)
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
    (:class:`ModelError` first if the graph is inconsistent: op checks assume it is not).

    Problems that follow from one cause are reported once: a batch size computed at run time
    (SHAPE ... PACK) replaces the errors of the nodes it feeds, and a float model gets one line
    instead of one per tensor. Each unsupported op says which Keras layer it usually comes from
    (``mcuforge.hints``).
    """
    validate_graph(graph)
    problems: list[str] = []
    unsupported: dict[str, list[int]] = {}
    results = {op.index: node_problems(graph, op) for op in graph.operators
               if op.opcode in REGISTRY}
    # A node that passed its own checks computes with whatever integer types it has (every
    # op module checks its dtypes), so int16 tensors between such nodes are not a 16x8 problem.
    accepted = {index for index, node in results.items() if not node}
    chain = batch_chain(graph)
    precision = precision_problems(graph, int16_nodes=accepted)
    float_model = is_float_model(precision)  # every node's dtype errors would say the same
    chain_failed = False  # a batch computed at run time is only a problem when it fails
    for op in graph.operators:
        node = [] if op.opcode not in REGISTRY or float_model else results[op.index]
        if op.index in chain:
            chain_failed |= op.opcode not in REGISTRY or bool(node)
            continue
        if op.opcode not in REGISTRY:
            unsupported.setdefault(op.opcode, []).append(op.index)
        problems += [f"{op.describe()}: {p}" for p in node]
    for opcode, nodes in unsupported.items():
        where = ", ".join(str(n) for n in nodes)
        problems.insert(
            0, f"{opcode} is not supported (node{'s' if len(nodes) > 1 else ''} {where})"
        )
    hints = [h for h in (origin_hint(op) for op in unsupported) if h is not None]
    if chain_failed:
        problems.insert(0, batch_problem(graph, chain))
    problems.extend(float_model_problem(graph, precision))
    if problems:
        # Only a reason to explain, never one of its own: an unrolled layer of supported ops
        # compiles.
        if (recurrent := recurrent_problem({op.opcode for op in graph.operators})) is not None:
            hints.insert(0, recurrent)
        lines = "\n  ".join(problems)
        hint = "".join(f"\n  hint: {h}" for h in hints)
        if precision:
            hint += (
                "\nFloat, hybrid and 16x8 models need full-integer quantization first: "
                "mcuforge quantize MODEL -o OUT.tflite --calibration DATA.npy"
            )
        raise UnsupportedModelError(
            f"{graph.name}: cannot compile this model:\n  {lines}{hint}\n"
            f"Supported ops: {', '.join(supported_ops())}",
            problems + [f"hint: {h}" for h in hints],
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
