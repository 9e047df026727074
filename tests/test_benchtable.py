"""docs/benchmarks.md's tables from measured rows (`make bench` measures; no test does)."""

from __future__ import annotations

from mcuforge.benchstream import STREAM_GOALS
from mcuforge.benchtable import (
    M4,
    WAKE_WORD,
    WAKE_WORD_PEER,
    Row,
    model_path,
    render,
    wake_word_cmsis_estimate,
)
from mcuforge.summary import inspect_model


def test_the_streaming_wake_word_is_estimated_at_its_peers_rate() -> None:
    peer_macs = inspect_model(model_path(WAKE_WORD_PEER)).macs
    assert peer_macs and wake_word_cmsis_estimate(peer_macs) == STREAM_GOALS[WAKE_WORD_PEER][0]
    assert wake_word_cmsis_estimate(2 * peer_macs) == 2 * STREAM_GOALS[WAKE_WORD_PEER][0]


def test_second_lap_row_says_estimated_and_judges_the_goal() -> None:
    macs = inspect_model(model_path(WAKE_WORD)).macs or 0
    cmsis = wake_word_cmsis_estimate(macs)
    rows = [Row(WAKE_WORD, M4, macs, int(cmsis * 0.5), cmsis * 5, 3000, 2500, 64000, 7000, 54000),
            Row("mlperf_ad01_int8", M4, 1000, 582_948, 1_952_296, 700, 768, 9000, 4_732, 4000)]
    text = render(rows)
    line = next(x for x in text.splitlines() if x.startswith(f"| {WAKE_WORD} | {cmsis:,}"))
    assert "(estimated)" in line and "| 0.50x | yes |" in line
    ad01 = next(x for x in text.splitlines() if x.startswith("| mlperf_ad01_int8 | 582,948 |"))
    assert "| 1.00x | NO |" in ad01
