"""``mcuforge flash``: the QEMU path end to end (gdbstub load, then bit-exact vectors over serial),
and the real-board paths with ONLY the physical probe or port mocked (names say which): the
commands built from board data, and the errors when nothing is plugged in."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conftest import need_tools
from mcuforge import flash as flashing
from mcuforge.boards import all_boards, get_board
from mcuforge.build import build_firmware
from mcuforge.cli import cli
from mcuforge.errors import TargetError, ToolchainMissing
from mcuforge.flash import esptool as esptool_flash
from mcuforge.flash import gdb, openocd, ports, pyocd
from mcuforge.flash.ports import Port
from mcuforge.flash.pyocd import Probe
from mcuforge.reference import Reference
from mcuforge.target.device import DeviceInfo
from mcuforge.vectors import random_vectors
from mcuforge.verify import compare


@pytest.fixture(scope="module")
def an386_build(zoo: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    need_tools("arm-none-eabi-gcc", "qemu-system-arm", "gdb-multiarch")
    return build_firmware(
        zoo / "hello_world_int8.tflite", get_board("mps2-an386"), tmp_path_factory.mktemp("an386")
    )


@pytest.mark.qemu
def test_flash_into_qemu_through_gdbstub_then_vectors_are_bit_exact(
    an386_build,  # type: ignore[no-untyped-def]
    zoo: Path,
) -> None:
    reference = Reference(zoo / "hello_world_int8.tflite")
    steps: list[str] = []
    # QEMU starts halted WITHOUT -kernel: the only way the firmware gets in is GDB's `load`.
    with flashing.flash_qemu(an386_build.board, an386_build.elf, progress=steps.append) as device:
        assert device.info().model == "hello_world_int8"
        vectors = random_vectors(an386_build.manifest["inputs"], 20, seed=7)
        for i, vec in enumerate(vectors):
            got, instructions = device.run(vec, an386_build.manifest["outputs"])
            assert compare(i, got, reference.run(vec.arrays)) is None
            assert instructions > 0
    assert any("loaded and verified .text" in s for s in steps)


@pytest.mark.qemu
def test_cli_flash_qemu_board_reports_the_running_model(an386_build) -> None:  # type: ignore[no-untyped-def]
    # (flash_qemu itself starts QEMU again after a start race, see flashing.start_race)
    result = CliRunner().invoke(cli, ["flash", str(an386_build.directory), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["board"] == "mps2-an386" and report["method"] == "gdb"
    assert report["verified"] and report["model"] == "hello_world_int8"


def test_flash_refuses_a_build_for_another_board(an386_build) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli, ["flash", str(an386_build.directory), "--board", "nucleo-f446re"]
    )
    assert result.exit_code == 2
    assert "was built for mps2-an386, not nucleo-f446re" in result.output
    assert "Traceback" not in result.output


def test_flash_of_a_directory_without_build_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["flash", str(tmp_path), "--board", "nucleo-f446re"])
    assert result.exit_code == 2 and "run `mcuforge build" in result.output


def test_gdb_verification_mismatch_is_an_error() -> None:
    out = (
        "Loading section .text, size 0x1260 lma 0x0\n"
        "Section .text, range 0x0 -- 0x1260: MIS-MATCHED!\n[Inferior 1 (process 1) detached]\n"
    )
    with pytest.raises(TargetError, match="verification failed: .text differ"):
        gdb.check_output(out, "127.0.0.1:3333")
    with pytest.raises(TargetError, match="no GDB server answers"):
        gdb.check_output("127.0.0.1:3333: Connection refused.", "127.0.0.1:3333")


def test_gdb_command_for_an_external_server_uses_board_reset() -> None:
    board = get_board("mps2-an385")
    cmd = gdb.gdb_command("gdb-multiarch", Path("/b/firmware.elf"), "host:3333", ["monitor x"])
    ex = [cmd[i + 1] for i, a in enumerate(cmd) if a == "-ex"]
    assert ex[3:] == ["target remote host:3333", "load", "compare-sections", "monitor x", "detach"]
    assert board.flash_options["gdb"]["reset"] == ["monitor system_reset"]


# ---- real boards: only the probe / port is mocked ------------------------------------------------


def fake_build(tmp_path: Path, board: str) -> Path:
    """A build directory as `mcuforge build` leaves it; the files' contents do not matter
    because the flashing tool itself is replaced."""
    for name in ("firmware.elf", "firmware.hex", "firmware.bin"):
        (tmp_path / name).write_bytes(b"\0")
    (tmp_path / "build.json").write_text(json.dumps({"board": board}))
    return tmp_path


class Recorder:
    """Stands in for subprocess.run: records commands, answers with canned output."""

    def __init__(self, output: str = "", returncode: int = 0):
        self.commands: list[list[str]] = []
        self.output, self.returncode = output, returncode

    def __call__(self, cmd: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(cmd))
        return subprocess.CompletedProcess(cmd, self.returncode, self.output, "")


def no_ports(monkeypatch: pytest.MonkeyPatch, found: list[Port] | None = None) -> None:
    monkeypatch.setattr(ports, "list_serial_ports", lambda: found or [])


def test_pyocd_command_for_nucleo_mock_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "nucleo-f446re")
    monkeypatch.setattr(pyocd, "list_probes", lambda: [Probe("066DFF49", "NUCLEO-F446RE")])
    run = Recorder("0001:I load Loading ...\nComparing 5936 bytes @ 0x08000000\n")
    monkeypatch.setattr(pyocd.subprocess, "run", run)
    monkeypatch.setattr(flashing, "method_available", lambda m: m == "pyocd")
    vcp = Port("/dev/ttyACM0", 0x0483, 0x374B, "STM32 STLink")
    no_ports(monkeypatch, [vcp])
    info = DeviceInfo(1, 1, 1, False, False, 0, 3, 32, 512, "mcuforge nucleo", "hello_world_int8")
    monkeypatch.setattr(flashing, "ask_device", lambda port, board: info)

    report = flashing.flash_build(build)
    assert run.commands == [
        [
            sys.executable,
            "-m",
            "pyocd",
            "commander",
            "--no-wait",
            "--target",
            "stm32f446retx",
            "--uid",
            "066DFF49",
            "-c",
            f"load {build / 'firmware.hex'}",
            "-c",
            f"compare 0x08000000 {build / 'firmware.bin'}",
            "-c",
            "reset",
        ]
    ]
    assert (report.method, report.target, report.port) == ("pyocd", "066DFF49", "/dev/ttyACM0")
    assert report.verified and report.model == "hello_world_int8"


def test_pyocd_without_probe_names_what_to_plug_in_mock_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "nucleo-f446re")
    monkeypatch.setattr(pyocd, "list_probes", lambda: [])
    monkeypatch.setattr(flashing, "method_available", lambda m: m == "pyocd")
    result = CliRunner().invoke(cli, ["flash", str(build)])
    assert result.exit_code == 2
    assert "no debug probe found for nucleo-f446re: connect the NUCLEO's ST-LINK USB" in (
        result.output
    )
    assert "Traceback" not in result.output


def test_pyocd_unknown_target_says_to_install_the_pack_mock_probe() -> None:
    board = get_board("stm32f4-discovery")
    with pytest.raises(TargetError, match="pyocd pack install stm32f407vgtx"):
        pyocd.check_output(board, "Target type stm32f407vgtx not recognized.", 1)
    with pytest.raises(TargetError, match="verification failed"):
        pyocd.check_output(board, "Mismatched byte at 0x08000010", 0)


def test_openocd_command_for_stm32f4_discovery_mock_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "stm32f4-discovery")
    monkeypatch.setattr(openocd.shutil, "which", lambda name: f"/usr/bin/{name}")
    run = Recorder("** Programming Finished **\n** Verify Started **\n** Verified OK **\n")
    monkeypatch.setattr(openocd.subprocess, "run", run)
    no_ports(monkeypatch)  # no VCP: the MB997B/C has none; flashing still succeeds
    report = flashing.flash_build(build, method="openocd")
    assert run.commands == [
        [
            "/usr/bin/openocd",
            "-f",
            "board/stm32f4discovery.cfg",
            "-c",
            f"program {{{build / 'firmware.elf'}}} verify reset exit",
        ]
    ]
    assert report.verified and report.port is None
    assert "wire a 3.3 V USB-serial adapter to PA2" in report.notes[0]


def test_openocd_without_probe_names_what_to_plug_in_mock_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "nrf52840-dk")
    monkeypatch.setattr(openocd.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(
        openocd.subprocess, "run", Recorder("Error: No J-Link device found.\n", returncode=1)
    )
    with pytest.raises(TargetError, match="no debug probe found for nrf52840-dk: connect the DK"):
        flashing.flash_build(build, method="openocd")
    cmd = openocd.openocd_command(get_board("nrf52840-dk"), build)
    assert cmd[1:7] == [
        "-f",
        "interface/jlink.cfg",
        "-c",
        "transport select swd",
        "-f",
        "target/nrf52.cfg",
    ]


def test_esptool_commands_for_esp32c3_mock_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "esp32c3-devkitm-1")
    no_ports(monkeypatch, [Port("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102 USB to UART")])
    run = Recorder("Hash of data verified.\n")
    monkeypatch.setattr(esptool_flash.subprocess, "run", run)
    info = DeviceInfo(1, 1, 1, False, False, 0, 3, 32, 512, "mcuforge c3", "hello_world_int8")
    monkeypatch.setattr(flashing, "ask_device", lambda port, board: info)
    report = flashing.flash_build(build)
    image = str(build / "firmware.bin")
    common = [sys.executable, "-m", "esptool", "--chip", "esp32c3", "--port", "/dev/ttyUSB0"]
    assert run.commands == [
        [*common, "--baud", "460800", "--after", "no-reset", "write-flash", "0x0", image],
        [*common, "--baud", "460800", "--after", "hard-reset", "verify-flash", "0x0", image],
    ]
    assert (report.method, report.port, report.model) == (
        "esptool",
        "/dev/ttyUSB0",
        "hello_world_int8",
    )


def test_no_serial_port_names_usb_ids_and_what_to_plug_in_mock_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "esp32c3-devkitm-1")
    no_ports(monkeypatch, [Port("/dev/ttyACM3", 0x2341, 0x0043, "Arduino Uno")])
    result = CliRunner().invoke(cli, ["flash", str(build)])
    assert result.exit_code == 2
    assert "no serial port of esp32c3-devkitm-1 found (USB IDs 10c4:ea60, 303a:1001)" in (
        result.output
    )
    assert "micro-USB" in result.output and "--port" in result.output
    assert "Traceback" not in result.output


def test_port_detection_prefers_board_order_and_refuses_ambiguity_mock_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    board = get_board("esp32c3-devkitm-1")
    jtag = Port("/dev/ttyACM0", 0x303A, 0x1001, "USB JTAG/serial debug unit")
    bridge = Port("/dev/ttyUSB0", 0x10C4, 0xEA60, "CP2102")
    no_ports(monkeypatch, [jtag, bridge])
    assert ports.find_port(board) == "/dev/ttyUSB0"
    no_ports(monkeypatch, [bridge, Port("/dev/ttyUSB1", 0x10C4, 0xEA60, "CP2102")])
    with pytest.raises(TargetError, match="several esp32c3-devkitm-1 ports"):
        ports.find_port(board)


def test_missing_flash_tools_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build = fake_build(tmp_path, "nucleo-f446re")
    monkeypatch.setattr(flashing, "method_available", lambda m: False)
    with pytest.raises(ToolchainMissing) as exc:
        flashing.flash_build(build)
    assert "pip install pyocd" in str(exc.value) and "apt install openocd" in str(exc.value)


def test_xtensa_board_cannot_be_flashed_by_mcuforge(tmp_path: Path) -> None:
    build = fake_build(tmp_path, "esp32dev")
    result = CliRunner().invoke(cli, ["flash", str(build)])
    assert result.exit_code == 2
    assert "mcuforge export platformio" in result.output and "pio run -t upload" in result.output


# ---- Renode's GDB server (users who have Renode) ---------------------------------------------
RENODE_BOARDS = sorted(n for n, b in all_boards().items() if "renode" in b.emulators)
renode_only = pytest.mark.skipif(
    shutil.which("renode") is None,
    reason="Renode not installed (not on PyPI, Debian or npm; get it from https://renode.io)",
)


@renode_only
@pytest.mark.renode
@pytest.mark.parametrize("name", RENODE_BOARDS)
def test_flash_into_renode_through_its_gdb_server_then_vectors_are_bit_exact(
    name: str, zoo: Path, tmp_path: Path
) -> None:
    need_tools("gdb-multiarch")
    board = get_board(name)
    build = build_firmware(zoo / "hello_world_int8.tflite", board, tmp_path)
    reference = Reference(zoo / "hello_world_int8.tflite")
    steps: list[str] = []
    # Renode starts with no image: the only way the firmware gets in is GDB's `load`.
    with flashing.flash_renode(board, build.elf, progress=steps.append) as device:
        assert device.info().model == "hello_world_int8"
        for i, vec in enumerate(random_vectors(build.manifest["inputs"], 5, seed=9)):
            got, instructions = device.run(vec, build.manifest["outputs"])
            assert compare(i, got, reference.run(vec.arrays)) is None
            assert instructions > 0
    assert any("loaded and verified .text" in s for s in steps)


@renode_only
@pytest.mark.renode
def test_cli_flash_emulator_renode_reports_the_running_model(zoo: Path, tmp_path: Path) -> None:
    need_tools("gdb-multiarch")
    build = build_firmware(zoo / "hello_world_int8.tflite", get_board("nrf52840-dk"), tmp_path)
    result = CliRunner().invoke(
        cli, ["flash", str(build.directory), "--emulator", "renode", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["board"] == "nrf52840-dk" and report["method"] == "gdb"
    assert report["target"].startswith("Renode ") and report["verified"]
    assert report["model"] == "hello_world_int8"


def test_flash_emulator_refuses_a_board_it_cannot_run(an386_build) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli, ["flash", str(an386_build.directory), "--emulator", "renode"]
    )
    assert result.exit_code == 2
    assert "mps2-an386 cannot run in renode (emulators: qemu)" in result.output
    assert "Traceback" not in result.output
