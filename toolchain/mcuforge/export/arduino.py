"""``mcuforge export arduino``: the models as an Arduino library, with an example sketch.

::

    library.properties      name, version, ..., architectures, includes=<library>.h
    src/                    everything (Arduino compiles src/ recursively, include path src/):
                            <library>.h, mcuforge.h, the models, the kernels they use
    examples/<library>/<library>.ino   (+ mcuforge_sample.h)
    README.md, mcuforge-export.json

First for the Arduino Nano 33 BLE (Sense): its nRF52840 is the nrf52840-dk board's CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.build import Progress
from mcuforge.export.library import (
    ExportedPackage,
    ExportError,
    LibraryFile,
    PackageWriter,
    compile_library,
    render,
)

#: Arduino architectures (library.properties) per firmware platform family, and the boards
#: they mean. The kernels are those of the mcuforge board's CPU.
ARDUINO_TARGETS: dict[str, tuple[tuple[str, ...], str]] = {
    "nrf52": (("mbed_nano", "nrf52"),
              "Arduino Nano 33 BLE / Nano 33 BLE Sense (Mbed OS Nano core), nRF52840 boards"),
    "stm32": (("stm32",), "STM32 boards (STM32duino core)"),
    "esp32c3": (("esp32",), "ESP32-C3 boards (Espressif's Arduino core)"),
    "espidf": (("esp32",), "ESP32 boards (Espressif's Arduino core)"),
}


def _flat(f: LibraryFile) -> str:
    return f"src/{f.path}"


def export_arduino(
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
    """Write an Arduino library for ``models`` compiled for ``board``'s CPU into ``out_dir``."""
    if board.platform not in ARDUINO_TARGETS:
        known = ", ".join(sorted({p for p in ARDUINO_TARGETS}))
        raise ExportError(
            f"no Arduino core is known for board {board.name} (platform '{board.platform}'); "
            f"the Arduino export supports boards of the platforms {known}, e.g. nrf52840-dk for "
            "the Arduino Nano 33 BLE (same nRF52840)"
        )
    architectures, arduino_boards = ARDUINO_TARGETS[board.platform]
    writer = PackageWriter(out_dir, "arduino")
    lib = compile_library(models, board, names=names, library=library,
                          arena_section=arena_section, weights_section=weights_section,
                          reserved=("mcuforge_sample",), progress=progress)
    # src/<library>.h sits beside the models' and the runtime's headers
    taken = {Path(f.path).stem for f in lib.files if "/" not in f.path} | {"mcuforge_sample"}
    if lib.name in taken:
        raise ExportError(
            f"library name '{lib.name}' is also the name of a header in src/ ({lib.name}.h, "
            "a model's or the runtime's): choose another with --library"
        )
    writer.clear_previous()
    writer.put_library(lib, _flat)
    sample = lib.name
    writer.put("library.properties", render("arduino/library.properties.j2", lib,
                                            architectures=architectures))
    writer.put(f"src/{lib.name}.h", render("arduino/umbrella.h.j2", lib))
    writer.put(f"examples/{sample}/{sample}.ino", render("arduino/sketch.ino.j2", lib))
    writer.put(f"examples/{sample}/mcuforge_sample.h", render("sample.h.j2", lib))
    writer.put("README.md", render("arduino/README.md.j2", lib, sample=sample,
                                   architectures=architectures, arduino_boards=arduino_boards))
    return writer.finish(lib, progress)
