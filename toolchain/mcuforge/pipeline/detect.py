"""Smoothing, cutoff and refractory period in integer arithmetic: the rule ESPHome's
micro_wake_word applies (components/micro_wake_word/streaming_model.cpp), written once here as
the oracle for ``firmware/app/pipeline/pipeline_detect.c``.

Per detector (one watched output value of one model):

* Scores are the output value in 0..255 (uint8 as is, int8 + 128). The last ``smoothing`` (K)
  scores sit in a ring that starts at zeros; ``sum`` is their total.
* Active: ``sum > cutoff * K``, with ``cutoff = int(probability * 255)`` -- ESPHome compares the
  sum with the quantized cutoff times K, strictly.
* Every frame, after the models ran: if the newest score is below the cutoff, one frame of the
  refractory period passes. The period starts full at the start of a stream and after each
  detection (ESPHome's ``ignore_windows_``, 100 slices), so a detection needs the scores to have
  dropped below the cutoff for that long.
* A new score is pending until it is checked with no refractory frames left: then the detector
  fires when active. A gated detector fires only while its gate detector is active (ESPHome's
  VAD); otherwise it reports a blocked detection and keeps its scores. Firing clears the ring
  and restarts the refractory period; the model's own state is kept.
* Gate detectors (role "gate") never fire; others read whether they are active.
"""

from __future__ import annotations

from dataclasses import dataclass

NONE, FIRED, BLOCKED = 0, 1, 2


@dataclass
class Detection:
    status: int  # FIRED or BLOCKED
    mean: int  # sum // K before the reset
    max: int


class Detector:
    def __init__(self, smoothing: int, cutoff: int, refractory: int):
        if not 1 <= smoothing <= 255 or not 0 <= cutoff <= 255 or not 0 <= refractory < 1 << 16:
            raise ValueError("smoothing 1..255, cutoff 0..255, refractory 0..65535")
        self.smoothing, self.cutoff, self.refractory = smoothing, cutoff, refractory
        self.reset()

    def reset(self) -> None:
        """A new stream."""
        self.ring = [0] * self.smoothing
        self.last = 0
        self.sum = 0
        self.refractory_left = self.refractory
        self.pending = False

    def push(self, score: int) -> None:
        """A new score (0..255) from the model."""
        self.last = (self.last + 1) % self.smoothing
        self.sum += score - self.ring[self.last]
        self.ring[self.last] = score
        self.pending = True

    def tick(self) -> None:
        """One frame passed (every frame, after the models ran)."""
        if self.ring[self.last] < self.cutoff and self.refractory_left > 0:
            self.refractory_left -= 1

    @property
    def active(self) -> bool:
        return self.sum > self.cutoff * self.smoothing

    def check(self, gate_open: bool = True) -> Detection | None:
        """After all of a frame's ticks: a detection, a blocked one, or None."""
        if not self.pending or self.refractory_left > 0:
            return None
        self.pending = False
        if not self.active:
            return None
        found = Detection(FIRED if gate_open else BLOCKED, self.sum // self.smoothing,
                          max(self.ring))
        if gate_open:
            self.ring = [0] * self.smoothing
            self.sum = 0
            self.refractory_left = self.refractory
        return found
