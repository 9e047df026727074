"""``mcuforge bench``: instructions per inference (QEMU icount, exact), flash and RAM.

Reported numbers are instructions, never cycles: QEMU counts instructions, and a real core's
cycles depend on its pipeline and memories.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mcuforge.boards import Board
from mcuforge.build import BuildResult, Progress, build_firmware
from mcuforge.compiler.plan import LOWER_BOUND_NOTE
from mcuforge.compiler.specialize import DEFAULT_OPTIMIZE
from mcuforge.target import open_target
from mcuforge.vectors import Vector, random_vectors


@dataclass
class LayerCost:
    step: int
    node: int
    op: str
    macs: int
    instructions: int
    #: The same layer with the reference kernels (the speedup's baseline).
    reference_instructions: int | None = None

    @property
    def instructions_per_mac(self) -> float | None:
        return round(self.instructions / self.macs, 2) if self.macs else None

    @property
    def speedup(self) -> float | None:
        if not self.reference_instructions or not self.instructions:
            return None
        return round(self.reference_instructions / self.instructions, 2)


@dataclass
class BenchReport:
    model: str
    board: str
    emulator: str
    instructions_per_inference: int
    instructions_runs: list[int]
    macs: int
    flash_bytes: int
    ram_bytes: int
    arena_bytes: int
    weights_bytes: int
    code_bytes: int
    arena_lower_bound: int
    layers: list[LayerCost] = field(default_factory=list)
    #: Stateful (streaming) models: the runs are consecutive steps of one stream from the
    #: initial state; the first step is reported apart, the median is over the others.
    stateful: bool = False
    state_bytes: int = 0
    first_step_instructions: int | None = None

    @property
    def instructions_per_mac(self) -> float | None:
        return round(self.instructions_per_inference / self.macs, 2) if self.macs else None

    def per_op(self) -> dict[str, dict[str, int]]:
        """Instructions, reference-kernel instructions and MACs summed by op type."""
        out: dict[str, dict[str, int]] = {}
        for layer in self.layers:
            entry = out.setdefault(layer.op, {"instructions": 0, "reference_instructions": 0,
                                              "macs": 0, "count": 0})
            entry["instructions"] += layer.instructions
            entry["reference_instructions"] += layer.reference_instructions or 0
            entry["macs"] += layer.macs
            entry["count"] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["instructions_per_mac"] = self.instructions_per_mac
        for layer, src in zip(d["layers"], self.layers, strict=True):
            layer["instructions_per_mac"] = src.instructions_per_mac
            layer["speedup"] = src.speedup
        d["per_op"] = self.per_op()
        return d


def _measure(build: BuildResult, emulator: str, vector: Vector, invokes: int,
             *, profile: bool) -> tuple[list[int], list[int]]:
    """(instructions of each run, per-step instructions of the last run if profiling)."""
    runs: list[int] = []
    with open_target(build.board, build.elf, emulator) as device:
        if build.manifest.get("stateful"):
            device.reset()
        for _ in range(invokes):
            # A fresh copy of the input each time: a run may overwrite it (the arena is reused).
            _, instructions = device.run(vector, build.manifest["outputs"])
            runs.append(instructions)
        per_step = device.profile(len(build.manifest["steps"])) if profile else []
    return runs, per_step


def run_bench(
    model: Path,
    board: Board,
    *,
    invokes: int = 5,
    layers: bool = False,
    emulator: str = "qemu",
    seed: int = 0,
    build_dir: Path | None = None,
    progress: Progress | None = None,
    optimize: str = DEFAULT_OPTIMIZE,
) -> BenchReport:
    """Median instructions over ``invokes`` runs of the release build.

    With ``layers``, two more builds run: the same kernels with a counter read after each step
    (per-layer instructions; the hook's own cost is excluded but it perturbs the total slightly,
    so the total always comes from the release build), and the reference kernels likewise (the
    per-layer speedup's baseline).
    """
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="mcuforge-bench-") as tmp:
        root = build_dir or Path(tmp)
        build = build_firmware(model, board, root / "release", progress=say, optimize=optimize)
        manifest = build.manifest
        vector = random_vectors(manifest["inputs"], 1, seed)[0]
        say(f"running {invokes} inferences on {board.name} in {emulator}")
        runs, _ = _measure(build, emulator, vector, invokes, profile=False)
        per_step: list[int] = []
        ref_step: list[int] = []
        if layers:
            say("per-layer profile (optimized kernels)")
            profiled = build_firmware(model, board, root / "profile", profile=True, progress=say,
                                      optimize=optimize)
            _, per_step = _measure(profiled, emulator, vector, 1, profile=True)
            if board.cpu.kernels != ("ref",):
                say("per-layer profile (reference kernels)")
                reference = build_firmware(model, board, root / "reference", profile=True,
                                           kernels=("ref",), progress=say)
                _, ref_step = _measure(reference, emulator, vector, 1, profile=True)
            else:
                ref_step = per_step
    size = build.size
    stateful = bool(manifest.get("stateful"))
    steady = runs[1:] if stateful and len(runs) > 1 else runs
    return BenchReport(
        model=manifest["model"],
        board=board.name,
        emulator=emulator,
        instructions_per_inference=int(statistics.median(steady)),
        instructions_runs=runs,
        macs=manifest["macs"],
        flash_bytes=size.flash_bytes,
        ram_bytes=size.ram_bytes,
        arena_bytes=size.arena_bytes,
        weights_bytes=size.weights_bytes,
        code_bytes=size.code_bytes,
        arena_lower_bound=manifest["plan"]["lower_bound_bytes"],
        layers=[
            LayerCost(i, s["node"], s["op"], s["macs"], per_step[i],
                      ref_step[i] if ref_step else None)
            for i, s in enumerate(manifest["steps"])
        ] if per_step else [],
        stateful=stateful,
        state_bytes=manifest.get("state_bytes", 0),
        first_step_instructions=runs[0] if stateful else None,
    )


def format_bench(report: BenchReport) -> str:
    per = "step (steady state)" if report.stateful else "inference"
    lines = [
        f"{report.model} on {report.board}: {report.instructions_per_inference} instructions per "
        f"{per} ({report.macs} MACs, {report.instructions_per_mac} instructions/MAC)",
        f"flash {report.flash_bytes} B (weights {report.weights_bytes} B, code "
        f"{report.code_bytes} B), RAM {report.ram_bytes} B, arena {report.arena_bytes} B "
        f"(lower bound {report.arena_lower_bound} B)",
        f"  ({LOWER_BOUND_NOTE})",
    ]
    if report.stateful:
        lines.append(f"stateful: {report.state_bytes} B of state; first step after reset "
                     f"{report.first_step_instructions} instructions")
    if report.layers:
        lines.append(f"\n  {'step':>4} {'op':<20} {'MACs':>10} {'instructions':>12} "
                     f"{'instr/MAC':>9} {'vs ref':>7}")
        for layer in report.layers:
            ipm = f"{layer.instructions_per_mac:.2f}" if layer.instructions_per_mac else "-"
            speedup = f"{layer.speedup:.2f}x" if layer.speedup else "-"
            lines.append(f"  {layer.step:>4} {layer.op:<20} {layer.macs:>10} "
                         f"{layer.instructions:>12} {ipm:>9} {speedup:>7}")
        lines.append(f"\n  {'op type':<20} {'count':>5} {'MACs':>10} {'instructions':>12} "
                     f"{'reference':>12}")
        for op, e in sorted(report.per_op().items(), key=lambda kv: -kv[1]["instructions"]):
            lines.append(f"  {op:<20} {e['count']:>5} {e['macs']:>10} {e['instructions']:>12} "
                         f"{e['reference_instructions']:>12}")
    return "\n".join(lines)
