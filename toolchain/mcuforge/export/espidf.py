"""``mcuforge export esp-idf``: the models as an ESP-IDF component, with an example project.

::

    idf_component.yml       version, description, targets, dependencies (idf), examples
    CMakeLists.txt          idf_component_register(SRCS ... INCLUDE_DIRS include
                            PRIV_INCLUDE_DIRS src)
    include/ src/           the library (:mod:`.library`)
    examples/<library>/     CMakeLists.txt, main/CMakeLists.txt, main/main.c (+ sample data)
    README.md, mcuforge-export.json

ESP32-C3 (RISC-V) builds with this machine's compiler in the tests; ESP32 and ESP32-S3 (Xtensa)
need ESP-IDF's own compilers.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.build import Progress
from mcuforge.export.library import (
    SOURCE,
    ExportedPackage,
    ExportError,
    PackageWriter,
    compile_library,
    render,
    split_layout,
)

#: ESP-IDF target per CPU (when the board file's esptool settings name no chip).
IDF_TARGETS = {"rv32imc": "esp32c3", "xtensa-lx6": "esp32", "xtensa-lx7": "esp32s3"}


def idf_target(board: Board) -> str:
    chip = board.flash_options.get("esptool", {}).get("chip")
    if chip:
        return str(chip)
    if board.cpu.name in IDF_TARGETS:
        return IDF_TARGETS[board.cpu.name]
    raise ExportError(
        f"board {board.name} ({board.cpu.name}) is not an ESP32: the ESP-IDF export needs an "
        "ESP32 board (esp32c3-devkitm-1, esp32dev, esp32-s3-devkitc-1)"
    )


def export_espidf(
    models: Sequence[Path],
    board: Board,
    out_dir: Path,
    *,
    names: Sequence[str] = (),
    library: str | None = None,
    arena_section: str = "",
    weights_section: str = "",
    progress: Progress | None = None,
) -> ExportedPackage:
    """Write an ESP-IDF component for ``models`` compiled for ``board``'s CPU into ``out_dir``."""
    target = idf_target(board)
    writer = PackageWriter(out_dir, "esp-idf")
    lib = compile_library(models, board, names=names, library=library,
                          arena_section=arena_section, weights_section=weights_section,
                          reserved=("mcuforge_sample",), progress=progress)
    writer.clear_previous()
    writer.put_library(lib, split_layout)
    sample = lib.name
    sources = [split_layout(f) for f in lib.files if f.role == SOURCE]
    writer.put("idf_component.yml", render("espidf/idf_component.yml.j2", lib, sample=sample,
                                           targets=[target]))
    writer.put("CMakeLists.txt", render("espidf/CMakeLists.txt.j2", lib, sources=sources))
    app = f"examples/{sample}"
    writer.put(f"{app}/CMakeLists.txt", render("espidf/example_CMakeLists.txt.j2", lib,
                                               sample=sample, targets=[target]))
    writer.put(f"{app}/main/CMakeLists.txt", render("espidf/main_CMakeLists.txt.j2", lib))
    writer.put(f"{app}/main/main.c", render("espidf/main.c.j2", lib))
    writer.put(f"{app}/main/mcuforge_sample.h", render("sample.h.j2", lib))
    native = board.cpu.toolchain.native
    note = (f"{board.cpu.toolchain.prefix}gcc `{' '.join(board.cpu.cflags)}`" if native
            else "no compiler (no Xtensa compiler is available to mcuforge)")
    writer.put("README.md", render("espidf/README.md.j2", lib, sample=sample, targets=[target],
                                   compiler_note=note))
    return writer.finish(lib, progress)
