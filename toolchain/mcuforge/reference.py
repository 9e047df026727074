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
        try:
            self._interp = runtime.Interpreter.from_bytes(
                data, arena_size=max(len(data) * 10, 1 << 20), intrepreter_config=config
            )
        except Exception as exc:
            raise ModelError(f"the TFLM reference interpreter rejects this model: {exc}") from None

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for i, arr in enumerate(inputs):
            details = self._interp.get_input_details(i)
            self._interp.set_input(
                np.asarray(arr, dtype=details["dtype"]).reshape(details["shape"]), i
            )
        self._interp.invoke()
        return [np.array(self._interp.get_output(i)) for i in range(self.num_outputs)]

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor after the last run (needs ``preserve_all_tensors``)."""
        return np.array(self._interp.GetTensor(index, 0)["tensor_data"])


#: Seconds a guarded reference may take for one call before it is treated as hung.
GUARD_TIMEOUT_S = 300.0


def _serve(conn: Any, model: bytes, preserve_all_tensors: bool) -> None:
    """The child side of :class:`GuardedReference`: one Reference, calls over a pipe."""
    try:
        ref = Reference(model, preserve_all_tensors=preserve_all_tensors)
        conn.send(("ok", ref.num_outputs))
    except Exception as exc:
        conn.send(("error", str(exc)))
        return
    while True:
        try:
            method, args = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", getattr(ref, method)(*args)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


class GuardedReference:
    """:class:`Reference` in a child process, for ``mcuforge test``.

    TFLM's interpreter does not validate models: some damaged models that mcuforge's own checks
    accept still crash it (the fuzzing campaign finds them; tests/fuzz.py). In a child process
    such a crash becomes a :class:`ModelError` instead of killing mcuforge. Same interface as
    :class:`Reference`; use as a context manager or call :meth:`close`.
    """

    def __init__(self, model: Path | bytes, *, preserve_all_tensors: bool = False,
                 timeout: float = GUARD_TIMEOUT_S):
        import multiprocessing as mp

        data = model if isinstance(model, bytes) else Path(model).read_bytes()
        self.timeout = timeout
        # spawn, not fork: the parent may hold threads (QEMU watchdog, TensorFlow's pools).
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, data, preserve_all_tensors),
                                 daemon=True)
        self._proc.start()
        child.close()
        try:
            self.num_outputs = self._reply("loading the model")
        except BaseException:
            self.close()
            raise

    def _reply(self, what: str) -> Any:
        try:
            ready = self._conn.poll(self.timeout)
            status, value = self._conn.recv() if ready else ("hung", None)
        except (EOFError, OSError):
            self._proc.join(5)
            code = self._proc.exitcode
            how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
            raise ModelError(
                f"the TFLM reference interpreter crashed {what} ({how}): it does not validate "
                "models, and this one is damaged in a way mcuforge's checks do not see"
            ) from None
        if status == "hung":
            self.close()
            raise ModelError(f"the TFLM reference interpreter did not finish {what} within "
                             f"{self.timeout:.0f} s")
        if status == "error":
            raise ModelError(f"the TFLM reference interpreter failed {what}: {value}")
        return value

    def _call(self, method: str, *args: Any) -> Any:
        with contextlib.suppress(OSError):  # the child is gone: _reply says how
            self._conn.send((method, args))
        return self._reply(f"in {method}")

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self._call("run", [np.asarray(a) for a in inputs])

    def tensor(self, index: int) -> np.ndarray:
        return self._call("tensor", index)

    def close(self) -> None:
        self._conn.close()
        if self._proc.is_alive():
            self._proc.kill()
        self._proc.join(5)

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
