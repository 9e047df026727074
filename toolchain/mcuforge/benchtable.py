"""``make bench``: regenerate docs/benchmarks.md from measurements.

For each published model (and the wake-word example) and emulated board: instructions per
inference (QEMU icount, exact) with the kernels the board's CPU gets and with the reference
kernels, instructions per MAC, the arena (ours, the lower bound, TFLM's own figures) and flash
split into code and model data. On the Cortex-M4 also: instructions per layer grouped by kernel
(against the core's limit of 0.5 instructions per MAC), and code and instructions with every
kernel specialized (``--opt speed``), shared (``--opt size``) and the default (``balanced``).
Every measured number in the file comes from one run of this module; the TFLM figures it
compares with (measured elsewhere, TFLM's C++ runtime does not build here) are the constants
below.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import click

from mcuforge.benchstream import STREAM_GOALS, StreamResults, measure_streams, render_streams
from mcuforge.boards import get_board
from mcuforge.build import BuildResult, build_firmware
from mcuforge.compiler.specialize import DEFAULT_OPTIMIZE
from mcuforge.reference import tflm_arena_usage
from mcuforge.summary import inspect_model
from mcuforge.target import open_target
from mcuforge.vectors import random_vectors

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "tests" / "zoo"
WAKE_WORD = "wake_word_int8"
MODELS = ["mlperf_kws_ref_model", "person_detect", "mlperf_ic_resnet_int8", "mlperf_ad01_int8",
          "micro_speech_quantized", "hello_world_int8", WAKE_WORD]
BOARDS = ["mps2-an386", "mps2-an500", "mps3-an547"]
M4 = "mps2-an386"


def model_path(model: str) -> Path:
    """The zoo's copy of a published model, or the wake-word example (models/wake_word/)."""
    if model == WAKE_WORD:
        return ROOT / "models" / "wake_word" / f"{model}.tflite"
    return ZOO / f"{model}.tflite"


#: Issue 6's goals on mps2-an386 (Cortex-M4): instructions and arena bytes, measured elsewhere
#: for TFLM (reference kernels, CMSIS-NN) on the same emulated board.
GOALS = {
    "mlperf_kws_ref_model": (43_042_475, 7_699_896, 6_160_000, 22_772, 15_940),
    "person_detect": (95_660_740, 22_928_453, 18_340_000, 82_292, 57_600),
    "mlperf_ic_resnet_int8": (107_404_891, 29_863_356, 23_890_000, 54_340, 38_000),
    "mlperf_ad01_int8": (1_952_296, 582_948, 466_000, 2_260, 1_580),
    "micro_speech_quantized": (9_310_575, 1_495_386, 1_196_000, 6_788, 4_750),
}

#: Issue 13's goals on mps2-an386: instructions <= 0.6x TFLM + CMSIS-NN (above), code (flash
#: minus weights and layer data) <= 0.25x that of TFLM built with its reference kernels. The
#: TFLM code sizes, measured for issue 13, are the ones its table implies (our code then
#: divided by the ratio it gave, so +-2 %).
SECOND_LAP_SPEED, SECOND_LAP_CODE = 0.6, 0.25
TFLM_REF_CODE = {
    "mlperf_kws_ref_model": 42_668,
    "person_detect": 37_634,
    "mlperf_ic_resnet_int8": 47_385,
    "mlperf_ad01_int8": 21_273,
    "micro_speech_quantized": 33_689,
}
#: The wake-word example has no TFLM measurement (TFLM's runtime and CMSIS-NN do not build here):
#: it is a streaming model, so its TFLM + CMSIS-NN instructions per step are estimated at the
#: per-MAC rate TFLM + CMSIS-NN reached on the other streaming model of that shape, ESPHome's
#: okay_nabu (whose per-step overhead of state reads and writes it shares).
WAKE_WORD_PEER = "mww_okay_nabu"


def wake_word_cmsis_estimate(macs: int) -> int:
    """TFLM + CMSIS-NN instructions per step for a streaming model of ``macs`` MACs per step."""
    peer = inspect_model(model_path(WAKE_WORD_PEER)).macs or 1
    return round(STREAM_GOALS[WAKE_WORD_PEER][0] / peer * macs)
#: The Cortex-M4's floor for an int8 MAC: SMLAD does two.
M4_LIMIT = 0.5


