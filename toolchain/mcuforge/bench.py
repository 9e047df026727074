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
from mcuforge.build import Progress, build_firmware
from mcuforge.target import open_target
from mcuforge.vectors import random_vectors


@dataclass
class LayerCost:
    step: int
    node: int
    op: str
    macs: int
    instructions: int

    @property
    def instructions_per_mac(self) -> float | None:
        return round(self.instructions / self.macs, 2) if self.macs else None


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

    @property
    def instructions_per_mac(self) -> float | None:
        return round(self.instructions_per_inference / self.macs, 2) if self.macs else None

    def per_op(self) -> dict[str, dict[str, int]]:
        """Instructions and MACs summed by op type."""
        out: dict[str, dict[str, int]] = {}
        for layer in self.layers:
            entry = out.setdefault(layer.op, {"instructions": 0, "macs": 0, "count": 0})
            entry["instructions"] += layer.instructions
            entry["macs"] += layer.macs
            entry["count"] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["instructions_per_mac"] = self.instructions_per_mac
        for layer, src in zip(d["layers"], self.layers, strict=True):
            layer["instructions_per_mac"] = src.instructions_per_mac
        d["per_op"] = self.per_op()
        return d


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
) -> BenchReport:
    """Median instructions over ``invokes`` runs, each on a fresh copy of the same input (the
    arena is reused, so an input may be overwritten by a run)."""
    say = progress or (lambda _msg: None)
    with tempfile.TemporaryDirectory(prefix="mcuforge-bench-") as tmp:
        build = build_firmware(model, board, build_dir or Path(tmp), profile=layers, progress=say)
        manifest = build.manifest
        vector = random_vectors(manifest["inputs"], 1, seed)[0]
        runs: list[int] = []
        per_step: list[int] = []
        say(f"running {invokes} inferences on {board.name} in {emulator}")
        with open_target(board, build.elf, emulator) as device:
            for _ in range(invokes):
                _, instructions = device.run(vector, manifest["outputs"])
                runs.append(instructions)
            if layers:
                per_step = device.profile(len(manifest["steps"]))
    size = build.size
    return BenchReport(
        model=manifest["model"],
        board=board.name,
        emulator=emulator,
        instructions_per_inference=int(statistics.median(runs)),
        instructions_runs=runs,
        macs=manifest["macs"],
        flash_bytes=size.flash_bytes,
        ram_bytes=size.ram_bytes,
        arena_bytes=size.arena_bytes,
        weights_bytes=size.weights_bytes,
        code_bytes=size.code_bytes,
        arena_lower_bound=manifest["plan"]["lower_bound_bytes"],
        layers=[
            LayerCost(i, s["node"], s["op"], s["macs"], per_step[i])
            for i, s in enumerate(manifest["steps"])
        ]
        if per_step
        else [],
    )
