"""What every emulator target shares: a process in a group of its own with its output in a log
file, a watchdog that kills it when a run takes too long, a scratch directory, and a cleanup that
always runs (also after errors and Ctrl-C, through the context manager)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from mcuforge.target.device import Device


class EmulatorProcess:
    """Base of :class:`~mcuforge.target.qemu.QemuTarget` and
    :class:`~mcuforge.target.renode.RenodeTarget`; subclasses implement :meth:`start`."""

    def __init__(self, *, watchdog_s: float):
        self.watchdog_s = watchdog_s
        self.proc: subprocess.Popen[bytes] | None = None
        self.device: Device | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._log_file = None
        self._watchdog: threading.Timer | None = None
        self._timed_out = False

    def workdir(self, prefix: str) -> Path:
        """A scratch directory that lives until :meth:`close`."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=prefix)
        return Path(self._tmp.name)

    def spawn(self, cmd: list[str], *, cwd: Path | None = None) -> None:
        """Start ``cmd`` in its own process group, output to ``emulator.log``, watchdog armed."""
        assert self._tmp is not None, "call workdir() first"
        self._log_file = (Path(self._tmp.name) / "emulator.log").open("wb")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log_file,
                                     stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self._watchdog = threading.Timer(self.watchdog_s, self._expire)
        self._watchdog.daemon = True
        self._watchdog.start()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def output(self, limit: int = 1500) -> str:
        """The end of what the emulator printed, for error messages."""
        if self._tmp is None:
            return "(not started)"
        try:
            text = (Path(self._tmp.name) / "emulator.log").read_text(errors="replace").strip()
        except OSError:
            return "(no output)"
        return text[-limit:] or "(no output)"

    @property
    def timed_out(self) -> bool:
        return self._timed_out

    def _expire(self) -> None:
        self._timed_out = True
        self.kill()

    def kill(self) -> None:
        """SIGKILL to the whole process group (the emulator and anything it started)."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    def close_process(self) -> None:
        """Stop the emulator (if running) and remove the scratch directory."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.proc is not None:
            self.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
            self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def start(self) -> Device:
        raise NotImplementedError

    def close(self) -> None:
        self.close_process()

    def __enter__(self) -> Device:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