@dataclass
class Row:
    model: str
    board: str
    macs: int
    instructions: int
    reference_instructions: int
    arena: int
    lower_bound: int
    flash: int
    code: int
    model_data: int


def _instructions(build_dir: Path, model: Path, board_name: str,
                  kernels: tuple[str, ...] | None, optimize: str = DEFAULT_OPTIMIZE,
                  ) -> tuple[int, BuildResult]:
    board = get_board(board_name)
    build = build_firmware(model, board, build_dir, kernels=kernels, optimize=optimize)
    vector = random_vectors(build.manifest["inputs"], 1, seed=0)[0]
    with open_target(board, build.elf) as device:
        counts = [device.run(vector, build.manifest["outputs"])[1] for _ in range(3)]
    return sorted(counts)[1], build


@dataclass
class M4Extra:
    """The Cortex-M4's extra measurements of one model."""

    model: str
    #: --opt speed and size: (instructions, code bytes)
    opts: dict[str, tuple[int, int]]
    #: per layer: (op, kernel, MACs, instructions)
    layers: list[tuple[str, str, int, int]]


def measure_m4(model: str, tmp: Path) -> M4Extra:
    """Instructions and code with every kernel specialized and with every kernel shared, and
    instructions per layer (a profiling build of the default)."""
    path = model_path(model)
    opts = {}
    for optimize in ("speed", "size"):
        n, build = _instructions(tmp / optimize, path, M4, None, optimize)
        opts[optimize] = (n, build.size.code_bytes)
    board = get_board(M4)
    build = build_firmware(path, board, tmp / "profile", profile=True)
    vector = random_vectors(build.manifest["inputs"], 1, seed=0)[0]
    with open_target(board, build.elf) as device:
        device.run(vector, build.manifest["outputs"])
        per_step = device.profile(len(build.manifest["steps"]))
    layers = [(s["op"], s["kernel"], s["macs"], n)
              for s, n in zip(build.manifest["steps"], per_step, strict=True)]
    return M4Extra(model, opts, layers)


def measure(model: str, board: str, tmp: Path) -> Row:
    path = model_path(model)
    fast, build = _instructions(tmp / "fast", path, board, None)
    ref, _ = _instructions(tmp / "ref", path, board, ("ref",))
    size = build.size
    return Row(model, board, build.manifest["macs"], fast, ref, size.arena_bytes,
               build.manifest["plan"]["lower_bound_bytes"], size.flash_bytes, size.code_bytes,
               size.weights_bytes + size.model_params_bytes)


def _tool_versions() -> str:
    out = []
    for cmd in (["qemu-system-arm", "--version"], ["arm-none-eabi-gcc", "--version"]):
        try:
            out.append(subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0])
        except (OSError, IndexError):
            out.append(f"{cmd[0]}: not found")
    return "; ".join(out)


