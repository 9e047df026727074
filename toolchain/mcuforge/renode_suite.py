"""``mcuforge renode-suite``: a Robot Framework suite that Renode's ``renode-test`` runs.

Renode's Robot keywords (``Create Terminal Tester``, ``Wait For Line On Uart``, ...) read text
lines from a UART, and mcuforge's protocol is binary, so the suite runs the *self-test* firmware
(:mod:`mcuforge.selftest`): after boot it runs N vectors compiled into it, inputs from the fill
pattern, expected output CRCs from the TFLM reference, and prints ``PASS vector i of N`` or
``FAIL vector i of N ...`` per vector and ``MCUFORGE DONE pass=N fail=0`` at the end. One test
per vector waits for its line (and fails at once on its FAIL line), and one test for the summary.

The suite is renode/selftest.robot.j2 filled in; its keywords come from renode/mcuforge.resource
(copied beside it), which uses only Renode's documented keywords and monitor commands
(``renode-test`` supplies setup and teardown). The directory holds the suite, the resource, the
ELF and ``platform.repl`` (renode/platform.repl.j2 filled from the board file).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mcuforge import __version__, resources
from mcuforge.errors import McuforgeError
from mcuforge.target.renode import RenodeSpec, render

if TYPE_CHECKING:  # the build machinery loads only when a suite is written (fast CLI start)
    from mcuforge.boards import Board
    from mcuforge.selftest import SelfTestBuild

Progress = Callable[[str], None]

SUITE_NAME = "mcuforge_selftest.robot"
#: The keyword resource (renode/mcuforge.resource), copied beside every suite.
RESOURCE_NAME = "mcuforge.resource"
#: Renode's default pace is 100 MIPS; terminal-tester timeouts are in emulated seconds.
RENODE_DEFAULT_MIPS = 100
#: Generous instructions per MAC for the timeout estimate (reference kernels, int8).
INSTRUCTIONS_PER_MAC = 40


@dataclass
class RobotSuite:
    directory: Path
    suite: Path
    elf: Path
    platform_file: Path
    tests: list[str]
    selftest: SelfTestBuild
    timeout_s: int

    @property
    def command(self) -> str:
        """How to run it."""
        return (
            f"renode-test {self.suite} --variable ELF:@{self.elf} "
            f"-r {self.directory / 'results'}"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "directory": str(self.directory),
            "suite": str(self.suite),
            "elf": str(self.elf),
            "platform_file": str(self.platform_file),
            "tests": self.tests,
            "vectors": self.selftest.vectors,
            "timeout_s": self.timeout_s,
            "command": self.command,
        }


def estimate_timeout(macs: int, vectors: int) -> int:
    """Emulated seconds to allow for boot plus every vector, with a wide margin."""
    instructions = vectors * (macs * INSTRUCTIONS_PER_MAC + 50_000) + 1_000_000
    return max(10, int(4 * instructions / (RENODE_DEFAULT_MIPS * 1_000_000)) + 1)


def robot_text(
    spec: RenodeSpec, st: SelfTestBuild, model_name: str, timeout_s: int
) -> tuple[str, list[str]]:
    """The suite's text (renode/selftest.robot.j2 filled) and its test names."""
    vectors = [
        {"name": f"Vector {v} Matches TFLM", "failing": st.fail_line(v), "passing": st.pass_line(v)}
        for v in range(st.vectors)
    ]
    summary = {
        "name": f"All {st.vectors} Vectors Match TFLM",
        "failing": "FAIL vector",
        "passing": st.done_line,
    }
    text = render(
        "selftest.robot.j2",
        version=__version__,
        model=model_name,
        board=spec.name,
        vectors=vectors,
        summary=summary,
        uart=spec.uart,
        timeout=timeout_s,
        quantum=spec.quantum_s,
    )
    return text, [v["name"] for v in vectors] + [summary["name"]]


def write_robot_suite(
    model: Path,
    board: Board,
    out_dir: Path,
    *,
    vectors: int = 10,
    seed: int = 0,
    timeout_s: int | None = None,
    progress: Progress | None = None,
) -> RobotSuite:
    """Build the self-test firmware and write a ``renode-test`` suite for it into ``out_dir``."""
    from mcuforge.selftest import build_selftest

    spec = RenodeSpec.of(board)  # refuse boards without Renode before building anything
    out_dir = out_dir.resolve()
    if any(c.isspace() for c in str(out_dir)):
        raise McuforgeError(
            f"Renode's monitor cannot load files from a path with whitespace: {out_dir}"
        )
    st = build_selftest(model, board, out_dir, vectors=vectors, seed=seed, progress=progress)
    timeout = timeout_s or estimate_timeout(int(st.build.manifest.get("macs", 0)), vectors)
    platform_file = out_dir / "platform.repl"
    platform_file.write_text(spec.platform_repl())
    shutil.copyfile(resources.renode_dir() / RESOURCE_NAME, out_dir / RESOURCE_NAME)
    text, tests = robot_text(spec, st, st.build.manifest["model"], timeout)
    suite = out_dir / SUITE_NAME
    suite.write_text(text)
    return RobotSuite(out_dir, suite, st.build.elf, platform_file, tests, st, timeout)


