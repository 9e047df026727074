"""``mcuforge export ...``: the click group, registered in :mod:`mcuforge.cli`."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group("export")
def export_group() -> None:
    """Export the compiled model and runtime as a project for another build system."""


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
