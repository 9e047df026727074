"""Progress for slow steps: a step announces itself only when it has run for 2 s, so quick
conversions stay silent and slow ones (a MobileNet, an LSTM's calibration) show life."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

SLOW_SECONDS = 2.0


@contextlib.contextmanager
def stage(progress: Callable[[str], None] | None, what: str) -> Iterator[None]:
    """Run a step; if it takes longer than :data:`SLOW_SECONDS`, say so (and when it ends)."""
    if progress is None:
        yield
        return
    start = time.monotonic()
    announced = threading.Event()

    def announce() -> None:
        announced.set()
        progress(f"{what}...")

    timer = threading.Timer(SLOW_SECONDS, announce)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if announced.is_set():
            progress(f"{what}: done in {time.monotonic() - start:.1f} s")
