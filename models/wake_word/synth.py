"""Synthesise the streaming wake-word data offline with espeak-ng.

A "voice" is an espeak-ng English accent combined with a voice variant (``en-us+f3``,
``en-gb-scotland+klatt2``, ...). Variants are split once, with a fixed seed, into training and
held-out variants, so held-out audio comes from voices whose timbre the model never heard.
Phrases are rendered as connected speech by espeak-ng's library (:mod:`mcuforge.speech`), which
reports where every word starts and ends, so each keyword's time is known.

* ``train.npz``: 3 s scenes, each a phrase in background noise: a keyword among 0-2 words before
  and after it ("turn left at the house"), other words only ("lift the bed", near misses such as
  "lift", "ride", "yet" included), or noise only. With every scene: its words' labels and spans.
* ``val.npz`` (training variants, fresh renders) and ``heldout.npz`` (held-out variants): long
  streams as a microphone hears them, phrases with one keyword each separated by pauses
  ("positive" streams) and phrases without keywords ("negative" streams, an hour in
  heldout.npz), in continuous noise that changes kind and level from stream to stream. Their
  words are everyday words with few near misses (5 %; training scenes have 30 %).

Noise is synthesised: white, pink, brown, mains hum, babble (other words, quietly), mixtures.
Everything is seeded; the same command writes the same files (``tests/test_wake_word_data.py``).

Usage::

    python synth.py              # writes data/train.npz, data/val.npz, data/heldout.npz

Needs the Debian package ``espeak-ng`` (its library, libespeak-ng.so.1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "toolchain"))  # run from a checkout without installing

from mcuforge.speech import Speech, Utterance, speak  # noqa: E402

SAMPLE_RATE = 16000
SCENE_SAMPLES = 3 * SAMPLE_RATE
KEYWORDS = ["yes", "no", "left", "right"]
LABELS = ["silence", "unknown", *KEYWORDS]
# Other words. Homophones ("know", "write") and words that contain a keyword's sound whole
# ("yesterday", "bright", "nose", "note") are left out: a streaming spotter hears the keyword
# before the rest of the word comes.
UNKNOWN_WORDS = [
    "up", "down", "on", "off", "stop", "go", "one", "two", "three", "four", "five", "six",
    "seven", "eight", "nine", "zero", "bed", "bird", "cat", "dog", "happy", "house", "tree",
    "wow", "learn", "follow", "forward", "backward", "visual", "marvin", "sheila", "yellow",
]
# Near misses: rhymes and one-sound differences ("lift"/"left", "ride"/"right", "yet"/"yes").
NEAR_MISSES = [
    "lift", "light", "net", "less", "now", "lot", "rice", "yet", "lest", "night", "ride",
    "kite", "guess", "chess", "load", "ten", "mess", "lock",
]
#: Share of near misses among the other words: training hears many, the evaluation recordings
#: are everyday speech where they are rare.
TRAIN_NEAR_MISS = 0.3
STREAM_NEAR_MISS = 0.05
# Words that carry keywords in phrases ("please turn left now") and fill negative phrases.
CONTEXT_WORDS = [
    "please", "turn", "say", "the", "a", "to", "and", "then", "it", "is", "at", "we", "you",
    "they", "that", "this", "will", "can", "my", "your", "of", "in", "for", "with", "from",
    "next", "door", "car", "time", "here", "there", "back", "again", "more", "okay", "so",
    "just", "very", "good", "day", "all", "way", "out", "over", "look", "keep", "move", "take",
    "show", "me", "answer", "was", "is it", "i think", "maybe", "and then", "straight",
    "music", "lamp", "kitchen", "water", "coffee", "morning", "evening", "window", "table",
]
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp",
           "en-029", "en-us-nyc"]
HELDOUT_VARIANT_FRACTION = 0.2
DATA_DIR = HERE / "data"


def list_variants() -> list[str]:
    """Voice variants that the installed espeak-ng offers (``espeak-ng --voices=variant``)."""
    out = subprocess.run(
        ["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True
    ).stdout
    names = {line.split()[4].split("/")[-1] for line in out.splitlines()[1:] if line.strip()}
    return sorted(names)


def split_variants(variants: list[str], seed: int) -> tuple[list[str], list[str]]:
    """Split variants into (train, held-out) deterministically."""
    order = np.random.default_rng(seed).permutation(len(variants))
    n_held = max(1, round(len(variants) * HELDOUT_VARIANT_FRACTION))
    held = sorted(variants[i] for i in order[:n_held])
    return sorted(set(variants) - set(held)), held


# --- noise ------------------------------------------------------------------------------------


def colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Unit-RMS noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spec = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.arange(n // 2 + 1, dtype=np.float64)
    f[0] = 1.0
    spec /= f ** (exponent / 2.0)
    spec[0] = 0.0
    noise = np.fft.irfft(spec, n)
    return noise / (np.sqrt(np.mean(noise**2)) + 1e-12)


def hum(rng: np.random.Generator, n: int) -> np.ndarray:
    """Mains hum (50 or 60 Hz) with a few harmonics, unit RMS, plus a little white noise."""
    t = np.arange(n) / SAMPLE_RATE
    base = rng.choice([50.0, 60.0])
    sig = sum(
        rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3))
        for k in range(1, 8)
    )
    sig = sig + 0.05 * rng.standard_normal(n)
    return sig / np.sqrt(np.mean(sig**2))


def babble(rng: np.random.Generator, n: int, pool: list[np.ndarray]) -> np.ndarray:
    """Several unrelated words overlapping at random places, unit RMS ("people talking")."""
    out = np.zeros(n)
    for _ in range(max(3, n // 4000)):
        word = pool[int(rng.integers(len(pool)))].astype(np.float64)[:n]
        start = int(rng.integers(0, n - word.size + 1))
        out[start : start + word.size] += word * rng.uniform(0.3, 1.0)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


NOISE_KINDS = ["white", "pink", "brown", "hum", "babble", "mix"]


def make_noise(rng: np.random.Generator, n: int, kind: str, pool: list[np.ndarray]) -> np.ndarray:
    """Unit-RMS background noise of one kind."""
    if kind == "white":
        return colored_noise(rng, n, 0.0)
    if kind == "pink":
        return colored_noise(rng, n, 1.0)
    if kind == "brown":
        return colored_noise(rng, n, 2.0)
    if kind == "hum":
        return hum(rng, n)
    if kind == "babble":
        return babble(rng, n, pool)
    mix = colored_noise(rng, n, rng.uniform(0.0, 2.0)) + 0.5 * hum(rng, n)
    return mix / np.sqrt(np.mean(mix**2))


def long_noise(rng: np.random.Generator, n: int, kind: str, pool: list[np.ndarray]) -> np.ndarray:
    """Continuous unit-RMS noise of one kind for a long stream: 4 s blocks joined with 20 ms
    crossfades (one FFT over an hour of samples would need gigabytes)."""
    block, fade = 4 * SAMPLE_RATE, 320
    out = np.zeros(n + block)
    ramp = np.linspace(0.0, 1.0, fade)
    at = 0
    while at < n:
        piece = make_noise(rng, block + fade, kind, pool)
        if at:
            piece[:fade] *= ramp
            out[at - fade : at] *= ramp[::-1]
            out[at - fade : at + block] += piece
        else:
            out[: block + fade] = piece
        at += block
    return out[:n]


# --- phrases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """Words to speak; ``keyword`` is the index of the keyword among them (-1: none)."""

    words: tuple[str, ...]
    keyword: int
    utterance: Utterance


def random_voice(rng: np.random.Generator, variants: list[str]) -> tuple[str, int, int]:
    return (f"{rng.choice(ACCENTS)}+{rng.choice(variants)}", int(rng.integers(110, 230)),
            int(rng.integers(15, 90)))


def other_word(rng: np.random.Generator, near: float) -> str:
    """A near miss with probability ``near``, otherwise another word."""
    if rng.random() < near:
        pool = NEAR_MISSES
    else:
        pool = UNKNOWN_WORDS if rng.random() < 0.4 else CONTEXT_WORDS
    return str(pool[int(rng.integers(len(pool)))])


def keyword_phrase(rng: np.random.Generator, keyword: str, variants: list[str],
                   near: float = TRAIN_NEAR_MISS) -> Phrase:
    before = [other_word(rng, near) for _ in range(int(rng.choice([0, 0, 1, 1, 2])))]
    after = [other_word(rng, near) for _ in range(int(rng.choice([0, 0, 1, 1, 2])))]
    words = (*before, keyword, *after)
    voice, speed, pitch = random_voice(rng, variants)
    return Phrase(words, len(before), Utterance(" ".join(words), voice, speed, pitch))


def other_phrase(rng: np.random.Generator, variants: list[str], longest: int = 4,
                 near: float = TRAIN_NEAR_MISS) -> Phrase:
    words = tuple(other_word(rng, near) for _ in range(int(rng.integers(1, longest + 1))))
    voice, speed, pitch = random_voice(rng, variants)
    return Phrase(words, -1, Utterance(" ".join(words), voice, speed, pitch))


def word_labels(phrase: Phrase, speech: Speech) -> list[tuple[int, int, int]]:
    """(label, start, end) of every spoken word; words of several tokens ("i think") count as
    the tokens espeak-ng reports."""
    out = []
    keyword = phrase.words[phrase.keyword] if phrase.keyword >= 0 else None
    for w in speech.words:
        if w.end <= w.start:
            continue
        label = LABELS.index(w.text) if w.text == keyword else LABELS.index("unknown")
        out.append((label, w.start, w.end))
    return out


def speech_gain(rng: np.random.Generator, speech: Speech, level_db: float) -> float:
    """Gain that brings the words' RMS to ``level_db`` (dB re 1 LSB)."""
    parts = [speech.samples[w.start : w.end] for w in speech.words if w.end > w.start]
    active = np.concatenate(parts).astype(np.float64) if parts else np.ones(1)
    return 10 ** (level_db / 20) / (np.sqrt(np.mean(active**2)) + 1e-9)


