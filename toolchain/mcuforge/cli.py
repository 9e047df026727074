"""The ``mcuforge`` command line: parse options, call one API function, print the result.

Progress goes to stderr and results to stdout, so ``--json`` output can be piped. User errors
(:class:`~mcuforge.errors.McuforgeError`) print one clear message and exit non-zero; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mcuforge import __version__
from mcuforge.errors import McuforgeError

#: A model argument; directories pass so that a SavedModel gets the "quantize first" advice.
MODEL = click.Path(exists=True, path_type=Path)


def _progress(quiet: bool) -> Any:
    if quiet:
        return None
    return lambda msg: click.echo(f"[mcuforge] {msg}", err=True)


def _progress_to_terminal() -> Any:
    """Progress that reaches the terminal even while TensorFlow's output is swallowed (the
    quantizer redirects file descriptors 1 and 2 around the converter): written to a copy of
    descriptor 2 taken now."""
    import os

    stream = os.fdopen(os.dup(2), "w", buffering=1)
    return lambda msg: stream.write(f"[mcuforge] {msg}\n")


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def _board(name: str) -> Any:
    from mcuforge.boards import get_board

    return get_board(name)


BOARD_OPTION = click.option(
    "--board",
    "-b",
    "board",
    required=True,
    metavar="BOARD",
    help="Target board (see `mcuforge boards`).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
OPT_OPTION = click.option(
    "--opt", "optimize", default="balanced", show_default=True,
    type=click.Choice(["balanced", "speed", "size"]),
    help="Kernel code: one copy per layer shape (speed), one shared copy (size), or "
         "specialized only where it pays (balanced).",
)


class _Group(click.Group):
    """Turns user errors into one message and an exit status, also under click's CliRunner."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except McuforgeError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mcuforge")
def cli() -> None:
    """Compile int8 TinyML models into bare-metal firmware and test them bit-exactly against
    the TFLM reference, in emulation or on a board.

    \b
    Quick start:
      mcuforge inspect models/gesture/gesture_int8.tflite
      mcuforge test models/gesture/gesture_int8.tflite --board mps2-an386 --vectors 50
    """


@cli.command("inspect")
@click.argument("model", type=MODEL)
@JSON_OPTION
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the memory timeline to a PNG file.",
)
def inspect_cmd(model: Path, as_json: bool, plot: Path | None) -> None:
    """Show a model's ops, tensors, MACs and arena plan, and whether it compiles.

    \b
    Example:
      mcuforge inspect models/wake_word/wake_word_int8.tflite --plot plan.png
    """
    from mcuforge.summary import format_summary, inspect_model

    summary = inspect_model(model)
    if plot is not None:
        if summary.plan is None:
            raise McuforgeError("no memory plan to plot: the model is not supported")
        from mcuforge.plot import plot_plan

        plot_plan(summary.plan, summary.graph.name, plot)
    if as_json:
        _emit_json(summary.to_dict())
    else:
        click.echo(format_summary(summary))
        if plot is not None:
            click.echo(f"memory timeline written to {plot}")
    if not summary.supported:
        sys.exit(1)


@cli.command("build")
@click.argument("model", type=MODEL)
@BOARD_OPTION
@click.option(
    "--output",
    "-o",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output directory.",
)
@click.option("--debug", is_flag=True, help="Expose every tensor (for layer-by-layer checks).")
@click.option("--profile", is_flag=True, help="Record instructions per layer.")
@OPT_OPTION
@click.option("--standalone", is_flag=True,
              help="Pipelines: listen to the board's own sensor from boot and print text lines "
              "(no host protocol).")
@JSON_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def build_cmd(
    model: Path, board: str, out_dir: Path, debug: bool, profile: bool, optimize: str,
    standalone: bool,
    as_json: bool, quiet: bool
) -> None:
    """Compile MODEL into firmware.elf/.bin/.hex for a board, with a size report.

    MODEL may also be a pipeline: a pipeline file (.toml) or an ESPHome micro_wake_word
    manifest (.json); the image then runs the front end and the models on streamed samples.

    \b
    Examples:
      mcuforge build models/gesture/gesture_int8.tflite --board mps2-an386 -o build/gesture
      mcuforge build models/pipelines/okay_nabu.toml --board mps2-an386 -o build/okay_nabu
      mcuforge build models/pipelines/gesture.toml -b arduino-nano-33-ble-sense \\
          --standalone -o build/gesture
    """
    if model.suffix.lower() in (".toml", ".json"):
        if debug or profile:
            raise McuforgeError("--debug and --profile apply to single models, not pipelines "
                                "(a pipeline image reports instructions per stage anyway)")
        _build_pipeline(model, board, out_dir, as_json, quiet, standalone)
        return
    if standalone:
        raise McuforgeError("--standalone builds a pipeline (.toml or .json) that listens to the "
                            f"board's sensor; {model.name} is a model")
    from mcuforge.build import build_firmware

    result = build_firmware(
        model,
        _board(board),
        out_dir,
        debug=debug,
        profile=profile,
        progress=_progress(quiet or as_json),
        optimize=optimize,
    )
    if as_json:
        _emit_json(result.to_dict())
        return
    click.echo(f"built {result.elf} for {board}")
    click.echo(result.size.bars())


