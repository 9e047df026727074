"""``mcuforge export platformio``: the generated projects, and one really built by PlatformIO.

The registry (ststm32, nordicnrf52, espressif32) is not reachable here, so those projects are
checked as files; the proof that an exported project builds is the mps2-an386 export on the
local dev-platform: ``pio run`` offline, with any attempt to reach the network caught, then the
firmware it built runs bit-exact vectors against TFLM in QEMU.
"""

from __future__ import annotations

import configparser
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from mcuforge.boards import get_board
from mcuforge.cli import cli
from mcuforge.errors import McuforgeError, UnsupportedModelError
from mcuforge.export.platformio import export_platformio
from mcuforge.reference import Reference
from mcuforge.target.qemu import QemuTarget
from mcuforge.vectors import random_vectors
from mcuforge.verify import compare

REGISTRY_BOARDS = {
    # mcuforge board: (PlatformIO platform, board id, framework)
    "nucleo-f446re": ("ststm32", "nucleo_f446re", None),
    "nrf52840-dk": ("nordicnrf52", "nrf52840_dk", None),
    "esp32dev": ("espressif32", "esp32dev", "espidf"),
}


def _ini(project: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    parser.read(project / "platformio.ini")
    return parser


@pytest.mark.parametrize("board", sorted(REGISTRY_BOARDS))
def test_registry_projects_name_the_right_board_and_nothing_local(
    board: str, zoo: Path, tmp_path: Path
) -> None:
    platform, board_id, framework = REGISTRY_BOARDS[board]
    out = tmp_path / "project"
    result = CliRunner().invoke(
        cli,
        ["export", "platformio", str(zoo / "hello_world_int8.tflite"), "-b", board, "-o",
         str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    ini = _ini(out)
    env = ini[f"env:{board}"]
    assert env["platform"] == platform and env["board"] == board_id
    assert env.get("framework") == framework
    text = (out / "platformio.ini").read_text()
    for local_only in ("symlink://", "file://", str(tmp_path), "/usr/", "core_dir", "/tmp"):
        assert local_only not in text, f"local-only path in platformio.ini: {local_only}"
    assert ini["platformio"]["default_envs"] == board
    assert (out / "src" / "main.c").is_file()
    lib = out / "lib" / "mcuforge"
    assert (lib / "library.json").is_file()
    assert (lib / "src" / "generated" / "hello_world_int8.c").is_file()
    if framework is None:
        # bare metal: our startup, vector table and linker script; linker flags via the script
        assert env["board_build.ldscript"] == "link.ld" and (out / "link.ld").is_file()
        assert (lib / "src" / "platform" / "cortex_m" / "startup.c").is_file()
        assert "-mfloat-abi=hard" in (out / "mcuforge_link.py").read_text()
        assert "int main(void)" in (out / "src" / "main.c").read_text()
    else:
        assert (lib / "src" / "platform" / "espidf" / "platform.c").is_file()
        assert "void app_main(void)" in (out / "src" / "main.c").read_text()
        assert (out / "CMakeLists.txt").is_file() and (out / "sdkconfig.defaults").is_file()
        readme = (out / "README.md").read_text()
        assert "with internet access" in readme and "only way to build" in readme
    # every include directory the flags name exists in the project
    for flag in env["build_flags"].split():
        if flag.startswith("-I"):
            assert (out / flag[2:]).is_dir(), flag


def test_unsupported_model_is_refused_before_anything_is_written(
        unsupported_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "never"
    with pytest.raises(UnsupportedModelError, match="BIDIRECTIONAL_SEQUENCE_LSTM"):
        export_platformio(unsupported_model, get_board("nucleo-f446re"), out)
    assert not out.exists()
    result = CliRunner().invoke(
        cli, ["export", "platformio", str(unsupported_model), "-b", "esp32dev",
              "-o", str(out)],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert not out.exists()


def test_boards_without_a_registry_platform_need_the_local_one(zoo: Path, tmp_path: Path) -> None:
    with pytest.raises(McuforgeError, match="--local-platform"):
        export_platformio(zoo / "hello_world_int8.tflite", get_board("mps2-an386"), tmp_path / "p")
    assert not (tmp_path / "p").exists()


class _Tripwire:
    """A TCP listener standing in for every HTTP(S) proxy: PlatformIO's registry and internet
    checks go through proxies, so any connection here is a network access. It refuses them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.mark.qemu
@pytest.mark.slow
def test_exported_project_builds_offline_and_runs_bit_exact(zoo: Path, tmp_path: Path) -> None:
    model = zoo / "hello_world_int8.tflite"
    board = get_board("mps2-an386")
    out = tmp_path / "project"
    project = export_platformio(model, board, out, local_platform=tmp_path / "pio-local")
    assert project.local is not None
    ini = (out / "platformio.ini").read_text()
    assert f"platform = symlink://{project.local.platform}" in ini
    assert "test_framework = custom" in ini

    tripwire = _Tripwire()
    env = project.local.environment()
    proxy = f"http://127.0.0.1:{tripwire.port}"
    env.update(HTTP_PROXY=proxy, HTTPS_PROXY=proxy, http_proxy=proxy, https_proxy=proxy,
               ALL_PROXY=proxy, NO_PROXY="", no_proxy="")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "platformio", "run", "-d", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    finally:
        tripwire.close()
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]
    assert tripwire.hits == 0, f"PlatformIO tried the network {tripwire.hits} times:\n{log[-2000:]}"
    assert "[SUCCESS]" in log
    assert not (Path.home() / ".platformio" / "platforms" / "mcuforge-local-arm").exists()
    elf = out / ".pio" / "build" / board.name / "firmware.elf"
    assert elf.is_file()

    manifest = json.loads((out / "lib/mcuforge/src/generated/hello_world_int8.json").read_text())
    reference = Reference(model)
    with QemuTarget(board, elf) as device:
        info = device.info()
        assert info.model == "hello_world_int8" and info.firmware.endswith(board.name)
        for i, vector in enumerate(random_vectors(manifest["inputs"], 10, seed=3)):
            got, instructions = device.run(vector, manifest["outputs"])
            assert compare(i, got, reference.run(vector.arrays)) is None
            assert instructions > 0
