"""Standalone pipeline images (firmware/app/pipeline/standalone/standalone.c): their C built for
this machine with a MOCK of the board's sample source and console (tests/host_standalone.c),
printing exactly the lines mcuforge.pipeline.standalone.expected_output computes from the
reference pipeline, whatever block size the source delivers; and the source registry, the
pipeline keys and the recordings they rest on."""

from __future__ import annotations

import ctypes
import dataclasses
import shutil
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from mcuforge import protocol, resources
from mcuforge.boards import get_board, load_board_file
from mcuforge.errors import BoardError, PipelineError, RecordingError
from mcuforge.pipeline import codegen, open_pipeline
from mcuforge.pipeline.firmware import compile_pipeline, pipeline_sources
from mcuforge.pipeline.recording import read_csv
from mcuforge.pipeline.standalone import (
    banner_line,
    board_source,
    config_files,
    expected_output,
    label_text,
)
from mcuforge.pipeline.suite import lsm9ds1_accel_file, pcm_file
from mcuforge.target.host import build_host_library
from pipegen import random_pipeline, synth_sha256
from test_pipeline_runner import _audio

ROOT = Path(__file__).resolve().parents[1]
GESTURE = ROOT / "models" / "pipelines" / "gesture.toml"
RECORDINGS = ROOT / "models" / "gesture" / "recordings"
HARNESS = Path(__file__).parent / "host_standalone.c"
NANO = "arduino-nano-33-ble-sense"


def _standalone_host(layout, models, directory: Path) -> ctypes.CDLL:  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True, exist_ok=True)
    arena = max([16, *(m.plan.arena_bytes for m in models)])
    codegen.write_config(layout, arena, directory)
    for name, text in config_files(layout).items():
        (directory / name).write_text(text)
    (directory / "protocol_codes.h").write_text(protocol.c_header())
    fw = resources.firmware_dir()
    sources = (*pipeline_sources(), directory / "pipeline_config.c",
               directory / "standalone_config.c", fw / "app" / "pipeline" / "standalone" /
               "standalone.c", fw / "platform" / "host" / "host_server.c", HARNESS)
    includes = [fw / "app", fw / "app" / "pipeline", fw / "platform"]
    lib = ctypes.CDLL(str(build_host_library(models, directory, extra_sources=sources,
                                             extra_flags=tuple(f"-I{d}" for d in includes))))
    lib.mf_host_standalone.restype = ctypes.c_char_p
    lib.mf_host_standalone.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_uint32,
                                       ctypes.c_uint32]
    return lib


def _run(lib: ctypes.CDLL, layout, samples: np.ndarray, total: int, chunk: int) -> list[str]:  # type: ignore[no-untyped-def]
    data = np.ascontiguousarray(samples, dtype=np.int16)
    text = lib.mf_host_standalone(data.ctypes.data, len(data), total, chunk).decode()
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def _printed_until(lines: list[str], end: str) -> list[str]:
    """The detection and marker lines, up to the end marker."""
    out = []
    for line in lines[2:]:
        out.append(line)
        if line == end:
            return out
    raise AssertionError(f"no {end!r} in {lines[-5:]}")


@pytest.fixture(scope="module")
def gesture():  # type: ignore[no-untyped-def]
    return open_pipeline(GESTURE)


def test_gesture_image_prints_the_reference_lines_for_every_block_size(  # type: ignore[no-untyped-def]
        gesture, tmp_path: Path) -> None:
    frontend, models = compile_pipeline(gesture, ("ref",))
    lib = _standalone_host(gesture, [frontend, *models], tmp_path)
    samples = read_csv(RECORDINGS / "wing_ring_slope.csv", 3)
    want = expected_output(gesture, samples)
    found = [line for line in want.lines if line.startswith("GESTURE")]
    assert [line.split()[1] for line in found] == ["wing", "ring", "slope"]
    total = want.padded + gesture.window + gesture.hop
    for chunk in (1, 25, 32, 1000):  # one sample, a hop, a FIFO's worth, all at once
        lines = _run(lib, gesture, samples, total, chunk)
        assert lines[0] == banner_line(gesture)
        assert lines[1] == "SOURCE host recording"
        assert _printed_until(lines, want.end_line) == want.lines, chunk


