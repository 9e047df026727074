"""Renode: the runner, the monitor command sequence, the Robot suite and its self-test firmware.

Renode cannot be installed on the machines this suite normally runs on, so:

* the real Renode runs are skipped, with the reason shown, unless ``renode`` is on PATH;
* every monitor command and every Robot keyword mcuforge generates is checked against the syntax
  Renode documents (renode-docs: host-integration/uart.md, basic/renode-testing-api.md,
  introduction/testing; the keyword sources src/Renode/RobotFrameworkEngine/UartKeywords.cs and
  RenodeKeywords.cs), and the .robot file is parsed by Robot Framework itself;
* the self-test firmware the suite waits on runs in QEMU, proving its lines are real;
* RenodeTarget's process handling runs against a FAKE ``renode`` (a script that speaks the
  monitor framing), never presented as Renode.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcuforge import resources
from mcuforge.boards import all_boards, get_board
from mcuforge.build import build_firmware
from mcuforge.cli import cli
from mcuforge.errors import DeviceError, LinkError, TargetError, ToolchainMissing
from mcuforge.renode_suite import write_robot_suite
from mcuforge.selftest import SELFTEST_LDFLAGS, build_selftest, expected_results, vectors_source
from mcuforge.target import open_target
from mcuforge.target.qemu import QemuTarget
from mcuforge.target.renode import (
    RenodeSpec,
    RenodeTarget,
    machine_commands,
    monitor_script,
    strip_telnet,
)
from mcuforge.vectors import random_vectors
from mcuforge.verify import run_test

RENODE = shutil.which("renode")
renode_only = pytest.mark.skipif(
    RENODE is None,
    reason="Renode not installed (not on PyPI, Debian or npm; get it from https://renode.io): "
    "the real Renode runs are checked only where it is",
)
RENODE_BOARDS = sorted(name for name, b in all_boards().items() if "renode" in b.emulators)

# ---- Renode's documented syntax -------------------------------------------------------------
# Monitor commands mcuforge sends, as documented: renode-docs host-integration/uart.md
# (CreateServerSocketTerminal PORT "name" false: raw socket, no telnet bytes; connector
# Connect), basic/running.md and renode-testing-api.md (mach create, LoadPlatformDescription,
# sysbus LoadELF @path, start, quit), the time framework (SetGlobalQuantum "seconds",
# SetGlobalAdvanceImmediately) and the CPU's PerformanceInMips property.
MONITOR_SYNTAX = [
    re.compile(r'^mach create "[A-Za-z0-9_-]+"$'),
    re.compile(r"^machine LoadPlatformDescription @(platforms/\S+\.repl|/\S+\.repl|\$\{\w+\})$"),
    re.compile(r"^sysbus LoadELF @(/\S+|\$\{\w+\})$|^sysbus LoadELF \$\{\w+\}$"),
    re.compile(r"^sysbus\.cpu PerformanceInMips [1-9]\d*$"),
    re.compile(r"^[a-z][A-Za-z0-9_.]* Frequency$"),  # a property read: NVIC.Frequency (SysTick)
    re.compile(r'^emulation SetGlobalQuantum "\d+(\.\d+)?"$'),
    re.compile(r"^emulation SetGlobalAdvanceImmediately (true|false)$"),
    re.compile(r'^emulation CreateServerSocketTerminal \d{1,5} "[A-Za-z0-9_]+" false$'),
    re.compile(r"^connector Connect sysbus\.[A-Za-z0-9_]+ [A-Za-z0-9_]+$"),
    re.compile(r"^start$"),
]
# Robot keywords Renode's RobotFrameworkEngine provides ([RobotFrameworkKeyword] methods of
# RenodeKeywords.cs and UartKeywords.cs, CamelCase split into words).
RENODE_KEYWORDS = {
    "Execute Command",
    "Execute Script",
    "Execute Python",
    "Start Emulation",
    "Reset Emulation",
    "Create Terminal Tester",
    "Set Default Uart Timeout",
    "Wait For Line On Uart",
    "Wait For Lines On Uart",
    "Wait For Prompt On Uart",
    "Wait For Next Line On Uart",
    "Wait For Bytes On Uart",
    "Write Line To Uart",
    "Write To Uart",
    "Write Char On Uart",
    "Send Key To Uart",
    "Register Failing Uart String",
    "Unregister Failing Uart String",
    "Should Not Be On Uart",
    "Test If Uart Is Idle",
    "Create Log Tester",
    "Wait For Log Entry",
}


def documented(command: str) -> bool:
    return any(p.match(command) for p in MONITOR_SYNTAX)


# ---- the command sequence ---------------------------------------------------------------------
@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_monitor_script_follows_renode_documented_syntax(name: str, tmp_path: Path) -> None:
    spec = RenodeSpec.of(get_board(name))
    elf = tmp_path / "fw.elf"
    cmds = monitor_script(spec, elf, 40123, str(tmp_path / "platform.repl")) + ["start"]
    for c in cmds:
        assert documented(c), f"not Renode's documented syntax: {c!r}"
    order = [c.split()[0] + " " + c.split()[1] if " " in c else c for c in cmds]
    # mach create first; platform before ELF; terminal created before it is connected; start last
    assert order[0] == "mach create"
    assert cmds.index(next(c for c in cmds if "LoadPlatformDescription" in c)) < cmds.index(
        next(c for c in cmds if "LoadELF" in c)
    )
    term = next(i for i, c in enumerate(cmds) if "CreateServerSocketTerminal" in c)
    conn = next(i for i, c in enumerate(cmds) if c.startswith("connector Connect"))
    assert term < conn < len(cmds) - 1 and cmds[-1] == "start"
    assert f"sysbus LoadELF @{elf.resolve()}" in cmds
    assert f"connector Connect {spec.uart} term" in cmds
    assert not any("@@" in c for c in cmds)  # board files may already write "@platforms/..."


@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_platform_puts_systick_on_the_board_clock(name: str, tmp_path: Path) -> None:
    board = get_board(name)
    spec = RenodeSpec.of(board)
    repl = spec.platform_repl()
    # platform-description format: `using` first, then *updating* entries (no type name)
    assert re.search(rf'^using "{re.escape(spec.platform_path())}"$', repl, re.M)
    assert f"\n{spec.nvic}:\n    systickFrequency: {board.clock_hz}\n" in repl + "\n"
    for snippet, _ in spec.override_snippets():
        assert f"// renode/overrides/{snippet}" in repl
    assert spec.performance_mips * 1_000_000 == board.clock_hz  # one tick = one instruction
    cmds = monitor_script(spec, tmp_path / "fw.elf", 40000, str(tmp_path / "platform.repl"))
    assert cmds[1] == f"machine LoadPlatformDescription @{tmp_path / 'platform.repl'}"
    assert f"sysbus.cpu PerformanceInMips {spec.performance_mips}" in cmds


def test_override_snippets_are_applied_in_order_and_missing_ones_named(tmp_path: Path) -> None:
    board = get_board("nrf52840-dk")
    snippets = sorted(p.name for p in (resources.renode_dir() / "overrides").glob("*.repl"))
    assert snippets, "renode/overrides/ holds the snippets board files name"
    table = dict(board.emulators["renode"], overrides=snippets)
    repl = RenodeSpec.of(_with_renode(board, table)).platform_repl()
    at = [repl.index(f"// renode/overrides/{n}") for n in snippets]
    assert at == sorted(at) and repl.index("systickFrequency") < at[0]
    for name in snippets:
        body = (resources.renode_dir() / "overrides" / name).read_text().strip()
        assert body in repl
    missing = dict(board.emulators["renode"], overrides=["no-such.repl"])
    with pytest.raises(TargetError, match=r"no override snippet renode/overrides/no-such\.repl"):
        RenodeSpec.of(_with_renode(board, missing)).platform_repl()


def test_boards_without_renode_are_refused_clearly() -> None:
    with pytest.raises(TargetError, match="cannot run in Renode"):
        RenodeSpec.of(get_board("mps2-an386"))


def test_missing_renode_is_a_clear_toolchain_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("PATH", str(tmp_path))
    elf = tmp_path / "fw.elf"
    elf.write_bytes(b"\x7fELF")
    target = RenodeTarget(get_board("stm32f4-discovery"), elf)
    with pytest.raises(ToolchainMissing, match=r"Renode is not installed: get it from https://renode\.io"):
        target.start()
    target.close()


def test_telnet_negotiation_is_stripped() -> None:
    raw = b"\xff\xfd\x00\xff\xfb\x01\xff\xfb\x03\xff\xfc\x22"
    raw += b"Renode\xff\xff!\xff\xfa\x01\x02\xff\xf0."
    assert strip_telnet(raw) == b"Renode\xff!."
    assert strip_telnet(b"abc\xff") == b"abc"  # a dangling IAC waits for the next read


# ---- the Robot suite ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def suite(zoo: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return write_robot_suite(
        zoo / "hello_world_int8.tflite",
        get_board("stm32f4-discovery"),
        tmp_path_factory.mktemp("robot"),
        vectors=4,
    )


def _keyword_calls(
    path: Path, *resources_: Path
) -> tuple[list[tuple[str, list[str]]], set[str], list[str]]:
    """(keyword calls with arguments, keywords the suite and its resources define, test names)
    via Robot's parser. Arguments have the suite's own variables (and ${CURDIR}) substituted,
    as Robot would."""
    from robot.api import get_model, get_resource_model
    from robot.api.parsing import Keyword, KeywordCall, ModelVisitor, TestCase, Variable

    calls: list[tuple[str, list[str]]] = []
    defined: set[str] = set()
    tests: list[str] = []
    errors: list[str] = []
    variables = {"${CURDIR}": str(path.parent)}

    def resolve(value: str) -> str:
        for _ in range(3):
            for name, replacement in variables.items():
                value = value.replace(name, replacement)
        return value

    class Visitor(ModelVisitor):  # type: ignore[misc]
        def visit_Variable(self, node: Variable) -> None:  # noqa: N802 - Robot's API
            variables[node.name] = " ".join(node.value)

        def visit_KeywordCall(self, node: KeywordCall) -> None:  # noqa: N802
            calls.append((node.keyword, [resolve(a) for a in node.args]))

        def visit_Keyword(self, node: Keyword) -> None:  # noqa: N802
            defined.add(node.name)
            self.generic_visit(node)

        def visit_TestCase(self, node: TestCase) -> None:  # noqa: N802
            tests.append(node.name)
            self.generic_visit(node)

        def visit_Error(self, node) -> None:  # type: ignore[no-untyped-def]  # noqa: N802
            errors.append(str(node.errors))

    for each in (path, *resources_):
        parse = get_resource_model if each.suffix == ".resource" else get_model
        model = parse(str(each))
        Visitor().visit(model)
    assert not errors, errors
    return calls, defined, tests


def test_robot_suite_uses_only_renode_keywords_and_documented_commands(suite) -> None:  # type: ignore[no-untyped-def]
    resource = suite.directory / "mcuforge.resource"
    assert resource.read_text() == (resources.renode_dir() / "mcuforge.resource").read_text()
    calls, defined, tests = _keyword_calls(suite.suite, resource)
    assert tests == [f"Vector {i} Matches TFLM" for i in range(4)] + ["All 4 Vectors Match TFLM"]
    for keyword, args in calls:
        assert keyword in RENODE_KEYWORDS | defined, f"not a Renode keyword: {keyword}"
        if keyword == "Execute Command":
            assert len(args) == 1 and documented(args[0]), f"undocumented command: {args}"
    used = {k for k, _ in calls}
    assert {"Create Terminal Tester", "Start Emulation", "Wait For Line On Uart"} <= used
    waits = [args[0] for k, args in calls if k == "Wait For Line On Uart"]
    assert waits == [f"PASS vector {i} of 4" for i in range(4)] + ["MCUFORGE DONE pass=4 fail=0"]
    text = suite.suite.read_text()
    # renode-test supplies setup and teardown: the only setting is the keyword resource
    settings = text.split("*** Settings ***", 1)[1].split("***", 1)[0].split()
    assert settings == ["Resource", "${CURDIR}/mcuforge.resource"]
    assert re.search(r"^\$\{ELF\} +@\$\{CURDIR\}/firmware\.elf$", text, re.M)
    assert re.search(r"^\$\{PLATFORM\} +@\$\{CURDIR\}/platform\.repl$", text, re.M)
    assert re.search(r"^\$\{UART\} +sysbus\.usart2$", text, re.M)
    assert suite.command.startswith(f"renode-test {suite.suite} --variable ELF:@{suite.elf}")
    assert suite.elf.is_file()
    # The resource boots with the very commands RenodeTarget sends (one place per fact).
    spec = RenodeSpec.of(get_board("stm32f4-discovery"))
    booted = [args[0] for k, args in calls if k == "Execute Command"]
    assert booted == machine_commands(spec, f"@{suite.elf}", str(suite.platform_file))


def test_cli_test_robot_writes_the_suite_and_does_not_run(zoo: Path, tmp_path: Path) -> None:
    out = tmp_path / "robot"
    model = str(zoo / "hello_world_int8.tflite")
    args = ["test", model, "-b", "stm32f4-discovery", "-n", "2", "--emulator", "renode"]
    result = CliRunner().invoke(cli, [*args, "--robot", str(out), "--json"])
    assert result.exit_code == 0, result.output
    assert (out / "mcuforge_selftest.robot").is_file() and (out / "firmware.elf").is_file()
    refused = CliRunner().invoke(cli, ["test", model, "-b", "stm32f4-discovery", "--robot", "x"])
    assert refused.exit_code == 2 and "add --emulator renode" in refused.output
    no_renode = CliRunner().invoke(cli, ["renode-suite", model, "-b", "mps2-an386", "-o", "y"])
    assert no_renode.exit_code == 2 and "cannot run in Renode" in no_renode.output
    assert "Traceback" not in refused.output + no_renode.output


# ---- the self-test firmware, run for real in QEMU ---------------------------------------------
def _uart_text(elf: Path) -> tuple[str, str]:
    """Everything the firmware printed before its protocol banner, and its model name."""
    with QemuTarget(get_board("mps2-an386"), elf) as device:
        # Link logs every received byte; the self-test lines precede the READY frame.
        text = bytes(device.link._log).decode(errors="replace")
        return text, device.info().model  # the protocol server still runs afterwards


@pytest.mark.qemu
def test_selftest_firmware_prints_the_lines_the_robot_suite_waits_for(
    zoo: Path, suite, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    model = zoo / "hello_world_int8.tflite"
    st = build_selftest(model, get_board("mps2-an386"), tmp_path, vectors=4)
    text, model = _uart_text(st.build.elf)
    lines = [line.strip() for line in text.splitlines()]
    assert model == "hello_world_int8"
    assert [x for x in lines if x.startswith(("PASS", "FAIL"))] == [
        f"PASS vector {i} of 4" for i in range(4)
    ]
    assert "MCUFORGE DONE pass=4 fail=0" in lines
    # The Renode suite (built for stm32f4-discovery with the same vectors) waits for these lines.
    calls, _, _ = _keyword_calls(suite.suite)
    for keyword, args in calls:
        if keyword == "Wait For Line On Uart":
            assert args[0] in lines


@pytest.mark.qemu
def test_selftest_firmware_reports_a_wrong_result(zoo: Path, tmp_path: Path) -> None:
    model = zoo / "hello_world_int8.tflite"
    seeds, crcs = expected_results(model, 3, 0)
    crcs[1][0] ^= 0x00C0FFEE  # a corrupted expectation stands in for a wrong output
    source = tmp_path / "selftest_vectors.c"
    source.write_text(vectors_source("hello_world_int8", seeds, crcs))
    build = build_firmware(
        model,
        get_board("mps2-an386"),
        tmp_path,
        extra_defines=("MCUFORGE_SELFTEST",),
        extra_sources=(source,),
        extra_ldflags=SELFTEST_LDFLAGS,
    )
    text, _ = _uart_text(build.elf)
    lines = [line.strip() for line in text.splitlines()]
    got = f"{crcs[1][0] ^ 0x00C0FFEE:08x}"
    assert f"FAIL vector 1 of 3 output 0 crc={got} expected={crcs[1][0]:08x}" in lines
    assert "PASS vector 0 of 3" in lines and "PASS vector 2 of 3" in lines
    assert "MCUFORGE DONE pass=2 fail=1" in lines


# ---- RenodeTarget's process handling, against a FAKE renode -----------------------------------
FAKE_RENODE = '''\
#!{python}
"""FAKE `renode` for mcuforge's tests. This is NOT Renode: it speaks the monitor framing measured
on Renode (telnet preamble, command echo, "(machine) " prompt, prose errors) and plays a tiny
mcuforge firmware on the socket terminal, so that RenodeTarget's process handling is tested."""
import os, re, socket, struct, sys, threading, time
sys.path.insert(0, {toolchain!r})
from mcuforge import protocol

