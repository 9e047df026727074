"""``mcuforge flash``: put a built firmware on a board (or into QEMU) and check that it answers.

Methods, tried in the board file's order (``[flash] methods``) unless one is asked for:

* ``gdb``: GDB remote protocol (``gdb.py``). On a QEMU board mcuforge starts QEMU halted with its
  gdbstub on 127.0.0.1 and loads through it; with ``--gdb HOST:PORT`` any GDB server (OpenOCD,
  pyOCD, J-Link) is used the same way.
* ``pyocd`` / ``openocd``: Cortex-M boards through a debug probe (``pyocd.py``, ``openocd.py``).
* ``esptool``: the ESP32-C3 over its serial port (``esptool.py``).

Every method verifies what it wrote. Afterwards the firmware is asked for its INFO over the serial
port (found from the board's USB IDs, ``ports.py``), so "flashed" means "running the model".
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mcuforge.boards import Board, get_board
from mcuforge.errors import BoardError, DeviceError, LinkError, TargetError, ToolchainMissing
from mcuforge.target.device import Device, DeviceInfo

Progress = Callable[[str], None]

#: What to install for each method when none is available.
INSTALL = {
    "gdb": "apt install gdb-multiarch",
    "pyocd": "pip install pyocd",
    "openocd": "apt install openocd",
    "esptool": "pip install esptool",
}


@dataclass
class FlashReport:
    board: str
    method: str
    target: str  # where it went: "QEMU mps2-an386", a probe ID, a serial port, host:port
    verified: bool = False
    port: str | None = None
    firmware: str | None = None
    model: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_build(build_dir: Path, board_name: str | None) -> tuple[Board, dict[str, Any]]:
    """The board and build.json of a ``mcuforge build`` output directory."""
    info_path = build_dir / "build.json"
    if not (build_dir / "firmware.elf").exists() or not info_path.exists():
        raise TargetError(
            f"{build_dir} holds no mcuforge build (firmware.elf and build.json): run "
            f"`mcuforge build MODEL --board BOARD -o {build_dir}` first"
        )
    info = json.loads(info_path.read_text())
    built_for = info.get("board")
    if board_name is None:
        if not built_for:
            raise BoardError(f"{info_path} names no board: pass --board")
        board_name = built_for
    elif built_for and built_for != board_name:
        raise BoardError(
            f"{build_dir} was built for {built_for}, not {board_name}: rebuild it with "
            f"--board {board_name}, or flash it with --board {built_for}"
        )
    return get_board(board_name), info


def method_available(method: str) -> bool:
    if method == "gdb":
        from mcuforge.flash.gdb import find_gdb

        try:
            find_gdb()
        except ToolchainMissing:
            return False
        return True
    if method == "pyocd":
        from mcuforge.flash import pyocd

        return pyocd.available()
    if method == "openocd":
        from mcuforge.flash import openocd

        return openocd.available()
    if method == "esptool":
        import importlib.util

        return importlib.util.find_spec("esptool") is not None
    return False


def choose_method(board: Board, wanted: str | None) -> str:
    if not board.flash_methods:
        if not board.cpu.toolchain.native:
            raise TargetError(
                f"mcuforge cannot flash {board.name}: it cannot build for it either "
                f"({board.cpu.toolchain.install}); upload the exported project with "
                "`pio run -t upload`"
            )
        raise TargetError(f"board {board.name} has no flashing method in its board file")
    if wanted is not None:
        if wanted not in board.flash_methods:
            raise TargetError(
                f"{board.name} cannot be flashed with '{wanted}' "
                f"(its methods: {', '.join(board.flash_methods)})"
            )
        return wanted
    for method in board.flash_methods:
        if method_available(method):
            return method
    raise ToolchainMissing(
        f"no flashing tool for {board.name} is installed: "
        + " or ".join(f"{m} ({INSTALL[m]})" for m in board.flash_methods)
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for QEMU's gdbstub, which cannot report one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


START_ATTEMPTS = 3


def start_race(exc: BaseException) -> bool:
    """Start failures that a second start avoids: the gdbstub port taken between
    :func:`free_port` and QEMU's bind."""
    return isinstance(exc, TargetError) and "exited at start" in str(exc)


