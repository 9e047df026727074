"""``mcuforge export zephyr``: the models as a Zephyr module, with a sample application.

::

    zephyr/module.yml       name, build: {cmake: ., kconfig: Kconfig}, samples
    CMakeLists.txt          zephyr_library_named(<library>) ... when CONFIG_<LIBRARY>=y
    Kconfig                 config <LIBRARY>
    include/ src/           the library (:mod:`.library`)
    samples/<library>/      prj.conf, CMakeLists.txt, src/main.c (+ the sample data)
    README.md, mcuforge-export.json
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcuforge.boards import Board
from mcuforge.build import Progress
from mcuforge.export.library import (
    SOURCE,
    ExportedPackage,
    PackageWriter,
    compile_library,
    render,
    split_layout,
)

#: Zephyr's names (hardware model v2) for the boards mcuforge knows; others are the user's.
ZEPHYR_BOARDS = {
    "nrf52840-dk": "nrf52840dk/nrf52840",
    "mps2-an385": "mps2/an385",
    "mps2-an386": "mps2/an386",
    "mps2-an500": "mps2/an500",
    "mps3-an547": "mps3/corstone300/an547",
    "stm32f4-discovery": "stm32f4_disco",
    "nucleo-f446re": "nucleo_f446re",
    "esp32c3-devkitm-1": "esp32c3_devkitm",
    "esp32dev": "esp32_devkitc/esp32/procpu",
    "esp32-s3-devkitc-1": "esp32s3_devkitc/esp32s3/procpu",
}


def export_zephyr(
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
    """Write a Zephyr module for ``models`` compiled for ``board``'s CPU into ``out_dir``."""
    writer = PackageWriter(out_dir, "zephyr")
    lib = compile_library(models, board, names=names, library=library,
                          arena_section=arena_section, weights_section=weights_section,
                          reserved=("mcuforge_sample",), progress=progress)
    writer.clear_previous()
    writer.put_library(lib, split_layout)
    sample = lib.name
    sources = [split_layout(f) for f in lib.files if f.role == SOURCE]
    writer.put("zephyr/module.yml", render("zephyr/module.yml.j2", lib, sample=sample))
    writer.put("CMakeLists.txt", render("zephyr/CMakeLists.txt.j2", lib, sources=sources))
    writer.put("Kconfig", render("zephyr/Kconfig.j2", lib))
    app = f"samples/{sample}"
    writer.put(f"{app}/CMakeLists.txt", render("zephyr/sample_CMakeLists.txt.j2", lib,
                                               sample=sample))
    writer.put(f"{app}/prj.conf", render("zephyr/prj.conf.j2", lib))
    writer.put(f"{app}/src/main.c", render("zephyr/main.c.j2", lib))
    writer.put(f"{app}/src/mcuforge_sample.h", render("sample.h.j2", lib))
    writer.put("README.md", render("zephyr/README.md.j2", lib, sample=sample,
                                   zephyr_board=ZEPHYR_BOARDS.get(board.name, "<your-board>")))
    return writer.finish(lib, progress)
