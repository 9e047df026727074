"""``make demo`` in its short form: a synthesised recording streamed through the wake-word
pipeline image in QEMU, every frame, output and event bit-exact with the TFLM reference, and
its detections scored against the keywords said; a difference makes it exit 1; the okay_nabu
part skips with its reason where ESPHome's models are absent; the picture is drawn."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from mcuforge import demo
from mcuforge.pipeline import listen as listen_module
from mcuforge.pipeline import open_pipeline
from mcuforge.pipeline.groundtruth import match
from mcuforge.pipeline.reference import run_reference


def test_recordings_are_deterministic_with_keyword_times() -> None:
    one, two = demo.keyword_recording(rounds=1, others=1), demo.keyword_recording(1, 1)
    assert np.array_equal(one.samples, two.samples) and one.spoken == two.spoken
    assert [s.label for s in one.spoken] == ["yes", "no", "left", "right"]
    assert len(one.lines) == 5  # four keyword sentences and one other
    full = demo.keyword_recording()
    assert 40 < full.seconds < 80 and len(full.spoken) == 16
    assert sorted({s.label for s in full.spoken}) == ["left", "no", "right", "yes"]
    for s in full.spoken:  # each keyword's span holds speech, louder than the noise floor
        rms = np.sqrt(np.mean(full.samples[s.start : s.end].astype(float) ** 2))
        assert 0.1 < (s.end - s.start) / 16000 < 0.8 and rms > 1000
    gaps = np.concatenate([full.samples[: 20000], full.samples[-8000:]]).astype(float)
    assert 100 < np.sqrt(np.mean(gaps**2)) < 600  # noise between sentences, not silence


@pytest.mark.qemu
def test_short_demo_in_qemu(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.run_demo(short=True) == 0
    out = capsys.readouterr().out
    assert "bit-exact with the TFLM reference pipeline" in out and "DIFFERS" not in out
    assert re.search(r"\[demo +[\d.]+ s\] wake_word: booting mps2-an386", out)  # progress
    # a known keyword: the first "yes" (en-us+f3) is detected within a second of being said
    found = re.search(r"1\.50s  yes +en-us\+f3 .* at +(\d+\.\d+) s \(score (\d+)\)", out)
    assert found is not None and 1.5 < float(found[1]) < 2.6 and int(found[2]) > 249
    # the printed score is the reference pipeline's, scored the same way
    rec = demo.keyword_recording(rounds=1, others=0)
    layout = open_pipeline(demo.PIPELINES / "wake_word.toml")
    want = match(run_reference(layout, rec.samples).events, rec.spoken, rec.seconds)
    printed = re.search(r"hits (\d+)/(\d+), misses (\d+), false alarms (\d+)", out)
    assert printed is not None
    assert tuple(map(int, printed.groups())) == (
        len(want.hits), want.spoken, len(want.misses), len(want.false_alarms))
    assert len(want.hits) >= 3
    hop = re.search(r"instructions per 10 ms hop \(median\): front end ([\d,]+); wake_word "
                    r"([\d,]+) per run \(([\d,]+) per hop\)", out)
    assert hop is not None
    front, run, per_hop = (int(g.replace(",", "")) for g in hop.groups())
    assert 20_000 < front < 60_000 and 50_000 < run < 150_000 and abs(3 * per_hop - run) < 300
    assert re.search(r"= [\d.]+ % of mps2-an386's 25 MHz core", out)
    assert "RAM: arena" in out
    assert re.search(r"wake_word: bit-exact; hits \d+/4, false alarms \d+", out)


def test_a_difference_from_the_reference_exits_1(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """The host build of the same pipeline, against a reference whose first feature frame is
    off by one: the demo says where and exits 1."""
    real = listen_module.run_reference

    def off_by_one(layout, samples):  # type: ignore[no-untyped-def]
        trace = real(layout, samples)
        trace.frames[0].features[5] += 1
        return trace

    monkeypatch.setattr(listen_module, "run_reference", off_by_one)
    assert demo.run_demo(short=True, emulator="host") == 1
    out = capsys.readouterr().out
    assert "DIFFERS" in out and "wake_word: DIFFERS from the reference" in out


def test_okay_nabu_part_skips_with_its_reason_without_the_models(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    said: list[str] = []
    monkeypatch.setattr(demo, "ROOT", tmp_path)
    assert demo._nabu_part(said.append) is None
    assert said and said[0].startswith("skipping ESPHome's okay_nabu: ")
    assert "tests/zoo/mww_okay_nabu.tflite" in said[0]


def test_okay_nabu_recording_says_the_phrase_and_other_speech() -> None:
    rec = demo.nabu_recording("Okay Nabu")
    assert [s.label for s in rec.spoken] == ["Okay Nabu"] * len(demo.NABU_VOICES)
    assert len(rec.lines) == len(demo.NABU_VOICES) + 4
    assert all("nabu" not in text for _at, _voice, text in rec.lines[len(demo.NABU_VOICES):])


def test_plot_draws_scores_and_detections(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from mcuforge.demo_plot import plot_scores

    rec = demo.keyword_recording(rounds=1, others=0)
    path = tmp_path / "scores.png"
    plot_scores(open_pipeline(demo.PIPELINES / "wake_word.toml"), rec, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20_000
