"""Synthesise the wake-word data set offline with espeak-ng (or load Speech Commands).

Every clip is 1 s of 16 kHz int16 PCM. A "voice" is an espeak-ng English accent combined with a
voice variant (``en-us+f3``, ``en-gb-scotland+klatt2``, ...). Variants are split once, with a
fixed seed, into training and held-out variants, so the held-out clips come from voices whose
timbre the model never heard. Each utterance also varies in speed, pitch and loudness, is placed
at a random time offset, and is mixed with synthesised background noise (white, pink, brown,
mains hum, distant babble made of other words) at a random SNR. "silence" clips are noise only.

Usage::

    python synth.py                        # writes data/train.npz and data/heldout.npz
    python synth.py --speech-commands DIR  # uses a Speech Commands tree instead of espeak-ng

Needs the Debian packages ``espeak-ng`` and ``sox`` (sox converts espeak's 22.05 kHz to 16 kHz).
"""

from __future__ import annotations

import argparse
import subprocess
import time
import wave
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16000
CLIP_SAMPLES = 16000
KEYWORDS = ["yes", "no", "left", "right"]
LABELS = ["silence", "unknown", *KEYWORDS]
# Not homophones of a keyword ("know", "write" are left out on purpose).
UNKNOWN_WORDS = [
    "up",
    "down",
    "on",
    "off",
    "stop",
    "go",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "zero",
    "bed",
    "bird",
    "cat",
    "dog",
    "happy",
    "house",
    "tree",
    "wow",
    "learn",
    "follow",
    "forward",
    "backward",
    "visual",
    "marvin",
    "sheila",
    "yellow",
    "lift",
    "light",
    "net",
    "less",
    "bright",
    "now",
    "lot",
    "rice",
]
ACCENTS = [
    "en",
    "en-us",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
]
HELDOUT_VARIANT_FRACTION = 0.2
DATA_DIR = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Utterance:
    """One espeak-ng rendering request."""

    word: str
    accent: str
    variant: str
    speed: int
    pitch: int


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


def render(utt: Utterance) -> np.ndarray:
    """Speak one word and return it as 16 kHz int16 PCM with leading/trailing silence trimmed."""
    voice = f"{utt.accent}+{utt.variant}"
    espeak = subprocess.Popen(
        [
            "espeak-ng",
            "-v",
            voice,
            "-s",
            str(utt.speed),
            "-p",
            str(utt.pitch),
            "--stdout",
            utt.word,
        ],
        stdout=subprocess.PIPE,
    )
    # -D: no dither. sox dithers with fresh random noise on every call, which would make the
    # data set differ from run to run; the mixed-in background noise does that job anyway.
    sox = ["sox", "-D", "-t", "wav", "-", "-t", "raw", "-r", str(SAMPLE_RATE), "-e", "signed"]
    raw = subprocess.run(
        [*sox, "-b", "16", "-c", "1", "-"], stdin=espeak.stdout, capture_output=True, check=True
    ).stdout
    espeak.wait()
    pcm = np.frombuffer(raw, dtype=np.int16)
    return trim(pcm)


def trim(pcm: np.ndarray, frame: int = 160, rel_db: float = -35.0) -> np.ndarray:
    """Cut leading and trailing frames quieter than ``rel_db`` below the loudest frame."""
    if pcm.size < frame:
        return pcm
    n = pcm.size // frame
    energy = (pcm[: n * frame].astype(np.float64).reshape(n, frame) ** 2).mean(axis=1) + 1e-9
    loud = np.nonzero(10 * np.log10(energy / energy.max()) > rel_db)[0]
    if loud.size == 0:
        return pcm[:0]
    return pcm[loud[0] * frame : (loud[-1] + 1) * frame]


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
    for _ in range(int(rng.integers(3, 7))):
        word = pool[int(rng.integers(len(pool)))].astype(np.float64)[:n]
        start = int(rng.integers(0, n - word.size + 1))
        out[start : start + word.size] += word * rng.uniform(0.3, 1.0)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def make_noise(
    rng: np.random.Generator, n: int, pool: list[np.ndarray], recorded: list[np.ndarray]
) -> np.ndarray:
    """One unit-RMS background of a random kind (recorded noise when the user supplied some)."""
    kinds = ["white", "pink", "brown", "hum", "babble", "mix"] + (
        ["recorded"] * 3 if recorded else []
    )
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == "white":
        return colored_noise(rng, n, 0.0)
    if kind == "pink":
        return colored_noise(rng, n, 1.0)
    if kind == "brown":
        return colored_noise(rng, n, 2.0)
    if kind == "hum":
        return hum(rng, n)
    if kind == "babble" and pool:
        return babble(rng, n, pool)
    if kind == "recorded":
        src = recorded[int(rng.integers(len(recorded)))].astype(np.float64)
        start = int(rng.integers(0, max(1, src.size - n)))
        seg = np.resize(src[start : start + n], n)
        return seg / (np.sqrt(np.mean(seg**2)) + 1e-12)
    mix = colored_noise(rng, n, rng.uniform(0.0, 2.0)) + 0.5 * hum(rng, n)
    return mix / np.sqrt(np.mean(mix**2))


