"""Flash Cortex-M boards with OpenOCD: ``program FILE verify reset exit``.

The interface and target scripts come from the board file's ``[flash.openocd] args``; OpenOCD's
``verify`` reads the flash back and compares it with the ELF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.errors import TargetError, ToolchainMissing

OPENOCD_INSTALL = "apt install openocd"

Progress = Callable[[str], None]

#: OpenOCD's ways of saying that no probe is plugged in.
NO_PROBE = re.compile(
    r"open failed|unable to find|No J-Link device found|unable to open|No device found|"
    r"Can't find a .*device|LIBUSB_ERROR_NOT_FOUND|couldn't open",
    re.IGNORECASE,
)


def available() -> bool:
    return shutil.which("openocd") is not None


def openocd_command(board: Board, build_dir: Path, openocd: str = "openocd") -> list[str]:
    args = list(board.flash_options["openocd"]["args"])
    elf = build_dir / "firmware.elf"
    # OpenOCD's Tcl needs braces around a path that may hold spaces.
    return [openocd, *args, "-c", f"program {{{elf}}} verify reset exit"]


def check_output(board: Board, output: str, returncode: int) -> None:
    if returncode == 0 and "Verified OK" in output:
        return
    if NO_PROBE.search(output):
        hint = f": {board.probe_hint}" if board.probe_hint else ""
        raise TargetError(f"no debug probe found for {board.name}{hint} (OpenOCD found none)")
    if re.search(r"verify failed|checksum mismatch", output, re.IGNORECASE):
        raise TargetError(f"verification failed after programming:\n{output.strip()[-800:]}")
    raise TargetError(f"OpenOCD failed (exit {returncode}):\n{output.strip()[-1200:]}")


def openocd_flash(
    board: Board, build_dir: Path, *, progress: Progress | None = None, timeout: float = 300.0
) -> None:
    say = progress or (lambda _msg: None)
    openocd = shutil.which("openocd")
    if openocd is None:
        raise ToolchainMissing(f"openocd not found: {OPENOCD_INSTALL}")
    cmd = openocd_command(board, build_dir, openocd)
    say(f"flashing {board.name} with OpenOCD ({' '.join(cmd[1:-2])})")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TargetError(f"OpenOCD did not finish within {timeout:.0f} s") from None
    check_output(board, proc.stdout + proc.stderr, proc.returncode)
    say("written, verified (OpenOCD read-back) and reset")
