"""Stateful models: resource variables in the state region, aliased where safe, carried from step
to step, restored by reset; every step bit-exact with the TFLM interpreter run in the same order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mcuforge.compiler.compile import compile_graph
from mcuforge.model import parse_model
from mcuforge.reference import Reference
from mcuforge.target.host import HostModel
from mcuforge.vectors import random_vectors


def _accumulate(x, v):  # type: ignore[no-untyped-def]
    """y = relu(x + s); s <- y / 2: the read dies before the write, both alias."""
    import tensorflow as tf

    y = tf.nn.relu(x + v[0].read_value())
    v[0].assign(y * 0.5)
    return y


def _read_after_write(x, v):  # type: ignore[no-untyped-def]
    """The old value is still needed after the new one is assigned."""
    old = v[0].read_value()
    v[0].assign(x * 0.75)
    return old + x


def _two_states(x, v):  # type: ignore[no-untyped-def]
    """Two variables, one assigned from the other: squares of a one-step delay."""
    import tensorflow as tf

    a, b = v[0].read_value(), v[1].read_value()
    v[1].assign(a * a)
    v[0].assign(x)
    return tf.nn.relu6(x + 0.5 * a + (-0.25) * b)


def _read_twice(x, v):  # type: ignore[no-untyped-def]
    """Read, assign, read again: the second read sees the new value."""
    first = v[0].read_value()
    v[0].assign(x + first * (-0.5))
    second = v[0].read_value()
    return first * second


CASES = {
    "accumulate": (_accumulate, (1, 8), [(1, 8)]),
    "read_after_write": (_read_after_write, (1, 12), [(1, 12)]),
    "two_states": (_two_states, (1, 2, 5), [(1, 2, 5), (1, 2, 5)]),
    "read_twice": (_read_twice, (1, 6), [(1, 6)]),
}


def stream_mismatches(model: bytes, tmp_path: Path, *, steps: int, reset_at: int,
                      families: tuple[str, ...] = ("ref",)) -> tuple[int, dict]:
    compiled = compile_graph(parse_model(model, "stream"), kernel_families=families)
    host = HostModel(compiled, tmp_path)
    ref = Reference(model)
    bad = 0
    for i, vec in enumerate(random_vectors(compiled.manifest["inputs"], steps, seed=3)):
        if i == reset_at:
            host.reset()
            ref.reset()
        got, want = host.run(vec.arrays), ref.run(vec.arrays)
        bad += not all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    return bad, compiled.manifest


@pytest.fixture
def models(stateful_models: dict[str, bytes]) -> dict[str, bytes]:
    return stateful_models


@pytest.mark.parametrize("name", sorted(CASES))
def test_stream_is_bit_exact_with_tflm(name: str, models: dict[str, bytes],
                                       tmp_path: Path) -> None:
    bad, manifest = stream_mismatches(models[name], tmp_path, steps=120, reset_at=70)
    assert manifest["stateful"] and manifest["state_bytes"] > 0
    assert bad == 0, f"{name}: {bad} of 120 steps differ from TFLM"


def test_safe_reads_and_writes_cost_no_copy(models: dict[str, bytes]) -> None:
    compiled = compile_graph(parse_model(models["accumulate"], "accumulate"))
    ops = [compiled.calls[s].op.opcode for s in compiled.plan.state.elided]
    assert sorted(ops) == ["ASSIGN_VARIABLE", "READ_VARIABLE"]
    assert "mcuforge_copy" not in compiled.source.split("_invoke(void)")[1]


def test_unsafe_alias_falls_back_to_a_copy(models: dict[str, bytes]) -> None:
    # The first read's value is used after the new one is written: aliasing both would make the
    # late reader see the new value. The planner must keep at least one copy.
    compiled = compile_graph(parse_model(models["read_twice"], "read_twice"))
    copies = [c for i, c in enumerate(compiled.calls)
              if c.op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE")
              and i not in compiled.plan.state.elided]
    assert copies


def test_reset_restores_the_initial_state(models: dict[str, bytes], tmp_path: Path) -> None:
    compiled = compile_graph(parse_model(models["accumulate"], "accumulate"))
    host = HostModel(compiled, tmp_path)
    vecs = random_vectors(compiled.manifest["inputs"], 6, seed=9)
    first = [host.run(v.arrays)[0].copy() for v in vecs]
    host.reset()
    again = [host.run(v.arrays)[0].copy() for v in vecs]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(first[0], f) for f in first[1:])  # the state does change


def _edited(model: bytes, edit) -> bytes:  # type: ignore[no-untyped-def]
    """``model`` changed by ``edit(ModelT)`` through the schema's object API."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    m = fb.ModelT.InitFromPackedBuf(model, 0)
    edit(m)
    builder = flatbuffers.Builder(len(model) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _opcode(m, op) -> str:  # type: ignore[no-untyped-def]
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    code = m.operatorCodes[op.opcodeIndex]
    number = max(code.builtinCode, code.deprecatedBuiltinCode)
    return next(k for k, v in vars(fb.BuiltinOperator).items() if v == number)


def _drop_ops(*names: str):  # type: ignore[no-untyped-def]
    def edit(m) -> None:  # type: ignore[no-untyped-def]
        main = m.subgraphs[0]
        main.operators = [op for op in main.operators if _opcode(m, op) not in names]
        if "CALL_ONCE" in names:
            del m.subgraphs[1:]
    return edit


def test_an_initialiser_that_is_not_the_zero_point_starts_every_stream(
        models: dict[str, bytes], tmp_path: Path) -> None:
    # TFLM's own Reset() would fill the variable with its zero point and not run the initialiser
    # again; <model>_reset() and the reference both start the stream again from the initialiser.
    def init_ramp(m) -> None:  # type: ignore[no-untyped-def]
        assign = m.subgraphs[1].operators[-1]
        value = m.subgraphs[1].tensors[assign.inputs[1]]
        m.buffers[value.buffer].data = np.arange(-40, 40, 10, dtype=np.int8).view(np.uint8)

    model = _edited(models["accumulate"], init_ramp)
    bad, _ = stream_mismatches(model, tmp_path, steps=40, reset_at=20)
    assert bad == 0


def test_a_variable_without_initialiser_starts_at_its_zero_point(
        models: dict[str, bytes], tmp_path: Path) -> None:
    # TFLM memsets an uninitialised resource variable with the assigned tensor's zero point
    # (-128 here), not with zeros.
    model = _edited(models["accumulate"], _drop_ops("CALL_ONCE"))
    compiled = compile_graph(parse_model(model, "no_init"))
    assert compiled.manifest["stateful"]
    bad, _ = stream_mismatches(model, tmp_path, steps=30, reset_at=15)
    assert bad == 0


def test_a_variable_read_but_never_written_is_refused(models: dict[str, bytes]) -> None:
    from mcuforge.errors import ModelError

    model = _edited(models["accumulate"], _drop_ops("CALL_ONCE", "ASSIGN_VARIABLE"))
    with pytest.raises(ModelError, match="'Variable' is read but never initialised or assigned"):
        parse_model(model, "read_only")


def test_state_is_reported(models: dict[str, bytes]) -> None:
    from mcuforge.summary import format_summary, inspect_model  # noqa: F401

    compiled = compile_graph(parse_model(models["two_states"], "two_states"))
    assert compiled.manifest["state_bytes"] == 32  # two 10-byte variables, 16-byte aligned
    assert [v["bytes"] for v in compiled.manifest["variables"]] == [10, 10]


# ---- ESPHome's streaming wake-word models (real, published) ----------------------------------

ZOO = Path(__file__).parent / "zoo"
MWW = {"mww_okay_nabu": 3472, "mww_vad": 1120}  # state bytes: every variable, 16-byte aligned


@pytest.mark.parametrize("name", sorted(MWW))
def test_esphome_stream_on_host_is_bit_exact(name: str, tmp_path: Path) -> None:
    bad, manifest = stream_mismatches((ZOO / f"{name}.tflite").read_bytes(), tmp_path,
                                      steps=600, reset_at=400, families=("dsp", "ref"))
    assert manifest["state_bytes"] == MWW[name]
    assert bad == 0, f"{name}: {bad} of 600 steps differ from TFLM"


@pytest.mark.parametrize("name", sorted(MWW))
def test_esphome_state_is_read_and_written_in_place(name: str) -> None:
    compiled = compile_graph(parse_model((ZOO / f"{name}.tflite").read_bytes(), name))
    copies = [c.op.opcode for i, c in enumerate(compiled.calls)
              if c.op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE")
              and i not in compiled.plan.state.elided]
    assert copies == []


def test_inspect_reports_the_state(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from mcuforge.cli import cli

    result = CliRunner().invoke(cli, ["inspect", str(ZOO / "mww_okay_nabu.tflite")])
    assert result.exit_code == 0, result.output
    assert "state: 3472 bytes kept between invocations" in result.output
    assert "supported: yes" in result.output


@pytest.mark.qemu
@pytest.mark.parametrize("name,board", [("mww_okay_nabu", "mps2-an386"),
                                        ("mww_vad", "mps3-an547")])
def test_esphome_stream_in_qemu_is_bit_exact_with_resets(name: str, board: str,
                                                         tmp_path: Path) -> None:
    from mcuforge.boards import get_board
    from mcuforge.verify import run_test

    report = run_test(ZOO / f"{name}.tflite", get_board(board), vectors=60, reset_every=25,
                      build_dir=tmp_path)
    assert report.stream and report.mismatches == 0, [f.describe() for f in report.failures]
    assert report.instructions_per_inference and report.first_step_instructions