# --- training scenes --------------------------------------------------------------------------


def build_scenes(variants: list[str], per_keyword: int, others: int, silences: int,
                 seed: int, workers: int) -> dict[str, np.ndarray]:
    """3 s scenes with word annotations (see the module docstring)."""
    rng = np.random.default_rng(seed)
    phrases = [keyword_phrase(rng, k, variants) for k in KEYWORDS for _ in range(per_keyword)]
    phrases += [other_phrase(rng, variants, longest=6) for _ in range(others)]
    rendered = speak([p.utterance for p in phrases], workers=workers)
    pool = [s.samples for p, s in zip(phrases, rendered, strict=True) if p.keyword < 0]
    x = np.zeros((len(phrases) + silences, SCENE_SAMPLES), dtype=np.int16)
    ann: list[tuple[int, int, int, int]] = []
    voices = []
    for i, (phrase, speech) in enumerate(zip(phrases, rendered, strict=True)):
        labels = word_labels(phrase, speech)
        kw_ends = [e for lab, _s, e in labels if lab >= 2]
        if kw_ends:
            # the keyword ends where the model's outputs can see it (after ~1.1 s of context)
            offset = int(rng.uniform(1.1, 2.95) * SAMPLE_RATE) - kw_ends[0]
        else:
            offset = int(rng.uniform(0.3, 2.6) * SAMPLE_RATE)
        x[i] = mix_scene(rng, speech, offset, pool)
        for label, s, e in labels:
            s, e = max(0, s + offset), min(SCENE_SAMPLES, e + offset)
            if e > s:
                ann.append((i, label, s, e))
        voices.append(phrase.utterance.voice)
    for i in range(len(phrases), len(x)):
        kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
        level = 10 ** rng.uniform(np.log10(3.0), np.log10(3000.0))
        x[i] = to_int16(make_noise(rng, SCENE_SAMPLES, kind, pool) * level)
        voices.append("")
    print(f"scenes: {len(x)} ({per_keyword} per keyword, {others} others, {silences} noise only) "
          f"from {len(set(voices) - {''})} voices")
    return {"x": x, "ann": np.array(ann, dtype=np.int32).reshape(-1, 4),
            "voice": np.array(voices)}


