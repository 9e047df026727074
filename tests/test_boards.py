"""The board registry: every board file validates, the CLI lists them, and a malformed board file
fails with an error that names the file and the key."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcuforge import resources
from mcuforge.boards import all_boards, get_board, load_board_file
from mcuforge.build import board_config_header, linker_script
from mcuforge.cli import cli
from mcuforge.errors import BoardError

EXPECTED = {
    "mps2-an385",
    "mps2-an386",
    "mps2-an500",
    "mps3-an547",
    "stm32f4-discovery",
    "nucleo-f446re",
    "nrf52840-dk",
    "esp32c3-devkitm-1",
    "esp32dev",
    "esp32-s3-devkitc-1",
    "arduino-nano-33-ble-sense",
    "nucleo-h753zi",
    "nucleo-l552ze-q",
    "ek-ra8m1",
    "qemu-riscv32-virt",
}


def test_every_board_file_validates() -> None:
    boards = all_boards()
    assert set(boards) >= EXPECTED
    for name, board in boards.items():
        assert board.path is not None and board.path.name == f"{name}.toml"
        assert board.flash.size > 0 and board.ram.size > 0
        assert 0 <= board.console.irq < board.irq_count
        # Only emulated boards may do without USB IDs for port detection.
        assert board.usb_ids or board.emulated


def test_every_emulated_board_says_it_was_verified_there() -> None:
    """The test suite runs every board on every emulator its file names (tests/test_qemu*.py
    for QEMU boards, tests/test_renode.py -m renode for Renode boards, parametrized from this
    catalog), so each emulator a board lists is one it claims as verified, and the CLI says so."""
    result = CliRunner().invoke(cli, ["boards", "--json"])
    listed = {b["name"]: b for b in json.loads(result.stdout)}
    for name, board in all_boards().items():
        assert set(board.emulators) <= set(board.verified), name
        assert listed[name]["verified"] == list(board.verified)
    table = CliRunner().invoke(cli, ["boards"]).stdout.splitlines()
    assert table[0].split()[:7] == ["board", "cpu", "flash", "RAM", "emulators", "verified",
                                    "description"]


def test_boards_json_lists_flash_and_ram() -> None:
    result = CliRunner().invoke(cli, ["boards", "--json"])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert len(listed) >= 8
    for b in listed:
        assert b["flash"]["bytes"] > 0 and b["ram"]["bytes"] > 0, b["name"]
    by_name = {b["name"]: b for b in listed}
    assert by_name["stm32f4-discovery"]["flash"] == {"origin": 0x08000000, "bytes": 1 << 20}
    assert by_name["nucleo-f446re"]["ram"]["bytes"] == 128 * 1024
    assert by_name["nrf52840-dk"]["usb_ids"][0] == "1366:1015"
    assert by_name["esp32c3-devkitm-1"]["platformio_board"] == "esp32-c3-devkitm-1"
    assert by_name["esp32dev"]["buildable"] is False
    assert by_name["mps3-an547"]["emulators"] == ["qemu"]


def test_board_facts_reach_the_firmware_config() -> None:
    header = board_config_header(get_board("nucleo-f446re"), "m")
    for macro in (
        "MF_UART_BASE 0x40004400u",
        "MF_UART_RX_IRQ 38u",
        "MF_UART_TX_PIN 0x2u",
        "MF_UART_AF 0x7u",
        "MF_UART_RCC_UART_BIT 0x11u",
        "MF_CPU_HZ 16000000u",
    ):
        assert f"#define {macro}" in header
    # The ESP32-C3 image runs from SRAM: code on the instruction bus, data right after its alias.
    script = linker_script(get_board("esp32c3-devkitm-1"))
    assert "IRAM (rx)   : ORIGIN = 0x40380000" in script
    assert "_sdram = ORIGIN(RAM) + (_etext - ORIGIN(IRAM))" in script


def test_no_code_branches_on_a_board_name() -> None:
    names = "|".join(re.escape(n) for n in all_boards())
    pattern = re.compile(rf"(==|!=|\bin)\s*[\(\[{{]?\s*[\"']({names})[\"']")
    for path in (resources.firmware_dir().parent / "toolchain").rglob("*.py"):
        assert not pattern.search(path.read_text()), path


def _registry(tmp_path: Path) -> Path:
    """A registry of its own with the shared files and one good board file to edit."""
    src = resources.boards_dir()
    for shared in src.glob("_*.toml"):
        shutil.copy(shared, tmp_path / shared.name)
    return tmp_path


GOOD = (resources.boards_dir() / "nucleo-f446re.toml").read_text()


@pytest.mark.parametrize(
    "edit,message",
    [
        (
            lambda s: s.replace("clock_hz = 16_000_000", 'clock_hz = "fast"'),
            "'clock_hz' must be int",
        ),
        (lambda s: s.replace("tx_pin = 2\n", ""), "[console]: missing required key 'tx_pin'"),
        (lambda s: s.replace('"pyocd", "openocd"', '"pyocd", "jtagulator"'), "'jtagulator'"),
        (
            lambda s: s.replace(
                "[memory.ram]\norigin = 0x2000_0000", "[memory.ram]\norigin = 0x0800_1000"
            ),
            "regions 'flash' and 'ram' overlap",
        ),
        (lambda s: s.replace('"0483:374b"', '"0483-374b"'), "usb_ids entry '0483-374b'"),
        (
            lambda s: s.replace("irq_count = 97", "irq_count = 97\nclok_hz = 1"),
            "unknown key 'clok_hz'",
        ),
        (
            lambda s: s.replace('target = "stm32f446retx"', 'targte = "stm32f446retx"'),
            "[flash] [pyocd]: unknown key 'targte'",
        ),
        (
            lambda s: s.replace('cpu = "cortex-m4f"', 'cpu = "cortex-m99"'),
            "unknown cpu 'cortex-m99'",
        ),
        (
            lambda s: s.replace('driver = "stm32_usart"', 'driver = "cmsdk_uart"'),
            "console driver 'cmsdk_uart' belongs to platform 'cmsdk'",
        ),
        (
            lambda s: s + '\n[emulators.renode]\nuart = "sysbus.usart2"\n',
            "[emulators] [renode]: missing required key 'platform'",
        ),
        (
            lambda s: s.replace("irq_count = 97", 'irq_count = 97\nverified = ["renode"]'),
            "verified on 'renode' but [emulators.renode] is missing",
        ),
        (
            lambda s: s.replace("irq_count = 97", 'irq_count = 97\nverified = ["simulator"]'),
            "verified entry 'simulator' unknown",
        ),
        (
            lambda s: s
            + '\n[emulators.renode]\nplatform = "p.repl"\nuart = "u"\nsystick = "x"\n',
            "[emulators] [renode]: unknown key 'systick'",
        ),
        (lambda s: s.replace("irq = 38", "irq = 97"), "console irq 97 outside 0..96"),
        (
            lambda s: s.replace('name = "nucleo-f446re"', 'name = "nucleo"'),
            "must match the file name",
        ),
        (lambda s: s.replace("[memory.flash]", "[memory.flash"), "invalid TOML"),
    ],
)
def test_malformed_board_file_names_file_and_key(tmp_path: Path, edit, message: str) -> None:  # type: ignore[no-untyped-def]
    directory = _registry(tmp_path)
    path = directory / "nucleo-f446re.toml"
    path.write_text(edit(GOOD))
    with pytest.raises(BoardError) as exc:
        all_boards(directory)
    assert "nucleo-f446re.toml" in str(exc.value)
    assert message in str(exc.value)


def test_good_copy_validates_in_its_own_registry(tmp_path: Path) -> None:
    directory = _registry(tmp_path)
    (directory / "nucleo-f446re.toml").write_text(GOOD)
    assert get_board("nucleo-f446re", directory).flash_options["pyocd"]["target"] == "stm32f446retx"
    assert load_board_file(directory / "nucleo-f446re.toml").platformio_board == "nucleo_f446re"


def test_cli_reports_a_malformed_registry_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = _registry(tmp_path)
    (directory / "nucleo-f446re.toml").write_text(GOOD.replace("irq = 38", "irq = -1"))
    monkeypatch.setattr(resources, "boards_dir", lambda: directory)
    result = CliRunner().invoke(cli, ["boards"])
    assert result.exit_code == 2
    assert "nucleo-f446re.toml: console irq -1" in result.output
    assert "Traceback" not in result.output
