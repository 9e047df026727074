"""Boot firmware in Renode, headless, and hand back a connected :class:`Device`.

The same harness/handler split as :mod:`mcuforge.target.qemu`: this module starts and stops the
emulator and connects the serial line; the protocol is the same :class:`Link`/:class:`Device`.

Order (docs/platform-notes, "Renode"): ``renode --disable-xwt --plain --port MON --pid-file F``
with the monitor on a TCP port; wait for its prompt; create the machine, load the platform
mcuforge writes from renode/platform.repl.j2 (Renode's stock platform, SysTick on the board's
clock, the board's override snippets), the ELF, and a raw server-socket terminal on the console
UART; connect pyserial to that socket; only then ``start``. Nothing the firmware sends is lost
(Renode also queues output sent before a client connects).

Instruction counts: the firmware counts SysTick ticks. Renode's SysTick runs at the NVIC's
``systickFrequency`` against *virtual time*, and virtual time advances by exactly
1 / (PerformanceInMips x 10^6) s per executed instruction. mcuforge writes the board file's
``clock_hz`` into the platform as ``systickFrequency`` (stock platforms set other numbers, or
none: the nRF52840 would tick at 419,430,400 Hz), asks Renode back (``nvic Frequency``), and sets
PerformanceInMips to the same clock in MHz, so one tick is one instruction (to +-1 tick,
measured). That is an instruction count, as under QEMU's -icount; it is not a cycle count.

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

import jinja2

from mcuforge import resources
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
#: Instructions per emulation quantum, with immediate advance: compute runs 6-8x faster than
#: paced to real time (measured with 0.001 s at 72 MIPS).
QUANTUM_INSTRUCTIONS = 100_000

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
    file); ``uart``: the console peripheral (``sysbus.usart2``); ``overrides``: names of repl
    snippets in ``renode/overrides/`` applied in the same description as the platform;
    ``nvic`` and ``cpu``: the peripheral names of the interrupt controller and the core.
    """

    board: Board
    platform: str
    uart: str
    overrides: tuple[str, ...] = ()
    nvic: str = "nvic"
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
        overrides = table.get("overrides", [])
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise TargetError(f"{where}: 'overrides' must be a list of file names")
        return cls(
            board,
            # Board files may write the monitor's own "@platforms/..." form.
            table["platform"].removeprefix("@"),
            table["uart"],
            tuple(overrides),
            str(table.get("nvic", "nvic")),
            str(table.get("cpu", "sysbus.cpu")),
        )

    @property
    def name(self) -> str:
        return self.board.name

    @property
    def systick_hz(self) -> int:
        """SysTick's frequency in Renode: the board's core clock, written into the platform."""
        return self.board.clock_hz

    @property
    def performance_mips(self) -> int:
        """Renode's instructions per emulated microsecond: the core clock in MHz, so that one
        SysTick tick is one executed instruction (see the module doc)."""
        return max(1, round(self.board.clock_hz / 1_000_000))

    @property
    def quantum_s(self) -> str:
        """The emulation quantum: :data:`QUANTUM_INSTRUCTIONS` at the board's pace."""
        return f"{QUANTUM_INSTRUCTIONS / (self.performance_mips * 1_000_000):.6f}"

    def platform_path(self) -> str:
        """The platform as Renode's monitor takes it: ``platforms/...`` is resolved by Renode
        against its own installation; anything else must be a file here."""
        if self.platform.startswith("platforms/"):
            return self.platform
        path = Path(self.platform).expanduser().resolve()
        if not path.is_file():
            raise TargetError(f"{self.name}: Renode platform file {path} does not exist")
        return str(path)

    def override_snippets(self) -> list[tuple[str, str]]:
        """(file name, text) of each repl snippet the board file names."""
        directory = resources.renode_dir() / "overrides"
        out = []
        for name in self.overrides:
            path = directory / name
            if not path.is_file():
                known = sorted(p.name for p in directory.glob("*.repl"))
                raise TargetError(
                    f"boards/{self.name}.toml [emulators.renode]: no override snippet "
                    f"renode/overrides/{name} (known: {', '.join(known) or 'none'})"
                )
            out.append((name, path.read_text()))
        return out

    def platform_repl(self) -> str:
        """The platform mcuforge loads: renode/platform.repl.j2 filled from the board file
        (the stock platform, SysTick on the board's clock, the board's override snippets)."""
        return render(
            "platform.repl.j2",
            board=self.board,
            platform=self.platform_path(),
            nvic=self.nvic,
            overrides=self.override_snippets(),
        )


def render(template: str, **values: object) -> str:
    """A template from mcuforge's ``renode/`` directory, filled."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resources.renode_dir()),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return env.get_template(template).render(**values)


def at_path(path: str | Path) -> str:
    """A path in the monitor's ``@path`` syntax; whitespace would end the token."""
    text = str(path)
    if any(c.isspace() for c in text):
        raise TargetError(f"Renode cannot load a path containing whitespace: {text!r}")
    return f"@{text}"


def machine_commands(spec: RenodeSpec, elf: str, platform_file: str) -> list[str]:
    """Monitor commands that create the machine and load the firmware (no terminal, no start).

    ``platform_file`` is where :meth:`RenodeSpec.platform_repl` was written; ``elf`` is
    absolute, or a Robot variable such as ``${ELF}``. renode/mcuforge.resource's
    ``Boot Firmware`` keyword sends the same commands (a test holds the two together)."""
    return [
        f'mach create "{MACHINE}"',
        f"machine LoadPlatformDescription {at_path(platform_file)}",
        f"sysbus LoadELF {elf if elf.startswith(('@', '$')) else at_path(elf)}",
        f'emulation SetGlobalQuantum "{spec.quantum_s}"',
        "emulation SetGlobalAdvanceImmediately true",
    ]