@contextlib.contextmanager
def flash_qemu(
    board: Board, elf: Path, *, progress: Progress | None = None, watchdog_s: float = 600.0
) -> Iterator[Device]:
    """QEMU started halted with its gdbstub; the ELF loaded, verified and reset through GDB;
    yields the device once its boot banner arrived over the serial socket. QEMU stops on exit."""
    from mcuforge.flash.gdb import gdb_load
    from mcuforge.target.qemu import QemuTarget

    say = progress or (lambda _msg: None)
    if "gdb" not in board.flash_options:
        raise TargetError(f"{board.name} has no [flash.gdb] settings in its board file")
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        target = QemuTarget(board, elf, halted=True, gdb_port=port, watchdog_s=watchdog_s)
        say(f"starting QEMU {target.machine} halted, gdbstub on 127.0.0.1:{port}")
        try:
            device = target.start()
            break
        except Exception as exc:  # only the start races of start_race() are retried
            target.close()
            if attempt + 1 == START_ATTEMPTS or not start_race(exc):
                raise
            say(f"QEMU start raced ({type(exc).__name__}); starting again")
    try:
        gdb_load(elf, f"127.0.0.1:{port}", board.flash_options["gdb"]["reset"], progress=say)
        target.resume()  # GDB's detach usually resumed it already; cont is then a no-op
        assert target.link is not None
        name = target.link.wait_ready(timeout=target.banner_timeout)
        say(f"firmware running: {name}")
        yield device
    except TargetError as exc:
        raise TargetError(f"{exc}\n  QEMU said: {target.qemu_output()}") from None
    finally:
        target.close()


@contextlib.contextmanager
def flash_renode(
    board: Board, elf: Path, *, progress: Progress | None = None, watchdog_s: float = 600.0
) -> Iterator[Device]:
    """Renode with the board's platform and its GDB server, no image loaded; the ELF loaded,
    verified and started through GDB (:func:`mcuforge.target.renode.gdb_reset_commands`);
    yields the device once its boot banner arrived. Renode stops on exit."""
    from mcuforge.flash.gdb import gdb_load
    from mcuforge.target.renode import RenodeSpec, RenodeTarget, gdb_reset_commands

    say = progress or (lambda _msg: None)
    spec = RenodeSpec.of(board)
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        target = RenodeTarget(board, elf, gdb_port=port, watchdog_s=watchdog_s)
        say(f"starting Renode ({spec.platform}) with its GDB server on 127.0.0.1:{port}")
        try:
            device = target.start()
            break
        except TargetError as exc:  # the GDB port taken between free_port() and Renode's bind
            target.close()
            if attempt + 1 == START_ATTEMPTS or "StartGdbServer" not in str(exc):
                raise
            say("Renode's GDB port was taken; starting again")
    try:
        gdb_load(elf, f"127.0.0.1:{port}", gdb_reset_commands(spec), progress=say)
        assert target.link is not None
        name = target.link.wait_ready(timeout=target.banner_timeout)
        say(f"firmware running: {name}")
        yield device
    except TargetError as exc:
        raise TargetError(f"{exc}\n  Renode said: {target.renode_output()}") from None
    finally:
        target.close()


def ask_device(port: str, board: Board, timeout: float = 3.0) -> DeviceInfo:
    """INFO from a freshly flashed board over its serial port."""
    from mcuforge.target.link import Link

    link = Link.open(port, baudrate=board.console.baud, timeout=timeout, name=board.name)
    try:
        return Device(link).info()
    finally:
        link.close()


