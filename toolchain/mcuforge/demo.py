"""``make demo``: keyword spotting from raw audio on an emulated Cortex-M4, end to end.

1. A recording is synthesised (deterministic): espeak-ng sentences with the keywords yes, no,
   left and right, said by voices the model never heard in training, between sentences without
   them, in background noise; the keywords' times come from espeak-ng's word events.
2. The pipeline ``models/pipelines/wake_word.toml`` (TFLM's audio front end every 10 ms, the
   streaming wake-word model every 30 ms, ESPHome's detection rule) is built for mps2-an386 and
   booted in QEMU; the recording is streamed over the serial line, and every feature frame, model
   output and event is checked bit for bit against the host reference pipeline (TFLM).
3. Detections are scored against what was said; the device's instructions per 10 ms hop, its
   share of the board's clock and the RAM are printed.
4. ESPHome's "okay nabu" model (gated by its VAD model, ``models/pipelines/okay_nabu.toml``) runs
   the same way on "okay nabu" in several voices and on speech without it.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from mcuforge.boards import get_board
from mcuforge.errors import McuforgeError
from mcuforge.pipeline import PipelineLayout, open_pipeline
from mcuforge.pipeline.audio import Audio
from mcuforge.pipeline.groundtruth import Outcome, Spoken, match
from mcuforge.pipeline.listen import ListenReport, format_report, listen
from mcuforge.speech import Utterance, speak

ROOT = Path(__file__).resolve().parents[2]
PIPELINES = ROOT / "models" / "pipelines"
RATE = 16000

#: Voice variants held out of the wake-word model's training (models/wake_word/synth.py's split).
VOICES = ["en-us+f3", "en-gb-scotland+m4", "en+edward", "en-us+steph", "en-gb-x-rp+zac",
          "en-029+victor", "en-us-nyc+Mr", "en+shelby"]
#: Sentences with one keyword each ({} is the keyword's place).
KEYWORD_SENTENCES = {
    "yes": ["yes I would like that", "I think the answer is yes", "yes please",
            "she said yes to the offer"],
    "no": ["no thank you", "the answer is no", "no more coffee for me", "I said no"],
    "left": ["turn left at the station", "the door on the left", "move it to the left please",
             "left"],
    "right": ["turn right at the bridge", "the button on the right", "go right", "keep right"],
}
OTHER_SENTENCES = ["the weather is nice today", "what time is it", "play some music in the kitchen",
                   "how long will the train take", "switch off the lamp in the bedroom",
                   "I would like a cup of tea", "the bird sat in the tree", "call me later"]
NABU_VOICES = ["en-us", "en", "en-gb-x-rp", "en-us+m3", "en-us+f2", "en-gb-scotland"]


@dataclass
class Recording:
    samples: np.ndarray  # int16 [n]
    spoken: list[Spoken]
    lines: list[tuple[int, str, str]]  # (first sample, voice, text) of each utterance

    @property
    def seconds(self) -> float:
        return len(self.samples) / RATE


def _mix(texts: list[Utterance], keywords: list[str | None], seed: int,
         pause: tuple[float, float] = (0.8, 1.6)) -> Recording:
    """Utterances one after another with pauses, 1.5 s of noise first, in pink noise at about
    20 dB SNR; ``keywords[i]`` is the word (or two-word phrase) to report of utterance i."""
    rng = np.random.default_rng(seed)
    speech = speak(texts)
    at, pieces, spoken, lines = int(1.5 * RATE), [np.zeros(int(1.5 * RATE))], [], []
    for utt, sp, kw in zip(texts, speech, keywords, strict=True):
        pieces.append(sp.samples.astype(np.float64) * 3000.0 / _rms(sp.samples))
        lines.append((at, utt.voice, utt.text))
        if kw is not None:
            first, *rest = kw.split()
            start = next(w.start for w in sp.words if w.text == first)
            end = next(w.end for w in sp.words if w.text == (rest[-1] if rest else first)
                       and w.start >= start)
            spoken.append(Spoken(kw, at + start, at + end))
        gap = int(rng.uniform(*pause) * RATE)
        pieces.append(np.zeros(gap))
        at += len(sp.samples) + gap
    clean = np.concatenate(pieces)
    spec = rng.standard_normal(len(clean) // 2 + 1) + 1j * rng.standard_normal(len(clean) // 2 + 1)
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1.0))  # pink
    noise = np.fft.irfft(spec, len(clean))
    noise *= 300.0 / _rms(noise)
    samples = np.clip(np.round(clean + noise), -32768, 32767).astype(np.int16)
    return Recording(samples, spoken, lines)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))) + 1e-9


def keyword_recording(rounds: int = 4, others: int = 8) -> Recording:
    """``rounds`` sentences per keyword (the keywords in turn) with ``others`` sentences
    without keywords between them, each sentence in the next voice."""
    texts: list[Utterance] = []
    keywords: list[str | None] = []
    order = [k for r in range(rounds) for k in KEYWORD_SENTENCES]
    every = max(1, len(order) // others) if others else 0
    for i, kw in enumerate(order):
        text = KEYWORD_SENTENCES[kw][(i // len(KEYWORD_SENTENCES)) % 4]
        texts.append(Utterance(text, VOICES[i % len(VOICES)], 150 + 10 * (i % 5), 40 + 5 * (i % 6)))
        keywords.append(kw)
        if every and i % every == every - 1 and i // every < others:
            other = OTHER_SENTENCES[(i // every) % len(OTHER_SENTENCES)]
            texts.append(Utterance(other, VOICES[(i + 3) % len(VOICES)], 160, 50))
            keywords.append(None)
    return _mix(texts, keywords, seed=2024)


def nabu_recording(label: str, voices: list[str] = NABU_VOICES, others: int = 4) -> Recording:
    """"okay nabu" in each voice, then ``others`` sentences without it; the spoken phrases
    carry ``label`` (the model's label, "Okay Nabu" in ESPHome's manifest)."""
    texts = [Utterance("okay nabu", v, 160, 50) for v in voices]
    texts += [Utterance(s, voices[i % len(voices)], 160, 50)
              for i, s in enumerate(OTHER_SENTENCES[:others])]
    rec = _mix(texts, ["okay nabu"] * len(voices) + [None] * others, seed=7, pause=(1.2, 1.8))
    rec.spoken = [Spoken(label, s.start, s.end) for s in rec.spoken]
    return rec


Say = Callable[[str], None]


@dataclass
class Part:
    """One pipeline over one recording, and what came of it."""

    title: str
    tag: str  # progress-line prefix
    layout: PipelineLayout
    rec: Recording
    report: ListenReport | None = None
    outcome: Outcome | None = None
    text: str = ""  # the part's result block

    @property
    def passed(self) -> bool:
        return self.report is not None and self.report.passed


def _blocks(rec: Recording, hop: int, say: Say, events: list[object],
            every_s: float = 10.0) -> Iterator[np.ndarray]:
    """The recording in blocks of 16 hops, with a progress line every ``every_s`` seconds of
    audio streamed."""
    step, due = 16 * hop, int(every_s * RATE)
    for at in range(0, len(rec.samples), step):
        if at >= due:
            say(f"streamed {at / RATE:4.0f} of {rec.seconds:.0f} s, {len(events)} detection(s)")
            due += int(every_s * RATE)
        yield rec.samples[at : at + step].reshape(-1, 1)


def _outcome_lines(rec: Recording, report: ListenReport, outcome: Outcome) -> list[str]:
    hit_at = {id(s): e for s, e in outcome.hits}
    out = [f"  {'said at':>8}  {'keyword':<10} {'voice':<20} {'sentence':<30} detected"]
    for s in rec.spoken:
        _at, voice, line = next(x for x in reversed(rec.lines) if x[0] <= s.start)
        e = hit_at.get(id(s))
        got = f"at {e.end_sample / RATE:6.2f} s (score {e.mean})" if e else "MISSED"
        out.append(f"  {s.start / RATE:7.2f}s  {s.label:<10} {voice:<20} {line[:30]:<30} {got}")
    for e in outcome.false_alarms:
        out.append(f"  false alarm: '{e.label}' at {e.end_sample / RATE:.2f} s (score {e.mean})")
    out.append(f"  hits {len(outcome.hits)}/{outcome.spoken}, misses {len(outcome.misses)}, "
               f"false alarms {len(outcome.false_alarms)} "
               f"({outcome.false_alarms_per_hour:.0f} per hour over these "
               f"{report.audio_seconds:.0f} s)")
    return out


def run_part(part: Part, board: str, emulator: str, say: Say) -> Part:
    """Build, boot, stream, compare with the reference and score; fills in ``part``."""
    where = part.layout.spec.path.resolve()
    name = where.relative_to(ROOT) if where.is_relative_to(ROOT) else where
    say(f"{part.title}: {part.rec.seconds:.1f} s of synthesised speech in noise, "
        f"{len(part.rec.spoken)} keywords said; pipeline {name}")
    events: list[object] = []
    report = listen(part.layout, get_board(board), Audio(part.rec.samples.reshape(-1, 1), RATE),
                    emulator=emulator, progress=say, on_event=events.append,
                    live=_blocks(part.rec, part.layout.hop, say, events))
    outcome = match(report.events, part.rec.spoken, part.rec.seconds, RATE)
    lines = format_report(report, part.layout).splitlines()
    # the detections are in the table; from the bit-exactness line on: cost and RAM
    first = next(i for i, line in enumerate(lines) if line.startswith(("bit-exact", "DIFFERS")))
    text = [f"== {part.title} ({name}, {part.rec.seconds:.1f} s)", *_outcome_lines(
        part.rec, report, outcome), *lines[first:]]
    part.report, part.outcome, part.text = report, outcome, "\n".join(text)
    say(f"done in {report.seconds:.0f} s")
    return part


def _nabu_part(say: Say) -> Part | None:
    """The okay_nabu part, or None (with the reason said) where its models are not here."""
    needed = [ROOT / "tests" / "zoo" / f for f in ("mww_okay_nabu.tflite", "mww_okay_nabu.json",
                                                    "mww_vad.tflite", "mww_vad.json")]
    missing = [str(p.relative_to(ROOT)) for p in needed if not p.is_file()]
    if missing:
        say(f"skipping ESPHome's okay_nabu: {', '.join(missing)} not in this checkout")
        return None
    try:
        layout = open_pipeline(PIPELINES / "okay_nabu.toml")
    except McuforgeError as exc:
        say(f"skipping ESPHome's okay_nabu: {exc}")
        return None
    say("synthesising 'okay nabu' in 6 voices and 4 sentences without it (espeak-ng)")
    rec = nabu_recording(layout.detectors[0].label)
    return Part("ESPHome's okay_nabu (gated by its VAD)", "okay_nabu", layout, rec)


def run_demo(board: str = "mps2-an386", *, emulator: str = "qemu", short: bool = False,
             plot: Path | None = None) -> int:
    """Run the demo; returns the process exit status (1 if the device differs anywhere).

    The parts run at the same time, each on its own emulator (the serial line, not the
    emulated CPU, limits each one); progress lines come as they happen, each part's results
    once it is done."""
    start = time.monotonic()
    lock = threading.Lock()

    def sayer(tag: str) -> Say:
        def say(msg: str) -> None:
            with lock:
                click.echo(f"[demo {time.monotonic() - start:5.1f} s] {tag}: {msg}")
        return say

    target = get_board(board)
    say = sayer("demo")
    say(f"keyword spotting from raw audio on {target.name} ({target.description}), "
        f"{emulator}: samples -> TFLM audio front end -> streaming model -> detectors")
    say("synthesising the keyword recording (espeak-ng, held-out voices, pink noise)")
    rec = keyword_recording(rounds=1, others=0) if short else keyword_recording()
    layout = open_pipeline(PIPELINES / "wake_word.toml")
    parts = [Part("keywords yes/no/left/right", "wake_word", layout, rec)]
    if not short:
        nabu = _nabu_part(say)
        if nabu is not None:
            parts.append(nabu)
    if len(parts) == 1:
        run_part(parts[0], board, emulator, sayer(parts[0].tag))
    else:
        with ThreadPoolExecutor(len(parts)) as pool:
            futures = [pool.submit(run_part, p, board, emulator, sayer(p.tag)) for p in parts]
            for f in futures:
                f.result()
    for p in parts:
        click.echo(f"\n{p.text}")
    if plot is not None:
        from mcuforge.demo_plot import plot_scores

        plot_scores(layout, rec, plot)
        click.echo(f"\nwrote {plot}")
    ok = all(p.passed for p in parts)
    click.echo("\nsummary:")
    for p in parts:
        assert p.report is not None and p.outcome is not None
        o = p.outcome
        click.echo(f"  {p.tag}: {'bit-exact' if p.passed else 'DIFFERS from the reference'}; "
                   f"hits {len(o.hits)}/{o.spoken}, false alarms {len(o.false_alarms)} "
                   f"({o.false_alarms_per_hour:.0f} per hour) over {p.rec.seconds:.0f} s")
    click.echo(f"demo took {time.monotonic() - start:.1f} s")
    return 0 if ok else 1


@click.command()
@click.option("--board", default="mps2-an386", show_default=True, help="Emulated board.")
@click.option("--emulator", type=click.Choice(["qemu", "renode", "host"]), default="qemu",
              show_default=True)
@click.option("--short", is_flag=True, help="A short recording, the keyword part only.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Also draw the features and scores over time into this PNG.")
def main(board: str, emulator: str, short: bool, plot: Path | None) -> None:
    """Keyword spotting from raw audio in QEMU, checked bit for bit against TFLM."""
    try:
        sys.exit(run_demo(board, emulator=emulator, short=short, plot=plot))
    except McuforgeError as exc:
        click.echo(f"demo failed: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