def monitor_script(
    spec: RenodeSpec,
    elf: Path | None,
    terminal_port: int,
    platform_file: str,
    *,
    gdb_port: int | None = None,
) -> list[str]:
    """The full command sequence :class:`RenodeTarget` sends, in order, up to ``start``.

    With ``gdb_port`` the ELF is not loaded (``elf`` None): Renode's GDB server listens instead,
    and a GDB that connects starts the emulation with the core halted until GDB lets it go."""
    cmds = machine_commands(spec, str(Path(elf).resolve()) if elf else "@", platform_file)
    if elf is None:
        cmds = [c for c in cmds if not c.startswith("sysbus LoadELF")]
    cmds.insert(3 if elf else 2, f"{spec.cpu} PerformanceInMips {spec.performance_mips}")
    if gdb_port is not None:
        cmds.append(f"machine StartGdbServer {gdb_port}")
    cmds += [
        # `false`: a raw socket; without it Renode speaks telnet (negotiation bytes, doubled 0xFF)
        f'emulation CreateServerSocketTerminal {terminal_port} "term" false',
        f"connector Connect {spec.uart} term",
    ]
    return cmds


def gdb_reset_commands(spec: RenodeSpec) -> list[str]:
    """What GDB sends after ``load`` into Renode to start the firmware as a reset would.

    Renode's core started without an image (the GDB server starts the emulation when GDB
    connects) found no vector table and halted itself; its VTOR still points at 0. Point VTOR at
    the image's vector table (first in flash, see the linker script), take SP and PC from it,
    and let the core run. (``monitor reset init`` would reset the machine and leave it paused.)
    """
    origin = spec.board.flash.origin
    return [
        f"monitor {spec.cpu} VectorTableOffset {origin:#010x}",
        f"set $sp = *(unsigned int *){origin:#010x}",
        f"set $pc = *(unsigned int *){origin + 4:#010x}",
        f"monitor {spec.cpu} IsHalted false",
    ]


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
        gdb_port: int | None = None,
    ):
        super().__init__(watchdog_s=watchdog_s)
        #: With a GDB port: Renode's GDB server on it, no ELF loaded and nothing started; the
        #: firmware arrives through GDB (``mcuforge flash --emulator renode``).
        self.gdb_port = gdb_port
        self.board = board
        self.spec = RenodeSpec.of(board)
        self.elf = Path(elf)
        self.start_timeout = start_timeout
        self.link_timeout = link_timeout
        self.banner_timeout = banner_timeout
        self.monitor: Monitor | None = None
        self.link: Link | None = None
        self.commands: list[str] = []
        #: SysTick's frequency as Renode reports it after loading the platform.
        self.systick_hz: int | None = None

    # ---- ticks to instructions ---------------------------------------------------------------
    @property
    def performance_mips(self) -> int:
        return self.spec.performance_mips

    def ticks_to_instructions(self, ticks: int) -> int:
        """SysTick ticks to executed instructions: instructions = ticks x MIPS x 10^6 /
        systick_hz (virtual time per instruction is 1 / MIPS us; see the module doc)."""
        assert self.systick_hz
        return round(ticks * self.performance_mips * 1_000_000 / self.systick_hz)

    def _check_timebase(self) -> None:
        """Asks Renode for the SysTick frequency it really uses: the instruction counts rest
        on it, so a platform that ignored the override is an error, never a guess."""
        assert self.monitor is not None
        query = f"{self.spec.nvic} Frequency"
        answer = self.monitor.execute(query)
        numbers = re.findall(r"\b(0x[0-9A-Fa-f]+|\d+)\b", answer)
        if not numbers:
            raise TargetError(f"Renode did not answer `{query}` with a number: {answer!r}")
        self.systick_hz = int(numbers[-1], 0)
        self.commands.append(query)
        if self.systick_hz != self.spec.systick_hz:
            raise TargetError(
                f"Renode's SysTick runs at {self.systick_hz} Hz on {self.board.name}, not the "
                f"board's {self.spec.systick_hz} Hz written into its platform: is the NVIC "
                f"called '{self.spec.nvic}'? (set nvic = ... in [emulators.renode])"
            )

    # ---- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Device:
        binary = shutil.which(RENODE_BINARY)
        if binary is None:
            raise ToolchainMissing(RENODE_INSTALL)
        if not self.elf.is_file() and self.gdb_port is None:
            raise TargetError(f"no firmware image at {self.elf}")
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
            platform_file = str(tmp / "platform.repl")
            Path(platform_file).write_text(self.spec.platform_repl())
            elf: Path | None = None
            if self.gdb_port is None:
                elf = self.elf.resolve()
                if any(c.isspace() for c in str(elf)):
                    elf = Path(shutil.copy(elf, tmp / "firmware.elf"))
            term_port = free_port()
            self.commands = []
            script = monitor_script(
                self.spec, elf, term_port, platform_file, gdb_port=self.gdb_port
            )
            for command in script:
                self.monitor.execute(command)
                self.commands.append(command)
                if command.startswith("machine LoadPlatformDescription"):
                    self._check_timebase()
            self.link = Link.open(
                f"socket://127.0.0.1:{term_port}",
                timeout=self.link_timeout,
                name=f"{self.board.name} (Renode)",
            )
            if self.gdb_port is None:
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