def render(rows: list[Row], extras: list[M4Extra] | None = None,
           streams: StreamResults | None = None) -> str:
    by = {(r.model, r.board): r for r in rows}
    extra = {e.model: e for e in extras or []}
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m mcuforge.benchtable docs/benchmarks.md`); do not "
        "edit by hand.",
        f"Tools: {_tool_versions()}.",
        "",
        "Instructions are QEMU's exact instruction counts (`-icount`), median of three "
        "inferences of the same seeded input, measured around the model's `<name>_invoke()` "
        "on the device. "
        "They are instructions, not cycles. Every build here is bit-exact with the TFLM "
        "reference interpreter (`make test` checks it).",
        "",
        "## Goals on mps2-an386 (Cortex-M4)",
        "",
        "| model | TFLM ref | TFLM + CMSIS-NN | goal | mcuforge | vs CMSIS-NN | met | "
        "TFLM arena | goal arena | mcuforge arena | met |",
        "|---|---:|---:|---:|---:|---:|:-:|---:|---:|---:|:-:|",
    ]
    for model, (ref, cmsis, goal, tflm_arena, goal_arena) in GOALS.items():
        r = by.get((model, "mps2-an386"))
        if r is None:
            continue
        lines.append(
            f"| {model} | {ref:,} | {cmsis:,} | <= {goal:,} | {r.instructions:,} | "
            f"{r.instructions / cmsis:.2f}x | {'yes' if r.instructions <= goal else 'NO'} | "
            f"{tflm_arena:,} | <= {goal_arena:,} | {r.arena:,} | "
            f"{'yes' if r.arena <= goal_arena else 'NO'} |"
        )
    lines += second_lap(by)
    lines += ["", "## Per model and board", "",
              "| model | board | MACs | instructions | instr/MAC | reference kernels | speedup | "
              "arena | lower bound | flash | code | model data |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.board} | {r.macs:,} | {r.instructions:,} | "
            f"{r.instructions / max(r.macs, 1):.2f} | {r.reference_instructions:,} | "
            f"{r.reference_instructions / r.instructions:.1f}x | {r.arena:,} | "
            f"{r.lower_bound:,} | {r.flash:,} | {r.code:,} | {r.model_data:,} |"
        )
    lines += ["", "## Cortex-M55 (Helium) against Cortex-M4", "",
              "| model | mps2-an386 (M4) | mps3-an547 (M55) | ratio | goal |",
              "|---|---:|---:|---:|---:|"]
    for model in MODELS:
        m4, m55 = by.get((model, "mps2-an386")), by.get((model, "mps3-an547"))
        if m4 and m55:
            lines.append(f"| {model} | {m4.instructions:,} | {m55.instructions:,} | "
                         f"{m55.instructions / m4.instructions:.2f}x | <= 0.35x |")
    lines += kernels_table(list(extra.values()))
    lines += opt_table(by, extra)
    lines += render_streams(streams) if streams else []
    lines += ["", "## Arena against TFLM", "",
              "TFLM's figures come from its Python interpreter (`tflite-micro`, 64-bit host build: "
              "its persistent part holds pointers and is larger than on a 32-bit device); `head` "
              "is the activation memory its greedy planner lays out, `total` adds its persistent "
              "data. mcuforge's arena is the whole RAM for tensors; its per-layer data is in "
              "flash.", "",
              "| model | mcuforge arena | lower bound | TFLM head | TFLM total |",
              "|---|---:|---:|---:|---:|"]
    for model in MODELS:
        r = by.get((model, "mps2-an386"))
        if r:
            usage = tflm_arena_usage(model_path(model))
            lines.append(f"| {model} | {r.arena:,} | {r.lower_bound:,} | "
                         f"{usage.get('head', 0):,} | {usage.get('total', 0):,} |")
    lines += ["", "The lower bound is the largest sum of live tensor bytes at any step; the "
              "arena can go below it because outputs may overlap the inputs they consume "
              "(element-wise in place, row-streaming kernels a few rows behind).", ""]
    return "\n".join(lines)


def second_lap(by: dict[tuple[str, str], Row]) -> list[str]:
    """Issue 13's goals: instructions against TFLM + CMSIS-NN, code against TFLM's reference
    build, both on the Cortex-M4."""
    lines = ["", "## Second lap on mps2-an386 (Cortex-M4): instructions and code", "",
             f"Goals: instructions <= {SECOND_LAP_SPEED}x TFLM + CMSIS-NN, code (flash minus "
             f"weights and layer data) <= {SECOND_LAP_CODE}x TFLM with its reference kernels, "
             "with the default `--opt balanced`. The wake-word example is a streaming model "
             "(its figures are per step) with no TFLM measurement: its TFLM + CMSIS-NN figure "
             f"is an estimate (TFLM + CMSIS-NN's instructions per MAC on {WAKE_WORD_PEER}, the "
             "other streaming model, times its MACs per step), and no TFLM code size is known "
             "for it.", "",
             "| model | TFLM + CMSIS-NN | mcuforge | vs CMSIS-NN | met | TFLM ref code | "
             "mcuforge code | vs TFLM ref | met |",
             "|---|---:|---:|---:|:-:|---:|---:|---:|:-:|"]
    for model in [*GOALS, WAKE_WORD]:
        r = by.get((model, M4))
        if r is None:
            continue
        if model in GOALS:
            cmsis, mark = GOALS[model][1], ""
        else:
            cmsis, mark = wake_word_cmsis_estimate(r.macs), " (estimated)"
        speed = r.instructions / cmsis
        cells = [f"{cmsis:,}{mark}", f"{r.instructions:,}", f"{speed:.2f}x",
                 "yes" if speed <= SECOND_LAP_SPEED else "NO"]
        ref_code = TFLM_REF_CODE.get(model)
        if ref_code:
            size = r.code / ref_code
            cells += [f"{ref_code:,}", f"{r.code:,}", f"{size:.3f}x",
                      "yes" if size <= SECOND_LAP_CODE else "NO"]
        else:
            cells += ["-", f"{r.code:,}", "-", "-"]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return lines


def kernels_table(extras: list[M4Extra]) -> list[str]:
    """Instructions per MAC of every kernel over all models' layers on the Cortex-M4, against
    the core's limit (SMLAD: two MACs per instruction)."""
    if not extras:
        return []
    totals: dict[tuple[str, str], list[int]] = {}
    for e in extras:
        for op, kernel, macs, n in e.layers:
            if macs:
                t = totals.setdefault((op, kernel), [0, 0, 0])
                t[0], t[1], t[2] = t[0] + 1, t[1] + macs, t[2] + n
    lines = ["", "## Kernels on mps2-an386 (Cortex-M4) against the 0.5 instructions/MAC limit",
             "",
             "Every layer with MACs of the models above (default build, per-layer counts from a "
             "profiling build), grouped by kernel. The limit is SMLAD's two MACs per "
             "instruction, with nothing else: no loads, no requantization, no loop (the "
             "kernels' headers in firmware/runtime/kernels/dsp/ count where the rest goes).",
             "",
             "| op | kernel | layers | MACs | instructions | instr/MAC | x the limit |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for (op, kernel), (count, macs, n) in sorted(totals.items(), key=lambda kv: -kv[1][2]):
        lines.append(f"| {op} | {kernel} | {count} | {macs:,} | {n:,} | {n / macs:.2f} | "
                     f"{n / macs / M4_LIMIT:.1f}x |")
    return lines


def opt_table(by: dict[tuple[str, str], Row], extra: dict[str, M4Extra]) -> list[str]:
    """Instructions and code with specialized, balanced and shared kernels (--opt)."""
    if not extra:
        return []
    lines = ["", "## Specialized or shared kernels on mps2-an386 (`--opt`)", "",
             "`speed`: one kernel copy per layer shape, every size a compile-time constant; "
             "`size`: one shared body per kernel, reading the shape at run time (same "
             "arithmetic); `balanced` (the default): specialized where a kernel has at most "
             "three shapes in the model, shared otherwise.", "",
             "| model | speed | code | balanced | code | size | code |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for model in MODELS:
        e, r = extra.get(model), by.get((model, M4))
        if e is None or r is None:
            continue
        (fi, fc), (si, sc) = e.opts["speed"], e.opts["size"]
        lines.append(f"| {model} | {fi:,} | {fc:,} | {r.instructions:,} | {r.code:,} | "
                     f"{si:,} | {sc:,} |")
    return lines


@click.command()
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--model", "models", multiple=True, help="Only these models (default: all).")
@click.option("--board", "boards", multiple=True, help="Only these boards (default: all).")
@click.option("--streams/--no-streams", default=True, show_default=True,
              help="Also the streaming models and the okay_nabu pipeline per hop.")
def main(output: Path, models: tuple[str, ...], boards: tuple[str, ...], streams: bool) -> None:
    """Measure the published models on the emulated boards and write the benchmark table.

    Example: python -m mcuforge.benchtable docs/benchmarks.md --model hello_world_int8
    """
    rows, extras = [], []
    stream_results = None
    with tempfile.TemporaryDirectory(prefix="mcuforge-bench-") as tmp:
        for model in models or MODELS:
            for board in boards or BOARDS:
                click.echo(f"[bench] {model} on {board}", err=True)
                rows.append(measure(model, board, Path(tmp) / f"{model}-{board}"))
            if M4 in (boards or BOARDS):
                click.echo(f"[bench] {model} on {M4}: --opt speed/size, per layer", err=True)
                extras.append(measure_m4(model, Path(tmp) / f"{model}-m4"))
        if streams:
            stream_results = measure_streams(Path(tmp) / "streams", list(boards) or None,
                                             lambda m: click.echo(m, err=True))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(rows, extras, stream_results))
    click.echo(f"wrote {output}", err=True)


if __name__ == "__main__":
    sys.exit(main())
