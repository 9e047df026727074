"""Helpers for the library-export tests (test_export_lib.py, test_export_sdk.py): build with
CMake, run in QEMU with semihosting, read what the examples print, compute what TFLM outputs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
from elftools.elf.elffile import ELFFile

from conftest import need_tools
from mcuforge.boards import Board
from mcuforge.export.library import SAMPLE_SEED, ModelLibrary
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.reference import Reference
from mcuforge.vectors import random_vectors

STANDINS = Path(__file__).parent / "sdk_standins"
MODELS = ("mlperf_kws_ref_model", "mlperf_ad01_int8")
NAMES = ("kws", "ad01")
OUTPUT_LINE = re.compile(r"^(\w+) output (\d+):((?: [0-9a-f]{2})*)$")


def zoo_models(zoo: Path) -> list[Path]:
    return [zoo / f"{m}.tflite" for m in MODELS]


def cmake(source: Path, build: Path, toolchain: Path, *, cflags: str = "", ldflags: str = "",
           defines: tuple[str, ...] = ()) -> None:
    """Configure and build; CFLAGS/LDFLAGS extend (not replace) the toolchain file's flags."""
    need_tools("cmake")
    env = {**os.environ, "CFLAGS": cflags, "CXXFLAGS": "", "LDFLAGS": ldflags}
    configure = ["cmake", "-S", str(source), "-B", str(build),
                 f"-DCMAKE_TOOLCHAIN_FILE={toolchain}", *[f"-D{d}" for d in defines]]
    for cmd in (configure, ["cmake", "--build", str(build), "-j2"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def make_vectors(library: ModelLibrary, count: int, seed: int) -> list[list[list[np.ndarray]]]:
    """vectors[v][model] = that model's inputs for vector v."""
    per_model = [random_vectors(m.manifest["inputs"], count, seed=seed + i)
                 for i, m in enumerate(library.models)]
    return [[per_model[i][v].arrays for i in range(len(library.models))] for v in range(count)]


def input_file(path: Path, vectors: list[list[list[np.ndarray]]]) -> Path:
    path.write_bytes(b"".join(np.ascontiguousarray(a).tobytes()
                              for vector in vectors for inputs in vector for a in inputs))
    return path


def printed(text: str) -> list[tuple[str, int, bytes]]:
    """(model, output index, bytes) for each output line the examples print (a line of hex may
    continue on following lines that start with a space)."""
    found: list[tuple[str, int, bytes]] = []
    pending: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("  ") and pending:
            pending[-1] += " " + line.strip()
            continue
        for done in pending:
            m = OUTPUT_LINE.match(done)
            assert m, done
            found.append((m[1], int(m[2]), bytes.fromhex(m[3].replace(" ", ""))))
        pending = [line] if OUTPUT_LINE.match(line) else []
    return found


def tflm_outputs(models: list[Path], library: ModelLibrary,
              vectors: list[list[list[np.ndarray]]]) -> list[tuple[str, int, bytes]]:
    """What TFLM's interpreter outputs for the vectors, in the order the example prints."""
    refs = [Reference(p) for p in models]
    out = []
    for vector in vectors:
        for m, ref, inputs in zip(library.models, refs, vector, strict=True):
            for i, (arr, info) in enumerate(zip(ref.run(inputs), m.manifest["outputs"],
                                                strict=True)):
                out.append((m.prefix, i, arr.astype(NUMPY_DTYPES[info["dtype"]]).tobytes()))
    return out


def sample_expected(models: list[Path], library: ModelLibrary) -> list[tuple[str, int, bytes]]:
    """The sample every example embeds, recomputed here from its seed with TFLM."""
    vector = [random_vectors(m.manifest["inputs"], 1, seed=SAMPLE_SEED)[0].arrays
              for m in library.models]
    return tflm_outputs(models, library, [vector])


def qemu(board: Board, elf: Path, *args: str) -> tuple[int, str]:
    need_tools("qemu-system-arm")
    semihosting = ",".join(["enable=on", "target=native", *[f"arg={a}" for a in args]])
    proc = subprocess.run(
        ["qemu-system-arm", "-M", board.emulators["qemu"]["machine"], "-display", "none",
         "-serial", "none", "-monitor", "none", "-semihosting-config", semihosting,
         "-kernel", str(elf)],
        capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr  # semihosting writes to stderr


def semihost_link(board: Board) -> str:
    """picolibc's semihosting startup and linker script with the board's memory."""
    return " ".join([
        "--oslib=semihost", "--crt0=semihost",
        f"-Wl,--defsym=__flash={board.flash.origin:#x}",
        f"-Wl,--defsym=__flash_size={board.flash.size:#x}",
        f"-Wl,--defsym=__ram={board.ram.origin:#x}",
        f"-Wl,--defsym=__ram_size={board.ram.size:#x}",
    ])


def cross_toolchain(path: Path, board: Board, cflags: list[str]) -> Path:
    prefix = board.cpu.toolchain.prefix
    path.write_text("\n".join([
        "set(CMAKE_SYSTEM_NAME Generic)",
        f"set(CMAKE_C_COMPILER {prefix}gcc)",
        f"set(CMAKE_CXX_COMPILER {prefix}g++)",
        "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)",
        f'set(CMAKE_C_FLAGS_INIT "{" ".join(cflags)}")', ""]))  # also on the link line
    return path


def symbol_sections(elf: Path) -> dict[str, str]:
    with elf.open("rb") as fh:
        f = ELFFile(fh)
        names = {i: s.name for i, s in enumerate(f.iter_sections())}
        symtab = f.get_section_by_name(".symtab")
        return {s.name: names.get(s["st_shndx"], str(s["st_shndx"]))
                for s in symtab.iter_symbols() if isinstance(s["st_shndx"], int)}


def elf_sections(elf: Path) -> dict[str, tuple[int, int, str]]:
    with elf.open("rb") as fh:
        return {s.name: (s["sh_addr"], s["sh_size"], s["sh_type"])
                for s in ELFFile(fh).iter_sections()}
