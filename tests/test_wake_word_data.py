"""The wake-word recipe's data: espeak-ng speech with word times, rendered the same way every
time (models/wake_word/synth.py, mcuforge.speech), and the demo's voices held out of training."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from mcuforge import demo, speech

RECIPE = Path(__file__).resolve().parents[1] / "models" / "wake_word"


@pytest.fixture(scope="module")
def synth():  # type: ignore[no-untyped-def]
    if not speech.available():
        pytest.fail("espeak-ng's library is missing: run `make setup`")
    sys.path.insert(0, str(RECIPE))
    try:
        import synth as module
    finally:
        sys.path.remove(str(RECIPE))
    return module


def test_speech_is_the_same_every_time_and_words_are_located() -> None:
    utts = [speech.Utterance("turn left at the house", "en-gb-scotland+f3", 150, 40),
            speech.Utterance("yes", "en-us", 200, 60),
            speech.Utterance("turn left at the house", "en-gb-scotland+f3", 150, 40)]
    a = speech.speak(utts, chunk=3)  # one process renders all three, one after the other
    b = speech.speak(utts, chunk=3)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.samples, y.samples) and x.words == y.words
    words = [w.text for w in a[0].words]
    assert words == ["turn", "left", "at", "the", "house"]
    left = a[0].words[1]
    assert a[0].words[0].end <= left.start < left.end <= a[0].words[2].start
    # the word's span is where its sound is: louder than the pauses around the whole phrase
    loud = np.sqrt(np.mean(a[0].samples[left.start : left.end].astype(float) ** 2))
    assert loud > 10 * np.sqrt(np.mean(a[0].samples[:100].astype(float) ** 2))
    assert 0.1 < (left.end - left.start) / 16000 < 0.6


def test_scenes_and_streams_are_deterministic(synth) -> None:  # type: ignore[no-untyped-def]
    variants = ["f3", "m4", "klatt2"]
    one = synth.build_scenes(variants, 2, 3, 1, seed=5, workers=2)
    two = synth.build_scenes(variants, 2, 3, 1, seed=5, workers=1)
    for key in ("x", "ann", "voice"):
        assert np.array_equal(one[key], two[key]), key
    assert one["x"].shape == (12, synth.SCENE_SAMPLES) and one["x"].dtype == np.int16
    labels = one["ann"][:, 1]
    assert sorted(set(labels[labels >= 2])) == [2, 3, 4, 5]
    # every keyword ends where the model's outputs see it: 1.1-2.95 s into its scene
    kw_ends = one["ann"][labels >= 2, 3] / 16000
    assert ((kw_ends > 1.05) & (kw_ends < 3.0)).all()
    other = synth.build_scenes(variants, 2, 3, 1, seed=6, workers=2)
    assert not np.array_equal(one["x"], other["x"])
    s1 = synth.build_streams(variants, 4, 2, 20.0, seed=3, workers=2)
    s2 = synth.build_streams(variants, 4, 2, 20.0, seed=3, workers=2)
    for key in ("x", "bounds", "positive", "ann"):
        assert np.array_equal(s1[key], s2[key]), key
    assert list(s1["positive"]) == [1, 1, 0]


def test_the_demo_speaks_with_held_out_voices_only(synth) -> None:  # type: ignore[no-untyped-def]
    _train, held = synth.split_variants(synth.list_variants(), 1234)
    assert {v.split("+")[1] for v in demo.VOICES} <= set(held)
    for kw, sentences in demo.KEYWORD_SENTENCES.items():
        for s in sentences:  # exactly its keyword, no other keyword
            assert [w for w in s.split() if w in synth.KEYWORDS] == [kw], s
    assert not any(w in synth.KEYWORDS for s in demo.OTHER_SENTENCES for w in s.split())
