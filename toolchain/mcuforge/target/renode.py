"""Boot firmware in Renode, headless, and hand back a connected :class:`Device`.

The same harness/handler split as :mod:`mcuforge.target.qemu`: this module starts and stops the
emulator and connects the serial line; the protocol is the same :class:`Link`/:class:`Device`.

Order (docs/platform-notes, "Renode"): ``renode --disable-xwt --plain --port MON --pid-file F``
with the monitor on a TCP port; wait for its prompt; create the machine, load the board's
platform (plus this board's repl overrides, if any), the ELF, and a raw server-socket terminal
on the console UART; connect pyserial to that socket; only then ``start``. Nothing the firmware
sends is lost (Renode also queues output sent before a client connects).

Instruction counts: the firmware counts SysTick ticks. Renode's SysTick runs at the platform's
``systickFrequency`` against *virtual time*, and virtual time advances by exactly
1 / (PerformanceInMips x 10^6) s per executed instruction. mcuforge sets PerformanceInMips to the
SysTick frequency in MHz, so one tick is one instruction (to +-1 tick, measured). That is an
instruction count, as under QEMU's -icount; it is not a cycle count.

Renode is always stopped: ``quit`` on the monitor, then SIGKILL to the pid from ``--pid-file``
and to the process group (``renode`` is a shell wrapper around mono: signalling the wrapper alone
leaves the emulator running with its ports open). A watchdog does the same when a run exceeds
its limit.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.errors import McuforgeError, TargetError, ToolchainMissing
from mcuforge.target.device import Device
from mcuforge.target.link import Link
from mcuforge.target.process import EmulatorProcess

RENODE_BINARY = "renode"
RENODE_INSTALL = (
    "Renode is not installed: get it from https://renode.io (Linux portable package or .deb) "
    "and put `renode` on PATH; `renode --version` must work"
)
#: The machine name mcuforge gives the emulated board (the monitor prompt shows it).
MACHINE = "dut"
#: Quantum and immediate advance: compute runs 6-8x faster than paced to real time.
QUANTUM_S = "0.001"

# The monitor's prompt: "(monitor) " or "(dut) " alone at the end of the buffer, on its own line
# (peripheral listings print "(SystemBus)" inside lines: those must not end a response).
_PROMPT = re.compile(r"(?:^|[\r\n])\(([A-Za-z0-9_.\-]+)\) $")
# Renode has no error channel on the monitor: a refusal is prose in the response.
_MONITOR_ERRORS = re.compile(
    r"^(There was an error|No such command or device|Internal error|Bad parameters|"
    r"Could not|Error E\d+|Errors during)",
    re.MULTILINE,
)
_IAC = 0xFF


def strip_telnet(data: bytes) -> bytes:
    """Removes telnet negotiation (IAC sequences) the monitor socket sends on connect."""
    out = bytearray()
    i = 0
    while i < len(data):
        b = data[i]
        if b != _IAC:
            out.append(b)
            i += 1
            continue
        if i + 1 >= len(data):
            break  # a dangling IAC at a read edge: the rest comes with the next read
        cmd = data[i + 1]
        if cmd == _IAC:
            out.append(_IAC)
            i += 2
        elif cmd == 0xFA:  # subnegotiation, up to IAC SE
            end = data.find(bytes([_IAC, 0xF0]), i + 2)
            i = len(data) if end < 0 else end + 2
        elif cmd in (0xFB, 0xFC, 0xFD, 0xFE):  # WILL/WONT/DO/DONT option
            i += 3
        else:
            i += 2
    return bytes(out)


@dataclass(frozen=True)
class RenodeSpec:
    """A board's ``[emulators.renode]`` table, checked.

    ``platform``: the Renode platform (``platforms/...`` inside Renode, or a path to a .repl
    file); ``uart``: the console peripheral (``sysbus.usart2``); ``repl_overrides``: repl
    *updating* entries applied in the same description as the platform (for example
    ``uart0:\\n    easyDMA: false`` on nRF52840, whose stock repl unmaps the legacy UART
    registers); ``systick_hz``: the platform's SysTick frequency; ``cpu``: the CPU peripheral.
    """

    board: str
    platform: str
    uart: str
    repl_overrides: str = ""
    systick_hz: int | None = None
    cpu: str = "sysbus.cpu"

    @classmethod
    def of(cls, board: Board) -> RenodeSpec:
        table = board.emulators.get("renode")
        if table is None:
            raise TargetError(
                f"board {board.name} cannot run in Renode (emulators: "
                f"{', '.join(sorted(board.emulators)) or 'none'})"
            )
        where = f"boards/{board.name}.toml [emulators.renode]"
        for key in ("platform", "uart"):
            if not isinstance(table.get(key), str) or not table[key]:
                raise TargetError(f"{where}: '{key}' must be a non-empty string")
        systick = table.get("systick_hz")
        if systick is not None and (not isinstance(systick, int) or systick <= 0):
            raise TargetError(f"{where}: 'systick_hz' must be a positive integer")
        overrides = table.get("repl_overrides", "")
        if not isinstance(overrides, str):
            raise TargetError(f"{where}: 'repl_overrides' must be a string of repl entries")
        return cls(
            board.name,
            # Board files may write the monitor's own "@platforms/..." form.
            table["platform"].removeprefix("@"),
            table["uart"],
            overrides.strip("\n"),
            systick,
            str(table.get("cpu", "sysbus.cpu")),
        )

    def platform_path(self) -> str:
        """The platform as Renode's monitor takes it: ``platforms/...`` is resolved by Renode
        against its own installation; anything else must be a file here."""
        if self.platform.startswith("platforms/"):
            return self.platform
        path = Path(self.platform).expanduser().resolve()
        if not path.is_file():
            raise TargetError(f"{self.board}: Renode platform file {path} does not exist")
        return str(path)

    def platform_repl(self) -> str | None:
        """A repl that uses the board's platform and applies its overrides, or None when the
        stock platform is used as it is. Updating entries must be in the same description as
        the platform: once a peripheral exists, its constructor arguments cannot change."""
        if not self.repl_overrides:
            return None
        return (
            f"// Generated by mcuforge for {self.board}: the stock platform with overrides.\n"
            f'using "{self.platform_path()}"\n\n{self.repl_overrides}\n'
        )


def at_path(path: str | Path) -> str:
    """A path in the monitor's ``@path`` syntax; whitespace would end the token."""
    text = str(path)
    if any(c.isspace() for c in text):
        raise TargetError(f"Renode cannot load a path containing whitespace: {text!r}")
    return f"@{text}"


