"""``make demo``: the wake-word model on an emulated Cortex-M4, end to end.

Builds ``models/wake_word/wake_word_int8.tflite`` for ``mps2-an386``, boots it in QEMU, streams
the held-out clips' features over the serial line, and prints each clip's detection against its
label, the accuracy, the device's flash and RAM and its instructions per inference. Every output
is also checked bit for bit against the TFLM reference interpreter.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

from mcuforge.boards import get_board
from mcuforge.build import build_firmware
from mcuforge.errors import McuforgeError
from mcuforge.reference import Reference
from mcuforge.target import open_target
from mcuforge.vectors import Vector

ROOT = Path(__file__).resolve().parents[2]
MODEL_DIR = ROOT / "models" / "wake_word"


def run_demo(board_name: str = "mps2-an386", limit: int | None = None) -> int:
    """Run the demo; returns the process exit status."""
    start = time.monotonic()
    model = MODEL_DIR / "wake_word_int8.tflite"
    heldout = np.load(MODEL_DIR / "heldout.npz")
    labels = [line.strip() for line in (MODEL_DIR / "labels.txt").read_text().splitlines()]
    clips, truth, voices = heldout["x"], heldout["y"], heldout["voice"]
    if limit is not None:
        clips, truth, voices = clips[:limit], truth[:limit], voices[:limit]
    board = get_board(board_name)
    click.echo(f"[demo] wake word ({', '.join(labels)}) on {board.name}: {board.description}")
    with tempfile.TemporaryDirectory(prefix="mcuforge-demo-") as tmp:
        build = build_firmware(model, board, Path(tmp),
                               progress=lambda m: click.echo(f"[demo] {m}"))
        click.echo(build.size.bars())
        reference = Reference(model)
        outputs = build.manifest["outputs"]
        correct = exact = 0
        counts: list[int] = []
        click.echo(f"[demo] booting QEMU and streaming {len(clips)} held-out clips "
                   "(voices never seen in training)")
        click.echo(f"\n  {'clip':>4}  {'voice':<28} {'label':<8} {'detected':<8} score")
        with open_target(board, build.elf) as device:
            for i, clip in enumerate(clips):
                got, instructions = device.run(Vector([clip], [None]), outputs)
                counts.append(instructions)
                scores = got[0].reshape(-1)
                want = reference.run([clip])[0].reshape(-1)
                exact += int(np.array_equal(scores, want))
                detected = int(np.argmax(scores))
                correct += int(detected == int(truth[i]))
                mark = "" if detected == int(truth[i]) else "  <- miss"
                click.echo(f"  {i:>4}  {str(voices[i])[:28]:<28} {labels[int(truth[i])]:<8} "
                           f"{labels[detected]:<8} {int(scores[detected]):>5}{mark}")
    n = len(clips)
    click.echo(f"\naccuracy on the device: {correct}/{n} = {100 * correct / n:.1f} %")
    click.echo(f"bit-exact with the TFLM reference: {exact}/{n} clips")
    click.echo(f"flash {build.size.flash_bytes} B (weights {build.size.weights_bytes} B), "
               f"RAM {build.size.ram_bytes} B (arena {build.size.arena_bytes} B), "
               f"{int(statistics.median(counts))} instructions per inference (QEMU icount)")
    click.echo(f"demo took {time.monotonic() - start:.1f} s")
    return 0 if exact == n else 1


@click.command()
@click.option("--board", default="mps2-an386", show_default=True, help="Emulated board.")
@click.option("--clips", "limit", type=int, default=None, help="Stream only the first N clips.")
def main(board: str, limit: int | None) -> None:
    """Run the wake-word demo in QEMU."""
    try:
        sys.exit(run_demo(board, limit))
    except McuforgeError as exc:
        click.echo(f"demo failed: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
