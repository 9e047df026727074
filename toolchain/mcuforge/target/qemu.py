"""Boot firmware in QEMU, headless and deterministic, and hand back a connected :class:`Device`.

Order matters (platform-notes): QEMU starts halted (``-S``) with its console UART on a TCP server
socket bound to 127.0.0.1 (port 0: QEMU picks one, read back over QMP), the host connects, and
only then does QMP ``cont`` start the CPU, so the boot banner is never lost.

``-icount shift=N,align=off,sleep=off`` makes every instruction take 2^N ns of virtual time. N is
chosen per board so that a SysTick tick (1/clock) is no longer than an instruction: the
firmware's tick counts then convert to instruction counts exactly (to one instruction).

QEMU is always stopped: on exit of the context manager, on Ctrl-C, and by a watchdog thread if a
run exceeds its time limit. Its stderr and the UART tail are quoted when something goes wrong.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from mcuforge.boards import Board
from mcuforge.errors import McuforgeError, TargetError, ToolchainMissing
from mcuforge.target.device import Device
from mcuforge.target.link import Link
from mcuforge.target.process import EmulatorProcess

#: The QEMU system emulator a board's ``[emulators.qemu]`` uses unless it names another
#: (``binary = "qemu-system-riscv32"``); Debian packages them in qemu-system-arm / -misc.
QEMU_BINARY = "qemu-system-arm"
QEMU_PACKAGES = {"qemu-system-arm": "qemu-system-arm", "qemu-system-riscv32": "qemu-system-misc"}


def icount_shift(clock_hz: int) -> int:
    """Smallest icount shift whose instruction time is at least one timer tick."""
    return max(0, math.ceil(math.log2(1e9 / clock_hz)))


class QemuTarget(EmulatorProcess):
    """A QEMU process running one firmware image.

    Use as a context manager::

        with QemuTarget(board, elf) as device:
            device.info()
    """

    def __init__(
        self,
        board: Board,
        elf: Path,
        *,
        watchdog_s: float = 600.0,
        gdb_port: int | None = None,
        halted: bool = False,
        link_timeout: float = 2.0,
        banner_timeout: float = 10.0,
    ):
        if "qemu" not in board.emulators:
            raise TargetError(
                f"board {board.name} cannot run in QEMU (emulators: "
                f"{', '.join(board.emulators) or 'none'})"
            )
        super().__init__(watchdog_s=watchdog_s)
        self.board = board
        self.elf = Path(elf)
        table = board.emulators["qemu"]
        self.machine: str = table["machine"]
        self.binary: str = table.get("binary", QEMU_BINARY)
        #: Machine options the board file adds (``-bios none``, ``-cpu rv32,...``).
        self.extra_args: list[str] = list(table.get("args", []))
        self.gdb_port = gdb_port
        self.halted = halted
        self.link_timeout = link_timeout
        self.banner_timeout = banner_timeout
        self.shift = icount_shift(board.clock_hz)
        self.link: Link | None = None
        self._qmp: Any = None

    # ---- ticks to instructions ---------------------------------------------------------------
    def ticks_to_instructions(self, ticks: int) -> int:
        ns_per_tick = 1e9 / self.board.clock_hz
        return round(ticks * ns_per_tick / (1 << self.shift))

    # ---- lifecycle ---------------------------------------------------------------------------
    def command(self, qmp_path: str) -> list[str]:
        binary = shutil.which(self.binary)
        if binary is None:
            package = QEMU_PACKAGES.get(self.binary, "the package that provides it")
            raise ToolchainMissing(
                f"{self.binary} not found (needed for board {self.board.name}): "
                f"apt install {package} (or: make setup)"
            )
        cmd = [
            binary,
            "-machine",
            self.machine,
            *self.extra_args,
            "-nodefaults",
            "-display",
            "none",
            "-net",
            "none",
            "-chardev",
            "socket,id=con,host=127.0.0.1,port=0,server=on,wait=off,nodelay=on",
            "-serial",
            "chardev:con",
            "-qmp",
            f"unix:{qmp_path},server=on,wait=off",
            "-icount",
            f"shift={self.shift},align=off,sleep=off",
            "-S",
        ]
        if self.gdb_port is not None:
            cmd += ["-gdb", f"tcp:127.0.0.1:{self.gdb_port}"]
        if not self.halted:
            cmd += ["-kernel", str(self.elf)]
        return cmd

    def start(self) -> Device:
        if not self.elf.exists() and not self.halted:
            raise TargetError(f"no firmware image at {self.elf}")
        qmp_path = str(self.workdir("mcuforge-qemu-") / "qmp.sock")
        self.spawn(self.command(qmp_path))
        try:
            port = self._connect_qmp(qmp_path)
            self.link = Link.open(
                f"socket://127.0.0.1:{port}",
                timeout=self.link_timeout,
                name=f"{self.board.name} (QEMU)",
            )
            if not self.halted:
                self.resume()
                self.link.wait_ready(timeout=self.banner_timeout)
        except McuforgeError as exc:
            detail = self.output()
            self.close()
            raise type(exc)(f"{exc}\n  QEMU said: {detail}") from None
        except BaseException:
            self.close()
            raise
        self.device = Device(self.link, self.ticks_to_instructions)
        return self.device

    def resume(self) -> None:
        self._qmp.cmd("cont")

    def _connect_qmp(self, qmp_path: str) -> int:
        from qemu.qmp.legacy import QEMUMonitorProtocol

        deadline = time.monotonic() + 15.0
        while not os.path.exists(qmp_path):
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise TargetError(
                    f"QEMU exited at start (code {self.proc.returncode}): {self.output()}"
                )
            if time.monotonic() > deadline:
                raise TargetError("QEMU did not open its control socket within 15 s")
            time.sleep(0.01)
        # QEMU creates the socket file before it listens on it: under load a first connect can
        # be refused, so retry until the deadline.
        while True:
            self._qmp = QEMUMonitorProtocol(qmp_path)
            try:
                self._qmp.connect()
                break
            except Exception as exc:  # qemu.qmp raises its own ConnectError wrapping OSError
                self._qmp = None
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise TargetError(f"cannot connect to QEMU's control socket: {exc}") from None
                time.sleep(0.02)
        for chardev in self._qmp.cmd("query-chardev"):  # type: ignore[union-attr]
            if chardev.get("label") == "con":
                # "disconnected:tcp:127.0.0.1:PORT,server=on" (QEMU 7.2)
                match = re.search(r"tcp:[^:,]+:(\d+)", chardev.get("filename", ""))
                if match:
                    return int(match.group(1))
        raise TargetError("QEMU reported no console chardev")

    def qemu_output(self) -> str:
        return self.output()

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.link is not None:
            self.link.close()
            self.link = None
        if self._qmp is not None:
            with contextlib.suppress(Exception):  # QEMU may already be gone
                self._qmp.close()
            self._qmp = None
        self.close_process()