def machine_commands(spec: RenodeSpec, elf: str, platform_file: str | None) -> list[str]:
    """Monitor commands that create the machine and load the firmware (no terminal, no start).

    ``platform_file`` is where :meth:`RenodeSpec.platform_repl` was written, when the board
    has overrides; ``elf`` is absolute, or a Robot variable such as ``${ELF}``."""
    platform = platform_file if platform_file is not None else spec.platform_path()
    return [
        f'mach create "{MACHINE}"',
        f"machine LoadPlatformDescription {at_path(platform)}",
        f"sysbus LoadELF {elf if elf.startswith(('@', '$')) else at_path(elf)}",
    ]


def monitor_script(
    spec: RenodeSpec,
    elf: Path,
    terminal_port: int,
    platform_file: str | None = None,
    *,
    performance_mips: int | None = None,
) -> list[str]:
    """The full command sequence :class:`RenodeTarget` sends, in order, up to ``start``."""
    cmds = machine_commands(spec, str(Path(elf).resolve()), platform_file)
    if performance_mips is not None:
        cmds.append(f"{spec.cpu} PerformanceInMips {performance_mips}")
    cmds += [
        f'emulation SetGlobalQuantum "{QUANTUM_S}"',
        "emulation SetGlobalAdvanceImmediately true",
        # `false`: a raw socket; without it Renode speaks telnet (negotiation bytes, doubled 0xFF)
        f'emulation CreateServerSocketTerminal {terminal_port} "term" false',
        f"connector Connect {spec.uart} term",
    ]
    return cmds


