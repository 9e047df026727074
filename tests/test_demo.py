"""``make demo`` in its short form: a synthesised recording streamed through the wake-word
pipeline image in QEMU, every frame, output and event bit-exact with the TFLM reference, and
its detections scored against the keywords said."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mcuforge import demo
from mcuforge.pipeline import open_pipeline
from mcuforge.pipeline.groundtruth import match
from mcuforge.pipeline.reference import run_reference


def test_recordings_are_deterministic_with_keyword_times() -> None:
    one, two = demo.keyword_recording(rounds=1, others=1), demo.keyword_recording(1, 1)
    assert np.array_equal(one.samples, two.samples) and one.spoken == two.spoken
    assert [s.label for s in one.spoken] == ["yes", "no", "left", "right"]
    assert len(one.lines) == 5  # four keyword sentences and one other
    full = demo.keyword_recording()
    assert 60 < full.seconds < 120 and len(full.spoken) == 24
    for s in full.spoken:  # each keyword's span holds speech, louder than the noise floor
        rms = np.sqrt(np.mean(full.samples[s.start : s.end].astype(float) ** 2))
        assert 0.1 < (s.end - s.start) / 16000 < 0.8 and rms > 1000


@pytest.mark.qemu
def test_short_demo_in_qemu(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.run_demo(short=True) == 0
    out = capsys.readouterr().out
    assert "bit-exact with the TFLM reference pipeline" in out and "DIFFERS" not in out
    # the printed score is the reference pipeline's, scored the same way
    rec = demo.keyword_recording(rounds=1, others=0)
    layout = open_pipeline(demo.PIPELINES / "wake_word.toml")
    want = match(run_reference(layout, rec.samples).events, rec.spoken, rec.seconds)
    printed = re.search(r"hits (\d+)/(\d+), misses (\d+), false alarms (\d+)", out)
    assert printed is not None
    assert tuple(map(int, printed.groups())) == (
        len(want.hits), want.spoken, len(want.misses), len(want.false_alarms))
    assert len(want.hits) >= 3
    assert re.search(r"instructions per 10 ms hop \(median\): front end [\d,]+; wake_word", out)
    assert re.search(r"= [\d.]+ % of mps2-an386's 25 MHz core", out)
    assert "RAM: arena" in out
