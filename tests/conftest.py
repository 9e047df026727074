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


@pytest.fixture(scope="session")
def unsupported_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The published LSTM example with its op turned into BIDIRECTIONAL_SEQUENCE_LSTM, an op no
    part of mcuforge compiles: a real model file for the tests of refusals (the LSTM itself is
    supported now)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

    raw = (ZOO / "mnist_lstm_int8.tflite").read_bytes()
    m = fb.ModelT.InitFromPackedBuf(bytearray(raw), 0)
    for code in m.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == \
                fb.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
            code.builtinCode = fb.BuiltinOperator.BIDIRECTIONAL_SEQUENCE_LSTM
            code.deprecatedBuiltinCode = min(fb.BuiltinOperator.BIDIRECTIONAL_SEQUENCE_LSTM, 127)
    builder = flatbuffers.Builder(len(raw) + 1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    path = tmp_path_factory.mktemp("unsupported") / "bilstm_int8.tflite"
    path.write_bytes(bytes(builder.Output()))
    return path
