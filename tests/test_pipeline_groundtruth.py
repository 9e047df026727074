"""Detections scored against what was said (mcuforge.pipeline.groundtruth), on hand-made cases."""

from __future__ import annotations

import pytest

from mcuforge.pipeline.groundtruth import Spoken, match
from mcuforge.pipeline.reference import Event


def _event(label: str, t: float, blocked: bool = False) -> Event:
    return Event(0, 0, "kws", label, int(t * 100), int(t * 16000), 200, 220, blocked)


def _said(label: str, start: float, end: float) -> Spoken:
    return Spoken(label, int(start * 16000), int(end * 16000))


def test_hits_misses_and_false_alarms() -> None:
    said = [_said("yes", 1.0, 1.4), _said("no", 3.0, 3.3), _said("left", 6.0, 6.4)]
    events = [
        _event("yes", 1.5),   # hit: after the end, within a second
        _event("yes", 1.9),   # the same "yes" again: a false alarm
        _event("right", 3.4),  # wrong keyword where "no" was said: a false alarm
        _event("left", 7.5),  # 1.1 s after the end: too late, a false alarm
        _event("left", 9.0, blocked=True),  # blocked by a gate: not a detection at all
    ]
    got = match(events, said, seconds=36.0)
    assert [(s.label, e.end_sample) for s, e in got.hits] == [("yes", 24000)]
    assert [s.label for s in got.misses] == ["no", "left"]
    assert [(e.label, e.end_sample) for e in got.false_alarms] == [
        ("yes", 30400), ("right", 54400), ("left", 120000)]
    assert got.spoken == 3 and got.detection_rate == pytest.approx(1 / 3)
    assert got.false_alarms_per_hour == pytest.approx(300.0)  # 3 in 36 s
    assert got.by_label(["yes", "no", "left"]) == {"yes": (1, 1), "no": (0, 1), "left": (0, 1)}
    assert got.latencies() == [pytest.approx(0.1)]


def test_window_edges_and_one_detection_per_word() -> None:
    said = [_said("no", 2.0, 2.5), _said("no", 3.0, 3.2)]
    # At the word's start and exactly 1 s after its end both count; each word once, in order.
    got = match([_event("no", 2.0), _event("no", 4.2)], said, seconds=10.0)
    assert [s.start for s, _ in got.hits] == [32000, 48000] and not got.false_alarms
    early = match([_event("no", 1.99)], said, seconds=10.0)
    assert len(early.false_alarms) == 1 and len(early.misses) == 2
    merged = got.merge(early)
    assert (merged.seconds, len(merged.hits), len(merged.false_alarms)) == (20.0, 2, 1)
