"""The CLI in process (click's CliRunner): outputs, exit codes and error messages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcuforge.boards import MemoryRegion
from mcuforge.build import build_firmware
from mcuforge.cli import cli
from mcuforge.errors import BudgetError, ToolchainMissing


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_help_shows_examples() -> None:
    result = run("test", "--help")
    assert result.exit_code == 0 and "Example" in result.output and "--vectors" in result.output


def test_boards_lists_memories() -> None:
    result = run("boards", "--json")
    assert result.exit_code == 0
    boards = {b["name"]: b for b in json.loads(result.stdout)}
    assert boards["mps2-an386"]["flash"]["bytes"] == 4 * 1024 * 1024
    assert boards["mps2-an386"]["ram"]["origin"] == 0x20000000


def test_inspect_reports_ops_macs_and_plan(zoo: Path) -> None:
    result = run("inspect", str(zoo / "hello_world_int8.tflite"), "--json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["supported"] and info["macs"] == 16 + 256 + 16
    assert [op["op"] for op in info["ops"]] == ["FULLY_CONNECTED"] * 3
    assert info["plan"]["arena_bytes"] >= info["plan"]["lower_bound_bytes"] > 0


def test_inspect_unsupported_model_says_why(unsupported_model: Path) -> None:
    result = run("inspect", str(unsupported_model))
    assert result.exit_code == 1
    assert "BIDIRECTIONAL_SEQUENCE_LSTM is not supported (node 0)" in result.output


def test_inspect_plot(zoo: Path, tmp_path: Path) -> None:
    png = tmp_path / "plan.png"
    result = run("inspect", str(zoo / "hello_world_int8.tflite"), "--plot", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_build_hello_world_fits_16_kib(zoo: Path, tmp_path: Path) -> None:
    result = run(
        "build",
        str(zoo / "hello_world_int8.tflite"),
        "--board",
        "mps2-an386",
        "-o",
        str(tmp_path),
        "--json",
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert 0 < info["flash_bytes"] < 16 * 1024
    for name in ("firmware.elf", "firmware.bin", "firmware.hex"):
        assert (tmp_path / name).stat().st_size > 0
    assert (tmp_path / "firmware.hex").read_text().startswith(":")


def test_build_refuses_unsupported_ops_before_compiling(unsupported_model: Path,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("build", str(unsupported_model), "-b", "mps2-an386", "-o", str(out))
    assert result.exit_code == 2
    assert "BIDIRECTIONAL_SEQUENCE_LSTM is not supported (node 0)" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing was built


def test_unknown_board_is_named(zoo: Path, tmp_path: Path) -> None:
    result = run(
        "build", str(zoo / "hello_world_int8.tflite"), "-b", "nosuchboard", "-o", str(tmp_path)
    )
    assert result.exit_code == 2 and "unknown board 'nosuchboard'" in result.output
    assert "mps2-an386" in result.output


def test_flash_budget_names_the_bytes_over(zoo: Path, an386, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    small = dataclasses.replace(an386, flash=MemoryRegion("flash", 0, 4096))
    with pytest.raises(BudgetError, match=r"bytes over the 4096 bytes of flash"):
        build_firmware(zoo / "hello_world_int8.tflite", small, tmp_path)


def test_ram_budget_is_checked_before_compiling(zoo: Path, an386, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from mcuforge.compiler.compile import compile_graph
    from mcuforge.model import read_model

    small = dataclasses.replace(an386, ram=MemoryRegion("ram", 0x20000000, 16 * 1024))
    with pytest.raises(BudgetError) as exc:
        build_firmware(zoo / "simple_add.tflite", small, tmp_path / "out")
    need = compile_graph(read_model(zoo / "simple_add.tflite")).plan.arena_bytes + 4096
    assert f"at least {need} bytes of RAM: {need - 16 * 1024} bytes over" in str(exc.value)
    assert not (tmp_path / "out").exists()


def test_missing_toolchain_says_what_to_install(
    zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run(
        "build", str(zoo / "hello_world_int8.tflite"), "-b", "mps2-an386", "-o", str(tmp_path / "o")
    )
    assert result.exit_code == 2
    assert "arm-none-eabi-gcc not found" in result.output and "apt install" in result.output
    with pytest.raises(ToolchainMissing):
        from mcuforge.boards import get_board

        build_firmware(zoo / "hello_world_int8.tflite", get_board("mps2-an386"), tmp_path / "p")


@pytest.mark.slow
def test_quantize_command_writes_a_compilable_int8_model(tmp_path: Path) -> None:
    import numpy as np
    import tensorflow as tf

    from mcuforge.compiler.compile import compile_graph
    from mcuforge.model import read_model

    model = tf.keras.Sequential([tf.keras.Input((12,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "tiny.keras")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "calib.npz", x=rng.normal(size=(60, 12)).astype(np.float32))
    out = tmp_path / "tiny_int8.tflite"
    result = run("quantize", str(tmp_path / "tiny.keras"), "-o", str(out), "--calibration",
                 str(tmp_path / "calib.npz"), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["int8_bytes"] == out.stat().st_size and report["top1_agreement"] >= 0.8
    compile_graph(read_model(out))  # every op of the result compiles


def test_quantize_command_refuses_a_bad_calibration_file(tmp_path: Path, zoo: Path) -> None:
    bad = tmp_path / "calib.npy"
    bad.write_bytes(b"not numpy")
    result = run("quantize", str(zoo / "hello_world_float.tflite"), "-o",
                 str(tmp_path / "o.tflite"), "--calibration", str(bad))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "calib.npy" in result.output
