"""``make bench``'s streaming sections: stateful models per step and the okay_nabu pipeline per hop.

The stateful models (ESPHome's two micro_wake_word models and TFLM's audio front end) are
measured as ``mcuforge bench`` measures them: consecutive steps of one stream from the initial
state, the median of the steady-state steps. The pipeline is measured as ``mcuforge listen``
measures it: the device counts each stage of every 10 ms hop while seeded noise streams in.
The TFLM figures (TFLM 90b983c built with its own Makefile and CMSIS-NN on the same emulated
board; its runtime does not build here) are constants from the issues that set the goals.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mcuforge.bench import BenchReport, run_bench
from mcuforge.boards import get_board
from mcuforge.pipeline import open_pipeline
from mcuforge.pipeline.audio import Audio
from mcuforge.pipeline.listen import ListenReport, listen

ROOT = Path(__file__).resolve().parents[2]
ZOO = ROOT / "tests" / "zoo"
PIPELINE = ROOT / "models" / "pipelines" / "okay_nabu.toml"
M4 = "mps2-an386"
STREAM_BOARDS = ["mps2-an385", M4, "mps3-an547"]

#: model: (TFLM + CMSIS-NN instructions per step, TFLM arena_used_bytes, goal instructions,
#: goal arena + state) on mps2-an386; a step of okay_nabu is 3 feature frames, of the front end
#: one 30 ms frame.
STREAM_GOALS = {
    "mww_okay_nabu": (193_515, 19_268, 96_000, 9_600),
    "mww_vad": (93_874, 10_052, 47_000, 5_000),
    "audio_preprocessor_int8": (106_630, 8_448, 53_000, 4_200),
}
#: The okay_nabu pipeline's goal: front end + model + detection per 10 ms hop on the Cortex-M4,
#: and RAM below the arena ESPHome declares for the model alone.
HOP_GOAL, ESPHOME_ARENA = 60_000, 26_080
AUDIO_SECONDS = 3.0


@dataclass
class StreamResults:
    models: dict[tuple[str, str], BenchReport]
    pipelines: dict[str, ListenReport]


def _noise(seconds: float, rate: int = 16_000) -> Audio:
    """Seeded speech-level noise: the counts hardly depend on the samples, the run must not."""
    rng = np.random.default_rng(0)
    samples = np.clip(rng.normal(0, 2000, int(seconds * rate)), -32768, 32767)
    return Audio(samples.astype(np.int16)[:, None], rate)


def measure_streams(tmp: Path, boards: list[str] | None = None,
                    say=lambda _m: None) -> StreamResults:  # type: ignore[no-untyped-def]
    models: dict[tuple[str, str], BenchReport] = {}
    for model in STREAM_GOALS:
        for board in boards or STREAM_BOARDS:
            say(f"[bench] {model} on {board} (stream)")
            models[(model, board)] = run_bench(ZOO / f"{model}.tflite", get_board(board),
                                               invokes=5, build_dir=tmp / f"{model}-{board}")
    pipelines: dict[str, ListenReport] = {}
    if M4 in (boards or STREAM_BOARDS):
        tmp.mkdir(parents=True, exist_ok=True)
        # okay_nabu alone as its ESPHome manifest is given (`listen mww_okay_nabu.json`), and
        # the example pipeline file that gates it with the VAD.
        for name, path in (("okay_nabu", ZOO / "mww_okay_nabu.json"),
                           ("okay_nabu + vad", PIPELINE)):
            say(f"[bench] pipeline {name} on {M4}")
            pipelines[name] = listen(open_pipeline(path), get_board(M4), _noise(AUDIO_SECONDS),
                                     build_dir=tmp / f"pipeline-{len(pipelines)}")
    return StreamResults(models, pipelines)


def _yes(ok: bool) -> str:
    return "yes" if ok else "NO"


def render_streams(results: StreamResults) -> list[str]:
    lines = ["", "## Streaming models on mps2-an386 (Cortex-M4) against TFLM", "",
             "Instructions per step in the steady state (one stream from the initial state, "
             "the median of the steps after the first; `mcuforge bench` reports the first "
             "apart), arena and state (the variables, kept between steps outside the "
             "arena).", "",
             "| model | TFLM + CMSIS-NN | goal | mcuforge | vs TFLM | met | TFLM arena | goal "
             "arena + state | arena | state | met |",
             "|---|---:|---:|---:|---:|:-:|---:|---:|---:|---:|:-:|"]
    for model, (tflm, tflm_arena, goal, goal_ram) in STREAM_GOALS.items():
        r = results.models.get((model, M4))
        if r is None:
            continue
        n, ram = r.instructions_per_inference, r.arena_bytes + r.state_bytes
        lines.append(f"| {model} | {tflm:,} | <= {goal:,} | {n:,} | {n / tflm:.2f}x | "
                     f"{_yes(n <= goal)} | {tflm_arena:,} | <= {goal_ram:,} | "
                     f"{r.arena_bytes:,} | {r.state_bytes:,} | {_yes(ram <= goal_ram)} |")
    boards = sorted({b for _, b in results.models}, key=STREAM_BOARDS.index)
    lines += ["", "Per board (instructions per step):", "",
              "| model | " + " | ".join(boards) + " |",
              "|---|" + "---:|" * len(boards)]
    for model in STREAM_GOALS:
        cells = [f"{results.models[(model, b)].instructions_per_inference:,}"
                 if (model, b) in results.models else "-" for b in boards]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    if results.pipelines:
        lines += _pipeline_table(results.pipelines)
    return lines


def _pipeline_table(pipelines: dict[str, ListenReport]) -> list[str]:
    lines = ["", "## The okay_nabu pipeline per 10 ms hop on mps2-an386 (Cortex-M4)", "",
             f"`mcuforge listen tests/zoo/mww_okay_nabu.json --board {M4}` (okay_nabu: its "
             "ESPHome manifest alone) and `models/pipelines/okay_nabu.toml` (okay_nabu + vad) "
             f"over {AUDIO_SECONDS:g} s of seeded noise: the device counts every stage of "
             "every hop (the front end each hop, okay_nabu every third, the VAD every third "
             "when present). Per hop = mean over all hops. TFLM needs about 171,000 instructions "
             f"per hop for the front end and okay_nabu. Goal: front end + okay_nabu + detection "
             f"<= {HOP_GOAL:,} per hop, RAM below ESPHome's declared {ESPHOME_ARENA:,}-byte "
             "arena for the model alone.", "",
             "| pipeline | front end | models | detection | per hop | max hop | CPU at "
             "25 MHz | pipeline RAM | met |",
             "|---|---:|---:|---:|---:|---:|---:|---:|:-:|"]
    for name, r in pipelines.items():
        fe = r.frontend.per_hop if r.frontend else 0.0
        models = "; ".join(f"{s.name} {s.median:,}/run ({s.per_hop:,.0f}/hop)" for s in r.stages)
        per_hop = fe + sum(s.per_hop for s in r.stages) + r.detect_median
        ram = int(r.ram.get("pipeline_total", 0))
        met = _yes(per_hop <= HOP_GOAL and ram < ESPHOME_ARENA) if name == "okay_nabu" else "-"
        lines.append(f"| {name} | {fe:,.0f} | {models} | {r.detect_median:,} | "
                     f"{per_hop:,.0f} | {r.hop_max:,} | {100 * r.cpu_share:.1f} % | "
                     f"{ram:,} | {met} |")
    return lines
