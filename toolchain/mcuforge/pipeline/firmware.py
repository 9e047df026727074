"""Build a pipeline image: the front end and the models compiled with one shared arena, the
generated stage table, and the generic runner, linked by :func:`mcuforge.build.build_image`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcuforge import resources
from mcuforge.boards import Board
from mcuforge.build import BuildResult, Progress, build_image, check_toolchain
from mcuforge.compiler.compile import CompiledModel, compile_graph
from mcuforge.pipeline import codegen
from mcuforge.pipeline import standalone as standalone_mod
from mcuforge.pipeline.layout import FRONTEND_PREFIX, PipelineLayout


@dataclass
class PipelineRam:
    """Where the pipeline image's RAM goes (bytes)."""

    arena: int  # shared by the front end and the models
    frontend_state: int
    model_state: dict[str, int]
    pipeline: codegen.PipelineMemory
    total: int  # everything the image keeps in RAM (stack included), from the ELF

    def to_dict(self) -> dict[str, Any]:
        return {"arena": self.arena, "frontend_state": self.frontend_state,
                "model_state": self.model_state, "audio_ring": self.pipeline.audio,
                "frame_ring": self.pipeline.frames, "model_outputs": self.pipeline.outputs,
                "detectors": self.pipeline.detectors, "record_queue": self.pipeline.queue,
                "pipeline_total": self.pipeline_total, "image_total": self.total}

    @property
    def pipeline_total(self) -> int:
        """What the pipeline itself needs: arena, states, rings, outputs, detectors (not the
        protocol's record queue, which a board running on its own microphone could drop)."""
        p = self.pipeline
        return (self.arena + self.frontend_state + sum(self.model_state.values()) + p.audio
                + p.frames + p.outputs + p.detectors)


@dataclass
class PipelineBuild:
    layout: PipelineLayout
    build: BuildResult
    frontend: CompiledModel
    models: list[CompiledModel]
    ram: PipelineRam
    #: The driver of a standalone image's source (None: samples come over the protocol).
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        esphome = {m.name: m.esphome_arena for m in self.layout.spec.models if m.esphome_arena}
        return {**self.build.to_dict(), "pipeline": self.layout.spec.name,
                "standalone_source": self.source,
                "models": [m.name for m in self.layout.spec.models],
                "ram_breakdown": self.ram.to_dict(), "esphome_tensor_arena": esphome}


def pipeline_sources() -> tuple[Path, ...]:
    return tuple(sorted((resources.firmware_dir() / "app" / "pipeline").glob("*.c")))


def compile_pipeline(layout: PipelineLayout, kernels: tuple[str, ...]
                     ) -> tuple[CompiledModel, list[CompiledModel]]:
    """The front end and the models, each with its C prefix, all on the shared arena."""
    common = {"kernel_families": kernels, "arena_symbol": codegen.ARENA_SYMBOL}
    frontend = compile_graph(layout.frontend_graph, name=FRONTEND_PREFIX, **common)
    models = [compile_graph(g, name=s.prefix, **common)
              for s, g in zip(layout.stages, layout.stage_graphs, strict=True)]
    return frontend, models


def build_pipeline(layout: PipelineLayout, board: Board, out_dir: Path, *,
                   kernels: tuple[str, ...] | None = None, opt: str = "-O2",
                   progress: Progress | None = None, standalone: bool = False) -> PipelineBuild:
    """Build the pipeline image for ``board`` into ``out_dir``: a protocol image the host
    streams samples to, or with ``standalone`` one that listens to the board's own source
    from boot and prints text lines (:mod:`mcuforge.pipeline.standalone`)."""
    say = progress or (lambda _msg: None)
    check_toolchain(board)
    source = standalone_mod.board_source(layout, board) if standalone else None
    say(f"compiling the front end and {len(layout.stages)} model(s) of pipeline "
        f"'{layout.spec.name}'")
    frontend, models = compile_pipeline(layout, kernels or board.cpu.kernels)
    compiled = [frontend, *models]
    arena = max(m.plan.arena_bytes for m in compiled)
    gen = out_dir / "generated"
    codegen.write_config(layout, arena, gen)
    generated = {name: (gen / name).read_text()
                 for name in ("pipeline_config.c", "pipeline_config.h")}
    fw = resources.firmware_dir()
    sources, defines, irqs = pipeline_sources(), (), None
    if source is not None:
        say(f"standalone image: {source.kind} from the board's {source.driver.name} driver")
        generated.update(standalone_mod.config_files(layout))
        generated["source_config.h"] = source.config_header(board.name)
        sources += tuple(fw / f for f in (standalone_mod.STANDALONE_SOURCE,
                                          *source.driver.files))
        defines, irqs = (standalone_mod.DEFINE,), source.irq_vectors()
    build = build_image(compiled, board, out_dir, opt=opt, progress=progress, arena_bytes=arena,
                        generated=generated,
                        extra_include_dirs=(fw / "app" / "pipeline",
                                            fw / "app" / "pipeline" / "sources"),
                        extra_sources=sources, extra_defines=defines, irq_handlers=irqs)
    ram = PipelineRam(arena, frontend.plan.state.bytes,
                      {s.name: m.plan.state.bytes for s, m in zip(layout.stages, models,
                                                                   strict=True)},
                      codegen.memory(layout), build.size.ram_bytes)
    result = PipelineBuild(layout, build, frontend, models, ram,
                           source.driver.name if source else None)
    (out_dir / "pipeline.json").write_text(json.dumps(result.to_dict(), indent=1))
    return result
