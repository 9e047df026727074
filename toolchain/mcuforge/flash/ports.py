"""Serial port auto-detection: the board file's USB VID:PID list against pyserial's port list."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

from mcuforge.boards import Board
from mcuforge.errors import TargetError


@dataclass(frozen=True)
class Port:
    device: str
    vid: int
    pid: int
    description: str

    def describe(self) -> str:
        return f"{self.device} ({self.vid:04x}:{self.pid:04x} {self.description})"


def list_serial_ports() -> list[Port]:
    """Every USB serial port of this computer (the one place that touches the hardware)."""
    return [
        Port(p.device, p.vid, p.pid, p.description or p.product or "")
        for p in list_ports.comports()
        if p.vid is not None and p.pid is not None
    ]


def board_ports(board: Board) -> list[Port]:
    """Ports whose VID:PID the board file lists, in the board file's order of preference."""
    rank = {ids: i for i, ids in enumerate(board.usb_ids)}
    found = [p for p in list_serial_ports() if (p.vid, p.pid) in rank]
    return sorted(found, key=lambda p: (rank[(p.vid, p.pid)], p.device))


def find_port(board: Board) -> str:
    """The one serial port of ``board``; a clear error when there is none or more than one."""
    ids = ", ".join(f"{v:04x}:{p:04x}" for v, p in board.usb_ids) or "none listed"
    if not board.usb_ids:
        raise TargetError(
            f"board {board.name} lists no USB IDs to find its serial port: pass --port"
        )
    found = board_ports(board)
    if not found:
        hint = f" ({board.port_hint})" if board.port_hint else ""
        raise TargetError(
            f"no serial port of {board.name} found (USB IDs {ids}): plug the board in{hint}, "
            "or pass --port"
        )
    if len({(p.vid, p.pid) for p in found}) == 1 and len(found) > 1:
        raise TargetError(
            f"several {board.name} ports found: {', '.join(p.describe() for p in found)}; "
            "choose one with --port"
        )
    return found[0].device
