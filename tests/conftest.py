"""Shared fixtures. Models come from tests/zoo (published models, unmodified copies)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ZOO = Path(__file__).parent / "zoo"


@pytest.fixture(scope="session")
def zoo() -> Path:
    return ZOO


@pytest.fixture(scope="session")
def an386():  # type: ignore[no-untyped-def]
    from mcuforge.boards import get_board

    return get_board("mps2-an386")


def need_tools(*tools: str) -> None:
    """Fail (not skip) when a tool `make setup` installs is missing: CI must have it."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make setup`")


@pytest.fixture(scope="session")
def stateful_models() -> dict[str, bytes]:
    """test_state.CASES converted by the TF converter once per session (it is slow), for every
    module that needs a stateful model."""
    from stategen import convert_isolated
    from test_state import CASES

    return convert_isolated(CASES)
