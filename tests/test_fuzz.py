"""A short seeded fuzzing campaign (tests/fuzz.py) and the replay of every past finding.

``make fuzz`` runs the long campaign; its findings, once fixed, are kept in
tests/fuzz_regressions/ (the damaged model and a note of the mutation and the old failure) and
replayed here: each must now be rejected with a clear error, or compiled and bit-exact with TFLM
(or, for a TFLM crash, still not crash mcuforge).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import fuzz

#: Findings whose fix is a refusal (the others must now be accepted and bit-exact, or rejected).
REFUSED = {"mismatch-hello_world_int8-s1-m1065", "mismatch-hello_world_int8-s1-m2828",
           "mismatch-hello_world_int8-s1-m3412", "mismatch-hello_world_int8-s1-m4866",
           "mismatch-micro_speech_quantized-s7-m16954",
           # the structure-aware mutator's: depth_multiplier 0, a constant or a variable as a
           # graph input
           "mismatch-mlperf_kws_ref_model-gs1-m881", "mismatch-mlperf_kws_ref_model-gs1-m960",
           "mismatch-mnist_lstm_int8-gs1-m384", "mismatch-mnist_lstm_int8-gs1-m561",
           "mismatch-mnist_lstm_int8-gs2-m322",
           # an initialiser assigning a tensor marked variable
           "mismatch-mww_vad-gs3-m3817",
           # a CONV_2D whose options table is gone; a depthwise multiplier flipped to 0
           "mismatch-mlperf_kws_ref_model-s7-m86388", "mismatch-micro_speech_quantized-s7-m92845"}
REGRESSIONS = sorted((Path(__file__).parent / "fuzz_regressions").glob("*.tflite"))


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.stem for p in REGRESSIONS])
def test_past_findings_stay_fixed(path: Path, tmp_path: Path) -> None:
    fuzz._warm_imports()
    outcome, detail = fuzz.run_one(path.read_bytes(), tmp_path, timeout=120)
    assert outcome not in fuzz.FINDINGS, f"{path.name}: {outcome}: {detail}"
    if path.name.startswith(("build-failure", "traceback")) or path.stem in REFUSED:
        assert outcome == "rejected", (outcome, detail)


@pytest.mark.slow
def test_short_seeded_campaign() -> None:
    """~15 s on 2 cores: 150 mutants of the zoo models, no traceback, crash, hang, build
    failure or mismatch; both verdicts (rejected, bit-exact) are reached."""
    result = fuzz.campaign(150, seed=20261204, timeout=120)
    findings = "\n".join(f"{label}: {detail}" for _, label, detail in result["findings"]
                         if not label.startswith(("tflm-crash", "tflm-inconsistent")))
    assert not findings, findings
    assert result["rejected_cleanly"] > 30 and result["bit_exact"] > 30, result


@pytest.mark.slow
def test_short_structural_campaign() -> None:
    """~15 s: 120 mutants that change one field of a well-formed model (shape, type, scale,
    option, operand, buffer), over stateful, front-end and recurrent models too."""
    result = fuzz.campaign(120, seed=20261205, timeout=120, mutator="graph")
    findings = "\n".join(f"{label}: {detail}" for _, label, detail in result["findings"]
                         if not label.startswith(("tflm-crash", "tflm-inconsistent")))
    assert not findings, findings
    assert result["rejected_cleanly"] > 20 and result["bit_exact"] > 20, result
