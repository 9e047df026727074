"""Importing TensorFlow, and silencing what TF, its C++ converter and AEQ print."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from mcuforge.errors import ToolchainMissing


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow what TF, its C++ converter and AEQ print (logs, progress bars, summaries).

    File descriptors 1 and 2 are redirected too: most of that output comes from C++.
    """
    saved = [os.dup(1), os.dup(2)]
    try:
        with (
            tempfile.TemporaryFile() as sink,
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
    finally:
        for fd, old in zip((1, 2), saved, strict=True):
            os.dup2(old, fd)
            os.close(old)


def import_tf() -> Any:
    """The ``tensorflow`` module, with its C++ logging turned down; ToolchainMissing without it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        # TensorFlow's C++ start-up lines (absl's "before InitializeLog" warning, the oneDNN
        # notice) ignore TF_CPP_MIN_LOG_LEVEL; every library that loads the runtime prints them
        # again, so they are swallowed at import.
        with quiet():
            import tensorflow as tf
    except ImportError:
        raise ToolchainMissing(
            "quantizing needs TensorFlow: pip install 'mcuforge[quantize]'"
        ) from None
    return tf