def renode_home(binary: str) -> Path | None:
    """Renode's installation directory (the one holding ``platforms/``), if it can be found."""
    real = Path(binary).resolve()
    for candidate in (real.parent, real.parent.parent, Path("/opt/renode")):
        if (candidate / "platforms").is_dir():
            return candidate
    return None


def systick_from_repl(home: Path, platform: str, depth: int = 0) -> int | None:
    """``systickFrequency`` from a platform repl, following its ``using`` chain."""
    path = Path(platform) if Path(platform).is_absolute() else home / platform
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    values = re.findall(r"systickFrequency\s*:\s*(\d+)", text)
    if values:
        return int(values[-1])
    if depth < 4:
        for used in re.findall(r'^using\s+"([^"]+)"', text, re.MULTILINE):
            found = systick_from_repl(home, used, depth + 1)
            if found:
                return found
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (Renode takes a port number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Monitor:
    """Renode's monitor over TCP: send a command, read its echo, output and the prompt."""

    def __init__(self, port: int, *, timeout: float = 30.0):
        self.port = port
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.prompt = ""
        self._buf = b""

    def connect(self, deadline: float, alive: Callable[[], bool]) -> str:
        """Connects (retrying until Renode listens) and returns the banner."""
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=1.0)
                break
            except OSError:
                if not alive():
                    raise TargetError("Renode exited before its monitor opened") from None
                if time.monotonic() > deadline:
                    raise TargetError(
                        f"Renode's monitor did not open port {self.port} in time"
                    ) from None
                time.sleep(0.1)
        return self._read_to_prompt(deadline)

    def _read_to_prompt(self, deadline: float) -> str:
        assert self.sock is not None
        while True:
            text = strip_telnet(self._buf).decode(errors="replace")
            match = _PROMPT.search(text)
            if match:
                self.prompt = match.group(1)
                self._buf = b""
                return text[: match.start()]
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TargetError(f"Renode's monitor sent no prompt; it said: {text[-800:]!r}")
            self.sock.settimeout(min(remaining, 1.0))
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError as exc:
                raise TargetError(f"Renode's monitor connection failed: {exc}") from None
            if not chunk:
                raise TargetError(f"Renode closed its monitor; it said: {text[-800:]!r}")
            self._buf += chunk

    def execute(self, command: str, *, timeout: float | None = None) -> str:
        """Runs one command and returns its output (echo and prompt removed). Raises
        :class:`TargetError` with Renode's words when the output is an error message."""
        assert self.sock is not None
        self.sock.sendall(command.encode() + b"\n")
        text = self._read_to_prompt(time.monotonic() + (timeout or self.timeout))
        lines = [line.strip("\r") for line in text.replace("\r\n", "\n").split("\n")]
        if lines and lines[0].strip() == command.strip():
            lines = lines[1:]
        output = "\n".join(line for line in lines if line.strip()).strip()
        if _MONITOR_ERRORS.search(output):
            raise TargetError(f"Renode refused `{command}`: {output}")
        return output

    def quit(self) -> None:
        """Sends ``quit`` without waiting for an answer (Renode closes the socket)."""
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.sendall(b"quit\n")

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None