args = sys.argv[1:]
mon_port = int(args[args.index("--port") + 1])
pid_file = args[args.index("--pid-file") + 1]
mode = os.environ.get("FAKE_RENODE_MODE", "normal")
log = open(os.environ["FAKE_RENODE_LOG"], "a", buffering=1)

log.write(f"pid {{os.getpid()}}\\n")
if mode == "escaping-child":
    # Like the shell wrapper around mono, with the emulator out of the wrapper's process group:
    # only the pid file finds it.
    if os.fork() != 0:
        while True:
            time.sleep(1)
    os.setsid()
    log.write(f"pid {{os.getpid()}}\\n")
with open(pid_file, "w") as fh:
    fh.write(str(os.getpid()))

def text(s):
    return bytes([len(s)]) + s.encode()

def firmware(conn):
    conn.sendall(protocol.encode(protocol.Cmd.EVENT_READY, 0,
                                 bytes([protocol.PROTOCOL_VERSION]) + text("fake firmware")))
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b"\\x00" in buf:
            raw, buf = buf.split(b"\\x00", 1)
            if not raw:
                continue
            f = protocol.decode(raw)
            if f.cmd == protocol.Cmd.PING:
                body = f.payload
            elif f.cmd == protocol.Cmd.INFO:
                body = bytes([protocol.PROTOCOL_VERSION, 1, 1, 0])
                body += struct.pack("<HHIHIBB", 0, 3, 32, 512, 0, 1, 0) + bytes(32)
                body += text("fake firmware") + text("fake_model") + text("fakebuild")
            elif f.cmd == protocol.Cmd.INVOKE:
                body = struct.pack("<iII", 0, 7200, 0)
            else:
                conn.sendall(protocol.encode(f.cmd | 0x80, f.seq, bytes([1])))
                continue
            conn.sendall(protocol.encode(f.cmd | 0x80, f.seq, bytes([0]) + body))

