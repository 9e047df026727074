"""The built wheel carries what mcuforge needs at run time: firmware sources, board files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_installed_wheel_builds_firmware_outside_the_checkout(zoo: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
    )
    wheel = next(dist.glob("mcuforge-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "mcuforge/_data/boards/mps2-an386.toml" in names
    assert "mcuforge/_data/firmware/app/server.c" in names
    assert "mcuforge/compiler/templates/model.c.j2" in names
    for renode_file in ("platform.repl.j2", "mcuforge.resource", "selftest.robot.j2"):
        assert f"mcuforge/_data/renode/{renode_file}" in names

    # Install the wheel alone into a directory of its own; the dependencies come from this
    # environment, but mcuforge itself (and its data) only from the wheel.
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
    )
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import mcuforge, mcuforge.resources as r; "
            "print(mcuforge.__file__); print(r.firmware_dir()); print(r.renode_dir())",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(line.startswith(str(site)) for line in where.stdout.split()), where.stdout
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcuforge.cli",
            "build",
            str(zoo / "hello_world_int8.tflite"),
            "--board",
            "mps2-an386",
            "-o",
            str(work / "fw"),
            "--json",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["flash_bytes"] > 0
    assert (work / "fw" / "firmware.elf").exists()
    # The Renode templates come from the wheel too: a suite for a Renode board, written outside.
    suite = subprocess.run(
        [sys.executable, "-m", "mcuforge.cli", "renode-suite", str(zoo / "hello_world_int8.tflite"),
         "--board", "nrf52840-dk", "-o", str(work / "suite"), "-n", "2", "--json", "--quiet"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert suite.returncode == 0, suite.stderr
    assert "systickFrequency: 64000000" in (work / "suite" / "platform.repl").read_text()
    assert (work / "suite" / "mcuforge.resource").is_file()
