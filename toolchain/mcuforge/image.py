"""Firmware images other than objcopy's raw binary, made from the ELF after linking.

A board asks for one with an ``[image]`` table (``format = "esp"``): the ESP32-C3's ROM loader
reads Espressif's image format (header, segments with load addresses, checksum, SHA-256), which
``esptool elf2image`` writes. A raw ``objcopy -O binary`` would be useless there, and huge: the
ELF's code and data sit 7 MiB apart (instruction-bus and data-bus views of the same SRAM).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.errors import BuildError, ToolchainMissing

ESPTOOL_INSTALL = "pip install 'esptool>=5' (a dependency of mcuforge: reinstall it)"


def esptool_command(*args: str) -> list[str]:
    """``esptool`` run by this Python, so the version mcuforge depends on is the one used."""
    if importlib.util.find_spec("esptool") is None:
        raise ToolchainMissing(f"esptool is not installed: {ESPTOOL_INSTALL}")
    return [sys.executable, "-m", "esptool", *args]


def _run(cmd: list[str], what: str) -> str:
    # esptool 5 draws boxes and colours for a terminal; plain text reads better in logs.
    env = {**os.environ, "NO_COLOR": "1", "TERM": "dumb", "COLUMNS": "100"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise BuildError(f"{what} failed ({' '.join(cmd[2:])}):\n{output[-2000:]}")
    return output


def make_image(board: Board, elf: Path, out: Path) -> str:
    """Write ``board``'s image of ``elf`` to ``out``; returns the tool's report."""
    fmt = board.image.get("format")
    if fmt != "esp":
        raise BuildError(f"{board.name}: no image writer for format '{fmt}'")
    cmd = esptool_command(
        "--chip",
        board.image["chip"],
        "elf2image",
        "--flash-mode",
        board.image["flash_mode"],
        "--flash-freq",
        board.image["flash_freq"],
        "--flash-size",
        board.image["flash_size"],
        "--output",
        str(out),
        str(elf),
    )
    return _run(cmd, "esptool elf2image")


def image_info(board: Board, image: Path) -> str:
    """esptool's description of an image: it parses every header, segment and checksum."""
    return _run(
        esptool_command("--chip", board.image["chip"], "image-info", str(image)),
        "esptool image-info",
    )
