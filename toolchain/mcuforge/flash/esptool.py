"""Flash the ESP32-C3 with esptool: write the image, verify it, hard-reset into it.

The serial port comes from ``ports.find_port`` (the board's USB VID:PID) unless given. esptool
resets the chip into its ROM download mode over DTR/RTS, writes ``firmware.bin`` (the
``elf2image`` output of ``mcuforge build``) at the board file's offset, then ``verify-flash``
reads it back; the final hard reset starts the firmware.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.errors import TargetError
from mcuforge.image import esptool_command

Progress = Callable[[str], None]


def esptool_commands(board: Board, build_dir: Path, port: str) -> list[list[str]]:
    """write-flash, then verify-flash (which ends with the hard reset that starts it)."""
    opts = board.flash_options["esptool"]
    offset = f"0x{int(opts.get('offset', 0)):x}"
    image = str(build_dir / "firmware.bin")
    common = ["--chip", str(opts["chip"]), "--port", port, "--baud", str(opts.get("baud", 460800))]
    return [
        esptool_command(*common, "--after", "no-reset", "write-flash", offset, image),
        esptool_command(*common, "--after", "hard-reset", "verify-flash", offset, image),
    ]


def check_output(board: Board, port: str, output: str, returncode: int) -> None:
    if returncode == 0:
        return
    if re.search(r"Failed to connect|No serial data received|Wrong boot mode", output):
        raise TargetError(
            f"esptool could not talk to the {board.name} ROM on {port}: hold BOOT (GPIO9), "
            f"press RESET, release BOOT, and retry\n{output.strip()[-600:]}"
        )
    if re.search(r"could not open port|Permission denied|No such file", output):
        raise TargetError(
            f"cannot open {port}: is the board plugged in, and may this user use it "
            f"(group dialout)?\n{output.strip()[-400:]}"
        )
    if re.search(r"[Vv]erify|digest mismatch|MISMATCH", output):
        raise TargetError(f"verification failed after writing:\n{output.strip()[-800:]}")
    raise TargetError(f"esptool failed (exit {returncode}):\n{output.strip()[-1200:]}")


def esptool_flash(
    board: Board,
    build_dir: Path,
    port: str,
    *,
    progress: Progress | None = None,
    timeout: float = 300.0,
) -> None:
    say = progress or (lambda _msg: None)
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb"}
    steps = zip(esptool_commands(board, build_dir, port), ("writing", "verifying"), strict=True)
    for cmd, what in steps:
        say(f"{what} firmware.bin on {port} with esptool")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise TargetError(f"esptool did not finish within {timeout:.0f} s") from None
        check_output(board, port, proc.stdout + proc.stderr, proc.returncode)
    say("written, verified and reset")
