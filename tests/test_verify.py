"""The judging side of `mcuforge test`: compare() finds differing bits, a wrong answer makes the
command exit 1 naming where, and a reference interpreter that crashes is an error, not a crash."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mcuforge.cli import cli
from mcuforge.reference import GuardedReference
from mcuforge.verify import compare

REGRESSIONS = Path(__file__).parent / "fuzz_regressions"


def test_compare_finds_the_first_differing_value() -> None:
    want = [np.array([[1, 2, 3, 4, 5]], dtype=np.int8), np.array([7, 8], dtype=np.int8)]
    got = [want[0].copy(), want[1].copy()]
    assert compare(0, got, want) is None
    got[1][1] = 9
    got[0][0, 3] = -4
    bad = compare(5, got, want)
    assert bad is not None
    assert (bad.vector, bad.output, bad.index, bad.device, bad.reference, bad.count) == (
        5, 0, 3, -4, 4, 1)
    assert "vector 5, output 0" in bad.describe() and "flat index 3" in bad.describe()


def test_compare_is_bit_exact_and_checks_shape_and_type() -> None:
    # -0.0 == 0.0 as numbers, but not as bits: a dequantized output must match bit for bit.
    bad = compare(0, [np.array([0.0, -0.0], np.float32)], [np.array([0.0, 0.0], np.float32)])
    assert bad is not None and bad.index == 1
    assert compare(0, [np.zeros(4, np.int8)], [np.zeros(5, np.int8)]) is not None
    assert compare(0, [np.zeros(4, np.int8)], [np.zeros(4, np.uint8)]) is not None
    many = compare(0, [np.arange(10, dtype=np.int8)], [np.zeros(10, np.int8)])
    assert many is not None and (many.index, many.count) == (1, 9)


@pytest.mark.qemu
def test_mcuforge_test_exits_1_when_the_reference_disagrees(
    zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decision that makes `mcuforge test` fail: the device is right, the reference is
    made wrong in one byte of vector 2, and the command exits 1 naming that index."""
    original = GuardedReference.run
    calls = {"n": 0}

    def wrong(self: GuardedReference, inputs: list[np.ndarray]) -> list[np.ndarray]:
        out = original(self, inputs)
        if calls["n"] == 2:
            out[0] = out[0].copy()
            out[0].reshape(-1).view(np.uint8)[0] ^= 0x10
        calls["n"] += 1
        return out

    monkeypatch.setattr(GuardedReference, "run", wrong)
    result = CliRunner().invoke(cli, [
        "test", str(zoo / "hello_world_int8.tflite"), "--board", "mps2-an386", "--vectors", "4",
        "--build-dir", str(tmp_path / "fw"), "--quiet"])
    assert result.exit_code == 1, result.output
    assert "FAIL" in result.output and "1 mismatching" in result.output
    assert "vector 2, output 0: 1 values differ; first at flat index 0" in result.output


def test_a_crashing_reference_interpreter_is_an_error(tmp_path: Path) -> None:
    """A fuzzing find that mcuforge compiles but TFLM's interpreter segfaults on: `mcuforge
    test` (here its reference part) reports it instead of dying with it."""
    model = REGRESSIONS / "tflm-crash-hello_world_int8-s1-m184.tflite"
    with pytest.raises(Exception) as info:
        GuardedReference(model)
    assert type(info.value).__name__ == "ModelError"
    assert "crashed loading the model (killed by signal 11)" in str(info.value)


def test_mcuforge_test_validates_before_running_the_reference(tmp_path: Path) -> None:
    """Validation first: the damage that crashed TFLM here (missing zero points) is refused by
    name before the reference interpreter ever loads the model."""
    model = REGRESSIONS / "tflm-crash-simple_add-s1-m688.tflite"
    result = CliRunner().invoke(cli, [
        "test", str(model), "--board", "mps2-an386", "--vectors", "2",
        "--build-dir", str(tmp_path / "fw"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "1 scales but 0 zero points" in result.output
