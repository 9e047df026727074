"""The compiler pipeline in one call: check, lower, plan, emit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcuforge.compiler.emit import emit_model
from mcuforge.compiler.ops import LowerContext, check_graph, lower
from mcuforge.compiler.ops.base import KernelCall
from mcuforge.compiler.plan import MemoryPlan, plan_memory, with_views
from mcuforge.model.ir import Graph


@dataclass
class CompiledModel:
    graph: Graph
    calls: list[KernelCall]
    plan: MemoryPlan
    source: str
    header: str
    manifest: dict[str, Any]

    @property
    def kernel_sources(self) -> list[str]:
        """Kernel sources this model links, as ``<family>/<name>`` under
        ``firmware/runtime/kernels/`` (the lowering picked each family for the target CPU)."""
        return sorted({f"{c.family}/{c.source}" for c in self.calls if c.kernel and not c.spec})

    def write(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "model.c").write_text(self.source)
        (directory / "model.h").write_text(self.header)
        (directory / "model.json").write_text(json.dumps(self.manifest, indent=1))


def compile_graph(
    graph: Graph, *, kernel_families: tuple[str, ...] = ("ref",), debug: bool = False
) -> CompiledModel:
    """Compile a graph to C. Raises UnsupportedModelError before doing any work if it cannot."""
    check_graph(graph)
    calls = lower(graph, LowerContext(kernel_families=kernel_families))
    plan = plan_memory(graph, calls, reuse=not debug)
    calls = with_views(calls, plan)
    emitted = emit_model(graph, calls, plan, debug=debug)
    return CompiledModel(graph, calls, plan, emitted.source, emitted.header, emitted.manifest)
