"""``mcuforge export cmake``: the models as one static library for CMake, with an example.

::

    CMakeLists.txt          add_library(<library> STATIC ...): models, kernels, model table
    include/                mcuforge.h, <name>.h per model, mcuforge_models.h
    src/                    the models' C, the kernels they use (each once), private headers
    example/main.c          runs each model on its sample and checks TFLM's outputs, or runs
                            input vectors from a file and prints the outputs
    cmake/<board>.cmake     cross toolchain file: the board's compiler and CPU flags
    cmake/host.cmake        the same library and example for this computer
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

#: File names the package itself uses next to the models' headers.
RESERVED = ("mcuforge_sample",)


def toolchain_flags(board: Board) -> list[str]:
    """The board's compile flags as its toolchain needs them: CPU flags, toolchain flags, and
    the C library's specs (picolibc's headers must match the library it links)."""
    tc = board.cpu.toolchain
    specs = [f"--specs={tc.specs}"] if tc.specs else []
    return [*board.cpu.cflags, *tc.extra_cflags, *specs]


def export_cmake(
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
    """Write a CMake package for ``models`` (one library) compiled for ``board``'s CPU into
    ``out_dir``. See :func:`~mcuforge.export.library.compile_library` for the options."""
    writer = PackageWriter(out_dir, "cmake")
    lib = compile_library(models, board, names=names, library=library,
                          arena_section=arena_section, weights_section=weights_section,
                          reserved=RESERVED, progress=progress)
    writer.clear_previous()
    writer.put_library(lib, split_layout)
    sources = [split_layout(f) for f in lib.files if f.role == SOURCE]
    writer.put("CMakeLists.txt", render("cmake/CMakeLists.txt.j2", lib, sources=sources))
    writer.put("example/main.c", render("cmake/main.c.j2", lib))
    writer.put("example/mcuforge_sample.h", render("sample.h.j2", lib))
    tc = board.cpu.toolchain
    writer.put(f"cmake/{board.name}.cmake", render(
        "cmake/toolchain.cmake.j2", lib, tc=tc, cflags=toolchain_flags(board),
        specs=tc.specs, processor=board.cpu.arch))
    writer.put("cmake/host.cmake", render("cmake/host.cmake.j2", lib))
    writer.put("README.md", render("cmake/README.md.j2", lib, sections=(arena_section,
                                                                        weights_section)))
    return writer.finish(lib, progress)