term = None
def serve_terminal(port):
    global term
    term = socket.socket()
    term.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    term.bind(("127.0.0.1", port))
    term.listen(1)
    def run():
        conn, _ = term.accept()
        started.wait()
        firmware(conn)
    threading.Thread(target=run, daemon=True).start()

started = threading.Event()
time.sleep(0.2)  # Renode takes a while to open its monitor: the client must retry
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", mon_port))
srv.listen(1)
conn, _ = srv.accept()
machine = "monitor"

def send(data):
    for i in range(0, len(data), 7):  # small pieces: the client must reassemble
        conn.sendall(data[i:i + 7])

send(b"\\xff\\xfd\\x00\\xff\\xfb\\x01\\xff\\xfb\\x03\\xff\\xfc\\x22"
     b"Renode, version 1.16.0 (FAKE)\\n\\r\\n\\r(monitor) ")
rf = conn.makefile("rb")
platform = None
for line in rf:
    cmd = line.decode().strip()
    log.write(f"cmd {{cmd}}\\n")
    body = ""
    if cmd == "quit":
        if mode in ("ignore-quit", "escaping-child"):
            continue
        send(b"quit\\n\\rRenode is quitting\\r\\n")
        os._exit(0)
    elif cmd.startswith("mach create"):
        machine = cmd.split('"')[1]
    elif cmd.startswith("machine LoadPlatformDescription"):
        platform = cmd.split("@", 1)[1]
    elif cmd == "nvic Frequency":
        # Like Renode's NVIC: the loaded description's systickFrequency, else its default
        # 50 x 0x800000 (or that default anyway: a platform that ignored the override)
        found = re.findall(r"systickFrequency: *(\\d+)", open(platform).read())
        freq = 50 * 0x800000 if mode == "stock-systick" or not found else int(found[-1])
        body = "0x%016X" % freq
    elif cmd.startswith("sysbus LoadELF") and mode == "fail-load":
        body = "There was an error executing command '" + cmd + "'\\nCould not find file"
    elif cmd.startswith("emulation CreateServerSocketTerminal"):
        serve_terminal(int(cmd.split()[2]))
    elif cmd == "start":
        if mode == "hang-start":
            time.sleep(3600)
        body = "Starting emulation..."
        started.set()
    elif cmd.split()[0] not in ("machine", "sysbus", "sysbus.cpu", "emulation", "connector"):
        body = "No such command or device: " + cmd.split()[0]
    send(cmd.encode() + b"\\n\\r" + body.replace("\\n", "\\r\\n\\r").encode() + b"\\r\\r\\n"
         + ("(%s) " % machine).encode())