class RenodeTarget(EmulatorProcess):
    """A Renode process running one firmware image. Use as a context manager::

        with RenodeTarget(board, elf) as device:
            device.info()
    """

    #: How long ``quit`` may take before the process group is killed (mono shuts down slowly).
    quit_timeout_s = 5.0

    def __init__(
        self,
        board: Board,
        elf: Path,
        *,
        watchdog_s: float = 600.0,
        start_timeout: float = 60.0,
        link_timeout: float = 5.0,
        banner_timeout: float = 20.0,
    ):
        super().__init__(watchdog_s=watchdog_s)
        self.board = board
        self.spec = RenodeSpec.of(board)
        self.elf = Path(elf)
        self.start_timeout = start_timeout
        self.link_timeout = link_timeout
        self.banner_timeout = banner_timeout
        self.monitor: Monitor | None = None
        self.link: Link | None = None
        self.systick_hz: int | None = None
        self.performance_mips: int | None = None
        self.commands: list[str] = []

    # ---- ticks to instructions ---------------------------------------------------------------
    def ticks_to_instructions(self, ticks: int) -> int:
        """SysTick ticks to executed instructions: instructions = ticks x MIPS x 10^6 /
        systick_hz (virtual time per instruction is 1 / MIPS us; see the module doc)."""
        assert self.systick_hz and self.performance_mips
        return round(ticks * self.performance_mips * 1_000_000 / self.systick_hz)

    def _timebase(self, binary: str) -> None:
        systick = self.spec.systick_hz
        overridden = re.findall(r"systickFrequency\s*:\s*(\d+)", self.spec.repl_overrides)
        if systick is None and overridden:
            systick = int(overridden[-1])
        home = renode_home(binary)
        if systick is None and home is not None:
            systick = systick_from_repl(home, self.spec.platform_path())
        if systick is None:
            raise TargetError(
                f"cannot tell the SysTick frequency of Renode platform {self.spec.platform}: "
                f"add systick_hz to [emulators.renode] in boards/{self.board.name}.toml"
            )
        self.systick_hz = systick
        # One tick per instruction when the frequency is whole MHz (all stock Cortex-M repls).
        self.performance_mips = max(1, round(systick / 1_000_000))

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Device:
        binary = shutil.which(RENODE_BINARY)
        if binary is None:
            raise ToolchainMissing(RENODE_INSTALL)
        if not self.elf.is_file():
            raise TargetError(f"no firmware image at {self.elf}")
        self._timebase(binary)
        tmp = self.workdir("mcuforge-renode-")
        self._pid_file = tmp / "renode.pid"
        mon_port = free_port()
        cmd = [
            binary,
            "--disable-xwt",
            "--plain",
            "--port",
            str(mon_port),
            "--pid-file",
            str(self._pid_file),
        ]
        # One process group: the renode wrapper, mono and its children.
        self.spawn(cmd, cwd=tmp)
        try:
            self.monitor = Monitor(mon_port)
            deadline = time.monotonic() + self.start_timeout
            self.monitor.connect(deadline, self.alive)
            platform_file = None
            repl = self.spec.platform_repl()
            if repl is not None:
                platform_file = str(tmp / "platform.repl")
                Path(platform_file).write_text(repl)
            elf = self.elf.resolve()
            if any(c.isspace() for c in str(elf)):
                elf = Path(shutil.copy(elf, tmp / "firmware.elf"))
            term_port = free_port()
            self.commands = monitor_script(
                self.spec, elf, term_port, platform_file, performance_mips=self.performance_mips
            )
            for command in self.commands:
                self.monitor.execute(command)
            self.link = Link.open(
                f"socket://127.0.0.1:{term_port}",
                timeout=self.link_timeout,
                name=f"{self.board.name} (Renode)",
            )
            self.monitor.execute("start")
            self.commands.append("start")
            self.link.wait_ready(timeout=self.banner_timeout)
        except McuforgeError as exc:
            detail = self.output()
            self.close()
            raise type(exc)(f"{exc}\n  Renode said: {detail}") from None
        except BaseException:
            self.close()
            raise
        self.device = Device(self.link, self.ticks_to_instructions)
        return self.device

    def _pid_from_file(self) -> int | None:
        try:
            return int(self._pid_file.read_text().strip())
        except (AttributeError, OSError, ValueError):
            return None

    def kill(self) -> None:
        """SIGKILL to the emulator (pid file) and to the whole process group: the group
        outlives the wrapper when mono runs as its child, and mono may have left the group."""
        pid = self._pid_from_file()
        if pid is not None and self.proc is not None and pid != self.proc.pid:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        super().kill()

    def renode_output(self) -> str:
        return self.output()

    def close(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.proc is not None and self.monitor is not None and self.monitor.sock is not None:
            self.monitor.quit()  # the clean way out: rc 0, ports closed
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=self.quit_timeout_s)
        self.close_process()  # kills whatever `quit` left behind (or a hung emulator)
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
