"""Library exports (``mcuforge export cmake|zephyr|arduino|esp-idf``), part 1: the CMake
package built with CMake for this computer and for a Cortex-M4 (QEMU mps2-an386), two models in
one program, every output bit-exact with TFLM; and what every export refuses. Part 2 (the SDK
packages) is test_export_sdk.py.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from libexport import (
    NAMES,
    cmake,
    elf_sections,
    input_file,
    make_vectors,
    printed,
    qemu,
    sample_expected,
    symbol_sections,
    tflm_outputs,
    zoo_models,
)
from mcuforge.boards import get_board
from mcuforge.cli import cli
from mcuforge.errors import UnsupportedModelError
from mcuforge.export.arduino import export_arduino
from mcuforge.export.cmake import export_cmake
from mcuforge.export.espidf import export_espidf
from mcuforge.export.library import ExportedPackage, ExportError
from mcuforge.export.zephyr import export_zephyr

# ---- CMake: two models, one program, host and Cortex-M ----------------------------------------

@pytest.fixture(scope="module")
def cmake_package(tmp_path_factory: pytest.TempPathFactory, zoo: Path) -> ExportedPackage:
    out = tmp_path_factory.mktemp("cmake") / "pkg"
    return export_cmake(zoo_models(zoo), get_board("mps2-an386"), out, names=NAMES,
                        arena_section=".mf_arena", weights_section=".mf_weights")


def test_cmake_two_models_on_the_host_bit_exact_in_named_sections(
    cmake_package: ExportedPackage, zoo: Path, tmp_path: Path
) -> None:
    lib, pkg = cmake_package.library, cmake_package.directory
    build = tmp_path / "build"
    cmake(pkg, build, pkg / "cmake" / "host.cmake", cflags="-Wall -Wextra -Werror")
    example = build / f"{lib.name}_example"

    # the embedded sample: the example checks it against the outputs recorded at export
    proc = subprocess.run([str(example)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "outputs match TFLM" in proc.stdout, proc.stdout
    assert printed(proc.stdout) == sample_expected(zoo_models(zoo), lib)

    # vectors from a file: every output of both models equals TFLM's
    vectors = make_vectors(lib, 12, seed=5)
    data = input_file(tmp_path / "inputs.bin", vectors)
    proc = subprocess.run([str(example), "-i", str(data)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert printed(proc.stdout) == tflm_outputs(zoo_models(zoo), lib, vectors)

    # the arenas and the weights are in the sections asked for
    where = symbol_sections(example)
    for p in NAMES:
        assert where[f"{p}_arena"] == ".mf_arena"
    # (the optimizer leaves the weights' static arrays unnamed: the section's size tells; it
    # may also fold a small array whose values it knows into the code, and the linker then
    # drops the array, so the section can hold a few bytes less than the model's constants)
    sections = elf_sections(example)
    weights = sum(m.manifest["weights_bytes"] for m in lib.models)
    assert weights - 256 <= sections[".mf_weights"][1] <= weights

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
    cmake(pkg, build, pkg / "cmake" / "mps2-an386.cmake", cflags="-Wall -Wextra -Werror",
           ldflags=f"-T{script}")
    elf = build / f"{lib.name}_example"

    sections = elf_sections(elf)
    addr, size, kind = sections[".mf_arena"]
    assert board.ram.contains(addr) and kind == "SHT_NOBITS"
    assert size >= sum(m.plan.arena_bytes for m in lib.models)
    addr, size, kind = sections[".mf_weights"]
    assert board.flash.contains(addr) and kind == "SHT_PROGBITS"

    rc, out = qemu(board, elf)
    assert rc == 0 and "outputs match TFLM" in out, out[-2000:]
    vectors = make_vectors(lib, 8, seed=9)
    data = input_file(tmp_path / "inputs.bin", vectors)
    rc, out = qemu(board, elf, "-i", str(data))
    assert rc == 0, out[-2000:]
    assert printed(out) == tflm_outputs(zoo_models(zoo), lib, vectors)


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
    cmake(exported.directory, build, exported.directory / "cmake" / "host.cmake",
           cflags="-Wall -Wextra -Werror", defines=("CMAKE_BUILD_TYPE=Debug",))
    members = subprocess.run(["ar", "t", str(build / f"lib{lib.name}.a")], capture_output=True,
                             text=True, check=True).stdout.split()
    assert len(members) == len(set(members)) == 2 + 1 + len(lib.kernels)
    # the specialized kernels (not inlined in a debug build) carry their model's prefix
    symbols = subprocess.run(["nm", str(build / f"lib{lib.name}.a")], capture_output=True,
                             text=True, check=True).stdout
    assert re.search(r"kws_a_spec\d+_", symbols) and re.search(r"kws_b_spec\d+_", symbols)
    assert "mf_spec" not in symbols
    vectors = make_vectors(lib, 4, seed=3)
    data = input_file(tmp_path / "inputs.bin", vectors)
    proc = subprocess.run([str(build / f"{lib.name}_example"), "-i", str(data)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert printed(proc.stdout) == tflm_outputs(models, lib, vectors)


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
    cmake(exported.directory, build, exported.directory / "cmake" / "host.cmake",
           cflags="-Wall -Wextra -Werror")
    example = build / f"{lib.name}_example"
    proc = subprocess.run([str(example)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "outputs match TFLM" in proc.stdout, proc.stdout
    vectors = make_vectors(lib, 6, seed=4)
    data = input_file(tmp_path / "inputs.bin", vectors)
    proc = subprocess.run([str(example), "-i", str(data)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    expected = tflm_outputs([model], lib, vectors)  # one interpreter: the stream goes on
    assert printed(proc.stdout) == expected
    assert len({out for _, _, out in expected}) > 1


# ---- refusals: clear messages, nothing written ----------------------------------------------

EXPORTERS = {"cmake": export_cmake, "zephyr": export_zephyr, "arduino": export_arduino,
             "esp-idf": export_espidf}
KIND_BOARD = {"cmake": "mps2-an386", "zephyr": "nrf52840-dk", "arduino": "nrf52840-dk",
              "esp-idf": "esp32c3-devkitm-1"}


@pytest.mark.parametrize("kind", sorted(EXPORTERS))
def test_unsupported_model_is_refused_before_anything_is_written(
        kind: str, zoo: Path, unsupported_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(UnsupportedModelError, match="BIDIRECTIONAL_SEQUENCE_LSTM"):
        EXPORTERS[kind]([unsupported_model], get_board(KIND_BOARD[kind]), out)
    assert not out.exists()
    result = CliRunner().invoke(cli, ["export", kind, str(zoo / "mlperf_ad01_int8.tflite"),
                                      str(unsupported_model), "-b",
                                      KIND_BOARD[kind], "-o", str(out)])
    assert result.exit_code == 2 and "BIDIRECTIONAL_SEQUENCE_LSTM" in result.output
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
