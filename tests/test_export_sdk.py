"""Library exports, part 2: the Zephyr module, the Arduino library and the ESP-IDF component.

The SDKs are not installable here. Each package is compiled with exactly the sources, include
directories and flags it declares (its CMakeLists.txt run by CMake against stand-ins for the SDK
functions, tests/sdk_standins/; for Arduino the builder's rules), with the real cross compilers,
then linked and run where an emulator exists: the sample's outputs equal TFLM's. The manifests
are checked against the formats' published schemas.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from elftools.elf.elffile import ELFFile

from conftest import need_tools
from libexport import (
    NAMES,
    STANDINS,
    cmake,
    cross_toolchain,
    printed,
    qemu,
    sample_expected,
    semihost_link,
    zoo_models,
)
from mcuforge.boards import get_board
from mcuforge.export.arduino import export_arduino
from mcuforge.export.cmake import toolchain_flags
from mcuforge.export.espidf import export_espidf
from mcuforge.export.zephyr import export_zephyr

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
    exported = export_zephyr(zoo_models(zoo), board, tmp_path / "module", names=NAMES)
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
    cmake(STANDINS / "zephyr", build, cross_toolchain(tmp_path / "tc.cmake", board, cflags),
           ldflags=semihost_link(emulated),
           defines=(f"MODULE_DIR={root}", f"SAMPLE_DIR={sample}",
                    f"KCONFIG_SYMBOL=CONFIG_{symbol}"))
    rc, out = qemu(emulated, build / "app")
    assert rc == 0 and "outputs match TFLM" in out, out[-2000:]
    assert printed(out) == sample_expected(zoo_models(zoo), lib)


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
    exported = export_arduino(zoo_models(zoo), board, tmp_path / "lib", names=NAMES)
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
    subprocess.run(["arm-none-eabi-gcc", *NANO33BLE_CFLAGS, *semihost_link(emulated).split(),
                    "-Wl,--gc-sections", *map(str, objects), "-o", str(elf)], check=True)
    rc, out = qemu(emulated, elf)
    assert rc == 0 and "outputs match TFLM" in out, out[-2000:]
    assert printed(out) == sample_expected(zoo_models(zoo), lib)


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
    exported = export_espidf(zoo_models(zoo), board, tmp_path / "component", names=NAMES)
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
    cmake(STANDINS / "espidf", build, cross_toolchain(tmp_path / "tc.cmake", board, cflags),
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
    assert printed(out) == sample_expected(zoo_models(zoo), lib)
