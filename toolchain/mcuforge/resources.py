"""Where the firmware sources, board files and Renode files live.

In a checkout they sit at the repository root (``firmware/``, ``boards/``, ``renode/``); in an
installed wheel
they are packaged under ``mcuforge/_data/``. Everything else asks this module, never a path of its
own.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parents[1] / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"mcuforge installation is incomplete: no '{name}' directory found")


def firmware_dir() -> Path:
    """The firmware source tree (runtime, kernels, platforms, app)."""
    return _find("firmware")


def boards_dir() -> Path:
    """The board registry (one TOML file per board)."""
    return _find("boards")


def renode_dir() -> Path:
    """Renode platform templates, repl override snippets and Robot keyword files."""
    return _find("renode")
