"""Pipelines fed by a board's own sensors: ``mcuforge renode-suite PIPELINE --audio/--imu`` (a
standalone image in Renode on the emulated PDM microphone or LSM9DS1 accelerometer, expecting
exactly the TFLM reference's detections) and ``mcuforge stream --csv`` (the samples over the
serial line where the emulator has no sensor: QEMU).

The suite is checked against Renode's documented keywords and monitor commands without Renode;
the real Renode runs (marker ``renode``) skip, with the reason shown, where it is absent."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.io import wavfile

from mcuforge.boards import get_board
from mcuforge.cli import cli
from mcuforge.compiler.ops import check_graph
from mcuforge.errors import UnsupportedModelError
from mcuforge.model import read_model
from mcuforge.pipeline import open_pipeline
from mcuforge.pipeline.firmware import build_pipeline
from mcuforge.pipeline.recording import read_csv
from mcuforge.pipeline.standalone import banner_line, expected_output
from mcuforge.pipeline.suite import write_pipeline_suite
from test_renode import RENODE_KEYWORDS, _keyword_calls, documented

ROOT = Path(__file__).resolve().parents[1]
GESTURE = ROOT / "models" / "pipelines" / "gesture.toml"
OKAY_NABU = ROOT / "models" / "pipelines" / "okay_nabu.toml"
RECORDINGS = ROOT / "models" / "gesture" / "recordings"
ZOO = Path(__file__).parent / "zoo"
NANO = "arduino-nano-33-ble-sense"
#: Robot Framework BuiltIn keywords renode/pipeline.resource uses besides Renode's.
BUILTIN = {"Evaluate", "Should Be Equal", "Should Be Empty"}
FEED_SYNTAX = [  # Renode's NRF52840_PDM and LSM9DS1_IMU methods (their sources, Renode 1.16)
    re.compile(r"^sysbus\.pdm SetInputFile @/\S+\.pcm$"),
    re.compile(r"^sysbus\.twi0\.lsm9ds1_imu FeedAccelerationSample @/\S+\.accel$"),
    re.compile(r"^sysbus\.twi0\.lsm9ds1_imu MaxFifoDepth 32$"),
]
renode_test_only = pytest.mark.skipif(
    shutil.which("renode-test") is None,
    reason="Renode not installed (not on PyPI, Debian or npm; get it from https://renode.io): "
    "the pipeline suites run only where renode-test is")


def _audio_compiles() -> bool:
    try:
        for name in ("audio_preprocessor_int8.tflite", "mww_okay_nabu.tflite",
                     "mww_vad.tflite"):
            check_graph(read_model(ZOO / name))
    except UnsupportedModelError:
        return False
    return True


audio_only = pytest.mark.skipif(
    not _audio_compiles(),
    reason="the audio front end and ESPHome's models need the signal and data-movement ops "
           "(branches frontend and ops-data), not in this tree yet")


@pytest.fixture(scope="module")
def gesture():  # type: ignore[no-untyped-def]
    return open_pipeline(GESTURE)


@pytest.fixture(scope="module")
def gesture_suite(gesture, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return write_pipeline_suite(
        gesture, get_board(NANO), tmp_path_factory.mktemp("gesture-suite"),
        imu=[RECORDINGS / "wing_ring_slope.csv", RECORDINGS / "idle_only.csv"])


def test_suite_expects_the_reference_lines_with_renode_keywords_only(  # type: ignore[no-untyped-def]
        gesture, gesture_suite) -> None:
    s = gesture_suite
    directory = s.directory
    calls, defined, tests = _keyword_calls(s.suite, directory / "pipeline.resource",
                                           directory / "mcuforge.resource")
    assert tests == ["Firmware Runs The Models Of gesture",
                     "Recording wing_ring_slope Gives The Reference's Detections",
                     "Recording idle_only Gives The Reference's Detections"]
    for keyword, args in calls:
        assert keyword in RENODE_KEYWORDS | BUILTIN | defined, f"not a known keyword: {keyword}"
        if keyword == "Execute Command" and args != ["${command}"]:  # the FOR over the feed
            assert len(args) == 1 and documented(args[0]), f"undocumented command: {args}"
        if keyword == "Boot Pipeline Firmware":
            for command in args:
                assert any(p.match(command) for p in FEED_SYNTAX), command
                if "@" in command:  # the converted recording, beside the suite
                    assert Path(command.split("@")[-1]).is_file(), command
    text = s.suite.read_text()
    assert re.search(rf"^\$\{{BANNER\}} +{re.escape(banner_line(gesture))}$", text, re.M)
    assert re.search(r"^\$\{MIPS\} +64$", text, re.M)  # the nRF52840's 64 MHz
    expected = [args[0] for k, args in calls if k == "Expect Pipeline Line"]
    want = [expected_output(gesture, read_csv(RECORDINGS / f"{n}.csv", 3)).lines
            for n in ("wing_ring_slope", "idle_only")]
    assert expected == want[0] + want[1]
    assert [line for line in expected if line.startswith("GESTURE")] == [
        "GESTURE wing at 7620 ms score 255 max 255", "GESTURE ring at 12620 ms score 254 max 255",
        "GESTURE slope at 18120 ms score 228 max 252"]
    assert s.elf.is_file() and s.build.source == "nrf_lsm9ds1"
    assert s.command.startswith(f"renode-test {s.suite} --variable ELF:@{s.elf}")


def test_suite_command_refuses_what_does_not_fit(tmp_path: Path, zoo: Path) -> None:
    run = CliRunner().invoke
    csv, wav = RECORDINGS / "idle_only.csv", tmp_path / "a.wav"
    wavfile.write(wav, 16000, np.zeros(1600, np.int16))
    cases = [
        (["renode-suite", str(GESTURE), "-b", NANO, "--audio", str(wav), "-o", str(tmp_path)],
         "takes accelerometer samples ([source] kind); --audio gives audio recordings"),
        (["renode-suite", str(GESTURE), "-b", "mps2-an386", "--imu", str(csv), "-o",
          str(tmp_path)], "cannot run in Renode"),
        (["renode-suite", str(GESTURE), "-b", "nrf52840-dk", "--imu", str(csv), "-o",
          str(tmp_path)], "nrf52840-dk has no accelerometer source"),
        (["renode-suite", str(GESTURE), "-b", NANO, "-o", str(tmp_path)],
         "give at least one recording"),
        (["renode-suite", str(zoo / "hello_world_int8.tflite"), "-b", NANO, "--imu", str(csv),
          "-o", str(tmp_path)], "hello_world_int8.tflite is a model"),
        (["build", str(GESTURE), "-b", "mps2-an386", "--standalone", "-o", str(tmp_path)],
         "mps2-an386 has no accelerometer source for a standalone image of gesture.toml"),
        (["build", str(zoo / "hello_world_int8.tflite"), "-b", NANO, "--standalone", "-o",
          str(tmp_path)], "hello_world_int8.tflite is a model"),
    ]
    for args, message in cases:
        result = run(cli, args)
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output


# ---- mcuforge stream: the samples over the serial line -----------------------------------------
def _stream(*args: str) -> dict:
    result = CliRunner().invoke(cli, ["stream", str(GESTURE), *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_stream_on_the_host_build_reports_the_reference_events(gesture) -> None:  # type: ignore[no-untyped-def]
    report = _stream("-b", "mps2-an386", "--csv", str(RECORDINGS / "ring_twice.csv"),
                     "--emulator", "host")
    assert report["passed"] and report["events"] == report["reference_events"]
    assert [line.split()[:2] for line in report["lines"]] == [["GESTURE", "ring"]] * 2
    samples = read_csv(RECORDINGS / "ring_twice.csv", 3)
    assert report["frames"] == (len(samples) - gesture.window) // gesture.hop + 1


@pytest.mark.qemu
def test_stream_on_qemu_prints_the_lines_a_standalone_image_prints(gesture) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(cli, ["stream", str(GESTURE), "-b", "mps2-an386", "--csv",
                                      str(RECORDINGS / "wing_ring_slope.csv"), "-q"])
    assert result.exit_code == 0, result.output
    want = expected_output(gesture, read_csv(RECORDINGS / "wing_ring_slope.csv", 3))
    printed = [line for line in result.output.splitlines() if line.startswith("GESTURE")]
    assert printed == [line for line in want.lines if line.startswith("GESTURE")]
    assert "bit-exact with the TFLM reference pipeline: 34 feature frames" in result.output


def test_stream_refuses_a_recording_of_the_wrong_shape(tmp_path: Path) -> None:
    bad = tmp_path / "two.csv"
    bad.write_text("1,2\n3,4\n")
    result = CliRunner().invoke(cli, ["stream", str(GESTURE), "-b", "mps2-an386", "--csv",
                                      str(bad)])
    assert result.exit_code == 2 and "two.csv:1: 2 values; the pipeline takes 3" in result.output
    both = CliRunner().invoke(cli, ["stream", str(GESTURE), "-b", "mps2-an386"])
    assert both.exit_code == 2 and "give the recording as --csv FILE or --wav FILE" in both.output


# ---- real Renode -------------------------------------------------------------------------------
def _renode_test(suite: Path, results: Path,
                 elf: Path | None = None) -> subprocess.CompletedProcess:
    args = ["renode-test", str(suite), "-r", str(results)]
    if elf is not None:
        args[2:2] = ["--variable", f"ELF:@{elf}"]
    return subprocess.run(args, capture_output=True, text=True, timeout=900, cwd=suite.parent)


def _passed(proc: subprocess.CompletedProcess, tests: list[str]) -> None:
    assert proc.returncode == 0, textwrap.shorten(proc.stdout + proc.stderr, 4000)
    assert "Tests finished successfully" in proc.stdout
    for test in tests:
        assert re.search(rf"Finished test '.*{re.escape(test)}' .*status .*OK", proc.stdout), test


@renode_test_only
@pytest.mark.renode
def test_real_renode_imu_suite_passes(gesture_suite) -> None:  # type: ignore[no-untyped-def]
    _passed(_renode_test(gesture_suite.suite, gesture_suite.directory / "results"),
            gesture_suite.tests)


@renode_test_only
@pytest.mark.renode
def test_real_renode_suite_fails_on_another_image_naming_both_hashes(  # type: ignore[no-untyped-def]
        gesture, gesture_suite, tmp_path: Path) -> None:
    """The same pipeline with another front end (a different scale): its image runs, but the
    suite refuses it at the banner, naming the front end's two SHA-256."""
    sys.path.insert(0, str(ROOT / "models" / "gesture"))
    try:
        from imu_frontend import frontend_bytes, model_input
    finally:
        sys.path.remove(str(ROOT / "models" / "gesture"))
    scale, zero_point = model_input(ROOT / "models" / "gesture" / "gesture_int8.tflite")
    (tmp_path / "other_frontend.tflite").write_bytes(frontend_bytes(scale * 1.5, zero_point))
    text = GESTURE.read_text().replace('"../gesture/imu_frontend_int8.tflite"',
                                       '"other_frontend.tflite"')
    text = text.replace('"../gesture/gesture_int8.tflite"',
                        f'"{ROOT / "models" / "gesture" / "gesture_int8.tflite"}"')
    (tmp_path / "gesture.toml").write_text(text)
    other = open_pipeline(tmp_path / "gesture.toml")
    elf = build_pipeline(other, get_board(NANO), tmp_path / "build", standalone=True).build.elf
    proc = _renode_test(gesture_suite.suite, tmp_path / "results", elf)
    assert proc.returncode != 0
    theirs, ours = other.frontend_graph.sha256, gesture.frontend_graph.sha256
    assert theirs != ours
    message = f"model frontend: the firmware's SHA-256 is {theirs}, this suite expects {ours}"
    assert message in proc.stdout, proc.stdout[-3000:]
    for test in gesture_suite.tests:
        assert re.search(rf"Finished test '.*{re.escape(test)}' .*status .*failed", proc.stdout)


@renode_test_only
@pytest.mark.renode
@audio_only
def test_real_renode_microphone_suite_passes(tmp_path: Path) -> None:
    from test_pipeline_reference import speech

    said = tmp_path / "okay_nabu.wav"
    wavfile.write(said, 16000, speech(tmp_path, "okay nabu")[:, 0])
    other = tmp_path / "hello.wav"
    wavfile.write(other, 16000, speech(tmp_path, "hello there, how are you")[:, 0])
    layout = open_pipeline(OKAY_NABU)
    suite = write_pipeline_suite(layout, get_board(NANO), tmp_path / "suite",
                                 audio=[said, other])
    positive, negative = (r.expected for r in suite.recordings)
    assert [line.split()[0] for line in positive.lines if not line.startswith("AT")] == [
        "DETECT"]
    assert all(line.startswith("AT") for line in negative.lines)
    _passed(_renode_test(suite.suite, suite.directory / "results"), suite.tests)
