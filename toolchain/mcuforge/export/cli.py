"""``mcuforge export ...``: the click group, registered in :mod:`mcuforge.cli`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click


@click.group("export")
def export_group() -> None:
    """Export compiled models: a PlatformIO project, or a library for your own firmware
    (CMake, Zephyr, Arduino, ESP-IDF)."""


@export_group.command("platformio")
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--board", "-b", required=True, metavar="BOARD", help="Target board.")
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Project directory (created; files mcuforge generates there are replaced).",
)
@click.option(
    "--local-platform",
    is_flag=True,
    help="Use a local dev-platform around this machine's Debian Arm toolchain instead of the "
    "registry's (offline builds; boards PlatformIO does not know, like QEMU's MPS2).",
)
@click.option(
    "--platform-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --local-platform: where to write it (default OUTPUT/.mcuforge-platform).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def platformio_cmd(
    model: Path,
    board: str,
    out_dir: Path,
    local_platform: bool,
    platform_dir: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Write a PlatformIO project (platformio.ini, src/, lib/mcuforge) for MODEL on a board.

    Build and flash it with `pio run -t upload` (PlatformIO needs internet access to fetch the
    platform and toolchain). For the Xtensa ESP32s this is the only build path.

    \b
    Example:
      mcuforge export platformio models/gesture/gesture_int8.tflite --board nucleo-f446re \
          -o nucleo-project
      cd nucleo-project && pio run -t upload
    """
    from mcuforge.boards import get_board
    from mcuforge.export.platformio import export_platformio

    local = None
    if local_platform:
        local = platform_dir or out_dir / ".mcuforge-platform"
    say = None if quiet or as_json else (lambda msg: click.echo(f"[mcuforge] {msg}", err=True))
    project = export_platformio(
        model, get_board(board), out_dir, local_platform=local, progress=say
    )
    if as_json:
        click.echo(json.dumps(project.to_dict(), indent=2))
        return
    click.echo(f"wrote PlatformIO project {project.directory} [env:{project.env_name}]")
    if project.local is not None:
        click.echo(f"build offline: {project.local.root / 'pio-offline.sh'} run -d {out_dir}")
    else:
        click.echo(f"build and flash (needs internet): cd {out_dir} && pio run -t upload")


def _library_options(func: Callable[..., None]) -> Callable[..., None]:
    """The arguments and options every library export shares."""
    options = [
        click.argument("models", nargs=-1, required=True,
                       type=click.Path(exists=True, dir_okay=False, path_type=Path)),
        click.option("--board", "-b", required=True, metavar="BOARD",
                     help="Board whose CPU flags and kernels to compile for (see "
                     "`mcuforge boards`)."),
        click.option("--output", "-o", "out_dir", required=True,
                     type=click.Path(path_type=Path),
                     help="Package directory: new, empty, or an earlier export (whose files "
                     "are replaced)."),
        click.option("--name", "names", multiple=True, metavar="NAME",
                     help="C prefix of a model's symbols (NAME_invoke ...); once per model, in "
                     "order. Default: the model file's name."),
        click.option("--library", metavar="NAME",
                     help="Library name (CMake target, Kconfig symbol, Arduino library). "
                     "Default: mcuforge_<names>."),
        click.option("--arena-section", default="", metavar="SECTION",
                     help="Linker section of the models' arenas (e.g. .sram2); default .bss."),
        click.option("--weights-section", default="", metavar="SECTION",
                     help="Linker section of the weights (e.g. .extflash); default .rodata."),
        click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout."),
        click.option("--quiet", "-q", is_flag=True, help="No progress messages."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _run_export(kind: str, models: tuple[Path, ...], board: str, out_dir: Path,
                names: tuple[str, ...], library: str | None, arena_section: str,
                weights_section: str, as_json: bool, quiet: bool) -> None:
    from mcuforge.boards import get_board
    from mcuforge.export.arduino import export_arduino
    from mcuforge.export.cmake import export_cmake
    from mcuforge.export.espidf import export_espidf
    from mcuforge.export.zephyr import export_zephyr

    exporters = {"cmake": export_cmake, "zephyr": export_zephyr, "arduino": export_arduino,
                 "esp-idf": export_espidf}
    say = None if quiet or as_json else (lambda msg: click.echo(f"[mcuforge] {msg}", err=True))
    package = exporters[kind](
        list(models), get_board(board), out_dir, names=names, library=library,
        arena_section=arena_section, weights_section=weights_section, progress=say,
    )
    if as_json:
        click.echo(json.dumps(package.to_dict(), indent=2))
        return
    lib = package.library
    click.echo(f"wrote {kind} package {package.directory}: library {lib.name} with "
               f"{', '.join(lib.prefixes)} for {lib.board.name} ({lib.board.cpu.name}); "
               f"see {package.directory / 'README.md'}")


@export_group.command("cmake")
@_library_options
def cmake_cmd(**options: object) -> None:
    """Write MODELS as one static library for CMake, with an example program.

    The package holds the models, only the kernels they use, an example that checks each model
    against TFLM's outputs, and toolchain files: cmake/BOARD.cmake (the board's compiler and
    CPU flags) and cmake/host.cmake.

    \b
    Example:
      mcuforge export cmake models/wake_word/wake_word_int8.tflite \\
          models/anomaly/anomaly_int8.tflite --board nrf52840-dk -o ml-lib
      cmake -S ml-lib -B build -DCMAKE_TOOLCHAIN_FILE=ml-lib/cmake/nrf52840-dk.cmake
      cmake --build build
    """
    _run_export("cmake", **options)  # type: ignore[arg-type]


@export_group.command("zephyr")
@_library_options
def zephyr_cmd(**options: object) -> None:
    """Write MODELS as a Zephyr module (zephyr/module.yml, CMakeLists.txt, Kconfig) with a
    sample application in samples/.

    \b
    Example:
      mcuforge export zephyr models/gesture/gesture_int8.tflite --board nrf52840-dk \\
          -o gesture-module
      west build -b nrf52840dk/nrf52840 gesture-module/samples/mcuforge_gesture_int8
    """
    _run_export("zephyr", **options)  # type: ignore[arg-type]


@export_group.command("arduino")
@_library_options
def arduino_cmd(**options: object) -> None:
    """Write MODELS as an Arduino library (library.properties, src/, examples/).

    For the Arduino Nano 33 BLE (Sense) use --board nrf52840-dk (the same nRF52840).

    \b
    Example:
      mcuforge export arduino models/gesture/gesture_int8.tflite --board nrf52840-dk \\
          --name gesture -o ~/Arduino/libraries/mcuforge_gesture
    """
    _run_export("arduino", **options)  # type: ignore[arg-type]


@export_group.command("esp-idf")
@_library_options
def espidf_cmd(**options: object) -> None:
    """Write MODELS as an ESP-IDF component (idf_component.yml, CMakeLists.txt) with an
    example project in examples/.

    \b
    Example:
      mcuforge export esp-idf models/wake_word/wake_word_int8.tflite \\
          --board esp32c3-devkitm-1 -o components/wake_word
      cd components/wake_word/examples/mcuforge_wake_word_int8 && idf.py build flash monitor
    """
    _run_export("esp-idf", **options)  # type: ignore[arg-type]
