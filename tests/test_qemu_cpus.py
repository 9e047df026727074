"""More CPUs: bit-exact runs on QEMU's Cortex-M3 (AN385), M7 (AN500) and M55 (AN547) with exact
instruction counts; the real-board platforms (STM32F4, nRF52840, ESP32-C3) build within budget;
the STM32 USART driver answers on QEMU's STM32F405 machine; Xtensa boards point to PlatformIO."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from elftools.elf.elffile import ELFFile

from conftest import need_tools
from mcuforge.boards import all_boards, get_board
from mcuforge.build import build_firmware
from mcuforge.cli import cli
from mcuforge.errors import TargetError
from mcuforge.image import image_info
from mcuforge.reference import Reference
from mcuforge.target.qemu import QemuTarget, icount_shift
from mcuforge.vectors import random_vectors
from mcuforge.verify import compare, run_test

ZOO = Path(__file__).parent / "zoo"
EMULATED = ["mps2-an385", "mps2-an500", "mps3-an547"]
def invoke(args: list[str]) -> Result:
    return CliRunner().invoke(cli, args)


def booted(make: Callable[[], QemuTarget]) -> QemuTarget:
    target = make()
    try:
        target.start()
    except Exception:
        target.close()
        raise
    return target


MODELS = [("hello_world_int8", 20), ("mlperf_kws_ref_model", 10)]


@pytest.mark.qemu
@pytest.mark.parametrize("board", EMULATED)
@pytest.mark.parametrize("model,vectors", MODELS, ids=["hello_world", "kws"])
def test_bit_exact_on_emulated_cpu(board: str, model: str, vectors: int) -> None:
    need_tools("arm-none-eabi-gcc", "qemu-system-arm")
    result = invoke(
        ["test", str(ZOO / f"{model}.tflite"), "--board", board, "--vectors", str(vectors)]
        + ["--json", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["board"] == board and report["model"] == model
    assert report["vectors"] == vectors and report["mismatches"] == 0
    assert report["instructions_per_inference"] > 0


@pytest.mark.qemu
@pytest.mark.parametrize("board", EMULATED)
def test_instruction_counts_do_not_depend_on_the_icount_shift(board: str, tmp_path: Path) -> None:
    """The tick-to-instruction conversion is right on each machine (SysTick at 25 or 32 MHz):
    slowing virtual instructions down by 4x must give the same counts."""
    b = get_board(board)
    build = build_firmware(ZOO / "hello_world_int8.tflite", b, tmp_path)
    vectors = random_vectors(build.manifest["inputs"], 3, seed=1)
    counts = []
    for shift in (icount_shift(b.clock_hz), icount_shift(b.clock_hz) + 2):

        def make(shift: int = shift) -> QemuTarget:
            target = QemuTarget(b, build.elf)
            target.shift = shift
            return target

        target = booted(make)
        try:
            assert target.device is not None
            device = target.device
            counts.append([device.run(v, build.manifest["outputs"])[1] for v in vectors])
        finally:
            target.close()
    assert counts[0] == counts[1]
    assert all(c > 100 for c in counts[0])


# Every Arm board QEMU does not run (the real boards, most of them checked in Renode where it is
# installed): their firmware builds in CI with the board's own driver, from the catalog.
REAL_ARM_BOARDS = sorted(
    name
    for name, b in all_boards().items()
    if b.buildable and b.cpu.toolchain.prefix == "arm-none-eabi-" and "qemu" not in b.emulators
)


@pytest.mark.parametrize("board", REAL_ARM_BOARDS)
def test_real_board_builds_within_budget(board: str, tmp_path: Path) -> None:
    need_tools("arm-none-eabi-gcc")
    b = get_board(board)
    model = "mlperf_kws_ref_model"
    result = build_firmware(ZOO / f"{model}.tflite", b, tmp_path)
    assert result.elf.stat().st_size > 0
    assert result.hex.read_text().startswith(":")
    assert 0 < result.size.flash_bytes <= b.flash.size
    assert 0 < result.size.ram_bytes <= b.ram.size
    with result.elf.open("rb") as fh:
        elf = ELFFile(fh)
        vectors = elf.get_section_by_name(".text")
        assert vectors["sh_addr"] == b.flash.origin  # vector table first, at the boot address
        initial_sp = int.from_bytes(vectors.data()[:4], "little")
        assert b.ram.origin < initial_sp <= b.ram.end
        # The board's console driver is the one compiled in (DWARF names every source file).
        units = {
            cu.get_top_DIE().attributes["DW_AT_name"].value.decode()
            for cu in elf.get_dwarf_info().iter_CUs()
        }
    assert any(f"platform/{b.platform}/" in u for u in units), sorted(units)
    assert not any("platform/cmsdk/" in u for u in units)


@pytest.mark.qemu
def test_stm32_usart_driver_answers_on_qemu_stm32f405(tmp_path: Path) -> None:
    """QEMU's netduinoplus2 is an STM32F405: same USART2, GPIOA, RCC and IRQ 38 as the
    STM32F407 on the Discovery. The driver (BRR, AF7 pins, RXNE interrupt) must serve the
    protocol there bit-exactly. (Its SysTick runs at 168 MHz: counts are not checked.)"""

    class SecondSerial(QemuTarget):
        def command(self, qmp_path: str) -> list[str]:
            cmd = super().command(qmp_path)
            at = cmd.index("-serial")  # USART1 is QEMU's first serial, USART2 the second
            return cmd[:at] + ["-serial", "null"] + cmd[at:]

    board = get_board("stm32f4-discovery")
    emulated = dataclasses.replace(board, emulators={"qemu": {"machine": "netduinoplus2"}})
    build = build_firmware(ZOO / "hello_world_int8.tflite", emulated, tmp_path)
    reference = Reference(ZOO / "hello_world_int8.tflite")
    target = booted(lambda: SecondSerial(emulated, build.elf))
    try:
        device = target.device
        assert device is not None
        assert device.info().firmware.endswith("stm32f4-discovery")
        for i, vec in enumerate(random_vectors(build.manifest["inputs"], 10, seed=3)):
            got, _ = device.run(vec, build.manifest["outputs"])
            assert compare(i, got, reference.run(vec.arrays)) is None
    finally:
        target.close()


def test_esp32c3_build_gives_an_image_esptool_accepts(tmp_path: Path) -> None:
    need_tools("riscv64-unknown-elf-gcc")
    b = get_board("esp32c3-devkitm-1")
    result = build_firmware(ZOO / "hello_world_int8.tflite", b, tmp_path)
    image = result.bin.read_bytes()
    assert image[0] == 0xE9  # Espressif image magic, not a raw binary
    info = image_info(b, result.bin)
    assert "Chip ID: 5 (ESP32-C3)" in info
    assert "Checksum:" in info and "(valid)" in info
    assert "Validation hash:" in info and "invalid" not in info
    iram, dram = b.memory["iram"], b.ram
    with result.elf.open("rb") as fh:
        entry = ELFFile(fh).header["e_entry"]
    assert iram.contains(entry) and f"Entry point: 0x{entry:08x}" in info
    assert "IRAM" in info and "DRAM" in info and not dram.contains(entry)
    # Everything the ROM copies fits SRAM below its own stack.
    assert result.size.ram_bytes <= b.ram.size


def test_esp32dev_build_fails_with_the_platformio_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["build", str(ZOO / "hello_world_int8.tflite"), "-b", "esp32dev", "-o", str(tmp_path)],
    )
    assert result.exit_code == 2
    assert "mcuforge cannot build for esp32dev" in result.output
    assert "mcuforge export platformio" in result.output and "PlatformIO" in result.output
    assert "internet" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "firmware.elf").exists()


def test_run_test_refuses_a_board_without_qemu(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="cannot run in QEMU"):
        run_test(
            ZOO / "hello_world_int8.tflite",
            get_board("nucleo-f446re"),
            vectors=1,
            build_dir=tmp_path,
        )


@pytest.mark.qemu
def test_vectorized_startup_boots_on_the_m55(tmp_path: Path) -> None:
    """At -O3 GCC vectorizes the startup's .data/.bss loops with Helium instructions: the
    coprocessor must be enabled before them or the core faults before the banner."""
    board = get_board("mps3-an547")
    build = build_firmware(ZOO / "hello_world_int8.tflite", board, tmp_path, opt="-O3")
    reference = Reference(ZOO / "hello_world_int8.tflite")
    with QemuTarget(board, build.elf) as device:
        for vector in random_vectors(build.manifest["inputs"], 5, seed=2):
            got, _ = device.run(vector, build.manifest["outputs"])
            assert compare(0, got, reference.run(vector.arrays)) is None
