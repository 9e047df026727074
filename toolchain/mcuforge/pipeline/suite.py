"""``mcuforge renode-suite PIPELINE``: a Robot Framework suite that runs a standalone pipeline
image in Renode on the board's emulated sensor and expects exactly what the TFLM reference
pipeline finds in each recording.

The suite directory holds the image (``firmware.elf``, built by
:func:`mcuforge.pipeline.firmware.build_pipeline` with ``standalone``), ``platform.repl``,
renode/pipeline.robot.j2 filled in as ``mcuforge_pipeline.robot``, the keyword resources
(renode/pipeline.resource and mcuforge.resource), and each recording converted to what the
emulated sensor reads:

* audio (Renode's nRF52840 ``pdm``): 16-bit little-endian PCM at the pipeline's rate, mono,
  for ``SetInputFile``; the model writes one block per EasyDMA buffer and zeros once the file
  is consumed;
* accelerometer (Renode's ``LSM9DS1_IMU``): one ``x y z`` line per sample in g, for
  ``FeedAccelerationSample``. The model turns g into LSB as ``(short)(g * 32768 / full scale)``
  (truncating); ``raw * full scale / 32768`` is an exact decimal, so the firmware reads back
  exactly the recording's values. Its FIFO depth is set to the chip's 32 samples.

Each recording test checks the banner's SHA-256 first (another image fails there, naming both
hashes), then every detection and once-a-second marker line in order
(:func:`mcuforge.pipeline.standalone.expected_output`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge import __version__, resources
from mcuforge.boards import Board
from mcuforge.errors import McuforgeError, PipelineError
from mcuforge.pipeline.audio import load_wav
from mcuforge.pipeline.firmware import PipelineBuild, build_pipeline
from mcuforge.pipeline.layout import PipelineLayout
from mcuforge.pipeline.recording import read_csv
from mcuforge.pipeline.standalone import ExpectedOutput, banner_line, board_source, expected_output
from mcuforge.renode_suite import RESOURCE_NAME
from mcuforge.sources import BoardSource
from mcuforge.target.renode import RenodeSpec, render

SUITE_NAME = "mcuforge_pipeline.robot"
PIPELINE_RESOURCE = "pipeline.resource"
#: The LSM9DS1's FIFO holds 32 samples (datasheet); Renode's model reports at most MaxFifoDepth.
LSM9DS1_FIFO_DEPTH = 32

Progress = Callable[[str], None]


@dataclass
class RecordingTest:
    name: str
    source: Path  # the user's file
    converted: Path  # what the emulated sensor reads, beside the suite
    expected: ExpectedOutput
    feed: list[str]
    conversions: list[str] = field(default_factory=list)

    @property
    def documentation(self) -> str:
        found = [line for line in self.expected.lines if not line.startswith("AT ")]
        what = "; ".join(found) if found else "no detection"
        return (f"{self.source.name} ({self.expected.samples} samples): the TFLM reference "
                f"finds {what}")


@dataclass
class PipelineSuite:
    directory: Path
    suite: Path
    elf: Path
    platform_file: Path
    build: PipelineBuild
    banner: str
    recordings: list[RecordingTest]
    timeout_s: int

    @property
    def tests(self) -> list[str]:
        return [f"Firmware Runs The Models Of {self.build.layout.spec.name}",
                *(r.name for r in self.recordings)]

    @property
    def command(self) -> str:
        return (f"renode-test {self.suite} --variable ELF:@{self.elf} "
                f"-r {self.directory / 'results'}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "directory": str(self.directory), "suite": str(self.suite), "elf": str(self.elf),
            "platform_file": str(self.platform_file), "banner": self.banner,
            "tests": self.tests, "timeout_s": self.timeout_s, "command": self.command,
            "recordings": [{"file": str(r.source), "converted": str(r.converted),
                            "samples": r.expected.samples, "conversions": r.conversions,
                            "lines": r.expected.lines} for r in self.recordings],
        }


def pcm_file(samples: np.ndarray, path: Path) -> None:
    """16-bit little-endian PCM, channels interleaved."""
    path.write_bytes(np.ascontiguousarray(samples, dtype="<i2").tobytes())


def lsm9ds1_accel_file(samples: np.ndarray, full_scale_g: int, path: Path) -> None:
    """Renode's LSM9DS1 sample file: ``x y z`` in g per line, exact decimals of
    ``raw * full_scale / 32768`` (the model multiplies by 32768 / full scale and truncates)."""
    step = Decimal(full_scale_g) / Decimal(32768)
    lines = [" ".join(str(Decimal(int(v)) * step) for v in row)
             for row in np.asarray(samples).reshape(-1, 3)]
    path.write_text("\n".join(lines) + "\n")


def _test_name(path: Path, taken: set[str]) -> str:
    base = f"Recording {path.stem} Gives The Reference's Detections"
    name, n = base, 2
    while name in taken:
        name, n = f"{base} ({n})", n + 1
    taken.add(name)
    return name


def _recordings(layout: PipelineLayout, source: BoardSource, board: Board, audio: list[Path],
                imu: list[Path], out_dir: Path, say: Progress) -> list[RecordingTest]:
    spec = layout.spec
    given = "--audio" if audio else "--imu"
    want = "audio" if audio else "accelerometer"
    if audio and imu:
        raise PipelineError("give recordings of one kind: --audio (a microphone) or --imu (an "
                            "accelerometer), as the pipeline's [source] kind says")
    if spec.source_kind != want:
        raise PipelineError(f"{spec.path.name} takes {spec.source_kind} samples ([source] kind); "
                            f"{given} gives {want} recordings")
    if source.renode is None:
        raise PipelineError(f"boards/{board.name}.toml [sources.{source.kind}] names no Renode "
                            "peripheral (renode = \"...\")")
    peripheral = source.renode
    tests, taken = [], set()
    for path in audio or imu:
        notes: list[str] = []
        if source.driver.renode_feed == "pcm16":
            wav = load_wav(path, spec.sample_rate, spec.channels)
            samples, notes = wav.samples, wav.conversions
            converted = out_dir / f"{path.stem}.pcm"
            pcm_file(samples, converted)
            feed = [f"{peripheral} SetInputFile @${{CURDIR}}/{converted.name}"]
        else:
            samples = read_csv(path, spec.channels)
            converted = out_dir / f"{path.stem}.accel"
            lsm9ds1_accel_file(samples, source.values["full_scale_g"], converted)
            feed = [f"{peripheral} FeedAccelerationSample @${{CURDIR}}/{converted.name}",
                    f"{peripheral} MaxFifoDepth {LSM9DS1_FIFO_DEPTH}"]
        for note in notes:
            say(f"{path.name}: {note}")
        say(f"running the reference pipeline (TFLM) over {path.name}")
        expected = expected_output(layout, samples)
        tests.append(RecordingTest(_test_name(path, taken), path, converted, expected, feed,
                                   notes))
    return tests


def estimate_timeout(layout: PipelineLayout) -> int:
    """Emulated seconds a wait may take: the longest wait is for the first frame (a window of
    samples), the others come at least once a second; wide margins for slow frames."""
    return 10 + 2 * int(layout.window / layout.spec.sample_rate + 1)


def write_pipeline_suite(layout: PipelineLayout, board: Board, out_dir: Path, *,
                         audio: list[Path] | None = None, imu: list[Path] | None = None,
                         timeout_s: int | None = None,
                         progress: Progress | None = None) -> PipelineSuite:
    """Build the standalone image and write the suite for ``audio`` or ``imu`` recordings."""
    say = progress or (lambda _msg: None)
    spec = RenodeSpec.of(board)  # boards without Renode are refused before anything is built
    source = board_source(layout, board)
    out_dir = out_dir.resolve()
    if any(c.isspace() for c in str(out_dir)):
        raise McuforgeError(
            f"Renode's monitor cannot load files from a path with whitespace: {out_dir}")
    if not audio and not imu:
        raise PipelineError("give at least one recording: --audio FILE.wav (audio pipelines) "
                            "or --imu FILE.csv (accelerometer pipelines)")
    out_dir.mkdir(parents=True, exist_ok=True)
    tests = _recordings(layout, source, board, list(audio or []), list(imu or []), out_dir, say)
    build = build_pipeline(layout, board, out_dir, standalone=True, progress=progress)
    platform_file = out_dir / "platform.repl"
    platform_file.write_text(spec.platform_repl())
    for name in (RESOURCE_NAME, PIPELINE_RESOURCE):
        shutil.copyfile(resources.renode_dir() / name, out_dir / name)
    timeout = timeout_s or estimate_timeout(layout)
    banner = banner_line(layout)
    text = render("pipeline.robot.j2", version=__version__, pipeline=layout.spec.name,
                  board=board.name, kind=source.kind, peripheral=source.renode,
                  uart=spec.uart, timeout=timeout, quantum=spec.quantum_s, cpu=spec.cpu,
                  mips=spec.performance_mips, event=layout.spec.event_word, banner=banner,
                  recordings=tests)
    suite = out_dir / SUITE_NAME
    suite.write_text(text)
    return PipelineSuite(out_dir, suite, build.build.elf, platform_file, build, banner, tests,
                         timeout)