def mix_scene(rng: np.random.Generator, speech: Speech, offset: int,
              pool: list[np.ndarray]) -> np.ndarray:
    clip = np.zeros(SCENE_SAMPLES)
    lo, hi = max(0, offset), min(SCENE_SAMPLES, offset + len(speech.samples))
    if hi > lo:
        clip[lo:hi] = speech.samples[lo - offset : hi - offset]
    level_db = rng.uniform(50.0, 76.0)  # speech RMS 300..6000 LSB
    clip *= speech_gain(rng, speech, level_db)
    snr_db = rng.uniform(3.0, 35.0)
    kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
    # A real microphone never delivers digital silence: keep the noise above ~2 LSB rms.
    noise_rms = max(2.0, 10 ** ((level_db - snr_db) / 20))
    return to_int16(clip + make_noise(rng, SCENE_SAMPLES, kind, pool) * noise_rms)


def to_int16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


# --- streams ----------------------------------------------------------------------------------


def build_streams(variants: list[str], positives: int, per_stream: int, negative_s: float,
                  seed: int, workers: int) -> dict[str, np.ndarray]:
    """Long recordings: ``positives`` keyword phrases (the keywords in turn) in streams of
    ``per_stream`` phrases, then ``negative_s`` seconds of phrases without keywords in 5 minute
    streams. Returns x (all streams, concatenated), bounds [S, 2] (start, end in x), positive
    [S] (1: keyword stream), ann [W, 4] (stream, label, start, end; stream coordinates)."""
    rng = np.random.default_rng(seed)
    phrases = [keyword_phrase(rng, KEYWORDS[i % len(KEYWORDS)], variants, STREAM_NEAR_MISS)
               for i in range(positives)]
    n_negative = int(negative_s / 2.5) + 8  # ~1.6 s of speech + ~1.6 s of pause each
    phrases += [other_phrase(rng, variants, 6, STREAM_NEAR_MISS) for _ in range(n_negative)]
    rendered = speak([p.utterance for p in phrases], workers=workers)
    pool = [s.samples for p, s in zip(phrases, rendered, strict=True) if p.keyword < 0][:400]
    groups = [list(range(i, min(i + per_stream, positives)))
              for i in range(0, positives, per_stream)]
    negatives, at, total = [], positives, 0.0
    while total < negative_s and at < len(phrases):
        group: list[int] = []
        length = 0.0
        while length < 300.0 and total + length < negative_s and at < len(phrases):
            group.append(at)
            length += len(rendered[at].samples) / SAMPLE_RATE + 1.65
            at += 1
        negatives.append(group)
        total += length
    streams, bounds, positive, ann, start = [], [], [], [], 0
    for s, group in enumerate(groups + negatives):
        audio, words = mix_stream(rng, [(phrases[i], rendered[i]) for i in group], pool)
        streams.append(audio)
        bounds.append((start, start + len(audio)))
        start += len(audio)
        positive.append(int(s < len(groups)))
        ann += [(s, *w) for w in words]
    x = np.concatenate(streams)
    print(f"streams: {len(groups)} with {positives} keywords, {len(negatives)} without "
          f"({total / 60:.1f} min); {len(x) / SAMPLE_RATE / 60:.1f} min in all")
    return {"x": x, "bounds": np.array(bounds, dtype=np.int64),
            "positive": np.array(positive, dtype=np.int8),
            "ann": np.array(ann, dtype=np.int64).reshape(-1, 4),
            "voice": np.array([phrases[i].utterance.voice for g in groups + negatives
                               for i in g])}