def test_random_pipelines_print_the_reference_lines(tmp_path: Path) -> None:
    """Random geometry (rates, channels, windows longer than a second of samples, gates): every
    detection, blocked detection and marker in the order standalone.c promises."""
    rng = np.random.default_rng(77)
    seen = {"events": 0, "blocked": 0, "markers_in_a_row": 0}
    for case in range(12):
        layout, models, stream = random_pipeline(rng)
        # Slow rates put several markers before one frame (its window spans seconds).
        rate = int(rng.choice([8, 50, 1000]))
        layout.spec = dataclasses.replace(layout.spec, sample_rate=rate)
        lib = _standalone_host(layout, models, tmp_path / f"case{case}")
        samples = _audio(rng, int(rng.integers(1500, 4000)), layout.spec.channels)

        def reference(padded, stream=stream):  # type: ignore[no-untyped-def]
            stream.feed(padded)
            return stream.trace

        want = expected_output(layout, samples, reference)
        lines = _run(lib, layout, samples, want.padded + layout.window + layout.hop,
                     int(rng.integers(1, 400)))
        names = [f"{n}={synth_sha256(n)}" for n in ("frontend", *(s.prefix for s in
                                                                  layout.stages))]
        assert lines[0] == f"MCUFORGE PIPELINE synth {' '.join(names)}"
        assert _printed_until(lines, want.end_line) == want.lines, case
        seen["events"] += sum(not e.blocked for e in want.events)
        seen["blocked"] += sum(e.blocked for e in want.events)
        seen["markers_in_a_row"] += sum(a.startswith("AT") and b.startswith("AT")
                                        for a, b in zip(want.lines, want.lines[1:], strict=False))
        if case >= 3 and all(seen.values()):
            break
    assert all(v > 0 for v in seen.values()), seen


def test_expected_lines_order_and_end_marker(gesture) -> None:  # type: ignore[no-untyped-def]
    samples = read_csv(RECORDINGS / "idle_only.csv", 3)  # 700 samples: 14 s at 50 Hz
    want = expected_output(gesture, samples)
    assert want.samples == 700 and want.padded == 15 * 50
    assert want.lines == [f"AT {s * 1000} ms" for s in range(1, 16)]
    assert want.end_line == "AT 15000 ms" and want.events == []


# ---- which source a standalone image links ---------------------------------------------------
def test_board_sources_and_their_drivers() -> None:
    nano = get_board(NANO)
    audio, imu = nano.sources["audio"], nano.sources["accelerometer"]
    assert (audio.driver.name, audio.renode, audio.irq_vectors()) == (
        "nrf_pdm", "sysbus.pdm", {29: "mf_source_isr"})
    assert (imu.driver.name, imu.renode, imu.irq_vectors()) == (
        "nrf_lsm9ds1", "sysbus.twi0.lsm9ds1_imu", {9: "mf_source_timer_isr"})
    header = imu.config_header(NANO)
    assert "#define MF_SOURCE_ADDRESS 0x6Bu" in header and "MF_SOURCE_FULL_SCALE_G 0x4u" in header
    for f in (*audio.driver.files, *imu.driver.files):
        assert (resources.firmware_dir() / f).is_file(), f


