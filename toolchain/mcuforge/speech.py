"""Synthesized speech with word times, from espeak-ng's library (``libespeak-ng.so.1``).

The wake-word recipe and ``make demo`` need sentences whose keyword times are known. espeak-ng's
command line gives audio only; its library reports a WORD event with the audio position of each
word, so a sentence is rendered as connected speech and every word's span is known.

espeak-ng keeps state from one utterance to the next inside a process (its wave generator and
noise source), so the same text renders differently depending on what was rendered before. Every
batch of utterances is therefore rendered in a freshly forked process that has never spoken: the
output depends only on the batch, which is fixed by the order of the requests (``chunk``). Audio
comes at espeak-ng's 22,050 Hz and is resampled to 16 kHz with ``scipy.signal.resample_poly``.
"""

from __future__ import annotations

import ctypes
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from mcuforge.errors import ToolchainMissing

SAMPLE_RATE = 16000
_ESPEAK_RATE = 22050
_LIBRARY = "libespeak-ng.so.1"
_SYNCHRONOUS = 2  # AUDIO_OUTPUT_SYNCHRONOUS
_POS_CHARACTER = 1
_EVENT_WORD, _EVENT_END_LIST = 1, 0
_RATE, _PITCH = 1, 3  # espeak_PARAMETER


@dataclass(frozen=True)
class Utterance:
    """One espeak-ng request: text, a voice (``en-us``, ``en-gb-scotland+f3``), words per minute
    and pitch (0..99)."""

    text: str
    voice: str = "en-us"
    speed: int = 175
    pitch: int = 50


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # first sample of the word (16 kHz)
    end: int  # one past its last loud sample


@dataclass
class Speech:
    samples: np.ndarray  # int16, 16 kHz, leading and trailing silence trimmed
    words: list[Word] = field(default_factory=list)


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


def available() -> bool:
    try:
        ctypes.CDLL(_LIBRARY)
    except OSError:
        return False
    return True


def speak(utterances: Sequence[Utterance], *, workers: int = 2, chunk: int = 64) -> list[Speech]:
    """Render every utterance; the result depends only on the list and ``chunk``."""
    if not available():
        raise ToolchainMissing(f"espeak-ng's library ({_LIBRARY}) is missing: install the "
                               "Debian package espeak-ng (make setup does)")
    import scipy.signal  # noqa: F401  imported once here, not in every forked worker

    items = list(utterances)
    batches = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    ctx = multiprocessing.get_context("fork")
    # maxtasksperchild=1: every batch gets a process that has never run espeak-ng.
    with ctx.Pool(max(1, min(workers, len(batches))), maxtasksperchild=1) as pool:
        done = pool.map(_render_batch, batches, chunksize=1)
    return [s for batch in done for s in batch]


def _render_batch(batch: list[Utterance]) -> list[Speech]:
    lib = ctypes.CDLL(_LIBRARY)
    if lib.espeak_Initialize(_SYNCHRONOUS, 0, None, 0) != _ESPEAK_RATE:
        raise ToolchainMissing("espeak-ng did not start (its data files are missing?)")
    chunks: list[np.ndarray] = []
    events: list[tuple[int, int, int]] = []

    def collect(wav, n, ev):  # type: ignore[no-untyped-def]
        if n > 0:
            chunks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while ev[i].type != _EVENT_END_LIST:
            if ev[i].type == _EVENT_WORD:
                events.append((ev[i].text_position, ev[i].length, ev[i].audio_position))
            i += 1
        return 0

    callback = _CALLBACK(collect)  # kept alive until the batch is done
    lib.espeak_SetSynthCallback(callback)
    out = []
    for utt in batch:
        chunks.clear()
        events.clear()
        if lib.espeak_SetVoiceByName(utt.voice.encode()) != 0:
            raise ToolchainMissing(f"espeak-ng has no voice '{utt.voice}'")
        lib.espeak_SetParameter(_RATE, utt.speed, 0)
        lib.espeak_SetParameter(_PITCH, utt.pitch, 0)
        text = utt.text.encode() + b"\0"
        lib.espeak_Synth(text, len(text), 0, _POS_CHARACTER, 0, 0, None, None)
        lib.espeak_Synchronize()
        raw = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        out.append(_assemble(utt.text, raw, list(events)))
    return out


def _assemble(text: str, raw: np.ndarray, events: list[tuple[int, int, int]]) -> Speech:
    from scipy.signal import resample_poly

    pcm = resample_poly(raw.astype(np.float64), 320, 441)
    loud = _loud_frames(pcm)
    words = []
    bounds = [min(len(pcm), ms * SAMPLE_RATE // 1000) for _, _, ms in events] + [len(pcm)]
    for k, (pos, length, _) in enumerate(events):
        start, end = _tighten(loud, bounds[k], bounds[k + 1])
        words.append(Word(text[pos - 1 : pos - 1 + length], int(start), int(end)))
    spoken = [w for w in words if w.end > w.start]
    # 30 ms kept around the words, faded in and out: a hard cut would be a click
    first = max(0, min((w.start for w in spoken), default=0) - _MARGIN)
    last = min(len(pcm), max((w.end for w in spoken), default=0) + _MARGIN)
    kept = pcm[first:last].copy()
    ramp = np.linspace(0.0, 1.0, min(_FADE, len(kept) // 2))
    if ramp.size:
        kept[: ramp.size] *= ramp
        kept[len(kept) - ramp.size :] *= ramp[::-1]
    samples = np.clip(np.round(kept), -32768, 32767).astype(np.int16)
    return Speech(samples, [Word(w.text, max(0, w.start - first), max(0, w.end - first))
                            for w in words])


_FRAME = 160  # 10 ms
_MARGIN = 480
_FADE = 80


def _loud_frames(pcm: np.ndarray, rel_db: float = -35.0) -> np.ndarray:
    """Per 10 ms frame: louder than ``rel_db`` below the utterance's loudest frame."""
    n = len(pcm) // _FRAME
    if n == 0:
        return np.zeros(0, dtype=bool)
    energy = (pcm[: n * _FRAME].reshape(n, _FRAME) ** 2).mean(axis=1) + 1e-9
    return 10 * np.log10(energy / energy.max()) > rel_db


def _tighten(loud: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The loud part of [start, end) at frame resolution (empty: start == end)."""
    lo, hi = start // _FRAME, min(len(loud), -(-end // _FRAME))
    idx = np.nonzero(loud[lo:hi])[0]
    if idx.size == 0:
        return start, start
    return max(start, (lo + idx[0]) * _FRAME), min(end, (lo + idx[-1] + 1) * _FRAME)
