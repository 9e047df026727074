"""Load firmware through a GDB server with gdb-multiarch: load, verify, reset, detach.

The same commands serve QEMU's gdbstub (``mcuforge flash`` on an emulated board) and any GDB
server a user runs for a real probe (OpenOCD, pyOCD, SEGGER J-Link): only the reset commands
differ, and they come from the board file (``[flash.gdb] reset``).

``compare-sections`` checks every loaded section against the ELF (with the server's CRC when it
has one, else by reading memory back); a mismatch is an error, never a warning.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from mcuforge.errors import TargetError, ToolchainMissing

GDB_BINARIES = ("gdb-multiarch", "arm-none-eabi-gdb")
GDB_INSTALL = "apt install gdb-multiarch (or: make setup)"

Progress = Callable[[str], None]


def find_gdb() -> str:
    for name in GDB_BINARIES:
        path = shutil.which(name)
        if path is not None:
            return path
    raise ToolchainMissing(f"no GDB found ({', '.join(GDB_BINARIES)}): {GDB_INSTALL}")


def gdb_command(gdb: str, elf: Path, address: str, reset: Sequence[str]) -> list[str]:
    """The batch GDB invocation that loads ``elf`` into the target at ``address`` (host:port)."""
    commands = [
        "set confirm off",
        "set pagination off",
        # A board that is running or faulted must not block the connection for long.
        "set remotetimeout 10",
        f"target remote {address}",
        "load",
        "compare-sections",
        # After `load` the core still has the old SP (0 on QEMU): reset so that it starts from
        # the vector table like at power-on.
        *reset,
        "detach",
    ]
    cmd = [gdb, "-q", "-batch", "-nx"]
    for c in commands:
        cmd += ["-ex", c]
    return [*cmd, str(elf)]


def check_output(output: str, address: str) -> list[str]:
    """The loaded and verified section names; raises :class:`TargetError` on any failure."""
    if re.search(
        r"Connection refused|Connection timed out|could not connect|Remote connection "
        r"closed|Couldn't establish connection",
        output,
    ):
        raise TargetError(f"no GDB server answers at {address}:\n{output.strip()[-800:]}")
    bad = re.findall(r"Section (\S+), range .*MIS-MATCHED", output)
    if bad:
        raise TargetError(
            f"verification failed: {', '.join(bad)} differ from the ELF after loading "
            f"(flash not erased or write-protected?)\n{output.strip()[-800:]}"
        )
    loaded = re.findall(r"Loading section (\S+),", output)
    matched = re.findall(r"Section (\S+), range .*: matched", output)
    if not loaded:
        raise TargetError(f"GDB loaded nothing into {address}:\n{output.strip()[-800:]}")
    missing = sorted(set(loaded) - set(matched))
    if missing:
        raise TargetError(
            f"GDB did not verify {', '.join(missing)} (compare-sections failed):\n"
            f"{output.strip()[-800:]}"
        )
    if "detached" not in output:
        raise TargetError(f"GDB did not finish (reset or detach failed):\n{output.strip()[-800:]}")
    return loaded


def gdb_load(
    elf: Path,
    address: str,
    reset: Sequence[str],
    *,
    progress: Progress | None = None,
    timeout: float = 120.0,
) -> list[str]:
    """Load, verify, reset and detach; returns the sections written."""
    say = progress or (lambda _msg: None)
    cmd = gdb_command(find_gdb(), elf, address, reset)
    say(f"loading {elf.name} through GDB at {address}")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise TargetError(f"GDB did not finish within {timeout:.0f} s at {address}") from None
    sections = check_output(proc.stdout + proc.stderr, address)
    say(f"loaded and verified {', '.join(sections)}; reset and detached")
    return sections