def place(rng: np.random.Generator, word: np.ndarray) -> np.ndarray:
    """Put a word at a random offset inside a 1 s clip (centre-crop words longer than 1 s)."""
    clip = np.zeros(CLIP_SAMPLES)
    w = word.astype(np.float64)
    if w.size > CLIP_SAMPLES:
        cut = (w.size - CLIP_SAMPLES) // 2
        w = w[cut : cut + CLIP_SAMPLES]
    # A 5 ms fade at both ends: trimming cuts mid-waveform, and the click would be a cue.
    ramp = min(80, w.size // 2)
    if ramp:
        fade = np.linspace(0.0, 1.0, ramp)
        w[:ramp] *= fade
        w[w.size - ramp :] *= fade[::-1]
    start = int(rng.integers(0, CLIP_SAMPLES - w.size + 1))
    clip[start : start + w.size] = w
    return clip


def mix_clip(
    rng: np.random.Generator,
    word: np.ndarray | None,
    pool: list[np.ndarray],
    recorded: list[np.ndarray],
) -> np.ndarray:
    """Build one int16 clip: a word (or nothing, for silence) plus background noise."""
    noise = make_noise(rng, CLIP_SAMPLES, pool, recorded)
    if word is None or word.size == 0:
        # Silence spans digital near-silence to a loud background.
        level = 10 ** rng.uniform(np.log10(3.0), np.log10(3000.0))
        sig = noise * level
    else:
        clip = place(rng, word)
        active = clip[np.abs(clip) > 0]
        speech_rms = np.sqrt(np.mean(active**2)) if active.size else 1.0
        target_rms = 10 ** rng.uniform(np.log10(300.0), np.log10(6000.0))
        clip *= target_rms / speech_rms
        snr_db = rng.uniform(3.0, 40.0)
        # A real microphone never delivers digital silence: keep the noise above ~2 LSB rms.
        sig = clip + noise * max(2.0, target_rms / (10 ** (snr_db / 20.0)))
    return np.clip(np.round(sig), -32768, 32767).astype(np.int16)


# --- data set ---------------------------------------------------------------------------------


def plan_utterances(
    rng: np.random.Generator, variants: list[str], per_keyword: int, unknown: int
) -> list[tuple[int, Utterance]]:
    """Random (label, utterance) requests for the keywords and for unknown words."""

    def random_utt(word: str) -> Utterance:
        return Utterance(
            word=word,
            accent=str(rng.choice(ACCENTS)),
            variant=str(rng.choice(variants)),
            speed=int(rng.integers(110, 230)),
            pitch=int(rng.integers(15, 90)),
        )

    plan = [(LABELS.index(k), random_utt(k)) for k in KEYWORDS for _ in range(per_keyword)]
    plan += [
        (LABELS.index("unknown"), random_utt(str(rng.choice(UNKNOWN_WORDS))))
        for _ in range(unknown)
    ]
    return plan


def build_split(
    name: str, variants: list[str], per_class: int, seed: int, workers: int
) -> dict[str, np.ndarray]:
    """Render and mix one split; returns arrays x (int16 clips), y, voice (str)."""
    rng = np.random.default_rng(seed)
    plan = plan_utterances(rng, variants, per_class, per_class)
    with ProcessPoolExecutor(max_workers=workers) as pool_exec:
        words = list(pool_exec.map(render, [u for _, u in plan], chunksize=32))
    # Babble comes from unknown words of this split's own voices, never from keywords.
    babble_pool = [
        w
        for (label, _), w in zip(plan, words, strict=True)
        if label == LABELS.index("unknown") and w.size
    ]
    clips, labels, voices = [], [], []
    for (label, utt), word in zip(plan, words, strict=True):
        clips.append(mix_clip(rng, word, babble_pool, []))
        labels.append(label)
        voices.append(f"{utt.accent}+{utt.variant}")
    for _ in range(per_class):
        clips.append(mix_clip(rng, None, babble_pool, []))
        labels.append(LABELS.index("silence"))
        voices.append("")
    print(f"{name}: {len(clips)} clips from {len(set(voices) - {''})} voices")
    return {"x": np.stack(clips), "y": np.array(labels, dtype=np.int64), "voice": np.array(voices)}


# --- Speech Commands --------------------------------------------------------------------------


def read_wav(path: Path) -> np.ndarray:
    """Read a mono 16-bit 16 kHz WAV file as int16."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1 or w.getframerate() != SAMPLE_RATE:
            raise ValueError(f"{path}: need 16-bit mono {SAMPLE_RATE} Hz PCM")
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


def load_speech_commands(
    root: Path, seed: int = 0, heldout_fraction: float = 0.2, max_unknown: int = 4000
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Load the Speech Commands layout ``<root>/<word>/*.wav`` (+ ``_background_noise_``).

    Speakers are the part of the file name before ``_nohash_``; a speaker-hash split (the data
    set's own convention) puts ``heldout_fraction`` of speakers in the held-out split. Keywords
    keep their label, every other word folder becomes "unknown" (at most ``max_unknown`` clips),
    and "silence" clips are cut from the recorded background noise.
    """
    rng = np.random.default_rng(seed)
    recorded = [read_wav(p) for p in sorted((root / "_background_noise_").glob("*.wav"))]
    splits: dict[str, dict[str, list]] = {
        s: {"x": [], "y": [], "voice": []} for s in ("train", "heldout")
    }
    unknown_files = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("_")):
        files = sorted(folder.glob("*.wav"))
        if folder.name in KEYWORDS:
            for f in files:
                _add_sc_clip(splits, f, LABELS.index(folder.name), heldout_fraction)
        else:
            unknown_files += files
    for i in rng.permutation(len(unknown_files))[:max_unknown]:
        _add_sc_clip(splits, unknown_files[i], LABELS.index("unknown"), heldout_fraction)
    for split in splits.values():
        n_sil = max(1, len(split["y"]) // len(LABELS))
        for _ in range(n_sil):
            split["x"].append(mix_clip(rng, None, [], recorded))
            split["y"].append(LABELS.index("silence"))
            split["voice"].append("")
    return tuple(
        {
            "x": np.stack(s["x"]),
            "y": np.array(s["y"], dtype=np.int64),  # type: ignore
            "voice": np.array(s["voice"]),
        }
        for s in splits.values()
    )


def _add_sc_clip(
    splits: dict[str, dict[str, list]], path: Path, label: int, heldout_fraction: float
) -> None:
    speaker = path.name.split("_nohash_")[0]
    split = "heldout" if (zlib.crc32(speaker.encode()) % 100) < heldout_fraction * 100 else "train"
    pcm = read_wav(path)[:CLIP_SAMPLES]
    pcm = np.pad(pcm, (0, CLIP_SAMPLES - pcm.size))
    splits[split]["x"].append(pcm)
    splits[split]["y"].append(label)
    splits[split]["voice"].append(speaker)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    parser.add_argument("--per-class", type=int, default=1500, help="training clips per class")
    parser.add_argument("--heldout-per-class", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--speech-commands",
        type=Path,
        default=None,
        help="root of a Speech Commands tree to use instead of espeak-ng",
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    if args.speech_commands is not None:
        train, held = load_speech_commands(args.speech_commands, seed=args.seed)
        meta = {"source": "speech_commands"}
    else:
        variants = list_variants()
        train_v, held_v = split_variants(variants, args.seed)
        train = build_split("train", train_v, args.per_class, args.seed, args.workers)
        held = build_split("heldout", held_v, args.heldout_per_class, args.seed + 1, args.workers)
        meta = {"source": "espeak-ng", "heldout_variants": ",".join(held_v)}
    for name, data in (("train", train), ("heldout", held)):
        np.savez(
            args.out / f"{name}.npz",
            labels=np.array(LABELS),
            **data,
            **{k: np.array(v) for k, v in meta.items()},
        )
    print(f"wrote {args.out} in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
