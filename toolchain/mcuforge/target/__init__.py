"""Targets that run a compiled model: QEMU, Renode, or a board on a serial port.

:func:`open_target` is the handler side of the harness/handler split: it boots or opens a target
and yields a connected :class:`~mcuforge.target.device.Device`; what is checked on it is the
harness's business (``mcuforge.verify``, ``mcuforge.bench``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.errors import McuforgeError, TargetError
from mcuforge.target.device import Device

EMULATORS = ("qemu", "renode")


@contextmanager
def open_target(
    board: Board, elf: Path, emulator: str = "qemu", *, watchdog_s: float = 900.0
) -> Iterator[Device]:
    """Boot ``elf`` on ``emulator`` for ``board`` and yield the connected device; always stops
    the emulator afterwards (also on errors and Ctrl-C)."""
    if emulator == "qemu":
        from mcuforge.target.qemu import QemuTarget

        target = QemuTarget(board, elf, watchdog_s=watchdog_s)
        try:
            yield target.start()
        except McuforgeError as exc:
            if target.timed_out:
                raise TargetError(
                    f"{exc}\n  QEMU was stopped by the watchdog after {watchdog_s:.0f} s"
                ) from None
            raise
        finally:
            target.close()
        return
    if emulator == "renode":
        from mcuforge.target.renode import RenodeTarget

        renode = RenodeTarget(board, elf, watchdog_s=watchdog_s)
        try:
            yield renode.start()
        except McuforgeError as exc:
            if renode.timed_out:
                raise TargetError(
                    f"{exc}\n  Renode was stopped by the watchdog after {watchdog_s:.0f} s"
                ) from None
            raise
        finally:
            renode.close()
        return
    raise TargetError(f"unknown emulator '{emulator}' (available: {', '.join(EMULATORS)})")