def flash_into_emulator(
    board: Board,
    elf: Path,
    emulator: str,
    gdb_address: str | None,
    method: str | None,
    say: Progress,
) -> FlashReport:
    """``mcuforge flash --emulator E``: GDB loads the ELF into the emulator's GDB server,
    verifies it and starts it, and the firmware's INFO answers over the emulated serial line."""
    if gdb_address is not None or method not in (None, "gdb"):
        raise TargetError("--emulator loads through the emulator's own GDB server: drop "
                          "--gdb/--method")
    if emulator not in board.emulators:
        raise TargetError(
            f"{board.name} cannot run in {emulator} (emulators: "
            f"{', '.join(sorted(board.emulators)) or 'none'})"
        )
    if emulator == "qemu":
        if "gdb" not in board.flash_options:
            raise TargetError(f"{board.name} has no [flash.gdb] settings in its board file")
        where, load = f"QEMU {board.emulators['qemu']['machine']}", flash_qemu
    else:
        where, load = f"Renode {board.emulators['renode']['platform']}", flash_renode
    report = FlashReport(board.name, "gdb", where)
    with load(board, elf, progress=say) as device:
        info = device.info()
    report.verified = True
    report.firmware, report.model = info.firmware, info.model
    report.notes.append(
        f"{emulator} was stopped afterwards: `mcuforge test --emulator {emulator}` runs vectors"
    )
    return report


def flash_build(
    build_dir: Path,
    board_name: str | None = None,
    *,
    port: str | None = None,
    method: str | None = None,
    probe: str | None = None,
    gdb_address: str | None = None,
    emulator: str | None = None,
    progress: Progress | None = None,
) -> FlashReport:
    """Flash the build in ``build_dir``; see the module docstring. ``emulator`` ("qemu",
    "renode") loads it into that emulator through its GDB server instead of a board."""
    say = progress or (lambda _msg: None)
    board, _info = load_build(build_dir, board_name)
    elf = build_dir / "firmware.elf"
    if emulator is not None:
        return flash_into_emulator(board, elf, emulator, gdb_address, method, say)
    chosen = "gdb" if gdb_address is not None and method is None else method
    chosen = choose_method(board, chosen)
    say(f"flashing {build_dir} onto {board.name} with {chosen}")

    if chosen == "gdb" and gdb_address is None:
        if "qemu" not in board.emulators:
            raise TargetError(
                f"{board.name} is not emulated by QEMU: give the GDB server of its probe with "
                "--gdb HOST:PORT"
                + (" (or load it into Renode with --emulator renode)"
                   if "renode" in board.emulators else "")
            )
        return flash_into_emulator(board, elf, "qemu", None, None, say)

    from mcuforge.flash.ports import find_port

    if chosen == "esptool":
        from mcuforge.flash.esptool import esptool_flash

        port = port or find_port(board)
        esptool_flash(board, build_dir, port, progress=say)
        report = FlashReport(board.name, chosen, port, verified=True)
    elif chosen == "gdb":
        from mcuforge.flash.gdb import gdb_load

        assert gdb_address is not None
        gdb_load(elf, gdb_address, board.flash_options["gdb"]["reset"], progress=say)
        report = FlashReport(board.name, chosen, gdb_address, verified=True)
    elif chosen == "pyocd":
        from mcuforge.flash.pyocd import pyocd_flash

        used = pyocd_flash(board, build_dir, probe_id=probe, progress=say)
        report = FlashReport(board.name, chosen, used.unique_id, verified=True)
    else:
        from mcuforge.flash.openocd import openocd_flash

        openocd_flash(board, build_dir, progress=say)
        report = FlashReport(board.name, chosen, "openocd", verified=True)

    # The firmware should now answer on the board's serial port.
    try:
        report.port = port or find_port(board)
    except TargetError as exc:
        report.notes.append(f"not checked over serial: {exc}")
        return report
    say(f"asking the firmware on {report.port}")
    try:
        info = ask_device(report.port, board)
    except (LinkError, DeviceError, TargetError) as exc:
        raise TargetError(
            f"flashed and verified, but the firmware does not answer on {report.port}: {exc}"
        ) from None
    report.firmware, report.model = info.firmware, info.model
    return report
