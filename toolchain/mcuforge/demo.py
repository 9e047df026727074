"""``make demo``: build a model for an emulated Cortex-M4, boot it in QEMU, check it against
TFLM and report its size and speed. (The wake-word demo replaces this once models/ has it.)"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from mcuforge.boards import get_board
from mcuforge.errors import McuforgeError
from mcuforge.verify import run_test

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    model = ROOT / "tests" / "zoo" / "hello_world_int8.tflite"
    board = get_board("mps2-an386")
    start = time.monotonic()
    try:
        report = run_test(model, board, vectors=20, progress=lambda m: print(f"[demo] {m}"))
    except McuforgeError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 2
    print(f"\n{report.model} on {board.name} (QEMU): {report.vectors} vectors, "
          f"{report.mismatches} mismatches against TFLM")
    print(f"flash {report.flash_bytes} B, RAM {report.ram_bytes} B, arena {report.arena_bytes} B, "
          f"{report.instructions_per_inference} instructions per inference")
    print(f"demo took {time.monotonic() - start:.1f} s")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
