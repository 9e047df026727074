"""The reference: TFLM's own interpreter (the ``tflite-micro`` wheel), run on the host.

TensorFlow Lite's interpreter (XNNPACK) can differ from TFLM by one LSB; devices run TFLM's
arithmetic, so TFLM is the oracle every output is compared with.
"""

from __future__ import annotations

from pathlib import Path

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

    def reset(self) -> None:
        """Restore the model's initial state (resource variables, kernel state): the stream
        starts again, as ``<model>_reset()`` does on the device."""
        self._interp.reset()

    def tensor(self, index: int) -> np.ndarray:
        """An intermediate tensor after the last run (needs ``preserve_all_tensors``)."""
        return np.array(self._interp.GetTensor(index, 0)["tensor_data"])


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
