"""Library exports (``mcuforge export cmake|zephyr|arduino|esp-idf``): the models in the user's
own firmware.

The CMake package is built with CMake for this computer and for a Cortex-M4 (QEMU mps2-an386):
two models in one program, every output bit-exact with TFLM. Zephyr, the Arduino cores and
ESP-IDF are not installable here: their packages are compiled with exactly the sources,
include directories and flags they declare (their CMakeLists.txt run by CMake against
stand-ins for the SDK functions, tests/sdk_standins/), linked and, where an emulator exists,
run; their manifests are checked against the formats' published schemas.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from elftools.elf.elffile import ELFFile

from conftest import need_tools
from mcuforge.boards import Board, get_board
from mcuforge.cli import cli
from mcuforge.errors import UnsupportedModelError
from mcuforge.export.arduino import export_arduino
from mcuforge.export.cmake import export_cmake, toolchain_flags
from mcuforge.export.espidf import export_espidf
from mcuforge.export.library import SAMPLE_SEED, ExportedPackage, ExportError, ModelLibrary
from mcuforge.export.zephyr import export_zephyr
from mcuforge.model.ir import NUMPY_DTYPES
from mcuforge.reference import Reference
from mcuforge.vectors import random_vectors

STANDINS = Path(__file__).parent / "sdk_standins"
MODELS = ("mlperf_kws_ref_model", "mlperf_ad01_int8")
NAMES = ("kws", "ad01")
_LINE = re.compile(r"^(\w+) output (\d+):((?: [0-9a-f]{2})*)$")


def _models(zoo: Path) -> list[Path]:
    return [zoo / f"{m}.tflite" for m in MODELS]


def _cmake(source: Path, build: Path, toolchain: Path, *, cflags: str = "", ldflags: str = "",
           defines: tuple[str, ...] = ()) -> None:
    """Configure and build; CFLAGS/LDFLAGS extend (not replace) the toolchain file's flags."""
    need_tools("cmake")
    env = {**os.environ, "CFLAGS": cflags, "CXXFLAGS": "", "LDFLAGS": ldflags}
    configure = ["cmake", "-S", str(source), "-B", str(build),
                 f"-DCMAKE_TOOLCHAIN_FILE={toolchain}", *[f"-D{d}" for d in defines]]
    for cmd in (configure, ["cmake", "--build", str(build), "-j2"]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _vectors(library: ModelLibrary, count: int, seed: int) -> list[list[list[np.ndarray]]]:
    """vectors[v][model] = that model's inputs for vector v."""
    per_model = [random_vectors(m.manifest["inputs"], count, seed=seed + i)
                 for i, m in enumerate(library.models)]
    return [[per_model[i][v].arrays for i in range(len(library.models))] for v in range(count)]


def _input_file(path: Path, vectors: list[list[list[np.ndarray]]]) -> Path:
    path.write_bytes(b"".join(np.ascontiguousarray(a).tobytes()
                              for vector in vectors for inputs in vector for a in inputs))
    return path


def _printed(text: str) -> list[tuple[str, int, bytes]]:
    """(model, output index, bytes) for each output line the examples print (a line of hex may
    continue on following lines that start with a space)."""
    found: list[tuple[str, int, bytes]] = []
    pending: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("  ") and pending:
            pending[-1] += " " + line.strip()
            continue
        for done in pending:
            m = _LINE.match(done)
            assert m, done
            found.append((m[1], int(m[2]), bytes.fromhex(m[3].replace(" ", ""))))
        pending = [line] if _LINE.match(line) else []
    return found


def _expected(models: list[Path], library: ModelLibrary,
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


def _sample_expected(models: list[Path], library: ModelLibrary) -> list[tuple[str, int, bytes]]:
    """The sample every example embeds, recomputed here from its seed with TFLM."""
    vector = [random_vectors(m.manifest["inputs"], 1, seed=SAMPLE_SEED)[0].arrays
              for m in library.models]
    return _expected(models, library, [vector])


def _qemu(board: Board, elf: Path, *args: str) -> tuple[int, str]:
    need_tools("qemu-system-arm")
    semihosting = ",".join(["enable=on", "target=native", *[f"arg={a}" for a in args]])
    proc = subprocess.run(
        ["qemu-system-arm", "-M", board.emulators["qemu"]["machine"], "-display", "none",
         "-serial", "none", "-monitor", "none", "-semihosting-config", semihosting,
         "-kernel", str(elf)],
        capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr  # semihosting writes to stderr


def _semihost_link(board: Board) -> str:
    """picolibc's semihosting startup and linker script with the board's memory."""
    return " ".join([
        "--oslib=semihost", "--crt0=semihost",
        f"-Wl,--defsym=__flash={board.flash.origin:#x}",
        f"-Wl,--defsym=__flash_size={board.flash.size:#x}",
        f"-Wl,--defsym=__ram={board.ram.origin:#x}",
        f"-Wl,--defsym=__ram_size={board.ram.size:#x}",
    ])


def _cross_toolchain(path: Path, board: Board, cflags: list[str]) -> Path:
    prefix = board.cpu.toolchain.prefix
    path.write_text("\n".join([
        "set(CMAKE_SYSTEM_NAME Generic)",
        f"set(CMAKE_C_COMPILER {prefix}gcc)",
        f"set(CMAKE_CXX_COMPILER {prefix}g++)",
        "set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)",
        f'set(CMAKE_C_FLAGS_INIT "{" ".join(cflags)}")', ""]))  # also on the link line
    return path


def _symbol_sections(elf: Path) -> dict[str, str]:
    with elf.open("rb") as fh:
        f = ELFFile(fh)
        names = {i: s.name for i, s in enumerate(f.iter_sections())}
        symtab = f.get_section_by_name(".symtab")
        return {s.name: names.get(s["st_shndx"], str(s["st_shndx"]))
                for s in symtab.iter_symbols() if isinstance(s["st_shndx"], int)}


def _sections(elf: Path) -> dict[str, tuple[int, int, str]]:
    with elf.open("rb") as fh:
        return {s.name: (s["sh_addr"], s["sh_size"], s["sh_type"])
                for s in ELFFile(fh).iter_sections()}


# ---- CMake: two models, one program, host and Cortex-M ----------------------------------------

@pytest.fixture(scope="module")
def cmake_package(tmp_path_factory: pytest.TempPathFactory, zoo: Path) -> ExportedPackage:
    out = tmp_path_factory.mktemp("cmake") / "pkg"
    return export_cmake(_models(zoo), get_board("mps2-an386"), out, names=NAMES,
                        arena_section=".mf_arena", weights_section=".mf_weights")


def test_cmake_two_models_on_the_host_bit_exact_in_named_sections(
    cmake_package: ExportedPackage, zoo: Path, tmp_path: Path
) -> None:
    lib, pkg = cmake_package.library, cmake_package.directory
    build = tmp_path / "build"
    _cmake(pkg, build, pkg / "cmake" / "host.cmake", cflags="-Wall -Wextra -Werror")
    example = build / f"{lib.name}_example"

    # the embedded sample: the example checks it against the outputs recorded at export
    proc = subprocess.run([str(example)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "outputs match TFLM" in proc.stdout, proc.stdout
    assert _printed(proc.stdout) == _sample_expected(_models(zoo), lib)

    # vectors from a file: every output of both models equals TFLM's
    vectors = _vectors(lib, 12, seed=5)
    data = _input_file(tmp_path / "inputs.bin", vectors)
    proc = subprocess.run([str(example), "-i", str(data)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _printed(proc.stdout) == _expected(_models(zoo), lib, vectors)

    # the arenas and the weights are in the sections asked for
    where = _symbol_sections(example)
    for p in NAMES:
        assert where[f"{p}_arena"] == ".mf_arena"
    # (the optimizer leaves the weights' static arrays unnamed: the section's size tells)
    sections = _sections(example)
    assert sections[".mf_weights"][1] >= sum(m.manifest["weights_bytes"] for m in lib.models)

    # one static library, each kernel's object once; a C++ program links it (extern "C")
    archive = build / f"lib{lib.name}.a"
    members = subprocess.run(["ar", "t", str(archive)], capture_output=True, text=True,
                             check=True).stdout.split()
    assert len(members) == len(set(members)) == len(lib.paths("source"))
    cpp = tmp_path / "use.cpp"
    cpp.write_text('#include "mcuforge.h"\n#include "mcuforge_models.h"\n'
                   + "".join(f'#include "{p}.h"\n' for p in NAMES)
                   + "void mcuforge_step_hook(uint32_t step) { (void)step; }\n"
                   + "int main() {\n"
                   + "".join(f"    if ({p}_invoke() != 0 || {p}_model.num_inputs != "
                             f"{p.upper()}_NUM_INPUTS) return 1;\n" for p in NAMES)
                   + "    return mcuforge_num_models == 2 ? 0 : 1;\n}\n")
    subprocess.run(["g++", "-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic",
                    f"-I{pkg / 'include'}", str(cpp), str(archive), "-o", str(tmp_path / "use")],
                   check=True)
    assert subprocess.run([str(tmp_path / "use")]).returncode == 0
    # the hook a profiling build calls is defined with C linkage from C++ too
    assert re.search(r" T mcuforge_step_hook$", subprocess.run(
        ["nm", str(tmp_path / "use")], capture_output=True, text=True).stdout, re.M)

    # the example in docs/embedding.md compiles against this package
    doc = (Path(__file__).parents[1] / "docs" / "embedding.md").read_text()
    snippet = re.search(r"```c\n(.*?int classify.*?)```", doc, re.S)[1]
    (tmp_path / "doc.c").write_text(snippet)
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{pkg / 'include'}",
                    "-c", str(tmp_path / "doc.c"), "-o", str(tmp_path / "doc.o")], check=True)


@pytest.mark.qemu
def test_cmake_two_models_on_cortex_m4_in_qemu_bit_exact(
    cmake_package: ExportedPackage, zoo: Path, tmp_path: Path
) -> None:
    lib, pkg = cmake_package.library, cmake_package.directory
    board = get_board("mps2-an386")
    # The user's linker script places the named sections; here around picolibc's default one.
    script = tmp_path / "sections.ld"
    script.write_text(
        "SECTIONS { .mf_weights : ALIGN(16) { KEEP(*(.mf_weights)) } >flash AT>flash :text }"
        " INSERT AFTER .text;\n"
        "SECTIONS { .mf_arena (NOLOAD) : ALIGN(16) { *(.mf_arena) } >ram :ram }"
        " INSERT BEFORE .bss;\n"
        "INCLUDE picolibc.ld\n")
    build = tmp_path / "build"
    _cmake(pkg, build, pkg / "cmake" / "mps2-an386.cmake", cflags="-Wall -Wextra -Werror",
           ldflags=f"-T{script}")
    elf = build / f"{lib.name}_example"

    sections = _sections(elf)
    addr, size, kind = sections[".mf_arena"]
    assert board.ram.contains(addr) and kind == "SHT_NOBITS"
    assert size >= sum(m.plan.arena_bytes for m in lib.models)
    addr, size, kind = sections[".mf_weights"]
    assert board.flash.contains(addr) and kind == "SHT_PROGBITS"

    rc, out = _qemu(board, elf)
    assert rc == 0 and "outputs match TFLM" in out, out[-2000:]
    vectors = _vectors(lib, 8, seed=9)
    data = _input_file(tmp_path / "inputs.bin", vectors)
    rc, out = _qemu(board, elf, "-i", str(data))
    assert rc == 0, out[-2000:]
    assert _printed(out) == _expected(_models(zoo), lib, vectors)


def test_models_sharing_kernels_link_with_their_kernels_compiled_once(
    zoo: Path, tmp_path: Path
) -> None:
    """The same model twice: every kernel and every shape-specialized function is shared, no
    symbol clashes, each kernel's object is in the library once, both run bit-exact."""
    models = [zoo / "mlperf_kws_ref_model.tflite"] * 2
    exported = export_cmake(models, get_board("mps2-an386"), tmp_path / "pkg",
                            names=["kws_a", "kws_b"])
    lib = exported.library
    build = tmp_path / "build"
    _cmake(exported.directory, build, exported.directory / "cmake" / "host.cmake",
           cflags="-Wall -Wextra -Werror", defines=("CMAKE_BUILD_TYPE=Debug",))
    members = subprocess.run(["ar", "t", str(build / f"lib{lib.name}.a")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert len(members) == len(set(members)) == 2 + 1 + len(lib.kernels)
    # the specialized kernels (not inlined in a debug build) carry their model's prefix
    symbols = subprocess.run(["nm", str(build / f"lib{lib.name}.a")], capture_output=True,
                             text=True, check=True).stdout
    assert re.search(r"kws_a_spec\d+_", symbols) and re.search(r"kws_b_spec\d+_", symbols)
    assert "mf_spec" not in symbols
    vectors = _vectors(lib, 4, seed=3)
    data = _input_file(tmp_path / "inputs.bin", vectors)
    proc = subprocess.run([str(build / f"{lib.name}_example"), "-i", str(data)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _printed(proc.stdout) == _expected(models, lib, vectors)


@pytest.mark.slow
def test_streaming_model_continues_across_invocations_and_resets(
    stateful_models: dict[str, bytes], tmp_path: Path
) -> None:
    """A stateful model (resource variables, made by the TF converter): the exported library's
    stream equals TFLM's over consecutive vectors; the example resets before its sample."""
    model = tmp_path / "stream.tflite"
    model.write_bytes(stateful_models["two_states"])
    exported = export_cmake([model], get_board("mps2-an386"), tmp_path / "pkg")
    lib = exported.library
    assert lib.models[0].manifest["stateful"]
    assert f"{lib.prefixes[0]}_reset();" in (exported.directory / "example" / "main.c").read_text()
    build = tmp_path / "build"
    _cmake(exported.directory, build, exported.directory / "cmake" / "host.cmake",
           cflags="-Wall -Wextra -Werror")
    example = build / f"{lib.name}_example"
    proc = subprocess.run([str(example)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "outputs match TFLM" in proc.stdout, proc.stdout
    vectors = _vectors(lib, 6, seed=4)
    data = _input_file(tmp_path / "inputs.bin", vectors)
    proc = subprocess.run([str(example), "-i", str(data)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    expected = _expected([model], lib, vectors)  # one interpreter: the stream goes on
    assert _printed(proc.stdout) == expected
    assert len({out for _, _, out in expected}) > 1


# ---- Zephyr, Arduino, ESP-IDF: the packages as their SDKs would compile them ----------------

#: The Arduino Mbed OS Nano core's flags for the Nano 33 BLE (variants/ARDUINO_NANO33BLE
#: cflags.txt / cxxflags.txt), plus -Werror.
NANO33BLE_COMMON = ["-Os", "-Wall", "-Wextra", "-Werror", "-Wno-missing-field-initializers",
                    "-Wno-unused-parameter", "-fdata-sections", "-ffunction-sections",
                    "-fno-delete-null-pointer-checks", "-fno-exceptions",
                    "-fomit-frame-pointer", "-funsigned-char", "-g1", "-mcpu=cortex-m4",
                    "-mfloat-abi=softfp", "-mfpu=fpv4-sp-d16", "-mthumb",
                    "--specs=picolibc.specs"]
NANO33BLE_CFLAGS = ["-std=gnu11", *NANO33BLE_COMMON]
NANO33BLE_CXXFLAGS = ["-std=gnu++14", "-fno-rtti", "-Wvla", *NANO33BLE_COMMON]


def _module_yml_problems(meta: object, root: Path) -> list[str]:
    """zephyr/module.yml against Zephyr's module schema (scripts/zephyr_module.py,
    METADATA_SCHEMA) and its path checks (cmake: a folder with CMakeLists.txt; kconfig: a
    file; samples: folders)."""
    strings = {"cmake", "kconfig", "sysbuild-cmake", "sysbuild-kconfig"}
    flags = {"cmake-ext", "kconfig-ext", "sysbuild-cmake-ext", "sysbuild-kconfig-ext"}
    if not isinstance(meta, dict):
        return ["not a map"]
    problems = [f"unknown key {k}" for k in meta
                if k not in {"name", "build", "tests", "samples", "boards", "blobs",
                             "security", "package-managers"}]
    if not isinstance(meta.get("name", ""), str):
        problems.append("name is not a string")
    build = meta.get("build", {})
    for key, value in build.items():
        if key in strings and not isinstance(value, str):
            problems.append(f"build.{key} is not a string")
        elif key in flags and not isinstance(value, bool):
            problems.append(f"build.{key} is not a bool")
        elif key not in strings | flags | {"depends", "settings"}:
            problems.append(f"unknown key build.{key}")
    if "cmake" in build and not (root / build["cmake"] / "CMakeLists.txt").is_file():
        problems.append("build.cmake names no folder with CMakeLists.txt")
    if "kconfig" in build and not (root / build["kconfig"]).is_file():
        problems.append("build.kconfig names no file")
    for key in ("samples", "tests", "boards"):
        for path in meta.get(key, []):
            if not isinstance(path, str) or not (root / path).is_dir():
                problems.append(f"{key}: {path} is not a folder")
    return problems


@pytest.mark.qemu
def test_zephyr_module_compiles_as_declared_and_its_sample_matches_tflm(
    zoo: Path, tmp_path: Path
) -> None:
    board = get_board("nrf52840-dk")
    exported = export_zephyr(_models(zoo), board, tmp_path / "module", names=NAMES)
    lib, root = exported.library, exported.directory
    assert _module_yml_problems(yaml.safe_load((root / "zephyr/module.yml").read_text()),
                                root) == []
    symbol = re.search(r"^config (\w+)$", (root / "Kconfig").read_text(), re.M)[1]
    sample = root / "samples" / lib.name
    assert f"CONFIG_{symbol}=y" in (sample / "prj.conf").read_text().splitlines()
    assert "find_package(Zephyr" in (sample / "CMakeLists.txt").read_text()

    # Zephyr's default C standard (C99) and warnings, the board's CPU flags; the module's own
    # CMakeLists.txt decides the sources and include directories (stand-in functions).
    cflags = [*toolchain_flags(board), "-std=c99", "-Os", "-Wall", "-Wextra", "-Werror",
              "-Wdouble-promotion", "-Wshadow", "-Wpointer-arith", "-ffreestanding",
              "-fno-common", "-ffunction-sections", "-fdata-sections"]
    emulated = get_board("mps2-an386")  # the nRF52840's Cortex-M4F, in QEMU
    assert emulated.cpu == board.cpu
    build = tmp_path / "build"
    _cmake(STANDINS / "zephyr", build, _cross_toolchain(tmp_path / "tc.cmake", board, cflags),
           ldflags=_semihost_link(emulated),
           defines=(f"MODULE_DIR={root}", f"SAMPLE_DIR={sample}",
                    f"KCONFIG_SYMBOL=CONFIG_{symbol}"))
    rc, out = _qemu(emulated, build / "app")
    assert rc == 0 and "outputs match TFLM" in out, out[-2000:]
    assert _printed(out) == _sample_expected(_models(zoo), lib)


def _properties(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _library_properties_problems(props: dict[str, str], root: Path) -> list[str]:
    """library.properties against the Arduino library specification (rev. 2.2) as
    arduino-lint's schema states it (specification level, plus category and architectures)."""
    required = ["name", "version", "author", "maintainer", "sentence", "paragraph", "url",
                "category", "architectures"]
    problems = [f"missing {k}" for k in required if k not in props]
    name = props.get("name", "")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9 _.\-]*", name) or len(name) > 63:
        problems.append(f"name {name!r}")
    if name.lower().startswith("arduino") or props.get("maintainer", "").startswith("Arduino"):
        problems.append("names starting with Arduino are reserved")
    if not re.fullmatch(r"\d+(\.\d+){0,2}([-+][0-9A-Za-z.\-]+)?", props.get("version", "")):
        problems.append("version is not semver")
    if props.get("category") not in {"Display", "Communication", "Signal Input/Output",
                                     "Sensors", "Device Control", "Timing", "Data Storage",
                                     "Data Processing", "Other"}:
        problems.append("category")
    if not re.fullmatch(r"https?://\S+", props.get("url", "")):
        problems.append("url is not a URI")
    for key in ("author", "maintainer", "sentence", "architectures"):
        if not props.get(key):
            problems.append(f"{key} is empty")
    for header in filter(None, props.get("includes", "").split(",")):
        if not (root / "src" / header.strip()).is_file():
            problems.append(f"includes {header}: no such header in src/")
    return problems


@pytest.mark.qemu
def test_arduino_library_compiles_with_the_nano33ble_core_flags_and_its_sketch_matches_tflm(
    zoo: Path, tmp_path: Path
) -> None:
    need_tools("arm-none-eabi-gcc", "arm-none-eabi-g++")
    board = get_board("nrf52840-dk")
    exported = export_arduino(_models(zoo), board, tmp_path / "lib", names=NAMES)
    lib, root = exported.library, exported.directory
    props = _properties(root / "library.properties")
    assert _library_properties_problems(props, root) == []
    assert set(props["architectures"].split(",")) >= {"mbed_nano", "nrf52"}
    sketch_dir = root / "examples" / lib.name
    ino = sketch_dir / f"{lib.name}.ino"
    assert ino.is_file()

    # As the Arduino builder does: every .c under src/ with the core's C flags (include path
    # src/), the sketch as C++ after `#include <Arduino.h>`, then link.
    objects = []
    for i, source in enumerate(sorted((root / "src").rglob("*.c"))):
        obj = tmp_path / f"{i}.o"
        subprocess.run(["arm-none-eabi-gcc", *NANO33BLE_CFLAGS, f"-I{root / 'src'}", "-c",
                        str(source), "-o", str(obj)], check=True)
        objects.append(obj)
    assert len(objects) == len(lib.paths("source"))
    sketch = tmp_path / "sketch.ino.cpp"
    sketch.write_text(f'#include <Arduino.h>\n#line 1 "{ino}"\n' + ino.read_text())
    for source in (sketch, STANDINS / "arduino" / "core.cpp"):
        obj = tmp_path / f"{source.stem}.o"
        subprocess.run(["arm-none-eabi-g++", *NANO33BLE_CXXFLAGS, f"-I{root / 'src'}",
                        f"-I{STANDINS / 'arduino'}", f"-I{sketch_dir}", "-c", str(source),
                        "-o", str(obj)], check=True)
        objects.append(obj)
    emulated = get_board("mps2-an386")
    elf = tmp_path / "sketch.elf"
    subprocess.run(["arm-none-eabi-gcc", *NANO33BLE_CFLAGS, *_semihost_link(emulated).split(),
                    "-Wl,--gc-sections", *map(str, objects), "-o", str(elf)], check=True)
    rc, out = _qemu(emulated, elf)
    assert rc == 0 and "outputs match TFLM" in out, out[-2000:]
    assert _printed(out) == _sample_expected(_models(zoo), lib)


def _idf_manifest_problems(manifest: object, root: Path) -> list[str]:
    """idf_component.yml against the component manager's manifest format (docs: "idf_component.yml
    Manifest File"): known keys, semver version, known targets, dependency specs, examples that
    are projects."""
    if not isinstance(manifest, dict):
        return ["not a map"]
    known = {"version", "description", "url", "repository", "documentation", "issues",
             "discussion", "maintainers", "license", "tags", "targets", "dependencies",
             "files", "examples", "repository_info", "require"}
    problems = [f"unknown key {k}" for k in manifest if k not in known]
    if not re.fullmatch(r"\d+\.\d+\.\d+([~\-+][0-9A-Za-z.\-]+)?", str(manifest.get("version"))):
        problems.append("version")
    targets = {"esp32", "esp32s2", "esp32s3", "esp32c2", "esp32c3", "esp32c5", "esp32c6",
               "esp32c61", "esp32h2", "esp32p4", "linux"}
    problems += [f"target {t}" for t in manifest.get("targets", []) if t not in targets]
    for name, spec in manifest.get("dependencies", {}).items():
        version = spec.get("version") if isinstance(spec, dict) else spec
        if not isinstance(version, str) or not re.fullmatch(r"[<>=~^*!]*[\d.*]*", version):
            problems.append(f"dependency {name}: {spec!r}")
    for example in manifest.get("examples", []):
        project = root / example.get("path", "") / "CMakeLists.txt"
        if not project.is_file() or "project(" not in project.read_text():
            problems.append(f"example {example} is not an ESP-IDF project")
    return problems


@pytest.mark.parametrize("board_name", ["esp32c3-devkitm-1", "esp32dev", "esp32-s3-devkitc-1"])
def test_espidf_manifest_names_the_boards_target(board_name: str, zoo: Path,
                                                 tmp_path: Path) -> None:
    exported = export_espidf([zoo / "mlperf_ad01_int8.tflite"], get_board(board_name),
                             tmp_path / "component")
    manifest = yaml.safe_load((exported.directory / "idf_component.yml").read_text())
    assert _idf_manifest_problems(manifest, exported.directory) == []
    assert manifest["targets"] == [{"esp32c3-devkitm-1": "esp32c3", "esp32dev": "esp32",
                                    "esp32-s3-devkitc-1": "esp32s3"}[board_name]]
    # Xtensa boards use their CPU's kernels (no DSP family there)
    families = {k.split("/")[0] for k in exported.library.kernels}
    assert families <= set(get_board(board_name).cpu.kernels)


def test_espidf_component_compiles_as_declared_for_esp32c3(zoo: Path, tmp_path: Path) -> None:
    """ESP-IDF's C flags (gnu17, -Os, its warnings as errors) with the ESP32-C3's RV32IMC flags;
    the component's CMakeLists.txt decides sources and include directories (stand-in
    idf_component_register). The program runs where QEMU's RISC-V machine is installed."""
    board = get_board("esp32c3-devkitm-1")
    need_tools("riscv64-unknown-elf-gcc")
    exported = export_espidf(_models(zoo), board, tmp_path / "component", names=NAMES)
    lib, root = exported.library, exported.directory
    cflags = [*toolchain_flags(board), "-std=gnu17", "-Os", "-Wall", "-Wextra", "-Werror",
              "-Wno-unused-parameter", "-Wno-sign-compare", "-fstrict-volatile-bitfields",
              "-ffunction-sections", "-fdata-sections", "-fno-jump-tables",
              "-fno-tree-switch-conversion"]
    build = tmp_path / "build"
    ram = 0x80000000  # QEMU's RISC-V 'virt' machine
    link = (f"--oslib=semihost --crt0=semihost -Wl,--defsym=__flash={ram:#x} "
            f"-Wl,--defsym=__flash_size=0x400000 -Wl,--defsym=__ram={ram + 0x400000:#x} "
            "-Wl,--defsym=__ram_size=0x400000")
    _cmake(STANDINS / "espidf", build, _cross_toolchain(tmp_path / "tc.cmake", board, cflags),
           ldflags=link, defines=(f"COMPONENT_DIR={root}",
                                  f"MAIN_DIR={root / 'examples' / lib.name / 'main'}"))
    app = build / "app"
    with app.open("rb") as fh:
        assert ELFFile(fh)["e_machine"] == "EM_RISCV"
    if shutil.which("qemu-system-riscv32") is None:
        pytest.skip("compiled and linked for RV32IMC; running it needs qemu-system-riscv32 "
                    "(Debian qemu-system-misc), not part of `make setup`")
    proc = subprocess.run(
        ["qemu-system-riscv32", "-M", "virt", "-bios", "none", "-display", "none", "-serial",
         "none", "-monitor", "none", "-semihosting-config", "enable=on,target=native",
         "-kernel", str(app)], capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "outputs match TFLM" in out, out[-2000:]
    assert _printed(out) == _sample_expected(_models(zoo), lib)


# ---- refusals: clear messages, nothing written ----------------------------------------------

EXPORTERS = {"cmake": export_cmake, "zephyr": export_zephyr, "arduino": export_arduino,
             "esp-idf": export_espidf}
KIND_BOARD = {"cmake": "mps2-an386", "zephyr": "nrf52840-dk", "arduino": "nrf52840-dk",
              "esp-idf": "esp32c3-devkitm-1"}


@pytest.mark.parametrize("kind", sorted(EXPORTERS))
def test_unsupported_model_is_refused_before_anything_is_written(kind: str, zoo: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(UnsupportedModelError, match="UNIDIRECTIONAL_SEQUENCE_LSTM"):
        EXPORTERS[kind]([zoo / "mnist_lstm_int8.tflite"], get_board(KIND_BOARD[kind]), out)
    assert not out.exists()
    result = CliRunner().invoke(cli, ["export", kind, str(zoo / "mlperf_ad01_int8.tflite"),
                                      str(zoo / "mnist_lstm_int8.tflite"), "-b",
                                      KIND_BOARD[kind], "-o", str(out)])
    assert result.exit_code == 2 and "UNIDIRECTIONAL_SEQUENCE_LSTM" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-b", "no-such-board"], "unknown board 'no-such-board'"),
        (["-b", "mps2-an386", "--name", "a", "--name", "b"], "2 --name for 1 models"),
        (["-b", "mps2-an386", "--name", "9lives"], "'9lives' is not a C identifier"),
        (["-b", "mps2-an386", "--name", "quant"], "clashes with a file of the runtime"),
        (["-b", "mps2-an386", "--arena-section", '.x"); evil("'], "not a linker section"),
        (["-b", "mps2-an386", "--library", "my-lib"], "library name 'my-lib'"),
    ],
)
def test_bad_options_are_refused_with_a_message(args: list[str], message: str, zoo: Path,
                                                tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    result = CliRunner().invoke(cli, ["export", "cmake", str(zoo / "mlperf_ad01_int8.tflite"),
                                      *args, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_two_models_with_one_name_are_refused(zoo: Path, tmp_path: Path) -> None:
    model = zoo / "mlperf_ad01_int8.tflite"
    with pytest.raises(ExportError, match="two models are named 'mlperf_ad01_int8'"):
        export_cmake([model, model], get_board("mps2-an386"), tmp_path / "pkg")


def test_boards_without_the_sdk_are_refused(zoo: Path, tmp_path: Path) -> None:
    model = [zoo / "mlperf_ad01_int8.tflite"]
    with pytest.raises(ExportError, match="no Arduino core is known for board mps2-an386"):
        export_arduino(model, get_board("mps2-an386"), tmp_path / "a")
    with pytest.raises(ExportError, match="library name 'mcuforge' is also the name of a"):
        export_arduino(model, get_board("nrf52840-dk"), tmp_path / "a", library="mcuforge")
    with pytest.raises(ExportError, match="nrf52840-dk .*is not an ESP32"):
        export_espidf(model, get_board("nrf52840-dk"), tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_output_directory_rules(zoo: Path, tmp_path: Path) -> None:
    board = get_board("mps2-an386")
    model = zoo / "mlperf_ad01_int8.tflite"
    a_file = tmp_path / "file"
    a_file.write_text("mine")
    with pytest.raises(ExportError, match="is a file"):
        export_cmake([model], board, a_file)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty and holds no earlier mcuforge export"):
        export_cmake([model], board, foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]

    # an earlier export is replaced file by file: a renamed model leaves nothing stale behind,
    # the user's own files stay
    out = tmp_path / "pkg"
    export_cmake([model], board, out, names=["old"])
    (out / "build").mkdir()
    (out / "build" / "keep.txt").write_text("mine")
    export_cmake([model], board, out, names=["new"])
    assert (out / "src" / "new.c").is_file() and not (out / "src" / "old.c").exists()
    assert (out / "build" / "keep.txt").read_text() == "mine"
    assert "CMakeLists.txt" in (out / "mcuforge-export.json").read_text()


def test_cli_json_and_help_examples_use_the_repositorys_models() -> None:
    for kind in EXPORTERS:
        result = CliRunner().invoke(cli, ["export", kind, "--help"])
        assert result.exit_code == 0
        paths = re.findall(r"models/\S+\.tflite", result.output)
        assert paths, result.output
        repo = Path(__file__).parents[1]
        assert all((repo / p).is_file() for p in paths), paths


def test_cli_writes_the_package_and_reports_it(zoo: Path, tmp_path: Path) -> None:
    out = tmp_path / "pkg"
    result = CliRunner().invoke(cli, ["export", "zephyr", str(zoo / "mlperf_ad01_int8.tflite"),
                                      "-b", "nrf52840-dk", "--name", "ad", "-o", str(out),
                                      "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["kind"] == "zephyr" and data["library"] == "mcuforge_ad"
    assert data["models"][0]["name"] == "ad" and data["cpu"] == "cortex-m4f"
    assert (out / "zephyr" / "module.yml").is_file() and (out / "include" / "ad.h").is_file()
