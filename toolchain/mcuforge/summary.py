"""``mcuforge inspect``: what a model holds, whether it compiles, and its memory plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcuforge.compiler.compile import compile_graph
from mcuforge.compiler.ops import REGISTRY, LowerContext, node_problems, supported_ops
from mcuforge.compiler.plan import LOWER_BOUND_NOTE, MemoryPlan
from mcuforge.errors import UnsupportedModelError
from mcuforge.hints import is_float_model
from mcuforge.model import read_model
from mcuforge.model.ir import Graph
from mcuforge.model.reader import precision_problems
from mcuforge.model.validate import validate_graph


@dataclass
class OpRow:
    index: int
    opcode: str
    inputs: list[list[int]]
    outputs: list[list[int]]
    macs: int | None
    problems: list[str]

    @property
    def supported(self) -> bool:
        return not self.problems


@dataclass
class ModelSummary:
    path: str
    graph: Graph
    ops: list[OpRow]
    problems: list[str]
    plan: MemoryPlan | None
    weights_bytes: int
    macs: int | None
    steps: list[dict[str, Any]] = field(default_factory=list)

    @property
    def supported(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        g = self.graph
        return {
            "model": g.name,
            "path": self.path,
            "supported": self.supported,
            "problems": self.problems,
            "supported_ops": supported_ops(),
            "macs": self.macs,
            "weights_bytes": self.weights_bytes,
            "inputs": [_tensor(g, t) for t in g.inputs],
            "outputs": [_tensor(g, t) for t in g.outputs],
            "ops": [
                {
                    "index": r.index,
                    "op": r.opcode,
                    "inputs": r.inputs,
                    "outputs": r.outputs,
                    "macs": r.macs,
                    "supported": r.supported,
                    "problems": r.problems,
                }
                for r in self.ops
            ],
            "tensors": [_tensor(g, t.index) for t in g.tensors],
            "plan": self.plan.to_dict() if self.plan else None,
            "stateful": g.stateful,
            "variables": [{"name": v.name, "bytes": v.nbytes, "dtype": str(v.initial.dtype),
                           "shape": list(v.initial.shape)} for v in g.variables],
            "state_bytes": self.plan.state.bytes if self.plan else None,
        }


def _tensor(g: Graph, index: int) -> dict[str, Any]:
    t = g.tensors[index]
    return {
        "index": t.index,
        "name": t.name,
        "shape": list(t.shape),
        "dtype": t.dtype,
        "bytes": t.nbytes,
        "const": t.is_const,
        "scale": list(t.quant.scale) if t.quant else None,
        "zero_point": list(t.quant.zero_point) if t.quant else None,
    }


def inspect_model(path: Path) -> ModelSummary:
    """Read a model and report on it; never raises for an unsupported model (it says why)."""
    graph = read_model(path)
    validate_graph(graph)
    float_model = is_float_model(precision_problems(graph))
    rows = []
    for op in graph.operators:
        problems = node_problems(graph, op)
        if float_model and problems and op.opcode in REGISTRY:
            problems = ["float (quantize first)"]
        macs = None
        if not problems:
            macs = REGISTRY[op.opcode].lower(op, graph, LowerContext()).macs
        rows.append(
            OpRow(
                op.index,
                op.opcode,
                [list(graph.tensors[t].shape) for t in op.inputs if t >= 0],
                [list(graph.tensors[t].shape) for t in op.outputs],
                macs,
                problems,
            )
        )
    weights = sum(t.nbytes for t in graph.tensors if t.is_const)
    try:
        compiled = compile_graph(graph)
    except UnsupportedModelError as exc:
        return ModelSummary(str(path), graph, rows, exc.problems, None, weights, None)
    return ModelSummary(
        str(path),
        graph,
        rows,
        [],
        compiled.plan,
        weights,
        compiled.manifest["macs"],
        compiled.manifest["steps"],
    )


def format_summary(s: ModelSummary) -> str:
    g = s.graph
    lines = [
        f"model {g.name}: {len(g.operators)} ops, {len(g.tensors)} tensors, "
        f"{s.weights_bytes} bytes of constants" + (f", {s.macs} MACs" if s.macs else "")
    ]
    for label, ids in (("input", g.inputs), ("output", g.outputs)):
        for t in ids:
            tensor = g.tensors[t]
            q = f" scale {tensor.scale:.6g} zero point {tensor.zero_point}" if tensor.quant else ""
            lines.append(f"  {label} t{t} {tensor.dtype}{list(tensor.shape)}{q}")
    lines.append("")
    lines.append(f"  {'node':>4}  {'op':<24} {'output':<20} {'MACs':>10}  supported")
    for r in s.ops:
        out = "x".join(map(str, r.outputs[0])) if r.outputs else ""
        macs = f"{r.macs}" if r.macs is not None else "?"
        ok = "yes" if r.supported else "NO: " + "; ".join(r.problems)
        lines.append(f"  {r.index:>4}  {r.opcode:<24} {out:<20} {macs:>10}  {ok}")
    lines.append("")
    if s.plan is not None:
        p = s.plan
        lines.append(
            f"arena plan: {p.arena_bytes} bytes (lower bound {p.lower_bound} bytes, "
            f"{len(p.buffers)} buffers over {p.steps} steps)"
        )
        lines.append(f"  ({LOWER_BOUND_NOTE})")
        for b in sorted(p.buffers, key=lambda b: (b.offset, b.first)):
            lines.append(
                f"  offset {b.offset:>8}  {b.size:>8} B  steps {b.first:>3}-{b.last:<3} {b.label}"
            )
        if p.state.bytes:
            aliased = (f"; {len(p.state.elided)} variable reads/writes alias it instead of "
                       "copying" if g.variables else "")
            lines.append(
                f"state: {p.state.bytes} bytes kept between invocations, outside the arena "
                f"(restored by reset){aliased}"
            )
            for r in p.state.regions:
                lines.append(f"  offset {r.offset:>8}  {r.size:>8} B  {r.label}")
        lines.append(
            f"supported: yes ({p.arena_bytes} B arena + {p.state.bytes} B state"
            f"{', stateful: each invocation continues a stream' if p.state.bytes else ''})"
        )
    else:
        lines.append("NOT SUPPORTED:")
        lines += [f"  {p}" for p in s.problems]
        lines.append(f"supported ops: {', '.join(supported_ops())}")
        missing = sorted({r.opcode for r in s.ops if r.opcode not in REGISTRY})
        what = (f"missing op{'s' if len(missing) > 1 else ''} {', '.join(missing)}" if missing
                else f"{sum(not p.startswith('hint:') for p in s.problems)} problem(s) above")
        lines.append(f"supported: no ({what})")
    return "\n".join(lines)