# Like Renode, closing the monitor socket does not stop the emulator: only quit or a kill.
while True:
    time.sleep(1)
'''


@pytest.fixture
def fake_renode(tmp_path: Path, monkeypatch):  # type: ignore[no-untyped-def]
    """A fake `renode` first on PATH."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    script = bin_dir / "renode"
    toolchain = str(Path(__file__).resolve().parents[1] / "toolchain")
    script.write_text(FAKE_RENODE.format(python=sys.executable, toolchain=toolchain))
    script.chmod(0o755)
    log = tmp_path / "fake-renode.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_RENODE_LOG", str(log))
    elf = tmp_path / "firmware.elf"
    elf.write_bytes(b"\x7fELF fake image")
    yield elf, log
    for pid in _pids(log):  # whatever a failing test left behind: only the fake's own processes
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _pids(log: Path) -> list[int]:
    if not log.exists():
        return []
    lines = log.read_text().splitlines()
    return [int(line.split()[1]) for line in lines if line.startswith("pid ")]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone(pids: list[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_renode_target_lifecycle_with_fake_monitor(fake_renode) -> None:  # type: ignore[no-untyped-def]
    elf, log = fake_renode
    target = RenodeTarget(get_board("stm32f4-discovery"), elf, watchdog_s=60)
    try:
        device = target.start()
        assert device.ping(b"through the fake") == b"through the fake"
        assert device.info().model == "fake_model"
        # The board's 16 MHz written into the platform, read back from the NVIC ->
        # PerformanceInMips 16: 1 tick = 1 instruction
        assert target.systick_hz == 16_000_000 and target.performance_mips == 16
        assert device.invoke().instructions == 7200
        mon_port = target.monitor.port if target.monitor else 0
    finally:
        target.close()
    sent = [line[4:] for line in log.read_text().splitlines() if line.startswith("cmd ")]
    assert sent == [*target.commands, "quit"]
    assert sent[0] == 'mach create "dut"'
    load = next(c for c in sent if c.startswith("machine LoadPlatformDescription @/"))
    assert sent[sent.index(load) + 1] == "nvic Frequency"  # asked right after loading
    assert "sysbus.cpu PerformanceInMips 16" in sent and sent[-2] == "start"
    assert all(documented(c) for c in sent[:-1])
    assert _gone(_pids(log)), "the fake renode survived close()"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", mon_port), timeout=0.5).close()


def test_renode_target_refuses_a_systick_it_did_not_set_with_fake_monitor(
    fake_renode, monkeypatch  # type: ignore[no-untyped-def]
) -> None:
    """A platform whose NVIC ignored the override (Renode's 419,430,400 Hz default) must stop
    the run: instruction counts would be wrong by that ratio."""
    elf, log = fake_renode
    monkeypatch.setenv("FAKE_RENODE_MODE", "stock-systick")
    target = RenodeTarget(get_board("nrf52840-dk"), elf, watchdog_s=60)
    with pytest.raises(TargetError, match=r"SysTick runs at 419430400 Hz on nrf52840-dk, not "
                       r"the board's 64000000 Hz"):
        target.start()
    target.close()
    assert _gone(_pids(log))


@pytest.mark.parametrize("mode", ["ignore-quit", "escaping-child"])
def test_renode_target_kills_what_quit_leaves_behind_with_fake_monitor(
    fake_renode, monkeypatch, mode: str  # type: ignore[no-untyped-def]
) -> None:
    elf, log = fake_renode
    monkeypatch.setenv("FAKE_RENODE_MODE", mode)
    target = RenodeTarget(get_board("stm32f4-discovery"), elf, watchdog_s=60)
    target.quit_timeout_s = 0.5  # the fake never quits: no need to wait as long as for Renode
    try:
        assert target.start().ping(b"x") == b"x"
    finally:
        started = time.monotonic()
        target.close()
    assert time.monotonic() - started < 8
    pids = _pids(log)
    assert pids and _gone(pids), f"{mode}: the fake emulator survived close()"


def test_renode_errors_and_watchdog_with_fake_monitor(fake_renode, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    elf, log = fake_renode
    monkeypatch.setenv("FAKE_RENODE_MODE", "fail-load")
    refused = r"(?s)Renode refused `sysbus LoadELF .*Could not find file"
    with pytest.raises(TargetError, match=refused):
        RenodeTarget(get_board("stm32f4-discovery"), elf).start()
    assert _gone(_pids(log))
    monkeypatch.setenv("FAKE_RENODE_MODE", "hang-start")
    started = time.monotonic()
    with (
        pytest.raises(TargetError, match="stopped by the watchdog after 2 s"),
        open_target(get_board("stm32f4-discovery"), elf, "renode", watchdog_s=2.0),
    ):
        pass
    assert time.monotonic() - started < 15
    assert _gone(_pids(log))


# ---- real Renode (users who have it): every Renode board of the catalog ---------------------
@renode_only
@pytest.mark.renode
@pytest.mark.parametrize("name", RENODE_BOARDS)
# kws: convolutions, depthwise, pooling, fully connected and softmax (it caught Renode's
# Cortex-M85 computing Armv8.1-M code wrongly, which hello_world did not)
@pytest.mark.parametrize("model,vectors", [("hello_world_int8", 5), ("mlperf_kws_ref_model", 4)],
                         ids=["hw", "kws"])
def test_real_renode_runs_the_protocol_bit_exact(
    name: str, model: str, vectors: int, zoo: Path
) -> None:
    result = CliRunner().invoke(
        cli,
        ["test", str(zoo / f"{model}.tflite"), "-b", name, "-n", str(vectors),
         "--emulator", "renode", "--json", "-q"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["board"] == name and report["vectors"] == vectors
    assert report["mismatches"] == 0
    assert report["instructions_per_inference"] > 100


@renode_only
@pytest.mark.renode
def test_real_renode_counts_the_instructions_qemu_counts(zoo: Path, tmp_path: Path) -> None:
    """The same Cortex-M4F code counted by Renode (SysTick on the nRF52840's 64 MHz, a board
    whose stock platform sets no SysTick frequency) and by QEMU's -icount (AN386)."""
    model = zoo / "hello_world_int8.tflite"
    counts = {}
    for board, emulator in (("nrf52840-dk", "renode"), ("mps2-an386", "qemu")):
        b = get_board(board)
        build = build_firmware(model, b, tmp_path / board)
        vectors = random_vectors(build.manifest["inputs"], 3, seed=4)
        with open_target(b, build.elf, emulator) as device:
            counts[board] = [device.run(v, build.manifest["outputs"])[1] for v in vectors]
    # Measured: 1112 vs 1107 (hello_world), 5,832,896 vs 5,832,895 (kws): Renode's SysTick is
    # read at translation-block granularity, a few instructions off; a wrong SysTick frequency
    # would be off by its ratio (419,430,400 / 64,000,000 = 6.6x on the stock nRF52840).
    for renode_count, qemu_count in zip(counts["nrf52840-dk"], counts["mps2-an386"], strict=True):
        assert abs(renode_count - qemu_count) <= 8, counts


@renode_only
@pytest.mark.renode
def test_real_renode_executes_no_helium_on_the_cortex_m85(zoo: Path, tmp_path: Path) -> None:
    """Why ek-ra8m1 builds without Helium (boards/_cpus.toml [cortex-m85]): the M55's Helium
    kernels, built for the EK-RA8M1's memory map, hit an undefined instruction in Renode 1.16.
    GCC also vectorises the firmware's memcpy with MVE, which runs before the boot banner: then
    Renode logs "unsupported AArch32 64 bit system register cp:14" and nothing is sent at all.
    Either way the image never answers; if a later Renode runs it, this fails: then give the
    board Helium kernels."""
    import dataclasses

    board = get_board("ek-ra8m1")
    helium = dataclasses.replace(board, cpu=get_board("mps3-an547").cpu)
    build = build_firmware(zoo / "hello_world_int8.tflite", helium, tmp_path)
    vector = random_vectors(build.manifest["inputs"], 1, seed=1)[0]
    with (
        pytest.raises(
            (DeviceError, LinkError),
            match=r"UsageFault .*cfsr=00010000|sent no boot banner",  # UNDEFINSTR
        ),
        open_target(helium, build.elf, "renode", watchdog_s=120) as device,
    ):
        device.run(vector, build.manifest["outputs"])


@renode_only
@pytest.mark.renode
def test_real_renode_computes_armv8_1m_code_wrongly_on_the_cortex_m85(
    zoo: Path, tmp_path: Path
) -> None:
    """Why ek-ra8m1 builds Armv8-M code (boards/_cpus.toml [cortex-m85]): GCC's Armv8.1-M code
    for kws, bit-exact on QEMU's Cortex-M55, gives wrong outputs in Renode 1.16's Cortex-M85.
    If a later Renode gets it right, this fails: then build the board as Armv8.1-M."""
    import dataclasses

    board = get_board("ek-ra8m1")
    flags = ("-mcpu=cortex-m55+nomve", "-mthumb", "-mfloat-abi=hard")
    v81 = dataclasses.replace(board, cpu=dataclasses.replace(board.cpu, cflags=flags))
    model = zoo / "mlperf_kws_ref_model.tflite"
    report = run_test(model, v81, vectors=5, build_dir=tmp_path, emulator="renode")
    assert report.mismatches > 0


@pytest.mark.skipif(shutil.which("renode-test") is None, reason="renode-test not on PATH")
@pytest.mark.renode
@renode_only
@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_real_renode_test_passes_the_generated_suite(name: str, zoo: Path, tmp_path: Path) -> None:
    suite = write_robot_suite(zoo / "hello_world_int8.tflite", get_board(name), tmp_path, vectors=3)
    proc = subprocess.run(
        ["renode-test", str(suite.suite), "--variable", f"ELF:@{suite.elf}",
         "-r", str(tmp_path / "results")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=suite.directory,
    )
    assert proc.returncode == 0, textwrap.shorten(proc.stdout + proc.stderr, 3000)
    assert "Tests finished successfully" in proc.stdout
    for test in suite.tests:
        assert re.search(rf"Finished test '.*{re.escape(test)}' .*status .*OK", proc.stdout), test


def _with_renode(board, table):  # type: ignore[no-untyped-def]
    import dataclasses

    return dataclasses.replace(board, emulators={**board.emulators, "renode": table})
