"""``mcuforge stream``: a recording (CSV of sensor samples, or WAV) streamed over the serial line
to a pipeline image, for boards or emulators without the pipeline's sensor (QEMU has no IMU).
The same as ``mcuforge listen`` (every frame, model output and event checked against the TFLM
reference pipeline), printing each detection as the line a standalone image prints for it."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mcuforge.errors import McuforgeError


@click.command("stream")
@click.argument("pipeline", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--board", "-b", required=True, metavar="BOARD",
              help="Target board (see `mcuforge boards`).")
@click.option("--csv", "csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A recording: one row of int16 values per sample, one column per channel.")
@click.option("--wav", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Audio (converted to the pipeline's rate, mono, int16).")
@click.option("--emulator", default="qemu", show_default=True,
              type=click.Choice(["qemu", "renode", "host"]),
              help="Emulator to boot the image in; host runs the same C built for this machine.")
@click.option("--port", help="A board's serial port (its firmware flashed from mcuforge build).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def stream_cmd(pipeline: Path, board: str, csv_file: Path | None, wav: Path | None,
               emulator: str, port: str | None, as_json: bool, quiet: bool) -> None:
    """Stream a recording through a pipeline over the serial line (the pipeline protocol),
    print each detection as a standalone image prints it, and check every feature frame,
    model output and event against the TFLM reference pipeline (exit 1 on a difference).

    \\b
    Example:
      mcuforge stream models/pipelines/gesture.toml --board mps2-an386 \\\\
          --csv models/gesture/recordings/wing_ring_slope.csv
    """
    from mcuforge.boards import get_board
    from mcuforge.pipeline import open_pipeline
    from mcuforge.pipeline.audio import Audio, load_wav
    from mcuforge.pipeline.listen import format_report, listen
    from mcuforge.pipeline.recording import read_csv
    from mcuforge.pipeline.standalone import event_line

    if (csv_file is None) == (wav is None):
        raise McuforgeError("give the recording as --csv FILE or --wav FILE (one of them)")
    layout = open_pipeline(pipeline)
    spec = layout.spec
    if csv_file is not None:
        audio = Audio(read_csv(csv_file, spec.channels), spec.sample_rate)
    else:
        assert wav is not None
        audio = load_wav(wav, spec.sample_rate, spec.channels)
    say: Any = None if quiet or as_json else (lambda m: click.echo(f"[mcuforge] {m}", err=True))
    for note in audio.conversions:
        if say is not None:
            say(note)

    def show(event: Any) -> None:
        if not as_json:
            click.echo(event_line(layout, event))

    report = listen(layout, get_board(board), audio, emulator=emulator, port=port,
                    progress=say, on_event=show)
    if as_json:
        click.echo(json.dumps({**report.to_dict(),
                               "lines": [event_line(layout, e) for e in report.events]},
                              indent=2, default=str))
    else:
        click.echo(format_report(report, layout))
    if not report.passed:
        sys.exit(1)