def _build_pipeline(path: Path, board: str, out_dir: Path, as_json: bool, quiet: bool,
                    standalone: bool) -> None:
    from mcuforge.pipeline import open_pipeline
    from mcuforge.pipeline.firmware import build_pipeline

    result = build_pipeline(open_pipeline(path), _board(board), out_dir,
                            progress=_progress(quiet or as_json), standalone=standalone)
    if as_json:
        _emit_json(result.to_dict())
        return
    ram = result.ram
    click.echo(f"built {result.build.elf} for {board}: pipeline '{result.layout.spec.name}' "
               f"({', '.join(s.name for s in result.layout.stages)})"
               + (f", standalone on the board's {result.source} source" if result.source else ""))
    click.echo(result.build.size.bars())
    states = ", ".join(f"{k} {v}" for k, v in ram.model_state.items())
    click.echo(f"        arena {ram.arena} B shared by the front end and the models; state: front "
               f"end {ram.frontend_state} B, {states} B")
    for m in result.layout.spec.models:
        if m.esphome_arena:
            ours = ram.arena + result.models[[s.name for s in result.layout.stages]
                                              .index(m.name)].plan.state.bytes
            click.echo(f"        {m.name}: ESPHome declares tensor_arena_size {m.esphome_arena} "
                       f"B; mcuforge needs {ours} B (shared arena + its state)")


@cli.command("listen")
@click.argument("pipeline", type=MODEL)
@BOARD_OPTION
@click.option("--wav", type=click.Path(dir_okay=False, path_type=Path),
              help="Audio to stream (converted to the pipeline's rate, mono, int16).")
@click.option("--mic", is_flag=True, help="Record the host microphone (needs sounddevice).")
@click.option("--seconds", default=10.0, show_default=True, help="With --mic: how long.")
@click.option("--emulator", default="qemu", show_default=True,
              type=click.Choice(["qemu", "renode", "host"]),
              help="Emulator to boot the image in; host runs the same C built for this machine.")
@click.option("--port", help="A board's serial port (its firmware flashed from mcuforge build).")
@click.option("--build-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep the firmware here (default: a temporary directory).")
@JSON_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def listen_cmd(pipeline: Path, board: str, wav: Path | None, mic: bool, seconds: float,
               emulator: str, port: str | None, build_dir: Path | None, as_json: bool,
               quiet: bool) -> None:
    """Stream audio through a pipeline on a board, print the detections, and check every
    feature frame, model output and event against the TFLM reference pipeline.

    PIPELINE is a pipeline file (.toml) or an ESPHome micro_wake_word manifest (.json).
    Exits 1 when the device differs from the reference, naming the first frame and stage.

    \b
    Examples:
      mcuforge listen models/pipelines/okay_nabu.toml --board mps2-an386 --wav speech.wav
      mcuforge listen mww_okay_nabu.json --board mps2-an386 --wav speech.wav --json
    """
    import numpy as np

    from mcuforge.pipeline import open_pipeline
    from mcuforge.pipeline.audio import Audio, load_wav, microphone
    from mcuforge.pipeline.listen import format_report, listen

    if (wav is None) == (not mic):
        raise McuforgeError("give the audio as --wav FILE or --mic (one of them)")
    layout = open_pipeline(pipeline)
    spec = layout.spec
    say = _progress(quiet or as_json)
    live = None
    if mic:
        name, live = microphone(seconds, spec.sample_rate, spec.channels)
        audio = Audio(np.zeros((0, spec.channels), dtype=np.int16), spec.sample_rate,
                      [f"{seconds:g} s from the microphone '{name}'"])
    else:
        assert wav is not None
        audio = load_wav(wav, spec.sample_rate, spec.channels)
    for note in audio.conversions:
        if say is not None:
            say(note)

    def show(event: Any) -> None:  # live: as the device reports them
        if mic and not as_json and not event.blocked:
            click.echo(f"  {event.seconds(spec.sample_rate):8.3f} s  detected {event.model}: "
                       f"'{event.label}' (mean score {event.mean}/255)")

    report = listen(layout, _board(board), audio, emulator=emulator, port=port,
                    build_dir=build_dir, progress=say, on_event=show, live=live)
    if as_json:
        _emit_json(report.to_dict())
    else:
        if audio.conversions:
            click.echo(f"audio: {'; '.join(audio.conversions)}")
        click.echo(format_report(report, layout))
    if not report.passed:
        sys.exit(1)


