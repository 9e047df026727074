"""The ESP32-C3's instruction set, run: the rv32imc build of the runtime, kernels and protocol
server on QEMU's 32-bit ``virt`` machine (an rv32imc core, NS16550A console), bit-exact against
TFLM with exact instruction counts. A few boots only (make test budget)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from elftools.elf.elffile import ELFFile

from conftest import need_tools
from mcuforge.boards import get_board
from mcuforge.build import build_firmware
from mcuforge.cli import cli
from mcuforge.target.qemu import QemuTarget
from mcuforge.vectors import random_vectors

ZOO = Path(__file__).parent / "zoo"
BOARD = "qemu-riscv32-virt"


@pytest.mark.qemu
@pytest.mark.parametrize(
    "model,vectors", [("hello_world_int8", 20), ("mlperf_kws_ref_model", 4)], ids=["hw", "kws"]
)
def test_rv32imc_on_qemu_virt_is_bit_exact(model: str, vectors: int) -> None:
    need_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    result = CliRunner().invoke(
        cli,
        ["test", str(ZOO / f"{model}.tflite"), "-b", BOARD, "-n", str(vectors), "--json", "-q"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["board"] == BOARD and report["vectors"] == vectors
    assert report["mismatches"] == 0
    assert report["instructions_per_inference"] > 1000


@pytest.mark.qemu
def test_rv32_instruction_counts_are_exact_at_any_icount_shift(tmp_path: Path) -> None:
    """minstret reads virtual ns under -icount: slowing instructions down 8x must give the
    same instruction counts, to the instruction."""
    need_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    board = get_board(BOARD)
    build = build_firmware(ZOO / "hello_world_int8.tflite", board, tmp_path)
    vectors = random_vectors(build.manifest["inputs"], 3, seed=1)
    counts = []
    for shift in (0, 3):
        target = QemuTarget(board, build.elf)
        target.shift = shift
        with target as device:
            counts.append([device.run(v, build.manifest["outputs"])[1] for v in vectors])
    assert counts[0] == counts[1]
    assert all(c > 1000 for c in counts[0])


def test_rv32_build_is_rv32imc_code_in_qemu_virt_ram(tmp_path: Path) -> None:
    need_tools("riscv64-unknown-elf-gcc")
    board = get_board(BOARD)
    build = build_firmware(ZOO / "hello_world_int8.tflite", board, tmp_path)
    with build.elf.open("rb") as fh:
        elf = ELFFile(fh)
        assert elf.elfclass == 32 and elf["e_machine"] == "EM_RISCV"
        # EF_RISCV_RVC (compressed), float ABI soft: the ESP32-C3's rv32imc/ilp32
        assert elf["e_flags"] & 0x1 and not elf["e_flags"] & 0x6
        assert board.flash.contains(elf["e_entry"])
    assert board.emulators["qemu"]["binary"] == "qemu-system-riscv32"


GDB_COUNT = """\
import gdb
gdb.execute("set pagination off")
gdb.execute("target remote 127.0.0.1:{port}")
gdb.execute("break hello_world_int8_invoke")
open({marker!r}, "w").close()  # the host may send INVOKE now: the CPU stops at the breakpoint
gdb.execute("continue")
ra = int(gdb.parse_and_eval("$ra"))
n = 0
while int(gdb.parse_and_eval("$pc")) != ra:
    gdb.execute("stepi", to_string=True)
    n += 1
print("STEPPED", n)
gdb.execute("delete")
gdb.execute("detach")
"""


@pytest.mark.qemu
def test_rv32_instruction_count_matches_gdb_single_stepping(tmp_path: Path) -> None:
    """An independent count: GDB single-steps the whole inference (hello_world_int8_invoke, entry to
    return) through QEMU's gdbstub; the firmware's minstret count of the same call must equal
    it up to the fixed cost of the call and the counter reads around it (a counter with any
    other scale, such as mtime, would be off by orders of magnitude)."""
    import subprocess
    import time

    from mcuforge.flash import free_port
    from mcuforge.flash.gdb import find_gdb

    need_tools("riscv64-unknown-elf-gcc", "qemu-system-riscv32")
    board = get_board(BOARD)
    build = build_firmware(ZOO / "hello_world_int8.tflite", board, tmp_path)
    vector = random_vectors(build.manifest["inputs"], 1, seed=5)[0]
    port = free_port()
    with QemuTarget(board, build.elf, gdb_port=port, link_timeout=600) as device:
        _, free_run = device.run(vector, build.manifest["outputs"])
        marker = tmp_path / "armed"
        script = tmp_path / "count.py"
        script.write_text(GDB_COUNT.format(port=port, marker=str(marker)))
        log = tmp_path / "gdb.log"
        with log.open("w") as out:  # a file, not a pipe: GDB prints every step's location
            gdb = subprocess.Popen(
                [find_gdb(), "-q", "-batch", "-nx", "-x", str(script), str(build.elf)],
                stdout=out, stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + 30
            while not marker.exists() and gdb.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            # (the count of this run is not compared: QEMU's virtual clock runs on while the
            # gdbstub holds the CPU between steps)
            device.run(vector, build.manifest["outputs"])
            gdb.wait(timeout=600)  # ~3,800 single steps: slow on a loaded machine
    text = log.read_text()
    assert "STEPPED" in text, text[-2000:]
    stepped = int(text.split("STEPPED", 1)[1].split()[0])
    # measured: 16 = the call, the return and the minstret reads around it
    assert 0 <= free_run - stepped <= 24, (free_run, stepped)