def mix_stream(rng: np.random.Generator, items: list[tuple[Phrase, Speech]],
               pool: list[np.ndarray]) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """Phrases one after another with 0.8-2.5 s pauses, after 1.5 s of noise alone, in one
    continuous background noise; the words' (label, start, end)."""
    level_db = rng.uniform(56.0, 72.0)
    snr_db = rng.uniform(5.0, 30.0)
    kind = NOISE_KINDS[int(rng.integers(len(NOISE_KINDS)))]
    pieces, words, at = [np.zeros(int(1.5 * SAMPLE_RATE))], [], int(1.5 * SAMPLE_RATE)
    for phrase, speech in items:
        gain = speech_gain(rng, speech, level_db + rng.uniform(-6.0, 6.0))
        pieces.append(speech.samples * gain)
        words += [(lab, s + at, e + at) for lab, s, e in word_labels(phrase, speech)]
        gap = np.zeros(int(rng.uniform(0.8, 2.5) * SAMPLE_RATE))
        pieces.append(gap)
        at += len(speech.samples) + len(gap)
    clean = np.concatenate(pieces)
    noise_rms = max(2.0, 10 ** ((level_db - snr_db) / 20))
    return to_int16(clean + long_noise(rng, len(clean), kind, pool) * noise_rms), words


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--per-keyword", type=int, default=1000, help="training scenes per keyword")
    parser.add_argument("--others", type=int, default=9000, help="training scenes without one")
    parser.add_argument("--silences", type=int, default=1000, help="noise-only training scenes")
    parser.add_argument("--heldout-keywords", type=int, default=240)
    parser.add_argument("--heldout-negative-min", type=float, default=60.0)
    parser.add_argument("--val-keywords", type=int, default=120)
    parser.add_argument("--val-negative-min", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    train_v, held_v = split_variants(list_variants(), args.seed)
    meta = {"labels": np.array(LABELS), "heldout_variants": ",".join(held_v)}
    train = build_scenes(train_v, args.per_keyword, args.others, args.silences, args.seed,
                         args.workers)
    np.savez(args.out / "train.npz", **train, **meta)
    val = build_streams(train_v, args.val_keywords, 30, args.val_negative_min * 60,
                        args.seed + 2, args.workers)
    np.savez(args.out / "val.npz", **val, **meta)
    held = build_streams(held_v, args.heldout_keywords, 30, args.heldout_negative_min * 60,
                         args.seed + 1, args.workers)
    np.savez(args.out / "heldout.npz", **held, **meta)
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