def emit_robot_suite(
    model: Path,
    board: str,
    emulator: str,
    out_dir: Path,
    vectors: int,
    seed: int,
    as_json: bool,
    quiet: bool,
    timeout_s: int | None = None,
) -> RobotSuite:
    """The CLI side shared by ``renode-suite`` and ``test --robot``: write, then report."""
    import json

    from mcuforge.boards import get_board

    if emulator != "renode":
        raise McuforgeError(
            f"--robot writes a suite for Renode's renode-test; add --emulator renode "
            f"(got --emulator {emulator})"
        )
    say = None if quiet or as_json else (lambda msg: click.echo(f"[mcuforge] {msg}", err=True))
    result = write_robot_suite(
        model, get_board(board), out_dir, vectors=vectors, seed=seed, timeout_s=timeout_s,
        progress=say,
    )
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(f"wrote {result.suite} ({len(result.tests)} tests) and {result.elf}")
        click.echo(f"run it where Renode is installed: {result.command}")
    return result


@click.command("renode-suite")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--board", "-b", required=True, metavar="BOARD", help="A board with Renode.")
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for the suite, the ELF and its build.",
)
@click.option("--vectors", "-n", default=10, show_default=True, help="Vectors (one test each).")
@click.option("--seed", default=0, show_default=True, help="Seed of the vectors.")
@click.option("--audio", multiple=True, type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path),
              help="PIPELINE only: a WAV recording for the board's microphone (repeatable).")
@click.option("--imu", multiple=True, type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="PIPELINE only: a CSV recording for the board's accelerometer (repeatable).")
@click.option("--timeout", type=int, help="Emulated seconds per wait (default: estimated).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def renode_suite_cmd(
    model: Path,
    board: str,
    out_dir: Path,
    vectors: int,
    seed: int,
    audio: tuple[Path, ...],
    imu: tuple[Path, ...],
    timeout: int | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Write a Robot Framework suite (firmware + .robot) for Renode's renode-test.

    For a model: the self-test firmware runs the vectors itself and prints PASS/FAIL lines; the
    suite has one test per vector. For a PIPELINE (.toml or ESPHome .json) with --audio or
    --imu recordings: a standalone pipeline image listens to the board's emulated microphone or
    accelerometer, and each recording's test expects exactly the detections the TFLM reference
    pipeline finds. Renode is not needed to write a suite, only to run it.

    \b
    Examples:
      mcuforge renode-suite models/gesture/gesture_int8.tflite --board stm32f4-discovery \
          -o robot/
      mcuforge renode-suite models/pipelines/okay_nabu.toml -b arduino-nano-33-ble-sense \
          --audio clip.wav -o robot/
      renode-test robot/mcuforge_selftest.robot
    """
    if model.suffix.lower() in (".toml", ".json"):
        _emit_pipeline_suite(model, board, out_dir, list(audio), list(imu), timeout, as_json,
                             quiet)
        return
    if audio or imu:
        raise McuforgeError("--audio and --imu give recordings to a pipeline's suite; "
                            f"{model.name} is a model (give a pipeline .toml or .json)")
    emit_robot_suite(model, board, "renode", out_dir, vectors, seed, as_json, quiet, timeout)


def _emit_pipeline_suite(pipeline: Path, board: str, out_dir: Path, audio: list[Path],
                         imu: list[Path], timeout: int | None, as_json: bool,
                         quiet: bool) -> None:
    import json

    from mcuforge.boards import get_board
    from mcuforge.pipeline import open_pipeline
    from mcuforge.pipeline.suite import write_pipeline_suite

    say = None if quiet or as_json else (lambda msg: click.echo(f"[mcuforge] {msg}", err=True))
    result = write_pipeline_suite(open_pipeline(pipeline), get_board(board), out_dir,
                                  audio=audio, imu=imu, timeout_s=timeout, progress=say)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"wrote {result.suite} ({len(result.tests)} tests) and {result.elf}")
    for r in result.recordings:
        click.echo(f"  {r.source.name}: {r.documentation.split(': ', 1)[1]}")
    click.echo(f"run it where Renode is installed: {result.command}")
