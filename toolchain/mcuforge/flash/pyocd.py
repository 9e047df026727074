"""Flash Cortex-M boards with pyOCD (CMSIS-DAP, ST-LINK, J-Link probes), verified read-back.

The command is built from the board file's ``[flash.pyocd]`` table: pyOCD's commander loads the
HEX image, compares flash against the raw binary (pyOCD's ``load`` alone does not verify), and
resets the core so the firmware starts. The probe list comes from pyOCD's Python API, which is
the one call a test replaces (no hardware here).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.errors import TargetError, ToolchainMissing

PYOCD_INSTALL = "pip install pyocd (a dependency of mcuforge: reinstall it)"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Probe:
    unique_id: str
    description: str


def available() -> bool:
    return importlib.util.find_spec("pyocd") is not None


def list_probes() -> list[Probe]:
    """Debug probes pyOCD sees on USB (the hardware boundary)."""
    if not available():
        raise ToolchainMissing(f"pyOCD is not installed: {PYOCD_INSTALL}")
    from pyocd.core.helpers import ConnectHelper

    return [
        Probe(p.unique_id, p.description)
        for p in ConnectHelper.get_all_connected_probes(blocking=False, print_wait_message=False)
    ]


def choose_probe(board: Board, probes: list[Probe], wanted: str | None) -> Probe:
    if wanted is not None:
        matching = [p for p in probes if wanted in p.unique_id]
        if len(matching) == 1:
            return matching[0]
        raise TargetError(
            f"no single debug probe matches '{wanted}' (connected: "
            f"{', '.join(f'{p.unique_id} {p.description}' for p in probes) or 'none'})"
        )
    if not probes:
        hint = f": {board.probe_hint}" if board.probe_hint else ""
        raise TargetError(f"no debug probe found for {board.name}{hint} (pyOCD sees none)")
    if len(probes) > 1:
        names = ", ".join(f"{p.unique_id} ({p.description})" for p in probes)
        raise TargetError(f"several debug probes connected: {names}; choose one with --probe ID")
    return probes[0]


def pyocd_command(board: Board, build_dir: Path, probe: Probe) -> list[str]:
    """pyOCD commander: load the HEX, compare flash with the BIN, reset and run."""
    opts = board.flash_options["pyocd"]
    cmd = [
        sys.executable,
        "-m",
        "pyocd",
        "commander",
        "--no-wait",
        "--target",
        str(opts["target"]),
        "--uid",
        probe.unique_id,
    ]
    if "frequency" in opts:
        cmd += ["--frequency", str(opts["frequency"])]
    hex_file, bin_file = build_dir / "firmware.hex", build_dir / "firmware.bin"
    cmd += [
        "-c",
        f"load {hex_file}",
        "-c",
        f"compare 0x{board.flash.origin:08x} {bin_file}",
        "-c",
        "reset",
    ]
    return cmd


def check_output(board: Board, output: str, returncode: int) -> None:
    """Turn pyOCD's output into a clear error when something went wrong."""
    target = board.flash_options["pyocd"]["target"]
    if re.search(r"Target type .* not recognized|not recognized", output):
        pack = board.flash_options["pyocd"].get("pack", "")
        raise TargetError(
            f"pyOCD does not know target '{target}': install its device pack once with "
            f"`pyocd pack install {target}` (needs internet{'; pack ' + pack if pack else ''})"
        )
    if "Mismatched byte" in output:
        raise TargetError(f"verification failed: flash differs from firmware.bin\n{output[-800:]}")
    if returncode != 0 or re.search(r"^\s*(Error|CRITICAL)", output, re.MULTILINE):
        raise TargetError(f"pyOCD failed (exit {returncode}):\n{output.strip()[-1200:]}")


def pyocd_flash(
    board: Board,
    build_dir: Path,
    *,
    probe_id: str | None = None,
    progress: Progress | None = None,
    timeout: float = 300.0,
) -> Probe:
    say = progress or (lambda _msg: None)
    probe = choose_probe(board, list_probes(), probe_id)
    say(f"flashing {board.name} through pyOCD probe {probe.unique_id} ({probe.description})")
    cmd = pyocd_command(board, build_dir, probe)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TargetError(f"pyOCD did not finish within {timeout:.0f} s") from None
    check_output(board, proc.stdout + proc.stderr, proc.returncode)
    say("written, verified against firmware.bin, and reset")
    return probe
