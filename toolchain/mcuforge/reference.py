"""The reference: TFLM's own interpreter (the ``tflite-micro`` wheel), run on the host.

TensorFlow Lite's interpreter (XNNPACK) can differ from TFLM by one LSB; devices run TFLM's
arithmetic, so TFLM is the oracle every output is compared with.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from mcuforge.errors import ModelError


class Reference:
    """A TFLM interpreter for one model."""

    def __init__(self, model: Path | bytes, *, preserve_all_tensors: bool = False):
        from tflite_micro.python.tflite_micro import runtime
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as fb

        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        self.num_outputs = fb.Model.GetRootAs(data, 0).Subgraphs(0).OutputsLength()
        config = (
            runtime.InterpreterConfig.kPreserveAllTensors
            if preserve_all_tensors
            else runtime.InterpreterConfig.kAllocationRecording
        )
        self._data, self._config = data, config
        try:
            self._interp = self._interpreter()
        except Exception as exc:
            raise ModelError(f"the TFLM reference interpreter rejects this model: {exc}") from None

    def _interpreter(self) -> Any:
        from tflite_micro.python.tflite_micro import runtime

        return runtime.Interpreter.from_bytes(
            self._data, arena_size=max(len(self._data) * 10, 1 << 20),
            intrepreter_config=self._config,
        )

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for i, arr in enumerate(inputs):
            details = self._interp.get_input_details(i)
            self._interp.set_input(
                np.asarray(arr, dtype=details["dtype"]).reshape(details["shape"]), i
            )
        self._interp.invoke()
        return [np.array(self._interp.get_output(i)) for i in range(self.num_outputs)]

    def reset(self) -> None:
        """Restore the model's initial state (resource variables, kernel state): the stream
        starts again, as ``<model>_reset()`` does on the device.

        A new interpreter, not TFLM's ``Reset()``: that fills resource variables with their
        zero point and does not run the CALL_ONCE initialiser again, so a model whose
        initialiser assigns anything else would not start again. (The converter's streaming
        models, ESPHome's among them, initialise to the zero point: both agree there.)"""
        self._interp = self._interpreter()

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor after the last run (needs ``preserve_all_tensors``)."""
        return np.array(self._interp.GetTensor(index, 0)["tensor_data"])


#: Seconds a guarded reference may take for one call before it is treated as hung.
GUARD_TIMEOUT_S = 300.0


def _serve_stdio() -> None:
    """The child side of :class:`GuardedReference`: one Reference, calls as pickles on
    stdin/stdout (``python -c``: no re-import of the parent's main module, unlike spawn)."""
    import pickle
    import sys

    rd, wr = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing but replies on the pipe

    def send(obj: Any) -> None:
        data = pickle.dumps(obj)
        wr.write(len(data).to_bytes(8, "little") + data)
        wr.flush()

    def recv() -> Any:
        head = rd.read(8)
        if len(head) < 8:
            raise EOFError
        return pickle.loads(rd.read(int.from_bytes(head, "little")))

    model, preserve = recv()
    try:
        ref = Reference(model, preserve_all_tensors=preserve)
        send(("ok", ref.num_outputs))
    except Exception as exc:
        send(("error", str(exc)))
        return
    while True:
        try:
            method, args = recv()
        except EOFError:
            return
        try:
            send(("ok", getattr(ref, method)(*args)))
        except Exception as exc:
            send(("error", f"{type(exc).__name__}: {exc}"))


class GuardedReference:
    """:class:`Reference` in a child process, for ``mcuforge test``.

    TFLM's interpreter does not validate models: some damaged models that mcuforge's own checks
    accept still crash it (the fuzzing campaign finds them; tests/fuzz.py). In a child process
    such a crash becomes a :class:`ModelError` instead of killing mcuforge. Same interface as
    :class:`Reference`; use as a context manager or call :meth:`close`.
    """

    def __init__(self, model: Path | bytes, *, preserve_all_tensors: bool = False,
                 timeout: float = GUARD_TIMEOUT_S):
        import os
        import subprocess
        import sys

        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        self.timeout = timeout
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "from mcuforge.reference import _serve_stdio; _serve_stdio()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        try:
            self._send((data, preserve_all_tensors))
            self.num_outputs = self._reply("loading the model")
        except BaseException:
            self.close()
            raise

    def _send(self, obj: Any) -> None:
        import pickle

        payload = pickle.dumps(obj)
        with contextlib.suppress(OSError):  # the child is gone: _reply says how
            assert self._proc.stdin is not None
            self._proc.stdin.write(len(payload).to_bytes(8, "little") + payload)
            self._proc.stdin.flush()

    def _read(self, n: int, deadline: float) -> bytes:
        import os
        import select
        import time

        assert self._proc.stdout is not None
        fd, out = self._proc.stdout.fileno(), bytearray()
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, n - len(out))
            if not chunk:
                raise EOFError
            out += chunk
        return bytes(out)

    def _reply(self, what: str) -> Any:
        import pickle
        import time

        deadline = time.monotonic() + self.timeout
        try:
            size = int.from_bytes(self._read(8, deadline), "little")
            status, value = pickle.loads(self._read(size, deadline))
        except TimeoutError:
            self.close()
            raise ModelError(f"the TFLM reference interpreter did not finish {what} within "
                             f"{self.timeout:.0f} s") from None
        except EOFError:
            code = self._proc.wait(5)
            how = f"killed by signal {-code}" if code < 0 else f"exit {code}"
            raise ModelError(
                f"the TFLM reference interpreter crashed {what} ({how}): it does not validate "
                "models, and this one is damaged in a way mcuforge's checks do not see"
            ) from None
        if status == "error":
            raise ModelError(f"the TFLM reference interpreter failed {what}: {value}")
        return value

    def _call(self, method: str, *args: Any) -> Any:
        self._send((method, args))
        return self._reply(f"in {method}")

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self._call("run", [np.asarray(a) for a in inputs])

    def tensor(self, index: int) -> np.ndarray:
        return self._call("tensor", index)

    def reset(self) -> None:
        self._call("reset")

    def close(self) -> None:
        for stream in (self._proc.stdin, self._proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(5)

    def __enter__(self) -> GuardedReference:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def tflm_arena_usage(model: Path | bytes) -> dict[str, int]:
    """TFLM's own arena accounting for ``model`` after one invoke: ``total``, ``head``
    (activations, planned by its greedy planner) and ``tail`` (persistent data).

    The Python interpreter only prints these (RecordingMicroAllocator, to the C stderr), so the
    file descriptor is captured. Figures are from the 64-bit host build: the persistent part
    holds pointers and is larger than on a 32-bit device.
    """
    import os
    import re
    import tempfile

    ref = Reference(model)
    details = ref._interp.get_input_details(0)
    ref._interp.set_input(np.zeros(details["shape"], dtype=details["dtype"]), 0)
    ref._interp.invoke()
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            ref._interp.print_allocations()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        capture.seek(0)
        text = capture.read().decode(errors="replace")
    usage = {}
    for key in ("total", "head", "tail"):
        match = re.search(rf"Arena allocation {key} (\d+) bytes", text)
        if match:
            usage[key] = int(match.group(1))
    return usage
