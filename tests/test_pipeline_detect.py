"""Smoothing, cutoff, refractory period and gates: the Python rule (mcuforge.pipeline.detect)
against integer cases computed by hand from ESPHome's micro_wake_word, and the device's C
(firmware/app/pipeline/pipeline_detect.c) against the Python rule on random score streams."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np
import pytest

from mcuforge import resources
from mcuforge.pipeline.detect import BLOCKED, FIRED, Detector
from mcuforge.pipeline.spec import ModelSpec


def _run(det: Detector, frames: list[int | None], gate: bool = True) -> list[tuple]:
    """Each frame: push the score (None: the model did not run), tick, check."""
    out = []
    for i, score in enumerate(frames):
        if score is not None:
            det.push(score)
        det.tick()
        found = det.check(gate)
        if found is not None:
            out.append((i, found.status, found.mean, found.max))
    return out


def test_cutoff_is_esphome_quantized_and_strict() -> None:
    # ESPHome: int(0.97 * 255) = 247 (truncated), int(0.5 * 255) = 127.
    assert ModelSpec("a", Path("a"), cutoff=0.97).cutoff_score == 247
    assert ModelSpec("a", Path("a"), cutoff=0.5).cutoff_score == 127
    # Mean exactly at the cutoff does not detect: sum > cutoff * K.
    assert _run(Detector(2, 100, 0), [100, 100]) == []
    assert _run(Detector(2, 100, 0), [100, 101]) == [(1, FIRED, 100, 101)]


def test_refractory_counts_only_frames_below_the_cutoff() -> None:
    # K=3, cutoff 100, refractory 2: high scores keep the period from running out; two low
    # frames end it; the window mean then has to rise above the cutoff again.
    det = Detector(3, 100, 2)
    assert _run(det, [200, 200, 0, 0, 250, 255]) == [(5, FIRED, 505 // 3, 255)]
    # Firing clears the ring and restarts the period.
    assert det.sum == 0 and det.refractory_left == 2 and det.ring == [0, 0, 0]


def test_a_pending_score_fires_once_the_period_is_over() -> None:
    # The high score arrives during the period; it is checked on the next frame, whose own
    # score is low (ESPHome keeps the probability "unprocessed" until it is checked).
    assert _run(Detector(2, 100, 1), [250, 0]) == [(1, FIRED, 125, 250)]
    # Frames without a new score check nothing new.
    assert _run(Detector(2, 100, 0), [250, None, None]) == [(0, FIRED, 125, 250)]


def test_blocked_detections_keep_the_scores() -> None:
    det = Detector(1, 100, 3)
    assert _run(det, [0, 0, 0, 200, 210], gate=False) == [(3, BLOCKED, 200, 200),
                                                          (4, BLOCKED, 210, 210)]
    assert det.sum == 210 and det.refractory_left == 0


def test_refractory_at_the_start_of_a_stream() -> None:
    # ESPHome ignores the first slices of a stream as it does after a detection.
    assert _run(Detector(1, 100, 3), [200, 0, 0, 0, 200]) == [(4, FIRED, 200, 200)]
    assert _run(Detector(1, 100, 0), [200]) == [(0, FIRED, 200, 200)]


class _Det(ctypes.Structure):
    _fields_ = [("stage", ctypes.c_uint8), ("element", ctypes.c_uint8),
                ("smoothing", ctypes.c_uint8), ("cutoff", ctypes.c_uint8),
                ("refractory", ctypes.c_uint16), ("gate", ctypes.c_int8),
                ("role", ctypes.c_uint8), ("ring", ctypes.POINTER(ctypes.c_uint8))]


class _State(ctypes.Structure):
    _fields_ = [("sum", ctypes.c_uint32), ("refractory_left", ctypes.c_uint16),
                ("last", ctypes.c_uint8), ("pending", ctypes.c_uint8)]


class _Found(ctypes.Structure):
    _fields_ = [("status", ctypes.c_uint8), ("mean", ctypes.c_uint8), ("max", ctypes.c_uint8)]


@pytest.fixture(scope="module")
def c_detector(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    src = resources.firmware_dir() / "app" / "pipeline" / "pipeline_detect.c"
    lib = tmp_path_factory.mktemp("detect") / "libdetect.so"
    subprocess.run(["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC",
                    "-o", str(lib), str(src)], check=True)
    return ctypes.CDLL(str(lib))


def test_c_detector_follows_the_rule_on_random_streams(c_detector: ctypes.CDLL) -> None:
    rng = np.random.default_rng(1)
    fired = blocked = 0
    for _ in range(300):
        k, cutoff, refractory = (int(rng.integers(1, 9)), int(rng.integers(0, 256)),
                                 int(rng.integers(0, 20)))
        ring = (ctypes.c_uint8 * k)()
        cfg, state, found = _Det(0, 0, k, cutoff, refractory, -1, 0, ring), _State(), _Found()
        py = Detector(k, cutoff, refractory)
        c_detector.mf_detector_reset(ctypes.byref(cfg), ctypes.byref(state))
        for _frame in range(int(rng.integers(1, 80))):
            if rng.random() < 0.6:
                score = int(rng.choice([rng.integers(0, 256), cutoff, max(cutoff - 1, 0), 255]))
                py.push(score)
                c_detector.mf_detector_push(ctypes.byref(cfg), ctypes.byref(state), score)
            py.tick()
            c_detector.mf_detector_tick(ctypes.byref(cfg), ctypes.byref(state))
            gate = bool(rng.random() < 0.8)
            want = py.check(gate)
            status = c_detector.mf_detector_check(ctypes.byref(cfg), ctypes.byref(state),
                                                  int(gate), ctypes.byref(found))
            got = (status, found.mean, found.max) if status else None
            assert got == (None if want is None else (want.status, want.mean, want.max))
            assert (state.sum, state.refractory_left, state.pending) == (
                py.sum, py.refractory_left, int(py.pending))
            assert list(ring) == [py.ring[i] for i in range(k)]
            assert c_detector.mf_detector_active(ctypes.byref(cfg), ctypes.byref(state)) == \
                int(py.active)
            fired += status == FIRED
            blocked += status == BLOCKED
    assert fired > 20 and blocked > 5
