"""The ``mcuforge flash`` command (registered in mcuforge.cli)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mcuforge.boards import FLASH_METHODS


@click.command("flash")
@click.argument(
    "build_dir", metavar="DIR", type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.option(
    "--board",
    "-b",
    "board",
    metavar="BOARD",
    help="Target board (default: the board DIR was built for).",
)
@click.option(
    "--port", "-p", metavar="PORT", help="Serial port of the board (default: found by USB ID)."
)
@click.option(
    "--method",
    type=click.Choice(sorted(FLASH_METHODS)),
    help="Flashing method (default: the first of the board's methods that is installed).",
)
@click.option("--probe", "probe", metavar="ID", help="Debug probe ID (pyOCD), if several.")
@click.option(
    "--gdb",
    "gdb_address",
    metavar="HOST:PORT",
    help="Load through a running GDB server (OpenOCD, pyOCD, J-Link) instead.",
)
@click.option(
    "--emulator",
    type=click.Choice(["qemu", "renode"]),
    help="Load into this emulator's GDB server instead of a board (QEMU boards default to it).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def flash_cmd(
    build_dir: Path,
    board: str | None,
    port: str | None,
    method: str | None,
    probe: str | None,
    gdb_address: str | None,
    emulator: str | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Write the firmware built in DIR to a board, verify it, and check that it answers.

    On an emulated board (e.g. mps2-an386) QEMU is started halted with its GDB stub, the ELF
    is loaded and verified through GDB, and the firmware is asked over its serial line; with
    --emulator renode the same happens in Renode through its GDB server.

    \b
    Examples:
      mcuforge build models/gesture/gesture_int8.tflite --board nucleo-f446re -o build/nucleo
      mcuforge flash build/nucleo                     # pyOCD or OpenOCD, port found by USB ID
      mcuforge flash build/c3 --port /dev/ttyUSB0     # ESP32-C3 with esptool
      mcuforge flash build/an386 --board mps2-an386   # into QEMU through its gdbstub
      mcuforge flash build/nrf --emulator renode      # into Renode through its GDB server
    """
    from mcuforge.flash import flash_build

    say = None if quiet or as_json else (lambda m: click.echo(f"[mcuforge] {m}", err=True))
    report = flash_build(
        build_dir,
        board,
        port=port,
        method=method,
        probe=probe,
        gdb_address=gdb_address,
        emulator=emulator,
        progress=say,
    )
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(f"flashed {report.board} with {report.method} ({report.target}), verified")
    if report.model is not None:
        click.echo(f"  running: {report.firmware}, model {report.model}")
    for note in report.notes:
        click.echo(f"  {note}")