def test_standalone_needs_a_source_that_fits(gesture, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert board_source(gesture, get_board(NANO)).driver.name == "nrf_lsm9ds1"
    with pytest.raises(PipelineError, match=r"mps2-an386 has no accelerometer source .*its "
                       r"sources: none.*stream the samples"):
        board_source(gesture, get_board("mps2-an386"))
    text = GESTURE.read_text().replace("sample_rate = 50 ", "sample_rate = 25 ")
    (tmp_path / "g.toml").write_text(text.replace("../gesture/", str(GESTURE.parent.parent /
                                                                      "gesture") + "/"))
    with pytest.raises(PipelineError, match=r"runs at 10, 50, 119, 238, 476, 952 Hz, not 25 Hz"):
        board_source(open_pipeline(tmp_path / "g.toml"), get_board(NANO))


def _registry(tmp_path: Path, board_text: str) -> Path:
    for name in ("_cpus.toml", "_toolchains.toml", "_drivers.toml", "_sources.toml"):
        shutil.copy(resources.boards_dir() / name, tmp_path / name)
    path = tmp_path / f"{NANO}.toml"
    path.write_text(board_text)
    return path


@pytest.mark.parametrize("change,message", [
    (('driver = "nrf_pdm"', 'driver = "nrf_pmd"'), r"unknown driver 'nrf_pmd'"),
    (("gain = 0x28", "gian = 0x28"), r"unknown key 'gian'"),
    (("irq = 29", "irq = 99"), r"'irq' = 99 is outside the board's 48 interrupts"),
    (('[sources.audio]', '[sources.video]'), r"unknown kind of source"),
    (('driver = "nrf_lsm9ds1"', 'driver = "nrf_pdm"'),
     r"driver 'nrf_pdm' gives audio samples .* not accelerometer"),
    (("address = 0x6B", 'address = "0x6B"'), r"'address' must be a non-negative integer"),
])
def test_board_source_tables_are_checked(tmp_path: Path, change: tuple[str, str],
                                         message: str) -> None:
    text = (resources.boards_dir() / f"{NANO}.toml").read_text()
    assert change[0] in text
    with pytest.raises(BoardError, match=message):
        load_board_file(_registry(tmp_path, text.replace(change[0], change[1], 1)))


@pytest.mark.parametrize("change,message", [
    (('kind = "accelerometer"', 'kind = "gyro"'), r"kind 'gyro' is not one of audio, "
                                                  "accelerometer"),
    (('event = "GESTURE"', 'event = "gesture"'), r"event 'gesture' must be 1-16 capital"),
    (('event = "GESTURE"', 'event = "AT"'), r"not AT or BLOCKED"),
])
def test_pipeline_source_keys_are_checked(tmp_path: Path, change: tuple[str, str],
                                          message: str) -> None:
    text = GESTURE.read_text().replace("../gesture/", f"{GESTURE.parent.parent / 'gesture'}/")
    assert change[0] in text
    (tmp_path / "p.toml").write_text(text.replace(change[0], change[1]))
    with pytest.raises(PipelineError, match=message):
        open_pipeline(tmp_path / "p.toml")


def test_labels_become_one_word_and_names_are_checked(gesture) -> None:  # type: ignore[no-untyped-def]
    assert label_text("Okay Nabu") == "Okay_Nabu" and label_text("a/b=c") == "a_b_c"
    files = config_files(gesture)
    assert '{ "frontend", "gesture" }' in files["standalone_config.c"]
    assert '{ "wing", "ring", "slope" }' in files["standalone_config.c"]
    assert '#define MF_STANDALONE_EVENT "GESTURE"' in files["standalone_config.h"]


# ---- recordings and what Renode's sensor models read -----------------------------------------
def test_csv_recordings_are_read_and_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("# a comment\nax,ay,az\n1,-2,3\n\n32767,-32768,0\n")
    assert read_csv(path, 3).tolist() == [[1, -2, 3], [32767, -32768, 0]]
    for text, message in [("1,2\n", r"r.csv:1: 2 values; the pipeline takes 3"),
                          ("1,2,3\n4,x,6\n", r"r.csv:2: not 3 integers"),
                          ("1,2,40000\n", r"r.csv:1: values must be int16"),
                          ("ax,ay,az\n", r"holds no samples")]:
        path.write_text(text)
        with pytest.raises(RecordingError, match=message):
            read_csv(path, 3)


@pytest.mark.parametrize("full_scale", [2, 4, 8, 16])
def test_lsm9ds1_file_gives_back_every_int16_exactly(tmp_path: Path, full_scale: int) -> None:
    """Renode's LSM9DS1_IMU computes (short)(value * 32768 / full scale) in C# decimal
    (truncating toward zero): every int16 must come back unchanged."""
    raw = np.arange(-32768, 32768, dtype=np.int32)
    raw = np.concatenate([raw, np.zeros((-len(raw)) % 3, np.int32)]).reshape(-1, 3)
    path = tmp_path / "a.accel"
    lsm9ds1_accel_file(raw, full_scale, path)
    sensitivity = Decimal(32768) / Decimal(full_scale)
    back = [int(Decimal(v) * sensitivity) for line in path.read_text().split("\n") if line
            for v in line.split(" ")]
    assert back == raw.reshape(-1).tolist()


def test_pcm_file_is_16_bit_little_endian(tmp_path: Path) -> None:
    pcm_file(np.array([[1], [-2], [0x1234]], dtype=np.int16), tmp_path / "a.pcm")
    assert (tmp_path / "a.pcm").read_bytes() == bytes([1, 0, 0xFE, 0xFF, 0x34, 0x12])
