"""The device's stage runner (firmware/app/pipeline/) compiled for the host and driven through
its protocol handlers, against the Python reference Stream: random synthetic pipelines (see
pipegen.py) for breadth, every frame, output and event compared."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from mcuforge import protocol
from mcuforge.errors import DeviceError
from mcuforge.pipeline import codegen
from mcuforge.pipeline.host import HostPipelineDevice, load_host_pipeline
from mcuforge.pipeline.listen import compare
from mcuforge.pipeline.session import PipelineSession
from mcuforge.protocol import Cmd
from pipegen import random_pipeline


def _host(layout, models, directory: Path) -> PipelineSession:  # type: ignore[no-untyped-def]
    directory.mkdir(parents=True, exist_ok=True)
    codegen.write_config(layout, 16, directory)
    (directory / "protocol_codes.h").write_text(protocol.c_header())
    lib = load_host_pipeline(models, directory)
    session = PipelineSession(HostPipelineDevice(lib, [{"model": m.prefix} for m in models]),
                              layout)
    session.check()
    session.reset()
    return session


def _audio(rng: np.random.Generator, n: int, channels: int) -> np.ndarray:
    """Noise with loud and quiet stretches, so scores cross the cutoffs both ways."""
    level = np.repeat(rng.choice([50, 2000, 30000], size=n // 20 + 1), 20)[:n]
    return (rng.standard_normal((n, channels)) * level[:, None]).clip(-32768, 32767).astype(
        np.int16)


def test_runner_is_exact_on_random_synthetic_pipelines(tmp_path: Path) -> None:
    rng = np.random.default_rng(2024)
    totals = {"frames": 0, "events": 0, "blocked": 0, "windowed": 0, "gated": 0}
    for case in range(8):
        layout, models, stream = random_pipeline(rng)
        session = _host(layout, models, tmp_path / f"case{case}")
        audio = _audio(rng, int(rng.integers(200, 1500)), layout.spec.channels)
        at = 0
        while at < len(audio):  # chunks of any size, as a host streams them
            n = int(rng.integers(1, 300))
            session.push(audio[at : at + n])
            at += n
        stream.feed(audio)
        bad = compare(layout, session.frames, session.events, stream.trace)
        assert bad is None, f"case {case} ({layout.stages}, {layout.detectors}): {bad.describe()}"
        assert len(session.frames) == len(stream.trace.frames) > 0
        totals["frames"] += len(session.frames)
        totals["events"] += sum(not e.blocked for e in session.events)
        totals["blocked"] += sum(e.blocked for e in session.events)
        totals["windowed"] += sum(s.kind == "windowed" for s in layout.stages)
        totals["gated"] += sum(d.gate >= 0 for d in layout.detectors)
    # The cases must exercise what they claim to test.
    assert all(v > 0 for v in totals.values()), totals


def test_a_resent_chunk_is_not_processed_twice(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    layout, models, stream = random_pipeline(rng)
    session = _host(layout, models, tmp_path)
    audio = _audio(rng, 400, layout.spec.channels)
    session.push(audio[:150])
    # A lost reply makes the host send the same chunk again, from the same offset.
    link = session.device.link
    chunk = audio[100:150].astype("<i2").tobytes()
    reply = link.request(Cmd.PIPELINE_PUSH, struct.pack("<II", 100, session.record_pos) + chunk)
    assert struct.unpack_from("<I", reply)[0] == 150  # nothing new consumed
    session.push(audio[150:])
    stream.feed(audio)
    assert compare(layout, session.frames, session.events, stream.trace) is None


def test_push_refuses_gaps_and_bad_lengths(tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    layout, models, _ = random_pipeline(rng)
    session = _host(layout, models, tmp_path)
    link = session.device.link
    group = 2 * layout.spec.channels
    with pytest.raises(DeviceError, match="out of range"):
        link.request(Cmd.PIPELINE_PUSH, struct.pack("<II", 5, 0) + bytes(group))
    with pytest.raises(DeviceError, match="out of range"):  # acknowledges records never sent
        link.request(Cmd.PIPELINE_PUSH, struct.pack("<II", 0, 99))
    with pytest.raises(DeviceError, match="malformed"):
        link.request(Cmd.PIPELINE_PUSH, struct.pack("<II", 0, 0) + bytes(group + 1))
    with pytest.raises(DeviceError, match="malformed"):
        link.request(Cmd.PIPELINE_RESET, bytes([7, 0]))


def test_a_board_without_a_source_driver_says_so(tmp_path: Path) -> None:
    layout, models, _ = random_pipeline(np.random.default_rng(3))
    session = _host(layout, models, tmp_path)
    with pytest.raises(DeviceError, match="no sample source driver"):
        session.reset(source=True)


def test_check_refuses_another_pipeline(tmp_path: Path) -> None:
    rng = np.random.default_rng(9)
    layout, models, _ = random_pipeline(rng)
    session = _host(layout, models, tmp_path)
    other, _, _ = random_pipeline(rng)
    session.layout = other
    with pytest.raises(DeviceError, match="another pipeline"):
        session.check()