@cli.command("test")
@click.argument("model", type=MODEL)
@BOARD_OPTION
@click.option("--vectors", "-n", default=20, show_default=True, help="Random input vectors.")
@click.option(
    "--inputs",
    "inputs_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Inputs from .npy/.npz instead of random vectors.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the random vectors.")
@click.option("--emulator", default="qemu", show_default=True,
              type=click.Choice(["qemu", "renode", "host"]),
              help="Emulator to run on; host runs the same C compiled for this machine (fast).")
@click.option(
    "--layers",
    is_flag=True,
    help="Also compare every intermediate tensor; names the first layer that diverges.",
)
@click.option("--reset-every", default=0, show_default=True, metavar="K",
              help="Stateful models: reset the device and the reference every K steps.")
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the firmware here (default: a temporary directory).",
)
@click.option(
    "--junit", type=click.Path(dir_okay=False, path_type=Path), help="Write a JUnit XML report."
)
@click.option(
    "--robot",
    "robot_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --emulator renode: write a renode-test suite to DIR instead of running.",
)
@OPT_OPTION
@JSON_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def test_cmd(
    model: Path,
    board: str,
    vectors: int,
    inputs_file: Path | None,
    seed: int,
    emulator: str,
    layers: bool,
    reset_every: int,
    build_dir: Path | None,
    junit: Path | None,
    robot_dir: Path | None,
    optimize: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Build, boot in an emulator, and compare outputs with the TFLM reference bit for bit.

    Exits 1 if any output differs, naming the first differing index and both values. A
    stateful (streaming) model runs its vectors as one stream, its state carried from step to
    step on the device and in the reference alike.

    \b
    Examples:
      mcuforge test models/wake_word/wake_word_int8.tflite --board mps2-an386 --vectors 50
      mcuforge test models/gesture/gesture_int8.tflite --board mps2-an386 --inputs \
          models/gesture/heldout.npz
      mcuforge test stream.tflite --board mps2-an386 --vectors 200 --reset-every 50
      mcuforge test stream.tflite --board mps2-an386 --emulator host --vectors 5000
    """
    if robot_dir is not None:
        from mcuforge.renode_suite import emit_robot_suite

        emit_robot_suite(model, board, emulator, robot_dir, vectors, seed, as_json, quiet)
        return
    from mcuforge.verify import run_test

    report = run_test(
        model,
        _board(board),
        vectors=vectors,
        seed=seed,
        inputs_file=inputs_file,
        emulator=emulator,
        layers=layers,
        reset_every=reset_every,
        build_dir=build_dir,
        progress=_progress(quiet or as_json),
        optimize=optimize,
    )
    if junit is not None:
        junit.write_text(report.junit())
    if as_json:
        _emit_json(report.to_dict())
    else:
        verdict = "PASS" if report.passed else "FAIL"
        what = "steps of one stream" if report.stream else "vectors"
        speed = ""
        if report.instructions_per_inference is not None:
            speed = f", {report.instructions_per_inference} instructions per inference"
            if report.stream:
                speed = (f", {report.first_step_instructions} instructions for the first step, "
                         f"{report.instructions_per_inference} per step after")
        click.echo(
            f"{verdict}: {report.model} on {report.board} ({report.emulator}): "
            f"{report.vectors} {what}, {report.mismatches} mismatching{speed}, "
            f"{report.seconds:.1f} s"
            + (f", {report.link['retries']} link retries" if report.link.get("retries") else "")
        )
        for f in report.failures[:5]:
            click.echo(f"  {f.describe()}")
        if report.layers:
            first = report.first_divergent_layer
            if first is None:
                click.echo(f"  all {len(report.layers)} layers match the reference")
            else:
                click.echo(
                    f"  first divergent layer: step {first.step} (node {first.node} "
                    f"{first.op}, tensor {first.tensor} '{first.name}'): "
                    f"{first.mismatches}/{first.size} values differ, max |diff| "
                    f"{first.max_abs_diff}"
                )
    if not report.passed:
        sys.exit(1)


@cli.command("bench")
@click.argument("model", type=MODEL)
@BOARD_OPTION
@click.option("--invokes", default=5, show_default=True, help="Inferences to take the median of.")
@click.option("--layers", is_flag=True, help="Instructions per layer and per op type.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="With --layers: bar chart of instructions per layer (PNG).",
)
@click.option("--emulator", default="qemu", show_default=True, help="Emulator to run on.")
@OPT_OPTION
@JSON_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress messages.")
def bench_cmd(
    model: Path,
    board: str,
    invokes: int,
    layers: bool,
    plot: Path | None,
    emulator: str,
    optimize: str,
    as_json: bool,
    quiet: bool,
) -> None:
    """Instructions per inference (exact QEMU instruction counts), flash and RAM.

    \b
    Example:
      mcuforge bench models/wake_word/wake_word_int8.tflite --board mps2-an386 --layers
    """
    from mcuforge.bench import format_bench, run_bench

    report = run_bench(
        model,
        _board(board),
        invokes=invokes,
        layers=layers or plot is not None,
        emulator=emulator,
        progress=_progress(quiet or as_json),
        optimize=optimize,
    )
    if plot is not None:
        from mcuforge.plot import plot_layers

        plot_layers(report, plot)
    if as_json:
        _emit_json(report.to_dict())
        return
    click.echo(format_bench(report))


@cli.command("quantize")
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", "out_path", required=True,
              type=click.Path(dir_okay=False, path_type=Path), help="The int8 .tflite to write.")
@click.option("--calibration", "-c", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Representative inputs: .npy, or .npz with 'x' (and optional labels 'y').")
@click.option("--float-io", is_flag=True,
              help="Keep float32 model inputs and outputs (int8 inside).")
@click.option("--holdout", default=0.2, show_default=True,
              help="Share of the samples kept out of calibration to compare float and int8.")
@click.option("--task", type=click.Choice(["classification", "regression"]),
              help="How to compare outputs (default: guessed from the float outputs).")
@click.option("--activations", type=click.Choice(["int8", "int16"]), default="int8",
              show_default=True,
              help="int16: a 16x8 model (int16 activations, int8 weights), more precise.")
@click.option("--keep-float", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the converted float .tflite here, even if the model is refused.")
@JSON_OPTION
def quantize_cmd(model: Path, out_path: Path, calibration: Path, float_io: bool, holdout: float,
                 task: str | None, activations: str, keep_float: Path | None,
                 as_json: bool) -> None:
    """Quantize a float model (Keras .keras/.h5, SavedModel directory or float .tflite) to full
    int8, and report how much accuracy it cost on held-out samples.

    \b
    Example:
      mcuforge quantize models/gesture/gesture_float.keras -o gesture_int8.tflite \
          --calibration models/gesture/heldout.npz
      mcuforge quantize models/gesture/gesture_float.keras -o gesture_16x8.tflite \
          --calibration models/gesture/heldout.npz --activations int16
    """
    from mcuforge.quantize import format_report, quantize

    report = quantize(model, out_path, calibration, float_io=float_io, holdout_fraction=holdout,
                      task=task, activations=activations, keep_float=keep_float,
                      progress=None if as_json else _progress_to_terminal())
    if as_json:
        _emit_json(report.to_dict())
    else:
        click.echo(format_report(report))


@cli.command("boards")
@JSON_OPTION
def boards_cmd(as_json: bool) -> None:
    """List the boards mcuforge builds for: memories, emulators, and where each was verified
    bit-exact against TFLM (qemu, renode, hardware).

    \b
    Example:
      mcuforge boards --json
    """
    from mcuforge.boards import all_boards

    boards = all_boards()
    if as_json:
        _emit_json([b.to_dict() for b in boards.values()])
        return
    click.echo(
        f"{'board':<26} {'cpu':<12} {'flash':>10} {'RAM':>10}  {'emulators':<12} "
        f"{'verified':<12} description"
    )
    for b in boards.values():
        emus = ",".join(sorted(b.emulators)) or "-"
        verified = ",".join(b.verified) or "-"
        click.echo(
            f"{b.name:<26} {b.cpu.name:<12} {b.flash.size // 1024:>7} KiB "
            f"{b.ram.size // 1024:>6} KiB  {emus:<12} {verified:<12} {b.description}"
        )


from mcuforge.flash.command import flash_cmd  # noqa: E402

cli.add_command(flash_cmd)

from mcuforge.export.cli import export_group  # noqa: E402
from mcuforge.pipeline.stream import stream_cmd  # noqa: E402
from mcuforge.renode_suite import renode_suite_cmd  # noqa: E402

cli.add_command(renode_suite_cmd)
cli.add_command(export_group)
cli.add_command(stream_cmd)


def main() -> None:
    cli(prog_name="mcuforge")


if __name__ == "__main__":
    main()
