"""Detections against what was said: hits, misses and false alarms per hour.

A detection hits a spoken keyword when it has the keyword's label and falls between the keyword's
start and ``late_s`` seconds after its end (a streaming detector decides once the word is over);
each keyword is hit at most once. Every other detection is a false alarm: a wrong label, a
second detection of one keyword, or a detection where no keyword was said.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mcuforge.pipeline.reference import Event

#: Seconds after a keyword's end within which its detection counts.
LATE_S = 1.0


@dataclass(frozen=True)
class Spoken:
    """A keyword in a recording: its label and its samples [start, end)."""

    label: str
    start: int
    end: int


@dataclass
class Outcome:
    seconds: float  # audio length
    sample_rate: int
    hits: list[tuple[Spoken, Event]] = field(default_factory=list)
    misses: list[Spoken] = field(default_factory=list)
    false_alarms: list[Event] = field(default_factory=list)

    @property
    def spoken(self) -> int:
        return len(self.hits) + len(self.misses)

    @property
    def detection_rate(self) -> float:
        return len(self.hits) / self.spoken if self.spoken else 0.0

    @property
    def false_alarms_per_hour(self) -> float:
        return 3600.0 * len(self.false_alarms) / self.seconds if self.seconds else 0.0

    def by_label(self, labels: Iterable[str]) -> dict[str, tuple[int, int]]:
        """label -> (hits, times said)."""
        out = {}
        for label in labels:
            hit = sum(1 for s, _ in self.hits if s.label == label)
            out[label] = (hit, hit + sum(1 for s in self.misses if s.label == label))
        return out

    def latencies(self) -> list[float]:
        """Seconds from each hit keyword's end to its detection."""
        return [(e.end_sample - s.end) / self.sample_rate for s, e in self.hits]

    def merge(self, other: Outcome) -> Outcome:
        return Outcome(self.seconds + other.seconds, self.sample_rate,
                       self.hits + other.hits, self.misses + other.misses,
                       self.false_alarms + other.false_alarms)


def match(events: Sequence[Event], spoken: Sequence[Spoken], seconds: float,
          sample_rate: int = 16000, late_s: float = LATE_S) -> Outcome:
    """Score the detections (blocked ones are not detections) of one recording."""
    late = int(late_s * sample_rate)
    open_words = sorted(spoken, key=lambda s: s.start)
    outcome = Outcome(seconds, sample_rate)
    for e in sorted((e for e in events if not e.blocked), key=lambda e: e.end_sample):
        found = next((s for s in open_words if s.label == e.label
                      and s.start <= e.end_sample <= s.end + late), None)
        if found is None:
            outcome.false_alarms.append(e)
        else:
            open_words.remove(found)
            outcome.hits.append((found, e))
    outcome.misses = open_words
    return outcome
