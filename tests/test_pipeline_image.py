"""Pipeline images on QEMU mps2-an386: the stage runner, its protocol commands over the real
UART, and instruction counts per stage. Synthetic stages (pipegen.py) keep these independent of
which ops the compiler supports; the published wake-word pipeline runs in
test_pipeline_listen.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mcuforge import resources
from mcuforge.boards import get_board
from mcuforge.build import build_image
from mcuforge.pipeline import codegen
from mcuforge.pipeline.firmware import pipeline_sources
from mcuforge.pipeline.listen import compare
from mcuforge.pipeline.session import TRACE_COUNTS, TRACE_FULL, PipelineSession
from mcuforge.target import open_target
from pipegen import random_pipeline
from test_pipeline_runner import _audio

pytestmark = pytest.mark.qemu


def _gated_pipeline(seed: int):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    while True:
        layout, models, stream = random_pipeline(rng)
        if any(d.gate >= 0 for d in layout.detectors) and len(layout.stages) >= 2:
            return rng, layout, models, stream


def _build(layout, models, board, directory: Path):  # type: ignore[no-untyped-def]
    gen = directory / "generated"
    codegen.write_config(layout, 16, gen)
    return build_image(
        models, board, directory, arena_bytes=16,
        generated={n: (gen / n).read_text() for n in ("pipeline_config.c", "pipeline_config.h")},
        extra_include_dirs=(resources.firmware_dir() / "app" / "pipeline",),
        extra_sources=pipeline_sources())


def test_synthetic_pipeline_on_qemu_is_exact(an386, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rng, layout, models, stream = _gated_pipeline(31)
    build = _build(layout, models, an386, tmp_path)
    audio = _audio(rng, 3000, layout.spec.channels)
    stream.feed(audio)
    with open_target(an386, build.elf) as device:
        session = PipelineSession(device, layout)
        session.check()
        session.reset(TRACE_FULL)
        session.push(audio)
        assert compare(layout, session.frames, session.events, stream.trace) is None
        assert session.events, "the audio must raise detections"
        for f in session.frames:  # the stages partition the frame's ticks (each part rounded)
            parts = [f.frontend, f.detect, *(t for t, _ in f.stages.values())]
            assert min(parts) > 0 and abs(sum(parts) - f.total) <= len(parts)
        # Counts only: no features or outputs travel, the events are the same.
        session.reset(TRACE_COUNTS)
        session.push(audio)
        assert all(f.features is None for f in session.frames)
        assert session.events == stream.trace.events
        assert compare(layout, session.frames, session.events, stream.trace) is None


@pytest.mark.renode
@pytest.mark.skipif(shutil.which("renode") is None, reason="Renode not installed (not on PyPI, "
                    "Debian or npm; get it from https://renode.io)")
def test_synthetic_pipeline_on_renode_is_exact(tmp_path: Path) -> None:
    board = get_board("stm32f4-discovery")
    rng, layout, models, stream = _gated_pipeline(8)
    build = _build(layout, models, board, tmp_path)
    audio = _audio(rng, 1500, layout.spec.channels)
    stream.feed(audio)
    with open_target(board, build.elf, "renode") as device:
        session = PipelineSession(device, layout)
        session.check()
        session.reset(TRACE_FULL)
        session.push(audio)
    assert compare(layout, session.frames, session.events, stream.trace) is None
    assert session.events and all(f.total > 0 for f in session.frames)
